//! Replays Traccar's captured Laipac frames (tests/fixtures/laipac) through the trackgate
//! decoder, asserting the exact values Traccar's tests assert; every frame is decoded under
//! both checksum policies (all captured checksums are valid, so both must agree).

mod text_vectors;

use text_vectors::{load, replay};

const VECTORS: &str = include_str!("fixtures/laipac/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// `Some(valid)` for the NMEA `*hh` checksum every Laipac sentence ends with.
fn checksum_ok(frame: &[u8]) -> Option<bool> {
    let s = std::str::from_utf8(frame)
        .ok()?
        .trim_end()
        .strip_prefix('$')?;
    let (body, cs) = s.rsplit_once('*')?;
    let want = u8::from_str_radix(cs, 16).ok()?;
    Some(body.bytes().fold(0u8, |a, b| a ^ b) == want)
}

#[test]
fn traccar_vectors_replay() {
    let vectors = load(VECTORS);
    assert!(vectors
        .iter()
        .all(|v| checksum_ok(&text_vectors::bytes(v)) == Some(true)));
    replay("laipac", &vectors, UNSUPPORTED, |_| vec![], checksum_ok);
}
