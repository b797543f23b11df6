//! Unit tests: exact ACK bytes (expected values from protocol-notes and hand-built with an
//! independent script, never from the encoders under test), golden decodes, framing limits,
//! options, sub-packaging, and property tests (round trip, stream splitting, garbage).

use super::encode::{self, LocationReport, Registration, Terminal};
use super::frame::{self, escape_into, unescape};
use super::*;
use crate::model::{Alarm, IoValue, Record};
use crate::protocol::{
    ChecksumPolicy, Credential, DecodeCtx, Decoded, Decoder, DecoderOptions, FrameResult,
    RegisterAnswer,
};
use bytes::BytesMut;
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}
fn ctx() -> DecodeCtx {
    DecodeCtx { now: now() }
}
fn dec() -> Jt808Decoder {
    Jt808Decoder::new(&DecoderOptions::default()).unwrap()
}
fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}
/// Re-escapes an unescaped Traccar vector into wire form.
fn wire(unescaped: &[u8]) -> Vec<u8> {
    let mut out = vec![0x7e];
    escape_into(&unescaped[1..unescaped.len() - 1], &mut out);
    out.push(0x7e);
    out
}
/// Frames and decodes everything in `bytes` through one decoder.
fn pump(d: &mut Jt808Decoder, buf: &mut BytesMut) -> Vec<Decoded> {
    let mut out = Vec::new();
    loop {
        match d.frame(buf) {
            FrameResult::Frame(f) => out.push(d.decode(&f, &ctx()).unwrap()),
            FrameResult::Skipped(n) => assert!(n > 0),
            FrameResult::NeedMore => return out,
            FrameResult::Fatal(e) => panic!("{e}"),
        }
    }
}
fn position(d: &Decoded) -> &crate::model::Position {
    match d.records.first() {
        Some(Record::Position(p)) => p,
        other => panic!("no position: {other:?}"),
    }
}

/// Traccar sample (phone 012076463279, serial 0x0040), the frame protocol-notes builds its
/// 0x8001 example from.
const GOLDEN_0200: &str =
    "7e0200001f01207646327900400000000000006002015c7ab706d20469003b0000000025040216362606013e6b7e";

#[test]
fn location_ack_is_the_protocol_notes_example() {
    let mut d = dec();
    let out = d.decode(&h(GOLDEN_0200), &ctx()).unwrap();
    // protocol-notes: `7E 8001 0005 012076463279 0000 0040 0200 00 9C 7E`.
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&h("7E 8001 0005 012076463279 0000 0040 0200 00 9C 7E")[..])
    );
    assert_eq!(
        out.ack.refused.as_deref(),
        Some(&h("7E 8001 0005 012076463279 0000 0040 0200 01 9D 7E")[..])
    );
    // The platform serial advances per reply on the connection.
    let again = d.decode(&h(GOLDEN_0200), &ctx()).unwrap();
    assert_eq!(
        again.ack.accepted.as_deref(),
        Some(&h("7E 8001 0005 012076463279 0001 0040 0200 00 9D 7E")[..])
    );
}

#[test]
fn golden_location_values() {
    let out = dec().decode(&h(GOLDEN_0200), &ctx()).unwrap();
    assert_eq!(out.kind, "location 0x0200");
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "012076463279");
    let p = position(&out);
    // lat 0x015c7ab7 = 22837943 µdeg, lon 0x06d20469 = 114426985 µdeg, status 0x6002 (fixed,
    // ACC off), altitude 59 m, time 25-04-02 16:36:26 GMT+8.
    assert!((p.lat - 22.837943).abs() < 1e-9);
    assert!((p.lon - 114.426985).abs() < 1e-9);
    assert!(p.valid);
    assert_eq!(p.ignition, Some(false));
    assert_eq!(p.altitude_m, 59.0);
    assert_eq!(p.speed_kmh, 0.0);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2025, 4, 2, 8, 36, 26).unwrap()
    );
    assert_eq!(p.received, now());
    assert_eq!(p.io.get("battery_level"), Some(&IoValue::Int(62)));
    assert!(p.alarms.is_empty());
    assert!(!p.historical);
}

