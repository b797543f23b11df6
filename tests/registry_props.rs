//! One property test over the whole protocol registry: for every stream protocol, random
//! bytes and random truncations of captured frames pushed through framer + decoder in random
//! chunks never panic, never consume more than was given, and always make progress.
//!
//! Valid frames come from each protocol's captured fixtures (`tests/fixtures/<p>/vectors.json`,
//! TCP entries), so a protocol added to the registry is covered as soon as its fixtures are.
//! Protocols without a TCP transport (HTTP, MQTT) have no framer to test: they are skipped,
//! by name, with the reason. Every protocol served over UDP (CalAmp only there) also gets its
//! datagram decoder fed random and truncated datagrams.

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use trackgate::protocol::{DecodeCtx, Decoder, DecoderOptions, FrameResult, Protocol, REGISTRY};

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn stream_protocols() -> Vec<&'static dyn Protocol> {
    REGISTRY
        .iter()
        .copied()
        .filter(|p| {
            let t = p.transports();
            if !t.tcp && !t.udp {
                eprintln!(
                    "registry_props: {} skipped: no byte stream (served over HTTP / MQTT, one \
                     request or message per frame; its decoders have their own tests)",
                    p.name()
                );
            }
            t.tcp
        })
        .collect()
}

/// Protocols served over UDP: their `decode_datagram` is fed arbitrary datagrams.
fn datagram_protocols() -> Vec<&'static dyn Protocol> {
    REGISTRY
        .iter()
        .copied()
        .filter(|p| p.transports().udp)
        .collect()
}

/// Captured TCP frames of `p` (hex or ISO-8859-1 text).
fn fixtures(p: &dyn Protocol) -> Vec<Vec<u8>> {
    let frames = fixtures_of(p, "tcp");
    assert!(!frames.is_empty(), "{}: no TCP fixtures", p.name());
    frames
}

/// Captured frames of `p` sent over `transport`.
fn fixtures_of(p: &dyn Protocol, transport: &str) -> Vec<Vec<u8>> {
    let path = format!(
        "{}/tests/fixtures/{}/vectors.json",
        env!("CARGO_MANIFEST_DIR"),
        p.name()
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {path}: {e} (every protocol ships fixtures)", p.name()));
    let vs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let frames: Vec<Vec<u8>> = vs
        .iter()
        .filter(|v| v["transport"] == transport)
        .filter_map(|v| {
            let f = v["frame"].as_str()?;
            match v["encoding"].as_str()? {
                "hex" => hex::decode(f).ok(),
                _ => Some(f.chars().map(|c| c as u32 as u8).collect()),
            }
        })
        .collect();
    frames
}

/// Feeds `data` in chunks of the given sizes, checking the framer invariants after every
/// call and decoding every frame it cuts.
fn pump(dec: &mut dyn Decoder, data: &[u8], chunks: &[usize], max_frame: usize) {
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let mut sizes = chunks.iter().cycle();
    while fed < data.len() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, data.len() - fed);
        buf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        // A framer call either consumes bytes or asks for more; bound the loop so a framer
        // that loops without progress fails instead of hanging.
        for _ in 0..=buf.len() + 1 {
            let before = buf.len();
            match dec.frame(&mut buf) {
                FrameResult::NeedMore => {
                    assert_eq!(buf.len(), before, "NeedMore must not consume");
                    break;
                }
                FrameResult::Frame(f) => {
                    assert!(!f.is_empty(), "empty frame is no progress");
                    assert!(f.len() <= max_frame, "frame of {} > max_frame", f.len());
                    // Text framers drop their delimiters (`]`, `\r\n`, `$`), so a frame may
                    // be shorter than what it consumed, never longer.
                    let consumed = before - buf.len();
                    assert!(consumed > 0, "a frame that consumed nothing is no progress");
                    assert!(
                        f.len() <= consumed,
                        "frame of {} from {consumed} bytes",
                        f.len()
                    );
                    let _ = dec.decode(&f, &ctx());
                }
                FrameResult::Skipped(k) => {
                    assert!(k > 0, "Skipped(0) is no progress");
                    assert_eq!(buf.len() + k, before, "Skipped count differs from consumed");
                }
                FrameResult::Fatal(_) => return,
            }
            assert!(buf.len() <= before);
        }
    }
}

fn opts() -> DecoderOptions {
    DecoderOptions::default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..1500),
                    chunks in proptest::collection::vec(1usize..64, 1..8)) {
        for p in stream_protocols() {
            let mut dec = p.new_decoder(&opts()).unwrap();
            pump(dec.as_mut(), &data, &chunks, opts().max_frame);
        }
    }

    #[test]
    fn truncated_and_concatenated_fixtures(pick in any::<prop::sample::Index>(),
                                           cut in any::<prop::sample::Index>(),
                                           garbage in proptest::collection::vec(any::<u8>(), 0..16),
                                           chunks in proptest::collection::vec(1usize..64, 1..8)) {
        for p in stream_protocols() {
            let frames = fixtures(p);
            let f = &frames[pick.index(frames.len())];
            let truncated = &f[..cut.index(f.len() + 1)];
            let mut data = garbage.clone();
            data.extend_from_slice(truncated);
            data.extend_from_slice(f);
            let mut dec = p.new_decoder(&opts()).unwrap();
            pump(dec.as_mut(), &data, &chunks, opts().max_frame);
            // Decoding a truncated frame directly is an error or a result, never a panic.
            let mut dec = p.new_decoder(&opts()).unwrap();
            let _ = dec.decode(truncated, &ctx());
        }
    }

    /// Random datagrams, and captured ones truncated or with garbage appended, through every
    /// UDP protocol's datagram decoder (one decoder per peer): a result or an error, never a
    /// panic.
    #[test]
    fn random_and_truncated_datagrams(data in proptest::collection::vec(any::<u8>(), 0..600),
                                      pick in any::<prop::sample::Index>(),
                                      cut in any::<prop::sample::Index>()) {
        for p in datagram_protocols() {
            let mut dec = p.new_decoder(&opts()).unwrap();
            let _ = dec.decode_datagram(&data, &ctx());
            let captured = fixtures_of(p, "udp");
            if captured.is_empty() {
                continue;
            }
            let f = &captured[pick.index(captured.len())];
            let _ = dec.decode_datagram(&f[..cut.index(f.len() + 1)], &ctx());
            let mut longer = f.clone();
            longer.extend_from_slice(&data);
            let _ = dec.decode_datagram(&longer, &ctx());
        }
    }
}

#[test]
fn every_protocol_is_either_a_stream_or_skipped_by_name() {
    let streams: Vec<_> = stream_protocols().iter().map(|p| p.name()).collect();
    for p in REGISTRY {
        let covered = streams.contains(&p.name());
        let udp_only = p.transports().udp && !p.transports().tcp;
        assert!(
            covered || udp_only || p.http() || p.name() == "owntracks",
            "{} has neither a TCP framer, UDP, nor an HTTP/MQTT transport",
            p.name()
        );
        if covered {
            assert!(!fixtures(*p).is_empty());
        }
        if udp_only {
            assert!(
                !fixtures_of(*p, "udp").is_empty(),
                "{}: no UDP fixtures",
                p.name()
            );
        }
    }
}
