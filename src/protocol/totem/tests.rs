//! Totem unit tests: exact values from captured frames of each layout, the exact answers
//! (`$$0014AA<serial><xor>`, `ACK OK`), checksums and declared lengths, stream robustness
//! and encode → decode round trips.

use super::encode;
use super::*;
use crate::model::{Alarm, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::{ChecksumPolicy, Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> TotemDecoder {
    TotemDecoder::new(&DecoderOptions::default()).unwrap()
}

fn lenient() -> TotemDecoder {
    TotemDecoder::new(&DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    })
    .unwrap()
}

fn ack(out: &Decoded) -> &[u8] {
    out.ack.accepted.as_deref().unwrap_or_default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn new_generation_status_reports() {
    // Two temperatures (and three more ADCs): the fix flag is bit 12, clear here.
    let f = b"$$0128AA867965024919124|10010800160223032415401203270321032103270189000027BA0E4E001800200001.000000002237.7581N11403.5088E000957";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(ack(&out), b"$$0014AA00090C");
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "867965024919124");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2016, 2, 23, 3, 24, 15).unwrap()
    );
    assert!(!p.valid);
    assert!(close(p.lat, 22.629302) && close(p.lon, 114.05848));
    assert_eq!((p.battery_v, p.power_v), (Some(4.0), Some(12.0)));
    assert_eq!(p.io["adc1"], IoValue::Int(327));
    assert_eq!(p.io["adc4"], IoValue::Int(327));
    assert_eq!(p.io["temp1"], IoValue::Int(189));
    assert_eq!(p.io["temp2"], IoValue::Int(0));
    assert_eq!(p.io["lac"], IoValue::Int(0x27BA));
    assert_eq!(p.io["cid"], IoValue::Int(0x0E4E));
    assert_eq!((p.satellites, p.course, p.speed_kmh), (0, 2.0, 0.0));
    assert_eq!(p.io["rssi"], IoValue::Int(18));
    assert_eq!(p.io["hdop"], IoValue::Float(1.0));
    assert_eq!(p.odometer_m, Some(0.0));
    assert!(p.alarms.is_empty());

    // Battery + power, no temperatures: the fix flag is bit 14; speed is km/h.
    let f = b"$$0108AB863835028447675|5004C0001710250234064214059828A058AE121010604000.600000320304.7772N10134.8238E11625B";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(ack(&out), b"$$0014AA116201");
    let p = pos(&out);
    assert!(p.valid);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2017, 10, 25, 2, 34, 6).unwrap()
    );
    assert_eq!((p.battery_v, p.power_v), (Some(4.2), Some(14.0)));
    assert_eq!((p.satellites, p.course, p.speed_kmh), (12, 106.0, 40.0));
    assert_eq!(p.odometer_m, Some(32_000.0));
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.io["charge"], IoValue::Bool(true));
    assert!(!p.io.contains_key("temp1") && !p.io.contains_key("mcc"));

    // 3-digit battery (0.01 V) and a 4-digit field after the longitude.
    let f = b"$$0111AA353081090067318|0804400022070722520240400005B364ED5003107300001.700000002245.3919N10231.6952W000001860E";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!((p.battery_v, p.power_v), (Some(4.04), None));
    assert_eq!(p.io["lac"], IoValue::Int(0x5B36));
    assert!(close(p.lat, 22.756532) && close(p.lon, -102.52825333));
}

