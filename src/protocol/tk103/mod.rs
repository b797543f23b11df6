//! The "TK103" parenthesis protocol (Traccar's "tk103"; not the Coban TK103-2B, which is
//! `gps103`).
//!
//! ```text
//! (<id 12 chars><cmd 4><data>)                 fixed form, e.g.
//! (088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)
//!   BR00 + yymmdd + A|V + ddmm.mmmmN + dddmm.mmmmE + speed km/h (5) + hhmmss + course (6)
//!   + charge, ignition, 3 io nibbles, fuel (3 hex) + L<odometer hex> [+ temperature]
//! (<id>,<cmd>,ddmmyy,A,ddmm.mmmmN,dddmm.mmmmE,speed,hhmmss,course,…)   comma form
//! ```
//! `BP00` handshake → `(<id>AP01HSO)`, `BP05` login (with a fix) → `(<id>AP05)`. Free text
//! between `$` signs (command results) may contain `)`; the framer skips it. No checksum.
//! Message table and options: `protocol-docs/tk103.md`.

mod decode;
pub mod encode;
mod frame;
mod position;
#[cfg(test)]
mod tests;

use super::{
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "tk103";

/// The tk103 protocol (registry entry).
pub struct Tk103;

impl Protocol for Tk103 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5002
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: true,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(Tk103Decoder::new(opts)?))
    }
}

/// Per-connection state: the frame limit and the device.
#[derive(Debug, Clone)]
pub struct Tk103Decoder {
    device: Option<DeviceId>,
    max_frame: usize,
}

impl Tk103Decoder {
    /// A decoder for one connection or UDP peer. No options exist; any key is rejected.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        if let Some(key) = opts.options.keys().next() {
            return Err(OptionsError::unknown(NAME, key));
        }
        Ok(Tk103Decoder {
            device: None,
            max_frame: opts.max_frame,
        })
    }
}

impl Decoder for Tk103Decoder {
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
