//! Laipac encoders: the server's answers (`$EAVACK`, `$AVCFG`, the `$ECHK` echo) and the
//! device's `$AVRMC` built from a [`Fix`] for round trips.

use crate::protocol::fix::{ddmm, east_west, north_south};
use crate::protocol::{wire, Fix};

/// The factory device password, used in `$AVCFG` answers unless the option sets another.
pub const DEFAULT_PASSWORD: &str = "00000000";

/// `$<body>*hh\r\n` with the NMEA checksum (XOR of `body`).
pub fn sentence(body: &str) -> String {
    format!("${body}*{:02X}\r\n", wire::xor(body.as_bytes()))
}

/// Acknowledgement of a sentence whose status letter is lower case: the event code and the
/// sentence's own checksum (as received) echoed back.
pub fn eavack(event: &str, checksum: &str) -> String {
    sentence(&format!("EAVACK,{event},{checksum}"))
}

/// The alarm answer for an event code, if it has one: `$AVCFG,<password>,<code>` with
/// `d` SOS (event 3), `t` tamper (S, T), `x` geofence (X, 4), `y` tow (Y), `z` low battery (Z).
pub fn avcfg(event: &str, password: &str) -> Option<String> {
    let code = match event {
        "3" => "d",
        "S" | "T" => "t",
        "X" | "4" => "x",
        "Y" => "y",
        "Z" => "z",
        _ => return None,
    };
    Some(sentence(&format!("AVCFG,{password},{code}")))
}

/// `$AVRMC,<id>,…*hh\r\n`: `status` is the status letter (`A`, `a`, `R`, `V`, …), `event` the
/// event code, battery in volts, mileage in km.
pub fn avrmc(id: &str, fix: &Fix, status: char, event: char, battery_v: f64) -> String {
    sentence(&format!(
        "AVRMC,{id},{},{status},{},{},{},{},{:.2},{:.2},{},{event},{:.3},{},1,0,0",
        fix.time.format("%H%M%S"),
        ddmm(fix.lat, 2),
        north_south(fix.lat),
        ddmm(fix.lon, 3),
        east_west(fix.lon),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.time.format("%d%m%y"),
        battery_v,
        (fix.odometer_m / 1000.0).round().max(0.0),
    ))
}
