use super::encode;
use super::*;
use crate::model::Alarm;
use crate::protocol::test_util::{self, ctx};
use crate::protocol::{Decoder, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> SuntechDecoder {
    SuntechDecoder::new(&DecoderOptions::default()).unwrap()
}

fn frames(bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    test_util::frames(&mut dec(), bytes, step)
}

/// Traccar `SuntechProtocolDecoderTest` (asserts 2012-07-18T15:37:12Z, valid, -15.61876, -56.08324).
const SA200: &str = "SA200STT;317652;042;20120718;15:37:12;16d41;-15.618755;-056.083241;000.024;000.00;8;1;41548;12.17;100000;2;1979";
/// Traccar `SuntechFrameDecoderTest` UEX report whose data block holds `\r\n`.
const UEX: &str = "ST600UEX;008728327;20;568;20190424;08:33:11;0bf1283b;334;20;2f19;18;+20.514145;-100.743710;000.004;000.00;10;1;10377861;12.96;000000;44;t_0=13;N_0=089D.0;t_1=1B;N_1=0E74.0;Q_D=0B\r\n;B4;028498;4.1;1";
const BIN: &str = "81004e05200013383fffff3401000301130a0512080400000000000000000000000047f9d5846a06810072225214010100020300a8002604c1000004b000000470000025a100000000000025c4000000a6";

#[test]
fn sa200_decodes_exactly_and_gets_no_reply() {
    let out = dec().decode(SA200.as_bytes(), &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "317652");
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2012, 7, 18, 15, 37, 12).unwrap()
    );
    assert_eq!((p.lat, p.lon), (-15.618755, -56.083241));
    assert_eq!((p.speed_kmh, p.course, p.satellites), (0.024, 0.0, 8));
    assert!(p.valid);
    assert_eq!(
        (p.odometer_m, p.power_v, p.ignition),
        (Some(41548.0), Some(12.17), Some(true))
    );
}

#[test]
fn uex_fuel_and_binary_report() {
    let out = dec().decode(UEX.as_bytes(), &ctx()).unwrap();
    let p = test_util::position(&out);
    // N_0 = 0x089D, N_1 = 0x0E74 (hex litres, Traccar sums them).
    assert_eq!(p.io["fuel"], IoValue::Float(f64::from(0x089D + 0x0E74)));
    let out = dec().decode(&hex::decode(BIN).unwrap(), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "0520001338");
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2019, 10, 5, 18, 8, 4).unwrap()
    );
}

#[test]
fn universal_alert_42_is_sos_and_keep_alive_is_silent() {
    let alt = "ALT;0950030205;3FFFFF;95;1.0.11;0;20221017;21:41:30;02F2F402;334;20;0F1D;45;+25.791061;-100.170745;0.00;0.00;18;1;00000101;00000000;42;2;";
    let out = dec().decode(alt.as_bytes(), &ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert!(p.historical, "archive flag 0 = buffered report");
    let out = dec().decode(b"SA200ALV;317652", &ctx()).unwrap();
    assert!(out.records.is_empty());
    assert_eq!(out.ack, AckPlan::default());
}

use crate::model::IoValue;
use crate::protocol::AckPlan;

#[test]
fn split_at_every_byte_and_coalesced() {
    let bin = hex::decode(BIN).unwrap();
    let mut s = format!("{SA200}\r{UEX}\r").into_bytes();
    s.extend_from_slice(&bin);
    s.extend_from_slice(b"SA200ALV;317652\r");
    for step in 1..=s.len() {
        assert_eq!(
            frames(&s, step),
            vec![
                SA200.as_bytes().to_vec(),
                UEX.as_bytes().to_vec(),
                bin.clone(),
                b"SA200ALV;317652".to_vec()
            ],
            "step {step}"
        );
    }
}

#[test]
fn options_are_checked() {
    let mut o = DecoderOptions::default();
    o.options.insert("hbm".into(), "yes".into());
    assert!(SuntechDecoder::new(&o).is_err());
    o.options.clear();
    o.options.insert("hmb".into(), "true".into());
    assert_eq!(
        SuntechDecoder::new(&o).unwrap_err(),
        OptionsError::unknown(NAME, "hmb")
    );
}

proptest! {
    #[test]
    fn st300_round_trip(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0u32..300_000, course in 0u32..36_000,
        sats in 0u8..30, valid in any::<bool>(), odo in any::<u32>(), power in 0u32..4000,
        ign in any::<bool>(), secs in 946_684_800i64..4_102_444_799, msg in 0u16..10000,
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(secs, 0).unwrap(), lat, lon,
            speed_kmh: f64::from(speed) / 1000.0, course: f64::from(course) / 100.0,
            satellites: sats, valid, odometer_m: f64::from(odo), ignition: ign, ..Fix::default()
        };
        let power_v = f64::from(power) / 100.0;
        let got = frames(&encode::st300_stt("907131077", &fix, power_v, msg), 9);
        prop_assert_eq!(got.len(), 1);
        let out = dec().decode(&got[0], &ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert!((p.course - fix.course).abs() < 1e-9);
        prop_assert_eq!((p.satellites, p.valid, p.ignition), (sats, valid, Some(ign)));
        prop_assert_eq!(p.odometer_m, Some(f64::from(odo)));
        prop_assert!((p.power_v.unwrap() - power_v).abs() < 1e-9);
    }

    #[test]
    fn keep_alive_round_trip(id in "[0-9]{6,10}") {
        let got = frames(&encode::keep_alive(&id), 3);
        let out = dec().decode(&got[0], &ctx()).unwrap();
        let got_id = out.identity.unwrap();
        prop_assert_eq!(got_id.as_str(), id.as_str());
        prop_assert!(out.records.is_empty());
    }

    #[test]
    fn garbage_never_panics_over_consumes_or_stalls(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b';'), Just(b'S'), Just(0x81), Just(0)], 0..400),
        max in 8usize..300,
    ) {
        let hold = max.max(8);
        let mut d = SuntechDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| cut_frame(b, max), &data, hold, &ctx())?;
    }
}

#[test]
fn every_truncation_of_valid_reports_decodes_or_errors_without_panic() {
    let bin = hex::decode(BIN).unwrap();
    let alt = b"ALT;0950030205;3FFFFF;95;1.0.11;0;20221017;21:41:30;02F2F402;334;20;0F1D;45;+25.791061;-100.170745;0.00;0.00;18;1;00000101;00000000;42;2;";
    let st910 = b"ST910;Alert;123456;410;20141018;18:30:12;+37.478774;+126.889690;000.000;000.00;0;4.0;1;6002";
    let st4 = b"ST410STT;007272376;408;01;10217;732;103;-87;51511;1;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;3.8;1;2503;6;20181031;20:12:58;+04.741277;-074.048238;052.375;189.87;20;1";
    let mut o = DecoderOptions::default();
    for k in [
        "hbm",
        "include_adc",
        "include_rpm",
        "include_temp",
        "protocol_type",
    ] {
        o.options.insert(k.into(), "true".into());
    }
    for f in [
        SA200.as_bytes(),
        UEX.as_bytes(),
        &bin[..],
        &alt[..],
        &st910[..],
        &st4[..],
    ] {
        for opts in [DecoderOptions::default(), o.clone()] {
            let mut d = SuntechDecoder::new(&opts).unwrap();
            for n in 0..=f.len() {
                let _ = d.decode(&f[..n], &ctx());
            }
        }
    }
}