#[test]
fn time_zone_option_and_unknown_options() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("time_zone".into(), "+00:00".into());
    let mut d = Jt808Decoder::new(&opts).unwrap();
    let p = d.decode(&h(GOLDEN_0200), &ctx()).unwrap();
    assert_eq!(
        position(&p).fix_time,
        Utc.with_ymd_and_hms(2025, 4, 2, 16, 36, 26).unwrap()
    );
    opts.options.insert("time_zone".into(), "8".into());
    assert_eq!(Jt808Decoder::new(&opts).err().unwrap().key, "time_zone");
    let mut opts = DecoderOptions::default();
    opts.options.insert("timezone".into(), "+08:00".into());
    let e = Jt808Decoder::new(&opts).err().unwrap();
    assert_eq!(
        (e.key.as_str(), e.reason.as_str()),
        ("timezone", "unknown option")
    );
    assert_eq!(parse_time_zone("-05:30").unwrap().local_minus_utc(), -19800);
}

#[test]
fn auth_heartbeat_acks() {
    let out = dec()
        .decode(
            &h("7e0102000e013511221122000661757468656e7469636174696f6e3f7e"),
            &ctx(),
        )
        .unwrap();
    assert_eq!(out.kind, "auth 0x0102");
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&h("7e8001000501351122112200000006010200b57e")[..])
    );
    assert_eq!(
        out.ack.refused.as_deref(),
        Some(&h("7e8001000501351122112200000006010201b47e")[..])
    );
    let out = dec()
        .decode(&h("7e0002000004304832546500b7ca7e"), &ctx())
        .unwrap();
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&h("7e80010005043048325465000000b70002004e7e")[..])
    );
}

/// (uplink on the wire, exact accepted ACK, exact refused ACK) for the remaining ACKed types,
/// expected bytes built with an independent script from each uplink's header. Uplinks: Traccar
/// samples 0x0210 / 0x0900 / 0x1007, and hand-built 0x0003 / 0x6006 / 0x0107 / 0x0506.
const ACK_TABLE: &[(&str, &str, &str)] = &[
    ("7e021001a2010036526447000a3b00000000000000010158f52206c916b0000000000000161118110121661d019431000b0000cf47006931000b000058a4006930000b0000882400693b00000000000000010158f52206c916b0000000000000161118110122661d019431000b0000cf47006931000b000058a4006930000b0000882400693b00000000000000010158f52206c916b0000000000000161118110123661d019431000b0000cf47006931000b000058a4006930000b0000882400693b00000000000000010158f52206c916b0000000000000161118110124661d019431000b0000cf47006931000b000058a4006930000b0000882400691c00000000000000010158f52206c916b00000000000001611181101253b00000000000000010158f52206c916b0000000000000161118110126661d019431000b0000cf47006931000b000058a4006930000b0000882400693b00000000000000010158f52206c916b0000000000000161118110127661d019431000b0000cf47006931000b000058a4006930000b0000882400691c00000000000000010158f52206c916b0000000000000161118110128f57e",
     "7e800100050100365264470000000a021000da7e",
     "7e800100050100365264470000000a021001db7e"),
    ("7e0900001b41305888975883194000184754534c7c367c317c307c31303231383039347c317c0d0ab47e",
     "7e8001000541305888975800008319090000797e",
     "7e8001000541305888975800008319090001787e"),
    ("7e10070004045460002319090640000000567e",
     "7e8001000504546000231900000906100700967e",
     "7e8001000504546000231900000906100701977e"),
    ("7e0003000001380013800012348f7e",
     "7e80010005013800138000000012340003000b7e",
     "7e80010005013800138000000012340003010a7e"),
    ("7e60060005013800138000123401c4e3bac3b07e",
     "7e80010005013800138000000012346006006e7e",
     "7e80010005013800138000000012346006016f7e"),
    ("7e0107002c01380013800012340000000000000000000000000000000000000000000000000000000000000000000089860477012070271502bb7e",
     "7e80010005013800138000000012340107000e7e",
     "7e80010005013800138000000012340107010f7e"),
    ("7e0506000001380013800012348f7e",
     "7e80010005013800138000000012340506000b7e",
     "7e80010005013800138000000012340506010a7e"),
];

