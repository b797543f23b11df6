//! Teltonika FMB/FMC/FMM/FMT trackers: Codec 8, 8 Extended, 16, GH3000 (0x07) AVL data and
//! Codec 12/13 command replies, over TCP (port 5027) and UDP.
//!
//! Wire format (all integers big-endian):
//! ```text
//! TCP, once per connection   device → 00 0F | 15 ASCII IMEI digits       server → 01 accept / 00 refuse
//! TCP AVL packet             device → 00000000 | len u32 | codec | N1 | records… | N2 | CRC u32
//!                            server → N accepted, u32 (only once the records are durable)
//! TCP keep-alive             device → FF                                 server → nothing
//! UDP datagram               device → len u16 | packet id u16 | 01 | AVL packet id | imei len u16 | IMEI | codec | N1 | records… | N2
//!                            server → 00 05 | packet id | 01 | AVL packet id | N accepted u8
//! ```
//! `len` counts codec..N2; the CRC (CRC-16/ARC in the low 16 bits of the u32) covers the same
//! bytes. A Codec 8 record is `timestamp ms u64 | priority | lon i32 ×1e-7 | lat i32 ×1e-7 |
//! altitude i16 | angle u16 | satellites | speed u16 km/h | IO element`; the IO element widths
//! per codec are in `decode`. Codec 12/13 packets carry a command reply and get no answer.
//! Details, quirks and sample frames: `protocol-docs/teltonika.md`.

mod codec;
pub mod command;
mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use codec::Codec;
pub use encode::{AvlRecord, IoData, IoElement};

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "teltonika";

/// Longest IMEI accepted in the handshake or a UDP datagram. IMEIs are 15 digits; 20 leaves
/// room for IMEISV-style test ids while keeping a garbage length from being taken as a login.
pub const MAX_IMEI_LEN: usize = 20;

/// The Teltonika protocol (registry entry).
pub struct Teltonika;

/// Per-connection (TCP) or per-peer (UDP) Teltonika decoder: its `state` is the
/// [`Settings`], its `device` the IMEI of the handshake (TCP) or of the last datagram (UDP).
pub type TeltonikaDecoder = StreamDecoder<Teltonika>;

/// Protocol-specific settings parsed from `DecoderOptions.options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `io16 = "true"`: records carry a section of 16-byte IO values after the 8-byte one.
    /// Some firmwares (Traccar's `teltonika.extended`) send it; nothing on the wire says so,
    /// hence an option. Default false.
    pub io16: bool,
}

impl StreamProtocol for Teltonika {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5027;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = Settings;

    fn cut(d: &mut TeltonikaDecoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame)
    }

    fn decode(
        d: &mut TeltonikaDecoder,
        frame: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_tcp(frame, ctx, d.checksum, d.state, d.device.as_ref())
            .inspect(|out| d.remember(out))
    }

    /// UDP datagrams carry the IMEI in every datagram and have no CRC.
    fn decode_datagram(
        d: &mut TeltonikaDecoder,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        decode::decode_udp(datagram, ctx, d.max_frame, d.state).inspect(|out| d.remember(out))
    }
    fn commands() -> Option<&'static dyn super::command::CommandCodec> {
        Some(&command::CODEC)
    }
}

impl FromOptions for Settings {
    /// One option, `io16` (see [`Settings`]); any other key is rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        opts.read(protocol, |o| {
            Ok(Settings {
                io16: o.flag("io16", false)?,
            })
        })
    }
}
