//! Replays Traccar's captured GT02 frames (tests/fixtures/gt02) through the trackgate
//! decoder, asserting the exact values Traccar's tests assert. GT02 frames carry no
//! checksum, so both checksum policies must agree on every frame.

mod text_vectors;

use text_vectors::{load, replay};

const VECTORS: &str = include_str!("fixtures/gt02/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

#[test]
fn traccar_vectors_replay() {
    replay("gt02", &load(VECTORS), UNSUPPORTED, |_| vec![], |_| None);
}
