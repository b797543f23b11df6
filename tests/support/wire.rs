//! Device frames built by hand for end-to-end tests, with checksums computed here
//! independently of the code under test (the `crc` crate's catalogue, not our encoders).

use chrono::{DateTime, Datelike, Timelike, Utc};

/// GT06 login of IMEI 864717003283581, serial 0x0009 (protocol-notes).
pub const GT06_LOGIN: &str = "78780d01086471700328358100093f040d0a";
/// The spec-derived ACK of [`GT06_LOGIN`].
pub const GT06_LOGIN_ACK: &str = "78780501000955940d0a";
/// The IMEI [`GT06_LOGIN`] logs in.
pub const GT06_IMEI: &str = "864717003283581";

/// CRC-16/X-25.
pub fn x25(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC).checksum(data)
}

/// CRC-16/ARC.
pub fn arc(data: &[u8]) -> u16 {
    crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(data)
}

/// A GT06 `78 78` frame with a correct CRC.
pub fn gt06_frame(proto: u8, content: &[u8], serial: u16) -> Vec<u8> {
    let len = (1 + content.len() + 2 + 2) as u8;
    let mut body = vec![len, proto];
    body.extend_from_slice(content);
    body.extend_from_slice(&serial.to_be_bytes());
    let crc = x25(&body);
    let mut f = vec![0x78, 0x78];
    f.extend_from_slice(&body);
    f.extend_from_slice(&crc.to_be_bytes());
    f.extend_from_slice(&[0x0d, 0x0a]);
    f
}

/// The standard GT06 ACK for `proto` with `serial`.
pub fn gt06_ack(proto: u8, serial: u16) -> Vec<u8> {
    gt06_frame(proto, &[], serial)
}

/// A GT06 fix for [`gt06_location`]: northern latitude, eastern longitude, GPS positioned.
#[derive(Clone, Copy, Debug)]
pub struct Gt06Fix {
    /// Fix time (whole seconds on the wire).
    pub time: DateTime<Utc>,
    /// Satellites in use (low nibble of the GPS info byte).
    pub satellites: u8,
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// km/h.
    pub speed: u8,
    /// Degrees.
    pub course: u16,
}

/// A GT06 0x12 location frame: date, GPS info (12 bytes, satellites), lat/lon in 1/30000
/// minute, speed, course with the "positioned" and "north" flags, and a fixed cell.
pub fn gt06_location(fix: &Gt06Fix, serial: u16) -> Vec<u8> {
    let t = fix.time;
    let mut c = vec![
        (t.year() - 2000) as u8,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        0xC0 | fix.satellites,
    ];
    let units = |deg: f64| (deg * 60.0 * 30000.0).round() as u32;
    c.extend_from_slice(&units(fix.lat).to_be_bytes());
    c.extend_from_slice(&units(fix.lon).to_be_bytes());
    c.push(fix.speed);
    let course_status: u16 = fix.course | (1 << 12) | (1 << 10);
    c.extend_from_slice(&course_status.to_be_bytes());
    c.extend_from_slice(&[0x01, 0xCC, 0x00, 0x28, 0x7D, 0x00, 0x1F, 0xB8]);
    gt06_frame(0x12, &c, serial)
}
