//! 3G/SG "watch" protocol: kids' and elderly watches and many personal trackers (Wonlex,
//! Setracker and clones), over TCP (port 5093).
//!
//! Wire format (ASCII envelope):
//! ```text
//! [<maker 2 chars>*<id>*<len 4 hex>*<content>]
//! [<maker>*<id>*<index 4 hex>*<len 4 hex>*<content>]          (indexed variant, e.g. ZJ)
//! ```
//! `<len>` is the content length in hex (bytes after unescaping). Content is `<CMD>[,<args>]`;
//! inside binary content (voice, images) `}` `[` `]` `,` `*` are escaped as `7D 01`…`7D 05`,
//! which the framer undoes. `LK` (link keep-alive) → `[<maker>*<id>*0002*LK]`; `UD`, `UD2`
//! (blind-spot backfill → historical), `UD3`, `UD_LTE`… carry a position; `AL…` carries a
//! position with an alarm and is answered `…*0002*AL]`; `TKQ`/`TKQ2` are echoed; `INIT` gets
//! `INIT,1`. Replies keep the request's maker and index. Details: `protocol-docs/watch.md`.

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

pub use frame::{cut_frame, Cut};

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "watch";

/// The watch protocol (registry entry).
pub struct Watch;

impl Protocol for Watch {
    fn name(&self) -> &'static str {
        NAME
    }
    fn default_port(&self) -> u16 {
        5093
    }
    fn transports(&self) -> Transports {
        Transports {
            tcp: true,
            udp: false,
        }
    }
    fn new_decoder(&self, opts: &DecoderOptions) -> Result<Box<dyn Decoder>, OptionsError> {
        Ok(Box::new(WatchDecoder::new(opts)?))
    }
}

/// Per-connection watch state: the framer's limit and the last id seen.
#[derive(Debug, Clone)]
pub struct WatchDecoder {
    device: Option<DeviceId>,
    max_frame: usize,
}

impl WatchDecoder {
    /// A decoder for one connection. The watch protocol has no options; any key is rejected.
    pub fn new(opts: &DecoderOptions) -> Result<Self, OptionsError> {
        if let Some(key) = opts.options.keys().next() {
            return Err(OptionsError::unknown(NAME, key));
        }
        Ok(WatchDecoder {
            device: None,
            max_frame: opts.max_frame,
        })
    }
}

impl Decoder for WatchDecoder {
    fn frame(&mut self, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, self.max_frame)
    }

    fn decode(&mut self, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        let d = decode::decode_frame(frame, ctx)?;
        if d.identity.is_some() {
            self.device.clone_from(&d.identity);
        }
        Ok(d)
    }

    fn device(&self) -> Option<&DeviceId> {
        self.device.as_ref()
    }
}
