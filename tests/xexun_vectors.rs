//! Replays Traccar's captured Xexun frames (tests/fixtures/xexun) through the trackgate
//! decoder and framer, asserting the exact values Traccar's tests assert; every report names
//! its IMEI, so each frame is decoded under both checksum policies and compared.

mod text_vectors;

use text_vectors::{bytes, frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/xexun/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/xexun/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// Traccar's basic-mode framer cuts the `G?RMC…imei:<n>,` middle out of a line and drops the
/// rest; trackgate cuts the whole line (and decodes the full form's prefix and tail).
const FRAME_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "XexunFrameDecoderTest.java:15",
        "no line break in the captured bytes: trackgate waits for the end of the line",
    ),
    (
        "XexunFrameDecoderTest.java:19",
        "trackgate keeps the whole line (serial, phone, tail), not only the RMC…imei middle",
    ),
];

/// `Some(valid)` for the RMC `*hh` checksum (XOR from `G` of `G?RMC` to `*`).
fn checksum_ok(frame: &[u8]) -> Option<bool> {
    let s = String::from_utf8_lossy(frame);
    let start = s.find("RMC,")?.checked_sub(2)?;
    let star = start + s[start..].find('*')?;
    let want = u8::from_str_radix(s.get(star + 1..star + 3)?, 16).ok()?;
    Some(s.as_bytes()[start..star].iter().fold(0u8, |a, b| a ^ b) == want)
}

#[test]
fn traccar_vectors_replay() {
    let vectors = load(VECTORS);
    let stale = vectors
        .iter()
        .filter(|v| checksum_ok(&bytes(v)) == Some(false))
        .count();
    assert_eq!(stale, 8, "the captures with hand-edited checksums");
    replay("xexun", &vectors, UNSUPPORTED, |_| vec![], checksum_ok);
}

#[test]
fn traccar_frame_vectors() {
    frame_vectors("xexun", FRAME_VECTORS, FRAME_UNSUPPORTED);
}
