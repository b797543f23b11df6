//! Codec 7 (GH3000 personal trackers): bit-masked records.
//!
//! ```text
//! time u32 (low 30 bits: seconds since 2007-01-01 UTC; top 2 bits: priority)
//! global mask u8: bit0 GPS element, bit1 1-byte IO, bit2 2-byte IO, bit3 4-byte IO
//! GPS element: location mask u8, then per bit: 0 lat f32 + lon f32 (LATITUDE first here),
//!   1 altitude u16, 2 angle u8 (×360/256), 3 speed u8 km/h, 4 satellites u8,
//!   5 LAC u16 + cell id u16, 6 signal quality u8, 7 operator u32
//! IO sections: count u8, then {id u8, value}
//! ```
//! A record without coordinates becomes an `Info` event (or an `Alarm` event on SOS)
//! carrying its IO values, since it has no fix to store.

use super::PROTOCOL;
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::Reader;
use crate::protocol::{DecodeCtx, DecodeError};
use chrono::DateTime;
use std::collections::BTreeMap;

/// 2007-01-01T00:00:00Z, the GH3000 epoch, in Unix seconds.
const GH3000_EPOCH: i64 = 1_167_609_600;
/// GH3000 AVL id of the battery voltage, mV.
const IO_BATTERY_VOLTAGE: u8 = 67;
/// GH3000 AVL id of the SOS button: 1 = pressed.
const IO_SOS: u8 = 222;

/// Decodes one GH3000 record into a position, or an event when it carries no coordinates.
pub(super) fn record(
    r: &mut Reader<'_>,
    device: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Record, DecodeError> {
    let raw_time = r.u32("gh3000 time")?;
    let secs = GH3000_EPOCH + i64::from(raw_time & 0x3fff_ffff);
    let time = DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| r.bad("gh3000 time", format!("{secs} s")))?;
    let global = r.u8("global mask")?;

    let mut p = Position::new(device.clone(), PROTOCOL, time, ctx.now, 0.0, 0.0, false);
    let mut located = false;
    let mut satellites = None;
    if global & 0x01 != 0 {
        let mask = r.u8("location mask")?;
        if mask & 0x01 != 0 {
            p.lat = f64::from(f32::from_bits(r.u32("latitude")?));
            p.lon = f64::from(f32::from_bits(r.u32("longitude")?));
            located = p.lat.is_finite() && p.lon.is_finite();
        }
        if mask & 0x02 != 0 {
            p.altitude_m = f64::from(r.u16("altitude")?);
        }
        if mask & 0x04 != 0 {
            p.course = f64::from(r.u8("angle")?) * 360.0 / 256.0;
        }
        if mask & 0x08 != 0 {
            p.speed_kmh = f64::from(r.u8("speed")?);
        }
        if mask & 0x10 != 0 {
            let s = r.u8("satellites")?;
            p.satellites = s;
            satellites = Some(s);
        }
        if mask & 0x20 != 0 {
            p.io.insert("lac".into(), IoValue::Int(r.u16("lac")?.into()));
            p.io.insert("cell_id".into(), IoValue::Int(r.u16("cell id")?.into()));
        }
        if mask & 0x40 != 0 {
            let q = r.u8("signal quality")?;
            p.io.insert("gsm_signal".into(), IoValue::Int(q.into()));
        }
        if mask & 0x80 != 0 {
            let op = r.u32("operator")?;
            p.io.insert("operator".into(), IoValue::Int(op.into()));
        }
    }
    for (bit, width, field) in [
        (0x02, 1, "1-byte io"),
        (0x04, 2, "2-byte io"),
        (0x08, 4, "4-byte io"),
    ] {
        if global & bit == 0 {
            continue;
        }
        for _ in 0..r.u8(field)? {
            let id = r.u8("io id")?;
            let raw = r.bytes(width, field)?;
            let value = raw.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            match id {
                IO_BATTERY_VOLTAGE => p.battery_v = Some(value as f64 / 1000.0),
                IO_SOS if value == 1 => p.alarms.push(Alarm::Sos),
                _ => {
                    p.io.insert(format!("io_{id}"), IoValue::Int(value as i64));
                }
            }
        }
    }
    if located {
        // No satellite count reported: the device sent coordinates, trust them as a fix.
        p.valid = satellites.is_none_or(|s| s > 0) && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0;
        return Ok(Record::Position(p));
    }
    Ok(Record::Event(status_event(p)))
}

/// A coordinate-less record as an event: its alarm if any, else `Info { name: "status" }`.
fn status_event(p: Position) -> DeviceEvent {
    let kind = match p.alarms.first() {
        Some(&alarm) => EventKind::Alarm { alarm },
        None => EventKind::Info {
            name: "status".into(),
        },
    };
    let mut attributes: BTreeMap<String, IoValue> = p.io;
    if let Some(v) = p.battery_v {
        attributes.insert("battery_v".into(), IoValue::Float(v));
    }
    let mut e = DeviceEvent::new(p.device, PROTOCOL, p.fix_time, kind);
    e.attributes = attributes;
    e
}
