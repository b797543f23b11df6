//! Helpers shared by the protocol modules' unit tests.

use super::wire::Cut;
use super::{DecodeCtx, Decoded, Decoder, FrameResult};
use crate::model::{DeviceEvent, Position, Record};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::test_runner::TestCaseError;
use proptest::{prop_assert, prop_assert_eq};

/// The receive time most protocol tests decode at: 2026-11-27T05:00:00Z.
pub fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc
            .with_ymd_and_hms(2026, 11, 27, 5, 0, 0)
            .single()
            .expect("a valid date"),
    }
}

/// Captured frames of protocol `name` for `transport` (`tests/fixtures/<p>/vectors.json`).
pub fn fixtures(name: &str, transport: &str) -> Vec<Vec<u8>> {
    let path = format!(
        "{}/tests/fixtures/{name}/vectors.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let vs: Vec<serde_json::Value> = serde_json::from_str(&text).expect("fixture JSON");
    vs.iter()
        .filter(|v| v["transport"] == transport)
        .filter_map(|v| {
            let f = v["frame"].as_str()?;
            match v["encoding"].as_str()? {
                "hex" => hex::decode(f).ok(),
                _ => Some(f.chars().map(|c| c as u32 as u8).collect()),
            }
        })
        .collect()
}

/// The first record of `d`, which must be a position.
pub fn position(d: &Decoded) -> &Position {
    match d.records.first() {
        Some(Record::Position(p)) => p,
        other => panic!("no position: {other:?}"),
    }
}

/// The first record of `d`, which must be a device event.
pub fn event(d: &Decoded) -> &DeviceEvent {
    match d.records.first() {
        Some(Record::Event(e)) => e,
        other => panic!("no event: {other:?}"),
    }
}

/// Feeds `bytes` to `d`'s framer in chunks of `step` and collects every frame cut; panics on
/// a fatal framing error. Used to check that split and coalesced streams frame alike.
pub fn frames(d: &mut dyn Decoder, bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    frames_and_rest(d, bytes, step).0
}

/// [`frames`], plus how many bytes are still buffered at the end.
fn frames_and_rest(d: &mut dyn Decoder, bytes: &[u8], step: usize) -> (Vec<Vec<u8>>, usize) {
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
    (out, buf.len())
}

/// `bytes` framed in one read and split at every byte both give exactly `want`, with nothing
/// left buffered.
pub fn assert_splits_frame_alike(d: &mut dyn Decoder, bytes: &[u8], want: &[Vec<u8>]) {
    for step in [bytes.len(), 1] {
        let (got, rest) = frames_and_rest(d, bytes, step);
        assert_eq!(got, want, "fed in pieces of {step}");
        assert_eq!(rest, 0, "fed in pieces of {step}: bytes left over");
    }
}

/// Feeds `pieces` one after the other to `d`, decoding every frame as it is cut; panics on a
/// skip, a fatal error, a decode error or bytes left over. For streams of valid frames.
pub fn decode_pieces<'a>(
    d: &mut dyn Decoder,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    ctx: &DecodeCtx,
) -> Vec<Decoded> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match d.frame(&mut buf) {
                FrameResult::Frame(f) => out.push(d.decode(&f, ctx).expect("a valid frame")),
                FrameResult::NeedMore => break,
                other => panic!("{other:?}"),
            }
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

/// The framer invariants on arbitrary input, for framers that consume exactly the frame they
/// return (the delimiter inside the frame): each call cuts a non-empty frame of at most
/// `max_frame` bytes, skips at least one byte, or asks for more while holding less than
/// `max_frame` bytes (an oversized frame is never waited for); never a fatal error, never a
/// loop without progress; decoding any cut frame, or the raw input, does not panic.
/// Stricter than the registry-wide `tests/registry_props.rs` (exact consumption, the
/// `max_frame` hold bound); `Err` instead of a panic so proptest can shrink the input.
pub fn random_bytes_invariants(
    d: &mut dyn Decoder,
    bytes: &[u8],
    max_frame: usize,
    ctx: &DecodeCtx,
) -> Result<(), TestCaseError> {
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

/// The framer invariants on arbitrary input, for framers whose frame differs from the bytes
/// consumed (a dropped terminator, unescaping): the pure framer `cut` consumes between one
/// byte and everything buffered, asks for more only while fewer than `hold` bytes are
/// buffered, and the decoder's `frame` consumes exactly what `cut` decided; decoding a cut
/// frame never panics, and every call progresses.
pub fn cut_invariants(
    d: &mut dyn Decoder,
    cut: impl Fn(&[u8]) -> Cut,
    bytes: &[u8],
    hold: usize,
    ctx: &DecodeCtx,
) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    for _ in 0..=bytes.len() {
        let before = buf.len();
        let decided = cut(&buf);
        if decided == Cut::NeedMore {
            prop_assert!(before < hold, "waits holding {} bytes", before);
        } else {
            prop_assert!(decided.consumed() > 0 && decided.consumed() <= before);
        }
        match d.frame(&mut buf) {
            FrameResult::Frame(f) => {
                let _ = d.decode(&f, ctx);
            }
            FrameResult::Skipped(_) => {}
            FrameResult::NeedMore => {
                prop_assert_eq!(decided, Cut::NeedMore);
                break;
            }
            FrameResult::Fatal(e) => prop_assert!(false, "fatal {}", e),
        }
        prop_assert_eq!(buf.len() + decided.consumed(), before);
    }
    Ok(())
}
