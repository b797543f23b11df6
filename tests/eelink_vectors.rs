//! Replays Traccar's captured Eelink frames (tests/fixtures/eelink) through trackgate's
//! framer and decoder: Traccar's expectations by the shared replay, then exact values.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use text_vectors::*;

const VECTORS: &str = include_str!("fixtures/eelink/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "EelinkProtocolDecoderTest.java:17",
        "a bare report first on the connection, before any login: it names no device (Traccar's \
         test has its device preset); trackgate refuses it as not identified",
    ),
    (
        "EelinkProtocolDecoderTest.java:27",
        "reports without a fix (flag bit 0 clear): Traccar repeats the last known location; \
         trackgate keeps their values as events and invents no position",
    ),
];

/// The `EL` wrapper's rotate-add checksum; bare packets carry none.
fn checksum_ok(f: &[u8]) -> Option<bool> {
    if !f.starts_with(b"EL") || f.len() < 6 {
        return None;
    }
    let sum = f[6..]
        .iter()
        .fold(0u16, |s, &b| s.rotate_left(1).wrapping_add(u16::from(b)));
    Some(sum == u16::from_be_bytes([f[4], f[5]]))
}

#[test]
fn traccar_vectors_replay() {
    replay(
        "eelink",
        &load(VECTORS),
        UNSUPPORTED,
        |_| vec![],
        checksum_ok,
    );
}

/// (Traccar line, positions' first fix) fix = (time, lat, lon, km/h, course); old reports
/// (types 0x02–0x06) also carry their validity flag.
type Fix = (&'static str, f64, f64, f64, f64);
const EXACT: &[(&str, u8, Fix, Option<bool>)] = &[
    (
        "45",
        0x14,
        ("2018-04-16T05:54:05Z", 22.557965, 113.935445, 0.0, 0.0),
        None,
    ),
    (
        "54",
        0x12,
        ("2017-05-05T01:45:28Z", 22.5581583, 113.9351717, 0.0, 0.0),
        None,
    ),
    (
        "60",
        0x12,
        ("2017-09-19T20:48:18Z", 52.2268444, 5.1756783, 0.0, 0.0),
        None,
    ),
    (
        "63",
        0x05,
        ("2017-09-23T18:58:21Z", -6.9226806, 107.6098117, 0.0, 0.0),
        Some(true),
    ),
    (
        "69",
        0x02,
        ("2017-09-05T09:51:03Z", -29.5866544, 30.4086322, 0.0, 0.0),
        Some(true),
    ),
    (
        "84",
        0x12,
        ("2017-05-30T01:27:04Z", 1.3905989, 103.7679594, 70.0, 92.0),
        None,
    ),
    (
        "93",
        0x12,
        ("2016-07-12T10:52:59Z", 21.2001572, 72.8305811, 0.0, 0.0),
        None,
    ),
    (
        "96",
        0x14,
        ("2016-07-12T10:53:24Z", 21.2001572, 72.8305811, 1.0, 0.0),
        None,
    ),
    (
        "102",
        0x04,
        ("2016-01-20T20:49:33Z", 47.463675, 19.0437833, 6.0, 272.0),
        Some(true),
    ),
    (
        "111",
        0x04,
        ("2016-01-20T17:25:22Z", 47.4639417, 19.0431117, 0.0, 0.0),
        Some(false),
    ),
    (
        "123",
        0x02,
        ("2014-05-24T11:47:43Z", 14.5910717, 104.4393061, 15.0, 343.0),
        Some(true),
    ),
];

fn by_line(line: &str) -> serde_json::Value {
    load(VECTORS)
        .into_iter()
        .find(|v| key(v).ends_with(&format!(".java:{line}")))
        .unwrap()
}

/// A decoder that has seen a login (the captures' bare packets need one).
fn logged_in() -> Box<dyn trackgate::protocol::Decoder> {
    let mut d = decoder("eelink", trackgate::protocol::ChecksumPolicy::Verify, &[]);
    d.decode(&bytes(&by_line("57")), &ctx()).unwrap();
    d
}

#[test]
fn exact_values_and_answers() {
    use trackgate::model::Record;
    for (line, typ, f, valid) in EXACT {
        let frame = bytes(&by_line(line));
        let out = logged_in()
            .decode(&frame, &ctx())
            .unwrap_or_else(|e| panic!("line {line}: {e}"));
        let Record::Position(p) = &out.records[0] else {
            panic!("line {line}: no position")
        };
        let t: chrono::DateTime<chrono::Utc> = f.0.parse().unwrap();
        assert_eq!(p.fix_time, t, "line {line}");
        assert!(
            (p.lat - f.1).abs() < 1e-7 && (p.lon - f.2).abs() < 1e-7,
            "line {line}"
        );
        assert_eq!((p.speed_kmh, p.course), (f.3, f.4), "line {line}");
        if let Some(v) = valid {
            assert_eq!(p.valid, *v, "line {line}");
        }
        // Every packet but GPS (0x02) is answered with its type and sequence.
        let packet = if frame.starts_with(b"EL") {
            &frame[14..]
        } else {
            &frame[..]
        };
        let want = (*typ != 0x02).then(|| {
            let mut a = vec![b'g', b'g', *typ, 0, 2];
            a.extend_from_slice(&packet[5..7]);
            a
        });
        assert_eq!(out.ack.accepted.as_deref(), want.as_deref(), "line {line}");
    }
}

#[test]
fn login_answer_carries_the_server_time_and_udp_answers_are_wrapped() {
    let mut d = decoder("eelink", trackgate::protocol::ChecksumPolicy::Verify, &[]);
    let out = d.decode(&bytes(&by_line("57")), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "352544071750518");
    let mut want = b"gg\x01\x00\x09\x00\x7b".to_vec();
    want.extend_from_slice(&(ctx().now.timestamp() as u32).to_be_bytes());
    want.extend_from_slice(&[0, 1, 0]);
    assert_eq!(out.ack.accepted.as_deref(), Some(&want[..]));
    // Line 54 as a datagram: the answer goes back in an EL wrapper with the unit's IMEI.
    let f = bytes(&by_line("54"));
    let out = d.decode_datagram(&f, &ctx()).unwrap();
    let mut inner = f[6..14].to_vec();
    inner.extend_from_slice(b"gg\x12\x00\x02\x00\x21");
    let sum = inner
        .iter()
        .fold(0u16, |s, &b| s.rotate_left(1).wrapping_add(u16::from(b)));
    let mut want = b"EL".to_vec();
    want.extend_from_slice(&((inner.len() + 2) as u16).to_be_bytes());
    want.extend_from_slice(&sum.to_be_bytes());
    want.extend_from_slice(&inner);
    assert_eq!(out.ack.accepted.as_deref(), Some(&want[..]));
}

#[test]
fn where_answer_is_a_position() {
    let out = logged_in().decode(&bytes(&by_line("48")), &ctx()).unwrap();
    let trackgate::model::Record::Position(p) = &out.records[0] else {
        panic!("no position")
    };
    assert_eq!(
        p.fix_time,
        "2017-12-02T11:29:43Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!((p.lat, p.lon), (31.83955, -82.61346));
}
