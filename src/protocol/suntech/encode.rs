//! Suntech encoders for the device's uplink reports (simulator, round-trip tests). Suntech
//! devices expect no answer, so there is no ACK encoder.

use super::super::Fix;

/// `ST300STT;<id>;04;706;<date>;<time>;<cell>;<lat>;<lon>;<speed>;<course>;<sats>;<fix>;
/// <odometer>;<power>;<io>;<mode>;<msg no>\r`: coordinates with 6 decimals and a sign,
/// km/h with 3, course with 2, odometer in metres, `power_v` (supply volts) with 2, the
/// ignition as the first input.
pub fn st300_stt(id: &str, fix: &Fix, power_v: f64, msg_no: u16) -> Vec<u8> {
    format!(
        "ST300STT;{id};04;706;{};cc719;{:+010.6};{:+011.6};{:07.3};{:06.2};{};{};{};{:.2};{}00000;1;{msg_no:04}\r",
        fix.time.format("%Y%m%d;%H:%M:%S"),
        fix.lat,
        fix.lon,
        fix.speed_kmh,
        fix.course,
        fix.satellites,
        u8::from(fix.valid),
        fix.odometer_u32(),
        power_v,
        u8::from(fix.ignition),
    )
    .into_bytes()
}

/// The keep-alive `ST300ALV;<id>\r`.
pub fn keep_alive(id: &str) -> Vec<u8> {
    format!("ST300ALV;{id}\r").into_bytes()
}
