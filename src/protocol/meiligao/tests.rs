use super::decode::cmd;
use super::encode;
use super::*;
use crate::model::{Alarm, EventKind, IoValue, Record};
use crate::protocol::{test_util, ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const ID: &str = "13612345678";

fn dec() -> MeiligaoDecoder {
    MeiligaoDecoder::new(&DecoderOptions::default()).unwrap()
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 58, 7).unwrap(),
        lat: -22.586295,
        lon: 113.964855,
        speed_kmh: 18.52,
        course: 123.0,
        altitude_m: 42.0,
        hdop: 1.2,
        valid: true,
        ..Fix::default()
    }
}

#[test]
fn crc_check_value_and_id_field() {
    assert_eq!(encode::crc(b"123456789"), 0x29b1, "CRC-16/CCITT-FALSE");
    assert_eq!(hex::encode(encode::id_field(ID)), "13612345678fff");
}

#[test]
fn position_round_trip_has_no_answer() {
    let out = dec()
        .decode(&encode::position(ID, &fix()), &test_util::ctx())
        .unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), ID);
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, fix().time);
    assert!((p.lat + 22.586295).abs() < 1e-6 && (p.lon - 113.964855).abs() < 1e-6);
    assert!((p.speed_kmh - 18.52).abs() < 1e-9, "{}", p.speed_kmh);
    assert_eq!((p.course, p.altitude_m, p.valid), (123.0, 42.0, true));
    assert_eq!(p.io.get("hdop"), Some(&IoValue::Float(1.2)));
}

#[test]
fn login_and_heartbeat_answers() {
    let raw = encode::id_field(ID);
    let login = encode::frame(b'$', &raw, cmd::LOGIN, &[]);
    let out = dec().decode(&login, &test_util::ctx()).unwrap();
    assert_eq!(test_util::event(&out).kind, EventKind::Login);
    assert_eq!(
        out.ack.accepted.unwrap(),
        encode::frame(b'@', &raw, cmd::LOGIN_RESPONSE, &[1])
    );
    let hb = encode::frame(b'$', &raw, cmd::HEARTBEAT, &[]);
    let out = dec().decode(&hb, &test_util::ctx()).unwrap();
    assert_eq!(
        hex::encode(out.ack.accepted.unwrap()),
        format!("40400012{}000101", hex::encode(raw))
            + &format!(
                "{:04x}0d0a",
                encode::crc(&hex::decode(format!("40400012{}000101", hex::encode(raw))).unwrap())
            )
    );
}

#[test]
fn alarm_with_and_without_code_byte() {
    let raw = encode::id_field(ID);
    let mut data = vec![0x01];
    data.extend_from_slice(encode::sentence(&fix(), 0).as_bytes());
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::ALARM, &data),
            &test_util::ctx(),
        )
        .unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(p.fix_time, fix().time);
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::ALARM, &data[1..]),
            &test_util::ctx(),
        )
        .unwrap();
    let p = test_util::position(&out);
    assert!(p.alarms.is_empty());
    assert_eq!(p.fix_time, fix().time);
}

#[test]
fn retransmission_count_is_checked() {
    let raw = encode::id_field(ID);
    let s = encode::sentence(&fix(), 0);
    let data = format!("\u{2}\u{0}{s}\\\u{0}{s}");
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::RETRANSMISSION, data.as_bytes()),
            &test_util::ctx(),
        )
        .unwrap();
    assert_eq!(out.records.len(), 2);
    assert!(matches!(&out.records[1], Record::Position(p) if p.historical));
    let lying = format!("\u{3}\u{0}{s}\\\u{0}{s}");
    let f = encode::frame(b'$', &raw, cmd::RETRANSMISSION, lying.as_bytes());
    assert!(dec().decode(&f, &test_util::ctx()).is_err());
}

#[test]
fn photo_upload_is_answered() {
    let raw = encode::id_field(ID);
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::UPLOAD_PHOTO, &[7]),
            &test_util::ctx(),
        )
        .unwrap();
    assert_eq!(
        out.ack.accepted.unwrap(),
        encode::frame(b'@', &raw, cmd::UPLOAD_PHOTO_RESPONSE, &[7])
    );
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::UPLOAD_COMPLETE, &[7]),
            &test_util::ctx(),
        )
        .unwrap();
    assert_eq!(
        out.ack.accepted.unwrap(),
        encode::frame(b'@', &raw, cmd::RETRANSMISSION, &[7, 0, 0])
    );
}

#[test]
fn integrity_checks_follow_the_policy() {
    let mut f = encode::position(ID, &fix()).to_vec();
    let n = f.len();
    f[n - 3] ^= 1;
    assert!(dec()
        .decode(&f, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
    let mut lenient = MeiligaoDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap();
    assert!(lenient.decode(&f, &test_util::ctx()).is_ok());
    // A length field that disagrees (CRC recomputed so only the length is wrong).
    let mut g = encode::position(ID, &fix()).to_vec();
    g[3] = g[3].wrapping_add(1);
    let at = g.len() - 4;
    let c = encode::crc(&g[..at]);
    g[at..at + 2].copy_from_slice(&c.to_be_bytes());
    let e = dec().decode(&g, &test_util::ctx()).unwrap_err();
    assert!(e.to_string().contains("length field"), "{e}");
}

#[test]
fn framer_cuts_resyncs_and_skips_oversized() {
    let a = encode::position(ID, &fix());
    let b = encode::frame(b'$', &encode::id_field(ID), cmd::HEARTBEAT, &[]);
    let mut stream = b"xy".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&b);
    let want = vec![a.to_vec(), b.to_vec()];
    assert_eq!(test_util::frames(&mut dec(), &stream, 1), want);
    assert_eq!(test_util::frames(&mut dec(), &stream, stream.len()), want);
    let mut d = MeiligaoDecoder::new(&DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(&b"$$\x01\x00"[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), max in 17usize..300) {
        let mut d = MeiligaoDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &data, max, &test_util::ctx())?;
    }

    #[test]
    fn round_trip(lat in -89.0f64..89.0, lon in -179.0f64..179.0, course in 0u16..360,
                  secs in 946_684_800i64..4_000_000_000) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, course: course.into(),
                      valid: true, ..Fix::default() };
        let out = dec().decode(&encode::position(ID, &f), &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert_eq!(p.course, f64::from(course));
    }
}

#[test]
fn logged_and_image_positions_and_server_request() {
    let raw = encode::id_field(ID);
    let s = encode::sentence(&fix(), 0);
    let mut logged = vec![0; 6];
    logged.extend_from_slice(s.as_bytes());
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::POSITION_LOGGED, &logged),
            &test_util::ctx(),
        )
        .unwrap();
    let p = test_util::position(&out);
    assert!(p.historical);
    assert_eq!(p.fix_time, fix().time);
    let mut image = vec![3, 1];
    image.extend_from_slice(s.as_bytes());
    let out = dec()
        .decode(
            &encode::frame(b'$', &raw, cmd::POSITION_IMAGE, &image),
            &test_util::ctx(),
        )
        .unwrap();
    assert!(!test_util::position(&out).historical);
    // 0x0002 asks for the server address, which a sans-IO decoder does not know: unanswered.
    let out = dec()
        .decode(&encode::frame(b'$', &raw, 0x0002, &[]), &test_util::ctx())
        .unwrap();
    assert_eq!(out.ack.accepted, None);
    assert!(
        matches!(&test_util::event(&out).kind, EventKind::Info { name } if name == "command 0x0002")
    );
}
