//! Vendor sub-blocks of 0x0200 additional items (OBD extension, 0xEB/0xF3/0xF6 containers,
//! `$OBD-RT` text) and the small setters every item decoder uses. Split from `location` to
//! keep each file to one concern.

use super::decode::ascii;
use super::location::add;
use crate::model::{Alarm, IoValue, Position};
use crate::protocol::wire::{Reader, WireError};

pub(super) fn int(p: &mut Position, k: &str, v: impl Into<i64>) {
    p.io.insert(k.into(), IoValue::Int(v.into()));
}
pub(super) fn float(p: &mut Position, k: &str, v: f64) {
    p.io.insert(k.into(), IoValue::Float(v));
}
pub(super) fn text(p: &mut Position, k: &str, v: String) {
    p.io.insert(k.into(), IoValue::Text(v));
}
pub(super) fn flag(p: &mut Position, k: &str, v: bool) {
    p.io.insert(k.into(), IoValue::Bool(v));
}
/// Sign-magnitude WORD (bit 15 = negative), as several vendors send temperatures.
pub(super) fn sm16(w: u16) -> f64 {
    let m = f64::from(w & 0x7fff);
    if w & 0x8000 != 0 {
        -m
    } else {
        m
    }
}

/// Signed whole part + 1/255 fraction (Traccar's "custom double" of 0xE6 sensors).
pub(super) fn custom_double(r: &mut Reader) -> Result<f64, WireError> {
    let whole = f64::from(r.u8("value")? as i8);
    let frac = f64::from(r.u8("fraction")?) / 255.0;
    Ok(if whole < 0.0 {
        whole - frac
    } else {
        whole + frac
    })
}

/// `$OBD-RT,power,rpm,speed,throttle,load,coolant,instant,average,trip,odometer,tripFuel,used`.
pub(super) fn obd_rt(p: &mut Position, data: &str) {
    const KEYS: [&str; 11] = [
        "power",
        "rpm",
        "obd_speed",
        "throttle",
        "engine_load",
        "coolant_temp",
        "fuel_consumption",
        "fuel_consumption",
        "trip_odometer",
        "obd_odometer",
        "trip_fuel_used",
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
pub(super) fn extension(p: &mut Position, data: &[u8]) -> Result<(), WireError> {
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
pub(super) fn eb(p: &mut Position, v: &[u8]) -> Result<(), WireError> {
    let len = v.len();
    let mut r = Reader::new(v);
    if len >= 3 && u16::from_be_bytes([v[0], v[1]]) > 200 && (len - 3).is_multiple_of(5) {
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
            0x00b2 => text(
                p,
                "iccid",
                hex::encode(s.bytes(10, "iccid")?)
                    .trim_end_matches('f')
                    .to_string(),
            ),
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
pub(super) fn obd_f3(p: &mut Position, r: &mut Reader) -> Result<(), WireError> {
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
            0x0007 => float(
                p,
                "fuel_consumption",
                f64::from(e.u16("consumption")?) / 10.0,
            ),
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
pub(super) fn sensors_f6(p: &mut Position, r: &mut Reader) -> Result<(), WireError> {
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
