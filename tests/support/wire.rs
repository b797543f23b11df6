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

/// A JT/T 808-2013 frame as a terminal sends it: header {msg id, body attributes (length),
/// phone BCD[6] from 12 digits, serial}, body, XOR of both, escaped (`7E` → `7D 02`,
/// `7D` → `7D 01`) between two `7E` flags. Also builds the platform's replies the tests
/// expect (same layout).
pub fn jt808_frame(msg: u16, phone: &str, serial: u16, body: &[u8]) -> Vec<u8> {
    assert!(
        phone.len() == 12 && phone.bytes().all(|b| b.is_ascii_digit()),
        "{phone}"
    );
    let mut raw = msg.to_be_bytes().to_vec();
    raw.extend_from_slice(&(body.len() as u16).to_be_bytes());
    raw.extend(
        phone
            .as_bytes()
            .chunks(2)
            .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0')),
    );
    raw.extend_from_slice(&serial.to_be_bytes());
    raw.extend_from_slice(body);
    raw.push(raw.iter().fold(0u8, |a, b| a ^ b));
    let mut f = vec![0x7e];
    for b in raw {
        match b {
            0x7e => f.extend_from_slice(&[0x7d, 0x02]),
            0x7d => f.extend_from_slice(&[0x7d, 0x01]),
            b => f.push(b),
        }
    }
    f.push(0x7e);
    f
}

/// The platform's 0x8001 general response {reply serial, reply id, result} with platform
/// serial `platform`.
pub fn jt808_general(
    phone: &str,
    platform: u16,
    reply_serial: u16,
    reply_id: u16,
    result: u8,
) -> Vec<u8> {
    let mut body = reply_serial.to_be_bytes().to_vec();
    body.extend_from_slice(&reply_id.to_be_bytes());
    body.push(result);
    jt808_frame(0x8001, phone, platform, &body)
}

/// A 0x0100 registration body: province, city, maker, model (20), terminal id (7), plate
/// colour, plate.
pub fn jt808_register_body() -> Vec<u8> {
    let mut b = vec![0x00, 0x2c, 0x01, 0x2f];
    b.extend_from_slice(b"MAKER");
    b.extend_from_slice(&[b'M'; 20]);
    b.extend_from_slice(b"T000001");
    b.push(1);
    b.extend_from_slice(b"B88888");
    b
}

/// A 0x0200 location body: no alarm, ACC on and positioned, `lat`/`lon` north/east,
/// altitude 35 m, speed 60.5 km/h, course 180, time `t` written in GMT+8 as the standard
/// wants.
pub fn jt808_location_body(t: DateTime<Utc>, lat: f64, lon: f64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&0b11u32.to_be_bytes());
    b.extend_from_slice(&((lat * 1e6).round() as u32).to_be_bytes());
    b.extend_from_slice(&((lon * 1e6).round() as u32).to_be_bytes());
    b.extend_from_slice(&35u16.to_be_bytes());
    b.extend_from_slice(&605u16.to_be_bytes());
    b.extend_from_slice(&180u16.to_be_bytes());
    let local = t + chrono::Duration::hours(8);
    let bcd = |v: u32| ((v / 10) << 4 | (v % 10)) as u8;
    b.extend_from_slice(&[
        bcd((local.year() % 100) as u32),
        bcd(local.month()),
        bcd(local.day()),
        bcd(local.hour()),
        bcd(local.minute()),
        bcd(local.second()),
    ]);
    b
}
