//! GT06 encoders: the server's answers (ACKs, time reply, address reply) and the device's
//! uplink frames (login, locations, alarms, heartbeats, time request, command reply), used by
//! the simulator and by round-trip tests.
//!
//! Every frame is `78 78 LEN PROTO CONTENT SERIAL CRC 0D 0A` (or `79 79` with a 2-byte LEN);
//! the CRC is CRC-16/X-25 over LEN..SERIAL.

use super::super::wire::digits_to_bcd;
use super::super::Fix;
use super::crc16 as crc16_x25;
use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Builds a standard `78 78` frame. `content` must be at most 250 bytes (LEN is one byte);
/// longer content is truncated to keep LEN honest, so callers with more data use
/// [`frame_ext`].
pub fn frame_std(proto: u8, content: &[u8], serial: u16) -> Vec<u8> {
    let content = &content[..content.len().min(250)];
    let mut f = Vec::with_capacity(content.len() + 10);
    f.extend_from_slice(&[0x78, 0x78, (content.len() + 5) as u8, proto]);
    finish(f, content, serial)
}

/// Builds an extended `79 79` frame (2-byte LEN), used for long content (0x94, 0x21, 0x70 …).
/// `content` is truncated at 65,530 bytes so that LEN fits.
pub fn frame_ext(proto: u8, content: &[u8], serial: u16) -> Vec<u8> {
    let content = &content[..content.len().min(65_530)];
    let mut f = Vec::with_capacity(content.len() + 11);
    f.extend_from_slice(&[0x79, 0x79]);
    f.extend_from_slice(&((content.len() + 5) as u16).to_be_bytes());
    f.push(proto);
    finish(f, content, serial)
}

fn finish(mut f: Vec<u8>, content: &[u8], serial: u16) -> Vec<u8> {
    f.extend_from_slice(content);
    f.extend_from_slice(&serial.to_be_bytes());
    let crc = crc16_x25(&f[2..]);
    f.extend_from_slice(&crc.to_be_bytes());
    f.extend_from_slice(b"\r\n");
    f
}

/// The standard ACK `78 78 05 PROTO SERIAL CRC 0D 0A`: echoes the frame's protocol number
/// and serial, which is how the device matches it to what it sent.
pub fn ack(proto: u8, serial: u16) -> Bytes {
    let mut f = [0x78, 0x78, 0x05, proto, 0, 0, 0, 0, b'\r', b'\n'];
    f[4..6].copy_from_slice(&serial.to_be_bytes());
    let crc = crc16_x25(&f[2..6]);
    f[6..8].copy_from_slice(&crc.to_be_bytes());
    Bytes::copy_from_slice(&f)
}

/// The extended-form ACK `79 79 00 05 PROTO SERIAL CRC 0D 0A` that AZ735-style devices
/// expect for their extended frames (0x32 / 0x33).
pub fn ack_ext(proto: u8, serial: u16) -> Bytes {
    Bytes::from(frame_ext(proto, &[], serial))
}

/// Answer to a 0x8A time request: `78 78 0B 8A YY MM DD hh mm ss 00 00 CRC 0D 0A` in UTC.
/// The serial is written as 0, as Traccar does (GK310 devices accept it).
pub fn time_reply(now: DateTime<Utc>) -> Bytes {
    let year = u8::try_from(now.year() - 2000).unwrap_or(0);
    let content = [
        year,
        now.month() as u8,
        now.day() as u8,
        now.hour() as u8,
        now.minute() as u8,
        now.second() as u8,
    ];
    Bytes::from(frame_std(0x8A, &content, 0))
}

/// Answer to a 0x2A address request: an extended 0x97 frame saying "no address"
/// (`NA&&NA&&0##`), so the device stops waiting; trackgate does no reverse geocoding.
pub fn address_reply() -> Bytes {
    const TEXT: &[u8] = b"NA&&NA&&0##";
    let mut content = Vec::with_capacity(5 + TEXT.len());
    content.push(TEXT.len() as u8);
    content.extend_from_slice(&[0, 0, 0, 0]);
    content.extend_from_slice(TEXT);
    Bytes::from(frame_ext(0x97, &content, 0))
}

/// Answer to a Wi-Fi/LBS frame (0x17 / 0x69): `78 78 00 PROTO <the frame's 6 BCD time bytes>
/// 0D 0A`, without serial or CRC. This odd shape is what those devices wait for.
pub fn wifi_reply(proto: u8, time: [u8; 6]) -> Bytes {
    let mut f = Vec::with_capacity(12);
    f.extend_from_slice(&[0x78, 0x78, 0x00, proto]);
    f.extend_from_slice(&time);
    f.extend_from_slice(b"\r\n");
    Bytes::from(f)
}

/// Serving cell of the LBS block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    /// Mobile country code (15 bits; bit 15 would announce a 2-byte MNC).
    pub mcc: u16,
    /// Mobile network code.
    pub mnc: u8,
    /// Location area code.
    pub lac: u16,
    /// 24-bit cell id.
    pub cid: u32,
}

/// Status block of alarm frames (0x16 / 0x26) and heartbeats (0x13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Terminal information bits (bit 1 ACC, bit 2 charging, bits 3–5 alarm, bit 7 cut-off).
    pub info: u8,
    /// Voltage level 0–6.
    pub level: u8,
    /// GSM signal 0–4.
    pub gsm: u8,
    /// Alarm code (0x01 SOS, 0x02 power cut …).
    pub alarm: u8,
    /// Language byte.
    pub language: u8,
}

