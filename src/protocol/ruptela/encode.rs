//! Encoders: server answers (ACKs) and device uplink frames (tests and the simulator).

use bytes::{BufMut, Bytes, BytesMut};
use crc::{Crc, CRC_16_KERMIT};

/// CRC-16/KERMIT (poly 0x1021 reflected, init 0, no final XOR; check value 0x2189), written
/// big-endian after the body.
pub const KERMIT: Crc<u16> = Crc::<u16>::new(&CRC_16_KERMIT);

/// CRC-16/KERMIT of `data`.
pub fn crc(data: &[u8]) -> u16 {
    KERMIT.checksum(data)
}

/// Positive answer to records (commands 1 and 68): `len 2 | 0x64 | 01 | CRC`. The device
/// deletes the records from its memory once it reads this.
pub const ACK_RECORDS: [u8; 6] = [0x00, 0x02, 0x64, 0x01, 0x13, 0xbc];
/// Negative answer to records (`0x64 | 00`): the device keeps them and sends them again.
pub const NACK_RECORDS: [u8; 6] = [0x00, 0x02, 0x64, 0x00, 0x02, 0x35];
/// Answer to DTC codes (command 9): `len 2 | 0x6D | 01 | CRC`.
pub const ACK_DTC: [u8; 6] = [0x00, 0x02, 0x6d, 0x01, 0xc4, 0xa4];

/// A server → device frame: `len u16 | cmd | payload | CRC(cmd..payload)`.
pub fn server_frame(cmd: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(payload.len() + 5);
    b.put_u16((payload.len() + 1) as u16);
    b.put_u8(cmd);
    b.put_slice(payload);
    let c = crc(&b[2..]);
    b.put_u16(c);
    b.freeze()
}

/// A device → server frame: `len u16 | IMEI u64 | cmd | payload | CRC(IMEI..payload)`.
pub fn device_frame(imei: u64, cmd: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(payload.len() + 13);
    b.put_u16((payload.len() + 9) as u16);
    b.put_u64(imei);
    b.put_u8(cmd);
    b.put_slice(payload);
    let c = crc(&b[2..]);
    b.put_u16(c);
    b.freeze()
}

/// One record as a device sends it (command 1, or 68 when encoded `extended`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordSpec {
    /// Fix time, Unix seconds UTC.
    pub time: u32,
    /// Longitude ×1e7 (`i32::MIN`: no fix).
    pub lon: i32,
    /// Latitude ×1e7 (`i32::MIN`: no fix).
    pub lat: i32,
    /// Altitude, 0.1 m.
    pub alt_dm: u16,
    /// Course, 0.01°.
    pub course_cdeg: u16,
    pub satellites: u8,
    /// Speed, km/h.
    pub speed_kmh: u16,
    /// HDOP ×10.
    pub hdop10: u8,
    /// Event id that triggered the record.
    pub event: u16,
    /// IO values as `(id, width in bytes 1|2|4|8, value)`.
    pub io: Vec<(u16, u8, u64)>,
}

/// The payload of a records frame (`left | count | record…`); `extended` selects cmd 68's
/// layout (record extension byte, u16 event and IO ids).
pub fn records_payload(records: &[RecordSpec], extended: bool) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u8(0);
    b.put_u8(records.len() as u8);
    for r in records {
        b.put_u32(r.time);
        b.put_u8(0);
        if extended {
            b.put_u8(0);
        }
        b.put_u8(0);
        b.put_i32(r.lon);
        b.put_i32(r.lat);
        b.put_u16(r.alt_dm);
        b.put_u16(r.course_cdeg);
        b.put_u8(r.satellites);
        b.put_u16(r.speed_kmh);
        b.put_u8(r.hdop10);
        if extended {
            b.put_u16(r.event);
        } else {
            b.put_u8(r.event as u8);
        }
        for width in [1u8, 2, 4, 8] {
            let group: Vec<_> = r.io.iter().filter(|(_, w, _)| *w == width).collect();
            b.put_u8(group.len() as u8);
            for (id, _, v) in group {
                if extended {
                    b.put_u16(*id);
                } else {
                    b.put_u8(*id as u8);
                }
                b.put_slice(&v.to_be_bytes()[8 - width as usize..]);
            }
        }
    }
    b.to_vec()
}

/// A whole records frame from device `imei`.
pub fn records_frame(imei: u64, records: &[RecordSpec], extended: bool) -> Bytes {
    let cmd = if extended { 68 } else { 1 };
    device_frame(imei, cmd, &records_payload(records, extended))
}
