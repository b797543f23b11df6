//! Replays every Teltonika frame captured in Traccar's unit tests (tests/fixtures/teltonika)
//! through trackgate's framer and decoder, session by session, under both checksum policies.

use bytes::BytesMut;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use trackgate::model::{EventKind, IoValue, Position, Record};
use trackgate::protocol::{
    find, ChecksumPolicy, DecodeCtx, DecodeError, Decoded, Decoder, DecoderOptions, FrameResult,
};

const VECTORS: &str = include_str!("fixtures/teltonika/vectors.json");
const FRAME_VECTORS: &str = include_str!("fixtures/teltonika/frame_vectors.json");

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// Traccar decoder settings mapped to ours. `setModelOverride("FMB130")` selects Traccar's
/// model-specific attribute names only; trackgate keeps raw `io_<id>` values whatever the
/// model, so it needs no option. `setExtended(true)` is the 16-byte IO section: `io16`.
fn options(v: &Value, checksum: ChecksumPolicy) -> DecoderOptions {
    let mut o = DecoderOptions {
        checksum,
        ..DecoderOptions::default()
    };
    if let Some(cfg) = v["decoder_config"].as_array() {
        for c in cfg {
            let c = c.as_str().unwrap();
            if c == "decoder.setExtended(true)" {
                o.options.insert("io16".into(), "true".into());
            } else {
                assert!(
                    c.starts_with("decoder.setModelOverride("),
                    "unmapped config {c}"
                );
            }
        }
    }
    o
}

fn decoder(o: &DecoderOptions) -> Box<dyn Decoder> {
    find("teltonika").unwrap().new_decoder(o).unwrap()
}

/// Every decoder_input TCP frame is exactly one frame for our framer, too.
fn assert_frames_whole(dec: &mut dyn Decoder, bytes: &[u8], label: &str) {
    let mut buf = BytesMut::from(bytes);
    match dec.frame(&mut buf) {
        FrameResult::Frame(f) => assert_eq!(&f[..], bytes, "{label}: framer cut differently"),
        other => panic!("{label}: framer returned {other:?}"),
    }
    assert!(buf.is_empty(), "{label}: framer left bytes");
}

