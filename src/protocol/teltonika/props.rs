//! Property tests: encode → frame → decode round trips for every uplink encoder, and
//! never-panic / never-over-consume / always-progress on arbitrary bytes.

use super::encode::{self, AvlRecord, IoData, IoElement};
use super::tests::{ctx, decoder, logged_in, opts, IMEI};
use super::*;
use crate::model::{Alarm, EventKind, IoValue, Position, Record};
use crate::protocol::{ChecksumPolicy, Decoder, FrameResult};
use bytes::BytesMut;
use proptest::prelude::*;

fn io_strategy(codec: Codec) -> impl Strategy<Value = Vec<IoElement>> {
    let max_id: u16 = if codec.wide_ids() { u16::MAX } else { 255 };
    let value = prop_oneof![
        any::<u8>().prop_map(IoData::U8),
        any::<u16>().prop_map(IoData::U16),
        any::<u32>().prop_map(IoData::U32),
        any::<u64>().prop_map(IoData::U64),
    ];
    let var = codec == Codec::C8Ext;
    let value = value.boxed();
    let value = if var {
        prop_oneof![
            value,
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(IoData::Var)
        ]
        .boxed()
    } else {
        value
    };
    // Ids unique per record, and away from the ids mapped to Position fields (and 78, the
    // iButton, which adds `driver_id`).
    proptest::collection::btree_map(0..=max_id, value, 0..8).prop_map(|m| {
        m.into_iter()
            .filter(|(id, _)| ![16, 66, 67, 78, 239].contains(id))
            .map(|(id, value)| IoElement { id, value })
            .collect()
    })
}

fn record_strategy(codec: Codec) -> impl Strategy<Value = AvlRecord> {
    let max_event: u16 = if codec.wide_ids() { u16::MAX } else { 255 };
    (
        0u64..4_102_444_800_000,
        0u8..3,
        -1_800_000_000i32..=1_800_000_000,
        -900_000_000i32..=900_000_000,
        any::<i16>(),
        0u16..360,
        any::<u8>(),
        any::<u16>(),
        0..=max_event,
        0u8..8,
        io_strategy(codec),
    )
        .prop_map(
            |(ts, pr, lon, lat, alt, angle, sats, speed, ev, gen, io)| AvlRecord {
                timestamp_ms: ts,
                priority: pr,
                lon_e7: lon,
                lat_e7: lat,
                altitude_m: alt,
                angle,
                satellites: sats,
                speed_kmh: speed,
                event_io: ev,
                generation_type: gen,
                io,
            },
        )
}

/// What decoding `r` must give, built from the record (not from the decoder).
fn check_round_trip(codec: Codec, r: &AvlRecord, p: &Position) {
    assert_eq!(p.fix_time.timestamp_millis() as u64, r.timestamp_ms);
    assert_eq!(p.lat, f64::from(r.lat_e7) / 1e7);
    assert_eq!(p.lon, f64::from(r.lon_e7) / 1e7);
    assert_eq!(p.altitude_m, f64::from(r.altitude_m));
    assert_eq!(p.course, f64::from(r.angle));
    assert_eq!(p.satellites, r.satellites);
    assert_eq!(p.valid, r.satellites != 0);
    assert_eq!(p.speed_kmh, f64::from(r.speed_kmh));
    assert_eq!(p.alarms.contains(&Alarm::Sos), r.priority == 2);
    assert_eq!(p.io.get("priority"), Some(&IoValue::Int(r.priority.into())));
    assert_eq!(p.io.get("event_io"), Some(&IoValue::Int(r.event_io.into())));
    if codec == Codec::C16 {
        let g = IoValue::Int(r.generation_type.into());
        assert_eq!(p.io.get("generation_type"), Some(&g));
    }
    for e in &r.io {
        let want = match &e.value {
            IoData::U8(v) => IoValue::Int((*v).into()),
            IoData::U16(v) => IoValue::Int((*v).into()),
            IoData::U32(v) => IoValue::Int((*v).into()),
            IoData::U64(v) => IoValue::Int(*v as i64),
            IoData::Var(v) => IoValue::Text(hex::encode(v)),
        };
        assert_eq!(
            p.io.get(&format!("io_{}", e.id)),
            Some(&want),
            "io {}",
            e.id
        );
    }
    let extra = usize::from(codec == Codec::C16) + 2;
    assert_eq!(p.io.len(), r.io.len() + extra);
}

