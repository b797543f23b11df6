//! Encoders: the ACK and the uplink frames built from a [`Fix`] (tests and the simulator).

use crate::protocol::{wire, Fix};
use bytes::{BufMut, Bytes, BytesMut};

/// CRC-16/ARC, the checksum of binary frames (over length..end) and text frames (the bytes
/// after the CRC field).
pub fn crc(data: &[u8]) -> u16 {
    wire::crc16_arc(data)
}

/// The answer to a binary report or photo part: `FE 02 | unit id u64 | sequence id u16`. The
/// unit deletes the report from its buffer on it.
pub fn ack(unit_id: u64, seq: u16) -> Bytes {
    let mut b = BytesMut::with_capacity(12);
    b.put_slice(&[0xfe, 0x02]);
    b.put_u64(unit_id);
    b.put_u16(seq);
    b.freeze()
}

/// One binary record of `fix` (Unix times, no custom data): report id `event`, inputs bit 0
/// the ignition.
pub fn binary_record(fix: &Fix, event: u8) -> Vec<u8> {
    let mut b = BytesMut::new();
    let t = fix.time.timestamp().clamp(0, i64::from(u32::MAX)) as u32;
    for _ in 0..3 {
        b.put_u32(t);
    }
    b.put_i32((fix.lon * 1e6).round() as i32);
    b.put_i32((fix.lat * 1e6).round() as i32);
    b.put_u16(fix.course_whole());
    b.put_u8(event);
    b.put_u32(
        (fix.odometer_m / 100.0)
            .round()
            .clamp(0.0, f64::from(u32::MAX)) as u32,
    );
    b.put_u16((fix.hdop * 10.0).round().clamp(0.0, 65535.0) as u16);
    b.put_u8(u8::from(fix.ignition));
    b.put_u16(fix.speed_kmh_whole(u16::MAX));
    b.put_u8(0);
    b.put_u16(12_400);
    b.put_u8(0); // driver id ""
    b.put_i16(2000);
    b.put_i16(2000);
    b.put_u8(0); // text message ""
    b.to_vec()
}

/// A binary report frame `@P | CRC | len | seq | unit id | records`.
pub fn binary_frame(unit_id: u64, seq: u16, records: &[Vec<u8>]) -> Bytes {
    let mut body = BytesMut::new();
    body.put_u16(seq);
    body.put_u64(unit_id);
    for r in records {
        body.put_slice(r);
    }
    let mut tail = BytesMut::new();
    tail.put_u16(body.len() as u16);
    tail.put_slice(&body);
    let mut f = BytesMut::from(&b"@P"[..]);
    f.put_u16(crc(&tail));
    f.put_slice(&tail);
    f.freeze()
}