#[test]
fn every_acked_type_has_exact_bytes() {
    for (up, ok, refused) in ACK_TABLE {
        let out = dec().decode(&h(up), &ctx()).unwrap();
        assert_eq!(
            out.ack.accepted.as_deref(),
            Some(&h(ok)[..]),
            "{}",
            out.kind
        );
        assert_eq!(
            out.ack.refused.as_deref(),
            Some(&h(refused)[..]),
            "{}",
            out.kind
        );
    }
    // 0x6006 text report: GBK text becomes a command result.
    let out = dec().decode(&h(ACK_TABLE[4].0), &ctx()).unwrap();
    assert!(matches!(&out.records[0], Record::Event(e)
        if e.kind == crate::model::EventKind::CommandResult { text: "你好".into() }));
    // 0x0109 time sync → 0x8109 with ctx.now (2026-11-27 12:00:00 UTC); no refusal form.
    let out = dec()
        .decode(&h("7e010900000138001380001234847e"), &ctx())
        .unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&h("7e81090008013800138000000007ea0b1b0c000000db7e")[..])
    );
    assert_eq!(out.ack.refused, None);
    // Types Traccar does not answer get no ACK (0x0701 command result here).
    let out = dec()
        .decode(
            &h("7e0701001201380013800012340000000e53455420434f4e464947204f4b21fb7e"),
            &ctx(),
        )
        .unwrap();
    assert_eq!(out.ack, crate::protocol::AckPlan::default());
    assert!(matches!(&out.records[0], Record::Event(e)
        if e.kind == crate::model::EventKind::CommandResult { text: "SET CONFIG OK!".into() }));
}

#[test]
fn lock_report_gets_4401_when_asked() {
    // Traccar sample 0x5501 (one-byte serial 0x47) with attribute bit 15 set.
    let v = h("7e55018c418560090010174701022106242122348476113550490700001c06000000074e0000000000000308100000100102020200000a030000000b0803363839363037650c0600000001000afa7e");
    let out = dec().decode(&wire(&v), &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&h("7e4401000385600900101700550100f97e")[..])
    );
    let p = position(&out);
    // 01 02 21 06 24 21 = 2021-02-01 06:24:21 UTC; lat 22348476 → 22° 34.8476' N;
    // lon 113550490 → 113° 55.0490' E (flags 7: valid, N, E).
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2021, 2, 1, 6, 24, 21).unwrap()
    );
    assert!((p.lat - (22.0 + 34.8476 / 60.0)).abs() < 1e-9);
    assert!((p.lon - (113.0 + 55.0490 / 60.0)).abs() < 1e-9);
    assert!(p.valid);
    assert_eq!(p.io.get("unlock_result"), Some(&IoValue::Int(101)));
}

#[test]
fn text_time_request_is_echoed_with_utc_time() {
    let out = dec()
        .decode(b"(794104004140,1,001,BASE,2,TIME)", &ctx())
        .unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&b"(794104004140,1,001,BASE,2,20261127120000)"[..])
    );
    assert!(out.records.is_empty());
    // Any other text frame is a command result, which needs a known device.
    let e = dec().decode(b"(1,ELOCK,3)", &ctx()).unwrap_err();
    assert!(matches!(
        e,
        crate::protocol::DecodeError::NotIdentified { .. }
    ));
}

#[test]
fn checksum_policy() {
    let mut bad = h(GOLDEN_0200);
    let n = bad.len();
    bad[n - 2] ^= 0xff;
    let e = dec().decode(&bad, &ctx()).unwrap_err();
    assert_eq!(
        e,
        crate::protocol::DecodeError::Checksum {
            expected: 0x94,
            computed: 0x6b
        }
    );
    let opts = DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    };
    let mut d = Jt808Decoder::new(&opts).unwrap();
    assert!(d.decode(&bad, &ctx()).is_ok());
}

#[test]
fn escaping_spec_example_and_corrupt_escapes() {
    // JT/T 808 §4.4.2 example: 30 7E 08 7D 55 → 30 7D 02 08 7D 01 55.
    let mut out = Vec::new();
    escape_into(&h("30 7e 08 7d 55"), &mut out);
    assert_eq!(out, h("30 7d 02 08 7d 01 55"));
    assert_eq!(
        unescape(&h("7e 30 7d 02 08 7d 01 55 7e")).unwrap(),
        h("7e 30 7e 08 7d 55 7e")
    );
    assert!(unescape(&h("7e 30 7d 03 7e")).is_err());
    assert!(unescape(&h("7e 30 7d")).is_err());
}

