//! Replays Traccar's captured GT06 frames (tests/fixtures/gt06) through the trackgate
//! decoder and framer, asserting the exact values Traccar's tests assert.

// The expectation check every replayed protocol shares (one reading of Traccar's
// expectations for all of them).
#[path = "text_vectors/mod.rs"]
mod text_vectors;

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use text_vectors::check;
use trackgate::model::Record;
use trackgate::protocol::{
    find, ChecksumPolicy, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult,
};

const VECTORS: &str = include_str!("fixtures/gt06/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/gt06/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason. The test
/// fails if one of these starts passing (so the list cannot go stale) or if any other fails.
const UNSUPPORTED: &[(u64, &str)] = &[
    (
        4,
        "0x61 (driver-id location) layout not known: acknowledged, no record",
    ),
    (
        5,
        "0x70 module carrying BLE tag temperature (tag1Temp): module not decoded",
    ),
    (
        7,
        "0x38 (newer 4G location, extended frame) layout not known: unanswered, no record",
    ),
    (
        9,
        "0xA3 step counter (steps): GK310 pedometer field not decoded",
    ),
    (
        10,
        "0x94 sub-type 0x1E humidity sensor: kept as raw data, not decoded",
    ),
    (
        17,
        "0x36 standard-frame battery report (model-specific layout) not decoded",
    ),
    (
        19,
        "0x94 sub-type 0x0B network technology: kept as raw data",
    ),
    (
        21,
        "0x31 altitude field of the AZ735 variant not decoded (altitude stays 0)",
    ),
    (
        22,
        "0x17 reused as GPS+LBS+RFID frame by this model; read as a Wi-Fi scan, which fails",
    ),
    (26, "0x22 with temperature extension (temp1) not decoded"),
    (
        38,
        "LEN wrong and the frame is one byte short of the 18-byte GPS block: truncated",
    ),
    (
        40,
        "0x13 heartbeat produces no record by design (power attribute not stored)",
    ),
    (
        45,
        "0x94 sub-type 0x1B RFID text form (serial attribute) not decoded",
    ),
    (
        55,
        "0x13 heartbeat produces no record by design (batteryLevel not stored)",
    ),
    (70, "frame truncated in the capture (missing 0D 0A)"),
    (
        105,
        "clone 0x10 frame without SERIAL/CRC: the GPS block runs into the trailer",
    ),
    (
        169,
        "0x13 heartbeat produces no record by design (LW4G-4B power)",
    ),
    (
        172,
        "0x13 heartbeat produces no record by design (R11 power)",
    ),
    (
        173,
        "NT20 model override: 0x22 with IMEI prefix; trackgate has no model option",
    ),
    (
        175,
        "XT40 model override: 0x22 with IMEI prefix; trackgate has no model option",
    ),
    (
        178,
        "QH302R model override: 0x12 with IMEI prefix; trackgate has no model option",
    ),
    (182, "VL103 0x36 layout not decoded"),
    (183, "VL103 0x36 layout not decoded (driverUniqueId)"),
    (184, "VL103 0x36 layout not decoded (battery)"),
];

/// Protocol numbers in the vectors that trackgate acknowledges (or deliberately leaves
/// unanswered) without interpreting the content; they decode without error.
const NOT_INTERPRETED: &[&str] = &[
    "gt06:0x1f", // standard frame, acknowledged, layout unknown
    "gt06:0x36", // VL103 / X1 photo data: layout not decoded
    "gt06:0x38", // extended, newer 4G location: layout unknown, unanswered
    "gt06:0x61", // driver-id location: acknowledged, layout unknown
    "gt06:0x66", // FM08ABC PID list (extended): unanswered, not stored
    "gt06:0x84", // extended, unknown: unanswered
    "gt06:0xf2", // extended, unknown: unanswered
    "gt06:0xfd", // extended firmware-version dump: unanswered
];

/// Types whose only vectors are malformed captures (decode errors are the right answer).
const MALFORMED_ONLY: &[&str] = &[
    "gt06:0x08", // `787801080d0a`: 6 bytes, no serial, no CRC
];

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap(),
    }
}

fn decoder(policy: ChecksumPolicy) -> Box<dyn Decoder> {
    let opts = DecoderOptions {
        checksum: policy,
        ..DecoderOptions::default()
    };
    find("gt06").unwrap().new_decoder(&opts).unwrap()
}

fn vectors() -> Vec<Value> {
    let mut v: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    v.sort_by_key(|x| {
        (
            x["session"].as_str().unwrap().to_string(),
            x["seq"].as_u64().unwrap(),
        )
    });
    v
}

