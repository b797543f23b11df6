//! T55 unit tests: exact values from captured sentences (one per sentence family), the id
//! forms, the held RMC, the NMEA checksum, the optional `OK1` answer, stream robustness and
//! encode → decode round trips.

use super::encode;
use super::*;
use crate::model::IoValue;
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::wire::KNOT_KMH;
use crate::protocol::{Decoder, DecoderOptions, Fix};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> T55Decoder {
    T55Decoder::new(&DecoderOptions::default()).unwrap()
}

fn identified() -> T55Decoder {
    let mut d = dec();
    d.decode(b"$PGID,359853000144328*0F", &ctx()).unwrap();
    d
}

#[test]
fn id_lines_in_every_form() {
    for (line, id) in [
        (&b"$PGID,359853000144328*0F"[..], "359853000144328"),
        (b"$PSIWMDID,6Q5161694402B133*2F", "6Q5161694402B133"),
        (b"$DEVID,0x0103846677F21422*41", "0x0103846677F21422"),
        (b"$IMEI=355797031609284", "355797031609284"),
        (b"IMEI 351467108700000", "351467108700000"),
        (b"086415031C20", "086415031C20"),
        (b"$GPFID,ID123456ABC", "ID123456ABC"),
    ] {
        let mut d = dec();
        let out = d.decode(line, &ctx()).unwrap();
        assert_eq!(out.identity.as_ref().map(|i| i.as_str()), Some(id));
        assert!(out.records.is_empty() && out.ack.accepted.is_none());
        assert_eq!(d.device.as_ref().unwrap().as_str(), id);
    }
    // An id with a space cannot be a device id.
    assert!(dec()
        .decode(b"$PCPTI,CradlePoint Test,184453,184453.0,6F*57", &ctx())
        .is_err());
}

#[test]
fn rmc_values_in_knots_and_the_ok1_answer() {
    let f = b"$GPRMC,082350.000,A,5355.0314,N,01044.1271,E,26.20,184.27,080518,,";
    let out = identified().decode(f, &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None, "no answer by default");
    let p = pos(&out);
    assert_eq!(p.device.as_str(), "359853000144328");
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2018, 5, 8, 8, 23, 50).unwrap()
    );
    assert!((p.lat - (53.0 + 55.0314 / 60.0)).abs() < 1e-12);
    assert!((p.lon - (10.0 + 44.1271 / 60.0)).abs() < 1e-12);
    assert!((p.speed_kmh - 26.20 * KNOT_KMH).abs() < 1e-12);
    assert_eq!((p.course, p.valid), (184.27, true));
    let mut opts = DecoderOptions::default();
    opts.options.insert("ack".into(), "true".into());
    let mut d = T55Decoder::new(&opts).unwrap();
    d.decode(b"358244017671308", &ctx()).unwrap();
    let out = d.decode(f, &ctx()).unwrap();
    assert_eq!(out.ack.accepted.as_deref(), Some(b"OK1\r\n".as_slice()));
    let out = d.decode_datagram(f, &ctx()).unwrap();
    assert_eq!(out.ack.accepted, None, "never over UDP");
}

#[test]
fn rmc_tail_names_the_device_and_prefixes_too() {
    let f = b"$GPRMC,073446.000,A,1255.5125,N,07738.2948,E,0.00,0.53,080316,D*6F,11,865733027593268,1,090,086,123";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "865733027593268");
    let p = pos(&out);
    assert_eq!((p.satellites, p.ignition), (11, Some(true)));
    assert_eq!(p.io["fuel_level"], IoValue::Int(90));
    assert_eq!(p.io["io1"], IoValue::Text("123".into()));
    let f = b"4711/022789000688081/$GPRMC,133343,A,5308.56325,N,1029.12850,E,0.000000,0.000000,290316,,*2A";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "022789000688081");
    let p = pos(&out);
    assert!(
        (p.lon - (10.0 + 29.1285 / 60.0)).abs() < 1e-12,
        "2-digit degrees"
    );
    let f = b"123456789$GPRMC,155708.252,V,4610.1676,N,00606.4586,E,000.0,000.0,060214,,,N*76";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "123456789");
    assert!(!pos(&out).valid);
}

