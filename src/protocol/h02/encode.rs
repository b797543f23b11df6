//! H02 encoders: the server's replies and the device's uplink frames (text `V1`, heartbeat,
//! 32-byte binary position), used by the simulator and by round-trip tests.

use super::super::fix::{ddmm, Fix};
use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Reply to `V1` and `NBR` frames: `*HQ,<id>,V4,<type>,<yyyyMMddHHmmss UTC>#` (the server's
/// time, which is how the device learns it has been heard).
pub fn v4_reply(id: &str, typ: &str, now: DateTime<Utc>) -> Bytes {
    Bytes::from(format!("*HQ,{id},V4,{typ},{}#", now.format("%Y%m%d%H%M%S")))
}

/// Optional per-position acknowledgement (`ack = true`): `*HQ,<id>,R12,<hhmmss UTC>#`.
pub fn r12_reply(id: &str, now: DateTime<Utc>) -> Bytes {
    Bytes::from(format!("*HQ,{id},R12,{}#", now.format("%H%M%S")))
}

/// Text position `*HQ,<id>,V1,hhmmss,A,ddmm.mmmm,N,dddmm.mmmm,E,speed,course,ddmmyy,status#`
/// (speed in knots, whole degrees). `status` is the status word, active-low alarm bits
/// (`0xFFFFFBFF` = no alarm, ignition off).
pub fn v1(id: &str, fix: &Fix, status: u32) -> Bytes {
    let t = fix.time;
    Bytes::from(format!(
        "*HQ,{id},V1,{:02}{:02}{:02},{},{:.2},{},{:02}{:02}{:02},{:08X}#",
        t.hour(),
        t.minute(),
        t.second(),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course_whole(),
        t.day(),
        t.month(),
        t.year() % 100,
        status
    ))
}

/// Heartbeat `*HQ,<id>,HTBT,<battery %>#`; the server echoes `*HQ,<id>,HTBT#`.
pub fn heartbeat(id: &str, battery: u8) -> Bytes {
    Bytes::from(format!("*HQ,{id},HTBT,{battery}#"))
}

fn bcd(v: u32) -> u8 {
    (((v / 10) % 10) << 4 | (v % 10)) as u8
}

/// 32-byte binary position with a 10-digit id (`id` must be 10 decimal digits; other input
/// is padded/truncated to 10 digits) and the status word as in [`v1`]. The tail is
/// `FF 00 00`, as short-frame devices send.
pub fn binary(id: &str, fix: &Fix, status: u32) -> Bytes {
    let mut digits: Vec<u8> = id
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    digits.resize(10, 0);
    let mut f = Vec::with_capacity(32);
    f.push(b'$');
    f.extend(digits.chunks(2).map(|p| p[0] << 4 | p[1]));
    let t = fix.time;
    for v in [
        t.hour(),
        t.minute(),
        t.second(),
        t.day(),
        t.month(),
        t.year() as u32 % 100,
    ] {
        f.push(bcd(v));
    }
    let lat = ddmm(fix.lat, 2).replace('.', "");
    let lon = ddmm(fix.lon, 3).replace('.', "");
    let nib = |s: &str| -> Vec<u8> { s.bytes().map(|b| b - b'0').collect() };
    let lat_n = nib(&lat);
    let mut lon_n = nib(&lon);
    f.extend(lat_n.chunks(2).map(|p| p[0] << 4 | p[1]));
    f.push(100); // battery: 100 %
    let flags =
        u8::from(fix.valid) << 1 | u8::from(fix.lat >= 0.0) << 2 | u8::from(fix.lon >= 0.0) << 3;
    lon_n.push(flags);
    f.extend(lon_n.chunks(2).map(|p| p[0] << 4 | p[1]));
    let speed = (fix.speed_knots().round() as u32).min(999);
    let course = u32::from(fix.course_whole());
    let sc = [
        speed / 100,
        speed / 10 % 10,
        speed % 10,
        course / 100,
        course / 10 % 10,
        course % 10,
    ];
    f.extend(sc.chunks(2).map(|p| (p[0] << 4 | p[1]) as u8));
    f.extend_from_slice(&status.to_be_bytes());
    f.extend_from_slice(&[0xFF, 0x00, 0x00]);
    Bytes::from(f)
}
