//! 0x0200 location report (also the items of 0x0704/0x0210 and the body of 0x0201): the
//! 28-byte basic block, then additional items {id BYTE, len BYTE, value}.
//!
//! Standard items are read per JT/T 808; the vendor items are the ones Traccar reads with its
//! default (no model override) behaviour, under the same names in snake_case. Unknown items
//! are kept raw as `item_<id hex>` so nothing a device sends is lost.

use super::decode::{ascii, Env};
use super::msg;
use crate::model::{Alarm, IoValue, Position, Record};
use crate::protocol::wire::{Reader, WireError};
use crate::protocol::DecodeError;

/// Maps the 0x0200 alarm DWORD to alarm kinds. Bits per JT/T 808-2013 table 24, plus the
/// vendor bits Traccar decodes by default (15 vibration, 16/17 tamper, 18 low battery).
pub fn alarms(flags: u32) -> Vec<Alarm> {
    const MAP: &[(u32, Alarm)] = &[
        (0, Alarm::Sos),
        (1, Alarm::Overspeed),
        (2, Alarm::Fatigue),
        (4, Alarm::GnssFault),
        (5, Alarm::GnssFault),
        (6, Alarm::GnssFault),
        (7, Alarm::LowPower),
        (8, Alarm::PowerCut),
        (9, Alarm::General),
        (10, Alarm::General),
        (11, Alarm::General),
        (15, Alarm::Vibration),
        (16, Alarm::Tamper),
        (17, Alarm::Tamper),
        (18, Alarm::LowBattery),
        (19, Alarm::Idle),
        (20, Alarm::General),
        (26, Alarm::General),
        (28, Alarm::Movement),
        (29, Alarm::Collision),
        (30, Alarm::Rollover),
    ];
    let mut out = Vec::new();
    for (bit, a) in MAP {
        if flags & (1 << bit) != 0 {
            add(&mut out, *a);
        }
    }
    out
}

fn add(v: &mut Vec<Alarm>, a: Alarm) {
    if !v.contains(&a) {
        v.push(a);
    }
}

/// Status DWORD bits used here.
mod status {
    pub const ACC: u32 = 1 << 0;
    pub const FIXED: u32 = 1 << 1;
    pub const SOUTH: u32 = 1 << 2;
    pub const WEST: u32 = 1 << 3;
    pub const OIL_CUT: u32 = 1 << 10;
    pub const CHARGING: u32 = 1 << 26;
}

/// Reads status + lat + lon (shared with 0x0900 F0 and 0x53/0x54 blocks).
pub(super) fn coordinates(env: &Env, r: &mut Reader) -> Result<Position, WireError> {
    let st = r.u32("status")?;
    let lat = f64::from(r.u32("latitude")?) / 1e6;
    let lon = f64::from(r.u32("longitude")?) / 1e6;
    let lat = if st & status::SOUTH != 0 { -lat } else { lat };
    let lon = if st & status::WEST != 0 { -lon } else { lon };
    let mut p = env.position(env.now, lat, lon, st & status::FIXED != 0);
    p.ignition = Some(st & status::ACC != 0);
    p.io.insert("status".into(), IoValue::Int(st.into()));
    if st & status::OIL_CUT != 0 {
        p.io.insert("blocked".into(), IoValue::Bool(true));
    }
    if st & status::CHARGING != 0 {
        p.io.insert("charge".into(), IoValue::Bool(true));
    }
    Ok(p)
}

/// Reads altitude, speed, course and time after the coordinates. A time that is no real date
/// (zeros before the first fix) gives the receive time and marks the fix invalid.
pub(super) fn motion_and_time(env: &Env, r: &mut Reader, p: &mut Position) -> Result<(), WireError> {
    p.altitude_m = r.i16("altitude")?.into();
    p.speed_kmh = f64::from(r.u16("speed")?) / 10.0;
    p.course = r.u16("direction")?.into();
    match env.time(r)? {
        Some(t) => p.fix_time = t,
        None => {
            p.valid = false;
            p.io.insert("time_invalid".into(), IoValue::Bool(true));
        }
    }
    Ok(())
}