#[test]
fn traccar_vectors_replay() {
    let unsupported: BTreeMap<u64, &str> = UNSUPPORTED.iter().copied().collect();
    let mut verify = decoder(ChecksumPolicy::Verify);
    let mut ignore = decoder(ChecksumPolicy::Ignore);
    let mut failures = vec![];
    let mut now_passing = vec![];
    for v in vectors() {
        let seq = v["seq"].as_u64().unwrap();
        let frame = hex::decode(v["frame"].as_str().unwrap()).unwrap();
        let strict = verify.decode(&frame, &ctx());
        let lenient = ignore.decode(&frame, &ctx());
        if v["checksum_valid"] == Value::Bool(false) {
            // seq 70 lost its final 0A in the capture and seq 161 (`787801080d0a`) is too short
            // to hold a CRC: both are rejected as malformed before a CRC can be located.
            let dropped = matches!(strict, Err(DecodeError::Checksum { .. }))
                || ((seq == 70 || seq == 161) && matches!(strict, Err(DecodeError::Invalid(_))));
            assert!(
                dropped,
                "seq {seq}: bad CRC must be dropped under Verify, got {strict:?}"
            );
        } else if v["expect_kind"] != "null" {
            // The device may differ (a bad-CRC login re-identified only the lenient decoder).
            let shape = |r: &Result<Decoded, DecodeError>| {
                r.as_ref()
                    .map(|d| (d.kind.clone(), d.ack.clone(), d.records.len()))
                    .map_err(|e| e.to_string())
            };
            assert_eq!(
                shape(&strict),
                shape(&lenient),
                "seq {seq}: Verify and Ignore differ"
            );
        }
        let outcome = check(&v, &lenient);
        match (outcome, unsupported.get(&seq)) {
            (Ok(()), Some(reason)) => now_passing.push(format!("seq {seq} ({reason})")),
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(e), None) => {
                failures.push(format!("seq {seq} {} {}: {e}", v["msg_type"], v["frame"]))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "listed as unsupported but now pass (remove them):\n{}",
        now_passing.join("\n")
    );
}

#[test]
fn exact_fix_of_the_documented_0x12_frame() {
    // Traccar asserts 2015-10-20T14:21:11Z, 54.94535, 24.01762, valid for this frame.
    let mut d = decoder(ChecksumPolicy::Verify);
    let login = hex::decode("78780d01086471700328358100093f040d0a").unwrap();
    let out = d.decode(&login, &ctx()).unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "864717003283581");
    let f = hex::decode("78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a")
        .unwrap();
    let out = d.decode(&f, &ctx()).unwrap();
    let Record::Position(p) = &out.records[0] else {
        panic!("no position")
    };
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 10, 20, 14, 21, 11).unwrap()
    );
    assert!((p.lat - 54.94535).abs() < 1e-5 && (p.lon - 24.01762).abs() < 1e-5);
    assert!(p.valid);
    assert_eq!(p.speed_kmh, 0.0);
    assert_eq!(p.course, 0.0);
    assert_eq!(p.satellites, 5);
    assert_eq!(out.kind, "location 0x12");
}

#[test]
fn every_message_type_in_the_vectors_decodes() {
    let mut ignore = decoder(ChecksumPolicy::Ignore);
    let mut ok_types = BTreeSet::new();
    let mut all_types = BTreeSet::new();
    for v in vectors() {
        let t = v["msg_type"].as_str().unwrap().to_string();
        all_types.insert(t.clone());
        let frame = hex::decode(v["frame"].as_str().unwrap()).unwrap();
        if let Ok(d) = ignore.decode(&frame, &ctx()) {
            if !d.kind.starts_with("other") || NOT_INTERPRETED.contains(&t.as_str()) {
                ok_types.insert(t);
            }
        }
    }
    let missing: Vec<_> = all_types
        .difference(&ok_types)
        .filter(|t| !MALFORMED_ONLY.contains(&t.as_str()))
        .collect();
    assert!(missing.is_empty(), "types never decoded: {missing:?}");
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    let vs: Vec<Value> = serde_json::from_str(FRAME_VECTORS).unwrap();
    // The one listed difference: with LEN promising more bytes than have arrived, trackgate
    // waits unless the early candidate's CRC checks out (Traccar cuts at the first 0D 0A).
    // The equivalent assertion: once any further bytes arrive, the same frame is cut.
    let follow = hex::decode("787805230001d9dc0d0a").unwrap();
    for v in vs {
        let input = hex::decode(v["input_hex"].as_str().unwrap()).unwrap();
        let want = hex::decode(v["expect"]["frame_hex"].as_str().unwrap()).unwrap();
        let mut dec = decoder(ChecksumPolicy::Verify);
        let mut buf = BytesMut::from(&input[..]);
        let got = match dec.frame(&mut buf) {
            FrameResult::Frame(f) => f,
            FrameResult::NeedMore
                if input[0] == 0x78 && usize::from(input[2]) + 5 > input.len() =>
            {
                buf.extend_from_slice(&follow);
                match dec.frame(&mut buf) {
                    FrameResult::Frame(f) => f,
                    other => panic!("{}: {other:?}", v["source"]),
                }
            }
            other => panic!("{}: {other:?}", v["source"]),
        };
        assert_eq!(hex::encode(&got), hex::encode(&want), "{}", v["source"]);
    }
}