/// Coordinate in the GT06 unit (1/1,800,000 degree), magnitude only.
pub fn coord_units(deg: f64) -> u32 {
    (deg.abs() * 1_800_000.0).round().min(u32::MAX as f64) as u32
}

/// The 18-byte GPS block: time, satellites (4 bits), coordinates, whole km/h (one byte),
/// course (10 bits) with the hemisphere and validity flags.
fn push_gps(out: &mut Vec<u8>, fix: &Fix) {
    out.extend_from_slice(&[
        u8::try_from(fix.time.year() - 2000).unwrap_or(0),
        fix.time.month() as u8,
        fix.time.day() as u8,
        fix.time.hour() as u8,
        fix.time.minute() as u8,
        fix.time.second() as u8,
        0xC0 | fix.satellites.min(15),
    ]);
    out.extend_from_slice(&coord_units(fix.lat).to_be_bytes());
    out.extend_from_slice(&coord_units(fix.lon).to_be_bytes());
    out.push(fix.speed_kmh_whole(255) as u8);
    let mut flags = fix.course_whole();
    if fix.lat >= 0.0 {
        flags |= 1 << 10;
    }
    if fix.lon < 0.0 {
        flags |= 1 << 11;
    }
    if fix.valid {
        flags |= 1 << 12;
    }
    out.extend_from_slice(&flags.to_be_bytes());
}

fn push_cell(out: &mut Vec<u8>, cell: &Cell) {
    out.extend_from_slice(&cell.mcc.to_be_bytes());
    out.push(cell.mnc);
    out.extend_from_slice(&cell.lac.to_be_bytes());
    out.extend_from_slice(&cell.cid.to_be_bytes()[1..]);
}

/// Login 0x01: terminal id = "0" + 15-digit IMEI as 8 BCD bytes. `None` unless `imei` is 15
/// decimal digits.
pub fn login(imei: &str, serial: u16) -> Option<Vec<u8>> {
    if imei.len() != 15 {
        return None;
    }
    let bcd = digits_to_bcd(&format!("0{imei}"))?;
    Some(frame_std(0x01, &bcd, serial))
}

/// Classic GT06 location 0x12: GPS block + LBS block.
pub fn location_12(fix: &Fix, cell: &Cell, serial: u16) -> Vec<u8> {
    let mut c = Vec::with_capacity(26);
    push_gps(&mut c, fix);
    push_cell(&mut c, cell);
    frame_std(0x12, &c, serial)
}

/// GT06N/CRX location 0x22: 0x12 layout + ACC (the fix's ignition), upload mode, re-upload
/// flag, and with `mileage` the fix's odometer (4 bytes, metres), which not every firmware
/// sends.
pub fn location_22(
    fix: &Fix,
    cell: &Cell,
    upload_mode: u8,
    reupload: bool,
    mileage: bool,
    serial: u16,
) -> Vec<u8> {
    let mut c = Vec::with_capacity(33);
    push_gps(&mut c, fix);
    push_cell(&mut c, cell);
    c.extend_from_slice(&[u8::from(fix.ignition), upload_mode, u8::from(reupload)]);
    if mileage {
        c.extend_from_slice(&fix.odometer_u32().to_be_bytes());
    }
    frame_std(0x22, &c, serial)
}

/// GPS + LBS + status alarm (0x16, or 0x26 on GT06N): the LBS block carries its own length
/// byte (9) here.
pub fn alarm_16(proto: u8, fix: &Fix, cell: &Cell, status: &Status, serial: u16) -> Vec<u8> {
    let mut c = Vec::with_capacity(32);
    push_gps(&mut c, fix);
    c.push(9);
    push_cell(&mut c, cell);
    c.extend_from_slice(&[
        status.info,
        status.level,
        status.gsm,
        status.alarm,
        status.language,
    ]);
    frame_std(proto, &c, serial)
}

/// Status / heartbeat 0x13: info, voltage level, GSM signal, alarm, language.
pub fn heartbeat_13(status: &Status, serial: u16) -> Vec<u8> {
    frame_std(
        0x13,
        &[
            status.info,
            status.level,
            status.gsm,
            status.alarm,
            status.language,
        ],
        serial,
    )
}

/// GK310 heartbeat 0x23: status byte, battery (centivolts), RSSI, language (2 bytes).
pub fn heartbeat_23(status: u8, battery_cv: u16, rssi: u8, serial: u16) -> Vec<u8> {
    let b = battery_cv.to_be_bytes();
    frame_std(0x23, &[status, b[0], b[1], rssi, 0x00, 0x02], serial)
}

/// Time request 0x8A (empty content).
pub fn time_request(serial: u16) -> Vec<u8> {
    frame_std(0x8A, &[], serial)
}

/// Command reply 0x15: length, 4-byte server flag, ASCII text, language (2 bytes).
/// The text is cut at 240 bytes so the frame stays a standard one.
pub fn string_15(server_flag: u32, text: &str, serial: u16) -> Vec<u8> {
    let text = &text.as_bytes()[..text.len().min(240)];
    let mut c = Vec::with_capacity(text.len() + 7);
    c.push((text.len() + 4) as u8);
    c.extend_from_slice(&server_flag.to_be_bytes());
    c.extend_from_slice(text);
    c.extend_from_slice(&[0x00, 0x02]);
    frame_std(0x15, &c, serial)
}
