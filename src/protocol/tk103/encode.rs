//! TK103 encoders: server replies and the device's uplink frames (handshake, login, position),
//! used by the simulator and by round-trip tests.

use super::super::Fix;
use bytes::Bytes;

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

/// The fixed-form body after the command: `yymmddA ddmm.mmmmN dddmm.mmmmE sss.s hhmmss
/// ccc.cc 0 ign 000 000 L<odometer>` (no separators).
fn body(fix: &Fix) -> String {
    format!(
        "{}{}{:05.1}{}{:06.2}0{}000000L{:08X}",
        fix.time.format("%y%m%d"),
        fix.nmea_position(""),
        fix.speed_kmh.clamp(0.0, 999.9),
        fix.time.format("%H%M%S"),
        fix.course.clamp(0.0, 359.99),
        u8::from(fix.ignition),
        fix.odometer_u32()
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
