//! Suntech encoders for the device's uplink reports (simulator, round-trip tests). Suntech
//! devices expect no answer, so there is no ACK encoder.

use chrono::{DateTime, Utc};

/// One fix as a legacy `ST300STT` report carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Fix time, UTC.
    pub time: DateTime<Utc>,
    /// Decimal degrees, 6 decimals written with an explicit sign.
    pub lat: f64,
    /// Longitude, degrees, west negative.
    pub lon: f64,
    /// km/h, 3 decimals written.
    pub speed_kmh: f64,
    /// Degrees, 2 decimals written.
    pub course: f64,
    /// Satellites used.
    pub satellites: u8,
    /// The device reports the fix as valid.
    pub valid: bool,
    /// Metres.
    pub odometer_m: u32,
    /// Volts, 2 decimals written.
    pub power_v: f64,
    /// Ignition input state.
    pub ignition: bool,
}

/// `ST300STT;<id>;04;706;<date>;<time>;<cell>;<lat>;<lon>;<speed>;<course>;<sats>;<fix>;
/// <odometer>;<power>;<io>;<mode>;<msg no>\r`.
pub fn st300_stt(id: &str, fix: &Fix, msg_no: u16) -> Vec<u8> {
    format!(
        "ST300STT;{id};04;706;{};cc719;{:+010.6};{:+011.6};{:07.3};{:06.2};{};{};{};{:.2};{}00000;1;{msg_no:04}\r",
        fix.time.format("%Y%m%d;%H:%M:%S"),
        fix.lat,
        fix.lon,
        fix.speed_kmh,
        fix.course,
        fix.satellites,
        u8::from(fix.valid),
        fix.odometer_m,
        fix.power_v,
        u8::from(fix.ignition),
    )
    .into_bytes()
}

/// The keep-alive `ST300ALV;<id>\r`.
pub fn keep_alive(id: &str) -> Vec<u8> {
    format!("ST300ALV;{id}\r").into_bytes()
}
