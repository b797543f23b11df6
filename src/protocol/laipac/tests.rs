//! Laipac unit tests: exact values from captured sentences, the exact answers (`$EAVACK` for
//! lower-case status, `$AVCFG` for alarm events, the `$ECHK` echo), the checksum, stream
//! robustness and encode → decode round trips.

use super::encode;
use super::*;
use crate::model::{Alarm, IoValue};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::{Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> LaipacDecoder {
    LaipacDecoder::new(&DecoderOptions::default()).unwrap()
}

fn ack(out: &Decoded) -> &[u8] {
    out.ack.accepted.as_deref().unwrap_or_default()
}

#[test]
fn avrmc_values() {
    // Traccar's test frame with its asserted values; with one checksum digit changed, it is
    // a checksum error.
    let f =
        b"$AVRMC,99999999,164339,A,4351.0542,N,07923.5445,W,0.29,78.66,180703,0,3.727,17,1,0,0*37";
    let mut bad = f.to_vec();
    *bad.last_mut().unwrap() = b'8';
    assert!(dec().decode(&bad, &ctx()).unwrap_err().is_checksum());
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "99999999");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2003, 7, 18, 16, 43, 39).unwrap()
    );
    assert!((p.lat - 43.850903).abs() < 1e-6 && (p.lon + 79.392408).abs() < 1e-6);
    assert!((p.speed_kmh - 0.29 * KNOT_KMH).abs() < 1e-12);
    assert_eq!((p.course, p.valid), (78.66, true));
    assert_eq!((p.battery_v, p.odometer_m), (Some(3.727), Some(17_000.0)));
    assert_eq!(p.io["event"], IoValue::Text("0".into()));
    let f = b"$AVRMC,MSG00002,124022,V,0000.0000,N,00000.0000,E,0.00,0.00,240614,3,4076,167,1,0,0,0D7AB913,020408*0D";
    let p = pos(&dec().decode(f, &ctx()).unwrap()).clone();
    assert!(!p.valid);
    assert_eq!(p.battery_v, Some(4.076), "millivolts");
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(p.io["lac"], IoValue::Int(0x0D7A));
    assert_eq!(p.io["cid"], IoValue::Int(0xB913));
    assert_eq!(
        (&p.io["mcc"], &p.io["mnc"]),
        (&IoValue::Int(20), &IoValue::Int(408))
    );
}

#[test]
fn answers_eavack_for_lower_case_and_avcfg_for_alarms() {
    let f =
        b"$AVRMC,99999999,164339,a,4351.0542,N,07923.5445,W,0.29,78.66,180703,0,3.727,17,1,0,0*17";
    assert_eq!(
        ack(&dec().decode(f, &ctx()).unwrap()),
        b"$EAVACK,0,17*2D\r\n"
    );
    // Upper-case status, SOS event: only the alarm answer, with the factory password.
    let f =
        b"$AVRMC,99999999,164339,A,4351.0542,N,07923.5445,W,0.29,78.66,180703,3,3.727,17,1,0,0*34";
    assert_eq!(
        ack(&dec().decode(f, &ctx()).unwrap()),
        b"$AVCFG,00000000,d*31\r\n"
    );
    // Both, in that order.
    let f =
        b"$AVRMC,99999999,164339,a,4351.0542,N,07923.5445,W,0.29,78.66,180703,3,3.727,17,1,0,0*14";
    assert_eq!(
        ack(&dec().decode(f, &ctx()).unwrap()),
        b"$EAVACK,3,14*2D\r\n$AVCFG,00000000,d*31\r\n".as_slice()
    );
    // A configured password; geofence event 4.
    let mut opts = DecoderOptions::default();
    opts.options.insert("password".into(), "12345678".into());
    let f =
        b"$AVRMC,99999999,164339,A,4351.0542,N,07923.5445,W,0.29,78.66,180703,4,3.727,17,1,0,0*33";
    let out = LaipacDecoder::new(&opts)
        .unwrap()
        .decode(f, &ctx())
        .unwrap();
    assert_eq!(ack(&out), b"$AVCFG,12345678,x*25\r\n");
    assert_eq!(pos(&out).alarms, vec![Alarm::GeofenceExit]);
    // Plain report: no answer.
    let f = b"$AVRMC,MSG00002,124058,A,5053.0447,N,00557.8549,E,0.45,65.06,240614,0,4037,167,1,0,0,0D7AB913,020408*26";
    assert_eq!(dec().decode(f, &ctx()).unwrap().ack.accepted, None);
}

#[test]
fn keep_alive_echo_system_and_sim_info() {
    let mut d = dec();
    let out = d.decode(b"$ECHK,99999999,0*35", &ctx()).unwrap();
    assert_eq!(ack(&out), b"$ECHK,99999999,0*35\r\n");
    assert_eq!(d.device.as_ref().unwrap().as_str(), "99999999");
    let out = d
        .decode(b"$AVSYS,MSG00002,14406,7046811160,64*1A", &ctx())
        .unwrap();
    assert!(out.records.is_empty() && out.ack.accepted.is_none());
    assert_eq!(out.identity.unwrap().as_str(), "MSG00002");
    let out = d
        .decode(
            b"$EAVSYS,MSG00002,8931086013104404999,,Owner,0x52014406*76",
            &ctx(),
        )
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.attributes["iccid"],
        IoValue::Text("8931086013104404999".into())
    );
    assert_eq!(e.attributes["firmware"], IoValue::Text("0x52014406".into()));
    assert!(!e.attributes.contains_key("phone"));
    for junk in [
        &b"$XYZ,1*00"[..],
        b"AVRMC,1",
        b"$AVRMC,1,2*",
        b"$AVRMC,1*31",
        b"",
    ] {
        assert!(d.decode(junk, &ctx()).is_err(), "{junk:?}");
    }
}

#[test]
fn options_are_validated() {
    for (k, v) in [("x", "1"), ("password", ""), ("password", "has space")] {
        let mut opts = DecoderOptions::default();
        opts.options.insert(k.into(), v.into());
        assert_eq!(LaipacDecoder::new(&opts).unwrap_err().key, k);
    }
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let frames: Vec<Vec<u8>> = vec![
        b"$ECHK,99999999,0*35".to_vec(),
        b"$AVSYS,99999999,V1.50,SN0000103,32768*15".to_vec(),
    ];
    let bytes = [&frames[0][..], b"\r\n", &frames[1][..], b"\r\n"].concat();
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &frames);
}

proptest! {
    #[test]
    fn avrmc_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        odometer in 0u32..1_000_000,
        status in prop::sample::select(vec!['A', 'a', 'R', 'r', 'P', 'p', 'V', 'v']),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed),
            course: 12.5,
            odometer_m: f64::from(odometer) * 1000.0,
            ..Fix::default()
        };
        let s = encode::avrmc("358174067149865", &fix, status, '0', 3.9);
        let out = dec().decode(&s.as_bytes()[..s.len() - 2], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.006 * KNOT_KMH);
        prop_assert_eq!(p.valid, !matches!(status, 'V' | 'v'));
        prop_assert_eq!(p.odometer_m, Some(fix.odometer_m));
        prop_assert_eq!(out.ack.accepted.is_some(), status.is_ascii_lowercase());
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = LaipacDecoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 128), &bytes, 128, &ctx())?;
    }
}