/// Decodes one 0x0200 body.
pub(super) fn report(env: &Env, body: &[u8]) -> Result<Position, DecodeError> {
    let mut r = Reader::new(body);
    let flags = r.u32("alarm flags")?;
    let mut p = coordinates(env, &mut r)?;
    motion_and_time(env, &mut r, &mut p)?;
    p.alarms = alarms(flags);
    if flags != 0 {
        p.io.insert("alarm_flags".into(), IoValue::Int(flags.into()));
    }
    if r.remaining() == 18 && !items_fit(r.rest()) {
        // A vendor layout without item headers (Traccar: "readableBytes == 20" with the
        // checksum and flag still in its buffer): battery+mileage, odometer km, battery
        // 1/10 V, area id, RSSI, 3 reserved.
        r.skip(4, "battery and mileage")?;
        p.odometer_m = Some(f64::from(r.u32("odometer")?) * 1000.0);
        p.battery_v = Some(f64::from(r.u16("battery")?) / 10.0);
        r.skip(4, "area id")?;
        p.io.insert("rssi".into(), IoValue::Int(r.u8("rssi")?.into()));
        return Ok(p);
    }
    while r.remaining() >= 2 {
        let id = r.u8("item id")?;
        let len = usize::from(r.u8("item length")?);
        if id == 0x80 {
            // OBD extension: one content byte, then sub-items to the end of the body.
            let rest = r.rest();
            let _ = extension(&mut p, rest.get(1..).unwrap_or_default());
            break;
        }
        if len > r.remaining() {
            p.io.insert("item_truncated".into(), IoValue::Int(id.into()));
            break;
        }
        let v = r.bytes(len, "item value")?;
        if item(&mut p, id, v).is_err() {
            // A value shorter than its id needs: keep it raw rather than lose the fix.
            p.io.insert(format!("item_{id:02x}"), IoValue::Text(hex::encode(v)));
        }
    }
    Ok(p)
}

/// True when `b` is a well-formed item list ending exactly at its end. Used to tell the
/// headerless 18-byte vendor tail from standard items that happen to total 18 bytes.
fn items_fit(b: &[u8]) -> bool {
    let mut i = 0;
    while i + 2 <= b.len() {
        i += 2 + usize::from(b[i + 1]);
    }
    i == b.len()
}

/// 0x0704 (count WORD, type BYTE, items {len WORD, body}) and 0x0210 (items {len BYTE, body}).
/// Type 1 of 0x0704 is a blind-area back-fill: those fixes are historical.
pub(super) fn batch(env: &Env, body: &[u8], msg_id: u16) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let mut historical = false;
    if msg_id == msg::LOCATION_BATCH {
        r.u16("count")?;
        historical = r.u8("batch type")? > 0;
    }
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let len = if msg_id == msg::LOCATION_BATCH_2 {
            usize::from(r.u8("item length")?)
        } else {
            usize::from(r.u16("item length")?)
        };
        let mut p = report(env, r.bytes(len, "batch item")?)?;
        p.historical = historical;
        out.push(Record::Position(p));
    }
    Ok(out)
}

fn int(p: &mut Position, k: &str, v: impl Into<i64>) {
    p.io.insert(k.into(), IoValue::Int(v.into()));
}
fn float(p: &mut Position, k: &str, v: f64) {
    p.io.insert(k.into(), IoValue::Float(v));
}
fn text(p: &mut Position, k: &str, v: String) {
    p.io.insert(k.into(), IoValue::Text(v));
}
fn flag(p: &mut Position, k: &str, v: bool) {
    p.io.insert(k.into(), IoValue::Bool(v));
}
/// Sign-magnitude WORD (bit 15 = negative), as several vendors send temperatures.
fn sm16(w: u16) -> f64 {
    let m = f64::from(w & 0x7fff);
    if w & 0x8000 != 0 {
        -m
    } else {
        m
    }
}

