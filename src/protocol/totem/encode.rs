//! Totem encoders: the server's answers (`ACK OK` for the old generation, `$$0014AA…` for the
//! new one) and the device's frames built from a [`Fix`] for round trips and end-to-end tests.

use crate::protocol::fix::{ddmm, east_west, north_south};
use crate::protocol::{wire, Fix};

/// The answer to every old-generation (two-hex-digit length) frame.
pub const ACK_OK: &str = "ACK OK\r\n";

/// CRC-16/MODBUS, the old generation's checksum (four hex digits over everything before it).
pub const MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

/// Appends the new generation's checksum: the XOR of every byte so far, two upper-case hex
/// digits.
pub fn with_xor(body: &str) -> String {
    format!("{body}{:02X}", wire::xor(body.as_bytes()))
}

/// The answer to a new-generation frame: `$$0014AA<serial>` and its XOR, where `serial` is
/// the four characters before the frame's checksum.
pub fn ack(serial: &str) -> String {
    with_xor(&format!("$$0014AA{serial}"))
}

/// A new-generation status report (`type` `AA` = periodic, or an alarm code) without the
/// optional ADC/temperature/operator fields: status word with the GPS-fixed bit (bit 14
/// counted from 0 at the least significant end) set from `fix.valid`, battery 4.0 V,
/// external power 12 V, speed in whole km/h, course in whole degrees, odometer in whole km.
pub fn status_report(imei: &str, kind: u8, fix: &Fix, status: u32, serial: u16) -> String {
    let status = if fix.valid {
        status | 1 << 14
    } else {
        status & !(1 << 14)
    };
    let body = format!(
        "{kind:02X}{imei}|{status:08X}{}4012000027BA0E57{:02}20{:03}{:03}01.2{:07}{}{}{}{}{serial:04}",
        fix.time.format("%y%m%d%H%M%S"),
        fix.satellites.min(99),
        fix.course_whole() % 1000,
        fix.speed_kmh_whole(999),
        (fix.odometer_m / 1000.0).round().clamp(0.0, 9_999_999.0) as u32,
        ddmm(fix.lat, 2),
        north_south(fix.lat),
        ddmm(fix.lon, 3),
        east_west(fix.lon),
    );
    with_xor(&format!("$${:04}{body}", body.len() + 8))
}

/// An old-generation `$GPRMC` report (alarm field `AA`): speed in knots, odometer in km.
pub fn rmc_report(imei: &str, fix: &Fix, serial: u16) -> String {
    let rmc = format!(
        "GPRMC,{}.000,{},{:.2},{:.2},{},,,A",
        fix.time.format("%H%M%S"),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.time.format("%d%m%y"),
    );
    let body = format!(
        "{imei}|AA${rmc}*{:02X}|01.7|00.8|01.4|000000000000|{}|14291265|00000000|ECBF8B31|0000|{:.4}|{serial:04}|",
        wire::xor(rmc.as_bytes()),
        fix.time.format("%Y%m%d%H%M%S"),
        fix.odometer_m / 1000.0,
    );
    let head = format!("$${:02X}{body}", body.len() + 8);
    format!("{head}{:04X}", MODBUS.checksum(head.as_bytes()))
}