fn positions(d: &Decoded) -> Vec<&Position> {
    d.records
        .iter()
        .filter_map(|r| match r {
            Record::Position(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn io_text<'a>(p: &'a Position, key: &str) -> &'a str {
    match p.io.get(key) {
        Some(IoValue::Text(s)) => s,
        other => panic!("{key}: {other:?}"),
    }
}

/// Parameter `param` of BLE tag `tag` (1-based) in an FMB BLE-sensor NX value (ids 548,
/// 10829, 10831): `header | {len, {param id, param len, bytes}…}…`. Traccar names these
/// `tag<N><Param>`; trackgate keeps the raw hex in `io_<id>`, so the test digs it out.
fn ble_param(hex_value: &str, tag: usize, param: u8) -> Vec<u8> {
    let b = hex::decode(hex_value).unwrap();
    let mut i = 1;
    for n in 1.. {
        let len = b[i] as usize;
        let beacon = &b[i + 1..i + 1 + len];
        if n == tag {
            let mut j = 0;
            while j < beacon.len() {
                let (id, l) = (beacon[j], beacon[j + 1] as usize);
                if id == param {
                    return beacon[j + 2..j + 2 + l].to_vec();
                }
                j += 2 + l;
            }
            panic!("tag {tag} has no param {param}");
        }
        i += 1 + len;
    }
    unreachable!()
}

/// Checks a Traccar `attribute` expectation against where trackgate keeps the value.
fn check_attribute(v: &Value, d: &Decoded) {
    let e = &v["expect"];
    let name = e["attribute"].as_str().unwrap();
    match name {
        "tag1Voltage" => {
            let p = positions(d)[0];
            let data = ble_param(io_text(p, "io_548"), 1, 2);
            assert_eq!(data[0] & 0x80, 0x80, "voltage flag");
            let mv = i64::from(data[1]) * 10 + 2000;
            assert_eq!(mv, e["value"].as_i64().unwrap());
        }
        "tag1Battery" => {
            let p = positions(d)[0];
            let data = ble_param(io_text(p, "io_10831"), 1, 14);
            let v16 = i64::from(u16::from_be_bytes([data[0], data[1]]));
            assert_eq!(v16, e["value"].as_i64().unwrap());
        }
        "driverUniqueId" => {
            let Record::Event(ev) = &d.records[0] else {
                panic!("expected an event")
            };
            assert!(matches!(ev.kind, EventKind::CommandResult { .. }));
            assert_eq!(
                ev.attributes.get("driver_unique_id"),
                Some(&IoValue::Text(e["value"].as_str().unwrap().into()))
            );
        }
        "eyeTemp1" => {
            // Teltonika EYE sensor 1 temperature: id 10800, i16 hundredths of a °C, kept raw.
            let p = positions(d)[0];
            let Some(IoValue::Int(raw)) = p.io.get("io_10800") else {
                panic!("io_10800 missing: {:?}", p.io)
            };
            let celsius = f64::from(*raw as u16 as i16) / 100.0;
            assert!((celsius - e["value"].as_f64().unwrap()).abs() < 1e-9);
        }
        other => panic!("attribute {other} not mapped"),
    }
}

/// Vectors trackgate deliberately does not decode, by (session, seq), with the reason.
const UNSUPPORTED: &[(&str, u64, &str)] = &[
    (
        "TeltonikaProtocolDecoderTest.testDecode#1",
        28,
        "declares data length 0 yet carries a 44-byte record (and a stale CRC): Traccar never \
     reads the length field, trackgate frames by it, so the framer resyncs past the header \
     and the decoder rejects the trailing bytes",
    ),
    (
        "TeltonikaProtocolDecoderTest.testDecode#1",
        33,
        "177 bytes, 2 fewer than its declared length 0xa7 + 12: the 4-byte CRC field is cut to \
     2 bytes. Traccar reads neither length nor CRC; trackgate's framer waits for the missing \
     bytes and the decoder reports the truncated CRC",
    ),
];

/// The record count a TCP AVL packet declares (N1, byte 9), read straight off the frame.
fn n1(frame: &[u8]) -> u8 {
    frame[9]
}

#[test]
fn every_vector_replays_per_session_under_both_policies() {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let mut sessions: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for v in &all {
        sessions
            .entry(v["session"].as_str().unwrap().to_string())
            .or_default()
            .push(v);
    }
    let mut decoded_types = BTreeSet::new();
    let mut checked = 0;
    for policy in [ChecksumPolicy::Verify, ChecksumPolicy::Ignore] {
        for (session, vs) in &mut sessions {
            vs.sort_by_key(|v| v["seq"].as_u64().unwrap());
            let mut login: Option<Vec<u8>> = None;
            let mut current = options(vs[0], policy);
            let mut dec = decoder(&current);
            for v in vs.iter() {
                let label = format!("{session}#{} ({})", v["seq"], v["msg_type"]);
                let frame = hex::decode(v["frame"].as_str().unwrap()).unwrap();
                let o = options(v, policy);
                if o.options != current.options {
                    // A per-frame Traccar setting: a fresh decoder with that option, identified
                    // by replaying the session's handshake.
                    current = o;
                    dec = decoder(&current);
                    if let Some(l) = &login {
                        dec.decode(l, &ctx()).unwrap();
                    }
                }
                if let Some((_, _, why)) = UNSUPPORTED
                    .iter()
                    .find(|(s, q, _)| s == session && Some(*q) == v["seq"].as_u64())
                {
                    let mut buf = BytesMut::from(&frame[..]);
                    let cut = dec.frame(&mut buf);
                    assert!(!matches!(cut, FrameResult::Frame(_)), "{label}: {cut:?}");
                    assert!(dec.decode(&frame, &ctx()).is_err(), "{label}: {why}");
                    continue;
                }
                let res = if v["transport"] == "udp" {
                    dec.decode_datagram(&frame, &ctx())
                } else {
                    assert_frames_whole(dec.as_mut(), &frame, &label);
                    dec.decode(&frame, &ctx())
                };
                if v["checksum_valid"] == false && policy == ChecksumPolicy::Verify {
                    assert!(
                        matches!(res, Err(DecodeError::Checksum { .. })),
                        "{label}: {res:?}"
                    );
                    continue;
                }
                let d = res.unwrap_or_else(|e| panic!("{label}: {e}"));
                decoded_types.insert(v["msg_type"].as_str().unwrap().to_string());
                if d.kind == "login" {
                    login = Some(frame.clone());
                    assert_eq!(d.ack.accepted.as_deref(), Some(&[0x01][..]), "{label}");
                    assert_eq!(d.ack.refused.as_deref(), Some(&[0x00][..]), "{label}");
                }
                let kind = v["msg_type"].as_str().unwrap();
                // (The one UDP vector's ACK is checked byte by byte in `udp_vector_...`.)
                if v["transport"] == "tcp"
                    && ["codec-0x08", "codec-0x8e", "codec-0x10", "codec-0x07"]
                        .iter()
                        .any(|c| kind.ends_with(c))
                {
                    // ACK = number of records in the packet, u32 big-endian.
                    assert_eq!(
                        d.ack.accepted.as_deref(),
                        Some(&[0, 0, 0, n1(&frame)][..]),
                        "{label}"
                    );
                    assert_eq!(d.records.len(), n1(&frame) as usize, "{label}");
                }
                if kind.ends_with("codec-0x0c") || kind.ends_with("codec-0x0d") {
                    assert_eq!(d.ack.accepted, None, "{label}: command replies get no ACK");
                }
                match v["expect_kind"].as_str().unwrap() {
                    "positions" | "position" => {
                        // Traccar builds a "position" from the last fix for command replies
                        // and coordinate-less records; trackgate emits events for those.
                        assert!(!d.records.is_empty(), "{label}: no records")
                    }
                    "null" => assert!(positions(&d).is_empty(), "{label}: unexpected fix"),
                    "attribute" | "attributes" => check_attribute(v, &d),
                    other => panic!("{label}: expect_kind {other}"),
                }
                checked += 1;
            }
        }
    }
    // Under Ignore all 40 but the 2 unsupported; under Verify 35 (5 stale checksums, among
    // them both unsupported ones).
    assert_eq!(checked, 38 + 35);
    let all_types: BTreeSet<String> = all
        .iter()
        .map(|v| v["msg_type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(decoded_types, all_types, "a message type never decoded");
    assert_eq!(UNSUPPORTED.len(), 2);
}

/// Exact values, worked out by hand from the hex (not by the code under test).
#[test]
fn exact_values_of_selected_vectors() {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let frame = |seq: u64| {
        let v = all
            .iter()
            .find(|v| {
                v["seq"] == seq && v["session"] == "TeltonikaProtocolDecoderTest.testDecode#1"
            })
            .unwrap();
        hex::decode(v["frame"].as_str().unwrap()).unwrap()
    };
    let mut dec = decoder(&DecoderOptions::default());
    let login = hex::decode("000f313233343536373839303132333435").unwrap();
    let d = dec.decode(&login, &ctx()).unwrap();
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "123456789012345");

    // seq 18, codec 8: time 0x16818d50058 ms, lon 0x09c28d9f, lat 0x1cb3757a, alt 190,
    // angle 198, 15 sats, 83 km/h.
    let d = dec.decode(&frame(18), &ctx()).unwrap();
    let p = positions(&d)[0];
    assert_eq!(
        p.fix_time,
        DateTime::parse_from_rfc3339("2019-01-04T12:27:19.000Z").unwrap()
    );
    assert!((p.lat - 48.1523066).abs() < 1e-7 && (p.lon - 16.3745183).abs() < 1e-7);
    assert_eq!(
        (p.altitude_m, p.course, p.satellites, p.speed_kmh),
        (190.0, 198.0, 15, 83.0)
    );
    assert!(p.valid);
    assert_eq!(d.kind, "codec 8");

    // seq 21, codec 16: south-west fix (negative i32s), alt 571, angle 282, 6 sats.
    let d = dec.decode(&frame(21), &ctx()).unwrap();
    let p = positions(&d)[0];
    assert_eq!(
        p.fix_time,
        DateTime::parse_from_rfc3339("2018-07-26T20:43:43.000Z").unwrap()
    );
    assert!((p.lat - -33.4379166).abs() < 1e-7 && (p.lon - -70.64967).abs() < 1e-7);
    assert_eq!((p.altitude_m, p.course, p.satellites), (571.0, 282.0, 6));
    assert_eq!(p.io.get("generation_type"), Some(&IoValue::Int(7)));

    // seq 37, codec 7 (GH3000): seconds since 2007-01-01 in the low 30 bits, f32 lat then lon.
    let d = dec.decode(&frame(37), &ctx()).unwrap();
    let p = positions(&d)[0];
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2013, 7, 31, 22, 30, 35).unwrap()
    );
    assert!((p.lat - 44.44019).abs() < 1e-5 && (p.lon - 26.09313).abs() < 1e-5);
    assert_eq!((p.altitude_m, p.satellites), (61.0, 5));
    assert_eq!(p.io.get("lac"), Some(&IoValue::Int(0x64)));
    assert_eq!(p.io.get("cell_id"), Some(&IoValue::Int(0x83ff)));

    // seq 16, codec 12 response text.
    let d = dec.decode(&frame(16), &ctx()).unwrap();
    let Record::Event(e) = &d.records[0] else {
        panic!()
    };
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "UUUUww06.4;04.2;00.0;00.0;00.0;00.0;00.0;00.0;01.3;00.0;10.7;00.0;SSS".into()
        }
    );
}