#[test]
fn an_rmc_before_its_id_is_held_until_gpfid() {
    let mut d = dec();
    let out = d
        .decode(
            b"$GPRMC,012006,A,4828.10,N,1353.52,E,0.00,0.00,180915,020.3,E*42",
            &ctx(),
        )
        .unwrap();
    assert!(out.records.is_empty() && out.identity.is_none());
    let out = d.decode(b"$GPFID,ID123456ABC", &ctx()).unwrap();
    let p = pos(&out);
    assert_eq!(p.device.as_str(), "ID123456ABC");
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2015, 9, 18, 1, 20, 6).unwrap()
    );
    assert!((p.lat - (48.0 + 28.10 / 60.0)).abs() < 1e-12);
    // Released once.
    assert!(d
        .decode(b"$GPFID,ID123456ABC", &ctx())
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn gga_gll_pubx_trccr_qze_values() {
    let mut d = identified();
    let p = pos(&d
        .decode(
            b"$GPGGA,082350.000,5355.0314,N,01044.1271,E,1,10,0.7,-46.0,M,0.0,M,0.0,0000",
            &ctx(),
        )
        .unwrap())
    .clone();
    // No date on the wire: the day nearest to now (2026-11-27 05:00) → the 27th, 08:23:50.
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2026, 11, 27, 8, 23, 50).unwrap()
    );
    assert_eq!((p.satellites, p.altitude_m, p.valid), (10, -46.0, true));
    assert_eq!(p.io["hdop"], IoValue::Float(0.7));
    let p = pos(&d
        .decode(
            b"$GNGLL,4650.5156500,N,01246.1059604,E,164414.90,A,A*77",
            &ctx(),
        )
        .unwrap())
    .clone();
    // 16:44 is 11 h 44 min after 05:00: still the same day.
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2026, 11, 27, 16, 44, 14).unwrap()
    );
    assert!((p.lon - (12.0 + 46.1059604 / 60.0)).abs() < 1e-12);
    // 20:00 is 15 h after 05:00 but 9 h before it: the day before.
    let gga = encode::gga(&Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap(),
        ..Fix::default()
    });
    let p = pos(&d.decode(&gga[..gga.len() - 2], &ctx()).unwrap()).clone();
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap()
    );
    let f = b"$PUBX,00,130209.00,3650.51159,N,01346.10602,E,785.947,D3,4.1,5.2,0.163,87.43,-0.054,7.0,0.88,1.21,0.88,24,01012,0*6B";
    let p = pos(&d.decode(f, &ctx()).unwrap()).clone();
    assert_eq!(
        (p.speed_kmh, p.course, p.altitude_m, p.satellites),
        (0.163, 87.43, 785.947, 24)
    );
    let f = b"$TRCCR,20140111000000.000,A,60.000000,60.000000,0.00,0.00,0.00,50,*3a";
    let p = pos(&d.decode(f, &ctx()).unwrap()).clone();
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2014, 1, 11, 0, 0, 0).unwrap()
    );
    assert_eq!((p.lat, p.lon), (60.0, 60.0));
    let f = b"QZE,868994033976700,35,28062020,113553,22.13673,114.57263,0,22,A,0";
    let out = dec().decode(f, &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "868994033976700");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2020, 6, 28, 11, 35, 53).unwrap()
    );
    assert_eq!(
        (p.lat, p.lon, p.course, p.ignition),
        (22.13673, 114.57263, 22.0, Some(false))
    );
    let out = dec()
        .decode(b"$GPTXT,NET,1003,A1,-53,232 01*77", &ctx())
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(e.attributes["rssi"], IoValue::Int(-53));
    assert_eq!(e.attributes["mcc"], IoValue::Int(232));
}

#[test]
fn checksums_verified_and_fixes_need_a_device() {
    let mut d = identified();
    let e = d
        .decode(
            b"$GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
            &ctx(),
        )
        .unwrap_err();
    assert!(e.is_checksum(), "{e}");
    let e = dec()
        .decode(
            b"$GPGGA,000000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4A",
            &ctx(),
        )
        .unwrap_err();
    assert!(matches!(e, DecodeError::NotIdentified { .. }), "{e}");
    for junk in [&b"$ID,1,2"[..], b"hello", b"$GPRMC,1,2", b"QZE,1", b""] {
        assert!(d.decode(junk, &ctx()).is_err(), "{junk:?}");
    }
}

#[test]
fn unknown_options_are_rejected() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("x".into(), "1".into());
    assert_eq!(T55Decoder::new(&opts).unwrap_err().key, "x");
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let frames: Vec<Vec<u8>> = vec![
        b"$PGID,123456789012345*0F".to_vec(),
        b"$GPRMC,120500.000,A,6000.0000,N,13000.0000,E,0.00,0.00,010112,,*33".to_vec(),
        b"358244017671308".to_vec(),
    ];
    let mut bytes = Vec::new();
    for (f, end) in frames.iter().zip([&b"\r\n"[..], b"\n", b"\r"]) {
        bytes.extend_from_slice(f);
        bytes.extend_from_slice(end);
    }
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &frames);
}

proptest! {
    #[test]
    fn rmc_and_gga_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0u16..300,
        valid in any::<bool>(),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: f64::from(speed),
            course: 12.5,
            altitude_m: 33.5,
            satellites: 7,
            hdop: 1.1,
            valid,
            ..Fix::default()
        };
        let mut d = dec();
        let id = encode::pgid("358244017671308");
        d.decode(&id[..id.len() - 2], &ctx()).unwrap();
        let rmc = encode::rmc(&fix);
        let out = d.decode(&rmc[..rmc.len() - 2], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - fix.speed_kmh).abs() < 0.001 * KNOT_KMH);
        prop_assert_eq!((p.course, p.valid), (12.5, valid));
        let gga = encode::gga(&fix);
        let out = d.decode(&gga[..gga.len() - 2], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert_eq!((p.altitude_m, p.satellites, p.valid), (33.5, 7, valid));
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = T55Decoder::new(&DecoderOptions { max_frame: 128, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 128), &bytes, 128, &ctx())?;
    }

    #[test]
    fn sentence_like_noise_never_panics(bytes in proptest::collection::vec(prop::sample::select(b"$GPRMCQZE,.*/AVNS0123456789\r".to_vec()), 0..300)) {
        let mut d = T55Decoder::new(&DecoderOptions { max_frame: 96, ..DecoderOptions::default() }).unwrap();
        test_util::cut_invariants(&mut d, |b| frame::cut(b, 96), &bytes, 96, &ctx())?;
    }
}
