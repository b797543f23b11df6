//! Encoders: the answers the server sends and device frames built from a [`Fix`].

use crate::protocol::{wire, Fix};
use bytes::{BufMut, Bytes, BytesMut};
use chrono::{Datelike, Timelike};

/// A frame `@@ | len u16 LE | version | id[20] | type u16 BE | content | CRC-16/X-25 LE |
/// \r\n` (`version` None: the MPIP `$$` form, which has none).
pub fn frame(version: Option<u8>, id: &[u8; 20], typ: u16, content: &[u8]) -> Bytes {
    let total = 2 + 2 + usize::from(version.is_some()) + 20 + 2 + content.len() + 4;
    let mut b = BytesMut::with_capacity(total);
    b.put_slice(if version.is_some() { b"@@" } else { b"$$" });
    b.put_u16_le(total as u16);
    if let Some(v) = version {
        b.put_u8(v);
    }
    b.put_slice(id);
    b.put_u16(typ);
    b.put_slice(content);
    let c = wire::crc16_x25(&b);
    b.put_u16_le(c);
    b.put_slice(b"\r\n");
    b.freeze()
}

/// The id field: ASCII, NUL-padded to 20 bytes.
pub fn id_field(id: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (o, b) in out.iter_mut().zip(id.bytes()) {
        *o = b;
    }
    out
}

/// A fix as the units write it: `day, month, year-2000, hour, minute, second | lat u32 LE
/// ×3.6e6 | lon u32 LE ×3.6e6 | speed u16 LE cm/s | course u16 LE ×0.1° | flags` (bit 0
/// east, bit 1 north, bits 2–3 fix, bits 4–7 satellites).
pub fn position(fix: &Fix) -> Vec<u8> {
    let t = fix.time;
    let mut b = vec![
        t.day() as u8,
        t.month() as u8,
        (t.year() - 2000).clamp(0, 255) as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    ];
    b.extend_from_slice(&((fix.lat.abs() * 3_600_000.0).round() as u32).to_le_bytes());
    b.extend_from_slice(&((fix.lon.abs() * 3_600_000.0).round() as u32).to_le_bytes());
    b.extend_from_slice(
        &((fix.speed_kmh.max(0.0) / 0.036).round().min(65535.0) as u16).to_le_bytes(),
    );
    b.extend_from_slice(&(fix.course_whole() * 10).to_le_bytes());
    let mut flags = (fix.satellites.min(15)) << 4;
    if fix.lon >= 0.0 {
        flags |= 0x01;
    }
    if fix.lat >= 0.0 {
        flags |= 0x02;
    }
    if fix.valid {
        flags |= 0x0c;
    }
    b.push(flags);
    b
}

/// The SC statistics block (34 bytes): `ACC-on time, UTC time, odometer m, trip m, fuel u32 LE
/// | current fuel u16 | state u32 (bit 18 ignition) | 8 reserved`.
pub fn stat(odometer_m: u32, ignition: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(34);
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&odometer_m.to_le_bytes());
    b.extend_from_slice(&[0; 10]);
    b.extend_from_slice(&(u32::from(ignition) << 18).to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b
}

/// An SC GPS report (0x4001, version 4) of `fixes`.
pub fn sc_gps(id: &str, fixes: &[Fix], odometer_m: u32) -> Bytes {
    let mut c = vec![0u8]; // not historical
    c.extend_from_slice(&stat(odometer_m, fixes.first().is_some_and(|f| f.ignition)));
    c.push(fixes.len() as u8);
    for f in fixes {
        c.extend_from_slice(&position(f));
    }
    frame(Some(4), &id_field(id), 0x4001, &c)
}
