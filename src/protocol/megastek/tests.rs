//! Megastek unit tests: exact values from captured reports of each layout, the checksums
//! (sum for `STX,`, XOR for the padded form) and the `$MGV` length, reports without a fix,
//! stream robustness and encode → decode round trips. Devices get no answer.

use super::encode;
use super::*;
use crate::model::{Alarm, EventKind, IoValue, Record};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::{ChecksumPolicy, Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> MegastekDecoder {
    MegastekDecoder::new(&DecoderOptions::default()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn mgv_values() {
    let f = b"$MGV002,860719020193193,DeviceName,R,240214,104742,A,2238.20471,N,11401.97967,E,00,03,00,1.20,0.462,356.23,137.9,1.5,460,07,262C,0F54,25,0000,0000,0,0,0,28.5,28.3,,10,100,Timer;!";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None, "Megastek devices get no answer");
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "860719020193193");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2014, 2, 24, 10, 47, 42).unwrap()
    );
    assert!(p.valid && !p.historical);
    assert!(close(p.lat, 22.6367452) && close(p.lon, 114.0329945));
    assert!(close(p.speed_kmh, 0.462 * KNOT_KMH));
    assert_eq!((p.course, p.altitude_m, p.satellites), (356.23, 137.9, 3));
    assert_eq!(p.odometer_m, Some(1500.0));
    assert_eq!(p.io["hdop"], IoValue::Float(1.2));
    assert_eq!(p.io["mcc"], IoValue::Int(460));
    assert_eq!(p.io["lac"], IoValue::Int(0x262C));
    assert_eq!(p.io["cid"], IoValue::Int(0x0F54));
    assert_eq!(p.io["rssi"], IoValue::Int(25));
    assert_eq!(p.io["temp1"], IoValue::Float(28.5));
    assert_eq!(p.io["temp2"], IoValue::Float(28.3));
    assert_eq!(p.io["charge"], IoValue::Bool(true));
    assert_eq!(p.io["belt"], IoValue::Int(0));
    assert_eq!(p.io["battery_level"], IoValue::Int(100));
    assert_eq!(p.io["event"], IoValue::Text("Timer".into()));
    assert!(p.alarms.is_empty());

    // Stored (`S`) report with an alert.
    let f = b"$MGV002,869152024446923,,S,290816,200627,V,5056.21059,N,00439.25034,E,00,00,00,99.9,,,-25.1,,206,01,0BBB,4418,28,,,,,,,,,01,093,PW ON;";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert!(p.historical && !p.valid);
    assert_eq!(p.alarms, vec![Alarm::PowerOn]);
    assert_eq!(p.altitude_m, -25.1);
    assert_eq!(p.io["battery_level"], IoValue::Int(93));

    // No coordinates: the alert as an event, no position.
    let f = b"0140$MGV002,354550056642321,GVT900-3,S,300917,071731,V,,,,,00,00,00,99.9,0.000,0.00,,0.0,457,01,0741,00CD,,0000,0000,20,10,0, , ,,1-1,94,PW ON;!";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.records.len(), 1);
    let e = test_util::event(&out);
    assert_eq!(
        e.kind,
        EventKind::Alarm {
            alarm: Alarm::PowerOn
        }
    );
    // The length prefix must be the report's length.
    let mut longer = f.to_vec();
    longer.insert(30, b'0');
    assert!(matches!(
        dec().decode(&longer, &ctx()),
        Err(DecodeError::Invalid(_))
    ));
}

#[test]
fn stx_values_and_sum_checksum() {
    let f = b"STX,013950007137061,$GPRMC,191959.000,A,5203.09602,N,00830.77057,E,5.73,255.27,240716,,,A*62,L,Belt Up,imei:013950007137061,0/5,,Battery=52%,,1,262,03,0084,B20E;FD";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2016, 7, 24, 19, 19, 59).unwrap()
    );
    assert!(close(p.lat, 52.0516003) && close(p.lon, 8.5128428));
    assert!(close(p.speed_kmh, 5.73 * KNOT_KMH));
    assert_eq!(p.satellites, 0);
    assert_eq!(p.io["sat_visible"], IoValue::Int(5));
    assert_eq!(p.io["battery_level"], IoValue::Int(52));
    assert_eq!(p.io["charge"], IoValue::Bool(true));
    assert_eq!(p.io["mnc"], IoValue::Int(3));
    assert_eq!(p.io["cid"], IoValue::Int(0xB20E));
    let mut bad = f.to_vec();
    *bad.last_mut().unwrap() = b'E';
    assert!(dec().decode(&bad, &ctx()).unwrap_err().is_checksum());
    let lenient = MegastekDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap()
    .decode(&bad, &ctx());
    assert!(lenient.is_ok());

    // The id when the status has no imei; `LOGSTX` is a stored report; `Help` is SOS.
    let f = b"STX,,$GPRMC,001339.000,A,4710.85395,N,02733.58209,E,1.65,238.00,010109,,,A*67,L,Help,imei:013227009737796,0/8,137.1,Battery=100%,,0,226,01,2B9B,BBBF;8D";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "013227009737796");
    assert_eq!(pos(&out).alarms, vec![Alarm::Sos]);
    let f =
        b"STX,865067020439090,$GPRMC,171013.000,A,5919.1411,N,01804.1681,E,0.000,294.41,140815,,,A";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "865067020439090");
}

