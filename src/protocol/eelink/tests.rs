use super::decode::{answer, msg};
use super::encode;
use super::*;
use crate::model::{EventKind, Record};
use crate::protocol::{test_util, ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const IMEI: &str = "352544071677471";

fn dec() -> EelinkDecoder {
    EelinkDecoder::new(&DecoderOptions::default()).unwrap()
}

fn login() -> Vec<u8> {
    let mut c = encode::imei_field(IMEI).to_vec();
    c.extend_from_slice(&[0x20, 0x00]);
    encode::packet(msg::LOGIN, 1, &c)
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 58, 0).unwrap(),
        lat: 22.5581583,
        lon: -113.9351717,
        speed_kmh: 44.0,
        course: 181.0,
        altitude_m: 33.0,
        satellites: 7,
        valid: true,
        ignition: true,
        ..Fix::default()
    }
}

#[test]
fn login_then_normal_report_round_trip() {
    let mut d = dec();
    let out = d.decode(&login(), &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), IMEI);
    assert_eq!(test_util::event(&out).kind, EventKind::Login);
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&answer(msg::LOGIN, 1, test_util::ctx().now)[..])
    );
    let out = d
        .decode(&encode::normal(9, &fix()), &test_util::ctx())
        .unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&b"gg\x12\x00\x02\x00\x09"[..])
    );
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, fix().time);
    assert!((p.lat - 22.5581583).abs() < 1e-6 && (p.lon + 113.9351717).abs() < 1e-6);
    assert_eq!(
        (p.speed_kmh, p.course, p.altitude_m, p.satellites),
        (44.0, 181.0, 33.0, 7)
    );
    assert_eq!(
        (p.valid, p.ignition, p.battery_v),
        (true, Some(true), Some(4.012))
    );
}

#[test]
fn report_before_login_is_not_identified() {
    let e = dec()
        .decode(&encode::normal(1, &fix()), &test_util::ctx())
        .unwrap_err();
    assert!(matches!(
        e,
        crate::protocol::DecodeError::NotIdentified { .. }
    ));
}

#[test]
fn el_wrapper_checks_length_and_checksum() {
    let imei = encode::imei_field(IMEI);
    let f = encode::wrap(&imei, &encode::normal(3, &fix())).to_vec();
    let out = dec().decode_datagram(&f, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), IMEI);
    assert_eq!(
        out.ack.accepted.unwrap(),
        encode::wrap(&imei, b"gg\x12\x00\x02\x00\x03")
    );
    let mut bad = f.clone();
    bad[5] ^= 1;
    assert!(dec()
        .decode_datagram(&bad, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
    let mut lenient = EelinkDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap();
    assert!(lenient.decode_datagram(&bad, &test_util::ctx()).is_ok());
    let short = &f[..f.len() - 1];
    assert!(dec()
        .decode_datagram(short, &test_util::ctx())
        .unwrap_err()
        .to_string()
        .contains("length field"));
    for cut in 0..f.len() {
        let _ = dec().decode_datagram(&f[..cut], &test_util::ctx());
    }
}

#[test]
fn report_without_fix_is_an_event() {
    let mut d = dec();
    d.decode(&login(), &test_util::ctx()).unwrap();
    let mut c = 1_800_000_000u32.to_be_bytes().to_vec();
    c.extend_from_slice(&[0x00, 0x00, 0x06, 0x0f, 0xa0]);
    let out = d
        .decode(&encode::packet(msg::NORMAL, 4, &c), &test_util::ctx())
        .unwrap();
    assert!(
        matches!(&out.records[..], [Record::Event(e)] if e.attributes.contains_key("ignition"))
    );
}

#[test]
fn framer_cuts_resyncs_and_skips_oversized() {
    let a = login();
    let b = encode::wrap(&encode::imei_field(IMEI), &encode::normal(3, &fix())).to_vec();
    let mut stream = b"zz".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&b);
    let want = vec![a.clone(), b.clone()];
    assert_eq!(test_util::frames(&mut dec(), &stream, 1), want);
    assert_eq!(test_util::frames(&mut dec(), &stream, stream.len()), want);
    let mut d = EelinkDecoder::new(&DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(&b"gg\x12\x01\x00"[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), max in 24usize..300) {
        let mut d = EelinkDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        d.decode(&login(), &test_util::ctx()).unwrap();
        test_util::random_bytes_invariants(&mut d, &data, max, &test_util::ctx())?;
        let _ = d.decode_datagram(&data, &test_util::ctx());
    }

    #[test]
    fn round_trip(lat in -89.0f64..89.0, lon in -179.0f64..179.0, speed in 0u16..300,
                  course in 0u16..360, secs in 946_684_800i64..4_000_000_000) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, speed_kmh: speed.into(),
                      course: course.into(), valid: true, ..Fix::default() };
        let mut d = dec();
        d.decode(&login(), &test_util::ctx()).unwrap();
        let out = d.decode(&encode::normal(1, &f), &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert_eq!((p.speed_kmh, p.course), (f64::from(speed), f64::from(course)));
    }
}
