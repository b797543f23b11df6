//! Meitrack encoders: the `CCC` acknowledgement, server frames in general, and the device's
//! `AAA` position report (simulator, round-trip tests).

use super::decode::checksum;
use bytes::Bytes;
use chrono::{DateTime, Utc};

/// Builds `<head><flag><len>,<imei>,<cmd>[,<data>]*XX\r\n`; `head` is `$$` for device frames
/// and `@@` for server frames. `<len>` counts from the comma after it through `\r\n`; the
/// checksum is the low byte of the sum from the head through `*`.
pub fn frame(head: &[u8; 2], flag: u8, imei: &str, cmd: &str, data: &[u8]) -> Vec<u8> {
    let mut tail = Vec::with_capacity(imei.len() + cmd.len() + data.len() + 8);
    tail.push(b',');
    tail.extend_from_slice(imei.as_bytes());
    tail.push(b',');
    tail.extend_from_slice(cmd.as_bytes());
    if !data.is_empty() {
        tail.push(b',');
        tail.extend_from_slice(data);
    }
    tail.push(b'*');
    let len = tail.len() + 4;
    let mut f = Vec::with_capacity(tail.len() + 12);
    f.extend_from_slice(head);
    f.push(flag);
    f.extend_from_slice(len.to_string().as_bytes());
    f.extend_from_slice(&tail);
    let sum = checksum(&f);
    f.extend_from_slice(format!("{sum:02X}\r\n").as_bytes());
    f
}

/// Answer to a `CCC` batch: `@@<flag><len>,<imei>,CCC,<n>*XX\r\n` tells the device that `n`
/// cached records are stored and may be deleted.
pub fn ccc_ack(flag: u8, imei: &str, n: usize) -> Bytes {
    Bytes::from(frame(b"@@", flag, imei, "CCC", n.to_string().as_bytes()))
}

/// One position as an `AAA` report carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Meitrack event code (35 = periodic report, 1 = SOS …).
    pub event: u8,
    /// Fix time, UTC.
    pub time: DateTime<Utc>,
    /// Decimal degrees, 6 decimals written.
    pub lat: f64,
    /// Longitude, degrees, west negative.
    pub lon: f64,
    /// The device reports the fix as valid.
    pub valid: bool,
    /// Satellites used.
    pub satellites: u8,
    /// km/h, whole.
    pub speed_kmh: u16,
    /// Course over ground, degrees.
    pub course: u16,
    /// Metres, whole.
    pub altitude_m: i32,
    /// Metres.
    pub odometer_m: u32,
    /// Volts, written as hex centivolts.
    pub battery_v: f64,
    /// External power, volts.
    pub power_v: f64,
}

/// The `AAA` position report `$$<flag><len>,<imei>,AAA,<event>,<lat>,<lon>,<time>,<A|V>,…`.
pub fn aaa(flag: u8, imei: &str, fix: &Fix) -> Vec<u8> {
    let cv = |v: f64| (v * 100.0).round().clamp(0.0, 65535.0) as u32;
    let data = format!(
        "{},{:.6},{:.6},{},{},{},12,{},{},1.0,{},{},0,460|0|0081|4F4F,0000,0000|0000|0000|{:04X}|{:04X},,",
        fix.event,
        fix.lat,
        fix.lon,
        fix.time.format("%y%m%d%H%M%S"),
        if fix.valid { 'A' } else { 'V' },
        fix.satellites,
        fix.speed_kmh,
        fix.course,
        fix.altitude_m,
        fix.odometer_m,
        cv(fix.battery_v),
        cv(fix.power_v),
    );
    frame(b"$$", flag, imei, "AAA", data.as_bytes())
}
