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
//! per codec are in [`decode`]. Codec 12/13 packets carry a command reply and get no answer.
//! Details, quirks and sample frames: `protocol-docs/teltonika.md`.

mod codec;
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
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "teltonika";

/// Longest IMEI accepted in the handshake or a UDP datagram. IMEIs are 15 digits; 20 leaves
/// room for IMEISV-style test ids while keeping a garbage length from being taken as a login.
pub const MAX_IMEI_LEN: usize = 20;

/// The Teltonika protocol (registry entry).
pub struct Teltonika;

impl Protocol for Teltonika {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5027
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(TeltonikaDecoder::new(opts)?))
    }
}

/// Protocol-specific settings parsed from `DecoderOptions.options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `io16 = "true"`: records carry a section of 16-byte IO values after the 8-byte one.
    /// Some firmwares (Traccar's `teltonika.extended`) send it; nothing on the wire says so,
    /// hence an option. Default false.
    pub io16: bool,
}

impl Settings {
    /// Parses and validates the option map, rejecting unknown keys.
    pub fn from_options(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        let mut s = Settings::default();
        for (key, value) in &opts.options {
            match key.as_str() {
                "io16" => {
                    s.io16 = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(OptionsError {
                                protocol: NAME,
                                key: key.clone(),
                                reason: format!("expected \"true\" or \"false\", got {other:?}"),
                            })
                        }
                    }
                }
                _ => return Err(OptionsError::unknown(NAME, key)),
            }
        }
        Ok(s)
    }
}

/// Per-connection (TCP) or per-peer (UDP) state: the limits and the IMEI once known.
pub struct TeltonikaDecoder {
    opts: DecoderOptions,
    settings: Settings,
    device: Option<DeviceId>,
}

impl TeltonikaDecoder {
    /// A decoder for one connection; fails on unknown or malformed options.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        Ok(TeltonikaDecoder {
            settings: Settings::from_options(opts)?,
            opts: opts.clone(),
            device: None,
        })
    }
}

impl Decoder for TeltonikaDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::frame(buf, self.opts.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let out = decode::decode_tcp(frame, ctx, &self.opts, self.settings, self.device.as_ref())?;
        if let Some(id) = &out.identity {
            self.device = Some(id.clone());
        }
        Ok(out)
    }

    fn decode_datagram(
        &mut self,
        datagram: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        let out = decode::decode_udp(datagram, ctx, &self.opts, self.settings)?;
        if let Some(id) = &out.identity {
            self.device = Some(id.clone());
        }
        Ok(out)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