#[test]
fn udp_vector_exact_values_and_ack() {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let v = all.iter().find(|v| v["transport"] == "udp").unwrap();
    let frame = hex::decode(v["frame"].as_str().unwrap()).unwrap();
    let mut dec = decoder(&DecoderOptions::default());
    let d = dec.decode_datagram(&frame, &ctx()).unwrap();
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "357454072713975");
    // 00 05 | packet id CAFE echoed | 01 | AVL packet id 22 echoed | 1 record.
    assert_eq!(
        d.ack.accepted.as_deref(),
        Some(&[0x00, 0x05, 0xca, 0xfe, 0x01, 0x22, 0x01][..])
    );
    let p = positions(&d)[0];
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2017, 7, 12, 15, 24, 41).unwrap()
    );
    assert!((p.lat - 51.630115).abs() < 1e-7 && (p.lon - 0.4124566).abs() < 1e-7);
    assert_eq!(
        (p.altitude_m, p.course, p.satellites, p.speed_kmh),
        (99.0, 109.0, 9, 49.0)
    );
}

#[test]
fn frame_vectors_cut_exactly() {
    let all: Vec<Value> = serde_json::from_str(FRAME_VECTORS).unwrap();
    assert_eq!(all.len(), 2);
    for v in &all {
        let mut dec = decoder(&DecoderOptions::default());
        let input = hex::decode(v["input_hex"].as_str().unwrap()).unwrap();
        let mut buf = BytesMut::from(&input[..]);
        let got = dec.frame(&mut buf);
        match v["expect_kind"].as_str().unwrap() {
            "frame" => {
                let want = hex::decode(v["expect"]["frame_hex"].as_str().unwrap()).unwrap();
                assert_eq!(got, FrameResult::Frame(want.clone().into()));
                assert_eq!(buf.len(), input.len() - want.len());
            }
            "null" => assert_eq!(got, FrameResult::NeedMore),
            other => panic!("{other}"),
        }
    }
}
