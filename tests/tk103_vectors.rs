//! Replays Traccar's captured tk103 frames (tests/fixtures/tk103) through the trackgate decoder,
//! asserting the exact values Traccar's tests assert.

mod text_support;

use text_support::*;

const VECTORS: &str = include_str!("fixtures/tk103/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = seq;
/// 1000 + seq for the integration-test session). The replay fails if one starts passing.
const UNSUPPORTED: &[(u64, &str)] = &[
    (
        1,
        "BS50 battery-pack (BMS) report: cell voltages and temperatures not decoded",
    ),
    (
        12,
        "DW5B cell/Wi-Fi report has no GNSS fix: stored as an lbs event; Traccar fills in the last known position",
    ),
    (
        30,
        "BO01 date field 061830 is not a real yymmdd date (month 18); Traccar's lenient calendar rolls it over",
    ),
];

#[test]
fn traccar_vectors_replay() {
    replay("tk103", VECTORS, UNSUPPORTED);
}

/// Traccar's `Tk103FrameDecoderTest`: the first frame cut from each input, garbage skipped,
/// `)` inside `$…$` text kept, and no frame while a `$` text is still open.
#[test]
fn traccar_frame_vectors_cut_exactly() {
    use bytes::BytesMut;
    use serde_json::Value;
    use trackgate::protocol::FrameResult;
    let vs: Vec<Value> =
        serde_json::from_str(include_str!("fixtures/tk103/frame_vectors.json")).unwrap();
    let mut dec = decoder("tk103");
    let mut buf = BytesMut::new();
    for v in vs {
        if v["input_is_remainder_of_previous"] != Value::Bool(true) {
            dec = decoder("tk103");
            buf = BytesMut::from(&hex::decode(v["input_hex"].as_str().unwrap()).unwrap()[..]);
        }
        let got = loop {
            match dec.frame(&mut buf) {
                FrameResult::Frame(f) => break Some(f),
                FrameResult::Skipped(_) => continue,
                FrameResult::NeedMore => break None,
                FrameResult::Fatal(e) => panic!("{}: {e}", v["source"]),
            }
        };
        match v["expect_kind"].as_str().unwrap() {
            "null" => assert_eq!(got, None, "{}", v["source"]),
            _ => {
                let want = hex::decode(v["expect"]["frame_hex"].as_str().unwrap()).unwrap();
                let got = got.unwrap_or_else(|| panic!("{}: no frame", v["source"]));
                assert_eq!(hex::encode(&got), hex::encode(&want), "{}", v["source"]);
            }
        }
    }
}
