//! Watch encoders: server replies and the device's uplink frames (simulator, tests).

use super::super::fix::{east_west, north_south, validity, Fix};
use bytes::Bytes;

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

/// `<cmd>,<ddMMyy>,<HHmmss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<speed>,<course>,<alt>,<sats>,
/// <gsm>,<battery>,<steps>,<rolls>,<status hex>,0,0` framed for `maker`/`id`: degrees with
/// 6 decimals, km/h with 2, course and altitude with 1; `battery` in percent, `status` the
/// terminal status word (alarm bits 0–2, 14, 16–22).
pub fn position(maker: &str, id: &str, cmd: &str, fix: &Fix, battery: u8, status: u32) -> Vec<u8> {
    let content = format!(
        "{cmd},{},{},{:.6},{},{:.6},{},{:.2},{:.1},{:.1},{},100,{},0,0,{:08X},0,0",
        fix.time.format("%d%m%y,%H%M%S"),
        validity(fix.valid),
        fix.lat.abs(),
        north_south(fix.lat),
        fix.lon.abs(),
        east_west(fix.lon),
        fix.speed_kmh,
        fix.course,
        fix.altitude_m,
        fix.satellites,
        battery,
        status,
    );
    frame(maker, id, None, &content)
}

/// The link keep-alive `LK,<steps>,<rolls>,<battery %>`.
pub fn link(maker: &str, id: &str, steps: u32, battery: u8) -> Vec<u8> {
    frame(maker, id, None, &format!("LK,{steps},0,{battery}"))
}
