//! GT02 unit tests: exact values from captured frames of each type, the exact heartbeat
//! answer, size and CR LF checks, stream robustness and encode → decode round trips.

use super::encode;
use super::*;
use crate::model::{EventKind, IoValue, Record};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::{Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> Gt02Decoder {
    Gt02Decoder::new(&DecoderOptions::default()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn data_heartbeat_and_response() {
    let out = dec()
        .decode(
            &hex("68682500000123456789012345000110010101010101026b3f3e026b3f3e000000000000000000010d0a"),
            &ctx(),
        )
        .unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "123456789012345");
    assert_eq!(out.ack.accepted, None);
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2001, 1, 1, 1, 1, 1).unwrap()
    );
    assert!(p.valid);
    // 0x026b3f3e = 40 582 974 units of 1/30000 minute; south and west (flag bits 1, 2 clear).
    let deg = 40_582_974.0 / (60.0 * 30000.0);
    assert_eq!((p.lat, p.lon), (-deg, -deg));
    assert_eq!(p.io["index"], IoValue::Int(1));

    let out = dec()
        .decode(&hex("68680f0504035889905831401700df1a00000d0a"), &ctx())
        .unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(&[0x54, 0x68, 0x1A, 0x0D, 0x0A][..])
    );
    let e = test_util::event(&out);
    assert_eq!(e.kind, EventKind::Heartbeat);
    assert_eq!(e.attributes["power"], IoValue::Int(5));
    assert_eq!(e.attributes["rssi"], IoValue::Int(4));
    assert_eq!(e.device.as_str(), "358899058314017");

    let out = dec()
        .decode(
            &hex("68682d0000035889905895258400951c1f415045584572726f723a20506172616d65746572203120284f4e2f4f4646290d0a"),
            &ctx(),
        )
        .unwrap();
    assert_eq!(
        test_util::event(&out).kind,
        EventKind::CommandResult {
            text: "APEXError: Parameter 1 (ON/OFF)".into()
        }
    );
}

#[test]
fn sizes_and_junk_are_refused() {
    // Size one more than the bytes carried; no CR LF; unknown type; a response longer
    // than the frame; a non-BCD IMEI.
    for junk in [
        "68681005040358899058314017000e1a0d0a",
        "68680f0504035889905831401700df1a00000000",
        "68680f0504035889905831401700df7700000d0a",
        "68680f0504035889905831401700df1c05000d0a",
        "68680f05041358899058314017ffdf1a00000d0a",
        "6868",
        "",
    ] {
        assert!(dec().decode(&hex(junk), &ctx()).is_err(), "{junk}");
    }
}

#[test]
fn framer_cuts_by_size() {
    let a = hex("68680f0504035889905831401700df1a00000d0a");
    let b = hex("6868110603035889905101276600001a0402292d0d0a");
    assert_eq!(frame::cut(&a[..2], 1024), Cut::NeedMore);
    assert_eq!(frame::cut(&a, 1024), Cut::Frame(20));
    assert_eq!(frame::cut(&hex("686805"), 1024), Cut::Skip(1));
    assert_eq!(frame::cut(&hex("6868ff"), 64), Cut::Skip(1));
    let bytes = [&hex("0d0a00")[..], &a, &b].concat();
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &[a, b]);
}

proptest! {
    #[test]
    fn data_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u8..255,
        course in 0u16..360,
        valid: bool,
        index: u16,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon, valid,
            speed_kmh: f64::from(speed),
            course: f64::from(course),
            ..Fix::default()
        };
        let f = encode::data("358899058314017", &fix, index);
        let mut d = dec();
        let frames = test_util::frames(&mut d, &f, 3);
        prop_assert_eq!(frames.len(), 1);
        let out = d.decode(&frames[0], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert_eq!((p.speed_kmh, p.course, p.valid), (fix.speed_kmh, fix.course, valid));
        prop_assert_eq!(&p.io["index"], &IoValue::Int(index.into()));
        prop_assert!(matches!(out.records[0], Record::Position(_)));
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = Gt02Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }

    #[test]
    fn header_heavy_bytes_never_panic(bytes in proptest::collection::vec(prop::sample::select(vec![0x68u8, 0x10, 0x1a, 0x1c, 0x0d, 0x0a, 0x00, 0x0f, 0xff]), 0..400)) {
        let mut d = Gt02Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }
}
