//! Wialon IPS unit tests: the exact answers of the spec (`#AL#1`, `#ASD#1`, `#AD#1`,
//! `#AB#n`, `#AP#`), the 2.0 CRC, exact values from captured frames, stream robustness and
//! encode → decode round trips.

use super::encode;
use super::*;
use crate::model::{EventKind, IoValue, Record};
use crate::protocol::test_util::{self, ctx, position as pos};
use crate::protocol::{ChecksumPolicy, Decoder, DecoderOptions, Fix, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

fn dec() -> WialonDecoder {
    WialonDecoder::new(&DecoderOptions::default()).unwrap()
}

fn logged_in() -> WialonDecoder {
    let mut d = dec();
    d.decode(b"#L#123456789012345;test", &ctx()).unwrap();
    d
}

fn ack(out: &Decoded) -> &[u8] {
    out.ack.accepted.as_deref().unwrap_or_default()
}

#[test]
fn logins_1x_and_2_0_answer_al1_and_refuse_with_al0() {
    let mut d = dec();
    let out = d.decode(b"#L#123456789012345;test", &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "123456789012345");
    assert_eq!(ack(&out), b"#AL#1\r\n");
    assert_eq!(out.ack.refused.as_deref(), Some(b"#AL#0\r\n".as_slice()));
    assert!(out.records.is_empty());
    assert!(!d.state.v2);
    let login = encode::login("861230043907626", None, true);
    assert_eq!(&login[..], b"#L#2.0;861230043907626;NA;16C7\r\n");
    let mut d = dec();
    let out = d.decode(&login[..login.len() - 2], &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "861230043907626");
    assert_eq!(ack(&out), b"#AL#1\r\n");
    assert!(d.state.v2);
}

#[test]
fn a_bad_crc_is_a_checksum_error_unless_ignored() {
    // The captured 2.0 login: its IMEI was anonymised by hand, so the CRC is stale.
    let f = b"#L#2.0;42001300083;;CE45";
    let e = dec().decode(f, &ctx()).unwrap_err();
    assert!(e.is_checksum(), "{e}");
    let lenient = DecoderOptions {
        checksum: ChecksumPolicy::Ignore,
        ..DecoderOptions::default()
    };
    let out = WialonDecoder::new(&lenient)
        .unwrap()
        .decode(f, &ctx())
        .unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "42001300083");
    // A data packet whose CRC is right (captured), then the same with one digit changed.
    let mut d = logged_in();
    let good = b"#SD#300924;154245;5554.350052;N;3644.670410;E;2.92;NA;NA;NA;7A01";
    assert_eq!(ack(&d.decode(good, &ctx()).unwrap()), b"#ASD#1\r\n");
    let bad = b"#SD#300924;154245;5554.350052;N;3644.670410;E;2.93;NA;NA;NA;7A01";
    assert!(d.decode(bad, &ctx()).unwrap_err().is_checksum());
}

#[test]
fn short_data_values_and_answer() {
    let mut d = logged_in();
    let out = d
        .decode(
            b"#SD#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4",
            &ctx(),
        )
        .unwrap();
    assert_eq!(ack(&out), b"#ASD#1\r\n");
    let p = pos(&out);
    assert_eq!(p.device.as_str(), "123456789012345");
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2013, 4, 27, 20, 56, 1).unwrap()
    );
    assert!((p.lat - (55.0 + 44.6025 / 60.0)).abs() < 1e-12);
    assert!((p.lon - (37.0 + 39.6834 / 60.0)).abs() < 1e-12);
    assert_eq!(
        (p.speed_kmh, p.course, p.altitude_m, p.satellites, p.valid),
        (1.0, 2.0, 3.0, 4, true)
    );
    assert!(!p.historical);
    // South/west, a 4-digit longitude, 2 satellites (no 2-D fix).
    let out = d
        .decode(
            b"#SD#010112;000000;3346.4463;S;15057.3083;W;87.5;359;-4.5;2",
            &ctx(),
        )
        .unwrap();
    let p = pos(&out);
    assert!((p.lat + (33.0 + 46.4463 / 60.0)).abs() < 1e-12);
    assert!((p.lon + (150.0 + 57.3083 / 60.0)).abs() < 1e-12);
    assert_eq!((p.speed_kmh, p.altitude_m, p.valid), (87.5, -4.5, false));
}

