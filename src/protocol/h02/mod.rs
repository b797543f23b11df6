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
mod decode;
pub mod encode;
mod frame;
#[cfg(test)]
mod tests;

use super::{
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

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

impl Protocol for H02 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5013
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(H02Decoder::new(opts)?))
    }
}

/// Per-connection H02 state: limits, options, the binary frame length in use and the device.
#[derive(Debug, Clone)]
pub struct H02Decoder {
    device: Option<DeviceId>,
    max_frame: usize,
    /// Binary frame length: configured, or learnt from the first binary frame.
    binary_len: Option<usize>,
    /// `ack = true`: answer every text position (except `V1`, which has its own reply) with
    /// `*HQ,<id>,R12,<hhmmss>#`, as Traccar's `h02.ack` does.
    ack_r12: bool,
}

impl H02Decoder {
    /// A decoder for one connection or UDP peer. Options (`protocol-docs/h02.md`):
    /// `ack` (`true`/`false`, default false) and `message_length` (`auto`, default, or the
    /// binary frame length in bytes, 32..=`max_frame`). Any other key is rejected.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let mut ack_r12 = false;
        let mut binary_len = None;
        for (key, value) in &opts.options {
            match key.as_str() {
                "ack" => {
                    ack_r12 = value.parse::<bool>().map_err(|_| OptionsError {
                        protocol: NAME,
                        key: key.clone(),
                        reason: format!("expected true or false, got {value:?}"),
                    })?
                }
                "message_length" if value == "auto" => binary_len = None,
                "message_length" => {
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (BINARY_SHORT..=opts.max_frame.max(BINARY_SHORT)).contains(n))
                        .ok_or_else(|| OptionsError {
                            protocol: NAME,
                            key: key.clone(),
                            reason: format!(
                                "expected \"auto\" or a length from {BINARY_SHORT} to max_frame ({}), got {value:?}",
                                opts.max_frame
                            ),
                        })?;
                    binary_len = Some(n);
                }
                _ => return Err(OptionsError::unknown(NAME, key)),
            }
        }
        Ok(H02Decoder {
            device: None,
            max_frame: opts.max_frame,
            binary_len,
            ack_r12,
        })
    }
}

impl Decoder for H02Decoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame, &mut self.binary_len)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(self, frame, ctx)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