#[test]
fn padded_stx_values_and_xor_checksum() {
    let f = b"STX2010101801      \x02j$GPRMC,101053.000,A,2232.7607,N,11404.7669,E,0.00,,231110,,,A*7F,460,00,2795,0E6A,14,94,1000,0000,91,Timer;1D";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "2010101801");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2010, 11, 23, 10, 10, 53).unwrap()
    );
    assert_eq!(p.io["battery_level"], IoValue::Int(94));
    assert_eq!(p.io["rssi"], IoValue::Int(14));
    assert_eq!(p.io["adc1"], IoValue::Float(91.0));
    assert!(!p.io.contains_key("output"));
    assert_eq!(p.io["lac"], IoValue::Int(0x2795));
    let mut bad = f.to_vec();
    *bad.last_mut().unwrap() = b'E';
    assert!(dec().decode(&bad, &ctx()).unwrap_err().is_checksum());
}

#[test]
fn agps_requests_and_junk() {
    let out = dec()
        .decode(
            b"cmd=aid;user=***;pwd=***;lat=38.55295383;lon=21.05374500;pacc=1000",
            &ctx(),
        )
        .unwrap();
    assert!(out.identity.is_none() && out.records.is_empty());
    for junk in [
        &b""[..],
        b"$MGV",
        b"$MGV002,,x",
        b"0012$MGV002,1",
        b"STX,1,$GPRMC,1",
        b"STX1",
        b"STX1234567890123456789$GPRMC,xx,A,1,N,2,E,,,010101",
        "$MGV002,\u{e9}".as_bytes(),
    ] {
        assert!(dec().decode(junk, &ctx()).is_err(), "{junk:?}");
    }
}

#[test]
fn framer_cuts_length_prefixed_and_line_reports() {
    let a = b"0010$MGV002,12".to_vec();
    assert_eq!(frame::cut(&a, 1024), Cut::Frame(14));
    assert_eq!(frame::cut(b"01", 1024), Cut::NeedMore);
    assert_eq!(frame::cut(b"9999$MGV", 512), Cut::Skip(1));
    assert_eq!(
        frame::cut(b"$MGV002,1;!\r\n", 1024),
        Cut::FrameAndTerminator(11, 1)
    );
    assert_eq!(
        frame::cut(b"$MGV002,1;!$MG", 1024),
        Cut::FrameAndTerminator(10, 1)
    );
    assert_eq!(
        frame::cut(b"STX,1;00\n", 1024),
        Cut::FrameAndTerminator(8, 1)
    );
    assert_eq!(frame::cut(b"!x", 1024), Cut::Skip(1));
    let b = b"STX,1;00".to_vec();
    let c = b"$MGV002,2;!".to_vec();
    let bytes = [&a[..], b"\r\n", &b, b"\r\n", &c, b"\r\n"].concat();
    assert_eq!(
        test_util::frames(&mut dec(), &bytes, bytes.len()),
        vec![a.clone(), b.clone(), c.clone()]
    );
    // Byte by byte the `!` is cut before its CR LF arrives and dropped; the report decodes
    // the same either way.
    let c_short = c[..c.len() - 1].to_vec();
    assert_eq!(
        test_util::frames(&mut dec(), &bytes, 1),
        vec![a, b, c_short]
    );
    let f = b"$MGV002,860719020193193,DeviceName,R,240214,104742,A,2238.20471,N,11401.97967,E,00,03,00,1.20,0.462,356.23,137.9,1.5,460,07,262C,0F54,25,0000,0000,0,0,0,28.5,28.3,,10,100,Timer;!";
    assert_eq!(
        dec().decode(f, &ctx()).unwrap(),
        dec().decode(&f[..f.len() - 1], &ctx()).unwrap()
    );
}

proptest! {
    #[test]
    fn mgv_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        odometer in 0u32..1_000_000,
        valid: bool,
        stored: bool,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon, valid,
            speed_kmh: f64::from(speed),
            course: 12.5,
            altitude_m: 101.5,
            odometer_m: f64::from(odometer),
            satellites: 7,
            ..Fix::default()
        };
        let s = encode::mgv("358174067149865", &fix, stored, 77, "SOS");
        let out = dec().decode(s.as_bytes(), &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.0006 * KNOT_KMH);
        prop_assert_eq!((p.valid, p.historical, p.satellites), (valid, stored, 7));
        prop_assert_eq!((p.course, p.altitude_m), (12.5, 101.5));
        prop_assert!((p.odometer_m.unwrap() - fix.odometer_m).abs() < 0.6);
        prop_assert_eq!(&p.alarms, &vec![Alarm::Sos]);
        prop_assert_eq!(&p.io["battery_level"], &IoValue::Int(77));
    }

    #[test]
    fn stx_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed),
            valid: true,
            ..Fix::default()
        };
        let s = encode::stx("358174067149865", &fix, "Nil-Alarms", 64);
        let mut d = dec();
        let frames = test_util::frames(&mut d, s.as_bytes(), 7);
        prop_assert_eq!(frames.len(), 1);
        let out = d.decode(&frames[0], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.006 * KNOT_KMH);
        prop_assert_eq!(&p.io["battery_level"], &IoValue::Int(64));
        prop_assert!(matches!(out.records[0], Record::Position(_)));
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = MegastekDecoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 128), &bytes, 128, &ctx())?;
    }

    #[test]
    fn report_like_bytes_never_panic(bytes in proptest::collection::vec(prop::sample::select(b"0123$MGVSTX,;!*.AN\r\n".to_vec()), 0..400)) {
        let mut d = MegastekDecoder::new(&DecoderOptions { max_frame: 256, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 256), &bytes, 256, &ctx())?;
    }
}