/// One additional item. Errors only when the value is shorter than the id requires.
fn item(p: &mut Position, id: u8, v: &[u8]) -> Result<(), WireError> {
    let len = v.len();
    let mut r = Reader::new(v);
    match id {
        0x01 => p.odometer_m = Some(f64::from(r.u32("mileage")?) * 100.0),
        0x02 => {
            let f = r.u16("fuel")?;
            let fuel = if f & 0x8000 != 0 { f64::from(f & 0x7fff) } else { f64::from(f) / 10.0 };
            float(p, "fuel", fuel)
        }
        0x06 => int(p, "battery_level", r.u8("battery level")?),
        0x0b => {
            int(p, "lock_command", r.u8("lock command")?);
            if (5..=6).contains(&len) {
                int(p, "lock_card", r.u32("lock card")?);
            } else if len >= 7 {
                text(p, "lock_password", ascii(r.bytes(6, "lock password")?));
            }
            if len % 2 == 0 {
                int(p, "unlock_result", r.u8("unlock result")?);
            }
        }
        0x14 => int(p, "video_alarm", r.u32("video alarm")?),
        0x25 => int(p, "input", r.u32("vehicle signals")?),
        0x2b | 0xa7 => {
            float(p, "adc1", f64::from(r.u16("adc1")?) / 100.0);
            float(p, "adc2", f64::from(r.u16("adc2")?) / 100.0);
        }
        0x30 => int(p, "rssi", r.u8("rssi")?),
        0x31 => p.satellites = r.u8("satellites")?,
        0x33 if len == 1 => int(p, "mode", r.u8("mode")?),
        0x51 if len == 2 || len == 16 => {
            for i in 1..=len / 2 {
                let w = r.u16("temperature")?;
                if w != 0xffff {
                    float(p, &format!("temp{i}"), sm16(w) / 10.0);
                }
            }
        }
        0x56 => int(p, "battery_level", i64::from(r.u8("battery level")?) * 10),
        0x57 => {
            let a = r.u16("driving alarms")?;
            for (bit, al) in [(8, Alarm::HarshAcceleration), (9, Alarm::HarshBraking), (10, Alarm::HarshCornering)] {
                if a & (1 << bit) != 0 {
                    add(&mut p.alarms, al);
                }
            }
        }
        0x60 => {
            let event = r.u16("event")?;
            int(p, "event", event);
            if (0x61..=0x66).contains(&event) {
                r.skip(6, "lock id")?;
                text(p, "driver_unique_id", ascii(r.bytes(8, "driver id")?));
            }
        }
        0x64 | 0x65 => {
            r.skip(5, "alarm serial and status")?;
            let k = if id == 0x64 { "adas_alarm" } else { "dms_alarm" };
            int(p, k, r.u8("alarm type")?);
        }
        0x68 => float(p, "battery_level", f64::from(r.u16("battery level")?) / 100.0),
        0x69 => p.battery_v = Some(f64::from(r.u16("battery")?) / 100.0),
        0x70 => {
            r.skip(5, "alarm serial and status")?;
            match r.u8("alarm type")? {
                0x01 => add(&mut p.alarms, Alarm::HarshAcceleration),
                0x02 => add(&mut p.alarms, Alarm::HarshBraking),
                0x03 => add(&mut p.alarms, Alarm::HarshCornering),
                0x16 => add(&mut p.alarms, Alarm::Collision),
                _ => {}
            }
        }
        0x82 | 0xd3 => p.power_v = Some(f64::from(r.u16("power")?) / 10.0),
        0x94 if len > 0 => text(p, "vin", ascii(v)),
        0xac => p.odometer_m = Some(r.u32("odometer")?.into()),
        0xbc => text(p, "driver", ascii(v)),
        0xbd => text(p, "driver_unique_id", ascii(v)),
        0xd0 => {
            if r.u32("user status")? & (1 << 3) != 0 {
                add(&mut p.alarms, Alarm::Vibration);
            }
        }
        0xd4 | 0xe1 | 0xe9 if len == 1 => match r.u8("battery level")? {
            0xff => flag(p, "charge", true),
            b => int(p, "battery_level", b),
        },
        0xe1 if len == 2 => p.power_v = Some(f64::from(r.u16("power")?) / 10.0),
        0xd4 | 0xe9 => text(p, "driver_unique_id", r.u32("driver id")?.to_string()),
        0xd5 if len == 2 => p.battery_v = Some(f64::from(r.u16("battery")?) / 100.0),
        0xd5 => {
            for i in 1..=r.u8("lock count")? {
                text(p, &format!("lock{i}_id"), hex::encode(r.bytes(5, "lock id")?));
                text(p, &format!("lock{i}_card"), hex::encode(r.bytes(5, "lock card")?));
                int(p, &format!("lock{i}_battery"), r.u8("lock battery")?);
                let st = r.u16("lock status")?;
                flag(p, &format!("lock{i}_locked"), st & (1 << 5) == 0);
            }
        }
        0xda => {
            r.skip(2, "string cut count")?;
            let s = r.u8("device status")?;
            flag(p, "string", s & 1 != 0);
            flag(p, "motion", s & 4 != 0);
            flag(p, "cover", s & 8 != 0);
        }
        0xe2 => float(p, "fuel", f64::from(r.u32("fuel")?) / 10.0),
        0xe3 => {
            r.skip(1, "reserved")?;
            int(p, "battery_level", r.u8("battery level")?);
            p.battery_v = Some(f64::from(r.u16("battery")?) / 100.0);
        }
        0xe4 => {
            if r.u8("charge")? == 0 {
                flag(p, "charge", true);
            }
            int(p, "battery_level", r.u8("battery level")?);
        }
        0xe5 if len == 1 => flag(p, "motion", r.u8("motion")? == 1),
        0xe6 if v.starts_with(b"$OBD-RT") => obd_rt(p, &ascii(v)),
        0xe6 if len >= 11 && len % 11 == 0 => {
            while r.remaining() >= 11 {
                let i = r.u8("sensor index")?;
                r.skip(6, "sensor mac")?;
                float(p, &format!("temp{i}"), custom_double(&mut r)?);
                float(p, &format!("humidity{i}"), custom_double(&mut r)?);
            }
        }
        0xe7 if len == 8 => {
            let a = r.u16("alarms")?;
            if a & 1 != 0 {
                add(&mut p.alarms, Alarm::Vibration);
            }
            if a & 0b1_1110 != 0 {
                add(&mut p.alarms, Alarm::Sos);
            }
        }
        0xe8 => int(p, "lock_status", r.u24("lock status")?),
        0xeb => eb(p, v)?,
        0xed => text(p, "card", ascii(v)),
        0xee if len == 6 => {
            int(p, "rssi", r.u8("rssi")?);
            p.power_v = Some(f64::from(r.u16("power")?) / 1000.0);
            p.battery_v = Some(f64::from(r.u16("battery")?) / 1000.0);
            p.satellites = r.u8("satellites")?;
        }
        0xf1 => p.power_v = Some(f64::from(r.u32("power")?) / 1000.0),
        0xf2 => text(p, "version_fw", ascii(v)),
        0xf3 => obd_f3(p, &mut r)?,
        0xf5 if len == 2 => int(p, "illuminance", r.u16("illuminance")?),
        0xf6 if len == 2 => int(p, "air_pressure", r.u16("air pressure")?),
        0xf6 if len == 8 => text(p, "imei", hex::encode(v).get(1..).unwrap_or_default().to_string()),
        0xf6 => sensors_f6(p, &mut r)?,
        0xf7 if len == 2 => float(p, "humidity", f64::from(r.u16("humidity")?) / 10.0),
        0xf7 => {
            p.battery_v = Some(f64::from(r.u32("battery")?) / 1000.0);
            if len >= 5 && matches!(r.u8("battery status")?, 2 | 3) {
                flag(p, "charge", true);
            }
            if len >= 6 {
                int(p, "battery_level", r.u8("battery level")?);
            }
        }
        0xf8 => float(p, "temp2", f64::from(r.u16("temperature")?) / 10.0 - 50.0),
        0xf9 => {
            let mask = r.u16("mask")?;
            if mask & 1 != 0 {
                r.skip(4, "gnss age")?;
            }
            if mask & 2 != 0 {
                r.skip(4, "acc on time")?;
            }
            if mask & 4 != 0 {
                float(p, "hdop", f64::from(r.u16("hdop")?) / 10.0);
            }
            if mask & 8 != 0 {
                r.skip(6, "gnss time")?;
            }
            if mask & 0x20 != 0 {
                r.skip(8, "intervals")?;
            }
            if mask & 0x40 != 0 {
                float(p, "temp3", f64::from(r.i16("temperature")?) / 10.0);
            }
        }
        0xfb => text(p, "container", ascii(v)),
        0xfc => int(p, "geofence", r.u8("geofence")?),
        0xfe if len == 1 => int(p, "battery_level", r.u8("battery level")?),
        0xfe if len == 2 => p.power_v = Some(f64::from(r.u16("power")?) / 10.0),
        0xfe if len == 4 => p.odometer_m = Some(r.u32("odometer")?.into()),
        0xfe => {
            if r.u8("mark")? == 0x7c {
                while r.remaining() > 1 {
                    let t = r.u8("sub id")?;
                    let l = usize::from(r.u8("sub length")?);
                    if t == 0x01 {
                        let a = r.u32("alarms")?;
                        for (bit, al) in [
                            (0, Alarm::HarshAcceleration),
                            (1, Alarm::HarshBraking),
                            (2, Alarm::HarshCornering),
                            (3, Alarm::Collision),
                            (4, Alarm::Tamper),
                        ] {
                            if a & (1 << bit) != 0 {
                                add(&mut p.alarms, al);
                            }
                        }
                    } else {
                        r.skip(l, "sub value")?;
                    }
                }
            }
            int(p, "battery_level", r.u8("battery level")?);
        }
        _ => text(p, &format!("item_{id:02x}"), hex::encode(v)),
    }
    Ok(())
}

