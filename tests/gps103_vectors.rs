//! Replays Traccar's captured gps103 frames (tests/fixtures/gps103) through the trackgate decoder,
//! asserting the exact values Traccar's tests assert.

mod text_support;

use text_support::*;

const VECTORS: &str = include_str!("fixtures/gps103/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = seq;
/// 1000 + seq for the integration-test session). The replay fails if one starts passing.
const UNSUPPORTED: &[(u64, &str)] = &[];

#[test]
fn traccar_vectors_replay() {
    replay("gps103", VECTORS, UNSUPPORTED);
}
