//! Helpers shared by the protocol modules' unit tests.

use super::{Decoder, FrameResult};
use bytes::BytesMut;

/// Feeds `bytes` to `d`'s framer in chunks of `step` and collects every frame cut; panics on
/// a fatal framing error. Used to check that split and coalesced streams frame alike.
pub fn frames(d: &mut dyn Decoder, bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    let mut buf = BytesMut::new();
    let mut out = vec![];
    for chunk in bytes.chunks(step.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match d.frame(&mut buf) {
                FrameResult::Frame(f) => out.push(f.to_vec()),
                FrameResult::Skipped(_) => {}
                FrameResult::NeedMore => break,
                FrameResult::Fatal(e) => panic!("{e}"),
            }
        }
    }
    out
}