#[test]
fn framer_resyncs_and_bounds() {
    let golden = h(GOLDEN_0200);
    let mut buf = BytesMut::from(&h("2424 7e")[..]);
    buf.extend_from_slice(&golden);
    let mut d = dec();
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(2));
    // `7E 7E`: the first flag closes a lost frame.
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(golden.clone().into()));
    assert_eq!(d.frame(&mut buf), FrameResult::NeedMore);
    // A frame longer than max_frame is skipped whole, the next one still decodes.
    let opts = DecoderOptions {
        max_frame: 40,
        ..DecoderOptions::default()
    };
    let mut d = Jt808Decoder::new(&opts).unwrap();
    let mut buf = BytesMut::from(&golden[..]);
    let hb = h("7e0002000004304832546500b7ca7e");
    buf.extend_from_slice(&hb);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(golden.len()));
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(hb.clone().into()));
    // No end flag within the limit: the buffered start is dropped, never held.
    let mut buf = BytesMut::from(&[0x7e; 1][..]);
    buf.extend_from_slice(&[0x11; 50]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(51));
    assert!(buf.is_empty());
    // Text frames obey the same cap: 40 printable bytes without `)` are dropped, never held.
    let mut buf = BytesMut::from(&[b'('; 1][..]);
    buf.extend_from_slice(&[b'1'; 39]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(39));
    let mut buf = BytesMut::from(&b"(1,ELOCK,3)"[..]);
    assert_eq!(
        d.frame(&mut buf),
        FrameResult::Frame(b"(1,ELOCK,3)"[..].into())
    );
}

#[test]
fn batch_blind_area_is_historical_with_one_ack() {
    let term = Terminal::v2013("13800138000").unwrap();
    let tz = parse_time_zone("+08:00").unwrap();
    let mk = |min: u32| LocationReport {
        alarm: 1,
        status: 0b11,
        lat: -33.5,
        lon: 151.25,
        altitude: 12,
        speed_kmh: 60.5,
        course: 270,
        time: Utc.with_ymd_and_hms(2026, 1, 2, 3, min, 0).unwrap(),
        tz,
        items: vec![(0x01, 1234u32.to_be_bytes().to_vec()), (0x31, vec![9])],
    };
    let f = encode::location_batch(&term, 7, true, &[mk(1), mk(2)]).unwrap();
    let out = dec().decode(&f, &ctx()).unwrap();
    assert_eq!(out.kind, "location batch 0x0704");
    assert_eq!(out.records.len(), 2);
    for (i, r) in out.records.iter().enumerate() {
        let Record::Position(p) = r else { panic!() };
        assert!(p.historical);
        assert_eq!(
            p.fix_time,
            Utc.with_ymd_and_hms(2026, 1, 2, 3, i as u32 + 1, 0)
                .unwrap()
        );
        assert_eq!((p.lat, p.lon), (-33.5, 151.25));
        assert_eq!(p.odometer_m, Some(123_400.0));
        assert_eq!(p.satellites, 9);
        assert_eq!(p.alarms, vec![Alarm::Sos]);
        assert_eq!(p.ignition, Some(true));
    }
    // One 0x8001 for the whole batch: reply serial 7, reply id 0x0704.
    let ack = out.ack.accepted.unwrap();
    assert_eq!(&ack[..], &h("7e80010005013800138000000000070704002a7e")[..]);
}

/// Builds a sub-packaged 2013 frame by hand (the encoders do not sub-package).
fn package(
    msg_id: u16,
    phone: &[u8; 6],
    serial: u16,
    total: u16,
    index: u16,
    body: &[u8],
) -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(&msg_id.to_be_bytes());
    raw.extend_from_slice(&((body.len() as u16) | (1 << 13)).to_be_bytes());
    raw.extend_from_slice(phone);
    raw.extend_from_slice(&serial.to_be_bytes());
    raw.extend_from_slice(&total.to_be_bytes());
    raw.extend_from_slice(&index.to_be_bytes());
    raw.extend_from_slice(body);
    raw.push(raw.iter().fold(0, |a, b| a ^ b));
    let mut out = vec![0x7e];
    escape_into(&raw, &mut out);
    out.push(0x7e);
    out
}

#[test]
fn sub_packages_are_reassembled() {
    let golden = h(GOLDEN_0200);
    let body = &golden[13..golden.len() - 2];
    let phone = [0x01, 0x20, 0x76, 0x46, 0x32, 0x79];
    let mut d = dec();
    let first = d
        .decode(&package(0x0200, &phone, 1, 2, 1, &body[..10]), &ctx())
        .unwrap();
    assert!(first.records.is_empty());
    assert_eq!(first.kind, "package 1/2 of 0x0200");
    assert!(first.ack.accepted.is_some());
    let second = d
        .decode(&package(0x0200, &phone, 2, 2, 2, &body[10..]), &ctx())
        .unwrap();
    assert!((position(&second).lat - 22.837943).abs() < 1e-9);
    // Out-of-range index is an error, not a panic or a stored package.
    assert!(d
        .decode(&package(0x0200, &phone, 3, 2, 3, body), &ctx())
        .is_err());
}

