//! Replays Traccar's captured Wialon IPS frames (tests/fixtures/wialon) through the trackgate
//! framer and decoder, asserting the exact values Traccar's tests assert, and checks the
//! 2.0 CRC policy on every frame: a strict decoder drops exactly the frames whose CRC the
//! test computes as wrong, and decodes every other frame as the lenient one does.

mod stream_replay;
mod text_vectors;

use std::collections::BTreeMap;
use stream_replay::{run, verdict};
use text_vectors::{bytes, check, decoder, key, load};
use trackgate::protocol::{ChecksumPolicy, DecodeError, Decoder};

const VECTORS: &str = include_str!("fixtures/wialon/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// The CRC a Wialon IPS 2.0 packet should carry: CRC-16/ARC from after the type's `#` up to
/// and including the separator before the CRC field. `None` when the packet has no CRC field
/// (1.x layouts); `Some(valid)` otherwise.
fn crc_ok(frame: &[u8]) -> Option<bool> {
    let text = String::from_utf8_lossy(frame);
    let (_, rest) = text.split_once('#')?;
    let (kind, data) = rest.split_once('#')?;
    let has_crc = match kind {
        "L" => data.split(';').next()?.contains('.'),
        "SD" => data.split(';').count() == 11,
        "D" => data.split(';').count() == 17,
        _ => false,
    };
    if !has_crc {
        return None;
    }
    let at = data.rfind(';')?;
    let field = data[at + 1..].trim_start_matches("0x");
    let want = u16::from_str_radix(field, 16).ok()?;
    let crc = crc::Crc::<u16>::new(&crc::CRC_16_ARC);
    Some(crc.checksum(&data.as_bytes()[..=at]) == want)
}

/// One session's decoders: CRC verified, CRC ignored.
type StrictAndLenient = (Box<dyn Decoder>, Box<dyn Decoder>);

#[test]
fn traccar_vectors_replay() {
    let unsupported: BTreeMap<&str, &str> = UNSUPPORTED.iter().copied().collect();
    let mut failures = vec![];
    let mut now_passing = vec![];
    let mut sessions: BTreeMap<String, StrictAndLenient> = BTreeMap::new();
    let mut checked_crc = 0;
    for v in load(VECTORS) {
        let k = key(&v);
        let (strict, lenient) = sessions
            .entry(v["session"].as_str().unwrap().to_string())
            .or_insert_with(|| {
                (
                    decoder("wialon", ChecksumPolicy::Verify, &[]),
                    decoder("wialon", ChecksumPolicy::Ignore, &[]),
                )
            });
        let frame = bytes(&v);
        let stream = v["layer"] == "tcp_stream";
        let l = run(lenient.as_mut(), &frame, stream);
        let s = run(strict.as_mut(), &frame, stream);
        match crc_ok(&frame) {
            Some(false) => {
                checked_crc += 1;
                assert!(
                    matches!(s, Err(DecodeError::Checksum { .. })),
                    "{k}: a wrong CRC must be dropped under verify, got {s:?}"
                );
            }
            _ if strict.device() == lenient.device() => assert_eq!(s, l, "{k}"),
            // The strict session never logged in (its login had the wrong CRC).
            _ => assert!(
                matches!(s, Err(DecodeError::NotIdentified { .. })),
                "{k}: {s:?}"
            ),
        }
        match (check(&v, &l), unsupported.get(k.as_str())) {
            (Ok(()), Some(reason)) => now_passing.push(format!("{k} ({reason})")),
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(e), None) => failures.push(format!("{k} {}: {e}", v["frame"])),
        }
    }
    assert_eq!(
        checked_crc, 1,
        "the one stale CRC (the anonymised 2.0 login)"
    );
    verdict(&failures, &now_passing);
}
