//! Meitrack binary batches: `CCC` (fixed 52-byte records) and `CCE` (records of typed
//! parameters). All integers little-endian; times are seconds since 2000-01-01 UTC;
//! coordinates are signed 1e-6 degrees. Every read is bounded by the record it belongs to.

use super::super::wire::{Reader, WireError};
use super::super::{DecodeCtx, DecodeError};
use super::decode::alarm;
use super::NAME;
use crate::model::{DeviceId, IoValue, Position};
use chrono::{DateTime, Utc};

/// 2000-01-01T00:00:00Z as a Unix time: the epoch of Meitrack binary times.
const EPOCH_2000: i64 = 946_684_800;
/// Size of one `CCC` record.
const CCC_RECORD: usize = 52;
/// Bytes before the first `CCC` record: protocol version (2), count (2), cache (4).
const CCC_HEADER: usize = 8;

/// Little-endian reads on top of the bounded big-endian [`Reader`].
trait Le {
    fn u16le(&mut self, f: &'static str) -> Result<u16, WireError>;
    fn u32le(&mut self, f: &'static str) -> Result<u32, WireError>;
    fn i32le(&mut self, f: &'static str) -> Result<i32, WireError>;
}

impl Le for Reader<'_> {
    fn u16le(&mut self, f: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(f)?))
    }
    fn u32le(&mut self, f: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(f)?))
    }
    fn i32le(&mut self, f: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array(f)?))
    }
}

fn time2000(secs: u32) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(EPOCH_2000 + i64::from(secs), 0)
}

fn bad_time(secs: u32) -> DecodeError {
    DecodeError::Invalid(format!("meitrack binary time {secs} out of range"))
}

/// `CCC`: header, then 52-byte records while a whole one remains.
pub(super) fn ccc(
    device: &DeviceId,
    data: &[u8],
    ctx: &DecodeCtx,
) -> Result<Vec<Position>, DecodeError> {
    let mut r = Reader::new(data);
    r.skip(CCC_HEADER, "CCC header")?;
    let mut out = vec![];
    while r.remaining() >= CCC_RECORD {
        let event = r.u8("event")?;
        let lat = f64::from(r.i32le("latitude")?) * 1e-6;
        let lon = f64::from(r.i32le("longitude")?) * 1e-6;
        let secs = r.u32le("time")?;
        let time = time2000(secs).ok_or_else(|| bad_time(secs))?;
        let valid = r.u8("validity")? == 1;
        let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, valid);
        p.satellites = r.u8("satellites")?;
        p.io.insert("rssi".into(), IoValue::Int(r.u8("rssi")?.into()));
        p.speed_kmh = r.u16le("speed")?.into();
        p.course = r.u16le("course")?.into();
        p.io.insert(
            "hdop".into(),
            IoValue::Float(f64::from(r.u16le("hdop")?) * 0.1),
        );
        p.altitude_m = r.u16le("altitude")?.into();
        p.odometer_m = Some(r.u32le("odometer")?.into());
        p.io.insert("runtime".into(), IoValue::Int(r.u32le("runtime")?.into()));
        r.skip(8, "cell")?;
        p.io.insert("status".into(), IoValue::Int(r.u16le("status")?.into()));
        p.io.insert("adc1".into(), IoValue::Int(r.u16le("adc1")?.into()));
        p.battery_v = Some(f64::from(r.u16le("battery")?) * 0.01);
        p.io.insert("power".into(), IoValue::Int(r.u16le("power")?.into()));
        r.skip(4, "geofence")?;
        p.io.insert("event".into(), IoValue::Int(event.into()));
        p.alarms.extend(alarm(event.into()));
        out.push(p);
    }
    Ok(out)
}

/// A parameter id: one byte, or two when the first is the extension marker `FE`.
fn param_id(r: &mut Reader) -> Result<u16, WireError> {
    if r.rest().first() == Some(&0xFE) {
        r.u16("extended parameter id")
    } else {
        Ok(r.u8("parameter id")?.into())
    }
}

