//! Coban encoders: server replies and the device's uplink sentences (log-on, heartbeat,
//! position), used by the simulator and by round-trip tests.

use super::super::Fix;
use bytes::Bytes;
use chrono::{Duration, Timelike};

/// Reply to the log-on sentence; without it the device never starts reporting.
pub const LOAD: &[u8] = b"LOAD";
/// Reply to the bare-IMEI heartbeat.
pub const ON: &[u8] = b"ON";

/// Reply to `help me`: `**,imei:<imei>,E;` stops the device repeating the SOS.
pub fn sos_clear(imei: &str) -> Bytes {
    Bytes::from(format!("**,imei:{imei},E;"))
}

/// Log-on `##,imei:<imei>,A;`.
pub fn login(imei: &str) -> Bytes {
    Bytes::from(format!("##,imei:{imei},A;"))
}

/// Heartbeat `<imei>;`.
pub fn heartbeat(imei: &str) -> Bytes {
    Bytes::from(format!("{imei};"))
}

/// Position sentence `imei:<imei>,<keyword>,<yyMMddHHmm local>,,F,<hhmmss.000>,A|V,…;`.
/// `utc_offset_min` is the device's UTC offset in minutes (its local clock = fix time +
/// offset, ±12 h): the sentence carries the local date and minutes next to the UTC time.
pub fn position(imei: &str, keyword: &str, fix: &Fix, utc_offset_min: i32) -> Bytes {
    let local = fix.time + Duration::minutes(utc_offset_min.into());
    let t = fix.time;
    Bytes::from(format!(
        "imei:{imei},{keyword},{},,F,{:02}{:02}{:02}.000,{},{:.2},{:.2};",
        local.format("%y%m%d%H%M"),
        t.hour(),
        t.minute(),
        t.second(),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0)
    ))
}
