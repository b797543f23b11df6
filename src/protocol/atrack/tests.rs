use super::encode;
use super::*;
use crate::model::IoValue;
use crate::protocol::{test_util, ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const UNIT: u64 = 352_964_052_096_642;

fn dec() -> AtrackDecoder {
    AtrackDecoder::new(&DecoderOptions::default()).unwrap()
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 58, 0).unwrap(),
        lat: 40.547543,
        lon: -3.635179,
        speed_kmh: 57.0,
        course: 212.0,
        hdop: 0.8,
        valid: true,
        ignition: true,
        odometer_m: 1_234_500.0,
        ..Fix::default()
    }
}

#[test]
fn binary_round_trip_and_ack() {
    let f = encode::binary_frame(UNIT, 0x01e0, &[encode::binary_record(&fix(), 2)]);
    let out = dec().decode(&f, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "352964052096642");
    assert_eq!(
        hex::encode(out.ack.accepted.as_ref().unwrap()),
        "fe0200014104d8f1968201e0"
    );
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, fix().time);
    assert_eq!(
        (p.lat, p.lon, p.course, p.speed_kmh),
        (40.547543, -3.635179, 212.0, 57.0)
    );
    assert_eq!((p.odometer_m, p.ignition), (Some(1_234_500.0), Some(true)));
    assert_eq!(p.io.get("hdop"), Some(&IoValue::Float(0.8)));
    assert_eq!(p.io.get("event"), Some(&IoValue::Int(2)));
}

#[test]
fn long_dates_are_read_off_the_bytes() {
    let mut rec = encode::binary_record(&fix(), 1);
    // Replace the three u32 times with three 7-byte dates.
    let date = [0x07, 0xea, 11, 27, 4, 58, 0];
    let mut long = date.repeat(3);
    long.extend_from_slice(&rec.split_off(12));
    let f = encode::binary_frame(UNIT, 1, &[long]);
    let out = dec().decode(&f, &test_util::ctx()).unwrap();
    assert_eq!(test_util::position(&out).fix_time, fix().time);
}

#[test]
fn binary_integrity_checks() {
    let f = encode::binary_frame(UNIT, 1, &[encode::binary_record(&fix(), 1)]).to_vec();
    let mut bad = f.clone();
    let n = bad.len();
    bad[3] ^= 1;
    assert!(dec()
        .decode(&bad, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
    let lenient = AtrackDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    });
    assert!(lenient.unwrap().decode(&bad, &test_util::ctx()).is_ok());
    let mut short = f.clone();
    short.truncate(n - 3);
    let e = dec().decode(&short, &test_util::ctx()).unwrap_err();
    assert!(e.to_string().contains("length field"), "{e}");
    for cut in 6..n {
        let _ = dec().decode(&f[..cut], &test_util::ctx());
    }
}

#[test]
fn custom_form_with_unknown_width_is_rejected() {
    let mut rec = encode::binary_record(&fix(), 1);
    rec.extend_from_slice(b"%CI%SA%XY\0");
    rec.extend_from_slice(&[7, 1]);
    let f = encode::binary_frame(UNIT, 1, &[rec]);
    let e = dec().decode(&f, &test_util::ctx()).unwrap_err();
    assert!(e.to_string().contains("%XY"), "{e}");
}

#[test]
fn configured_form_reads_binary_custom_data() {
    let opts = DecoderOptions {
        options: [("form".to_string(), "%SA%MV".to_string())].into(),
        ..DecoderOptions::default()
    };
    let mut d = AtrackDecoder::new(&opts).unwrap();
    let mut rec = encode::binary_record(&fix(), 1);
    rec.extend_from_slice(&[11, 0, 137]);
    let out = d
        .decode(&encode::binary_frame(UNIT, 1, &[rec]), &test_util::ctx())
        .unwrap();
    let p = test_util::position(&out);
    assert_eq!((p.satellites, p.power_v), (11, Some(13.7)));
    let bad = DecoderOptions {
        options: [("form".to_string(), "SA".to_string())].into(),
        ..DecoderOptions::default()
    };
    assert!(AtrackDecoder::new(&bad).is_err());
}

#[test]
fn text_report_with_crc_and_length_checked() {
    let body = ",123,353816057242284,20180622015809,20180622015809,20180622015809,9720689,4014230,61,2,12.5,9,1,55,0,0,,2000,2000,\u{1a}\r\n";
    // LEN counts from the comma after it through the `\r`.
    let len_part = body.len() - 1;
    let tail = format!(",{len_part}{body}");
    let crc = encode::crc(tail.as_bytes());
    let f = format!("@P,{crc:04X}{tail}");
    let mut cut = test_util::frames(&mut dec(), f.as_bytes(), 3);
    assert_eq!(cut.len(), 1);
    let frame = cut.remove(0);
    assert_eq!(frame, f.as_bytes());
    let out = dec().decode(&frame, &test_util::ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2018, 6, 22, 1, 58, 9).unwrap()
    );
    assert_eq!(
        (p.lat, p.lon, p.speed_kmh, p.course),
        (4.01423, 9.720689, 55.0, 61.0)
    );
    assert_eq!(p.odometer_m, Some(1250.0));
    let mut bad = f.clone().into_bytes();
    let at = bad.len() - 5;
    bad[at] = b'9';
    assert!(dec()
        .decode(&bad, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
}

#[test]
fn framer_cuts_every_kind_and_resyncs() {
    let bin = encode::binary_frame(UNIT, 1, &[encode::binary_record(&fix(), 1)]);
    let ka = encode::ack(UNIT, 7);
    let mut stream = b"xx".to_vec();
    stream.extend_from_slice(&bin);
    stream.extend_from_slice(&ka);
    stream.extend_from_slice(b"$OK\r\n");
    let want = vec![bin.to_vec(), ka.to_vec(), b"$OK\r\n".to_vec()];
    assert_eq!(test_util::frames(&mut dec(), &stream, 1), want);
    assert_eq!(test_util::frames(&mut dec(), &stream, stream.len()), want);
    let mut d = AtrackDecoder::new(&DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(&[b'@', b'P', 0, 0, 0x10, 0][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

#[test]
fn answers_before_identification_are_errors() {
    let e = dec().decode(b"$OK\r\n", &test_util::ctx()).unwrap_err();
    assert!(matches!(e, DecodeError::NotIdentified { .. }));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), max in 16usize..300) {
        let mut d = AtrackDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &data, max, &test_util::ctx())?;
    }

    #[test]
    fn round_trip(lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0u16..400,
                  course in 0u16..360, secs in 946_684_800i64..4_000_000_000, seq in any::<u16>()) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, speed_kmh: speed.into(),
                      course: course.into(), valid: true, ..Fix::default() };
        let frame = encode::binary_frame(UNIT, seq, &[encode::binary_record(&f, 1)]);
        let out = dec().decode(&frame, &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() <= 5e-7 && (p.lon - lon).abs() <= 5e-7);
        prop_assert_eq!((p.speed_kmh, p.course), (f64::from(speed), f64::from(course)));
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(UNIT, seq));
    }
}
