//! The "TK103" parenthesis protocol (Traccar's "tk103"; not the Coban TK103-2B, which is
//! `gps103`).
//!
//! ```text
//! (<id 12 chars><cmd 4><data>)                 fixed form, e.g.
//! (088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)
//!   BR00 + yymmdd + A|V + ddmm.mmmmN + dddmm.mmmmE + speed km/h (5) + hhmmss + course (6)
//!   + charge, ignition, 3 io nibbles, fuel (3 hex) + L<odometer hex> [+ temperature]
//! (<id>,<cmd>,ddmmyy,A,ddmm.mmmmN,dddmm.mmmmE,speed,hhmmss,course,…)   comma form
//! ```
//! `BP00` handshake → `(<id>AP01HSO)`, `BP05` login (with a fix) → `(<id>AP05)`. Free text
//! between `$` signs (command results) may contain `)`; the framer skips it. No checksum.
//! Message table and options: `protocol-docs/tk103.md`.

mod decode;
pub mod encode;
mod frame;
mod position;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "tk103";

/// The tk103 protocol (registry entry).
pub struct Tk103;

/// Per-connection (or per-UDP-peer) TK103 decoder; its `device` is the id of the last frame.
pub type Tk103Decoder = StreamDecoder<Tk103>;

impl StreamProtocol for Tk103 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5002;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut Tk103Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut Tk103Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(d, frame, ctx)
    }
}
