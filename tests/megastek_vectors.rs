//! Replays Traccar's captured Megastek reports (tests/fixtures/megastek) through the
//! trackgate decoder and framer, asserting the exact values Traccar's tests assert; every
//! report is decoded under both checksum policies (an `STX` report whose checksum is wrong
//! must be refused under `verify`).

mod text_vectors;

use text_vectors::{bytes, frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/megastek/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/megastek/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "MegastekProtocolDecoderTest.java:77",
        "declared length 0125 but 175 bytes follow (hand-edited): refused as malformed",
    ),
    (
        "MegastekProtocolDecoderTest.java:128",
        "longitude 09494.73357: 94 minutes is no coordinate (hand-made report, imei 123456789012345)",
    ),
    (
        "MegastekProtocolDecoderTest.java:131",
        "longitude 09494.45403: 94 minutes is no coordinate (hand-made report, imei 123456789012345)",
    ),
];

/// `Some(valid)` for the `;hh` an `STX` report ends with: the sum of every byte up to and
/// including `;` (`STX,` / `LOGSTX,`), or the XOR of the bytes after `STX` up to `;` (the
/// padded-id form). `$MGV` reports carry none.
fn checksum_ok(frame: &[u8]) -> Option<bool> {
    let s = std::str::from_utf8(frame).ok()?.trim_end();
    let semi = s.len().checked_sub(3)?;
    if !s.starts_with("STX") && !s.starts_with("LOGSTX") || s.as_bytes()[semi] != b';' {
        return None;
    }
    let want = u8::from_str_radix(&s[semi + 1..], 16).ok()?;
    let b = s.as_bytes();
    Some(if s.starts_with("STX,") || s.starts_with("LOGSTX,") {
        b[..=semi].iter().fold(0u8, |a, &x| a.wrapping_add(x)) == want
    } else {
        b[3..semi].iter().fold(0u8, |a, &x| a ^ x) == want
    })
}

#[test]
fn traccar_vectors_replay() {
    let vectors = load(VECTORS);
    let stale = vectors
        .iter()
        .filter(|v| checksum_ok(&bytes(v)) == Some(false))
        .count();
    assert_eq!(stale, 4, "the captures with hand-edited bytes");
    replay("megastek", &vectors, UNSUPPORTED, |_| vec![], checksum_ok);
}

#[test]
fn traccar_frame_vectors() {
    frame_vectors("megastek", FRAME_VECTORS, &[]);
}
