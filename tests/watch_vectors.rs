//! Replays Traccar's captured watch frames (tests/fixtures/watch) through the trackgate decoder
//! and framer, asserting the exact values Traccar's tests assert.

mod text_vectors;

use text_vectors::{frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/watch/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/watch/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "WatchProtocolDecoderTest.java:185",
    "TK voice message: trackgate stores no media (no audio attribute)",
)];

#[test]
fn traccar_vectors_replay() {
    replay("watch", &load(VECTORS), UNSUPPORTED, |_| vec![], |_| None);
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    frame_vectors("watch", FRAME_VECTORS, &[]);
}
