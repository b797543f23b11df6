//! Codec 8 / 8 Extended / 16 AVL records.
//!
//! ```text
//! timestamp u64 ms | priority u8 | lon i32 | lat i32 | altitude i16 | angle u16 | sats u8 | speed u16
//! codec 8 : event id u8  | total u8  | 1-byte: n u8  {id u8,  v} | 2-byte | 4-byte | 8-byte
//! codec 8E: event id u16 | total u16 | 1-byte: n u16 {id u16, v} | 2-byte | 4-byte | 8-byte | NX: n u16 {id u16, len u16, v}
//! codec 16: event id u16 | generation type u8 | total u8 | 1-byte: n u8 {id u16, v} | … | 8-byte
//! ```
//! With the `io16` option a 16-byte section follows the 8-byte one (same id/count widths).

use super::{hex, PROTOCOL};
use crate::model::{Alarm, DeviceId, IoValue, Position};
use crate::protocol::teltonika::{Codec, Settings};
use crate::protocol::wire::Reader;
use crate::protocol::{DecodeCtx, DecodeError};
use chrono::DateTime;

/// AVL id of the ignition (digital input 1 on most FM models): > 0 = on.
pub(crate) const IO_IGNITION: u16 = 239;
/// AVL id of the total odometer, metres.
pub(crate) const IO_ODOMETER: u16 = 16;
/// AVL id of the external (vehicle) voltage, mV.
pub(crate) const IO_EXTERNAL_VOLTAGE: u16 = 66;
/// AVL id of the internal battery voltage, mV.
pub(crate) const IO_BATTERY_VOLTAGE: u16 = 67;
/// AVL id of the iButton (driver key), 8 bytes; 0 = none attached.
pub(crate) const IO_IBUTTON: u16 = 78;
/// Record priority meaning "panic": the device's SOS.
pub(crate) const PRIORITY_PANIC: u8 = 2;

/// Decodes one record of `codec` (8, 8E or 16) into a position.
pub(super) fn record(
    r: &mut Reader<'_>,
    codec: Codec,
    settings: Settings,
    device: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let ts = r.u64("timestamp")?;
    let time = i64::try_from(ts)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| r.bad("timestamp", format!("{ts} ms is not a representable time")))?;
    let priority = r.u8("priority")?;
    let lon = f64::from(r.i32("longitude")?) / 1e7;
    let lat = f64::from(r.i32("latitude")?) / 1e7;
    let altitude = r.i16("altitude")?;
    let angle = r.u16("angle")?;
    let satellites = r.u8("satellites")?;
    let speed = r.u16("speed")?;

    // Satellites 0 means the coordinates are the last known ones, not a fix (as Traccar reads
    // it); out-of-range coordinates cannot be a fix either, but the record is still kept.
    let in_range = lat.abs() <= 90.0 && lon.abs() <= 180.0;
    let mut p = Position::new(
        device.clone(),
        PROTOCOL,
        time,
        ctx.now,
        lat,
        lon,
        satellites != 0 && in_range,
    );
    p.altitude_m = f64::from(altitude);
    p.course = f64::from(angle);
    p.satellites = satellites;
    p.speed_kmh = f64::from(speed);

    let event_io = io_id(r, codec)?;
    if codec == Codec::C16 {
        let generation = r.u8("generation type")?;
        p.io.insert("generation_type".into(), IoValue::Int(generation.into()));
    }
    count(r, codec, "total io count")?;
    p.io.insert("priority".into(), IoValue::Int(priority.into()));
    p.io.insert("event_io".into(), IoValue::Int(event_io.into()));
    if priority == PRIORITY_PANIC {
        p.alarms.push(Alarm::Sos);
    }

    for (width, field) in [
        (1, "1-byte io"),
        (2, "2-byte io"),
        (4, "4-byte io"),
        (8, "8-byte io"),
    ] {
        for _ in 0..count(r, codec, field)? {
            let id = io_id(r, codec)?;
            let raw = r.bytes(width, field)?;
            let value = raw.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
            apply_io(&mut p, id, value);
        }
    }
    if settings.io16 {
        for _ in 0..count(r, codec, "16-byte io")? {
            let id = io_id(r, codec)?;
            let raw = r.bytes(16, "16-byte io")?;
            p.io.insert(format!("io_{id}"), IoValue::Text(hex(raw)));
        }
    }
    if codec == Codec::C8Ext {
        for _ in 0..r.u16("nx io count")? {
            let id = r.u16("nx io id")?;
            let len = r.u16("nx io length")?;
            let raw = r.bytes(usize::from(len), "nx io value")?;
            p.io.insert(format!("io_{id}"), IoValue::Text(hex(raw)));
        }
    }
    Ok(p)
}

/// Puts a fixed-width IO value where it belongs: a [`Position`] field when trackgate knows
/// the id's meaning across models, else `io_<id>` (the raw unsigned value; 8-byte values
/// above `i64::MAX` wrap to negative, keeping all 64 bits).
fn apply_io(p: &mut Position, id: u16, value: u64) {
    match id {
        IO_IGNITION => p.ignition = Some(value > 0),
        IO_ODOMETER => p.odometer_m = Some(value as f64),
        IO_EXTERNAL_VOLTAGE => p.power_v = Some(value as f64 / 1000.0),
        IO_BATTERY_VOLTAGE => p.battery_v = Some(value as f64 / 1000.0),
        // The raw value stays in `io_78`; a key present is also `driver_id`, rendered as
        // Traccar does (the 8 bytes read little-endian, 16 upper-case hex digits) so driver
        // keys entered for a Traccar server match.
        IO_IBUTTON => {
            p.io.insert(format!("io_{id}"), IoValue::Int(value as i64));
            if value != 0 {
                let key = format!("{:016X}", value.swap_bytes());
                p.io.insert("driver_id".into(), IoValue::Text(key));
            }
        }
        _ => {
            p.io.insert(format!("io_{id}"), IoValue::Int(value as i64));
        }
    }
}

/// An IO id: 2 bytes in 8E and 16, 1 byte in 8.
fn io_id(r: &mut Reader<'_>, codec: Codec) -> Result<u16, DecodeError> {
    Ok(if codec.wide_ids() {
        r.u16("io id")?
    } else {
        r.u8("io id")?.into()
    })
}

/// An IO count: 2 bytes in 8E, 1 byte otherwise.
fn count(r: &mut Reader<'_>, codec: Codec, field: &'static str) -> Result<u16, DecodeError> {
    Ok(if codec.wide_counts() {
        r.u16(field)?
    } else {
        r.u8(field)?.into()
    })
}
