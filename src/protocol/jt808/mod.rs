//! Jt808 (stub: being implemented).

use super::{
    DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult, OptionsError, Protocol,
    Transports,
};
use crate::model::DeviceId;
use bytes::BytesMut;

/// The jt808 protocol.
pub struct Jt808;

impl Protocol for Jt808 {
    fn name(&self) -> &'static str {
        "jt808"
    }
    fn default_port(&self) -> u16 {
        5015
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: false,
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