#[test]
fn non_bcd_phone_is_an_imei_with_luhn() {
    // Traccar sample whose phone field is a binary IMEI (4eb6fb4ad628).
    let v = h("7e020000344eb6fb4ad6280001000000000000000301587d0106cbff6600");
    let id = super::decode::device_id(&v[5..11]).unwrap();
    // 0x4eb6fb4ad628 = 86547807000104, Luhn digit 7 (computed with an independent script).
    assert_eq!(id.as_str(), "865478070001047");
}

fn report_strategy() -> impl Strategy<Value = LocationReport> {
    (
        any::<u32>(),
        any::<u32>(),
        -90_000_000i32..=90_000_000,
        -180_000_000i32..=180_000_000,
        any::<i16>(),
        0u16..=6000,
        0u16..360,
        // 2000-01-01 .. 2099-12-31 in the terminal's +08:00 (the BCD year has two digits).
        946_684_800i64..4_102_444_799 - 8 * 3600,
        // Ids no decoder table claims, so they come back raw as `item_<id>`.
        proptest::collection::btree_map(
            0xc0u8..0xc8,
            proptest::collection::vec(any::<u8>(), 0..8),
            0..3,
        ),
    )
        .prop_map(
            |(alarm, status, lat, lon, altitude, speed, course, t, items)| LocationReport {
                alarm,
                status,
                lat: f64::from(lat) / 1e6,
                lon: f64::from(lon) / 1e6,
                altitude,
                speed_kmh: f64::from(speed) / 10.0,
                course,
                time: DateTime::from_timestamp(t, 0).unwrap(),
                tz: parse_time_zone("+08:00").unwrap(),
                items: items.into_iter().collect(),
            },
        )
}

fn check_report(p: &crate::model::Position, r: &LocationReport) {
    assert!((p.lat - r.lat).abs() < 1e-9, "{} {}", p.lat, r.lat);
    assert!((p.lon - r.lon).abs() < 1e-9);
    assert_eq!(p.altitude_m, f64::from(r.altitude));
    assert!((p.speed_kmh - r.speed_kmh).abs() < 1e-9);
    assert_eq!(p.course, f64::from(r.course));
    assert_eq!(p.fix_time, r.time);
    assert_eq!(p.valid, r.status & 2 != 0);
    assert_eq!(p.ignition, Some(r.status & 1 != 0));
    assert_eq!(p.alarms, super::location::alarms(r.alarm));
    for (id, v) in &r.items {
        assert_eq!(
            p.io.get(&format!("item_{id:02x}")),
            Some(&IoValue::Text(hex::encode(v)))
        );
    }
}

