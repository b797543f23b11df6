//! Replays every Ruptela frame captured in Traccar's unit tests (tests/fixtures/ruptela)
//! through trackgate's decoder (and framer), checking exact values and exact ACK bytes.

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use serde_json::Value;
use trackgate::model::{EventKind, IoValue, Position, Record};
use trackgate::protocol::{find, DecodeCtx, Decoded, Decoder, DecoderOptions, FrameResult};

const VECTORS: &str = include_str!("fixtures/ruptela/vectors.json");

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

fn decoder() -> Box<dyn Decoder> {
    find("ruptela")
        .unwrap()
        .new_decoder(&DecoderOptions::default())
        .unwrap()
}

fn vectors() -> Vec<Value> {
    serde_json::from_str(VECTORS).unwrap()
}

fn frame(seq: u64) -> Vec<u8> {
    let v = vectors()
        .into_iter()
        .find(|v| v["seq"] == seq)
        .unwrap_or_else(|| panic!("no seq {seq}"));
    hex::decode(v["frame"].as_str().unwrap()).unwrap()
}

fn decode(seq: u64) -> Decoded {
    decoder().decode(&frame(seq), &ctx()).unwrap()
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

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// (time, lat, lon, altitude, course, satellites, speed km/h) of one fix.
fn assert_fix(p: &Position, fix: (&str, f64, f64, f64, f64, u8, f64)) {
    assert_eq!(p.fix_time, t(fix.0));
    assert!((p.lat - fix.1).abs() < 1e-7, "lat {} vs {}", p.lat, fix.1);
    assert!((p.lon - fix.2).abs() < 1e-7, "lon {} vs {}", p.lon, fix.2);
    assert_eq!(
        (p.altitude_m, p.course, p.satellites, p.speed_kmh),
        (fix.3, fix.4, fix.5, fix.6)
    );
    assert!(p.valid);
}

#[test]
fn every_vector_has_a_valid_crc_and_decodes_as_traccar_expects() {
    let vs = vectors();
    assert_eq!(vs.len(), 13);
    for v in &vs {
        let bytes = hex::decode(v["frame"].as_str().unwrap()).unwrap();
        let d = decoder()
            .decode(&bytes, &ctx())
            .unwrap_or_else(|e| panic!("seq {}: {e}", v["seq"]));
        let n = positions(&d).len();
        match v["expect_kind"].as_str().unwrap() {
            "positions" | "attribute" => assert!(n > 0, "seq {}: no position", v["seq"]),
            // Identification and photo chunks: no position (they are events here).
            "null" => assert_eq!(n, 0, "seq {}", v["seq"]),
            // Command replies: kept as CommandResult events.
            "attributes" => assert!(matches!(
                &d.records[..],
                [Record::Event(e)] if matches!(e.kind, EventKind::CommandResult { .. })
            )),
            other => panic!("unexpected kind {other}"),
        }
    }
}

#[test]
fn extended_record_with_driver_id() {
    let d = decode(0);
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "863514052765894");
    assert_eq!(
        hex::encode(d.ack.accepted.as_ref().unwrap()),
        "0002640113bc"
    );
    let ps = positions(&d);
    assert_eq!(ps.len(), 1);
    assert_fix(
        ps[0],
        (
            "2024-12-03T17:46:07Z",
            33.53196,
            -7.637765,
            103.8,
            163.9,
            24,
            61.0,
        ),
    );
    assert_eq!(
        ps[0].io.get("driver_unique_id"),
        Some(&IoValue::Text("01d042f31d000030".into()))
    );
}

#[test]
fn records_without_fix_are_invalid() {
    let d = decode(2);
    let ps = positions(&d);
    assert_eq!(ps.len(), 29);
    assert!(ps.iter().all(|p| !p.valid && p.lat == 0.0 && p.lon == 0.0));
    assert_eq!(ps[0].fix_time, t("2000-01-01T00:00:11Z"));
    assert_eq!(ps[28].fix_time, t("2023-07-30T16:53:46Z"));
}

