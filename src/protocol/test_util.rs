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

/// The framer invariants on arbitrary input, for framers that consume exactly the frame they
/// return (text framers with the delimiter inside the frame): each call cuts a non-empty frame
/// of at most `max_frame` bytes, skips at least one byte, or asks for more while holding less
/// than `max_frame` bytes (an oversized frame is never waited for); never a fatal error, never
/// a loop without progress; decoding any cut frame, or the raw input, does not panic.
/// Stricter than the registry-wide `tests/registry_props.rs` (exact consumption, the
/// `max_frame` hold bound); `Err` instead of a panic so proptest can shrink the input.
pub fn random_bytes_invariants(
    d: &mut dyn Decoder,
    bytes: &[u8],
    max_frame: usize,
    ctx: &super::DecodeCtx,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    let mut buf = BytesMut::from(bytes);
    for _ in 0..=bytes.len() {
        let before = buf.len();
        match d.frame(&mut buf) {
            FrameResult::Frame(f) => {
                prop_assert!(!f.is_empty() && f.len() <= max_frame);
                prop_assert_eq!(buf.len() + f.len(), before);
                let _ = d.decode(&f, ctx);
            }
            FrameResult::Skipped(n) => {
                prop_assert!(n > 0);
                prop_assert_eq!(buf.len() + n, before);
            }
            FrameResult::NeedMore => {
                prop_assert_eq!(buf.len(), before);
                prop_assert!(before < max_frame);
                break;
            }
            FrameResult::Fatal(e) => prop_assert!(false, "fatal {}", e),
        }
    }
    let _ = d.decode(bytes, ctx);
    Ok(())
}
