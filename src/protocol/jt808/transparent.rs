//! 0x0900 uplink transparent data: a type byte then vendor content. Decoded as Traccar does:
//! 0x40 text (GTSL driver swipe), 0x41 `$OBD-RT` text, 0xF0 OBD/CAN blocks with a position,
//! 0xFF a short position, 0xF3 collision report, 0x53/0x54 BLE tag / sensor reports with a
//! position. Reports without a position of their own become `Info` events.

use super::decode::{ascii, Env};
use super::location::{coordinates, motion_and_time};
use crate::model::{Alarm, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{Reader, WireError};
use crate::protocol::DecodeError;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

type Attrs = BTreeMap<String, IoValue>;

/// Decodes one 0x0900 body.
pub(super) fn decode(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let kind = r.u8("transparent type")?;
    let mut a = Attrs::new();
    match kind {
        0x40 => {
            let data = ascii(r.rest());
            if data.starts_with("GTSL") {
                if let Some(id) = data.split('|').nth(4) {
                    a.insert("driver_unique_id".into(), IoValue::Text(id.to_string()));
                }
            } else if !data.is_empty() {
                a.insert("data".into(), IoValue::Text(data));
            }
            if a.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![info(env, None, "transparent", a)])
        }
        0x41 => {
            let mut p = env.position(env.now, 0.0, 0.0, false);
            super::items::obd_rt(&mut p, &ascii(r.rest()));
            let mut a = p.io;
            if let Some(v) = p.power_v {
                a.insert("power".into(), IoValue::Float(v));
            }
            Ok(vec![info(env, None, "obd", a)])
        }
        0xf0 => obd_block(env, &mut r),
        0xff => {
            let time = env.time(&mut r)?;
            let lat = f64::from(r.i32("latitude")?) / 1e6;
            let lon = f64::from(r.i32("longitude")?) / 1e6;
            let mut p = env.position(time.unwrap_or(env.now), lat, lon, time.is_some());
            p.altitude_m = r.i16("altitude")?.into();
            p.speed_kmh = f64::from(r.u16("speed")?) / 10.0;
            p.course = r.u16("course")?.into();
            Ok(vec![Record::Position(p)])
        }
        0xf3 => {
            let mut time = None;
            while r.remaining() > 4 {
                let t = r.u16("item id")?;
                let l = usize::from(r.u16("item length")?);
                let v = r.bytes(l.min(r.remaining()), "item value")?;
                let mut e = Reader::new(v);
                match t {
                    0x0002 => {
                        let c = f64::from(e.u16("collision")?) / 256.0 / 100.0;
                        a.insert("collision".into(), IoValue::Float(c));
                    }
                    0x0006 => time = env.time(&mut e)?,
                    _ => {}
                }
            }
            Ok(vec![info(env, time, "collision", a)])
        }
        0x53 | 0x54 => {
            let mut p = coordinates(env, &mut r)?;
            motion_and_time(env, &mut r, &mut p)?;
            if kind == 0x53 {
                tags(&mut r, &mut p)?;
            } else {
                sensors(&mut r, &mut p)?;
            }
            Ok(vec![Record::Position(p)])
        }
        other => {
            a.insert("type".into(), IoValue::Int(other.into()));
            a.insert("data".into(), IoValue::Text(hex::encode(r.rest())));
            Ok(vec![info(env, None, "transparent", a)])
        }
    }
}

fn info(env: &Env, time: Option<DateTime<Utc>>, name: &str, a: Attrs) -> Record {
    env.event(time, EventKind::Info { name: name.into() }, a)
}

