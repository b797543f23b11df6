use super::encode;
use super::*;
use crate::model::{EventKind, IoValue, Record};
use crate::protocol::{test_util, Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const ID: &str = "4532104183";

fn dec() -> CalAmpDecoder {
    CalAmpDecoder::new(&DecoderOptions::default()).unwrap()
}

fn fix() -> Fix {
    Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 58, 0).unwrap(),
        lat: 39.9358351,
        lon: -85.9724713,
        speed_kmh: 90.0,
        course: 305.0,
        altitude_m: 221.88,
        satellites: 9,
        hdop: 1.1,
        valid: true,
        ignition: true,
        odometer_m: 4242.0,
    }
}

#[test]
fn ack_is_exact() {
    assert_eq!(hex::encode(encode::ack(0x039c, 2)), "0201039c020000000000");
}

#[test]
fn event_report_round_trip_and_ack() {
    let m = encode::event_report(ID, 0x1234, &fix(), 27, true);
    let out = dec().decode_datagram(&m, &test_util::ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), ID);
    assert_eq!(
        hex::encode(out.ack.accepted.as_ref().unwrap()),
        "02011234020000000000"
    );
    assert_eq!(out.ack.refused, None);
    let p = test_util::position(&out);
    assert_eq!(p.fix_time, fix().time);
    assert_eq!((p.lat, p.lon), (39.9358351, -85.9724713));
    assert_eq!((p.altitude_m, p.course, p.satellites), (221.88, 305.0, 9));
    assert!((p.speed_kmh - 90.0).abs() < 0.02, "{}", p.speed_kmh);
    assert_eq!(
        (p.valid, p.ignition, p.historical),
        (true, Some(true), false)
    );
    assert_eq!(p.io.get("event"), Some(&IoValue::Int(27)));
    assert_eq!(p.io.get("acc0"), Some(&IoValue::Int(4242)));
    assert_eq!(p.io.get("rssi"), Some(&IoValue::Int(-71)));
}

#[test]
fn locate_report_has_no_event_fields() {
    // An event report minus event index and code is a locate report (type 8).
    let m = encode::event_report(ID, 9, &fix(), 27, true).to_vec();
    let body = encode::options_header(ID).len() + 4 + 36;
    let mut locate = m[..body].to_vec();
    locate[encode::options_header(ID).len() + 1] = 8;
    locate.extend_from_slice(&m[body + 2..]);
    let out = dec().decode_datagram(&locate, &test_util::ctx()).unwrap();
    assert_eq!(out.kind, "locate report");
    assert_eq!(
        hex::encode(out.ack.accepted.as_ref().unwrap()),
        "02010009080000000000"
    );
    let p = test_util::position(&out);
    assert_eq!((p.lat, p.lon), (39.9358351, -85.9724713));
    assert_eq!(p.io.get("event"), None);
    assert_eq!(p.io.get("acc0"), Some(&IoValue::Int(4242)));
}

#[test]
fn user_data_length_is_checked() {
    let m = encode::event_report(ID, 9, &fix(), 27, true).to_vec();
    let body = encode::options_header(ID).len() + 4 + 36;
    let mut user = m[..body].to_vec();
    user[encode::options_header(ID).len() + 1] = 4;
    user.extend_from_slice(&[0, 1, 0, 5]);
    user.extend_from_slice(b"hello");
    let out = dec().decode_datagram(&user, &test_util::ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.io.get("user_data"), Some(&IoValue::Text("hello".into())));
    user.pop();
    assert!(dec().decode_datagram(&user, &test_util::ctx()).is_err());
}

