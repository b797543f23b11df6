//! Eelink TK116, TK319, GPT06, GPT12, TK419 … trackers: `gg` binary packets over TCP and
//! `EL`-wrapped packets over UDP (port 5064).
//!
//! Wire format (integers big-endian):
//! ```text
//! packet  gg | type u8 | len u16 | seq u16 | content      (len counts seq + content)
//! UDP     EL | len u16 | checksum u16 | IMEI[8] | packet…  (checksum: 16-bit rotate-add)
//! answer  gg | type | 00 02 | seq                          (login: + server time u32, 00 01, 00)
//! ```
//! Every packet but GPS (0x02) and data (0x81) is answered with its type and sequence; over
//! UDP the answers are `EL`-wrapped. Login (0x01) carries the IMEI (`0` + 15 digits as hex).
//! Old reports 0x02/0x04/0x05/0x06, new ones 0x12/0x14/0x15 (flag-selected fix, cells, Wi-Fi),
//! heartbeat 0x03, OBD 0x07, command results 0x80. Details: `protocol-docs/eelink.md`.

mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "eelink";

/// The Eelink protocol (registry entry).
pub struct Eelink;

/// Per-connection (TCP) or per-peer (UDP) Eelink decoder.
pub type EelinkDecoder = StreamDecoder<Eelink>;

impl StreamProtocol for Eelink {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5064;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = ();
    fn cut(d: &mut EelinkDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }
    fn decode(d: &mut EelinkDecoder, f: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        run(d, f, ctx, false)
    }
    /// Answers to a datagram go back `EL`-wrapped.
    fn decode_datagram(
        d: &mut EelinkDecoder,
        f: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        run(d, f, ctx, true)
    }
}

fn run(
    d: &mut EelinkDecoder,
    f: &[u8],
    ctx: &DecodeCtx,
    datagram: bool,
) -> Result<Decoded, DecodeError> {
    let c = decode::Ctx {
        ctx,
        checksum: d.checksum,
        device: d.device.as_ref(),
        datagram,
    };
    decode::decode(f, &c).inspect(|out| d.remember(out))
}
