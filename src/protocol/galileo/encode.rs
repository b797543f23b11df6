//! Encoders: the confirmations the server sends and device packets built from a [`Fix`]
//! (tests and the simulator).

use super::frame::{ARCHIVE_BIT, MAIN};
use crate::protocol::Fix;
use bytes::{BufMut, Bytes, BytesMut};
use crc::{Crc, CRC_16_MODBUS};

/// CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF; check value 0x4B37) over header,
/// length and body, written little-endian.
pub const MODBUS: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);

/// The confirmation header of a main packet.
pub const MAIN_ACK: u8 = 0x02;

/// CRC-16/MODBUS of `data`.
pub fn crc(data: &[u8]) -> u16 {
    MODBUS.checksum(data)
}

/// A confirmation: `header | the packet's CRC as received (2 bytes)`. The device compares it
/// with the CRC it sent and deletes the packet's records from its memory on a match.
pub fn ack(header: u8, crc: [u8; 2]) -> Bytes {
    Bytes::copy_from_slice(&[header, crc[0], crc[1]])
}

/// A packet `header | len u16 LE (| archive bit) | body | CRC u16 LE`.
pub fn packet(header: u8, body: &[u8], archive: bool) -> Bytes {
    let mut b = BytesMut::with_capacity(body.len() + 5);
    b.put_u8(header);
    let len = body.len() as u16 | if archive { ARCHIVE_BIT } else { 0 };
    b.put_u16_le(len);
    b.put_slice(body);
    let c = crc(&b);
    b.put_u16_le(c);
    b.freeze()
}

/// The tags of one record holding `fix`: record number, time, coordinates, speed and
/// course, altitude, HDOP, supply voltage (`power_mv`) and odometer.
pub fn record_tags(fix: &Fix, index: u16, power_mv: u16) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u8(0x10);
    b.put_u16_le(index);
    b.put_u8(0x20);
    b.put_u32_le(fix.time.timestamp().clamp(0, i64::from(u32::MAX)) as u32);
    b.put_u8(0x30);
    let validity = if fix.valid { 0x00 } else { 0x10 };
    b.put_u8(validity | fix.satellites.min(15));
    b.put_i32_le((fix.lat * 1e6).round() as i32);
    b.put_i32_le((fix.lon * 1e6).round() as i32);
    b.put_u8(0x33);
    b.put_u16_le((fix.speed_kmh.max(0.0) * 10.0).round().min(65535.0) as u16);
    b.put_u16_le((f64::from(fix.course_whole())) as u16 * 10);
    b.put_u8(0x34);
    b.put_i16_le(fix.altitude_m.round().clamp(-32768.0, 32767.0) as i16);
    b.put_u8(0x35);
    b.put_u8((fix.hdop * 10.0).round().clamp(0.0, 255.0) as u8);
    b.put_u8(0x41);
    b.put_u16_le(power_mv);
    b.put_u8(0xd4);
    b.put_u32_le(fix.odometer_u32());
    b.to_vec()
}

/// A main packet from device `imei` (15 digits) with one record per fix; the IMEI and
/// device number go in front as the head tags.
pub fn main_packet(imei: &str, fixes: &[Fix], archive: bool) -> Bytes {
    let mut body = vec![0x01, 0x82, 0x02, 0x13, 0x03];
    body.extend_from_slice(imei.as_bytes());
    body.extend_from_slice(&[0x04, 0x32, 0x00]);
    for (i, f) in fixes.iter().enumerate() {
        body.extend_from_slice(&record_tags(f, i as u16, 12_600));
    }
    packet(MAIN, &body, archive)
}