/// Signed whole part + 1/255 fraction (Traccar's "custom double" of 0xE6 sensors).
fn custom_double(r: &mut Reader) -> Result<f64, WireError> {
    let whole = f64::from(r.u8("value")? as i8);
    let frac = f64::from(r.u8("fraction")?) / 255.0;
    Ok(if whole < 0.0 { whole - frac } else { whole + frac })
}

/// `$OBD-RT,power,rpm,speed,throttle,load,coolant,instant,average,trip,odometer,tripFuel,used`.
pub(super) fn obd_rt(p: &mut Position, data: &str) {
    const KEYS: [&str; 11] = [
        "power", "rpm", "obd_speed", "throttle", "engine_load", "coolant_temp", "fuel_consumption",
        "fuel_consumption", "trip_odometer", "obd_odometer", "trip_fuel_used",
    ];
    let values: Vec<&str> = data.split(',').collect();
    for (i, key) in KEYS.iter().enumerate() {
        if let Some(x) = values.get(i + 1).and_then(|s| s.trim().parse::<f64>().ok()) {
            if *key == "power" {
                p.power_v = Some(x);
            } else {
                float(p, key, x);
            }
        }
    }
    if let Some(x) = values.get(12).and_then(|s| s.trim().parse::<f64>().ok()) {
        float(p, "fuel_used", x);
    }
}

