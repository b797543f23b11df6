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
    Cut, DecodeCtx, DecodeError, Decoded, FrameResult, StreamDecoder, StreamProtocol, Transports,
};
use bytes::BytesMut;

pub use frame::cut_frame;

/// Registry name, also the `protocol` label on every record.
pub const NAME: &str = "watch";

/// The watch protocol (registry entry).
pub struct Watch;

/// Per-connection watch decoder; its `device` is the last id seen.
pub type WatchDecoder = StreamDecoder<Watch>;

impl StreamProtocol for Watch {
    const NAME: &'static str = NAME;
    const DEFAULT_PORT: u16 = 5093;
    const TRANSPORTS: Transports = Transports::TCP;
    /// No options, nothing kept beyond the device.
    type State = ();
    fn cut(d: &mut WatchDecoder, buf: &[u8]) -> Cut {
        cut_frame(buf, d.max_frame)
    }
    /// Frames come out unescaped.
    fn frame(d: &mut WatchDecoder, buf: &mut BytesMut) -> FrameResult {
        frame::next_frame(buf, d.max_frame)
    }
    fn decode(d: &mut WatchDecoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
        decode::decode_frame(frame, ctx).inspect(|out| d.remember(out))
    }
}
