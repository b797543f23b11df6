//! GT02 / GT02A trackers (Concox's first binary protocol, before GT06; Traccar's "gt02").
//!
//! ```text
//! 68 68 <size 1> <power 1> <gsm 1> <imei 8 BCD, first nibble 0> <index 2> <type 1> <body…> 0D 0A
//!   size = bytes from <power> to the end of <body>
//!   type 10 data:      yy mm dd hh mm ss, lat u32, lon u32 (1/30000 minute), km/h u8,
//!                      course u16, 3 reserved, flags u32 (bit 0 fix, 1 north, 2 east)
//!   type 1A heartbeat: (optional extra bytes)     → answered 54 68 1A 0D 0A
//!   type 1C response:  <len 1> <ASCII text>       (a command's answer)
//! ```
//! No checksum; the size and the closing CR LF are verified. See `protocol-docs/gt02.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "gt02";

/// The GT02 protocol (registry entry).
pub struct Gt02;

/// Per-connection GT02 decoder; its `device` is the IMEI of the last frame.
pub type Gt02Decoder = StreamDecoder<Gt02>;

impl StreamProtocol for Gt02 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5022;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut Gt02Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut Gt02Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(frame, ctx).inspect(|out| d.remember(out))
    }
}
