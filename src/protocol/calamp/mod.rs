//! CalAmp LMU / TTU / LMU-xx00 units speaking LM Direct over UDP (port 5082).
//!
//! Wire format (big-endian), one message per datagram:
//! ```text
//! [options header]  options u8 (bit 7 set) | per set bit 0..=5: len u8 | value
//!                   bit 0 mobile ID (hex digits, F-padded), 1 mobile ID type, 2 authentication,
//!                   3 routing, 4 forwarding, 5 response redirection; bit 6: extension len | value
//! message header    service type u8 (0 unacknowledged, 1 acknowledge requested, 2 response)
//!                   | message type u8 | sequence u16
//! message body      by type: 2 event report, 8 locate report, 10 mini event report,
//!                   4 user data (fix + text), 3 ID report, 1 ACK/NAK, 5 application data ...
//! ```
//! When the service type is 1 the unit waits for
//! `02 | 01 | sequence u16 | acked type u8 | 00 (ACK) | 00 | 00 00 00` and resends until it
//! comes; trackgate sends it once the message's records are durable. Details:
//! `protocol-docs/calamp.md`.

mod decode;
pub mod encode;
#[cfg(test)]
mod tests;

use super::{Cut, DecodeCtx, DecodeError, Decoded, StreamDecoder, StreamProtocol, Transports};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "calamp";

/// The CalAmp LM Direct protocol (registry entry).
pub struct CalAmp;

/// Per-peer CalAmp decoder: its `device` is the mobile ID of the last options header (a
/// message without one belongs to the peer's last mobile ID).
pub type CalAmpDecoder = StreamDecoder<CalAmp>;

impl StreamProtocol for CalAmp {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5082;
    /// LM Direct is UDP only: no stream listener.
    const TRANSPORTS: Transports = Transports {
        tcp: false,
        udp: true,
    };
    type State = ();
    /// Never called by a listener (no TCP); any stream bytes are garbage.
    fn cut(_d: &mut CalAmpDecoder, buf: &[u8]) -> Cut {
        Cut::skip_all(buf)
    }
    fn decode(
        d: &mut CalAmpDecoder,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(datagram, ctx, d.device.as_ref()).inspect(|out| d.remember(out))
    }
}
