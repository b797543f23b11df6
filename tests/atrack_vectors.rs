//! Replays Traccar's captured ATrack frames (tests/fixtures/atrack) through trackgate's
//! framer and decoder: Traccar's expectations by the shared replay, then exact values.

#[path = "text_vectors/mod.rs"]
mod text_vectors;

use serde_json::Value;
use text_vectors::*;

const VECTORS: &str = include_str!("fixtures/atrack/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/atrack/frame_vectors.json");

/// Vectors whose Traccar expectation trackgate does not meet, with the reason (key = test
/// file:line). The replay fails if one starts passing.
const UNSUPPORTED: &[(&str, &str)] = &[(
    "AtrackProtocolDecoderTest.java:52",
    "binary custom form with keys of unpublished width (%EO, %EH, %ZL3, %ZO14 ...): the record \
     cannot be walked, the frame is rejected (Traccar reads them as 0 bytes and misreads the rest)",
)];

/// Traccar settings → trackgate options. `setLongDate` is read off the bytes here and
/// `setCustom(true)` means "a `%CI` form string is in the record", which trackgate detects;
/// `setForm` is the `form` option (the last one set wins, as in Traccar's test).
fn options(v: &Value) -> Vec<(&'static str, &'static str)> {
    let mut form = None;
    for c in v["decoder_config"].as_array().into_iter().flatten() {
        let c = c.as_str().unwrap();
        if let Some(f) = c.strip_prefix("decoder.setForm(\"") {
            form = Some(f.trim_end_matches("\")").to_string());
        } else {
            assert!(
                c.starts_with("decoder.setLongDate(") || c.starts_with("decoder.setCustom("),
                "unmapped config {c}"
            );
        }
    }
    form.map(|f| vec![("form", &*Box::leak(f.into_boxed_str()))])
        .unwrap_or_default()
}

/// CRC-16/ARC: binary over `len..end`, text over the bytes after the CRC field.
fn checksum_ok(f: &[u8]) -> Option<bool> {
    let arc = |d: &[u8]| crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(d);
    match f {
        [b'@', b'P', b',', ..] => {
            let want = u16::from_str_radix(std::str::from_utf8(&f[3..7]).ok()?, 16).ok()?;
            Some(arc(&f[7..]) == want)
        }
        [b'@', b'P' | b'R', ..] if f.len() > 6 => {
            Some(arc(&f[4..]) == u16::from_be_bytes([f[2], f[3]]))
        }
        _ => None,
    }
}

#[test]
fn traccar_vectors_replay() {
    replay("atrack", &load(VECTORS), UNSUPPORTED, options, checksum_ok);
}

#[test]
fn traccar_frame_vectors() {
    frame_vectors("atrack", FRAME_VECTORS, &[]);
}

