//! Replays Traccar's captured CalAmp LM Direct datagrams (tests/fixtures/calamp) through
//! trackgate's decoder: Traccar's expectations by the shared replay, then exact values and
//! the exact ACK each datagram asks for.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use chrono::{DateTime, Utc};
use text_vectors::*;
use trackgate::model::{EventKind, Record};
use trackgate::protocol::ChecksumPolicy;

const VECTORS: &str = include_str!("fixtures/calamp/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

#[test]
fn traccar_vectors_replay() {
    replay("calamp", &load(VECTORS), UNSUPPORTED, |_| vec![], |_| None);
}

/// (seq, mobile id, sequence number, acked type, time, lat, lon, km/h, course, sats, valid,
/// historic).
type Exact = (
    u64,
    &'static str,
    u16,
    u8,
    &'static str,
    f64,
    f64,
    f64,
    f64,
    u8,
    bool,
    bool,
);
const EXACT: &[Exact] = &[
    (
        0,
        "4764358634",
        0x0010,
        4,
        "2020-10-30T15:24:30Z",
        -34.8727875,
        -54.9855376,
        0.0,
        52.0,
        0,
        true,
        false,
    ),
    (
        1,
        "352648068863398",
        0x039c,
        2,
        "2019-06-09T00:07:41Z",
        42.8949341,
        -85.7659106,
        3.168,
        273.0,
        8,
        true,
        false,
    ),
    (
        2,
        "1633033459",
        0x8afd,
        2,
        "2017-09-05T10:27:32Z",
        18.499067,
        73.8284046,
        15.876,
        69.0,
        9,
        true,
        false,
    ),
    (
        3,
        "270113179708107822",
        0x00dc,
        2,
        "2016-11-29T09:41:19Z",
        43.2473346,
        -85.3716691,
        4.788,
        236.0,
        8,
        true,
        false,
    ),
    (
        4,
        "1333039105",
        0x0045,
        2,
        "2016-09-22T10:35:12Z",
        53.4259931,
        -2.3186331,
        2.376,
        305.0,
        7,
        true,
        false,
    ),
    (
        5,
        "3133014816",
        0x0455,
        2,
        "2016-09-27T08:32:58Z",
        51.5835611,
        0.623779,
        0.0,
        0.0,
        6,
        true,
        true,
    ),
    (
        6,
        "4542050670",
        0x0081,
        2,
        "2016-08-09T05:31:22Z",
        39.9358351,
        -85.9724713,
        0.0,
        0.0,
        7,
        true,
        true,
    ),
    (
        7,
        "2132052924",
        0x0001,
        2,
        "2016-06-11T18:31:31Z",
        0.0,
        0.0,
        0.0,
        0.0,
        0,
        false,
        true,
    ),
    (
        8,
        "4332149486",
        0x0080,
        10,
        "2015-09-30T03:43:26Z",
        24.6272041,
        46.8513733,
        5.0,
        240.0,
        9,
        true,
        false,
    ),
    (
        9,
        "4332149486",
        0x0c21,
        10,
        "2015-09-28T03:39:20Z",
        24.624201,
        46.8551891,
        0.0,
        0.0,
        9,
        true,
        false,
    ),
    (
        11,
        "353301059723580",
        0x0889,
        2,
        "2014-01-17T20:38:28Z",
        32.3987303,
        -99.3754398,
        121.284,
        110.0,
        16,
        true,
        false,
    ),
    (
        12,
        "355233050116134",
        0x4456,
        2,
        "2014-01-17T20:34:41Z",
        30.6999948,
        -96.3705273,
        0.0,
        0.0,
        14,
        true,
        false,
    ),
    (
        13,
        "4542018545",
        0x0007,
        2,
        "2015-03-28T15:16:20Z",
        26.330282,
        -81.7053915,
        0.0,
        137.0,
        0,
        true,
        true,
    ),
    (
        14,
        "4332149475",
        0x0008,
        10,
        "2014-12-18T06:51:54Z",
        24.7790055,
        46.7286913,
        0.0,
        86.0,
        4,
        true,
        false,
    ),
];

fn ack(seq: u16, typ: u8) -> String {
    format!("0201{seq:04x}{typ:02x}0000000000")
}

#[test]
fn exact_values_and_acks() {
    let vs = load(VECTORS);
    assert_eq!(vs.len(), 15);
    for e in EXACT {
        let v = vs.iter().find(|v| v["seq"] == e.0).unwrap();
        let mut d = decoder("calamp", ChecksumPolicy::Verify, &[]);
        let out = d
            .decode_datagram(&bytes(v), &ctx())
            .unwrap_or_else(|err| panic!("seq {}: {err}", e.0));
        assert_eq!(out.identity.as_ref().unwrap().as_str(), e.1, "seq {}", e.0);
        assert_eq!(
            hex::encode(out.ack.accepted.as_ref().unwrap()),
            ack(e.2, e.3),
            "seq {}",
            e.0
        );
        let Record::Position(p) = &out.records[0] else {
            panic!("seq {}: no position", e.0)
        };
        let t: DateTime<Utc> = e.4.parse().unwrap();
        assert_eq!(p.fix_time, t, "seq {}", e.0);
        assert!(
            (p.lat - e.5).abs() < 1e-9 && (p.lon - e.6).abs() < 1e-9,
            "seq {}",
            e.0
        );
        assert!(
            (p.speed_kmh - e.7).abs() < 1e-9,
            "seq {}: {}",
            e.0,
            p.speed_kmh
        );
        assert_eq!((p.course, p.satellites), (e.8, e.9), "seq {}", e.0);
        assert_eq!((p.valid, p.historical), (e.10, e.11), "seq {}", e.0);
    }
}

#[test]
fn id_report_is_a_login_and_short_accumulators_are_marked() {
    let vs = load(VECTORS);
    let mut d = decoder("calamp", ChecksumPolicy::Verify, &[]);
    let v = vs.iter().find(|v| v["seq"] == 10).unwrap();
    let out = d.decode_datagram(&bytes(v), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "4532104183");
    assert!(matches!(&out.records[..], [Record::Event(e)] if e.kind == EventKind::Login));
    assert_eq!(hex::encode(out.ack.accepted.unwrap()), ack(1, 3));
    // seq 6 declares 23 accumulators and carries 21.
    let v = vs.iter().find(|v| v["seq"] == 6).unwrap();
    let out = d.decode_datagram(&bytes(v), &ctx()).unwrap();
    let Record::Position(p) = &out.records[0] else {
        panic!()
    };
    assert_eq!(
        p.io.get("acc_declared"),
        Some(&trackgate::model::IoValue::Int(23))
    );
    assert!(p.io.contains_key("acc20") && !p.io.contains_key("acc21"));
}
