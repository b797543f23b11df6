//! Coban GPS102/103/104, TK103-2B and clones (Traccar's "gps103").
//!
//! ASCII sentences, each ended by `;` (some firmwares use CR LF, LF or `*`):
//! ```text
//! ##,imei:<imei>,A;                                   log-on          → "LOAD"
//! <imei>;                                             heartbeat       → "ON"
//! imei:<imei>,<keyword>,<local yyMMddHHmm[ss]>,<phone|rfid>,F,<hhmmss.sss UTC>,A,
//!     <ddmm.mmmm>,N,<dddmm.mmmm>,E,<speed kn>,<course>[,alt,acc,door,fuel1%,fuel2%,temp];
//! imei:<imei>,<keyword>,<local>,,L,,,<lac>,,<cid>,,,;   no GPS (cell only)
//! imei:<imei>,OBD,<yyMMddHHmmss>,<odometer>,…;          OBD data
//! ```
//! The keyword is the event (`tracker`, `help me`, `low battery`, `acc on`, …). `help me`
//! gets `**,imei:<imei>,E;` (clears the SOS). No checksum exists. The fix time is built from
//! two clocks (device-local date and minutes, UTC hh:mm:ss): see `decode::fix_time` and
//! `protocol-docs/gps103.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "gps103";

/// The gps103 protocol (registry entry).
pub struct Gps103;

/// Per-connection (or per-UDP-peer) Coban decoder; its `device` is the IMEI of the last sentence.
pub type Gps103Decoder = StreamDecoder<Gps103>;

impl StreamProtocol for Gps103 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5001;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut Gps103Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(
        d: &mut Gps103Decoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_frame(d, frame, ctx)
    }
}
