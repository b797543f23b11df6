//! TK103 encoders: server replies and the device's uplink frames (handshake, login, position),
//! used by the simulator and by round-trip tests.

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// Reply to the `BP00` handshake: `(<id>AP01HSO)`.
pub fn handshake_reply(id: &str) -> Bytes {
    Bytes::from(format!("({id}AP01HSO)"))
}

/// Reply to the `BP05` login: `(<id>AP05)`.
pub fn login_reply(id: &str) -> Bytes {
    Bytes::from(format!("({id}AP05)"))
}

/// Handshake `(<id>BP00<id>HSO)`.
pub fn handshake(id: &str) -> Bytes {
    Bytes::from(format!("({id}BP00{id}HSO)"))
}

/// A fix as a TK103 device reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Fix time, UTC, whole seconds, years 2000–2099.
    pub time: DateTime<Utc>,
    /// Degrees, south negative.
    pub lat: f64,
    /// Degrees, west negative.
    pub lon: f64,
    /// km/h, 0–999.9 (one decimal on the wire).
    pub speed_kmh: f64,
    /// Degrees, 0–359.99.
    pub course: f64,
    /// GNSS fixed.
    pub valid: bool,
    /// Ignition on.
    pub ignition: bool,
    /// Odometer, metres (hex on the wire).
    pub odometer_m: u32,
}

fn ddmm(deg: f64, deg_digits: usize) -> String {
    let total = (deg.abs() * 60.0 * 10_000.0).round() as u64;
    let (d, m) = (total / 600_000, total % 600_000);
    format!("{d:0deg_digits$}{:02}.{:04}", m / 10_000, m % 10_000)
}

/// The fixed-form body after the command: `yymmddA ddmm.mmmmN dddmm.mmmmE sss.s hhmmss
/// ccc.cc 0 ign 000 000 L<odometer>` (no separators).
fn body(fix: &Fix) -> String {
    format!(
        "{}{}{}{}{}{}{:05.1}{}{:06.2}0{}000000L{:08X}",
        fix.time.format("%y%m%d"),
        if fix.valid { "A" } else { "V" },
        ddmm(fix.lat, 2),
        if fix.lat < 0.0 { "S" } else { "N" },
        ddmm(fix.lon, 3),
        if fix.lon < 0.0 { "W" } else { "E" },
        fix.speed_kmh.clamp(0.0, 999.9),
        fix.time.format("%H%M%S"),
        fix.course.clamp(0.0, 359.99),
        u8::from(fix.ignition),
        fix.odometer_m
    )
}

/// Position `(<id>BR00<body>)`; `id` should be 12 characters.
pub fn position(id: &str, fix: &Fix) -> Bytes {
    Bytes::from(format!("({id}BR00{})", body(fix)))
}

/// Login with a fix `(<id>BP05<imei><body>)`.
pub fn login(id: &str, imei: &str, fix: &Fix) -> Bytes {
    Bytes::from(format!("({id}BP05{imei}{})", body(fix)))
}
