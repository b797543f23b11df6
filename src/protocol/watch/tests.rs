use super::encode;
use super::*;
use crate::model::Alarm;
use crate::protocol::test_util::{self, ctx};
use crate::protocol::DecoderOptions;
use crate::protocol::{Decoder, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> WatchDecoder {
    WatchDecoder::new(&DecoderOptions::default()).unwrap()
}

fn frames(bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    test_util::frames(&mut dec(), bytes, step)
}

const LK: &str = "[SG*8800000015*0002*LK]";
const UD: &str = "[SG*8800000015*0087*UD,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,0000,4,1,460,0,9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]";
const AL: &str =
    "[3G*6907919734*003e*AL_LTE,170525,214118,V,0,N,0,E,0,0,0,0,0,22,0,0,00010000,0,0,0]";

#[test]
fn link_gets_lk_and_no_record() {
    let out = dec().decode(LK.as_bytes(), &ctx()).unwrap();
    assert!(out.records.is_empty());
    assert_eq!(out.identity.unwrap().as_str(), "8800000015");
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"[SG*8800000015*0002*LK]".as_slice())
    );
    // Indexed (ZJ) frames keep their index in the reply.
    let zj = b"[ZJ*014111001350304*0034*0009*LK,0,0,19]";
    let out = dec().decode(zj, &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"[ZJ*014111001350304*0034*0002*LK]".as_slice())
    );
}

#[test]
fn ud_decodes_exactly() {
    let out = dec().decode(UD.as_bytes(), &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None);
    let p = test_util::position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2014, 4, 22, 13, 46, 52).unwrap()
    );
    assert_eq!((p.lat, p.lon), (22.571707, 113.8613968));
    assert!(p.valid && !p.historical);
    assert_eq!(
        (p.speed_kmh, p.course, p.altitude_m, p.satellites),
        (0.1, 0.0, 100.0, 7)
    );
}

#[test]
fn alarm_gets_al_reply_and_sos() {
    let out = dec().decode(AL.as_bytes(), &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"[3G*6907919734*0002*AL]".as_slice())
    );
    let p = test_util::position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
}

#[test]
fn tkq_is_echoed_and_init_answered() {
    let out = dec().decode(b"[3G*8800000015*0003*TKQ]", &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"[3G*8800000015*0003*TKQ]".as_slice())
    );
    let out = dec().decode(b"[3G*8800000015*0004*INIT]", &ctx()).unwrap();
    assert_eq!(
        out.ack.accepted.as_deref(),
        Some(b"[3G*8800000015*0006*INIT,1]".as_slice())
    );
}

#[test]
fn split_at_every_byte_coalesced_and_unescaped() {
    let tk = b"[CS*1234567890*000e*TK,#!AMR}\x01}\x02}\x03}\x04}\x05\xff]".to_vec();
    let mut s = format!("{LK}{UD}").into_bytes();
    s.extend_from_slice(&tk);
    s.extend_from_slice(AL.as_bytes());
    let want_tk = b"[CS*1234567890*000e*TK,#!AMR}[],*\xff]".to_vec();
    for step in 1..=s.len() {
        assert_eq!(
            frames(&s, step),
            vec![
                LK.as_bytes().to_vec(),
                UD.as_bytes().to_vec(),
                want_tk.clone(),
                AL.as_bytes().to_vec()
            ],
            "step {step}"
        );
    }
}

proptest! {
    #[test]
    fn position_round_trip(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0, speed in 0u32..30_000, course in 0u32..3600,
        alt in -5000i32..90_000, sats in 0u8..40, battery in 0u8..=100, valid in any::<bool>(),
        secs in 946_684_800i64..4_102_444_799, backfill in any::<bool>(),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(secs, 0).unwrap(), valid, lat, lon,
            speed_kmh: f64::from(speed) / 100.0, course: f64::from(course) / 10.0,
            altitude_m: f64::from(alt) / 10.0, satellites: sats, ..Fix::default()
        };
        let cmd = if backfill { "UD2" } else { "UD" };
        let got = frames(&encode::position("SG", "9059011020", cmd, &fix, battery, 0), 13);
        prop_assert_eq!(got.len(), 1);
        let out = dec().decode(&got[0], &ctx()).unwrap();
        let p = test_util::position(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 1e-6 && (p.lon - lon).abs() < 1e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 1e-9);
        prop_assert!((p.course - fix.course).abs() < 1e-9);
        prop_assert!((p.altitude_m - fix.altitude_m).abs() < 1e-9);
        prop_assert_eq!((p.satellites, p.valid, p.historical), (sats, valid, backfill));
        prop_assert!(p.alarms.is_empty());
    }

    #[test]
    fn link_round_trip(steps in any::<u32>(), battery in 0u8..=100) {
        let out = dec().decode(&encode::link("3G", "4700186508", steps, battery), &ctx()).unwrap();
        prop_assert_eq!(out.ack.accepted.as_deref(), Some(b"[3G*4700186508*0002*LK]".as_slice()));
    }

    #[test]
    fn garbage_never_panics_over_consumes_or_stalls(
        data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'['), Just(b']'), Just(b'*'), Just(0x7D)], 0..400),
        max in 4usize..300,
    ) {
        let hold = max.max(4);
        let mut d = WatchDecoder::new(&DecoderOptions { max_frame: max, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| cut_frame(b, max), &data, hold, &ctx())?;
    }
}

#[test]
fn every_truncation_of_valid_frames_decodes_or_errors_without_panic() {
    let zj = "[ZJ*014111001350304*0038*008a*UD,070318,021027,V,00.000000,N,000.000000,E,0,0,0,0,100,18,1000,50,00000000,4,255,460,0,9346,5223,42,9346,5214,20,9784,4083,11,9346,5221,5]";
    for f in [
        LK,
        UD,
        AL,
        zj,
        "[3G*4700609403*0013*bphrt,120,79,73,,,,]",
        "[3G*2104326058*000E*btemp2,1,35.29]",
    ] {
        for n in 0..=f.len() {
            let _ = dec().decode(&f.as_bytes()[..n], &ctx());
        }
    }
}