/// 0x80 OBD extension: {id BYTE, len BYTE, value} to the end of the body.
fn extension(p: &mut Position, data: &[u8]) -> Result<(), WireError> {
    let mut r = Reader::new(data);
    while r.remaining() >= 2 {
        let id = r.u8("ext id")?;
        let len = usize::from(r.u8("ext length")?);
        let v = r.bytes(len.min(r.remaining()), "ext value")?;
        let mut e = Reader::new(v);
        match id {
            0x01 => p.odometer_m = Some(f64::from(e.u32("odometer")?) * 100.0),
            0x02 => float(p, "fuel", f64::from(e.u16("fuel")?) / 10.0),
            0x03 => float(p, "obd_speed", f64::from(e.u16("speed")?) / 10.0),
            0x56 => {
                e.skip(1, "power level")?;
                int(p, "battery_level", e.u8("battery level")?);
            }
            0x61 => p.power_v = Some(f64::from(e.u16("power")?) / 100.0),
            0x69 => p.battery_v = Some(f64::from(e.u16("battery")?) / 100.0),
            0x80 => int(p, "obd_speed", e.u8("speed")?),
            0x81 => int(p, "rpm", e.u16("rpm")?),
            0x82 => p.power_v = Some(f64::from(e.u16("power")?) / 10.0),
            0x83 => int(p, "engine_load", e.u8("load")?),
            0x84 => int(p, "coolant_temp", i64::from(e.u8("coolant")?) - 40),
            0x85 => int(p, "fuel_consumption", e.u16("consumption")?),
            0x86 => int(p, "intake_temp", i64::from(e.u8("intake temp")?) - 40),
            0x87 => int(p, "intake_flow", e.u16("intake flow")?),
            0x88 => int(p, "intake_pressure", e.u8("intake pressure")?),
            0x89 => int(p, "throttle", e.u8("throttle")?),
            0x8b => text(p, "vin", ascii(e.bytes(17, "vin")?)),
            0x8c => float(p, "obd_odometer", f64::from(e.u32("obd odometer")?) * 100.0),
            0x8d => float(p, "trip_odometer", f64::from(e.u16("trip")?) * 1000.0),
            0x8e => int(p, "fuel", e.u8("fuel")?),
            0xa0 => text(p, "dtcs", ascii(v).replace(',', " ")),
            0xcc => text(p, "iccid", ascii(e.bytes(20, "iccid")?)),
            _ => {}
        }
    }
    Ok(())
}

