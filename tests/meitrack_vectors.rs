//! Replays Traccar's captured meitrack frames (tests/fixtures/meitrack) through the trackgate decoder
//! and framer, asserting the exact values Traccar's tests assert.

mod text_vectors;

use text_vectors::{frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/meitrack/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/meitrack/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "MeitrackProtocolDecoderTest.java:21",
        "CCE photo file name (image): trackgate stores no media",
    ),
    (
        "MeitrackProtocolDecoderTest.java:25",
        "CCE BLE tag extension (tagTemp) not decoded",
    ),
    (
        "MeitrackProtocolDecoderTest.java:33",
        "CCE BLE tag extension (tagName) not decoded",
    ),
    (
        "MeitrackProtocolDecoderTest.java:37",
        "CCE second battery parameter (battery2Level) not decoded",
    ),
    (
        "MeitrackProtocolDecoderTest.java:44",
        "CCE battery level of this model sits in another parameter: not decoded",
    ),
    (
        "MeitrackProtocolDecoderTest.java:48",
        "CCE lock state parameter not decoded",
    ),
];

/// The Meitrack checksum, computed here independently of the decoder: low byte of the sum
/// of every byte through the last `*`, against the two hex digits after it.
fn checksum_ok(frame: &[u8]) -> Option<bool> {
    let f = frame.strip_suffix(b"\r\n").unwrap_or(frame);
    let star = f.iter().rposition(|&b| b == b'*')?;
    let want =
        u8::from_str_radix(std::str::from_utf8(f.get(star + 1..star + 3)?).ok()?, 16).ok()?;
    let sum = f[..=star].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    Some(sum == want)
}

#[test]
fn traccar_vectors_replay() {
    replay(
        "meitrack",
        &load(VECTORS),
        UNSUPPORTED,
        |_| vec![],
        checksum_ok,
    );
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    frame_vectors("meitrack", FRAME_VECTORS, &[]);
}
