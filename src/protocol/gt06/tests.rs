//! GT06 unit tests: exact ACK bytes, identity rules, checksum policy, round trips through the
//! encoders, and stream robustness (splits, coalescing, garbage).
//!
//! Expected ACK bytes are literals: the login ones are the spec's own examples (see
//! protocol-notes), the others were computed with an independent Python CRC-16/X-25 that
//! reproduces those examples, never with the code under test.

use super::encode::{self, Cell, Status};
use super::frame::cut_frame;
use super::*;
use crate::model::{Alarm, EventKind, Record};
use crate::protocol::test_util::{self, ctx};
use crate::protocol::{
    ChecksumPolicy, Cut, DecodeError, Decoder, DecoderOptions, Fix, FrameResult,
};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn dec(policy: ChecksumPolicy) -> Gt06Decoder {
    Gt06Decoder::new(&DecoderOptions {
        checksum: policy,
        ..DecoderOptions::default()
    })
    .unwrap()
}

const LOGIN: &str = "78780d01086471700328358100093f040d0a";

fn logged_in() -> Gt06Decoder {
    let mut d = dec(ChecksumPolicy::Verify);
    d.decode(&h(LOGIN), &ctx()).unwrap();
    d
}

#[test]
fn login_identifies_and_acks_with_the_spec_bytes() {
    let mut d = dec(ChecksumPolicy::Verify);
    let out = d.decode(&h(LOGIN), &ctx()).unwrap();
    assert_eq!(out.kind, "login");
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "864717003283581");
    assert!(out.records.is_empty());
    // protocol-notes: serial 0x0009 → 78780501000955940D0A; a refused device gets silence.
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("78780501000955940d0a")
    );
    assert_eq!(out.ack.refused, None);
    assert_eq!(d.device().unwrap().as_str(), "864717003283581");
    // The spec's own example: serial 0x0001 → 78 78 05 01 00 01 D9 DC 0D 0A.
    assert_eq!(encode::ack(0x01, 1).as_ref(), h("787805010001d9dc0d0a"));
}

#[test]
fn positions_before_login_are_not_identified() {
    let mut d = dec(ChecksumPolicy::Verify);
    let f = h("78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a");
    assert!(matches!(
        d.decode(&f, &ctx()),
        Err(DecodeError::NotIdentified { .. })
    ));
}

#[test]
fn bad_crc_is_dropped_under_verify_and_decoded_under_ignore() {
    // Traccar seq 145: stored CRC 0x0380... does not match.
    let f = h("78781f120b081d112e10cc027ac7eb0c46584900148f01cc00287d001fb8000380810d0a");
    let mut v = logged_in();
    match v.decode(&f, &ctx()) {
        Err(DecodeError::Checksum { expected, computed }) => {
            assert_eq!(expected, 0x8081);
            assert_ne!(computed, expected);
        }
        other => panic!("{other:?}"),
    }
    let mut i = dec(ChecksumPolicy::Ignore);
    i.decode(&h(LOGIN), &ctx()).unwrap();
    let out = i.decode(&f, &ctx()).unwrap();
    assert!(matches!(out.records[0], Record::Position(_)));
}

#[test]
fn unknown_options_are_rejected() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("modle".into(), "x".into());
    let e = Gt06Decoder::new(&opts).unwrap_err();
    assert_eq!(e.key, "modle");
    assert_eq!(e.protocol, "gt06");
}

#[test]
fn heartbeat_0x13_acks_and_stores_nothing() {
    let mut d = logged_in();
    let out = d
        .decode(&h("78780a134406040002000d77b80d0a"), &ctx())
        .unwrap();
    assert_eq!(out.kind, "heartbeat 0x13");
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("78780513000d239d0d0a")
    );
}

#[test]
fn alarm_0x16_is_a_position_with_the_alarm_and_acked() {
    // Traccar seq 25: SOS, 2-byte battery field, serial 0x035f.
    let mut d = logged_in();
    let f = h(
        "787826161709130f3a2dcc02c55f2a089f9af9005c210901360481fe066d9b03413e420102035f92fe0d0a",
    );
    let out = d.decode(&f, &ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2023, 9, 19, 15, 58, 45).unwrap()
    );
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("78780516035f41df0d0a")
    );
}

