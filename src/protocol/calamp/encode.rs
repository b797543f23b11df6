//! Encoders: the ACK the unit waits for, and uplink messages built from a [`Fix`] (tests and
//! the simulator).

use super::decode::{msg, service};
use crate::protocol::Fix;
use bytes::{BufMut, Bytes, BytesMut};

/// The ACK of message `acked_type` with sequence `seq` (LM Direct message type 1 with service
/// type 2, "response to an acknowledged request"): `02 01 | seq u16 | type | 00 ACK | 00 spare
/// | 00 00 00 application version`. No options header: the unit matches it by sequence.
pub fn ack(seq: u16, acked_type: u8) -> Bytes {
    let mut b = BytesMut::with_capacity(10);
    b.put_u8(service::RESPONSE);
    b.put_u8(msg::ACK);
    b.put_u16(seq);
    b.put_u8(acked_type);
    b.put_u8(0); // 0 = ACK, 1 = NAK
    b.put_u8(0);
    b.put_slice(&[0, 0, 0]);
    b.freeze()
}

/// The options header with the mobile ID (decimal digits, F-padded to whole bytes) and its
/// type (2 = IMEI).
pub fn options_header(mobile_id: &str) -> Vec<u8> {
    let mut digits = mobile_id.to_string();
    if digits.len() % 2 == 1 {
        digits.push('f');
    }
    let id = hex::decode(&digits).unwrap_or_default();
    let mut b = vec![0x83, id.len() as u8];
    b.extend_from_slice(&id);
    b.extend_from_slice(&[1, 2]);
    b
}

/// An event report (type 2) carrying `fix` and `event_code`, asking for an ACK when `acked`.
/// Inputs bit 0 is the ignition; one accumulator (the odometer in metres) follows.
pub fn event_report(mobile_id: &str, seq: u16, fix: &Fix, event_code: u8, acked: bool) -> Bytes {
    let mut b = BytesMut::new();
    b.put_slice(&options_header(mobile_id));
    b.put_u8(if acked {
        service::ACKNOWLEDGED
    } else {
        service::UNACKNOWLEDGED
    });
    b.put_u8(msg::EVENT_REPORT);
    b.put_u16(seq);
    let t = fix.time.timestamp().clamp(0, i64::from(u32::MAX)) as u32;
    b.put_u32(t);
    b.put_u32(t);
    b.put_i32((fix.lat * 1e7).round() as i32);
    b.put_i32((fix.lon * 1e7).round() as i32);
    b.put_i32((fix.altitude_m * 100.0).round() as i32);
    b.put_u32((fix.speed_kmh.max(0.0) / 0.036).round() as u32);
    b.put_i16(fix.course_whole() as i16);
    b.put_u8(fix.satellites);
    b.put_u8(if fix.valid { 0x02 } else { 0x08 });
    b.put_u16(310); // carrier
    b.put_i16(-71); // RSSI dBm
    b.put_u8(0x0f); // comm state
    b.put_u8((fix.hdop * 10.0).round().clamp(0.0, 255.0) as u8);
    b.put_u8(u8::from(fix.ignition));
    b.put_u8(0); // unit status
    b.put_u8(0); // event index
    b.put_u8(event_code);
    b.put_u8(1); // one accumulator, type 0
    b.put_u8(0); // spare
    b.put_u32(fix.odometer_u32());
    b.freeze()
}
