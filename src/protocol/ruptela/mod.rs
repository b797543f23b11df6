//! Ruptela FM trackers (FM-Eco, FM-Pro, FM-Tco, Trace5 ...): binary records over TCP (5046).
//!
//! Wire format (all integers big-endian):
//! ```text
//! device → len u16 | IMEI u64 | cmd u8 | payload… | CRC u16
//! server → len u16 | cmd u8 | payload… | CRC u16          (len counts cmd + payload)
//!
//! cmd 1  records          left u8 | count u8 | record…              → 00 02 64 01 13 BC
//! cmd 68 extended records left u8 | count u8 | record…              → 00 02 64 01 13 BC
//! cmd 9  DTC codes        count u8 | {reserved, ts u32, lon, lat, archive u8, code[5]}…
//!                                                                   → 00 02 6D 01 C4 A4
//! cmd 15 identification, cmd 16 heartbeat                           → len | cmd | 01 | CRC
//! cmd 2/3/4/7/17 replies to server commands (text / one status byte) → nothing
//! ```
//! `len` counts IMEI..payload (the bytes the CRC covers); the CRC is CRC-16/KERMIT. A record
//! is `ts u32 (UTC s) | ts ext u8 | [record ext u8, cmd 68] | priority u8 | lon i32 ×1e-7 |
//! lat i32 ×1e-7 | alt u16 ×0.1 m | course u16 ×0.01° | sats u8 | speed u16 km/h | hdop u8
//! ×0.1 | event id (u8, u16 for cmd 68) | four IO groups of 1/2/4/8-byte values`, each group
//! `count u8 | {id (u8, u16 for cmd 68), value}…`. Details: `protocol-docs/ruptela.md`.

mod decode;
pub mod encode;
mod frame;
mod io;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "ruptela";

/// The Ruptela protocol (registry entry).
pub struct Ruptela;

/// Per-connection Ruptela decoder; its `device` is the IMEI of the last frame.
pub type RuptelaDecoder = StreamDecoder<Ruptela>;

impl StreamProtocol for Ruptela {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5046;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut RuptelaDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(
        d: &mut RuptelaDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
