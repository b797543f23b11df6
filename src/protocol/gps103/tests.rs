//! Coban unit tests: exact replies (`LOAD`, `ON`, `**,imei:…,E;` as the vendor sheet and
//! Traccar specify), the two-clock fix time, stream robustness and round trips.

use super::encode;
use super::*;
use crate::model::{Alarm, EventKind, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::DecoderOptions;
use crate::protocol::{Decoder, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> Gps103Decoder {
    Gps103Decoder::new(&DecoderOptions::default()).unwrap()
}

#[test]
fn login_gets_load_and_heartbeat_gets_on() {
    let mut d = dec();
    let out = d.decode(b"##,imei:359586015829802,A;", &ctx()).unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "359586015829802");
    assert!(out.records.is_empty());
    assert_eq!(out.ack.accepted.as_deref(), Some(b"LOAD".as_slice()));
    let out = d.decode(b"359586015829802;", &ctx()).unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "359586015829802");
    assert!(out.records.is_empty());
    assert_eq!(out.ack.accepted.as_deref(), Some(b"ON".as_slice()));
}

#[test]
fn help_me_is_an_sos_fix_and_gets_the_clear_command() {
    let f = b"imei:359586015829802,help me,0809231429,13554900601,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"**,imei:359586015829802,E;".as_slice())
    );
    let p = pos(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    // local 2008-09-23 14:29, UTC 06:29:47 → offset +8 h → 06:29:47 UTC the same day.
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2008, 9, 23, 6, 29, 47).unwrap()
    );
    assert!((p.lat - (22.0 + 34.4026 / 60.0)).abs() < 1e-9);
    assert!((p.lon - (113.0 + 54.3277 / 60.0)).abs() < 1e-9);
}

#[test]
fn fix_time_across_midnight_between_the_clocks() {
    // Local 2015-10-27 02:59 (UTC+3), UTC 23:59:57: the fix is on 26 October.
    let f = b"imei:359710049092324,tracker,151027025958,,F,235957.000,A,2429.5156,N,04424.5828,E,0.01,27.91,,0,0,,,;";
    let out = dec().decode(f, &ctx()).unwrap();
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 10, 26, 23, 59, 57).unwrap()
    );
    assert_eq!(p.ignition, Some(false));
    assert!((p.speed_kmh - 0.01 * 1.852).abs() < 1e-12);
    assert_eq!(p.course, 27.91);
    assert_eq!(out.ack.accepted, None);
    // Local west of UTC: 2015-10-26 20:59 (UTC−3), UTC 23:59:57 on the same day.
    let f =
        b"imei:359710049092324,tracker,151026205958,,F,235957.000,A,2429.5156,N,04424.5828,E,0,0;";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 10, 26, 23, 59, 57).unwrap()
    );
}

#[test]
fn extended_fields_and_no_gps_report() {
    let f = b"imei:353451044508750,001,0809231929,13554900601,F,055403.000,A,2233.1870,N,11354.3067,E,0.00,30.1,65.43,1,0,10.5%,0.0%,28;";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(p.altitude_m, 65.43);
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.io["fuel1"], IoValue::Float(10.5));
    assert_eq!(p.io["temp1"], IoValue::Int(28));
    let out = dec()
        .decode(b"imei:865456055519122,sensor alarm,2208011920,,L,;", &ctx())
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::Alarm {
            alarm: Alarm::Vibration
        }
    );
}

#[test]
fn unknown_options_are_rejected() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("x".into(), "1".into());
    assert_eq!(Gps103Decoder::new(&opts).unwrap_err().key, "x");
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let frames: Vec<Vec<u8>> = vec![
        b"##,imei:359586015829802,A;".to_vec(),
        b"359586015829802;".to_vec(),
        b"imei:359586015829802,tracker,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;"
            .to_vec(),
    ];
    let mut bytes = frames.concat();
    bytes.extend_from_slice(b"\r\n");
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &frames);
}

proptest! {
    #[test]
    fn position_round_trip(
        t in 946_684_800i64..4_102_444_799,
        offset in -11i32 * 60..=12 * 60,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        valid in any::<bool>(),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed) * KNOT_KMH,
            course: 12.5,
            valid,
            ..Fix::default()
        };
        let out = dec().decode(&encode::position("359586015829802", "tracker", &fix, offset), &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-5 && (p.lon - lon).abs() < 1e-5);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert_eq!(p.valid, valid);
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = Gps103Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }
}
