//! Teltonika (stub: being implemented).

use super::{
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

/// The teltonika protocol.
pub struct Teltonika;

impl Protocol for Teltonika {
    fn name(&self) -> &'static str {
        "teltonika"
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
    fn new_decoder(&self, _opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(Stub))
    }
}

struct Stub;

impl Decoder for Stub {
    fn frame(&mut self, _buf: &mut BytesMut) -> FrameResult {
        FrameResult::NeedMore
    }
    fn decode(&mut self, _frame: &[u8], _ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        Err(DecodeError::Invalid("not implemented".into()))
    }
    fn device(&self) -> Option<&DeviceId> {
        None
    }
}