#[test]
fn new_generation_alarms_heartbeat_and_comma_forms() {
    // Type 0x01 = SOS; status bit 29 = overspeed.
    let fix = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap(),
        lat: -26.54347,
        lon: 28.05548,
        valid: true,
        ..Fix::default()
    };
    let f = encode::status_report("862010037348253", 0x01, &fix, 1 << 29, 7);
    let p = pos(&dec().decode(f.as_bytes(), &ctx()).unwrap()).clone();
    assert_eq!(p.alarms, vec![Alarm::Sos, Alarm::Overspeed]);
    let out = dec().decode(b"$$0025BB8620100372948613E", &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "862010037294861");
    assert!(out.records.is_empty());
    assert_eq!(ack(&out), b"$$0014AA48610E");

    let f = b"$$0112E5864606045334223|201112223514,-68.923106,-22.455926,$Cloud,1738,621,730,12100,0,0,255,0,40,40,0,0,255,|13";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2020, 11, 12, 22, 35, 14).unwrap()
    );
    assert_eq!((p.lat, p.lon), (-22.455926, -68.923106), "longitude first");
    assert_eq!(p.power_v, Some(12.1));
    assert_eq!(p.io["coolant_temp"], IoValue::Int(40));
    assert_eq!(p.io["fuel_level"], IoValue::Int(255));
    assert_eq!(p.io["obd_odometer"], IoValue::Int(1738));

    let body = "E2861172035926695|170912153257,-79.373853,43.765619,A1B2C3D4|";
    let f = encode::with_xor(&format!("$${:04}{body}", body.len() + 8));
    let p = pos(&dec().decode(f.as_bytes(), &ctx()).unwrap()).clone();
    assert_eq!((p.lat, p.lon), (43.765619, -79.373853));
    assert_eq!(p.io["driver_id"], IoValue::Text("A1B2C3D4".into()));
    // A comma form of a type without a known layout: identified and answered, nothing stored.
    let f = b"$$0065E6861172035926695|170912153257,-79.373853,43.765619,0,0,|4A";
    let out = dec().decode(f, &ctx()).unwrap();
    assert!(out.records.is_empty() && out.identity.is_some() && out.ack.accepted.is_some());
}

#[test]
fn old_generation_layouts() {
    let f = b"$$BE863771024392112|AA$GPRMC,044704.000,A,1439.3334,N,12059.1417,E,0.00,0.00,200815,,,A*67|01.7|00.8|01.4|000000000000|20150820044704|14291265|00000000|4EECBF8B31|0000|0.0000|0002|00000|56E7";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(ack(&out), b"ACK OK\r\n");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 8, 20, 4, 47, 4).unwrap()
    );
    assert!(p.valid && close(p.lat, 14.6555567) && close(p.lon, 120.985695));
    assert_eq!((p.battery_v, p.power_v), (Some(4.29), Some(12.65)));
    assert_eq!(p.io["adc1"], IoValue::Int(0));
    assert_eq!(p.io["lac"], IoValue::Int(0xECBF));
    assert_eq!(p.io["cid"], IoValue::Int(0x8B31));
    assert_eq!(p.io["pdop"], IoValue::Float(1.7));
    let mut bad = f.to_vec();
    let n = bad.len();
    bad[n - 1] = b'8';
    assert!(dec().decode(&bad, &ctx()).unwrap_err().is_checksum());

    // Pipe-separated fields, speed in knots. (Its captured CRC does not match: Ignore.)
    let f = b"$$8B862170017861566|AA180613080657|A|2237.1901|N|11402.1369|E|1.579|178|8.70|100000001000|13811|00000000|253162F5|00000000|0.0000|0014|2B16";
    assert!(dec().decode(f, &ctx()).unwrap_err().is_checksum());
    let p = pos(&lenient().decode(f, &ctx()).unwrap()).clone();
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2013, 6, 18, 8, 6, 57).unwrap()
    );
    assert!(close(p.speed_kmh, 1.579 * KNOT_KMH));
    assert_eq!(
        (p.course, p.battery_v, p.power_v),
        (178.0, Some(3.8), Some(11.0))
    );
    // I/O bits 100000001000: bit 11 = out4, bit 3 = in2.
    assert_eq!(p.io["out4"], IoValue::Bool(true));
    assert_eq!(p.io["in2"], IoValue::Bool(true));
    assert_eq!(p.io["in1"], IoValue::Bool(false));

    // The separator-free layout (no captured frame: built from its field widths).
    let rest = "123456789012345|01160223032415000A140120327032118900027BA0E4EA08020040\
                01.200001232237.7581N11403.5088E0009";
    let body = format!("$${:02X}{rest}", rest.len() + 8);
    let f = format!("{body}{:04X}", encode::MODBUS.checksum(body.as_bytes()));
    let out = dec().decode(f.as_bytes(), &ctx()).unwrap();
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2023, 2, 16, 3, 24, 15).unwrap()
    );
    assert!(p.valid && p.alarms == vec![Alarm::Sos]);
    assert_eq!((p.satellites, p.course), (8, 20.0));
    assert!(close(p.speed_kmh, 40.0 * KNOT_KMH));
    assert_eq!(p.odometer_m, Some(123_000.0));
    assert_eq!((p.battery_v, p.power_v), (Some(4.0), Some(12.0)));
    assert_eq!(p.io["temp1"], IoValue::Int(189));

    // No fix yet (all-zero date): identified and answered, nothing stored.
    let f = b"$$AE359772033395899|AA000000000000000000000000000000000000000000000000000000000000|00.0|00.0|00.0|000000000000|20090215000153|13601435|00000000|00000000|0000|0.0000|0007|2DAA";
    let out = dec().decode(f, &ctx()).unwrap();
    assert!(out.records.is_empty() && out.identity.is_some());
    assert_eq!(ack(&out), b"ACK OK\r\n");
}

