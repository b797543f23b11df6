//! Replays Traccar's captured Galileosky frames (tests/fixtures/galileo) through trackgate's
//! framer and decoder: Traccar's expectations by the shared replay, then exact values.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use chrono::{DateTime, Utc};
use text_vectors::*;
use trackgate::model::{Position, Record};
use trackgate::protocol::{ChecksumPolicy, Decoded};

const VECTORS: &str = include_str!("fixtures/galileo/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/galileo/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// Traccar's `setCompressed(false)` is the default here (compressed Iridium payloads are not
/// decoded), so it maps to nothing.
fn options(v: &serde_json::Value) -> Vec<(&'static str, &'static str)> {
    if let Some(cfg) = v["decoder_config"].as_array() {
        for c in cfg {
            assert_eq!(c, "decoder.setCompressed(false)", "unmapped config");
        }
    }
    vec![]
}

/// Main packets carry a CRC-16/MODBUS; Iridium messages and photo parts are checked apart.
fn checksum_ok(f: &[u8]) -> Option<bool> {
    if f[0] != 0x01 || f.get(3..6) == Some(&[0x01, 0x00, 0x1c][..]) {
        return None;
    }
    let n = f.len();
    let crc = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS).checksum(&f[..n - 2]);
    Some(crc == u16::from_le_bytes([f[n - 2], f[n - 1]]))
}

#[test]
fn traccar_vectors_replay() {
    replay("galileo", &load(VECTORS), UNSUPPORTED, options, checksum_ok);
}

#[test]
fn traccar_frame_vectors() {
    frame_vectors("galileo", FRAME_VECTORS, &[]);
}

/// Every decoder-input vector is one whole frame for the framer.
#[test]
fn framer_cuts_every_vector_whole() {
    for v in load(VECTORS) {
        let f = bytes(&v);
        let mut d = decoder("galileo", ChecksumPolicy::Verify, &[]);
        let mut buf = bytes::BytesMut::from(&f[..]);
        match d.frame(&mut buf) {
            trackgate::protocol::FrameResult::Frame(got) => assert_eq!(&got[..], &f[..]),
            other => panic!("{}: {other:?}", key(&v)),
        }
    }
}

/// The session of Traccar's test replayed in order: (Traccar line, positions, first fix, last
/// fix) with fix = (time, lat, lon, speed km/h, course, altitude, satellites).
type Fix = (&'static str, f64, f64, f64, f64, f64, u8);
const EXACT: &[(&str, usize, Fix, Fix)] = &[
    (
        "GalileoProtocolDecoderTest.java:13",
        1,
        (
            "2018-09-17T13:22:04Z",
            24.709763,
            46.665418,
            0.0,
            0.0,
            696.0,
            12,
        ),
        (
            "2018-09-17T13:22:04Z",
            24.709763,
            46.665418,
            0.0,
            0.0,
            696.0,
            12,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:19",
        5,
        (
            "2018-09-11T05:21:12Z",
            26.294976,
            49.924871,
            10.1,
            179.8,
            19.0,
            12,
        ),
        (
            "2018-09-11T05:25:15Z",
            26.294893,
            49.924893,
            0.0,
            167.4,
            19.0,
            12,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:31",
        11,
        (
            "2016-06-24T03:28:53Z",
            53.41784,
            50.167228,
            9.9,
            106.2,
            62.0,
            5,
        ),
        (
            "2016-06-24T03:17:37Z",
            53.417868,
            50.166956,
            8.3,
            271.2,
            22.0,
            4,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:37",
        15,
        (
            "2014-04-14T15:58:31Z",
            59.665656,
            69.994,
            109.5,
            67.0,
            64.0,
            8,
        ),
        (
            "2014-04-13T23:22:12Z",
            57.148144,
            66.403336,
            90.7,
            255.3,
            60.0,
            8,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:40",
        3,
        (
            "2013-07-25T07:25:15Z",
            57.98696,
            56.208424,
            0.0,
            0.0,
            118.0,
            10,
        ),
        (
            "2013-07-25T07:23:58Z",
            57.987288,
            56.208388,
            0.0,
            0.0,
            165.0,
            14,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:46",
        9,
        (
            "2024-07-24T05:35:08Z",
            16.664611,
            96.299373,
            0.0,
            0.0,
            22.0,
            12,
        ),
        (
            "2024-07-24T04:55:08Z",
            16.664611,
            96.299373,
            0.0,
            0.0,
            22.0,
            12,
        ),
    ),
    (
        "GalileoProtocolDecoderTest.java:49",
        9,
        (
            "2022-11-18T08:28:06Z",
            41.20642,
            72.450703,
            0.0,
            0.0,
            1372.0,
            6,
        ),
        (
            "2022-11-18T08:25:38Z",
            41.206028,
            72.450068,
            19.8,
            29.1,
            1333.0,
            6,
        ),
    ),
];

fn positions(d: &Decoded) -> Vec<&Position> {
    d.records
        .iter()
        .filter_map(|r| match r {
            Record::Position(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn assert_fix(p: &Position, f: Fix, what: &str) {
    let t: DateTime<Utc> = f.0.parse().unwrap();
    assert_eq!(p.fix_time, t, "{what}");
    assert_eq!((p.lat, p.lon), (f.1, f.2), "{what}");
    assert_eq!(
        (p.speed_kmh, p.course, p.altitude_m),
        (f.3, f.4, f.5),
        "{what}"
    );
    assert_eq!((p.satellites, p.valid), (f.6, true), "{what}");
}

#[test]
fn exact_values_and_acks() {
    let mut d = decoder("galileo", ChecksumPolicy::Verify, &[]);
    for v in load(VECTORS) {
        let f = bytes(&v);
        let out = d.decode(&f, &ctx());
        let k = key(&v);
        let Some((_, n, first, last)) = EXACT.iter().find(|e| e.0 == k) else {
            continue;
        };
        let out = out.unwrap_or_else(|e| panic!("{k}: {e}"));
        let n_crc = f.len();
        assert_eq!(
            out.ack.accepted.as_deref(),
            Some(&[0x02, f[n_crc - 2], f[n_crc - 1]][..]),
            "{k}: 02 + the packet's CRC"
        );
        let ps = positions(&out);
        assert_eq!(ps.len(), *n, "{k}");
        assert_fix(ps[0], *first, &k);
        assert_fix(ps[n - 1], *last, &k);
        // The archive flag (bit 15 of the length) marks backlog records.
        let archive = f[2] & 0x80 != 0;
        assert!(ps.iter().all(|p| p.historical == archive), "{k}");
    }
}

#[test]
fn photo_part_and_head_packet_answers() {
    let mut d = decoder("galileo", ChecksumPolicy::Verify, &[]);
    let vs = load(VECTORS);
    let by_line = |line: &str| {
        bytes(
            vs.iter()
                .find(|v| key(v) == format!("GalileoProtocolDecoderTest.java:{line}"))
                .unwrap(),
        )
    };
    let head = d.decode(&by_line("13"), &ctx()).unwrap();
    assert_eq!(head.identity.unwrap().as_str(), "868345032042426");
    let photo = by_line("22");
    let out = d.decode(&photo, &ctx()).unwrap();
    assert_eq!(hex::encode(out.ack.accepted.unwrap()), "07d4ba");
    assert!(out.records.is_empty());
    let out = d.decode(&by_line("34"), &ctx()).unwrap();
    assert_eq!(hex::encode(out.ack.accepted.unwrap()), "028590");
    assert_eq!(out.identity.unwrap().as_str(), "868204001549087");
}
