//! Megastek encoders: the device's reports built from a [`Fix`] for round trips and
//! end-to-end tests (the server sends Megastek devices nothing).

use crate::protocol::fix::{ddmm, east_west, north_south, validity};
use crate::protocol::Fix;

/// A length-prefixed `$MGV002` report (`R` live, `S` stored): knots, km, battery percent,
/// the alert text (`Timer`, `SOS`, `PW ON`, …).
pub fn mgv(imei: &str, fix: &Fix, stored: bool, battery: u8, alert: &str) -> String {
    let body = format!(
        "$MGV002,{imei},,{},{},{},{},{},{},{},{},00,{:02},00,1.20,{:.3},{:.2},{:.1},{:.3},262,01,05D8,1924F03,18,0000,0000,0,0,0,,,,10,{battery:03},{alert};!",
        if stored { 'S' } else { 'R' },
        fix.time.format("%d%m%y"),
        fix.time.format("%H%M%S"),
        validity(fix.valid),
        ddmm(fix.lat, 2),
        north_south(fix.lat),
        ddmm(fix.lon, 3),
        east_west(fix.lon),
        fix.satellites.min(99),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.altitude_m,
        fix.odometer_m / 1000.0,
    );
    format!("{:04}{body}", body.len())
}

/// An `STX,` report with its sum checksum and CR LF: `alarm` as the device spells it
/// (`Nil-Alarms`, `Help`, …), battery percent.
pub fn stx(imei: &str, fix: &Fix, alarm: &str, battery: u8) -> String {
    let rmc = format!(
        "GPRMC,{}.000,{},{:.2},{:.2},{},,,A",
        fix.time.format("%H%M%S"),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.time.format("%d%m%y"),
    );
    let xor = rmc.bytes().fold(0u8, |a, b| a ^ b);
    let body = format!(
        "STX,{imei},${rmc}*{xor:02X},F,{alarm},imei:{imei},{},{:.1},Battery={battery}%,,1,262,03,0084,B20E;",
        fix.satellites,
        fix.altitude_m,
    );
    let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("{body}{sum:02X}\r\n")
}