#[test]
fn lying_lengths_and_junk_are_refused() {
    // Declared 0x8C, 139 bytes: refused even when the CRC is ignored.
    let f = b"$$8C862170017861566|AA180613080657|A|2237.1901|N|11402.1369|E|1.579|178|8.70|100000001000|13811|00000000|253162F5|00000000|0.0000|0014|2B16";
    assert!(matches!(
        lenient().decode(f, &ctx()),
        Err(DecodeError::Invalid(_))
    ));
    for junk in [
        &b""[..],
        b"$$",
        b"$$0010AA1",
        b"$$0011AA1|00",
        b"$$0A123|11111",
        b"$$zz123456|AA$GPRMC,*00|0000",
        "$$0014AA\u{e9}12345".as_bytes(),
    ] {
        assert!(lenient().decode(junk, &ctx()).is_err(), "{junk:?}");
    }
}

#[test]
fn framer_cuts_by_declared_length_and_skips_line_breaks() {
    let a = b"$$0025BB8620100372948613E".to_vec();
    let b = b"$$BE863771024392112|AA$GPRMC,044704.000,A,1439.3334,N,12059.1417,E,0.00,0.00,200815,,,A*67|01.7|00.8|01.4|000000000000|20150820044704|14291265|00000000|4EECBF8B31|0000|0.0000|0002|00000|56E7".to_vec();
    let bytes = [&b"xx"[..], &a, b"\r\n", &b, b"\r\n"].concat();
    assert_eq!(frame::cut(b"$$0", 1024), Cut::NeedMore);
    assert_eq!(frame::cut(b"$$0x99AA", 1024), Cut::Skip(1));
    assert_eq!(frame::cut(b"$$9999AA", 1024), Cut::NeedMore);
    assert_eq!(frame::cut(b"$$9999AA", 128), Cut::Skip(1));
    assert_eq!(frame::cut(b"$$09999A", 512), Cut::Skip(1));
    let mut d = dec();
    let got = test_util::frames(&mut d, &bytes, 1);
    assert_eq!(got, vec![a, b]);
}

proptest! {
    #[test]
    fn status_report_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..999,
        course in 0u16..360,
        odometer in 0u32..9_999_999,
        sats in 0u8..99,
        valid: bool,
        serial in 0u16..9999,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon, valid,
            speed_kmh: f64::from(speed),
            course: f64::from(course),
            odometer_m: f64::from(odometer) * 1000.0,
            satellites: sats,
            ..Fix::default()
        };
        let f = encode::status_report("358174067149865", 0xAA, &fix, 0, serial);
        let out = dec().decode(f.as_bytes(), &ctx()).unwrap();
        let want = encode::ack(&format!("{serial:04}"));
        prop_assert_eq!(ack(&out), want.as_bytes());
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert_eq!((p.speed_kmh, p.course, p.satellites, p.valid), (fix.speed_kmh, fix.course, sats, valid));
        prop_assert_eq!(p.odometer_m, Some(fix.odometer_m));
    }

    #[test]
    fn rmc_report_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        valid: bool,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon, valid,
            speed_kmh: f64::from(speed),
            course: 12.5,
            odometer_m: 1234.5,
            ..Fix::default()
        };
        let f = encode::rmc_report("358174067149865", &fix, 3);
        let out = dec().decode(f.as_bytes(), &ctx()).unwrap();
        prop_assert_eq!(ack(&out), b"ACK OK\r\n");
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.006 * KNOT_KMH);
        prop_assert_eq!((p.course, p.valid, p.odometer_m), (12.5, valid, Some(1234.5)));
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = TotemDecoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 128, &ctx())?;
    }

    #[test]
    fn dollar_heavy_bytes_never_panic(bytes in proptest::collection::vec(prop::sample::select(b"$$0123456789ABE|,.NS\r\n".to_vec()), 0..400)) {
        let mut d = TotemDecoder::new(&DecoderOptions { max_frame: 256, ..DecoderOptions::default() }).unwrap();
        test_util::random_bytes_invariants(&mut d, &bytes, 256, &ctx())?;
    }
}
