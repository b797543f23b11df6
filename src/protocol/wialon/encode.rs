//! Wialon IPS encoders: the server's answers, and the device's uplink packets (login, ping,
//! short/extended data, black box) built from a [`Fix`] for the simulator and round trips.

use crate::protocol::fix::{ddmm, east_west, north_south};
use crate::protocol::{wire, Fix};
use bytes::Bytes;

/// Answer to an accepted login.
pub const LOGIN_OK: &[u8] = b"#AL#1\r\n";
/// Answer to a login the gateway refuses (`devices.allow`): "connection rejected".
pub const LOGIN_REFUSED: &[u8] = b"#AL#0\r\n";
/// Answer to a ping.
pub const PING_ACK: &[u8] = b"#AP#\r\n";
/// Answer to a stored short data packet.
pub const SHORT_DATA_ACK: &[u8] = b"#ASD#1\r\n";
/// Answer to a stored extended data packet.
pub const DATA_ACK: &[u8] = b"#AD#1\r\n";
/// Answer to a stored driver message.
pub const MESSAGE_ACK: &[u8] = b"#AM#1\r\n";

/// Answer to a black box packet: how many of its messages were stored.
pub fn black_box_ack(stored: usize) -> Bytes {
    Bytes::from(format!("#AB#{stored}\r\n"))
}

/// `body` + the 2.0 CRC (CRC-16/ARC over `body`, which ends with its separator) when `v2`.
fn with_crc(mut body: String, v2: bool) -> String {
    if v2 {
        body.push_str(&format!("{:04X}", wire::crc16_arc(body.as_bytes())));
    } else {
        body.pop();
    }
    body
}

/// Login: `#L#<imei>;<password>` (1.x) or `#L#2.0;<imei>;<password>;<crc>`; no password is
/// sent as `NA`.
pub fn login(imei: &str, password: Option<&str>, v2: bool) -> Bytes {
    let pw = password.unwrap_or("NA");
    let body = if v2 {
        format!("2.0;{imei};{pw};")
    } else {
        format!("{imei};{pw};")
    };
    Bytes::from(format!("#L#{}\r\n", with_crc(body, v2)))
}

/// Ping `#P#`.
pub fn ping() -> Bytes {
    Bytes::from_static(b"#P#\r\n")
}

/// The ten short-data fields of `fix`, each followed by `;`.
fn short_fields(fix: &Fix) -> String {
    format!(
        "{};{};{};{};{};{};{:.2};{};{:.1};{};",
        fix.time.format("%d%m%y"),
        fix.time.format("%H%M%S"),
        ddmm(fix.lat, 2),
        north_south(fix.lat),
        ddmm(fix.lon, 3),
        east_west(fix.lon),
        fix.speed_kmh.max(0.0),
        fix.course_whole(),
        fix.altitude_m,
        fix.satellites
    )
}

/// Short data `#SD#…`.
pub fn short_data(fix: &Fix, v2: bool) -> Bytes {
    Bytes::from(format!("#SD#{}\r\n", with_crc(short_fields(fix), v2)))
}

/// Extended data `#D#…`: the short fields, hdop, inputs (bit 0 = ignition), outputs `0`,
/// no ADC or iButton, and `params` (`name:type:value,…`, may be empty).
pub fn data(fix: &Fix, params: &str, v2: bool) -> Bytes {
    let body = format!(
        "{}{:.1};{};0;NA;NA;{params};",
        short_fields(fix),
        fix.hdop,
        u8::from(fix.ignition)
    );
    Bytes::from(format!("#D#{}\r\n", with_crc(body, v2)))
}

/// Black box `#B#msg|msg|…` of short messages (the 2.0 CRC after the last `|`).
pub fn black_box(fixes: &[Fix], v2: bool) -> Bytes {
    let body: String = fixes
        .iter()
        .map(|f| {
            let mut m = short_fields(f);
            m.pop();
            m + "|"
        })
        .collect();
    Bytes::from(format!("#B#{}\r\n", with_crc(body, v2)))
}