/// 0xF0: time, archive flag, vehicle type, subtype and its content. Subtypes 1–3 end with
/// status + lat + lon (a position); the others are events.
fn obd_block(env: &Env, r: &mut Reader) -> Result<Vec<Record>, DecodeError> {
    let time = env.time(r)?;
    let archive = r.u8("archive")? > 0;
    r.u8("vehicle type")?;
    let subtype = r.u8("subtype")?;
    let mut a = Attrs::new();
    let mut alarms = Vec::new();
    match subtype {
        0x01 => {
            let count = r.u8("count")?;
            for _ in 0..count {
                let id = r.u16("can id")?;
                let len = usize::from(r.u8("can length")?);
                let v = r.bytes(len, "can value")?;
                can_value(&mut a, id, v)?;
            }
        }
        0x02 => {
            let mut codes = Vec::new();
            for _ in 0..r.u16("system count")? {
                r.u32("system id")?;
                for _ in 0..r.u16("code count")? {
                    r.skip(8, "dtc and status")?;
                    let n = usize::from(r.u16("code length")?);
                    codes.push(ascii(r.bytes(n, "code")?));
                }
            }
            a.insert("dtcs".into(), IoValue::Text(codes.join(" ")));
        }
        0x03 => {
            for _ in 0..r.u8("count")? {
                let id = r.u8("event id")?;
                let len = usize::from(r.u8("event length")?);
                r.skip(len, "event value")?;
                let al = match id {
                    0x01 => Some(Alarm::PowerOn),
                    0x02 => Some(Alarm::PowerCut),
                    0x0e => Some(Alarm::Idle),
                    0x1a => Some(Alarm::HarshAcceleration),
                    0x1b => Some(Alarm::HarshBraking),
                    0x1c => Some(Alarm::HarshCornering),
                    0x23 => Some(Alarm::Fatigue),
                    0x25 => Some(Alarm::Overspeed),
                    0x26..=0x28 => Some(Alarm::Collision),
                    0x31 | 0x32 => Some(Alarm::Door),
                    _ => None,
                };
                if let Some(al) = al {
                    if !alarms.contains(&al) {
                        alarms.push(al);
                    }
                }
            }
        }
        0x04 => {
            let prop = r.u8("trip property")?;
            a.insert(
                "trip_number".into(),
                IoValue::Int(r.u32("trip number")?.into()),
            );
            r.skip(6, "start time")?;
            if prop == 0x02 {
                r.skip(6 + 8 + 8 + 1, "end time and locations")?;
                a.insert(
                    "idling_count".into(),
                    IoValue::Int(r.u16("idling count")?.into()),
                );
                a.insert(
                    "idling_time".into(),
                    IoValue::Int(r.u16("idling time")?.into()),
                );
                let trip = f64::from(r.u16("trip")?) * 100.0;
                a.insert("trip_odometer".into(), IoValue::Float(trip));
                let fuel = f64::from(r.u16("trip fuel")?) / 100.0;
                a.insert("trip_fuel".into(), IoValue::Float(fuel));
            }
        }
        0x0b => {
            if r.u8("vin flag")? > 0 {
                a.insert("vin".into(), IoValue::Text(ascii(r.bytes(17, "vin")?)));
            }
        }
        0x15 => {
            let event = r.i32("event")?;
            match event {
                51 => alarms.push(Alarm::HarshAcceleration),
                52 => alarms.push(Alarm::HarshBraking),
                53 => alarms.push(Alarm::HarshCornering),
                56 => alarms.push(Alarm::Collision),
                _ => {
                    a.insert("event".into(), IoValue::Int(event.into()));
                }
            }
        }
        other => {
            return Err(DecodeError::Invalid(format!(
                "0x0900 f0 subtype {other:#04x}"
            )))
        }
    }
    if archive {
        a.insert("archive".into(), IoValue::Bool(true));
    }
    if matches!(subtype, 0x01..=0x03) {
        let mut p: Position = coordinates(env, r)?;
        if let Some(t) = time {
            p.fix_time = t;
        } else {
            p.valid = false;
        }
        p.historical = archive;
        a.remove("archive");
        for (k, v) in a {
            match (k.as_str(), &v) {
                ("odometer", IoValue::Float(m)) => p.odometer_m = Some(*m),
                ("power", IoValue::Float(x)) => p.power_v = Some(*x),
                _ => {
                    p.io.insert(k, v);
                }
            }
        }
        p.alarms.extend(alarms);
        return Ok(vec![Record::Position(p)]);
    }
    if let Some(al) = alarms.first() {
        return Ok(vec![env.event(time, EventKind::Alarm { alarm: *al }, a)]);
    }
    Ok(vec![info(env, time, "obd", a)])
}

