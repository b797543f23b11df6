//! H02 (Sinotrack ST-90x and the many `*HQ` clones).
//!
//! Two frame families share one stream (TCP) or arrive one per datagram (UDP):
//! ```text
//! *HQ,<id>,<type>,<fields…>#            text (maker code may differ: *TH, *hq); CR LF optional
//! $ | ID(5 BCD) | hhmmss | ddmmyy | lat(4) | batt(1) | lon+flags(5) | speed+course(3) | status(4) | tail
//!                                        binary, 32 bytes (tail 3) or 45 (tail 16); 42 = 8-byte id
//! X …                                    32 bytes, not interpreted
//! ```
//! Text position (`V1` and its relatives V2/V5/V6/V8/V19/VI1/V4): time hhmmss UTC, validity,
//! ddmm.mmmm + hemisphere, speed in **knots**, course, date ddmmyy, status (8 hex digits,
//! active-low alarm bits). The binary frame carries the same fields in packed BCD with a flags
//! nibble (valid / north / east). No checksum exists in either family.
//!
//! Every frame names the device, so every frame sets `identity`. Replies: `V1` gets
//! `*HQ,<id>,V4,V1,<yyyyMMddHHmmss>#`, `NBR` gets `*HQ,<id>,V4,NBR,<…>#`, heartbeats
//! (`V0`, `HTBT`) are echoed, optionally every other text position gets `R12`. Details,
//! options and the framer's 32/45-byte rule: `protocol-docs/h02.md`.

mod binary;
pub mod command;
mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    Cut, DecodeCtx, DecodeError, Decoded, DecoderOptions, FromOptions, OptionsError, StreamDecoder,
    StreamProtocol, Transports,
};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "h02";

/// Shortest binary frame (5-byte id): the fixed fields plus a 3-byte tail.
pub const BINARY_SHORT: usize = 32;
/// Binary frame of the newer firmwares with a 16-byte tail (5-byte id).
pub const BINARY_LONG: usize = 45;
/// Binary frame with an 8-byte id (15-digit IMEI).
pub const BINARY_LONG_ID: usize = 42;

/// The h02 protocol (registry entry).
pub struct H02;

/// Per-connection (or per-UDP-peer) H02 decoder; its `device` is the id of the last frame.
pub type H02Decoder = StreamDecoder<H02>;

/// Per-connection H02 state: options and the binary frame length in use.
#[derive(Debug, Clone)]
pub struct H02State {
    /// Binary frame length: configured, or learnt from the first binary frame.
    binary_len: Option<usize>,
    /// `ack = true`: answer every text position (except `V1`, which has its own reply) with
    /// `*HQ,<id>,R12,<hhmmss>#`, as Traccar's `h02.ack` does.
    ack_r12: bool,
}

impl StreamProtocol for H02 {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5013;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    type State = H02State;

    fn cut(d: &mut H02Decoder, buf: &[u8]) -> Cut {
        frame::cut(buf, d.max_frame, &mut d.state.binary_len)
    }

    fn decode(d: &mut H02Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(d, frame, ctx)
    }
    fn commands() -> Option<&'static dyn super::command::CommandCodec> {
        Some(&command::CODEC)
    }
}

impl FromOptions for H02State {
    /// Options (`protocol-docs/h02.md`): `ack` (`true`/`false`, default false) and
    /// `message_length` (`auto`, default, or the binary frame length in bytes,
    /// 32..=`max_frame`). Any other key is rejected.
    fn from_options(protocol: &'static str, opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let lengths = BINARY_SHORT..=opts.max_frame.max(BINARY_SHORT);
        let expected = format!(
            "\"auto\" or a length from {BINARY_SHORT} to max_frame ({})",
            opts.max_frame
        );
        opts.read(protocol, |o| {
            Ok(H02State {
                ack_r12: o.flag("ack", false)?,
                binary_len: o.parse("message_length", None, &expected, |v| match v {
                    "auto" => Some(None),
                    n => n.parse().ok().filter(|n| lengths.contains(n)).map(Some),
                })?,
            })
        })
    }
}