#[test]
fn multi_part_extended_records_merge() {
    let d = decode(9);
    let ps = positions(&d);
    assert_eq!(ps.len(), 1, "4 parts are one record");
    assert_fix(
        ps[0],
        (
            "2016-10-18T21:08:26Z",
            47.0555133,
            21.923265,
            138.1,
            92.2,
            11,
            12.0,
        ),
    );
    let d = decode(10);
    let ps = positions(&d);
    assert_eq!(ps.len(), 2, "2 × 4 parts");
    assert_fix(
        ps[0],
        (
            "2016-10-18T21:08:11Z",
            47.0554533,
            21.9231566,
            137.3,
            215.9,
            12,
            0.0,
        ),
    );
    assert_fix(
        ps[1],
        (
            "2016-10-18T21:08:11Z",
            47.0554533,
            21.9231566,
            137.3,
            215.9,
            13,
            0.0,
        ),
    );
}

#[test]
fn plain_records_exact() {
    let d = decode(11);
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "863071016796572");
    assert_fix(
        positions(&d)[0],
        (
            "2015-10-06T14:21:33Z",
            5.6292216,
            -0.067495,
            48.7,
            0.0,
            9,
            0.0,
        ),
    );
    let d = decode(12);
    assert_fix(
        positions(&d)[0],
        (
            "2015-05-27T13:50:49Z",
            25.278855,
            55.3460016,
            0.0,
            243.2,
            6,
            9.0,
        ),
    );
    let d = decode(13);
    let ps = positions(&d);
    assert_eq!(ps.len(), 2);
    assert_fix(
        ps[0],
        (
            "2015-04-27T06:57:02Z",
            25.2848283,
            55.3507583,
            11.4,
            0.0,
            6,
            0.0,
        ),
    );
    assert_fix(
        ps[1],
        (
            "2015-04-27T06:57:24Z",
            25.284915,
            55.3507183,
            9.2,
            58.8,
            7,
            5.0,
        ),
    );
}

#[test]
fn dtc_codes_with_archive_flag() {
    let d = decode(8);
    assert_eq!(
        hex::encode(d.ack.accepted.as_ref().unwrap()),
        "00026d01c4a4"
    );
    let ps = positions(&d);
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].fix_time, t("2011-10-17T22:41:48Z"));
    assert_eq!((ps[0].lat, ps[0].lon), (43.755129, 13.1467505));
    assert_eq!(ps[0].io.get("dtcs"), Some(&IoValue::Text("P0010".into())));
    assert!(!ps[0].historical);
    assert_eq!(ps[1].io.get("dtcs"), Some(&IoValue::Text("P0011".into())));
    assert!(ps[1].historical, "archive flag 2");
}

#[test]
fn identification_gets_its_answer_and_command_replies_none() {
    let d = decode(1);
    assert_eq!(d.identity.as_ref().unwrap().as_str(), "869530043209218");
    assert_eq!(
        hex::encode(d.ack.accepted.as_ref().unwrap()),
        "00020f019241"
    );
    let d = decode(6);
    assert_eq!(d.ack.accepted, None);
    match &d.records[..] {
        [Record::Event(e)] => assert_eq!(
            e.kind,
            EventKind::CommandResult {
                text: "SETIO configuration data ok".into()
            }
        ),
        other => panic!("{other:?}"),
    }
}

/// Every frame whose length field is honest is one whole frame for the framer; the two
/// hand-edited ones are cut at their (lying) length, as a real stream would be.
#[test]
fn framer_agrees_with_length_fields() {
    for v in vectors() {
        let bytes = hex::decode(v["frame"].as_str().unwrap()).unwrap();
        let declared = u16::from_be_bytes([bytes[0], bytes[1]]) as usize + 4;
        let mut dec = find("ruptela")
            .unwrap()
            .new_decoder(&DecoderOptions {
                max_frame: 2048,
                ..DecoderOptions::default()
            })
            .unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        match dec.frame(&mut buf) {
            FrameResult::Frame(f) => assert_eq!(f.len(), declared, "seq {}", v["seq"]),
            other => panic!("seq {}: {other:?}", v["seq"]),
        }
        if declared == bytes.len() {
            assert!(buf.is_empty());
        } else {
            assert!(
                [6, 8].contains(&v["seq"].as_u64().unwrap()),
                "seq {}",
                v["seq"]
            );
        }
    }
}