/// One CAN value of subtype 0x01, by its id (Traccar's table); unknown ids become `io_<id>`.
fn can_value(a: &mut Attrs, id: u16, v: &[u8]) -> Result<(), WireError> {
    let mut r = Reader::new(v);
    let f = |x: f64| IoValue::Float(x);
    let (k, val): (String, IoValue) = match id {
        0x0102 | 0x0528 | 0x0546 => ("odometer".into(), f(f64::from(r.u32("odometer")?) * 100.0)),
        0x0103 => ("fuel".into(), f(f64::from(r.u32("fuel")?) / 100.0)),
        0x0111 => (
            "fuel_temp".into(),
            IoValue::Int(i64::from(r.u8("fuel temp")?) - 40),
        ),
        0x012e => ("oil_level".into(), f(f64::from(r.u16("oil level")?) / 10.0)),
        0x052a => ("fuel".into(), f(f64::from(r.u16("fuel")?) / 100.0)),
        0x0105 | 0x052c => (
            "fuel_used".into(),
            f(f64::from(r.u32("fuel used")?) / 100.0),
        ),
        0x014a | 0x0537..=0x0539 => (
            "fuel_consumption".into(),
            f(f64::from(r.u16("consumption")?) / 100.0),
        ),
        0x052b => ("fuel".into(), IoValue::Int(r.u8("fuel")?.into())),
        0x052d => (
            "coolant_temp".into(),
            IoValue::Int(i64::from(r.u8("coolant")?) - 40),
        ),
        0x052e => (
            "air_temp".into(),
            IoValue::Int(i64::from(r.u8("air temp")?) - 40),
        ),
        0x0530 => ("power".into(), f(f64::from(r.u16("power")?) / 1000.0)),
        0x0535 => ("obd_speed".into(), f(f64::from(r.u16("speed")?) / 10.0)),
        0x0536 => ("rpm".into(), IoValue::Int(r.u16("rpm")?.into())),
        0x053d => (
            "intake_pressure".into(),
            f(f64::from(r.u16("intake")?) / 10.0),
        ),
        0x0544 => ("liquid_level".into(), IoValue::Int(r.u8("liquid")?.into())),
        0x0547 | 0x0548 => ("throttle".into(), IoValue::Int(r.u8("throttle")?.into())),
        0xfeec => ("vin".into(), IoValue::Text(ascii(v))),
        _ => {
            let val = match v.len() {
                1 => IoValue::Int(r.u8("io")?.into()),
                2 => IoValue::Int(r.u16("io")?.into()),
                4 => IoValue::Int(r.u32("io")?.into()),
                _ => return Ok(()),
            };
            (format!("io_{id}"), val)
        }
    };
    a.insert(k, val);
    Ok(())
}

/// 0x53: node count, then {index, MAC[6], RSSI, len, data} per BLE tag.
fn tags(r: &mut Reader, p: &mut Position) -> Result<(), WireError> {
    r.u8("node count")?;
    while r.remaining() > 0 {
        let i = u16::from(r.u8("tag index")?) + 1;
        p.io.insert(
            format!("tag{i}_mac"),
            IoValue::Text(hex::encode(r.bytes(6, "tag mac")?)),
        );
        p.io.insert(
            format!("tag{i}_rssi"),
            IoValue::Int((r.u8("tag rssi")? as i8).into()),
        );
        let n = usize::from(r.u8("tag data length")?);
        p.io.insert(
            format!("tag{i}_data"),
            IoValue::Text(hex::encode(r.bytes(n, "tag data")?)),
        );
    }
    Ok(())
}

/// 0x54: {mask WORD, sample time[6], sensors named by the mask} records.
fn sensors(r: &mut Reader, p: &mut Position) -> Result<(), WireError> {
    // Each record is at least mask + time (8 bytes); a shorter tail is padding.
    while r.remaining() >= 8 {
        let mask = r.u16("mask")?;
        r.skip(6, "sample time")?;
        let mut put = |k: &str, v: f64| {
            p.io.insert(k.into(), IoValue::Float(v));
        };
        if mask & 1 != 0 {
            put("light_sensor", r.u16("light")?.into());
        }
        if mask & 2 != 0 {
            put("device_temp", f64::from(r.i16("device temp")?) / 10.0);
            put("humidity", f64::from(r.i16("humidity")?) / 10.0);
        }
        if mask & 4 != 0 {
            put("temp3", f64::from(r.i16("temperature")?) / 10.0);
        }
        if mask & 8 != 0 {
            r.skip(6, "acceleration")?;
        }
        if mask & 0x10 != 0 {
            put("air_pressure", r.u16("air pressure")?.into());
        }
    }
    Ok(())
}