#[test]
fn extended_data_with_crc_io_and_params() {
    let mut d = logged_in();
    let f = b"#D#220323;114150;2234.80479;N;11354.87786;E;0;NA;59;11;NA;NA;NA;;NA;d_battr:1:94,d_csq:1:21,di_light:1:1;E7C9";
    let out = d.decode(f, &ctx()).unwrap();
    assert_eq!(ack(&out), b"#AD#1\r\n");
    let p = pos(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2023, 3, 22, 11, 41, 50).unwrap()
    );
    assert!((p.lat - (22.0 + 34.80479 / 60.0)).abs() < 1e-12);
    assert_eq!((p.altitude_m, p.satellites), (59.0, 11));
    assert_eq!(p.io["di_light"], IoValue::Int(1));
    assert_eq!(p.io["d_battr"], IoValue::Int(94));
    assert!(!p.io.contains_key("hdop"));
    let f = b"#D#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4;0.0;0;0;14.77,0.02,3.6;NA;count1:1:564,fuel:2:45.8,hw:3:V4.5";
    let p = pos(&d.decode(f, &ctx()).unwrap()).clone();
    assert_eq!(p.io["hdop"], IoValue::Float(0.0));
    assert_eq!(p.io["input"], IoValue::Int(0));
    assert_eq!(p.io["adc1"], IoValue::Float(14.77));
    assert_eq!(p.io["adc3"], IoValue::Float(3.6));
    assert_eq!(p.io["count1"], IoValue::Int(564));
    assert_eq!(p.io["fuel"], IoValue::Float(45.8));
    assert_eq!(p.io["hw"], IoValue::Text("V4.5".into()));
}

#[test]
fn data_without_coordinates_is_a_params_event() {
    let mut d = logged_in();
    let out = d
        .decode(
            b"#D#NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA;;NA;SOS:1:0,temp:3:18,bat:3:99",
            &ctx(),
        )
        .unwrap();
    assert_eq!(ack(&out), b"#AD#1\r\n");
    let e = test_util::event(&out);
    assert_eq!(e.time, ctx().now, "NA date/time: the server sets the time");
    assert_eq!(
        e.kind,
        EventKind::Info {
            name: "params".into()
        }
    );
    assert_eq!(e.attributes["device_temp"], IoValue::Int(18));
    assert_eq!(e.attributes["battery_level"], IoValue::Int(99));
    assert_eq!(e.attributes["SOS"], IoValue::Int(0));
    let out = d
        .decode(
            b"#D#120319;112003;NA;NA;NA;NA;0.000;NA;NA;0;NA;NA;NA;NA;NA;motion:3:false",
            &ctx(),
        )
        .unwrap();
    let e = test_util::event(&out);
    assert_eq!(
        e.time,
        Utc.with_ymd_and_hms(2019, 3, 12, 11, 20, 3).unwrap()
    );
    assert_eq!(e.attributes["motion"], IoValue::Bool(false));
}

#[test]
fn black_box_stores_history_and_counts_what_it_stored() {
    let mut d = logged_in();
    let f = "#B#080914;073235;5027.50625;N;03026.19321;E;0.700;0.000;NA;4;NA;NA;NA;;NA;x:3:1|080914;073420;5027.50845;N;03026.18854;E;1.996;292.540;NA;4;NA;NA;NA;;NA;x:3:2";
    let out = d.decode(f.as_bytes(), &ctx()).unwrap();
    assert_eq!(ack(&out), b"#AB#2\r\n");
    assert_eq!(out.records.len(), 2);
    let Record::Position(p) = &out.records[1] else {
        panic!("position")
    };
    assert!(p.historical);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2014, 9, 8, 7, 34, 20).unwrap()
    );
    assert_eq!(p.course, 292.54);
    // One of three messages is malformed: two stored, `#AB#2`.
    let f = "#B#080914;073235;5027.50625;N;03026.19321;E;0;0;NA;4|bad|080914;073420;5027.50845;N;03026.18854;E;1;2;NA;4";
    assert_eq!(ack(&d.decode(f.as_bytes(), &ctx()).unwrap()), b"#AB#2\r\n");
    // 2.0 with its CRC.
    let fixes = [fix(1_700_000_000, true), fix(1_700_000_060, false)];
    let b = encode::black_box(&fixes, true);
    let out = d.decode(&b[..b.len() - 2], &ctx()).unwrap();
    assert_eq!(ack(&out), b"#AB#2\r\n");
    let mut bad = b[..b.len() - 2].to_vec();
    bad[5] ^= 1;
    assert!(d.decode(&bad, &ctx()).unwrap_err().is_checksum());
}

#[test]
fn ping_message_prefix_and_not_identified() {
    let mut d = dec();
    assert_eq!(ack(&d.decode(b"#P#", &ctx()).unwrap()), b"#AP#\r\n");
    let e = d
        .decode(
            b"#SD#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4",
            &ctx(),
        )
        .unwrap_err();
    assert!(matches!(e, DecodeError::NotIdentified { .. }), "{e}");
    // A device named in front of the packet (UDP form, some TCP firmwares).
    let out = d
        .decode(
            b"99999999#SD#270413;205601;5544.6025;N;03739.6834;E;1;2;3;4",
            &ctx(),
        )
        .unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), "99999999");
    assert_eq!(d.device.as_ref().unwrap().as_str(), "99999999");
    let out = d.decode(b"#M#hello base", &ctx()).unwrap();
    assert_eq!(ack(&out), b"#AM#1\r\n");
    assert_eq!(
        test_util::event(&out).attributes["text"],
        IoValue::Text("hello base".into())
    );
    for garbage in [
        &b"#X#1"[..],
        b"no hash",
        b"#SD#1;2",
        b"#I#10;1;1;NA;NA;a.jpg",
    ] {
        assert!(d.decode(garbage, &ctx()).is_err());
    }
}

