//! Meitrack encoders: the `CCC` acknowledgement, server frames in general, and the device's
//! `AAA` position report (simulator, round-trip tests).

use super::super::fix::{validity, Fix};
use super::decode::checksum;
use bytes::Bytes;

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

/// What an `AAA` report carries beside the fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Meitrack event code (35 = periodic report, 1 = SOS …).
    pub event: u8,
    /// Battery, volts (written as hex centivolts).
    pub battery_v: f64,
    /// External power, volts (written as hex centivolts).
    pub power_v: f64,
}

/// The `AAA` position report `$$<flag><len>,<imei>,AAA,<event>,<lat>,<lon>,<time>,<A|V>,…`:
/// degrees with 6 decimals, whole km/h, course and metres.
pub fn aaa(flag: u8, imei: &str, fix: &Fix, report: &Report) -> Vec<u8> {
    let cv = |v: f64| (v * 100.0).round().clamp(0.0, 65535.0) as u32;
    let data = format!(
        "{},{:.6},{:.6},{},{},{},12,{},{},1.0,{},{},0,460|0|0081|4F4F,0000,0000|0000|0000|{:04X}|{:04X},,",
        report.event,
        fix.lat,
        fix.lon,
        fix.time.format("%y%m%d%H%M%S"),
        validity(fix.valid),
        fix.satellites,
        fix.speed_kmh_whole(u16::MAX),
        fix.course_whole(),
        fix.altitude_m.round() as i32,
        fix.odometer_u32(),
        cv(report.battery_v),
        cv(report.power_v),
    );
    frame(b"$$", flag, imei, "AAA", data.as_bytes())
}