#[test]
fn location_0x22_acks_and_reads_acc_and_reupload() {
    // Traccar seq 53: 2015-12-29 02:51:05, ACC off, real-time, serial 0x0008.
    let mut d = logged_in();
    let f = h("787822220f0c1d023305c9027ac8180c46586000140001cc00287d001f71000001000820860d0a");
    let out = d.decode(&f, &ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 12, 29, 2, 51, 5).unwrap()
    );
    // 0x027AC818 / 1.8e6 and 0x0C465860 / 1.8e6 (north, east).
    assert!((p.lat - 23.111693).abs() < 1e-5, "{}", p.lat);
    assert!((p.lon - 114.409298).abs() < 1e-5, "{}", p.lon);
    assert_eq!(p.satellites, 9);
    assert_eq!(p.ignition, Some(false));
    assert!(p.historical);
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("787805220008a8420d0a")
    );
}

#[test]
fn time_request_gets_the_utc_time_reply() {
    let mut d = logged_in();
    let out = d.decode(&h("7878058a000688290d0a"), &ctx()).unwrap();
    assert!(out.records.is_empty());
    // 2026-11-27 05:00:00 UTC, serial 0 (as Traccar answers).
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("78780b8a1a0b1b05000000001c370d0a")
    );
}

#[test]
fn address_request_gets_the_no_address_reply() {
    let mut d = logged_in();
    let f = h("78782e2a0f0c1d071139ca027ac8000c4658000014d83132353230313335333231373730373900000000000001002a6ece0d0a");
    let out = d.decode(&f, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        h("79790015970b000000004e4126264e4126263023230000e61e0d0a")
    );
}

#[test]
fn wifi_frame_gets_the_crc_less_time_echo() {
    let mut d = dec(ChecksumPolicy::Ignore);
    d.decode(&h(LOGIN), &ctx()).unwrap();
    let f = h("787800691710231108500200cc080c4e2fa5640c4e2fa66e0d0a");
    let out = d.decode(&f, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_ref().unwrap().as_ref(),
        h("787800691710231108500d0a")
    );
    let e = test_util::event(&out);
    assert_eq!(
        e.time,
        Utc.with_ymd_and_hms(2017, 10, 23, 11, 8, 50).unwrap()
    );
    assert_eq!(
        e.attributes.get("cells"),
        Some(&crate::model::IoValue::Text(
            "204,8,3150,12197,-100;204,8,3150,12198,-110".into()
        ))
    );
}

#[test]
fn command_reply_0x15_is_a_command_result() {
    let mut d = logged_in();
    let f = encode::string_15(0, "DYD=Success!", 7);
    let out = d.decode(&f, &ctx()).unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "DYD=Success!".into()
        }
    );
    assert_eq!(
        out.ack.accepted.unwrap().as_ref(),
        encode::ack(0x15, 7).as_ref()
    );
}

#[test]
fn framer_handles_lying_len_and_garbage() {
    assert_eq!(cut_frame(&[], 4096), Cut::NeedMore);
    assert_eq!(cut_frame(&[0x78], 4096), Cut::NeedMore);
    assert_eq!(cut_frame(&[1, 2, 3, 0x78], 4096), Cut::Skip(3));
    assert_eq!(cut_frame(&[1, 2, 0x78, 0x78, 5], 4096), Cut::Skip(2));
    let login = h(LOGIN);
    assert_eq!(cut_frame(&login[..10], 4096), Cut::NeedMore);
    assert_eq!(cut_frame(&login, 4096), Cut::Frame(login.len()));
    // 0x7979 LEN above the cap: the marker is dropped, resync follows.
    assert_eq!(
        cut_frame(&[0x79, 0x79, 0xff, 0xff, 0x94], 4096),
        Cut::Skip(2)
    );
    // No terminator within the cap: skipped, never buffered without bound.
    let mut junk = vec![0x78, 0x78, 0x00, 0x69];
    junk.resize(64, 0x55);
    assert_eq!(cut_frame(&junk, 64), Cut::Skip(2));
    assert_eq!(cut_frame(&junk, 4096), Cut::NeedMore);
}

fn fix_strategy() -> impl Strategy<Value = Fix> {
    (
        0i64..(255 * 365 * 86_400),
        0u8..16,
        -90.0f64..90.0,
        -180.0f64..180.0,
        any::<u8>(),
        0u16..360,
        any::<bool>(),
    )
        .prop_map(
            |(secs, satellites, lat, lon, speed_kmh, course, valid)| Fix {
                time: Utc.timestamp_opt(946_684_800 + secs, 0).unwrap(),
                satellites,
                lat,
                lon,
                speed_kmh: f64::from(speed_kmh),
                course: f64::from(course),
                valid,
                ..Fix::default()
            },
        )
}

fn cell_strategy() -> impl Strategy<Value = Cell> {
    (0u16..0x8000, any::<u8>(), any::<u16>(), 0u32..0x0100_0000)
        .prop_map(|(mcc, mnc, lac, cid)| Cell { mcc, mnc, lac, cid })
}

