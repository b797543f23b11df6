//! Replays Traccar's captured gl200 frames (tests/fixtures/gl200) through the trackgate decoder
//! and framer, asserting the exact values Traccar's tests assert.

mod text_vectors;

use text_vectors::{frame_vectors, load, replay};

const VECTORS: &str = include_str!("fixtures/gl200/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/gl200/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, each with the reason (key =
/// Traccar test file:line). The replay fails if one of these starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("Gl200BinaryProtocolDecoderTest.java:13", "binary @Track variant not decoded"),
    ("Gl200BinaryProtocolDecoderTest.java:16", "binary @Track variant not decoded"),
    ("Gl200BinaryProtocolDecoderTest.java:22", "binary @Track variant not decoded"),
    ("Gl200BinaryProtocolDecoderTest.java:28", "binary @Track variant not decoded"),
    ("Gl200BinaryProtocolDecoderTest.java:31", "binary @Track variant not decoded"),
    ("Gl200TextProtocolDecoderTest.java:42", "GTDAT user data field (data) not kept"),
    ("Gl200TextProtocolDecoderTest.java:50", "GTERI fuel sensor extension (model-specific tail) not decoded"),
    ("Gl200TextProtocolDecoderTest.java:70", "GTCAN CAN-bus fields (adBlueLevel) not decoded"),
    ("Gl200TextProtocolDecoderTest.java:74", "GTINF device information fields (power2) not decoded"),
    ("Gl200TextProtocolDecoderTest.java:129", "battery % sits at a model-specific place after the fix: not decoded"),
    ("Gl200TextProtocolDecoderTest.java:149", "GTBAA BLE accessory fields not decoded"),
    ("Gl200TextProtocolDecoderTest.java:157", "GTDTT transparent data (fuel) not decoded"),
    ("Gl200TextProtocolDecoderTest.java:168", "report without a fix: trackgate stores an event, it does not invent a position from the last one"),
    ("Gl200TextProtocolDecoderTest.java:179", "battery % sits at a model-specific place after the fix: not decoded"),
    ("Gl200TextProtocolDecoderTest.java:186", "battery % sits at a model-specific place after the fix: not decoded"),
    ("Gl200TextProtocolDecoderTest.java:200", "battery % sits at a model-specific place after the fix: not decoded"),
    ("Gl200TextProtocolDecoderTest.java:208", "digital input state (in1) from the device-status field not decoded"),
    ("Gl200TextProtocolDecoderTest.java:215", "battery % sits at a model-specific place after the fix: not decoded"),
    ("Gl200TextProtocolDecoderTest.java:369", "report without a fix: trackgate stores an event, it does not invent a position from the last one"),
    ("Gl200TextProtocolDecoderTest.java:603", "GTINF device information fields (power) not decoded"),
    ("Gl200TextProtocolDecoderTest.java:607", "GTINF device information fields (adc3) not decoded"),
];

/// Binary frames the framer skips rather than cuts (the binary variant is not decoded).
const FRAME_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "Gl200FrameDecoderTest.java:17",
        "binary @Track frame: skipped",
    ),
    (
        "Gl200FrameDecoderTest.java:21",
        "binary @Track frame: skipped",
    ),
    (
        "Gl200FrameDecoderTest.java:25",
        "binary @Track frame: skipped",
    ),
];

#[test]
fn traccar_vectors_replay() {
    replay("gl200", &load(VECTORS), UNSUPPORTED, |_| vec![], |_| None);
}

#[test]
fn traccar_frame_vectors_cut_exactly() {
    frame_vectors("gl200", FRAME_VECTORS, FRAME_UNSUPPORTED);
}
