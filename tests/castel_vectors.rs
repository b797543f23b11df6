//! Replays Traccar's captured Castel frames (tests/fixtures/castel) through trackgate's
//! framer and decoder: Traccar's expectations by the shared replay, then exact values.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use text_vectors::*;

const VECTORS: &str = include_str!("fixtures/castel/vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "CastelProtocolDecoderTest.java:27",
    "SC type 0x401F: its layout is in no public document we found; kept as a raw event",
)];

/// CRC-16/X-25 over everything before the CRC, little-endian.
fn checksum_ok(f: &[u8]) -> Option<bool> {
    let n = f.len();
    let c = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC).checksum(&f[..n - 4]);
    Some(c == u16::from_le_bytes([f[n - 4], f[n - 3]]))
}

#[test]
fn traccar_vectors_replay() {
    replay(
        "castel",
        &load(VECTORS),
        UNSUPPORTED,
        |_| vec![],
        checksum_ok,
    );
}

/// (Traccar line, first fix) fix = (time, lat, lon, km/h, course, satellites, valid).
type Fix = (&'static str, f64, f64, f64, f64, u8, bool);
const EXACT: &[(&str, Fix)] = &[
    (
        "24",
        (
            "2024-11-15T06:27:19Z",
            22.54779,
            113.93124,
            0.0,
            0.0,
            0,
            false,
        ),
    ),
    (
        "54",
        (
            "2018-02-04T16:42:47Z",
            12.0094183,
            -86.31976,
            70.992,
            39.1,
            8,
            true,
        ),
    ),
    (
        "60",
        (
            "2017-07-28T14:17:13Z",
            -33.02477,
            -71.55549,
            0.0,
            131.0,
            8,
            true,
        ),
    ),
    (
        "75",
        (
            "2016-11-04T09:12:53Z",
            -33.7848317,
            151.2698267,
            9.54,
            0.0,
            0,
            false,
        ),
    ),
    (
        "96",
        (
            "2016-08-05T06:26:53Z",
            51.1291517,
            -114.248455,
            0.108,
            286.6,
            11,
            true,
        ),
    ),
    (
        "102",
        (
            "2016-02-06T11:53:54Z",
            45.7174767,
            12.468615,
            0.0,
            0.0,
            0,
            false,
        ),
    ),
    (
        "105",
        (
            "2016-02-06T11:54:41Z",
            45.7175117,
            12.468575,
            0.0,
            322.5,
            7,
            true,
        ),
    ),
    (
        "111",
        (
            "2015-12-18T10:25:05Z",
            -38.88683,
            -62.099185,
            26.244,
            341.2,
            9,
            true,
        ),
    ),
    (
        "114",
        (
            "2013-10-25T05:57:25Z",
            22.54621,
            113.93746,
            0.0,
            0.0,
            11,
            true,
        ),
    ),
    (
        "141",
        (
            "2015-10-28T14:54:45Z",
            41.0205717,
            14.33624,
            0.0,
            0.0,
            0,
            false,
        ),
    ),
    (
        "171",
        (
            "2015-06-06T16:11:45Z",
            35.671065,
            139.732795,
            0.0,
            167.6,
            5,
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

fn decode(line: &str) -> trackgate::protocol::Decoded {
    // Line 96 carries a second frame glued to it and a CRC that does not match: Ignore.
    let mut d = decoder("castel", trackgate::protocol::ChecksumPolicy::Ignore, &[]);
    d.decode(&bytes(&by_line(line)), &ctx())
        .unwrap_or_else(|e| panic!("line {line}: {e}"))
}

#[test]
fn exact_values() {
    use trackgate::model::Record;
    for (line, f) in EXACT {
        let out = decode(line);
        let p = out
            .records
            .iter()
            .find_map(|r| match r {
                Record::Position(p) => Some(p),
                _ => None,
            })
            .unwrap_or_else(|| panic!("line {line}: no position"));
        let t: chrono::DateTime<chrono::Utc> = f.0.parse().unwrap();
        assert_eq!(p.fix_time, t, "line {line}");
        assert!(
            (p.lat - f.1).abs() < 1e-7 && (p.lon - f.2).abs() < 1e-7,
            "line {line}"
        );
        assert!(
            (p.speed_kmh - f.3).abs() < 1e-9,
            "line {line}: {}",
            p.speed_kmh
        );
        assert_eq!(
            (p.course, p.satellites, p.valid),
            (f.4, f.5, f.6),
            "line {line}"
        );
    }
}

/// `@@ | len LE | [version] | id[20] | type BE | content | CRC-16/X-25 LE | \r\n`, built
/// here independently of the code under test.
fn answer(frame: &[u8], version: bool, typ: u16, content: &[u8]) -> Vec<u8> {
    let id = if version {
        &frame[5..25]
    } else {
        &frame[4..24]
    };
    let total = 4 + usize::from(version) + 20 + 2 + content.len() + 4;
    let mut a = b"@@".to_vec();
    a.extend_from_slice(&(total as u16).to_le_bytes());
    if version {
        a.push(frame[4]);
    }
    a.extend_from_slice(id);
    a.extend_from_slice(&typ.to_be_bytes());
    a.extend_from_slice(content);
    let c = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC).checksum(&a);
    a.extend_from_slice(&c.to_le_bytes());
    a.extend_from_slice(b"\r\n");
    a
}

#[test]
fn answers_are_exact() {
    // SC login (line 60): 0x9001 with FFFFFFFF, 0000 and the server time.
    let f = bytes(&by_line("60"));
    let mut content = vec![0xff; 4];
    content.extend_from_slice(&[0, 0]);
    content.extend_from_slice(&(ctx().now.timestamp() as u32).to_le_bytes());
    assert_eq!(
        decode("60").ack.accepted.as_deref(),
        Some(&answer(&f, true, 0x9001, &content)[..])
    );
    // SC heartbeat (line 162): 0x9003.
    let f = bytes(&by_line("162"));
    assert_eq!(
        decode("162").ack.accepted.as_deref(),
        Some(&answer(&f, true, 0x9003, &[])[..])
    );
    // CC login (line 54, version 5): 0x8001.
    let f = bytes(&by_line("54"));
    assert_eq!(
        decode("54").ack.accepted.as_deref(),
        Some(&answer(&f, true, 0x8001, &[])[..])
    );
    // MPIP 0x2001 (line 102): 0x1001 with 00000000 and eight FF, no version byte.
    let f = bytes(&by_line("102"));
    let mut c = vec![0; 4];
    c.extend_from_slice(&[0xff; 8]);
    assert_eq!(
        decode("102").ack.accepted.as_deref(),
        Some(&answer(&f, false, 0x1001, &c)[..])
    );
    // GPS reports (line 171) are not answered.
    assert_eq!(decode("171").ack.accepted, None);
}
