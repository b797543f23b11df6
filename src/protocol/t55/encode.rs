//! T55 encoders: the optional RMC answer, and the uplink sentences (id line, RMC, GGA)
//! built from a [`Fix`] for round trips and the simulator.

use crate::protocol::fix::{ddmm, east_west, north_south, validity};
use crate::protocol::{wire, Fix};
use bytes::Bytes;

/// Answer to an RMC sentence over TCP when the option `ack` is set.
pub const RMC_ACK: &[u8] = b"OK1\r\n";

/// `$<body>*hh\r\n` with the NMEA checksum (XOR of `body`).
fn sentence(body: &str) -> Bytes {
    Bytes::from(format!("${body}*{:02X}\r\n", wire::xor(body.as_bytes())))
}

/// Id line `$PGID,<id>*hh`.
pub fn pgid(id: &str) -> Bytes {
    sentence(&format!("PGID,{id}"))
}

/// `$GPRMC,hhmmss.sss,A,ddmm.mmmm,N,dddmm.mmmm,E,<knots>,<course>,ddmmyy,,,A*hh`.
pub fn rmc(fix: &Fix) -> Bytes {
    sentence(&format!(
        "GPRMC,{}.000,{},{:.3},{:.2},{},,,A",
        fix.time.format("%H%M%S"),
        fix.nmea_position(","),
        fix.speed_knots(),
        fix.course.rem_euclid(360.0),
        fix.time.format("%d%m%y"),
    ))
}

/// `$GPGGA,hhmmss.sss,ddmm.mmmm,N,dddmm.mmmm,E,<1|0>,<sats>,<hdop>,<alt>,M,0.0,M,,`.
pub fn gga(fix: &Fix) -> Bytes {
    sentence(&format!(
        "GPGGA,{}.000,{},{},{},{},{},{:02},{:.1},{:.1},M,0.0,M,,",
        fix.time.format("%H%M%S"),
        ddmm(fix.lat, 2),
        north_south(fix.lat),
        ddmm(fix.lon, 3),
        east_west(fix.lon),
        u8::from(validity(fix.valid) == 'A'),
        fix.satellites,
        fix.hdop,
        fix.altitude_m,
    ))
}
