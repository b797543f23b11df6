//! Replays Traccar's captured T55 frames (tests/fixtures/t55) through the trackgate framer
//! and decoder, asserting the exact values Traccar's tests assert, and checks the NMEA
//! checksum policy on every frame: a strict decoder that knows the same device drops exactly
//! the frames whose checksum the test computes as wrong, and decodes the others identically.

mod stream_replay;
mod text_vectors;

use std::collections::BTreeMap;
use stream_replay::{run, verdict};
use text_vectors::{bytes, check, ctx, decoder, key, load};
use trackgate::protocol::{ChecksumPolicy, DecodeError, Decoder};

const VECTORS: &str = include_str!("fixtures/t55/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "T55ProtocolDecoderTest.java:163",
    "WMCS `$ID,…` report: its tagged layout (units of `V`, meaning of `H`) is in no public \
     document available; Traccar's decoder is the only source",
)];

/// `Some(valid)` for a `$…*hh` sentence with a hex checksum field, `None` otherwise.
fn checksum_ok(frame: &[u8]) -> Option<bool> {
    let s = String::from_utf8_lossy(frame);
    let s = s.trim();
    let s = &s[s.find('$')?..];
    let star = s.find('*')?;
    let field = s[star + 1..].split(',').next()?.trim();
    if !(1..=2).contains(&field.len()) {
        return None;
    }
    let want = u8::from_str_radix(field, 16).ok()?;
    Some(s.as_bytes()[1..star].iter().fold(0u8, |a, b| a ^ b) == want)
}

/// An id line naming `id` with a correct checksum, to put a fresh decoder in a session's state.
fn pgid(id: &str) -> Vec<u8> {
    let body = format!("PGID,{id}");
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{cs:02X}").into_bytes()
}

#[test]
fn traccar_vectors_replay() {
    let unsupported: BTreeMap<&str, &str> = UNSUPPORTED.iter().copied().collect();
    let mut failures = vec![];
    let mut now_passing = vec![];
    let mut sessions: BTreeMap<String, Box<dyn Decoder>> = BTreeMap::new();
    let mut stale = 0;
    for v in load(VECTORS) {
        let k = key(&v);
        let lenient = sessions
            .entry(v["session"].as_str().unwrap().to_string())
            .or_insert_with(|| decoder("t55", ChecksumPolicy::Ignore, &[]));
        let frame = bytes(&v);
        let stream = v["layer"] == "tcp_stream";
        // The strict decoder starts where the session is: same device, nothing held.
        let mut strict = decoder("t55", ChecksumPolicy::Verify, &[]);
        if let Some(id) = lenient.device() {
            strict.decode(&pgid(id.as_str()), &ctx()).expect("id line");
        }
        let held = frame.starts_with(b"$GPFID");
        let l = run(lenient.as_mut(), &frame, stream);
        let s = run(strict.as_mut(), &frame, stream);
        match checksum_ok(&frame) {
            Some(false) if !stream => {
                stale += 1;
                assert!(
                    matches!(s, Err(DecodeError::Checksum { .. })),
                    "{k}: a wrong checksum must be dropped under verify, got {s:?}"
                );
            }
            // `$GPFID` releases a fix the session held; the fresh strict decoder holds none.
            _ if held || stream => {}
            _ => assert_eq!(s, l, "{k}"),
        }
        match (check(&v, &l), unsupported.get(k.as_str())) {
            (Ok(()), Some(reason)) => now_passing.push(format!("{k} ({reason})")),
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(e), None) => failures.push(format!("{k} {}: {e}", v["frame"])),
        }
    }
    assert_eq!(stale, 8, "the captures with hand-edited checksums");
    verdict(&failures, &now_passing);
}
