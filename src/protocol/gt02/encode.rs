//! GT02 encoders: the heartbeat answer, and the device's frames built from a [`Fix`] for
//! round trips and end-to-end tests.

use crate::protocol::{wire, Fix};

/// The answer to a heartbeat (type `1A`).
pub const HEARTBEAT_ACK: [u8; 5] = [0x54, 0x68, 0x1A, 0x0D, 0x0A];

/// `68 68 <size> <power> <gsm> <imei> <index> <type> <body> 0D 0A`.
pub fn frame(imei: &str, power: u8, gsm: u8, index: u16, kind: u8, body: &[u8]) -> Vec<u8> {
    let imei = wire::digits_to_bcd(&format!("{imei:0>16}")).unwrap_or_else(|| vec![0; 8]);
    let size = 2 + imei.len() + 2 + 1 + body.len();
    let mut f = vec![0x68, 0x68, size as u8, power, gsm];
    f.extend_from_slice(&imei);
    f.extend_from_slice(&index.to_be_bytes());
    f.push(kind);
    f.extend_from_slice(body);
    f.extend_from_slice(b"\r\n");
    f
}

/// A data frame (type `10`): speed in whole km/h, course in whole degrees.
pub fn data(imei: &str, fix: &Fix, index: u16) -> Vec<u8> {
    use chrono::{Datelike, Timelike};
    let t = fix.time;
    let mut body = vec![
        (t.year() % 100) as u8,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    ];
    let units = |deg: f64| (deg.abs() * 60.0 * 30000.0).round() as u32;
    body.extend_from_slice(&units(fix.lat).to_be_bytes());
    body.extend_from_slice(&units(fix.lon).to_be_bytes());
    body.push(fix.speed_kmh_whole(255) as u8);
    body.extend_from_slice(&fix.course_whole().to_be_bytes());
    body.extend_from_slice(&[0, 0, 0]);
    let flags =
        u32::from(fix.valid) | u32::from(fix.lat >= 0.0) << 1 | u32::from(fix.lon >= 0.0) << 2;
    body.extend_from_slice(&flags.to_be_bytes());
    frame(imei, 0, 0, index, 0x10, &body)
}
