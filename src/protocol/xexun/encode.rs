//! Xexun encoder: the full-form report built from a [`Fix`], for round trips.

use crate::protocol::{wire, Fix};

/// `<serial>,<phone>,GPRMC,…*hh,F,<status>, imei:<imei>,<sats>,<alt>,F:<volts>V,…\n`.
pub fn full(imei: &str, fix: &Fix, status: &str, power_v: f64) -> String {
    let rmc = format!(
        "GPRMC,{}.000,{},{:.3},{:.2},{},,,A",
        fix.time.format("%H%M%S"),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.time.format("%d%m%y"),
    );
    format!(
        "{},+10000000,{rmc}*{:02X},F,{status}, imei:{imei},{:02},{:.1},F:{power_v:.2}V,0,139,2689,232,03,2725,0576\n",
        fix.time.format("%y%m%d%H%M%S"),
        wire::xor(rmc.as_bytes()),
        fix.satellites,
        fix.altitude_m,
    )
}
