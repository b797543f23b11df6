//! 0x0200 location report (also the items of 0x0704/0x0210 and the body of 0x0201): the
//! 28-byte basic block, then additional items {id BYTE, len BYTE, value}.
//!
//! Standard items are read per JT/T 808; the vendor items are the ones Traccar reads with its
//! default (no model override) behaviour, under the same names in snake_case. Unknown items
//! are kept raw as `item_<id hex>` so nothing a device sends is lost.

use super::decode::{ascii, Env};
use super::items::{
    custom_double, eb, extension, flag, float, int, obd_f3, obd_rt, sensors_f6, sm16, text,
};
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

pub(super) fn add(v: &mut Vec<Alarm>, a: Alarm) {
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
pub(super) fn motion_and_time(
    env: &Env,
    r: &mut Reader,
    p: &mut Position,
) -> Result<(), WireError> {
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

/// One additional item. Errors only when the value is shorter than the id requires.
fn item(p: &mut Position, id: u8, v: &[u8]) -> Result<(), WireError> {
    let len = v.len();
    let mut r = Reader::new(v);
    match id {
        0x01 => p.odometer_m = Some(f64::from(r.u32("mileage")?) * 100.0),
        0x02 => {
            let f = r.u16("fuel")?;
            let fuel = if f & 0x8000 != 0 {
                f64::from(f & 0x7fff)
            } else {
                f64::from(f) / 10.0
            };
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
            if len.is_multiple_of(2) {
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
            for (bit, al) in [
                (8, Alarm::HarshAcceleration),
                (9, Alarm::HarshBraking),
                (10, Alarm::HarshCornering),
            ] {
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
            let k = if id == 0x64 {
                "adas_alarm"
            } else {
                "dms_alarm"
            };
            int(p, k, r.u8("alarm type")?);
        }
        0x68 => float(
            p,
            "battery_level",
            f64::from(r.u16("battery level")?) / 100.0,
        ),
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
                text(
                    p,
                    &format!("lock{i}_id"),
                    hex::encode(r.bytes(5, "lock id")?),
                );
                text(
                    p,
                    &format!("lock{i}_card"),
                    hex::encode(r.bytes(5, "lock card")?),
                );
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
        0xe6 if len >= 11 && len.is_multiple_of(11) => {
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
        0xf6 if len == 8 => text(
            p,
            "imei",
            hex::encode(v).get(1..).unwrap_or_default().to_string(),
        ),
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
