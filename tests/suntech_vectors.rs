//! Replays Traccar's captured suntech frames (tests/fixtures/suntech) through the trackgate decoder
//! and framer, asserting the exact values Traccar's tests assert.

mod text_vectors;

use text_vectors::{frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/suntech/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/suntech/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "SuntechProtocolDecoderTest.java:15",
        "binary report type 0x02 (layout unknown) not decoded",
    ),
    (
        "SuntechProtocolDecoderTest.java:18",
        "ST419 variant of the ST4xx layout (extra fields) not decoded",
    ),
    (
        "SuntechProtocolDecoderTest.java:25",
        "ST410 report without date/time (cell-only) not decoded",
    ),
    (
        "SuntechProtocolDecoderTest.java:35",
        "universal ALT assign fields (assign1) not decoded",
    ),
    (
        "SuntechProtocolDecoderTest.java:59",
        "UEX free-text serial data (serial) not kept",
    ),
    (
        "SuntechProtocolDecoderTest.java:325",
        "driver id position in this firmware's HBM tail differs: not decoded",
    ),
];

/// Traccar's decoder settings in the test → trackgate's `[protocols.suntech.options]`.
fn options(v: &serde_json::Value) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![];
    for c in v["decoder_config"].as_array().into_iter().flatten() {
        match c.as_str().unwrap() {
            "decoder.setProtocolType(1)" => out.push(("protocol_type", "1")),
            "decoder.setHbm(1)" | "decoder.setHbm(2)" | "decoder.setHbm(true)" => {
                if !out.contains(&("hbm", "true")) {
                    out.push(("hbm", "true"))
                }
            }
            "decoder.setIncludeAdc(true)" => out.push(("include_adc", "true")),
            "decoder.setIncludeRpm(true)" => out.push(("include_rpm", "true")),
            "decoder.setIncludeTemp(true)" => out.push(("include_temp", "true")),
            other => panic!("unmapped Traccar setting {other}"),
        }
    }
    out
}

#[test]
fn traccar_vectors_replay() {
    replay("suntech", &load(VECTORS), UNSUPPORTED, options, |_| None);
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    frame_vectors("suntech", FRAME_VECTORS, &[]);
}