fn packet_strategy() -> impl Strategy<Value = (Codec, Vec<AvlRecord>)> {
    prop_oneof![Just(Codec::C8), Just(Codec::C8Ext), Just(Codec::C16)]
        .prop_flat_map(|c| (Just(c), proptest::collection::vec(record_strategy(c), 1..5)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn tcp_round_trip((codec, records) in packet_strategy()) {
        let packet = encode::tcp_packet(codec, &records).unwrap();
        let mut d = logged_in();
        let mut buf = BytesMut::from(&packet[..]);
        let FrameResult::Frame(f) = d.frame(&mut buf) else { panic!("not framed") };
        prop_assert!(buf.is_empty());
        let out = d.decode(&f, &ctx()).unwrap();
        prop_assert_eq!(out.ack.accepted.as_deref(), Some(&(records.len() as u32).to_be_bytes()[..]));
        prop_assert_eq!(out.records.len(), records.len());
        for (r, rec) in records.iter().zip(&out.records) {
            let Record::Position(p) = rec else { panic!("{rec:?}") };
            check_round_trip(codec, r, p);
        }
    }

    #[test]
    fn udp_round_trip((codec, records) in packet_strategy(), pid in any::<u16>(), avl_id in any::<u8>()) {
        let dgram = encode::udp_datagram(pid, avl_id, IMEI, codec, &records).unwrap();
        let out = decoder().decode_datagram(&dgram, &ctx()).unwrap();
        let want = encode::udp_ack(pid, avl_id, records.len() as u8);
        prop_assert_eq!(out.ack.accepted.as_deref(), Some(&want[..]));
        prop_assert_eq!(out.identity.as_ref().map(|i| i.as_str()), Some(IMEI));
        for (r, rec) in records.iter().zip(&out.records) {
            let Record::Position(p) = rec else { panic!("{rec:?}") };
            check_round_trip(codec, r, p);
        }
    }

    #[test]
    fn command_reply_round_trip(text in "[ -~]{0,64}", ts in any::<u32>()) {
        let mut d = logged_in();
        for (packet, time) in [
            (encode::codec12_response(text.as_bytes()), None),
            (encode::codec13_response(ts, text.as_bytes()), Some(ts)),
        ] {
            let out = d.decode(&packet, &ctx()).unwrap();
            let [Record::Event(e)] = &out.records[..] else { panic!("{out:?}") };
            prop_assert_eq!(&e.kind, &EventKind::CommandResult { text: text.trim().to_string() });
            if let Some(ts) = time {
                prop_assert_eq!(e.time.timestamp(), i64::from(ts));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_always_progress(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        max_frame in 16usize..2048,
    ) {
        let o = DecoderOptions { max_frame, ..opts(ChecksumPolicy::Ignore) };
        let mut d = TeltonikaDecoder::new(&o).unwrap();
        let _ = d.decode_datagram(&bytes, &ctx());
        crate::protocol::test_util::random_bytes_invariants(&mut d, &bytes, max_frame, &ctx())?;
    }

    #[test]
    fn valid_packet_after_garbage_is_recovered(
        garbage in proptest::collection::vec(1u8..0xFF, 0..64),
        records in proptest::collection::vec(record_strategy(Codec::C8), 1..3),
    ) {
        // Garbage without 00/FF bytes cannot start a frame, so all of it is skipped.
        let packet = encode::tcp_packet(Codec::C8, &records).unwrap();
        let mut stream = garbage.clone();
        stream.extend_from_slice(&packet);
        let mut d = logged_in();
        let mut buf = BytesMut::from(&stream[..]);
        let mut skipped = 0;
        loop {
            match d.frame(&mut buf) {
                FrameResult::Skipped(n) => skipped += n,
                FrameResult::Frame(f) => {
                    prop_assert_eq!(&f[..], &packet[..]);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        prop_assert_eq!(skipped, garbage.len());
    }
}

fn gh3000_strategy() -> impl Strategy<Value = encode::Gh3000Record> {
    let fix = (
        -90.0f32..90.0,
        -180.0f32..180.0,
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(
            |(lat, lon, altitude_m, angle, speed_kmh, satellites)| encode::Gh3000Fix {
                lat,
                lon,
                altitude_m,
                angle,
                speed_kmh,
                satellites,
            },
        );
    let value = prop_oneof![
        any::<u8>().prop_map(IoData::U8),
        any::<u16>().prop_map(IoData::U16),
        any::<u32>().prop_map(IoData::U32),
    ];
    let io = proptest::collection::btree_map(0u16..=255, value, 0..6).prop_map(|m| {
        m.into_iter()
            .filter(|(id, _)| ![67, 222].contains(id))
            .map(|(id, value)| IoElement { id, value })
            .collect::<Vec<_>>()
    });
    (0u32..0x3fff_ffff, proptest::option::of(fix), io).prop_map(|(s, fix, io)| {
        encode::Gh3000Record {
            seconds_since_2007: s,
            fix,
            io,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn gh3000_round_trip(records in proptest::collection::vec(gh3000_strategy(), 1..4)) {
        let packet = encode::gh3000_packet(&records).unwrap();
        let mut d = logged_in();
        let mut buf = BytesMut::from(&packet[..]);
        let FrameResult::Frame(f) = d.frame(&mut buf) else { panic!("not framed") };
        let out = d.decode(&f, &ctx()).unwrap();
        prop_assert_eq!(out.kind.as_ref(), "codec 7 (gh3000)");
        prop_assert_eq!(out.ack.accepted.as_deref(), Some(&(records.len() as u32).to_be_bytes()[..]));
        for (r, rec) in records.iter().zip(&out.records) {
            let time = 1_167_609_600 + i64::from(r.seconds_since_2007);
            let want_io = |io: &std::collections::BTreeMap<String, IoValue>| {
                for e in &r.io {
                    let v = match e.value {
                        IoData::U8(v) => i64::from(v),
                        IoData::U16(v) => i64::from(v),
                        IoData::U32(v) => i64::from(v),
                        _ => unreachable!(),
                    };
                    assert_eq!(io.get(&format!("io_{}", e.id)), Some(&IoValue::Int(v)));
                }
            };
            match (r.fix, rec) {
                (Some(f), Record::Position(p)) => {
                    prop_assert_eq!(p.fix_time.timestamp(), time);
                    prop_assert_eq!(p.lat, f64::from(f.lat));
                    prop_assert_eq!(p.lon, f64::from(f.lon));
                    prop_assert_eq!(p.altitude_m, f64::from(f.altitude_m));
                    prop_assert_eq!(p.course, f64::from(f.angle) * 360.0 / 256.0);
                    prop_assert_eq!(p.speed_kmh, f64::from(f.speed_kmh));
                    prop_assert_eq!(p.valid, f.satellites > 0);
                    want_io(&p.io);
                }
                (None, Record::Event(e)) => {
                    prop_assert_eq!(e.time.timestamp(), time);
                    prop_assert_eq!(&e.kind, &EventKind::Info { name: "status".into() });
                    want_io(&e.attributes);
                }
                (fix, rec) => panic!("{fix:?} gave {rec:?}"),
            }
        }
    }
}
