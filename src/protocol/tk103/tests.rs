//! TK103 unit tests: exact replies (`(<id>AP01HSO)`, `(<id>AP05)` as Traccar answers),
//! exact fields of captured frames, the `$…$` framing rule, stream robustness, round trips.

use super::encode;
use super::*;
use crate::model::{Alarm, EventKind, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::DecoderOptions;
use crate::protocol::FrameResult;
use crate::protocol::{Decoder, Fix};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> Tk103Decoder {
    Tk103Decoder::new(&DecoderOptions::default()).unwrap()
}

const BR00: &str =
    "(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)";

#[test]
fn handshake_gets_ap01hso_and_stores_nothing() {
    let out = dec()
        .decode(b"(027044702512BP00027044702512HSO01A4)", &ctx())
        .unwrap();
    assert_eq!(out.identity.unwrap().as_str(), "027044702512");
    assert!(out.records.is_empty());
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"(027044702512AP01HSO)".as_slice())
    );
}

#[test]
fn login_with_fix_gets_ap05_and_a_position() {
    let f = b"(088046338039BP05000088046338039160727A3354.7768N03540.7258E000.0140309065.1000000000L00BEB0D4+017.3)";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"(088046338039AP05)".as_slice())
    );
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2016, 7, 27, 14, 3, 9).unwrap()
    );
    assert_eq!(p.course, 65.1);
    assert_eq!(p.odometer_m, Some(f64::from(0x00BEB0D4u32)));
    assert_eq!(p.io["temp1"], IoValue::Float(17.3));
}

#[test]
fn br00_exact_fields_and_no_reply() {
    let out = dec().decode(BR00.as_bytes(), &ctx()).unwrap();
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 10, 24, 5, 51, 48).unwrap()
    );
    assert!((p.lat + (25.0 + 55.3531 / 60.0)).abs() < 1e-9);
    assert!((p.lon - (28.0 + 55.3329 / 60.0)).abs() < 1e-9);
    assert_eq!(p.speed_kmh, 4.7);
    assert_eq!(p.course, 276.17);
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.odometer_m, Some(f64::from(0x9AA3u32)));
    assert!(p.valid);
    assert_eq!(out.ack.accepted, None);
}

#[test]
fn alarm_commands() {
    let f =
        b"(044027395704BQ81,ALARM,1,164,151101A2238.5237N11349.4571E0.7031241010.0000,00000000)";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(p.alarms, vec![Alarm::Overspeed]);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 11, 1, 12, 41, 1).unwrap()
    );
    let f = b"(864768011069660,ZC17,250517,A,3211.7118N,03452.8086E,0.68,115525,208.19,64.50,9)";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(pos(&out).alarms, vec![Alarm::Tamper]);
    assert_eq!(
        pos(&out).fix_time,
        Utc.with_ymd_and_hms(2017, 5, 25, 11, 55, 25).unwrap()
    );
    // Comma-form firmwares get no reply (as Traccar).
    assert_eq!(out.ack.accepted, None);
}

#[test]
fn command_result_text_may_contain_parentheses() {
    let bytes = b"(864555555555555,ZC03,191117,234207,$Ver (2.0)$)(864555555555555,ZC20,131117,223706,6,394,65535,255)";
    let mut d = dec();
    let mut buf = BytesMut::from(&bytes[..]);
    let FrameResult::Frame(f) = d.frame(&mut buf) else {
        panic!()
    };
    let out = d.decode(&f, &ctx()).unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "Ver (2.0)".into()
        }
    );
    let FrameResult::Frame(f) = d.frame(&mut buf) else {
        panic!()
    };
    let out = d.decode(&f, &ctx()).unwrap();
    let e = test_util::event(&out);
    assert_eq!(e.attributes["battery_level"], IoValue::Int(100));
    assert_eq!(e.attributes["battery"], IoValue::Float(3.94));
    assert!(buf.is_empty());
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let frames: Vec<Vec<u8>> = vec![
        b"(027044702512BP00027044702512HSO)".to_vec(),
        BR00.as_bytes().to_vec(),
        b"(864555555555555,ZC03,191117,234207,$a)b$)".to_vec(),
    ];
    let mut bytes = b"garbage".to_vec();
    bytes.extend(frames.concat());
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &frames);
}

proptest! {
    #[test]
    fn position_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..9999,
        course in 0u32..35999,
        valid in any::<bool>(),
        ignition in any::<bool>(),
        odometer in any::<u32>(),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed) / 10.0,
            course: f64::from(course) / 100.0,
            valid, ignition, odometer_m: f64::from(odometer),
            ..Fix::default()
        };
        let out = dec().decode(&encode::position("088047365460", &fix), &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-5 && (p.lon - lon).abs() < 1e-5);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert!((p.course - fix.course).abs() < 1e-9);
        prop_assert_eq!(p.valid, valid);
        prop_assert_eq!(p.ignition, Some(ignition));
        prop_assert_eq!(p.odometer_m, Some(f64::from(odometer)));
        let out = dec().decode(&encode::login("088047365460", "088047365460", &fix), &ctx()).unwrap();
        prop_assert_eq!(pos(&out).fix_time, fix.time);
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = Tk103Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }
}
