//! Meiligao VT310, VT400, GT30, GT60, TK-series clones: binary frames around an NMEA-style
//! sentence, over TCP and UDP (port 5009).
//!
//! Wire format (integers big-endian):
//! ```text
//! device → $$ | len u16 | id[7] BCD, F-padded | cmd u16 | data | CRC u16 | \r\n
//! server → @@ | len u16 | id[7]               | cmd u16 | data | CRC u16 | \r\n
//! ```
//! `len` counts the whole frame; the CRC is CRC-16/CCITT-FALSE over everything before it.
//! Login 0x5000 is answered 0x4000 `01`, heartbeat 0x0001 with 0x0001 `01`; position reports
//! (0x9955, 0x9999 alarm, 0x9016 logged, 0x6688 retransmission, 0x9966 RFID) get no answer.
//! Details: `protocol-docs/meiligao.md`.

mod decode;
pub mod encode;
mod frame;
mod sentence;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "meiligao";

/// The Meiligao protocol (registry entry).
pub struct Meiligao;

/// Per-connection Meiligao decoder; every frame names its device.
pub type MeiligaoDecoder = StreamDecoder<Meiligao>;

impl StreamProtocol for Meiligao {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5009;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = ();
    fn cut(d: &mut MeiligaoDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut MeiligaoDecoder, f: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode(f, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