proptest! {
    #[test]
    fn location_round_trip(r in report_strategy(), serial: u16, phone in "[0-9]{1,12}", v19: bool) {
        let term = if v19 { Terminal::v2019(&phone, 1).unwrap() } else { Terminal::v2013(&phone).unwrap() };
        let bytes = encode::location(&term, serial, &r).unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut d = dec();
        let out = pump(&mut d, &mut buf);
        prop_assert_eq!(out.len(), 1);
        let width = if v19 { 20 } else { 12 };
        prop_assert_eq!(out[0].identity.as_ref().unwrap().as_str(), format!("{phone:0>width$}"));
        check_report(position(&out[0]), &r);
    }

    #[test]
    fn batch_round_trip(rs in proptest::collection::vec(report_strategy(), 1..5), blind: bool) {
        let term = Terminal::v2013("123456789012").unwrap();
        let bytes = encode::location_batch(&term, 1, blind, &rs).unwrap();
        let out = dec().decode(&bytes, &ctx()).unwrap();
        prop_assert_eq!(out.records.len(), rs.len());
        for (rec, r) in out.records.iter().zip(&rs) {
            let Record::Position(p) = rec else { panic!() };
            check_report(p, r);
            prop_assert_eq!(p.historical, blind);
        }
    }

    #[test]
    fn session_uplinks_round_trip(phone in "[0-9]{12}", serial: u16, code in "[A-Za-z0-9]{1,20}", v19: bool) {
        let term = if v19 { Terminal::v2019(&phone, 1).unwrap() } else { Terminal::v2013(&phone).unwrap() };
        let reg = Registration {
            province: 44, city: 300, maker: "MAKER".into(), model: "M1".into(),
            terminal_id: "T1".into(), plate_color: 1, plate: "粤B88888".into(),
        };
        for (bytes, kind) in [
            (encode::register(&term, serial, &reg).unwrap(), "register 0x0100"),
            (encode::auth(&term, serial, &code, "860000000000001", "1.0").unwrap(), "auth 0x0102"),
            (encode::heartbeat(&term, serial).unwrap(), "heartbeat 0x0002"),
            (encode::logout(&term, serial).unwrap(), "logout 0x0003"),
        ] {
            let mut d = dec();
            let out = d.decode(&bytes, &ctx()).unwrap();
            prop_assert_eq!(out.kind.as_ref(), kind);
            prop_assert!(out.records.is_empty());
            let width = if v19 { 20 } else { 12 };
            let id = out.identity.clone().unwrap();
            prop_assert_eq!(id.as_str(), format!("{phone:0>width$}"));
            // The ACK echoes the uplink serial and id; a registration's is built by its
            // credential, and an authentication carries the code it was encoded with.
            let accepted = match d.take_credential() {
                Some(Credential::Register { reply }) => reply(RegisterAnswer::Issued(b"C0DE")),
                Some(Credential::Authenticate { code: c }) => {
                    prop_assert_eq!(&c[..], code.as_bytes());
                    out.ack.accepted
                }
                None => out.ack.accepted,
            };
            let ack = unescape(&accepted.unwrap()).unwrap();
            let body_at = if v19 { 18 } else { 13 };
            prop_assert_eq!(&ack[body_at..body_at + 2], &serial.to_be_bytes()[..]);
        }
    }

    #[test]
    fn stream_split_anywhere_gives_same_records(split in 0usize..400, copies in 1usize..4) {
        let frames: Vec<Vec<u8>> = [GOLDEN_0200, "7e0002000004304832546500b7ca7e"]
            .iter().map(|s| h(s)).collect();
        let mut all = Vec::new();
        for _ in 0..copies {
            for f in &frames { all.extend_from_slice(f); }
        }
        let mut whole = BytesMut::from(&all[..]);
        let expected = pump(&mut dec(), &mut whole);
        prop_assert_eq!(expected.len(), 2 * copies);
        let cut = split.min(all.len());
        let mut d = dec();
        let mut buf = BytesMut::from(&all[..cut]);
        let mut got = pump(&mut d, &mut buf);
        buf.extend_from_slice(&all[cut..]);
        got.extend(pump(&mut d, &mut buf));
        let recs = |v: &[Decoded]| v.iter().flat_map(|d| d.records.clone()).collect::<Vec<_>>();
        prop_assert_eq!(recs(&got), recs(&expected));
    }

    #[test]
    fn garbage_never_panics_and_always_progresses(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        max_frame in 16usize..300,
        ignore: bool,
    ) {
        let opts = DecoderOptions {
            max_frame,
            checksum: if ignore { ChecksumPolicy::Ignore } else { ChecksumPolicy::Verify },
            ..DecoderOptions::default()
        };
        let mut d = Jt808Decoder::new(&opts).unwrap();
        crate::protocol::test_util::random_bytes_invariants(&mut d, &data, max_frame, &ctx())?;
        // Any body after a valid header must never panic either.
        let mut raw = h("02000000012345678901 0001");
        raw.extend_from_slice(&data);
        raw.push(raw.iter().fold(0, |a, b| a ^ b));
        let mut f = vec![0x7e];
        frame::escape_into(&raw, &mut f);
        f.push(0x7e);
        for id in [0x0200u16, 0x0704, 0x0210, 0x0900, 0x5501, 0x0702, 0x0701, 0x1300, 0x2070, 0x0107] {
            let mut r = raw.clone();
            r[..2].copy_from_slice(&id.to_be_bytes());
            let n = r.len();
            r[n - 1] = r[..n - 1].iter().fold(0, |a, b| a ^ b);
            let mut g = vec![0x7e];
            frame::escape_into(&r, &mut g);
            g.push(0x7e);
            let _ = dec().decode(&g, &ctx());
        }
    }
}

#[test]
fn static_kind_labels_read_like_the_formatted_ones() {
    for (label, id) in [
        ("location", 0x0200),
        ("heartbeat", 0x0002),
        ("location batch", 0x0704),
        ("location batch", 0x0210),
        ("register", 0x0100),
    ] {
        let k = decode::kind_label(label, id);
        assert_eq!(k, format!("{label} {id:#06x}"));
    }
    assert!(matches!(
        decode::kind_label("location", 0x0200),
        std::borrow::Cow::Borrowed(_)
    ));
}