/// (Traccar line, unit id, positions, first fix, last fix), fix = (time, lat, lon, course,
/// speed km/h); binary reports also carry the ACK `FE 02 | unit id | seq`.
type Fix = (&'static str, f64, f64, f64, f64);
const EXACT: &[(&str, &str, usize, Fix, Fix)] = &[
    (
        "22",
        "353816057242284",
        1,
        ("2018-06-22T01:58:09Z", 4.01423, 9.720689, 61.0, 0.0),
        ("2018-06-22T01:58:09Z", 4.01423, 9.720689, 61.0, 0.0),
    ),
    (
        "25",
        "358901048091554",
        1,
        ("2018-04-12T14:35:13Z", 48.1787, 16.423389, 108.0, 0.0),
        ("2018-04-12T14:35:13Z", 48.1787, 16.423389, 108.0, 0.0),
    ),
    (
        "31",
        "862877033691328",
        1,
        ("2018-02-17T23:01:18Z", -0.147288, 35.523285, 243.0, 0.0),
        ("2018-02-17T23:01:18Z", -0.147288, 35.523285, 243.0, 0.0),
    ),
    (
        "46",
        "1004715",
        13,
        ("2024-03-30T03:27:44Z", 30.397226, -97.640403, 90.0, 0.0),
        ("2024-03-30T03:39:44Z", 30.397226, -97.640403, 90.0, 0.0),
    ),
    (
        "58",
        "356961075931165",
        1,
        ("2019-01-07T03:02:30Z", 44.271154, -88.429209, 54.0, 0.0),
        ("2019-01-07T03:02:30Z", 44.271154, -88.429209, 54.0, 0.0),
    ),
    (
        "74",
        "356961075931165",
        2,
        ("2018-08-19T20:54:07Z", 43.988312, -88.586191, 86.0, 19.0),
        ("2018-08-19T20:54:08Z", 43.988335, -88.586098, 67.0, 23.0),
    ),
    (
        "83",
        "356961075931165",
        3,
        ("2018-08-14T01:48:18Z", 44.271135, -88.42919, 288.0, 0.0),
        ("2018-08-14T01:50:17Z", 44.271135, -88.42919, 288.0, 0.0),
    ),
    (
        "91",
        "357543057991638",
        2,
        ("2015-10-27T20:56:24Z", 36.126593, 44.041945, 100.0, 0.0),
        ("2015-10-27T20:56:24Z", 36.126593, 44.041945, 100.0, 0.0),
    ),
    (
        "99",
        "356363059253700",
        1,
        ("1970-01-01T00:00:00Z", 0.0, 0.0, 0.0, 0.0),
        ("1970-01-01T00:00:00Z", 0.0, 0.0, 0.0, 0.0),
    ),
    (
        "103",
        "352964052096642",
        2,
        ("2013-10-10T08:35:14Z", 40.470661, -3.656828, 0.0, 0.0),
        ("2013-10-10T08:35:14Z", 40.470661, -3.656828, 0.0, 0.0),
    ),
    (
        "106",
        "352964052096642",
        1,
        ("2013-10-16T17:31:09Z", 40.547543, -3.635179, 0.0, 11.0),
        ("2013-10-16T17:31:09Z", 40.547543, -3.635179, 0.0, 11.0),
    ),
    (
        "129",
        "357766091026083",
        1,
        ("2019-05-26T22:04:25Z", 37.407524, -121.90022, 175.0, 39.0),
        ("2019-05-26T22:04:25Z", 37.407524, -121.90022, 175.0, 39.0),
    ),
];

fn by_line(line: &str) -> Value {
    load(VECTORS)
        .into_iter()
        .find(|v| key(v).ends_with(&format!(".java:{line}")))
        .unwrap()
}

fn positions(d: &trackgate::protocol::Decoded) -> Vec<&trackgate::model::Position> {
    d.records
        .iter()
        .filter_map(|r| match r {
            trackgate::model::Record::Position(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn assert_fix(p: &trackgate::model::Position, f: Fix, what: &str) {
    let t: chrono::DateTime<chrono::Utc> = f.0.parse().unwrap();
    assert_eq!(p.fix_time, t, "{what}");
    assert!(
        (p.lat - f.1).abs() < 1e-9 && (p.lon - f.2).abs() < 1e-9,
        "{what}: {} {}",
        p.lat,
        p.lon
    );
    assert_eq!((p.course, p.speed_kmh), (f.3, f.4), "{what}");
}

#[test]
fn exact_values_and_acks() {
    use trackgate::protocol::ChecksumPolicy;
    for (line, unit, n, first, last) in EXACT {
        let v = by_line(line);
        let opts = options(&v);
        let mut d = decoder("atrack", ChecksumPolicy::Ignore, &opts);
        let f = bytes(&v);
        let out = d
            .decode(&f, &ctx())
            .unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(
            out.identity.as_ref().unwrap().as_str(),
            *unit,
            "line {line}"
        );
        let ps = positions(&out);
        assert_eq!(ps.len(), *n, "line {line}");
        assert_fix(ps[0], *first, line);
        assert_fix(ps[n - 1], *last, line);
        if f[2] != b',' {
            let mut ack = vec![0xfe, 0x02];
            ack.extend_from_slice(&unit.parse::<u64>().unwrap().to_be_bytes());
            ack.extend_from_slice(&f[6..8]);
            assert_eq!(out.ack.accepted.as_deref(), Some(&ack[..]), "line {line}");
        } else {
            assert_eq!(
                out.ack.accepted, None,
                "line {line}: text reports are not answered"
            );
        }
    }
}

#[test]
fn custom_fields_keepalive_and_answers() {
    use trackgate::model::IoValue;
    use trackgate::protocol::ChecksumPolicy;
    // Binary form %CI%SA%MV%BV%GQ%AT (line 91): 9 satellites, 13.1 V, 4.2 V, GQ 26, 424 m.
    let mut d = decoder("atrack", ChecksumPolicy::Verify, &[]);
    let out = d.decode(&bytes(&by_line("91")), &ctx()).unwrap();
    let p = positions(&out)[0];
    assert_eq!(
        (p.satellites, p.power_v, p.battery_v, p.altitude_m),
        (9, Some(13.1), Some(4.2), 424.0)
    );
    assert_eq!(p.io.get("gq"), Some(&IoValue::Int(26)));
    // Text with a configured form (line 129): AT 3, BV 40, MV 142, SA 12, VN. Its CRC does
    // not match (the capture was edited), hence Ignore.
    let v = by_line("129");
    let mut d = decoder("atrack", ChecksumPolicy::Ignore, &options(&v));
    let out = d.decode(&bytes(&v), &ctx()).unwrap();
    let p = positions(&out)[0];
    assert_eq!(
        (p.altitude_m, p.battery_v, p.power_v, p.satellites),
        (3.0, Some(4.0), Some(14.2), 12)
    );
    assert_eq!(
        p.io.get("vn"),
        Some(&IoValue::Text("JN8AZ1MU1BW066090".into()))
    );
    // Keep-alive (line 96): echoed, names the unit.
    let ka = bytes(&by_line("96"));
    let out = d.decode(&ka, &ctx()).unwrap();
    assert_eq!(out.ack.accepted.as_deref(), Some(&ka[..]));
    assert_eq!(out.identity.unwrap().as_str(), "352964052096642");
    // Photo part (line 13): acknowledged like a report, nothing stored.
    let photo = bytes(&by_line("13"));
    let out = d.decode(&photo, &ctx()).unwrap();
    let mut want = vec![0xfe, 0x02];
    want.extend_from_slice(&photo[8..16]);
    want.extend_from_slice(&photo[6..8]);
    assert_eq!(out.ack.accepted.as_deref(), Some(&want[..]));
    assert!(out.records.is_empty());
    // $OK (line 112) after it: the command's result.
    let out = d.decode(&bytes(&by_line("112")), &ctx()).unwrap();
    assert!(
        matches!(&out.records[..], [trackgate::model::Record::Event(e)]
        if e.kind == trackgate::model::EventKind::CommandResult { text: "$OK".into() })
    );
}