#[test]
fn unknown_options_are_rejected() {
    let mut opts = DecoderOptions::default();
    opts.options.insert("x".into(), "1".into());
    assert_eq!(WialonDecoder::new(&opts).unwrap_err().key, "x");
}

#[test]
fn split_at_every_byte_and_coalesced() {
    let frames: Vec<Vec<u8>> = vec![
        b"#L#123456789012345;test".to_vec(),
        b"#SD#010112;123900;6000.0000;N;13000.0000;E;0;0;0;4".to_vec(),
        b"#P#".to_vec(),
    ];
    let mut bytes = Vec::new();
    for f in &frames {
        bytes.extend_from_slice(f);
        bytes.extend_from_slice(b"\r\n");
    }
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &frames);
}

#[test]
fn an_image_body_is_skipped_not_read_as_packets() {
    let mut bytes = b"#I#12;0;1;NA;NA;a.jpg;\r\n".to_vec();
    bytes.extend_from_slice(b"#P#\r\n#AB\n123");
    bytes.extend_from_slice(b"#P#\r\n");
    let want = vec![b"#I#12;0;1;NA;NA;a.jpg;".to_vec(), b"#P#".to_vec()];
    test_util::assert_splits_frame_alike(&mut dec(), &bytes, &want);
}

fn fix(t: i64, valid: bool) -> Fix {
    Fix {
        time: Utc.timestamp_opt(t, 0).unwrap(),
        lat: 55.74338,
        lon: -37.66139,
        speed_kmh: 42.5,
        course: 181.0,
        altitude_m: 120.5,
        satellites: if valid { 9 } else { 2 },
        hdop: 1.2,
        valid,
        ignition: true,
        ..Fix::default()
    }
}

/// The framer on arbitrary input: every call consumes between one byte and everything
/// buffered (or waits holding less than `max_frame`), never fails fatally, and decoding a
/// cut frame never panics.
fn stream_invariants(bytes: &[u8], max_frame: usize) -> Result<(), TestCaseError> {
    let mut d = WialonDecoder::new(&DecoderOptions {
        max_frame,
        ..DecoderOptions::default()
    })
    .unwrap();
    let mut buf = BytesMut::from(bytes);
    for _ in 0..=bytes.len() {
        let before = buf.len();
        match d.frame(&mut buf) {
            FrameResult::Frame(f) => {
                prop_assert!(!f.is_empty() && f.len() <= max_frame);
                prop_assert!(buf.len() < before);
                let _ = d.decode(&f, &ctx());
            }
            FrameResult::Skipped(n) => prop_assert!(n > 0 && buf.len() + n == before),
            FrameResult::NeedMore => {
                prop_assert_eq!(buf.len(), before);
                prop_assert!(before < max_frame);
                break;
            }
            FrameResult::Fatal(e) => prop_assert!(false, "fatal {}", e),
        }
    }
    let _ = d.decode(bytes, &ctx());
    Ok(())
}

proptest! {
    #[test]
    fn data_round_trip(
        t in 946_684_800i64..4_102_444_799,
        lat in -89.9f64..89.9,
        lon in -179.9f64..179.9,
        speed in 0.0f64..300.0,
        course in 0u16..360,
        sats in 0u8..30,
        v2 in any::<bool>(),
        extended in any::<bool>(),
    ) {
        let fix = Fix {
            time: Utc.timestamp_opt(t, 0).unwrap(),
            lat, lon,
            speed_kmh: speed,
            course: course.into(),
            altitude_m: -12.5,
            satellites: sats,
            hdop: 0.9,
            ..Fix::default()
        };
        let bytes = if extended { encode::data(&fix, "fuel:2:45.8", v2) } else { encode::short_data(&fix, v2) };
        let mut d = logged_in();
        let out = d.decode(&bytes[..bytes.len() - 2], &ctx()).unwrap();
        let p = pos(&out);
        prop_assert_eq!(p.fix_time, fix.time);
        prop_assert!((p.lat - lat).abs() < 2e-6 && (p.lon - lon).abs() < 2e-6);
        prop_assert!((p.speed_kmh - speed).abs() < 0.006);
        prop_assert_eq!(p.course, f64::from(course));
        prop_assert_eq!(p.altitude_m, -12.5);
        prop_assert_eq!(p.satellites, sats);
        prop_assert_eq!(p.valid, sats >= 3);
        if extended {
            prop_assert_eq!(&p.io["fuel"], &IoValue::Float(45.8));
        }
    }

    #[test]
    fn random_bytes_never_panic_overconsume_or_stall(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        stream_invariants(&bytes, 128)?;
    }

    #[test]
    fn packet_like_noise_never_panics(bytes in proptest::collection::vec(prop::sample::select(b"#LSDBPMI;|:.NA0123456789\r\n".to_vec()), 0..300)) {
        stream_invariants(&bytes, 96)?;
    }
}
