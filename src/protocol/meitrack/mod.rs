//! Meitrack MT/T/P series (MVT100/340/380/600/800, T1, T311, T333, T355, T366, T633L, P88L …),
//! over TCP and UDP (port 5020).
//!
//! Wire format (GPRS protocol, ASCII envelope):
//! ```text
//! $$<flag><len>,<imei>,<cmd>,<data>*<sum>\r\n
//! ```
//! `<flag>` is one byte the device picks per frame (echoed in replies), `<len>` is the decimal
//! byte count from the comma after it through `\r\n`, `<sum>` is two hex digits: the low byte
//! of the sum of every byte from `$$` through `*`. `AAA` (and `AFF`) carry one comma-separated
//! position; `CCC` and `CCE` carry binary little-endian batches of buffered positions; other
//! commands are the device's answers to server commands. The server answers `CCC` with
//! `@@<flag><len>,<imei>,CCC,<n>*<sum>\r\n` (delete the `n` records from the device cache);
//! `AAA` and `CCE` get no answer (as in Traccar). Details: `protocol-docs/meitrack.md`.

mod decode;
mod decode_bin;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

pub use frame::cut_frame;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "meitrack";

/// The Meitrack protocol (registry entry).
pub struct Meitrack;

/// Per-connection (or per-UDP-peer) Meitrack decoder; its `device` is the last IMEI seen.
pub type MeitrackDecoder = StreamDecoder<Meitrack>;

impl StreamProtocol for Meitrack {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5020;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut MeitrackDecoder, buf: &[u8]) -> Cut {
        cut_frame(buf, d.max_frame)
    }
    fn decode(
        d: &mut MeitrackDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_frame(frame, ctx, d.checksum).inspect(|out| d.remember(out))
    }
}
