use super::encode::{self, Report};
use super::*;
use crate::model::{Alarm, IoValue};
use crate::protocol::test_util::{self, ctx};
use crate::protocol::ChecksumPolicy;
use crate::protocol::DecoderOptions;
use crate::protocol::{Decoder, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> MeitrackDecoder {
    MeitrackDecoder::new(&DecoderOptions::default()).unwrap()
}

fn frames(bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    test_util::frames(&mut dec(), bytes, step)
}

/// Traccar `MeitrackProtocolDecoderTest` frame (its checksum C2 is valid).
const AAA: &[u8] = b"$$T143,869013024733944,AAA,1,18.459575,-69.947161,170220142912,A,5,15,10,300,1.6,115,3989,187884,370|2|5337|2B2C,0100,0000|0000|0000|0964|0B04,,*C2\r\n";
/// Traccar `MeitrackProtocolDecoderTest` CCC frame with one record.
const CCC: &str = "24245838362c3336393830303031343039303032312c4343432c020134000100000023381f91ffe354b806c5e3121b0009130000000000000000d33801007cbf0200fe0101000435feeb02000500a3010000000000002a62650d0a";

#[test]
fn aaa_decodes_exactly_without_reply() {
    let out = dec().decode(AAA, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "869013024733944");
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2017, 2, 20, 14, 29, 12).unwrap()
    );
    assert_eq!((p.lat, p.lon), (18.459575, -69.947161));
    assert!(p.valid);
    assert_eq!((p.satellites, p.speed_kmh, p.course), (5, 10.0, 300.0));
    assert_eq!((p.altitude_m, p.odometer_m), (115.0, Some(3989.0)));
    assert_eq!(p.io["input"], IoValue::Int(1));
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    // Hex centivolts: 0x0964 = 24.04 V, 0x0B04 = 28.20 V.
    assert_eq!((p.battery_v, p.power_v), (Some(24.04), Some(28.2)));
}

#[test]
fn ccc_gets_the_exact_delete_command() {
    let out = dec().decode(&hex::decode(CCC).unwrap(), &ctx()).unwrap();
    assert_eq!(out.records.len(), 1);
    let p = test_util::position(&out);
    // Traccar asserts 2014-05-24T04:59:49Z, invalid, -7.2665, 112.74365 for this frame.
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2014, 5, 24, 4, 59, 49).unwrap()
    );
    assert!((p.lat + 7.2665).abs() < 1e-5 && (p.lon - 112.74365).abs() < 1e-5);
    assert!(!p.valid);
    // `@@` + flag + length + `,imei,CCC,<n>*` + sum (Traccar MeitrackProtocolDecoder).
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"@@X27,369800014090021,CCC,1*E4\r\n".as_slice())
    );
}

#[test]
fn bad_checksum_is_refused_under_verify_and_decoded_under_ignore() {
    let mut bad = AAA.to_vec();
    let n = bad.len();
    bad[n - 3] = b'3';
    assert!(matches!(
        dec().decode(&bad, &ctx()),
        Err(DecodeError::Checksum {
            expected: 0xC3,
            computed: 0xC2
        })
    ));
    let opts = DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    };
    let out = MeitrackDecoder::new(&opts)
        .unwrap()
        .decode(&bad, &ctx())
        .unwrap();
    assert_eq!(out.records.len(), 1);
}

#[test]
fn sos_event_is_an_alarm() {
    let fix = Fix {
        time: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        lat: 1.0,
        lon: 2.0,
        valid: true,
        satellites: 7,
        speed_kmh: 10.0,
        course: 20.0,
        altitude_m: 30.0,
        odometer_m: 40.0,
        ..Fix::default()
    };
    let report = Report {
        event: 1,
        battery_v: 4.1,
        power_v: 12.5,
    };
    let out = dec()
        .decode(&encode::aaa(b'Q', "353358017784062", &fix, &report), &ctx())
        .unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let ccc = hex::decode(CCC).unwrap();
    let mut stream = AAA.to_vec();
    stream.extend_from_slice(&ccc);
    stream.extend_from_slice(AAA);
    for step in 1..=stream.len() {
        assert_eq!(
            frames(&stream, step),
            vec![AAA.to_vec(), ccc.clone(), AAA.to_vec()],
            "step {step}"
        );
    }
}

#[test]
fn garbage_and_oversize_resync() {
    let mut s = b"xx$$9".to_vec();
    s.extend_from_slice(b"$$A99999,1,AAA,*00\r\n");
    s.extend_from_slice(AAA);
    assert_eq!(frames(&s, 5), vec![AAA.to_vec()]);
}

proptest! {
    #[test]
    fn aaa_round_trip(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0u16..400, course in 0u16..360,
        alt in -400i32..9000, odo in any::<u32>(), secs in 946_684_800i64..4_102_444_799,
        valid in any::<bool>(), sats in 0u8..40, event in 0u8..200, flag in b'A'..=b'z',
        batt in 0u16..5000, power in 0u16..5000,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon, valid, satellites: sats,
            speed_kmh: f64::from(speed), course: f64::from(course), altitude_m: f64::from(alt),
            odometer_m: f64::from(odo), ..Fix::default()
        };
        let report = Report { event, battery_v: f64::from(batt) / 100.0, power_v: f64::from(power) / 100.0 };
        let bytes = encode::aaa(flag, "864507031245110", &fix, &report);
        let got = frames(&bytes, 11);
        prop_assert_eq!(got.len(), 1);
        let out = dec().decode(&got[0], &ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert_eq!(p.valid, valid);
        prop_assert_eq!(p.satellites, sats);
        prop_assert_eq!(p.speed_kmh, f64::from(speed));
        prop_assert_eq!(p.altitude_m, f64::from(alt));
        prop_assert_eq!(p.odometer_m, Some(f64::from(odo)));
        prop_assert_eq!(p.battery_v, Some(report.battery_v));
        prop_assert_eq!(p.power_v, Some(report.power_v));
    }

    #[test]
    fn garbage_never_panics_over_consumes_or_stalls(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'$'), Just(b','), Just(b'*'), Just(b'1')], 0..400),
        max in 10usize..300,
    ) {
        let hold = max.max(10);
        let mut d = MeitrackDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| cut_frame(b, max), &data, hold, &ctx())?;
    }
}

#[test]
fn every_truncation_of_valid_frames_decodes_or_errors_without_panic() {
    let ccc = hex::decode(CCC).unwrap();
    let cce = hex::decode("2424533232312c3836323331313036323737393431362c4343452c000000000100bb001c0006012305000600071f1500fe6961050800000900000a00000b00001aca000702a72c52030340a0c90004f3408b2c0ca80100000d238d08001c01000000fe37").unwrap();
    for f in [AAA, &ccc[..], &cce[..]] {
        for policy in [ChecksumPolicy::Verify, ChecksumPolicy::Ignore] {
            let opts = DecoderOptions {
                checksum: policy,
                ..DecoderOptions::default()
            };
            let mut d = MeitrackDecoder::new(&opts).unwrap();
            for n in 0..=f.len() {
                let _ = d.decode(&f[..n], &ctx());
            }
        }
    }
}
