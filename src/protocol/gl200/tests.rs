use super::encode;
use super::*;
use crate::model::Alarm;
use crate::protocol::test_util::{self, ctx};
use crate::protocol::FrameResult;
use crate::protocol::{Decoder, Fix};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> Gl200Decoder {
    Gl200Decoder::new(&DecoderOptions::default()).unwrap()
}

/// Feeds `bytes` in chunks of `step` and collects every frame.
fn frames(bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    test_util::frames(&mut dec(), bytes, step)
}

/// A report as the framer hands it on: without its `$`.
fn bare(s: &str) -> &[u8] {
    s.strip_suffix('$').unwrap().as_bytes()
}

const FRI: &str = "+RESP:GTFRI,060100,135790246811220,,,00,1,1,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,2000.0,12345:12:34,,,80,210100,,,,20090214093254,11F0$";
const HBD: &str = "+ACK:GTHBD,1A0401,135790246811220,,20100214093254,11F0$";

#[test]
fn heartbeat_gets_the_exact_sack() {
    let out = dec().decode(HBD.as_bytes(), &ctx()).unwrap();
    assert_eq!(out.kind, "heartbeat");
    assert!(out.records.is_empty());
    assert_eq!(out.identity.unwrap().as_str(), "135790246811220");
    // protocol-notes §6: `+SACK:GTHBD,<ver>,<count>$`.
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"+SACK:GTHBD,1A0401,11F0$".as_slice())
    );
    assert_eq!(out.ack.refused, None);
}

#[test]
fn fri_decodes_exactly_and_reports_get_no_ack_by_default() {
    let out = dec().decode(FRI.as_bytes(), &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    assert_eq!(out.records.len(), 1);
    assert_eq!(p.device.as_str(), "135790246811220");
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2009, 2, 14, 1, 32, 54).unwrap()
    );
    assert_eq!((p.lat, p.lon), (31.222073, 121.354335));
    assert_eq!((p.speed_kmh, p.course, p.altitude_m), (4.3, 92.0, 70.0));
    assert!(p.valid && !p.historical);
}

#[test]
fn buff_is_historical_and_sack_mode_acks_every_report() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("ack_reports".into(), "true".into());
    let mut d = Gl200Decoder::new(&opts).unwrap();
    let buff = FRI.replacen("+RESP:", "+BUFF:", 1);
    let out = d.decode(buff.as_bytes(), &ctx()).unwrap();
    let p = test_util::position(&out);
    assert!(p.historical);
    assert_eq!(out.ack.accepted.as_deref(), Some(b"+SACK:11F0$".as_slice()));
}

#[test]
fn unknown_option_is_rejected() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("sack".into(), "true".into());
    assert_eq!(
        Gl200Decoder::new(&opts).unwrap_err(),
        OptionsError::unknown(NAME, "sack")
    );
}

#[test]
fn sos_and_harsh_braking_alarms() {
    let sos = "+RESP:GTSOS,DF0200,868487004358800,cv100,,00,1,1,0.0,0,138.0,114.015465,22.537372,20210714115224,0460,0001,25F8,061A7D02,,,20210714195224,20210714195224,03A6$";
    let out = dec().decode(sos.as_bytes(), &ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    let hbm = "+RESP:GTHBM,4B0101,135790246811220,,,10,1,1,4.3,92,70.0,121.354335,31.222073,20090214013254,0460,0000,18d8,6141,00,2000.0,20090214093254,11F0$";
    let out = dec().decode(hbm.as_bytes(), &ctx()).unwrap();
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::HarshBraking]);
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let stream = format!("{HBD}\r\n{FRI}{HBD}");
    for step in 1..=stream.len() {
        let got = frames(stream.as_bytes(), step);
        assert_eq!(got, vec![bare(HBD), bare(FRI), bare(HBD)], "step {step}");
    }
}

#[test]
fn binary_variant_and_oversize_are_skipped() {
    let mut d = dec();
    let mut buf = BytesMut::from(&b"+EVT\x0c\x00\xfc\x1f"[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    let long = format!("+RESP:GTFRI,{}$", "0".repeat(5000));
    let got = frames(format!("{long}{HBD}").as_bytes(), 64);
    assert_eq!(got, vec![bare(HBD)]);
}

proptest! {
    #[test]
    fn fri_round_trip(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0u16..3000, course in 0u16..360,
        alt in -500i32..9000, hdop in 0u8..50, secs in 0i64..2_000_000_000, count in any::<u16>(),
        buffered in any::<bool>(),
    ) {
        let time = Utc.timestamp_opt(secs, 0).unwrap();
        let fix = Fix {
            time, lat, lon, speed_kmh: f64::from(speed) / 10.0, course: f64::from(course),
            altitude_m: f64::from(alt) / 10.0, hdop: f64::from(hdop), valid: hdop > 0, ..Fix::default()
        };
        let bytes = encode::fri("2C0204", "867162020003125", &fix, 88, time, count, buffered);
        let got = frames(&bytes, 7);
        prop_assert_eq!(got.len(), 1);
        let out = dec().decode(&got[0], &ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert_eq!(p.course, f64::from(course));
        prop_assert!((p.altitude_m - fix.altitude_m).abs() < 1e-9);
        prop_assert_eq!(p.valid, hdop > 0);
        prop_assert_eq!(p.historical, buffered);
    }

    #[test]
    fn heartbeat_round_trip(secs in 0i64..2_000_000_000, count in any::<u16>()) {
        let t = Utc.timestamp_opt(secs, 0).unwrap();
        let out = dec().decode(&encode::heartbeat("1A0401", "135790246811220", t, count), &ctx()).unwrap();
        let want = format!("+SACK:GTHBD,1A0401,{count:04X}$");
        prop_assert_eq!(out.ack.accepted.as_deref(), Some(want.as_bytes()));
    }

    #[test]
    fn garbage_never_panics_over_consumes_or_stalls(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'+'), Just(b'$'), Just(b':'), Just(b'R')], 0..400),
        max in 8usize..300,
    ) {
        let hold = max.max(7);
        let mut d = Gl200Decoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| cut_frame(b, max), &data, hold, &ctx())?;
    }
}

#[test]
fn every_truncation_of_valid_reports_decodes_or_errors_without_panic() {
    for f in [FRI, HBD, "+RESP:GTSOS,DF0200,868487004358800,cv100,,00,1,1,0.0,0,138.0,114.015465,22.537372,20210714115224,0460,0001,25F8,061A7D02,,,20210714195224,20210714195224,03A6$"] {
        for n in 0..=f.len() {
            let _ = dec().decode(&f.as_bytes()[..n], &ctx());
        }
    }
}
