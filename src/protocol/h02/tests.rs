//! H02 unit tests: exact replies (literals from Traccar's reply formats, never from the
//! encoder), exact fields of captured frames, the binary length rule, stream robustness and
//! encode → decode round trips.

use super::encode;
use super::*;
use crate::model::{Alarm, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::AckPlan;
use crate::protocol::FrameResult;
use crate::protocol::{Decoder, Fix};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> H02Decoder {
    H02Decoder::new(&DecoderOptions::default()).unwrap()
}

const V1: &str = "*HQ,4970105243,V1,104000,A,2235.1777,N,11357.8913,E,000.27,235,130721,FFFFFBFF,460,11,d18e105,7752,6#";
const BIN45: &str =
    "24410600082621532131081504419390060740418306000000fffffbfdff0015060000002c02dc0c000000001f";

#[test]
fn v1_position_exact_fields_and_v4_reply() {
    let out = dec().decode(V1.as_bytes(), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "4970105243");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2021, 7, 13, 10, 40, 0).unwrap()
    );
    assert!((p.lat - (22.0 + 35.1777 / 60.0)).abs() < 1e-9);
    assert!((p.lon - (113.0 + 57.8913 / 60.0)).abs() < 1e-9);
    assert!((p.speed_kmh - 0.27 * 1.852).abs() < 1e-9);
    assert_eq!(p.course, 235.0);
    assert!(p.valid);
    assert_eq!(p.ignition, Some(false));
    assert!(p.alarms.is_empty());
    assert_eq!(p.io.get("status"), Some(&IoValue::Int(0xFFFFFBFF)));
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,4970105243,V4,V1,20261127050000#".as_slice())
    );
    assert_eq!(out.ack.refused, None);
}

#[test]
fn heartbeats_are_echoed_and_store_nothing() {
    let out = dec().decode(b"*HQ,135790246811220,HTBT#", &ctx()).unwrap();
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,135790246811220,HTBT#".as_slice())
    );
    let out = dec().decode(b"*HQ,4970105243,V0,100#\r\n", &ctx()).unwrap();
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,4970105243,V0#".as_slice())
    );
    assert_eq!(out.identity.unwrap().as_str(), "4970105243");
}

#[test]
fn nbr_gets_its_v4_reply_and_an_lbs_event() {
    let f = b"*HQ,1451316451,NBR,112315,724,10,2,2,215,2135,123,215,2131,121,011215,FFFFFFFF#";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,1451316451,V4,NBR,20261127050000#".as_slice())
    );
    let e = test_util::event(&out);
    assert_eq!(
        e.time,
        Utc.with_ymd_and_hms(2015, 12, 1, 11, 23, 15).unwrap()
    );
    assert_eq!(
        e.attributes["cells"],
        IoValue::Text("215:2135:123;215:2131:121".into())
    );
}

#[test]
fn r12_only_with_the_ack_option_and_never_for_v1() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("ack".into(), "true".into());
    let mut d = H02Decoder::new(&opts).unwrap();
    let v5 = b"*HQ,9180271064,V5,091233,V,2348.8912,N,09021.3302,E,000.00,000,051219,FFFFBBFF,470,01,21019,2033,2921283#";
    let out = d.decode(v5, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,9180271064,R12,050000#".as_slice())
    );
    let out = d.decode(V1.as_bytes(), &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"*HQ,4970105243,V4,V1,20261127050000#".as_slice())
    );
    assert_eq!(dec().decode(v5, &ctx()).unwrap().ack.accepted, None);
}

#[test]
fn status_bits_are_active_low_alarms() {
    // bit 1 clear → SOS; bit 10 set → ignition on.
    let f = b"*HQ,4970105243,V1,104000,A,2235.1777,N,11357.8913,E,0.00,0,130721,FFFFFFFD#";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(p.ignition, Some(true));
}

#[test]
fn binary_45_exact_fields() {
    let out = dec().decode(&hex::decode(BIN45).unwrap(), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "4106000826");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 8, 31, 21, 53, 21).unwrap()
    );
    assert!((p.lat - (4.0 + 41.9390 / 60.0)).abs() < 1e-9);
    assert!((p.lon + (74.0 + 4.1830 / 60.0)).abs() < 1e-9);
    assert!(p.valid);
    assert_eq!(out.ack, AckPlan::default());
}

#[test]
fn date_less_time_uses_the_nearest_day_to_now() {
    // 23:59:58 received at 00:00:03 the next day keeps yesterday's date.
    let now = Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 3).unwrap();
    let f = b"*HQ,4970105243,V1,235958,A,2235.1777,N,11357.8913,E,0.00,0#";
    let out = dec().decode(f, &DecodeCtx { now }).unwrap();
    assert_eq!(
        pos(&out).fix_time,
        Utc.with_ymd_and_hms(2026, 11, 27, 23, 59, 58).unwrap()
    );
}

