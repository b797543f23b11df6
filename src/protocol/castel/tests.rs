use super::encode;
use super::*;
use crate::model::{Alarm, EventKind, Record};
use crate::protocol::{test_util, ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const ID: &str = "213GL2014000123";

fn dec() -> CastelDecoder {
    CastelDecoder::new(&DecoderOptions::default()).unwrap()
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 58, 7).unwrap(),
        lat: -33.7848317,
        lon: 151.2698267,
        speed_kmh: 54.0,
        course: 212.0,
        satellites: 9,
        valid: true,
        ignition: true,
        ..Fix::default()
    }
}

#[test]
fn sc_gps_round_trip_is_not_answered() {
    let f = encode::sc_gps(ID, &[fix(), fix()], 123_456);
    let out = dec().decode(&f, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), ID);
    assert_eq!(out.ack.accepted, None);
    assert_eq!(out.records.len(), 2);
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, fix().time);
    assert!((p.lat + 33.7848317).abs() < 1e-6 && (p.lon - 151.2698267).abs() < 1e-6);
    assert!((p.speed_kmh - 54.0).abs() < 0.02, "{}", p.speed_kmh);
    assert_eq!((p.course, p.satellites, p.valid), (212.0, 9, true));
    assert_eq!((p.odometer_m, p.ignition), (Some(123_456.0), Some(true)));
}

#[test]
fn sc_alarm_without_fix_is_an_alarm_event() {
    let mut c = vec![0; 4];
    c.extend_from_slice(&encode::stat(0, false));
    c.push(0); // no fix
    c.extend_from_slice(&[1, 1, 0x05, 0, 0, 0, 0]);
    let f = encode::frame(Some(4), &encode::id_field(ID), 0x4007, &c);
    let out = dec().decode(&f, &test_util::ctx()).unwrap();
    assert!(
        matches!(&out.records[..], [Record::Event(e)] if e.kind == EventKind::Alarm { alarm: Alarm::HarshBraking })
    );
}

#[test]
fn integrity_checks_follow_the_policy() {
    let f = encode::sc_gps(ID, &[fix()], 1).to_vec();
    let mut bad = f.clone();
    let n = bad.len();
    bad[n - 4] ^= 1;
    assert!(dec()
        .decode(&bad, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
    let mut lenient = CastelDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap();
    assert!(lenient.decode(&bad, &test_util::ctx()).is_ok());
    let mut long = f.clone();
    long[2] = long[2].wrapping_add(1);
    let at = long.len() - 4;
    let c = crate::protocol::wire::crc16_x25(&long[..at]);
    long[at..at + 2].copy_from_slice(&c.to_le_bytes());
    assert!(dec()
        .decode(&long, &test_util::ctx())
        .unwrap_err()
        .to_string()
        .contains("length field"));
    // A count that claims more fixes than the frame holds.
    let mut c = vec![0u8];
    c.extend_from_slice(&encode::stat(0, false));
    c.push(3);
    c.extend_from_slice(&encode::position(&fix()));
    let f = encode::frame(Some(4), &encode::id_field(ID), 0x4001, &c);
    assert!(dec().decode(&f, &test_util::ctx()).is_err());
}

#[test]
fn framer_cuts_resyncs_and_skips_oversized() {
    let a = encode::sc_gps(ID, &[fix()], 1).to_vec();
    let b = encode::frame(Some(4), &encode::id_field(ID), 0x1003, &[]).to_vec();
    let mut stream = b"\x00x".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&b);
    let want = vec![a, b];
    assert_eq!(test_util::frames(&mut dec(), &stream, 1), want);
    assert_eq!(test_util::frames(&mut dec(), &stream, stream.len()), want);
    let mut d = CastelDecoder::new(&DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(&b"@@\x00\x01"[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), max in 32usize..300) {
        let mut d = CastelDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &data, max, &test_util::ctx())?;
    }

    #[test]
    fn round_trip(lat in -89.0f64..89.0, lon in -179.0f64..179.0, course in 0u16..360,
                  secs in 946_684_800i64..4_000_000_000) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, course: course.into(),
                      valid: true, ..Fix::default() };
        let out = dec().decode(&encode::sc_gps(ID, std::slice::from_ref(&f), 0), &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert_eq!(p.course, f64::from(course));
    }
}