/// Frames `bytes` through the framer (as one stream) and decodes the single frame.
fn frame_and_decode(d: &mut Gt06Decoder, bytes: &[u8]) -> crate::protocol::Decoded {
    let mut buf = BytesMut::from(bytes);
    let FrameResult::Frame(f) = d.frame(&mut buf) else {
        panic!("no frame")
    };
    assert!(buf.is_empty());
    d.decode(&f, &ctx()).unwrap()
}

fn check_fix(p: &crate::model::Position, fix: &Fix) {
    assert_eq!(p.fix_time, fix.time);
    // Latitude 0 is encoded as "north", so -0.0 vs 0.0 does not matter; 1/1.8e6° resolution.
    assert!((p.lat - fix.lat).abs() < 1e-6, "{} vs {}", p.lat, fix.lat);
    assert!((p.lon - fix.lon).abs() < 1e-6, "{} vs {}", p.lon, fix.lon);
    assert_eq!(p.speed_kmh, fix.speed_kmh);
    assert_eq!(p.course, fix.course);
    assert_eq!(p.satellites, fix.satellites);
    assert_eq!(p.valid, fix.valid);
}

proptest! {
    #[test]
    fn login_round_trip(imei in "[0-9]{15}", serial in any::<u16>()) {
        let mut d = dec(ChecksumPolicy::Verify);
        let out = frame_and_decode(&mut d, &encode::login(&imei, serial).unwrap());
        let id = out.identity.unwrap();
        prop_assert_eq!(id.as_str(), imei.as_str());
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(0x01, serial));
    }

    #[test]
    fn location_12_round_trip(fix in fix_strategy(), cell in cell_strategy(), serial in any::<u16>()) {
        let mut d = logged_in();
        let out = frame_and_decode(&mut d, &encode::location_12(&fix, &cell, serial));
        let p = test_util::position(&out);
        check_fix(p, &fix);
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(0x12, serial));
    }

    #[test]
    fn location_22_round_trip(
        fix in fix_strategy(), cell in cell_strategy(), acc in any::<bool>(),
        mode in any::<u8>(), reupload in any::<bool>(), mileage in proptest::option::of(any::<u32>()),
        serial in any::<u16>(),
    ) {
        let mut d = logged_in();
        let fix = Fix { ignition: acc, odometer_m: f64::from(mileage.unwrap_or(0)), ..fix };
        let f = encode::location_22(&fix, &cell, mode, reupload, mileage.is_some(), serial);
        let out = frame_and_decode(&mut d, &f);
        let p = test_util::position(&out);
        check_fix(p, &fix);
        prop_assert_eq!(p.ignition, Some(acc));
        prop_assert_eq!(p.historical, reupload);
        prop_assert_eq!(p.odometer_m, mileage.map(f64::from));
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(0x22, serial));
    }

    #[test]
    fn alarm_16_round_trip(
        fix in fix_strategy(), cell in cell_strategy(), serial in any::<u16>(),
        level in 0u8..7, gsm in 0u8..5, proto in prop::sample::select(vec![0x16u8, 0x26]),
    ) {
        let mut d = logged_in();
        let status = Status { info: 0x02, level, gsm, alarm: 0x01, language: 0x02 };
        let out = frame_and_decode(&mut d, &encode::alarm_16(proto, &fix, &cell, &status, serial));
        let p = test_util::position(&out);
        check_fix(p, &fix);
        prop_assert_eq!(&p.alarms, &vec![Alarm::Sos]);
        prop_assert_eq!(p.ignition, Some(true));
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(proto, serial));
    }

    #[test]
    fn heartbeats_and_time_request_round_trip(serial in any::<u16>(), cv in any::<u16>()) {
        let mut d = logged_in();
        let st = Status { info: 0x44, level: 6, gsm: 4, alarm: 0, language: 2 };
        let out = frame_and_decode(&mut d, &encode::heartbeat_13(&st, serial));
        prop_assert!(out.records.is_empty());
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(0x13, serial));
        let out = frame_and_decode(&mut d, &encode::heartbeat_23(0x01, cv, 4, serial));
        prop_assert!(out.records.is_empty());
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(0x23, serial));
        let out = frame_and_decode(&mut d, &encode::time_request(serial));
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::time_reply(ctx().now));
    }

    #[test]
    fn string_15_round_trip(text in "[ -~]{0,200}", serial in any::<u16>()) {
        let mut d = logged_in();
        let out = frame_and_decode(&mut d, &encode::string_15(0, &text, serial));
        let e = test_util::event(&out);
        prop_assert_eq!(&e.kind, &EventKind::CommandResult { text: text.trim_end_matches('\0').to_string() });
    }

    /// Arbitrary bytes: the framer never panics, never consumes more than it has, always
    /// progresses or asks for more, and every cut frame decodes or errors without panicking.
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600), max in 10usize..300) {
        let mut d = dec(ChecksumPolicy::Ignore);
        d.max_frame = max;
        d.decode(&h(LOGIN), &ctx()).unwrap();
        let mut buf = BytesMut::from(&data[..]);
        loop {
            let before = buf.len();
            match d.frame(&mut buf) {
                FrameResult::NeedMore => { prop_assert_eq!(buf.len(), before); break; }
                FrameResult::Frame(f) => {
                    prop_assert!(!f.is_empty() && f.len() <= before && f.len() <= max.max(10));
                    prop_assert_eq!(buf.len(), before - f.len());
                    let _ = d.decode(&f, &ctx());
                }
                FrameResult::Skipped(n) => {
                    prop_assert!(n > 0 && n <= before);
                    prop_assert_eq!(buf.len(), before - n);
                }
                FrameResult::Fatal(e) => panic!("fatal on garbage: {e}"),
            }
        }
        // Whatever is left fits in one frame cap: nothing is buffered without bound.
        prop_assert!(buf.len() <= max.max(10) + 1, "{} bytes left, cap {}", buf.len(), max);
        // Decoding arbitrary bytes directly never panics either.
        let _ = d.decode(&data, &ctx());
        let mut framed = data.clone();
        framed.splice(0..0, [0x78, 0x78]);
        framed.extend_from_slice(b"\r\n");
        let _ = d.decode(&framed, &ctx());
    }
}

