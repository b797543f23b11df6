use super::encode::{self, RecordSpec, ACK_DTC, ACK_RECORDS, NACK_RECORDS};
use super::*;
use crate::model::{Alarm, IoValue, Record};
use crate::protocol::test_util;
use crate::protocol::DecoderOptions;
use crate::protocol::{ChecksumPolicy, DecodeCtx, Decoder, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};

const IMEI: u64 = 863_071_016_796_572;

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn dec() -> RuptelaDecoder {
    RuptelaDecoder::new(&DecoderOptions::default()).unwrap()
}

fn spec() -> RecordSpec {
    RecordSpec {
        time: 1_444_141_293,
        lon: -674_950,
        lat: 56_292_216,
        alt_dm: 487,
        course_cdeg: 24_320,
        satellites: 9,
        speed_kmh: 37,
        hdop10: 13,
        event: 7,
        io: vec![(2, 1, 1), (29, 2, 12_850), (65, 4, 123_456), (251, 1, 1)],
    }
}

#[test]
fn acks_are_exact_and_their_crcs_check() {
    assert_eq!(hex::encode(ACK_RECORDS), "0002640113bc");
    assert_eq!(hex::encode(ACK_DTC), "00026d01c4a4");
    assert_eq!(&encode::server_frame(0x64, &[1])[..], &ACK_RECORDS);
    assert_eq!(&encode::server_frame(0x64, &[0])[..], &NACK_RECORDS);
    assert_eq!(&encode::server_frame(0x6d, &[1])[..], &ACK_DTC);
    assert_eq!(
        encode::crc(b"123456789"),
        0x2189,
        "CRC-16/KERMIT check value"
    );
}

#[test]
fn record_round_trip_exact() {
    let f = encode::records_frame(IMEI, &[spec()], false);
    let mut d = dec();
    let out = d.decode(&f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "863071016796572");
    assert_eq!(out.ack.accepted.as_deref(), Some(&ACK_RECORDS[..]));
    assert_eq!(out.ack.refused.as_deref(), Some(&NACK_RECORDS[..]));
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 10, 6, 14, 21, 33).unwrap()
    );
    assert_eq!((p.lat, p.lon), (5.6292216, -0.067495));
    assert_eq!((p.altitude_m, p.course, p.satellites), (48.7, 243.2, 9));
    assert_eq!(p.speed_kmh, 37.0);
    assert!(p.valid);
    assert_eq!(p.power_v, Some(12.85));
    assert_eq!(p.odometer_m, Some(123_456.0));
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.io.get("io_2"), Some(&IoValue::Int(1)));
    assert_eq!(p.io.get("hdop"), Some(&IoValue::Float(1.3)));
    assert_eq!(p.io.get("event"), Some(&IoValue::Int(7)));
}

#[test]
fn extended_record_round_trip_and_alarms() {
    let mut s = spec();
    s.event = 410;
    s.io = vec![(410, 1, 1), (758, 1, 1), (415, 1, 0), (1000, 2, 5)];
    let f = encode::records_frame(IMEI, &[s.clone(), s], true);
    let out = dec().decode(&f, &ctx()).unwrap();
    assert_eq!(out.records.len(), 2);
    let Record::Position(p) = &out.records[1] else {
        panic!()
    };
    assert_eq!(p.alarms, vec![Alarm::Tow, Alarm::Tamper, Alarm::GnssFault]);
    assert_eq!(p.io.get("io_1000"), Some(&IoValue::Int(5)));
    assert_eq!(p.io.get("event"), Some(&IoValue::Int(410)));
}

#[test]
fn record_without_fix_is_invalid_at_zero() {
    let mut s = spec();
    s.lat = i32::MIN;
    s.lon = i32::MIN;
    let out = dec()
        .decode(&encode::records_frame(IMEI, &[s], false), &ctx())
        .unwrap();
    let p = test_util::position(&out);
    assert!(!p.valid);
    assert_eq!(
        (p.lat, p.lon, p.speed_kmh, p.satellites),
        (0.0, 0.0, 0.0, 0)
    );
}

#[test]
fn bad_crc_is_refused_unless_ignored() {
    let mut f = encode::records_frame(IMEI, &[spec()], false).to_vec();
    let n = f.len();
    f[n - 1] ^= 0xff;
    let e = dec().decode(&f, &ctx()).unwrap_err();
    assert!(e.is_checksum(), "{e}");
    let opts = DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    };
    let mut d = RuptelaDecoder::new(&opts).unwrap();
    assert_eq!(d.decode(&f, &ctx()).unwrap().records.len(), 1);
}

#[test]
fn truncated_record_is_an_error_not_a_panic() {
    let full = encode::records_payload(&[spec()], false);
    for cut in 0..full.len() {
        let f = encode::device_frame(IMEI, 1, &full[..cut]);
        assert!(dec().decode(&f, &ctx()).is_err(), "cut {cut}");
    }
}

#[test]
fn heartbeat_and_identification_get_their_answer() {
    let out = dec()
        .decode(&encode::device_frame(IMEI, 16, &[]), &ctx())
        .unwrap();
    assert_eq!(hex::encode(out.ack.accepted.unwrap()), "000210018418");
    let out = dec()
        .decode(&encode::device_frame(IMEI, 15, b"FM-Pro4"), &ctx())
        .unwrap();
    assert_eq!(hex::encode(out.ack.accepted.unwrap()), "00020f019241");
}

#[test]
fn framer_splits_coalesced_and_partial_frames() {
    let a = encode::records_frame(IMEI, &[spec()], false);
    let b = encode::device_frame(IMEI, 16, &[]);
    let mut stream = a.to_vec();
    stream.extend_from_slice(&b);
    let mut d = dec();
    // Byte by byte: NeedMore until each frame is whole, then exactly that frame.
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &byte in &stream {
        buf.extend_from_slice(&[byte]);
        loop {
            match d.frame(&mut buf) {
                FrameResult::Frame(f) => got.push(f),
                FrameResult::NeedMore => break,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(got, vec![a.clone(), b.clone()]);
    // Coalesced in one read.
    let mut buf = BytesMut::from(&stream[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(a));
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(b));
    assert_eq!(d.frame(&mut buf), FrameResult::NeedMore);
}

#[test]
fn framer_skips_impossible_lengths() {
    // Traccar's 1024-byte cap, so the misaligned length `05 00` (1280) is impossible too.
    let mut d = RuptelaDecoder::new(&DecoderOptions {
        max_frame: 1024,
        ..DecoderOptions::default()
    })
    .unwrap();
    // Length 5 is below IMEI + command: one byte dropped, `05 00` too long, then the frame.
    let f = encode::device_frame(IMEI, 16, &[]);
    let mut buf = BytesMut::from(&[0x00, 0x05][..]);
    buf.extend_from_slice(&f);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(f));
    // Over max_frame (4096): skipped without waiting for the body.
    let mut buf = BytesMut::from(&[0xff, 0xff, 0x00][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

#[test]
fn options_are_rejected() {
    let mut o = DecoderOptions::default();
    o.options.insert("x".into(), "1".into());
    assert!(RuptelaDecoder::new(&o).is_err());
}
