//! Helpers of the vector replays whose sessions run under `checksum = "ignore"` beside a
//! strict decoder (wialon, t55: captures with stale hand-edited checksums): decoding a
//! vector as the device sent it, and the final verdict of a replay. Needs `text_vectors`
//! beside it (the shared clock).
#![allow(dead_code)]

use super::text_vectors::ctx;
use bytes::BytesMut;
use trackgate::protocol::{DecodeError, Decoded, Decoder, FrameResult};

/// Frames a `tcp_stream` vector through the framer (the records of all its frames merged),
/// or decodes a `decoder_input` vector as one frame.
pub fn run(dec: &mut dyn Decoder, input: &[u8], stream: bool) -> Result<Decoded, DecodeError> {
    if !stream {
        return dec.decode(input, &ctx());
    }
    let mut buf = BytesMut::from(input);
    let mut merged = Decoded::default();
    loop {
        match dec.frame(&mut buf) {
            FrameResult::Frame(f) => merged.records.extend(dec.decode(&f, &ctx())?.records),
            FrameResult::Skipped(_) => {}
            FrameResult::NeedMore => break,
            FrameResult::Fatal(e) => panic!("{e}"),
        }
    }
    Ok(merged)
}

/// Fails on any unexpected failure, and on any vector listed as unsupported that passes.
pub fn verdict(failures: &[String], now_passing: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "listed as unsupported but now pass (remove them):\n{}",
        now_passing.join("\n")
    );
}
