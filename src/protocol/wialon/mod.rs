//! Wialon IPS 1.1 and 2.0 (Gurtam's open tracker protocol, very common in Eastern Europe
//! and Central Asia; Traccar's "wialon").
//!
//! ASCII packets `#<type>#<message>\r\n` over TCP (UDP: one packet per datagram, prefixed
//! with `[2.0;]<imei>`). Fields are `;`-separated, `NA` marks a missing value. Version 2.0
//! adds a protocol version to the login and a CRC-16 (CRC-16/ARC, hex) as the last field of
//! L, SD, D, M and B packets, computed over the message from the byte after the type's `#`
//! up to and including the `;` (`|` in B) before it.
//! ```text
//! #L#<imei>;<password>                        1.x login        → #AL#1  (refused: #AL#0)
//! #L#2.0;<imei>;<password>;<crc>              2.0 login        → #AL#1  (refused: #AL#0)
//! #P#                                         ping             → #AP#
//! #SD#<ddmmyy>;<hhmmss>;<ddmm.mm>;N;<dddmm.mm>;E;<km/h>;<course>;<alt m>;<sats>[;<crc>]
//!                                             short data       → #ASD#1
//! #D#<the SD fields>;<hdop>;<inputs>;<outputs>;<adc,…>;<ibutton>;<name:type:value,…>[;<crc>]
//!                                             extended data    → #AD#1
//! #B#<SD or D message>|<message>|…[|<crc>]    black box        → #AB#<messages stored>
//! #M#<text>[;<crc>]                           message from the driver → #AM#1
//! ```
//! Times are UTC; a `NA` date/time means "now" (the spec: the server sets the time). A data
//! packet whose coordinates are `NA` carries no fix and becomes a `params` event with the
//! same values. Messages that do not decode are dropped without an answer (the ingest shell
//! answers no frame it drops); the device resends them after its answer timeout. See
//! `protocol-docs/wialon.md`.

mod decode;
pub mod encode;
mod fields;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "wialon";

/// The Wialon IPS protocol (registry entry).
pub struct Wialon;

/// Per-connection (or per-UDP-peer) Wialon IPS decoder.
pub type WialonDecoder = StreamDecoder<Wialon>;

/// What a connection keeps: the protocol version its login announced (2.0 puts a CRC on
/// `#M#`, which cannot be told from the text alone) and the bytes of an image packet's
/// binary body still to be skipped (so they are never read as text packets).
#[derive(Clone, Debug, Default)]
pub struct WialonState {
    /// The login (or UDP prefix) said protocol version 2.0 or later.
    pub v2: bool,
    /// Binary `#I#` body bytes still to drop.
    pub(crate) binary_left: usize,
}

impl FromOptions for WialonState {
    /// No options: any key is rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        opts.no_options(protocol)?;
        Ok(WialonState::default())
    }
}

impl StreamProtocol for Wialon {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5039;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = WialonState;
    fn cut(d: &mut WialonDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame, &mut d.state.binary_left)
    }
    fn decode(
        d: &mut WialonDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode(d, frame, ctx)
    }
}
