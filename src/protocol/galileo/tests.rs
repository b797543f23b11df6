use super::encode::{self, MAIN_ACK};
use super::*;
use crate::model::{EventKind, IoValue, Record};
use crate::protocol::{test_util, ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const IMEI: &str = "868204001269934";

fn dec() -> GalileoDecoder {
    GalileoDecoder::new(&DecoderOptions::default()).unwrap()
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 59, 30).unwrap(),
        lat: 55.751244,
        lon: -37.618423,
        speed_kmh: 61.3,
        course: 271.0,
        altitude_m: 156.0,
        satellites: 11,
        hdop: 0.9,
        valid: true,
        ignition: true,
        odometer_m: 123_456.0,
    }
}

/// The CRC bytes at the end of a packet.
fn crc_of(p: &[u8]) -> [u8; 2] {
    [p[p.len() - 2], p[p.len() - 1]]
}

#[test]
fn crc_is_modbus_and_the_ack_echoes_it() {
    assert_eq!(
        encode::crc(b"123456789"),
        0x4b37,
        "CRC-16/MODBUS check value"
    );
    // Captured identification packet (Traccar's test, line 34): CRC 85 90 on the wire.
    let head = hex::decode("011380033836383230343030313534393038370432008590").unwrap();
    let out = dec().decode(&head, &test_util::ctx()).unwrap();
    assert_eq!(hex::encode(out.ack.accepted.as_ref().unwrap()), "028590");
    assert_eq!(out.ack.refused, None);
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "868204001549087");
    assert_eq!(out.kind, "head packet");
    assert!(matches!(test_util::event(&out).kind, EventKind::Login));
}

#[test]
fn main_packet_round_trip_exact() {
    let mut second = fix();
    second.time += chrono::Duration::seconds(30);
    second.valid = false;
    let p = encode::main_packet(IMEI, &[fix(), second], true);
    let out = dec().decode(&p, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), IMEI);
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&[MAIN_ACK, crc_of(&p)[0], crc_of(&p)[1]][..])
    );
    assert_eq!(
        out.records.len(),
        2,
        "a repeated tag starts the next record"
    );
    let p0 = test_util::position(&out);
    assert_eq!(p0.fix_time, fix().time);
    assert_eq!((p0.lat, p0.lon), (55.751244, -37.618423));
    assert_eq!(
        (p0.speed_kmh, p0.course, p0.altitude_m),
        (61.3, 271.0, 156.0)
    );
    assert_eq!((p0.satellites, p0.valid, p0.historical), (11, true, true));
    assert_eq!(p0.power_v, Some(12.6));
    assert_eq!(p0.odometer_m, Some(123_456.0));
    assert_eq!(p0.io.get("hdop"), Some(&IoValue::Float(0.9)));
    assert_eq!(p0.io.get("device_id"), Some(&IoValue::Int(50)));
    let Record::Position(p1) = &out.records[1] else {
        panic!("second record")
    };
    assert!(!p1.valid);
    assert_eq!(p1.io.get("index"), Some(&IoValue::Int(1)));
}

#[test]
fn data_packet_without_imei_needs_an_earlier_one() {
    let body = encode::record_tags(&fix(), 7, 12_000);
    let p = encode::packet(0x01, &body, false);
    let e = dec().decode(&p, &test_util::ctx()).unwrap_err();
    assert!(matches!(e, DecodeError::NotIdentified { .. }), "{e}");
    let mut d = dec();
    d.decode(&encode::main_packet(IMEI, &[], false), &test_util::ctx())
        .unwrap();
    let out = d.decode(&p, &test_util::ctx()).unwrap();
    assert_eq!(out.identity, None);
    assert_eq!(test_util::position(&out).device.as_str(), IMEI);
}

#[test]
fn command_reply_is_a_command_result() {
    let mut body = vec![0x03];
    body.extend_from_slice(IMEI.as_bytes());
    body.extend_from_slice(&[0x04, 0x32, 0x00, 0xe0, 0x2a, 0, 0, 0, 0xe1, 6]);
    body.extend_from_slice(b"Out=1 ");
    let out = dec()
        .decode(&encode::packet(0x01, &body, false), &test_util::ctx())
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "Out=1 ".into()
        }
    );
    assert_eq!(e.attributes.get("command_number"), Some(&IoValue::Int(42)));
}

