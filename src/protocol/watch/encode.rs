//! Watch encoders: server replies and the device's uplink frames (simulator, tests).

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// `[<maker>*<id>*[<index>*]<len>*<content>]` with `<len>` the content length as 4 hex
/// digits. Content is written as is (text; replies never need escaping).
pub fn frame(maker: &str, id: &str, index: Option<&str>, content: &str) -> Vec<u8> {
    let idx = index.map(|i| format!("{i}*")).unwrap_or_default();
    format!("[{maker}*{id}*{idx}{:04X}*{content}]", content.len()).into_bytes()
}

/// A reply with the request's maker and index, e.g. `[SG*8800000015*0002*LK]`.
pub fn reply(maker: &str, id: &str, index: Option<&str>, content: &str) -> Bytes {
    Bytes::from(frame(maker, id, index, content))
}

/// One fix as a `UD` / `UD2` / `AL` frame carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Fix time, UTC.
    pub time: DateTime<Utc>,
    /// The device reports the fix as valid.
    pub valid: bool,
    /// Decimal degrees, 6 decimals written with a hemisphere letter.
    pub lat: f64,
    /// Longitude, degrees, west negative.
    pub lon: f64,
    /// km/h, 2 decimals written.
    pub speed_kmh: f64,
    /// Degrees, 1 decimal written.
    pub course: f64,
    /// Metres, 1 decimal written.
    pub altitude_m: f64,
    /// Satellites used.
    pub satellites: u8,
    /// Battery, percent.
    pub battery: u8,
    /// Terminal status word (alarm bits 0–2, 14, 16–22).
    pub status: u32,
}

/// `<cmd>,<ddMMyy>,<HHmmss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<speed>,<course>,<alt>,<sats>,
/// <gsm>,<battery>,<steps>,<rolls>,<status hex>,0,0` framed for `maker`/`id`.
pub fn position(maker: &str, id: &str, cmd: &str, fix: &Fix) -> Vec<u8> {
    let content = format!(
        "{cmd},{},{},{:.6},{},{:.6},{},{:.2},{:.1},{:.1},{},100,{},0,0,{:08X},0,0",
        fix.time.format("%d%m%y,%H%M%S"),
        if fix.valid { 'A' } else { 'V' },
        fix.lat.abs(),
        if fix.lat < 0.0 { 'S' } else { 'N' },
        fix.lon.abs(),
        if fix.lon < 0.0 { 'W' } else { 'E' },
        fix.speed_kmh,
        fix.course,
        fix.altitude_m,
        fix.satellites,
        fix.battery,
        fix.status,
    );
    frame(maker, id, None, &content)
}

/// The link keep-alive `LK,<steps>,<rolls>,<battery %>`.
pub fn link(maker: &str, id: &str, steps: u32, battery: u8) -> Vec<u8> {
    frame(maker, id, None, &format!("LK,{steps},0,{battery}"))
}
