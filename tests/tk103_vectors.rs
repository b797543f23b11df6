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
