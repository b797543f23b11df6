//! Encoders: the answers the server sends and device packets built from a [`Fix`].

use crate::protocol::Fix;
use bytes::{BufMut, Bytes, BytesMut};

/// The `EL` wrapper's checksum: a 16-bit rotate-left-and-add over the wrapped bytes.
pub fn checksum(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |sum, &b| {
        sum.rotate_left(1).wrapping_add(u16::from(b))
    })
}

/// A packet `gg | type | len u16 | seq u16 | content`.
pub fn packet(typ: u8, seq: u16, content: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(content.len() + 7);
    b.extend_from_slice(b"gg");
    b.push(typ);
    b.extend_from_slice(&((2 + content.len()) as u16).to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(content);
    b
}

/// The `EL | len u16 | checksum u16 | IMEI[8] | packets` wrapper of UDP datagrams.
pub fn wrap(imei: &[u8; 8], packets: &[u8]) -> Bytes {
    let mut inner = imei.to_vec();
    inner.extend_from_slice(packets);
    let mut b = BytesMut::with_capacity(inner.len() + 6);
    b.put_slice(b"EL");
    b.put_u16((2 + inner.len()) as u16);
    b.put_u16(checksum(&inner));
    b.put_slice(&inner);
    b.freeze()
}

/// The IMEI field: `0` then the 15 digits, as 8 bytes of hex.
pub fn imei_field(imei: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    if let Ok(v) = hex::decode(format!("0{imei}")) {
        if v.len() == 8 {
            out.copy_from_slice(&v);
        }
    }
    out
}

/// A new-protocol normal report (0x12) of `fix`: `time | flags 01 | lat, lon i32 /1800000 |
/// altitude i16 | speed u16 km/h | course u16 | satellites | status u16` (bit 0 fix valid,
/// bit 1 ignition known, bit 2 ignition on) `| battery mV u16`.
pub fn normal(seq: u16, fix: &Fix) -> Vec<u8> {
    let mut c = BytesMut::new();
    c.put_u32(fix.time.timestamp().clamp(0, i64::from(u32::MAX)) as u32);
    c.put_u8(0x01);
    c.put_i32((fix.lat * 1_800_000.0).round() as i32);
    c.put_i32((fix.lon * 1_800_000.0).round() as i32);
    c.put_i16(fix.altitude_m.round().clamp(-32768.0, 32767.0) as i16);
    c.put_u16(fix.speed_kmh_whole(u16::MAX));
    c.put_u16(fix.course_whole());
    c.put_u8(fix.satellites);
    c.put_u16(u16::from(fix.valid) | 0x02 | (u16::from(fix.ignition) << 2));
    c.put_u16(4012);
    packet(0x12, seq, &c)
}
