//! Replays Traccar's captured Meiligao frames (tests/fixtures/meiligao) through trackgate's
//! framer and decoder: Traccar's expectations by the shared replay, then exact values.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use text_vectors::*;

const VECTORS: &str = include_str!("fixtures/meiligao/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/meiligao/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// CRC-16/CCITT-FALSE over everything before the CRC.
fn checksum_ok(f: &[u8]) -> Option<bool> {
    let n = f.len();
    let c = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(&f[..n - 4]);
    Some(c == u16::from_be_bytes([f[n - 4], f[n - 3]]))
}

#[test]
fn traccar_vectors_replay() {
    replay(
        "meiligao",
        &load(VECTORS),
        UNSUPPORTED,
        |_| vec![],
        checksum_ok,
    );
}

#[test]
fn traccar_frame_vectors() {
    frame_vectors("meiligao", FRAME_VECTORS, &[]);
}

/// (Traccar line, device id, positions, first fix) with fix = (time, lat, lon, km/h, course,
/// valid); km/h is the sentence's knots × 1.852.
type Fix = (&'static str, f64, f64, f64, f64, bool);
const EXACT: &[(&str, &str, usize, Fix)] = &[
    (
        "22",
        "143190975469",
        1,
        ("2020-01-20T10:46:48Z", 7.892305, 98.36963, 0.0, 0.0, false),
    ),
    (
        "40",
        "142170525979",
        1,
        (
            "2017-10-24T17:58:02Z",
            13.1011567,
            100.90415,
            0.0,
            313.0,
            true,
        ),
    ),
    (
        "43",
        "611720362371183",
        1,
        (
            "2017-10-25T09:36:04Z",
            3.0553583,
            101.7858333,
            0.0,
            0.0,
            false,
        ),
    ),
    (
        "46",
        "611720362371183",
        5,
        (
            "2017-10-25T09:58:03Z",
            3.0556983,
            101.7901733,
            13.03808,
            206.61,
            true,
        ),
    ),
    (
        "49",
        "1092",
        1,
        (
            "2017-06-28T22:05:49Z",
            35.618695,
            11.001055,
            12.00096,
            193.0,
            true,
        ),
    ),
    (
        "58",
        "000000000000000",
        1,
        ("2016-10-21T21:03:30Z", -45.57304, -72.051, 0.0, 0.0, false),
    ),
    (
        "79",
        "679650207910896",
        1,
        (
            "2015-09-30T11:31:18Z",
            10.6327967,
            -61.359465,
            1.00008,
            2.42,
            true,
        ),
    ),
    (
        "126",
        "26016100901",
        1,
        (
            "2013-07-04T16:58:53Z",
            41.1600353,
            -8.6431865,
            7.191316,
            12.0,
            true,
        ),
    ),
    (
        "147",
        "2015603256",
        1,
        (
            "2015-06-26T20:02:09Z",
            17.744908,
            83.317595,
            19.005224,
            248.55,
            true,
        ),
    ),
];

fn by_line(line: &str) -> serde_json::Value {
    load(VECTORS)
        .into_iter()
        .find(|v| key(v).ends_with(&format!(".java:{line}")))
        .unwrap()
}

#[test]
fn exact_values() {
    use trackgate::model::Record;
    use trackgate::protocol::ChecksumPolicy;
    for (line, id, n, f) in EXACT {
        let mut d = decoder("meiligao", ChecksumPolicy::Ignore, &[]);
        let out = d
            .decode(&bytes(&by_line(line)), &ctx())
            .unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(out.identity.as_ref().unwrap().as_str(), *id, "line {line}");
        assert_eq!(out.records.len(), *n, "line {line}");
        let Record::Position(p) = &out.records[0] else {
            panic!("line {line}: no position")
        };
        let t: chrono::DateTime<chrono::Utc> = f.0.parse().unwrap();
        assert_eq!(p.fix_time, t, "line {line}");
        assert!(
            (p.lat - f.1).abs() < 1e-7 && (p.lon - f.2).abs() < 1e-7,
            "line {line}: {} {}",
            p.lat,
            p.lon
        );
        assert!(
            (p.speed_kmh - f.3).abs() < 1e-9,
            "line {line}: {}",
            p.speed_kmh
        );
        assert_eq!((p.course, p.valid), (f.4, f.5), "line {line}");
        assert_eq!(
            out.ack.accepted, None,
            "line {line}: reports are not answered"
        );
    }
}

#[test]
fn login_answer_is_exact() {
    use trackgate::protocol::ChecksumPolicy;
    let mut d = decoder("meiligao", ChecksumPolicy::Verify, &[]);
    let out = d.decode(&bytes(&by_line("76")), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "671440258855408");
    let mut want = b"@@".to_vec();
    want.extend_from_slice(&[0x00, 0x12]);
    want.extend_from_slice(&hex::decode("67144025885540").unwrap());
    want.extend_from_slice(&[0x40, 0x00, 0x01]);
    let c = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740).checksum(&want);
    want.extend_from_slice(&c.to_be_bytes());
    want.extend_from_slice(b"\r\n");
    assert_eq!(out.ack.accepted.as_deref(), Some(&want[..]));
}