/// 0xEB: time-zone text, cell list, or {len WORD, id WORD, value} sub-items.
fn eb(p: &mut Position, v: &[u8]) -> Result<(), WireError> {
    let len = v.len();
    let mut r = Reader::new(v);
    if len >= 3 && u16::from_be_bytes([v[0], v[1]]) > 200 && (len - 3) % 5 == 0 {
        // MCC, MNC, then {LAC, CID, RSSI} cells: network data we do not store.
        return Ok(());
    }
    if v.iter().all(|b| (0x20..0x7f).contains(b)) {
        text(p, "timezone", String::from_utf8_lossy(v).into_owned());
        return Ok(());
    }
    while r.remaining() >= 4 {
        let sub_len = usize::from(r.u16("sub length")?);
        let sub = r.bytes(sub_len.min(r.remaining()), "sub item")?;
        let mut s = Reader::new(sub);
        let t = s.u16("sub id")?;
        match t {
            0x0001 => float(p, "fuel1", f64::from(s.u16("fuel1")?) / 10.0),
            0x0023 => {
                let raw = ascii(s.bytes(6, "fuel2")?);
                if let Ok(x) = raw.parse::<f64>() {
                    float(p, "fuel2", x);
                }
            }
            0x002d if sub_len == 6 => p.power_v = Some(f64::from(s.u32("power")?) / 1000.0),
            0x002d => p.battery_v = Some(f64::from(s.u16("battery")?) / 1000.0),
            0x0089 => {
                let a = s.u32("alarms")?;
                if a & 1 == 0 {
                    add(&mut p.alarms, Alarm::PowerOff);
                }
                if a & (1 << 12) == 0 {
                    add(&mut p.alarms, Alarm::Tamper);
                }
            }
            0x00b2 => text(p, "iccid", hex::encode(s.bytes(10, "iccid")?).trim_end_matches('f').to_string()),
            0x00c5 => {
                let a = s.u32("status")?;
                if a & (1 << 6) == 0 {
                    add(&mut p.alarms, Alarm::Vibration);
                }
                match (a >> 23) & 0b11 {
                    0 => flag(p, "motion", true),
                    1 => flag(p, "motion", false),
                    _ => {}
                }
            }
            0x00c6 => {
                let b = s.u8("battery alarm")?;
                if b == 3 || b == 4 {
                    add(&mut p.alarms, Alarm::LowBattery);
                }
                int(p, "battery_alarm", b);
            }
            0x00ce => p.power_v = Some(f64::from(s.u16("power")?) / 100.0),
            0x00a8 | 0x00e1 => int(p, "battery_level", s.u8("battery level")?),
            _ => {}
        }
    }
    Ok(())
}