#[test]
fn empty_id_needs_a_known_device() {
    let f = b"*HQ,,V1,173212,A,2225.78879,S,02829.19021,E,0.00,0,290418,FFFFFBFF#";
    assert!(matches!(
        dec().decode(f, &ctx()),
        Err(DecodeError::NotIdentified { .. })
    ));
    let mut d = dec();
    d.decode(V1.as_bytes(), &ctx()).unwrap();
    let out = d.decode(f, &ctx()).unwrap();
    assert_eq!(out.identity, None);
    assert_eq!(pos(&out).device.as_str(), "4970105243");
}

#[test]
fn options_are_validated() {
    for (k, v) in [
        ("ack", "yes"),
        ("message_length", "12"),
        ("mesage_length", "32"),
    ] {
        let mut opts = DecoderOptions::default();
        opts.options.insert(k.into(), v.into());
        assert_eq!(H02Decoder::new(&opts).unwrap_err().key, k);
    }
}

fn stream(binary: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let b = hex::decode(binary).unwrap();
    let frames = vec![
        format!("{V1}\r\n").into_bytes(),
        b.clone(),
        b"*HQ,135790246811220,HTBT#".to_vec(),
        b,
    ];
    (frames.concat(), frames)
}

fn split_and_coalesce(opts: &DecoderOptions, binary: &str) {
    let (bytes, want) = stream(binary);
    let coalesced = test_util::frames(&mut H02Decoder::new(opts).unwrap(), &bytes, bytes.len());
    assert_eq!(coalesced, want);
    let got = test_util::frames(&mut H02Decoder::new(opts).unwrap(), &bytes, 1);
    // Byte by byte, the CR LF after V1 arrives after the frame was cut: it is skipped.
    let mut want_split = want.clone();
    let n = want_split[0].len() - 2;
    want_split[0].truncate(n);
    assert_eq!(got, want_split);
}

#[test]
fn split_at_every_byte_and_coalesced_32_auto() {
    split_and_coalesce(
        &DecoderOptions::default(),
        "2441060116601245431311165035313006004318210e000000fffffbffff0024",
    );
}

#[test]
fn split_at_every_byte_and_coalesced_45_configured() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("message_length".into(), "45".into());
    split_and_coalesce(&opts, BIN45);
}

#[test]
fn coalesced_45_is_detected_by_the_boundary() {
    let (bytes, want) = stream(BIN45);
    let mut d = dec();
    assert_eq!(test_util::frames(&mut d, &bytes, bytes.len()), want);
    assert_eq!(d.state.binary_len, Some(45));
}

#[test]
fn binary_length_is_learnt_from_the_boundary() {
    let mut short =
        hex::decode("2441060116601245431311165035313006004318210e000000fffffbffff0024").unwrap();
    short.extend_from_slice(b"*HQ,1,V0#");
    let mut d = dec();
    assert_eq!(test_util::frames(&mut d, &short, short.len())[0].len(), 32);
    assert_eq!(d.state.binary_len, Some(32));
}

#[test]
fn oversize_text_is_skipped_not_buffered() {
    let opts = DecoderOptions {
        max_frame: 64,
        ..DecoderOptions::default()
    };
    let mut d = H02Decoder::new(&opts).unwrap();
    let mut buf = BytesMut::from(vec![b'*'; 100].as_slice());
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
}

/// Status word with no alarm, ignition off.
const NO_ALARM: u32 = 0xFFFF_FBFF;

fn fix_strategy() -> impl Strategy<Value = Fix> {
    (
        946_684_800i64..4_102_444_799,
        -89.9f64..89.9,
        -179.9f64..179.9,
        0u16..500,
        0u16..360,
        any::<bool>(),
    )
        .prop_map(|(t, lat, lon, speed, course, valid)| Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat,
            lon,
            speed_kmh: f64::from(speed) * KNOT_KMH,
            course: f64::from(course),
            valid,
            ..Fix::default()
        })
}

proptest! {
    #[test]
    fn v1_round_trip(fix in fix_strategy()) {
        let out = dec().decode(&encode::v1("4970105243", &fix, NO_ALARM), &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - fix.lat).abs() < 1e-5 && (p.lon - fix.lon).abs() < 1e-5);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert_eq!(p.course, fix.course);
        prop_assert_eq!(p.valid, fix.valid);
    }

    #[test]
    fn binary_round_trip(fix in fix_strategy()) {
        let f = encode::binary("4106000826", &fix, NO_ALARM);
        prop_assert_eq!(f.len(), 32);
        let out = dec().decode(&f, &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - fix.lat).abs() < 1e-5 && (p.lon - fix.lon).abs() < 1e-5);
        prop_assert_eq!(p.speed_kmh, fix.speed_kmh);
        prop_assert_eq!(p.course, fix.course);
        prop_assert_eq!(p.valid, fix.valid);
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = H02Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }
}

/// Found by fuzzing (`fuzz/regressions/stream/h02-utf8-boundary`): a coordinate without a
/// decimal point holding multi-byte characters was split at a byte offset inside one.
#[test]
fn a_coordinate_with_multibyte_characters_is_an_error_not_a_panic() {
    assert!(super::decode::coordinate("0503ite\u{fffd}\u{fffd}745", "N").is_err());
    assert!(super::decode::coordinate("ééé1234", "E").is_err());
}