/// A session's frames as one stream: split at every byte boundary and coalesced, the framer
/// and decoder give the same records and ACKs as frame-by-frame decoding.
#[test]
fn split_and_coalesced_streams_give_the_same_records() {
    let frames: Vec<Vec<u8>> = [
        LOGIN,
        "78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a",
        "787822220f0c1d023305c9027ac8180c46586000140001cc00287d001f71000001000820860d0a",
        "787826161709130f3a2dcc02c55f2a089f9af9005c210901360481fe066d9b03413e420102035f92fe0d0a",
        "78780a134406040002000d77b80d0a",
        "797900109b0344373532304136320d0a000f87f00d0a",
        "7878058a000688290d0a",
    ]
    .iter()
    .map(|s| h(s))
    .collect();
    let stream: Vec<u8> = frames.concat();
    let reference: Vec<_> = {
        let mut d = dec(ChecksumPolicy::Verify);
        frames
            .iter()
            .map(|f| d.decode(f, &ctx()).unwrap())
            .collect()
    };
    let run = |chunks: &[&[u8]]| {
        let mut d = dec(ChecksumPolicy::Verify);
        test_util::decode_pieces(&mut d, chunks.iter().copied(), &ctx())
    };
    assert_eq!(run(&[&stream]), reference);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(run(&[a, b]), reference, "split at {cut}");
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(run(&bytes), reference);
}

#[test]
fn fast_crc_matches_the_shared_x25() {
    assert_eq!(super::crc16(b"123456789"), 0x906E);
    for n in 0..64u8 {
        let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
        assert_eq!(super::crc16(&data), crate::protocol::wire::crc16_x25(&data));
    }
}

proptest! {
    #[test]
    fn civil_time_matches_chrono(
        t in (any::<u8>(), 0u8..14, 0u8..33, 0u8..25, 0u8..61, 0u8..61)
            .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f])
    ) {
        let chrono_t = crate::protocol::wire::utc(
            2000 + i32::from(t[0]), t[1].into(), t[2].into(), t[3].into(), t[4].into(), t[5].into(),
        );
        prop_assert_eq!(super::decode_gps::civil_utc(t), chrono_t);
    }
}

#[test]
fn civil_time_edges() {
    use super::decode_gps::civil_utc;
    assert_eq!(
        civil_utc([24, 2, 29, 23, 59, 59]),
        Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).single()
    );
    assert_eq!(civil_utc([23, 2, 29, 0, 0, 0]), None);
    assert_eq!(
        civil_utc([0, 1, 1, 0, 0, 0]),
        Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single()
    );
    assert_eq!(
        civil_utc([255, 12, 31, 0, 0, 0]),
        Utc.with_ymd_and_hms(2255, 12, 31, 0, 0, 0).single()
    );
    assert_eq!(civil_utc([0, 13, 1, 0, 0, 0]), None);
    assert_eq!(civil_utc([0, 1, 1, 24, 0, 0]), None);
}