/// 0xF3 (default dialect): OBD sub-items {id WORD, len BYTE, value}.
fn obd_f3(p: &mut Position, r: &mut Reader) -> Result<(), WireError> {
    while r.remaining() >= 3 {
        let t = r.u16("obd id")?;
        let l = usize::from(r.u8("obd length")?);
        let v = r.bytes(l.min(r.remaining()), "obd value")?;
        let mut e = Reader::new(v);
        match t {
            0x0002 => float(p, "obd_speed", f64::from(e.u16("speed")?) / 10.0),
            0x0003 => int(p, "rpm", e.u16("rpm")?),
            0x0004 => p.power_v = Some(f64::from(e.u16("power")?) / 1000.0),
            0x0005 => float(p, "obd_odometer", f64::from(e.u32("odometer")?) * 100.0),
            0x0007 => float(p, "fuel_consumption", f64::from(e.u16("consumption")?) / 10.0),
            0x0008 => float(p, "engine_load", f64::from(e.u16("load")?) / 10.0),
            0x0009 => int(p, "coolant_temp", i64::from(e.u16("coolant")?) - 40),
            0x000b => int(p, "intake_pressure", e.u16("intake pressure")?),
            0x000c => int(p, "intake_temp", i64::from(e.u16("intake temp")?) - 40),
            0x000d => int(p, "intake_flow", e.u16("intake flow")?),
            0x000e => int(p, "throttle", i64::from(e.u16("throttle")?) * 100 / 255),
            0x0050 => text(p, "vin", ascii(v)),
            0x0100 => float(p, "trip_odometer", f64::from(e.u16("trip")?) / 10.0),
            0x0102 => float(p, "trip_fuel", f64::from(e.u16("trip fuel")?) / 10.0),
            0x0112 => int(p, "hard_acceleration_count", e.u16("count")?),
            0x0113 => int(p, "hard_deceleration_count", e.u16("count")?),
            0x0114 => int(p, "hard_cornering_count", e.u16("count")?),
            _ => {}
        }
    }
    Ok(())
}

/// 0xF6 sensor block: event, mask, then the sensors the mask names.
fn sensors_f6(p: &mut Position, r: &mut Reader) -> Result<(), WireError> {
    let event = r.u8("event")?;
    int(p, "event", event);
    if event == 2 {
        flag(p, "motion", true);
    }
    let mask = r.u8("mask")?;
    if mask & 1 != 0 {
        int(p, "light_sensor", r.u16("light")?);
    }
    if mask & 2 != 0 {
        float(p, "temp1", f64::from(r.i16("temperature")?) / 10.0);
    }
    if mask & 4 != 0 {
        float(p, "humidity", f64::from(r.i16("humidity")?) / 10.0);
    }
    if mask & 8 != 0 {
        let (x, y, z) = (r.i16("x")?, r.i16("y")?, r.i16("z")?);
        text(p, "g_sensor", format!("[{x},{y},{z}]"));
    }
    if mask & 0x10 != 0 {
        r.skip(10, "thresholds")?;
    }
    if mask & 0x20 != 0 {
        int(p, "air_pressure", r.u16("air pressure")?);
    }
    Ok(())
}