#[test]
fn bad_crc_length_and_unknown_tag_are_errors() {
    let mut p = encode::main_packet(IMEI, &[fix()], false).to_vec();
    let n = p.len();
    p[n - 1] ^= 0xff;
    assert!(dec()
        .decode(&p, &test_util::ctx())
        .unwrap_err()
        .is_checksum());
    let mut lenient = GalileoDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap();
    let out = lenient.decode(&p, &test_util::ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&[2, p[n - 2], p[n - 1]][..]),
        "the device's own CRC is echoed"
    );
    // A length field that disagrees with the frame.
    let mut q = encode::main_packet(IMEI, &[fix()], false).to_vec();
    q[1] = q[1].wrapping_sub(1);
    let e = dec().decode(&q, &test_util::ctx()).unwrap_err();
    assert!(e.to_string().contains("length field"), "{e}");
    // Tag 0x3f has no known length: the packet cannot be walked.
    let e = dec()
        .decode(&encode::packet(0x01, &[0x3f, 0], false), &test_util::ctx())
        .unwrap_err();
    assert!(e.to_string().contains("unknown tag 0x3f"), "{e}");
}

#[test]
fn truncated_tags_are_errors_not_panics() {
    let mut body = vec![0x03];
    body.extend_from_slice(IMEI.as_bytes());
    body.extend_from_slice(&encode::record_tags(&fix(), 1, 1));
    for cut in 1..body.len() {
        let p = encode::packet(0x01, &body[..cut], false);
        let _ = dec().decode(&p, &test_util::ctx());
    }
    let p = encode::packet(0x01, &body[..10], false);
    assert!(dec().decode(&p, &test_util::ctx()).is_err());
}

#[test]
fn photo_part_is_acknowledged_with_its_header() {
    let mut d = dec();
    d.decode(&encode::main_packet(IMEI, &[], false), &test_util::ctx())
        .unwrap();
    let p = encode::packet(0x07, &[3, 0xff, 0xd8], false);
    let out = d.decode(&p, &test_util::ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&[0x07, crc_of(&p)[0], crc_of(&p)[1]][..])
    );
    assert!(out.records.is_empty());
}

#[test]
fn compressed_packets_are_refused_plainly() {
    let p = encode::packet(0x08, &[0; 12], false);
    let e = dec().decode(&p, &test_util::ctx()).unwrap_err();
    assert!(e.to_string().contains("0x08"), "{e}");
}

#[test]
fn framer_cuts_split_and_coalesced_packets() {
    let a = encode::main_packet(IMEI, &[fix()], false);
    let b = encode::packet(0x07, &[1, 2, 3], false);
    let mut stream = vec![0x55, 0x00];
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&b);
    let got = test_util::frames(&mut dec(), &stream, 1);
    assert_eq!(got, vec![a.to_vec(), b.to_vec()]);
    let got = test_util::frames(&mut dec(), &stream, stream.len());
    assert_eq!(got, vec![a.to_vec(), b.to_vec()]);
}

#[test]
fn framer_skips_oversized_and_empty_packets() {
    let mut d = GalileoDecoder::new(&DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(&[0x01, 0xff, 0x0f, 0, 0, 0][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    let mut buf = BytesMut::from(&[0x01, 0x00, 0x00, 0x55][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(4));
}

#[test]
fn iridium_message_exact() {
    // Traccar's GalileoFrameDecoderTest line 17: an Iridium SBD message with a payload.
    let f = hex::decode(concat!(
        "01003f01001c475b166133303035333430363431383437393000001d000064897bb003000b02",
        "21c20512a60a0000000802000f209d7b8964300f2536fbfd103c1d01"
    ))
    .unwrap();
    let got = test_util::frames(&mut dec(), &f, 5);
    assert_eq!(got, vec![f.clone()]);
    let out = dec().decode(&f, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "300534064184790");
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    // Payload tag 20 (9d7b8964 LE) and tag 30 (flags 0f, lat 2536fbfd LE, lon 103c1d01 LE).
    assert_eq!(p.fix_time, Utc.timestamp_opt(0x64897b9d, 0).unwrap());
    assert_eq!((p.lat, p.lon), (-33.868251, 18.693136));
    assert_eq!((p.valid, p.satellites), (true, 15));
}

#[test]
fn options_are_rejected() {
    let mut o = DecoderOptions::default();
    o.options.insert("x".into(), "1".into());
    assert!(GalileoDecoder::new(&o).is_err());
}

proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400), max in 6usize..300) {
        let mut d = GalileoDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &data, max, &test_util::ctx())?;
    }

    #[test]
    fn encode_decode_round_trip(lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0.0f64..500.0,
                                course in 0u16..360, secs in 946_684_800i64..4_000_000_000) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, speed_kmh: speed,
                      course: course.into(), valid: true, ..Fix::default() };
        let out = dec().decode(&encode::main_packet(IMEI, std::slice::from_ref(&f), false), &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() <= 5e-7 && (p.lon - lon).abs() <= 5e-7);
        prop_assert!((p.speed_kmh - speed).abs() <= 0.05);
        prop_assert_eq!(p.course, f64::from(course));
    }
}
