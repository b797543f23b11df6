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

use super::{
    ChecksumPolicy, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult,
    OptionsError, Protocol, Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

pub use frame::{cut_frame, Cut};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "meitrack";

/// The Meitrack protocol (registry entry).
pub struct Meitrack;

impl Protocol for Meitrack {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5020
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(MeitrackDecoder::new(opts)?))
    }
}

/// Per-connection Meitrack state: limits, checksum policy and the last IMEI seen.
#[derive(Debug, Clone)]
pub struct MeitrackDecoder {
    device: Option<DeviceId>,
    checksum: ChecksumPolicy,
    max_frame: usize,
}

impl MeitrackDecoder {
    /// A decoder for one connection or UDP peer. Meitrack has no protocol-specific options,
    /// so any key is rejected (a typo must not silently change nothing).
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        if let Some(key) = opts.options.keys().next() {
            return Err(OptionsError::unknown(NAME, key));
        }
        Ok(MeitrackDecoder {
            device: None,
            checksum: opts.checksum,
            max_frame: opts.max_frame,
        })
    }
}

impl Decoder for MeitrackDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let d = decode::decode_frame(frame, ctx, self.checksum)?;
        if d.identity.is_some() {
            self.device.clone_from(&d.identity);
        }
        Ok(d)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
