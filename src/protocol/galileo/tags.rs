//! The Galileosky tag table: how long each tag's value is, and what it means.
//!
//! Values are little-endian. Lengths are the ones in Galileosky's "protocol tags" table (as
//! Traccar's decoder also reads them); a tag not in the table cannot be skipped, so the
//! packet is malformed from there on. Tags with a meaning in the model go to its fields,
//! a few named ones to `io`, every other one to `io` as `tag_<hex>` (unsigned, raw).

use crate::model::{IoValue, Position};

/// IMEI: 15 ASCII digits.
pub const IMEI: u8 = 0x03;
/// Coordinates: `flags u8 (low nibble satellites, high nibble 0 = valid) | lat i32 | lon i32`
/// (1e-6 degrees).
pub const COORDINATES: u8 = 0x30;
/// Fix time, Unix seconds.
pub const TIME: u8 = 0x20;
/// Command number (server-chosen) of a command reply.
pub const COMMAND_NUMBER: u8 = 0xe0;
/// Command reply text: `len u8 | ASCII`.
pub const COMMAND_TEXT: u8 = 0xe1;
/// User data array: `len u8 | bytes`.
pub const USER_DATA_ARRAY: u8 = 0xea;

/// Tags of the head packet besides the IMEI: hardware and firmware version, device number.
pub const HEAD: [u8; 3] = [0x01, 0x02, 0x04];

/// Extended tags: `len u16 | {id u16, value}…`; kept as hex.
pub const EXTENDED: u8 = 0xfe;

/// Length of the coordinates value.
pub const COORDINATES_LEN: usize = 9;
/// Length of the IMEI value.
pub const IMEI_LEN: usize = 15;

/// The value length of a fixed-length tag; `None` for unknown tags and for the
/// length-prefixed ones ([`COMMAND_TEXT`], [`USER_DATA_ARRAY`], [`EXTENDED`]).
pub fn fixed_len(tag: u8) -> Option<usize> {
    Some(match tag {
        IMEI => IMEI_LEN,
        COORDINATES => COORDINATES_LEN,
        0x01 | 0x02 | 0x35 | 0x43 | 0x88..=0x8c | 0xa0..=0xaf | 0xc4..=0xd2 | 0xd5 => 1,
        0x04 | 0x10 | 0x34 | 0x40..=0x42 | 0x45 | 0x46 | 0x48 | 0x50..=0x59 | 0x60..=0x62 => 2,
        0x70..=0x77 | 0xb0..=0xb9 | 0xd6..=0xda => 2,
        0x5d | 0x63..=0x6f | 0xfa => 3,
        0x20 | 0x33 | 0x44 | 0x47 | 0x5a | 0x90 | 0xc0..=0xc3 | 0xd3 | 0xd4 | 0xdb..=0xe0 => 4,
        0xe2..=0xe9 | 0xf0..=0xf9 => 4,
        0x5b => 7,
        0x5c => 68,
        0xfd => 8,
        _ => return None,
    })
}

fn le(v: &[u8]) -> u64 {
    v.iter().rev().fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

/// Applies one fixed-length tag value (any but IMEI, coordinates and time, which the
/// decoder handles) to the position.
pub fn apply(p: &mut Position, tag: u8, v: &[u8]) {
    let u = le(v);
    let int = |p: &mut Position, k: &str, x: i64| {
        p.io.insert(k.to_string(), IoValue::Int(x));
    };
    match tag {
        0x01 => int(p, "version_hw", u as i64),
        0x02 => int(p, "version_fw", u as i64),
        0x04 => int(p, "device_id", u as i64),
        0x10 => int(p, "index", u as i64),
        0x33 => {
            // speed u16 0.1 km/h | course u16 0.1°
            p.speed_kmh = (u & 0xffff) as f64 / 10.0;
            p.course = (u >> 16) as f64 / 10.0;
        }
        0x34 => p.altitude_m = f64::from(u as u16 as i16),
        0x35 => {
            p.io.insert("hdop".into(), IoValue::Float(u as f64 / 10.0));
        }
        0x40 => int(p, "status", u as i64),
        0x41 => p.power_v = Some(u as f64 / 1000.0),
        0x42 => p.battery_v = Some(u as f64 / 1000.0),
        0x43 => int(p, "device_temp", i64::from(u as u8 as i8)),
        0x44 => int(p, "acceleration", u as i64),
        0x45 => int(p, "output", u as i64),
        0x46 => int(p, "input", u as i64),
        0x48 => int(p, "status_extended", u as i64),
        0x50..=0x57 => int(p, &format!("adc{}", tag - 0x50), u as i64),
        0x60..=0x62 => int(p, &format!("fuel{}", tag - 0x60), u as i64),
        0x90 => {
            p.io.insert("driver_id".into(), IoValue::Text(u.to_string()));
        }
        // Total fuel used by CAN, 0.5 l.
        0xc0 => {
            p.io.insert("fuel_total_l".into(), IoValue::Float(u as f64 * 0.5));
        }
        0xd4 => p.odometer_m = Some(u as f64),
        COMMAND_NUMBER => int(p, "command_number", u as i64),
        _ => {
            let key = format!("tag_{tag:02x}");
            if v.len() <= 8 {
                int(p, &key, u as i64);
            } else {
                p.io.insert(key, IoValue::Text(hex::encode(v)));
            }
        }
    }
}
