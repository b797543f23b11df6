//! Replays Traccar's captured H02 frames (tests/fixtures/h02) through the trackgate decoder
//! and framer, asserting the exact values Traccar's tests assert.

mod text_support;

use bytes::BytesMut;
use serde_json::Value;
use text_support::*;
use trackgate::protocol::FrameResult;

const VECTORS: &str = include_str!("fixtures/h02/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/h02/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason.
const UNSUPPORTED: &[(u64, &str)] = &[];

#[test]
fn traccar_vectors_replay() {
    replay("h02", VECTORS, UNSUPPORTED);
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    let vs: Vec<Value> = serde_json::from_str(FRAME_VECTORS).unwrap();
    for v in vs {
        let input = hex::decode(v["input_hex"].as_str().unwrap()).unwrap();
        let want = hex::decode(v["expect"]["frame_hex"].as_str().unwrap()).unwrap();
        let mut dec = decoder("h02");
        let mut buf = BytesMut::from(&input[..]);
        let got = loop {
            match dec.frame(&mut buf) {
                FrameResult::Frame(f) => break f,
                FrameResult::Skipped(_) => continue,
                other => panic!("{}: {other:?}", v["source"]),
            }
        };
        // Trailing CR LF already received belongs to the text frame (Traccar drops it).
        let trimmed = got.strip_suffix(b"\r\n").unwrap_or(&got);
        assert_eq!(hex::encode(trimmed), hex::encode(&want), "{}", v["source"]);
    }
}
