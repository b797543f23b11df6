//! Coban encoders: server replies and the device's uplink sentences (log-on, heartbeat,
//! position), used by the simulator and by round-trip tests.

use bytes::Bytes;
use chrono::{DateTime, Duration, Timelike, Utc};

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

/// A fix as a Coban device reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Fix time, UTC, whole seconds.
    pub time: DateTime<Utc>,
    /// The device's UTC offset in minutes (its local clock = time + offset), ±12 h.
    pub utc_offset_min: i32,
    /// Degrees, south negative.
    pub lat: f64,
    /// Degrees, west negative.
    pub lon: f64,
    /// Knots (the wire unit).
    pub speed_knots: f64,
    /// Degrees.
    pub course: f64,
    /// GNSS fixed.
    pub valid: bool,
}

fn ddmm(deg: f64, deg_digits: usize) -> String {
    let total = (deg.abs() * 60.0 * 10_000.0).round() as u64;
    let (d, m) = (total / 600_000, total % 600_000);
    format!("{d:0deg_digits$}{:02}.{:04}", m / 10_000, m % 10_000)
}

/// Position sentence `imei:<imei>,<keyword>,<yyMMddHHmm local>,,F,<hhmmss.000>,A|V,…;`.
pub fn position(imei: &str, keyword: &str, fix: &Fix) -> Bytes {
    let local = fix.time + Duration::minutes(fix.utc_offset_min.into());
    let t = fix.time;
    Bytes::from(format!(
        "imei:{imei},{keyword},{},,F,{:02}{:02}{:02}.000,{},{},{},{},{},{:.2},{:.2};",
        local.format("%y%m%d%H%M"),
        t.hour(),
        t.minute(),
        t.second(),
        if fix.valid { "A" } else { "V" },
        ddmm(fix.lat, 2),
        if fix.lat < 0.0 { "S" } else { "N" },
        ddmm(fix.lon, 3),
        if fix.lon < 0.0 { "W" } else { "E" },
        fix.speed_knots,
        fix.course
    ))
}