/// What one `CCE` record says before it becomes a position.
#[derive(Default)]
struct CceRecord {
    lat: Option<f64>,
    lon: Option<f64>,
    time: Option<u32>,
    valid: bool,
}

/// `CCE`: cache left (u32), record count (u16), then per record: length (u16), index (u16)
/// and four parameter groups (1-, 2-, 4-byte values, then length-prefixed values).
pub(super) fn cce(
    device: &DeviceId,
    data: &[u8],
    ctx: &DecodeCtx,
) -> Result<Vec<Position>, DecodeError> {
    let mut r = Reader::new(data);
    r.skip(4, "cache left")?;
    let count = r.u16le("record count")?;
    let mut out = Vec::with_capacity(usize::from(count).min(64));
    for _ in 0..count {
        let len = usize::from(r.u16le("record length")?);
        // The length counts the index and the parameter groups.
        let body = r.bytes(len, "record")?;
        let mut b = Reader::new(body);
        b.skip(2, "record index")?;
        let mut rec = CceRecord::default();
        let mut p = Position::new(device.clone(), NAME, ctx.now, ctx.now, 0.0, 0.0, false);
        for _ in 0..b.u8("1-byte parameter count")? {
            let id = param_id(&mut b)?;
            let v = b.u8("1-byte parameter")?;
            match id {
                0x01 => {
                    p.io.insert("event".into(), IoValue::Int(v.into()));
                    p.alarms.extend(alarm(v.into()));
                }
                0x05 => rec.valid = v > 0,
                0x06 => p.satellites = v,
                0x07 => drop(p.io.insert("rssi".into(), IoValue::Int(v.into()))),
                0x14 => drop(p.io.insert("output".into(), IoValue::Int(v.into()))),
                0x15 => drop(p.io.insert("input".into(), IoValue::Int(v.into()))),
                0xFE69 => drop(p.io.insert("battery_level".into(), IoValue::Int(v.into()))),
                _ => {}
            }
        }
        for _ in 0..b.u8("2-byte parameter count")? {
            let id = param_id(&mut b)?;
            let v = b.u16le("2-byte parameter")?;
            match id {
                0x08 => p.speed_kmh = v.into(),
                0x09 => p.course = v.into(),
                0x0A => drop(p.io.insert("hdop".into(), IoValue::Float(f64::from(v) * 0.1))),
                0x0B => p.altitude_m = f64::from(v as i16),
                0x19 => p.battery_v = Some(f64::from(v) * 0.01),
                0x1A => p.power_v = Some(f64::from(v) * 0.01),
                0x40 => {
                    p.io.insert("event".into(), IoValue::Int(v.into()));
                    p.alarms.extend(alarm(v.into()));
                }
                _ => {}
            }
        }
        for _ in 0..b.u8("4-byte parameter count")? {
            let id = param_id(&mut b)?;
            let raw: [u8; 4] = b.array("4-byte parameter")?;
            let v = u32::from_le_bytes(raw);
            match id {
                0x02 => rec.lat = Some(f64::from(v as i32) * 1e-6),
                0x03 => rec.lon = Some(f64::from(v as i32) * 1e-6),
                0x04 => rec.time = Some(v),
                0x0C | 0x9B => p.odometer_m = Some(v.into()),
                0x0D => drop(p.io.insert("runtime".into(), IoValue::Int(v.into()))),
                _ => {}
            }
        }
        if b.remaining() > 0 {
            for _ in 0..b.u8("variable parameter count")? {
                param_id(&mut b)?;
                let n = b.u8("variable parameter length")?;
                b.skip(n.into(), "variable parameter")?;
            }
        }
        let (Some(lat), Some(lon), Some(secs)) = (rec.lat, rec.lon, rec.time) else {
            // A record without a fix (status-only) carries nothing to store as a position.
            continue;
        };
        p.fix_time = time2000(secs).ok_or_else(|| bad_time(secs))?;
        p.lat = lat;
        p.lon = lon;
        p.valid = rec.valid;
        out.push(p);
    }
    Ok(out)
}
