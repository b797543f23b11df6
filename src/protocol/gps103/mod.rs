//! Coban GPS102/103/104, TK103-2B and clones (Traccar's "gps103").
//!
//! ASCII sentences, each ended by `;` (some firmwares use CR LF, LF or `*`):
//! ```text
//! ##,imei:<imei>,A;                                   log-on          → "LOAD"
//! <imei>;                                             heartbeat       → "ON"
//! imei:<imei>,<keyword>,<local yyMMddHHmm[ss]>,<phone|rfid>,F,<hhmmss.sss UTC>,A,
//!     <ddmm.mmmm>,N,<dddmm.mmmm>,E,<speed kn>,<course>[,alt,acc,door,fuel1%,fuel2%,temp];
//! imei:<imei>,<keyword>,<local>,,L,,,<lac>,,<cid>,,,;   no GPS (cell only)
//! imei:<imei>,OBD,<yyMMddHHmmss>,<odometer>,…;          OBD data
//! ```
//! The keyword is the event (`tracker`, `help me`, `low battery`, `acc on`, …). `help me`
//! gets `**,imei:<imei>,E;` (clears the SOS). No checksum exists. The fix time is built from
//! two clocks (device-local date and minutes, UTC hh:mm:ss): see `decode::fix_time` and
//! `protocol-docs/gps103.md`.

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
pub const NAME: &str = "gps103";

/// The gps103 protocol (registry entry).
pub struct Gps103;

impl Protocol for Gps103 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5001
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(Gps103Decoder::new(opts)?))
    }
}

/// Per-connection state: the frame limit and the IMEI of the device.
#[derive(Debug, Clone)]
pub struct Gps103Decoder {
    device: Option<DeviceId>,
    max_frame: usize,
}

impl Gps103Decoder {
    /// A decoder for one connection or UDP peer. The protocol has no options, so any key is
    /// rejected (a typo must not silently change nothing).
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        if let Some(key) = opts.options.keys().next() {
            return Err(OptionsError::unknown(NAME, key));
        }
        Ok(Gps103Decoder {
            device: None,
            max_frame: opts.max_frame,
        })
    }
}

impl Decoder for Gps103Decoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(self, frame, ctx)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