#[test]
fn unacknowledged_service_gets_no_ack() {
    let m = encode::event_report(ID, 1, &fix(), 1, false);
    let out = dec().decode_datagram(&m, &test_util::ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
}

#[test]
fn message_without_options_header_belongs_to_the_peer() {
    let full = encode::event_report(ID, 1, &fix(), 1, true);
    let bare = &full[encode::options_header(ID).len()..];
    let e = dec().decode_datagram(bare, &test_util::ctx()).unwrap_err();
    assert!(matches!(e, DecodeError::NotIdentified { .. }), "{e}");
    let mut d = dec();
    d.decode_datagram(&full, &test_util::ctx()).unwrap();
    let out = d.decode_datagram(bare, &test_util::ctx()).unwrap();
    assert_eq!(out.identity, None);
    assert_eq!(test_util::position(&out).device.as_str(), ID);
}

#[test]
fn invalid_and_historic_fix_flags() {
    let mut f = fix();
    f.valid = false;
    let mut m = encode::event_report(ID, 1, &f, 1, true).to_vec();
    let status_at = encode::options_header(ID).len() + 4 + 27;
    assert_eq!(m[status_at], 0x08);
    m[status_at] |= 0x20;
    let out = dec().decode_datagram(&m, &test_util::ctx()).unwrap();
    let p = test_util::position(&out);
    assert!(!p.valid && p.historical);
}

#[test]
fn accumulator_count_is_checked() {
    let m = encode::event_report(ID, 1, &fix(), 1, true);
    // One accumulator declared, two bytes of a second one follow: malformed.
    let mut bad = m.to_vec();
    bad.extend_from_slice(&[0, 0]);
    assert!(dec().decode_datagram(&bad, &test_util::ctx()).is_err());
    // More whole accumulators than declared: malformed.
    let mut more = m.to_vec();
    more.extend_from_slice(&[0, 0, 0, 1]);
    assert!(dec().decode_datagram(&more, &test_util::ctx()).is_err());
    // Fewer than declared: kept, with the declared count.
    let short = &m[..m.len() - 4];
    let out = dec().decode_datagram(short, &test_util::ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.io.get("acc_declared"), Some(&IoValue::Int(1)));
    assert_eq!(p.io.get("acc0"), None);
}

#[test]
fn truncations_are_errors_not_panics() {
    let m = encode::event_report(ID, 1, &fix(), 1, true);
    let header = encode::options_header(ID).len();
    for cut in 0..m.len() - 6 {
        let r = dec().decode_datagram(&m[..cut], &test_util::ctx());
        if cut > header + 4 {
            assert!(r.is_err(), "cut {cut}");
        }
    }
}

#[test]
fn id_report_and_other_types_are_events() {
    let mut m = encode::options_header(ID);
    m.extend_from_slice(&[1, 3, 0, 1, 0xaa]);
    let out = dec().decode_datagram(&m, &test_util::ctx()).unwrap();
    assert_eq!(test_util::event(&out).kind, EventKind::Login);
    assert_eq!(
        hex::encode(out.ack.accepted.unwrap()),
        "02010001030000000000"
    );
    let mut m = encode::options_header(ID);
    m.extend_from_slice(&[0, 5, 0, 2, 1, 2]);
    let out = dec().decode_datagram(&m, &test_util::ctx()).unwrap();
    assert!(matches!(
        &out.records[0],
        Record::Event(e) if e.kind == EventKind::Info { name: "message type 5".into() }
    ));
    assert_eq!(out.ack.accepted, None);
}

#[test]
fn stream_bytes_are_garbage() {
    let mut d = dec();
    let mut buf = bytes::BytesMut::from(&b"abc"[..]);
    assert_eq!(d.frame(&mut buf), crate::protocol::FrameResult::Skipped(3));
}

proptest! {
    #[test]
    fn random_datagrams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut d = dec();
        let _ = d.decode_datagram(&data, &test_util::ctx());
        let mut with_id = encode::options_header(ID);
        with_id.extend_from_slice(&data);
        let _ = d.decode_datagram(&with_id, &test_util::ctx());
    }

    #[test]
    fn round_trip(lat in -90.0f64..90.0, lon in -180.0f64..180.0, course in 0u16..360,
                  secs in 946_684_800i64..4_000_000_000, seq in any::<u16>()) {
        let f = Fix { time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, course: course.into(),
                      valid: true, ..Fix::default() };
        let out = dec().decode_datagram(&encode::event_report(ID, seq, &f, 2, true), &test_util::ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, f.time);
        prop_assert!((p.lat - lat).abs() <= 1e-7 && (p.lon - lon).abs() <= 1e-7);
        prop_assert_eq!(p.course, f64::from(course));
        prop_assert_eq!(out.ack.accepted.unwrap(), encode::ack(seq, 2));
    }
}
