//! Xexun unit tests: exact values from captured reports (basic and full form), the checksum,
//! the framer's in-report CR LF, round trips and garbage.

use super::encode;
use super::*;
use crate::model::{Alarm, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::{Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> XexunDecoder {
    XexunDecoder::new(&DecoderOptions::default()).unwrap()
}

#[test]
fn basic_report_values() {
    let f = b"GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "351525010943661");
    assert_eq!(out.ack.accepted, None);
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2011, 9, 1, 15, 1, 20).unwrap()
    );
    assert!((p.lat + 33.774105).abs() < 1e-6 && (p.lon - 150.955138).abs() < 1e-6);
    assert_eq!((p.course, p.valid), (117.4, true));
    assert_eq!(p.io["signal"], IoValue::Text("F".into()));
    let f = b"GPRMC,113518.000,A,5303.4150,N,10.2368,E,60.73,207.42,260216,00,0000.0,A*74,F,,imei:351525018007873,";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert!((p.speed_kmh - 60.73 * KNOT_KMH).abs() < 1e-12);
    assert!(
        (p.lon - 10.2368 / 60.0).abs() < 1e-12,
        "two digits are minutes"
    );
}

#[test]
fn full_report_values_and_status() {
    let f = b"111111120009,+436763737552,GPRMC,120600.000,A,6000.0000,N,13000.0000,E,0.00,0.00,010112,,,A*68,F,help me!, imei:123456789012345,04,481.2,F:4.15V,0,139,2689,232,03,2725,0576";
    // This capture's checksum was left stale by a hand edit: decoded with `ignore`.
    let lenient = DecoderOptions {
        checksum: crate::protocol::ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    };
    assert!(dec().decode(f, &ctx()).unwrap_err().is_checksum());
    let out = XexunDecoder::new(&lenient)
        .unwrap()
        .decode(f, &ctx())
        .unwrap();
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2012, 1, 1, 12, 6, 0).unwrap()
    );
    assert_eq!((p.lat, p.lon), (60.0, 130.0));
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(
        (p.satellites, p.altitude_m, p.power_v),
        (4, 481.2, Some(4.15))
    );
    assert_eq!(p.io["phone"], IoValue::Text("+436763737552".into()));
    let f = b"171007160505,,GPRMC,160505.000,A,5323.4680,N,00252.4202,W,000.0,129.7,071017,,,A*7A,F,ACCStart, imei:864504031916915,10,41.1,F:4.28V,1,135,19824,234,15,0062,B7D5";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(p.ignition, Some(true));
    // No RMC: a cell-only report is an event.
    let out = dec()
        .decode(
            b",+48606717068,,L,, imei:012207005047292,,,F:4.28V,1,52,11565,247,01,000E,1FC5",
            &ctx(),
        )
        .unwrap();
    assert_eq!(
        test_util::event(&out).attributes["signal"],
        IoValue::Text("L".into())
    );
}

#[test]
fn checksum_and_garbage() {
    let f = b"GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*77,F,imei:351525010943661,";
    assert!(dec().decode(f, &ctx()).unwrap_err().is_checksum());
    for junk in [
        &b"GPRMC,1*00,F,"[..],
        b"hello",
        b"imei:,",
        b"GPRMC,150120.000,A,x,S,1.0,E,0,0,010911*00,imei:1,",
    ] {
        let opts = DecoderOptions {
            checksum: crate::protocol::ChecksumPolicy::Ignore,
            ..DecoderOptions::default()
        };
        assert!(
            XexunDecoder::new(&opts)
                .unwrap()
                .decode(junk, &ctx())
                .is_err(),
            "{junk:?}"
        );
    }
    let mut opts = DecoderOptions::default();
    opts.options.insert("x".into(), "1".into());
    assert_eq!(XexunDecoder::new(&opts).unwrap_err().key, "x");
}

#[test]
fn a_line_break_inside_a_report_does_not_end_it() {
    let first = b"GPRMC,121535.000,A,5417.2666,N,04822.1264,E,1.452,30.42,031014,0.0,A*4D\r\n,L,imei:355227042011730,".to_vec();
    let second = b"GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,".to_vec();
    let bytes = [&first[..], b"\r\n", &second[..], b"\n"].concat();
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &[first, second]);
}

proptest! {
    #[test]
    fn full_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        sats in 0u8..30,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed),
            course: 12.5,
            altitude_m: 33.5,
            satellites: sats,
            valid: true,
            ..Fix::default()
        };
        let s = encode::full("358948012501019", &fix, "acc off", 4.1);
        let out = dec().decode(s.trim_end().as_bytes(), &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.001 * KNOT_KMH);
        prop_assert_eq!((p.satellites, p.altitude_m, p.power_v, p.ignition), (sats, 33.5, Some(4.1), Some(false)));
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = XexunDecoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 128), &bytes, 128, &ctx())?;
    }

    #[test]
    fn report_like_noise_never_panics(bytes in proptest::collection::vec(prop::sample::select(b"GPRMC,imei:*.AVNSEW0123456789\r\n".to_vec()), 0..300)) {
        let mut d = XexunDecoder::new(&DecoderOptions { max_frame: 96, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 96), &bytes, 96, &ctx())?;
    }
}

/// Found by fuzzing (`fuzz/regressions/stream/xexun-utf8-boundary`): bytes that are not
/// UTF-8 right before `RMC,`, or an RMC after `imei:`, were sliced at invalid positions.
#[test]
fn damaged_reports_are_errors_not_panics() {
    let ctx = crate::protocol::DecodeCtx {
        now: chrono::Utc::now(),
    };
    for frame in [
        &b"\xe2\x82GPRMC,1,A*00,F, imei:359587010124900,"[..],
        &b"imei:359587010124900,GPRMC,1,A*00"[..],
        &b"GPRMC,1,A,imei:359587010124900,*0"[..],
    ] {
        let _ = super::decode::decode(frame, &ctx, crate::protocol::ChecksumPolicy::Ignore);
    }
}
