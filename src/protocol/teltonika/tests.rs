//! Unit tests: exact ACK bytes from the Teltonika wiki examples, error paths, framer
//! behaviour, encode→frame→decode round trips and never-panic properties.

use super::encode::{self, AvlRecord, IoData, IoElement};
use super::*;
use crate::model::{Alarm, EventKind, IoValue, Position, Record};
use crate::protocol::{ChecksumPolicy, DecodeCtx, DecodeError, Decoded, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// Teltonika wiki "Codec 8, example 1": one record, no fix, IO 21=3, 1=1, 66=0x5E0F,
/// 241=0x601A, 78=0. The wiki's server answer is `00 00 00 01`.
const WIKI_CODEC8: &str = "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF";
/// Teltonika wiki UDP example (packet id CAFE, AVL packet id 05); server answer `0005CAFE010501`.
const WIKI_UDP: &str = "003DCAFE0105000F33353230393330383634303336353508010000016B4F815B30010000000000000000000000000000000103021503010101425DBC000001";
/// Teltonika wiki codec 12 `getinfo` command, as the server sends it.
const WIKI_GETINFO: &str = "000000000000000F0C010500000007676574696E666F0100004312";
const IMEI: &str = "352093086403655";

fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

fn opts(checksum: ChecksumPolicy) -> DecoderOptions {
    DecoderOptions {
        checksum,
        ..DecoderOptions::default()
    }
}

fn decoder() -> TeltonikaDecoder {
    TeltonikaDecoder::new(&DecoderOptions::default()).unwrap()
}

fn logged_in() -> TeltonikaDecoder {
    let mut d = decoder();
    d.decode(&encode::handshake(IMEI).unwrap(), &ctx()).unwrap();
    d
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn only_position(d: &Decoded) -> &Position {
    match &d.records[..] {
        [Record::Position(p)] => p,
        other => panic!("expected one position, got {other:?}"),
    }
}

#[test]
fn handshake_acks_01_admitted_00_refused() {
    let mut d = decoder();
    let frame = h("000f333532303933303836343033363535");
    assert_eq!(encode::handshake(IMEI).unwrap(), frame);
    let out = d.decode(&frame, &ctx()).unwrap();
    assert_eq!(out.kind, "login");
    assert_eq!(out.identity.as_ref().unwrap().as_str(), IMEI);
    assert_eq!(out.ack.accepted.as_deref(), Some(&[0x01][..]));
    assert_eq!(out.ack.refused.as_deref(), Some(&[0x00][..]));
    assert!(out.records.is_empty());
    assert_eq!(d.device().unwrap().as_str(), IMEI);
}

#[test]
fn wiki_codec8_example_decodes_and_acks_one_record() {
    let mut d = logged_in();
    let out = d.decode(&h(WIKI_CODEC8), &ctx()).unwrap();
    assert_eq!(out.kind, "codec 8");
    assert_eq!(out.ack.accepted.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(out.ack.refused, None);
    assert_eq!(out.identity, None);
    let p = only_position(&out);
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2019, 6, 10, 10, 4, 46).unwrap()
    );
    assert_eq!(p.received, ctx().now);
    assert!(!p.valid, "0 satellites is not a fix");
    assert_eq!((p.lat, p.lon, p.speed_kmh), (0.0, 0.0, 0.0));
    assert_eq!(p.power_v, Some(24.079));
    assert_eq!(p.io.get("io_21"), Some(&IoValue::Int(3)));
    assert_eq!(p.io.get("io_1"), Some(&IoValue::Int(1)));
    assert_eq!(p.io.get("io_241"), Some(&IoValue::Int(0x601A)));
    assert_eq!(p.io.get("io_78"), Some(&IoValue::Int(0)));
    assert_eq!(p.io.get("priority"), Some(&IoValue::Int(1)));
    assert_eq!(p.io.get("event_io"), Some(&IoValue::Int(1)));
    assert!(p.alarms.is_empty());
}

#[test]
fn wiki_udp_example_echoes_packet_ids() {
    let mut d = decoder();
    let out = d.decode_datagram(&h(WIKI_UDP), &ctx()).unwrap();
    assert_eq!(out.identity.as_ref().unwrap().as_str(), IMEI);
    assert_eq!(out.ack.accepted.as_deref(), Some(&h("0005CAFE010501")[..]));
    assert_eq!(
        encode::udp_ack(0xCAFE, 0x05, 1).to_vec(),
        h("0005CAFE010501")
    );
    let p = only_position(&out);
    assert_eq!(p.power_v, Some(23.996));
    assert_eq!(
        p.fix_time,
        Utc.with_ymd_and_hms(2019, 6, 13, 6, 23, 26).unwrap()
    );
}

#[test]
fn ack_encoders_match_the_wiki() {
    assert_eq!(encode::records_ack(1), [0, 0, 0, 1]);
    assert_eq!(encode::records_ack(0x0102), [0, 0, 1, 2]);
    assert_eq!(encode::handshake_ack(true), [1]);
    assert_eq!(encode::handshake_ack(false), [0]);
    assert_eq!(encode::codec12_command("getinfo"), h(WIKI_GETINFO));
}

#[test]
fn avl_before_handshake_is_not_identified() {
    let mut d = decoder();
    let err = d.decode(&h(WIKI_CODEC8), &ctx()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::NotIdentified {
            msg: "codec 0x08".into()
        }
    );
}

#[test]
fn bad_crc_is_dropped_under_verify_and_decoded_under_ignore() {
    let mut bad = h(WIKI_CODEC8);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let err = logged_in().decode(&bad, &ctx()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Checksum {
            expected: 0xC730,
            computed: 0xC7CF
        }
    );
    assert!(err.is_checksum());
    let mut d = TeltonikaDecoder::new(&opts(ChecksumPolicy::Ignore)).unwrap();
    d.decode(&encode::handshake(IMEI).unwrap(), &ctx()).unwrap();
    let out = d.decode(&bad, &ctx()).unwrap();
    assert_eq!(out.records.len(), 1);
}

#[test]
fn n1_must_equal_n2() {
    let mut data = h(WIKI_CODEC8)[8..h(WIKI_CODEC8).len() - 4].to_vec();
    let last = data.len() - 1;
    data[last] = 2; // N2 = 2, N1 = 1
    let mut frame = vec![0, 0, 0, 0];
    frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
    frame.extend_from_slice(&data);
    frame.extend_from_slice(&u32::from(crate::protocol::wire::crc16_arc(&data)).to_be_bytes());
    let err = logged_in().decode(&frame, &ctx()).unwrap_err();
    assert!(err.to_string().contains("N2"), "{err}");
}

#[test]
fn unknown_codec_is_an_error_naming_it() {
    let frame = encode::codec12_response(b"x");
    let mut f = frame.clone();
    f[8] = 0x0F;
    let mut d = TeltonikaDecoder::new(&opts(ChecksumPolicy::Ignore)).unwrap();
    d.decode(&encode::handshake(IMEI).unwrap(), &ctx()).unwrap();
    let err = d.decode(&f, &ctx()).unwrap_err();
    assert!(err.to_string().contains("0x0f"), "{err}");
}

#[test]
fn keepalive_gets_no_answer_and_no_records() {
    let mut d = decoder();
    let mut buf = BytesMut::from(&[0xFF, 0x00][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(vec![0xFF].into()));
    let out = d.decode(&[0xFF], &ctx()).unwrap();
    assert_eq!(out.kind, "keepalive");
    assert_eq!(out.ack, Default::default());
    assert!(out.records.is_empty());
}

#[test]
fn command_replies_become_command_results_without_ack() {
    let mut d = logged_in();
    let out = d
        .decode(&encode::codec12_response(b"RTC:2019/7/22 7:22\r\n"), &ctx())
        .unwrap();
    assert_eq!(out.kind, "codec 12");
    assert_eq!(out.ack, Default::default());
    let [Record::Event(e)] = &out.records[..] else {
        panic!("{out:?}")
    };
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "RTC:2019/7/22 7:22".into()
        }
    );
    assert_eq!(e.time, ctx().now);
    let out = d
        .decode(
            &encode::codec13_response(1_600_000_000, &[1, 2, 0xff]),
            &ctx(),
        )
        .unwrap();
    let [Record::Event(e)] = &out.records[..] else {
        panic!("{out:?}")
    };
    assert_eq!(
        e.kind,
        EventKind::CommandResult {
            text: "0102ff".into()
        }
    );
    assert_eq!(e.time.timestamp(), 1_600_000_000);
}

#[test]
fn options_are_validated() {
    let mut o = DecoderOptions::default();
    o.options.insert("bogus".into(), "1".into());
    let err = TeltonikaDecoder::new(&o).err().unwrap();
    assert_eq!(
        err,
        crate::protocol::OptionsError::unknown("teltonika", "bogus")
    );
    let mut o = DecoderOptions::default();
    o.options.insert("io16".into(), "yes".into());
    assert!(TeltonikaDecoder::new(&o).is_err());
    o.options.insert("io16".into(), "true".into());
    assert!(TeltonikaDecoder::new(&o).unwrap().settings.io16);
}

#[test]
fn framer_skips_garbage_to_the_next_start_byte() {
    let mut d = decoder();
    let mut buf = BytesMut::from(&b"\x12\x34GARBAGE"[..]);
    buf.extend_from_slice(&h(WIKI_CODEC8));
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(9));
    assert_eq!(d.frame(&mut buf), FrameResult::Frame(h(WIKI_CODEC8).into()));
    assert!(buf.is_empty());
}

#[test]
fn framer_rejects_non_digit_imei_and_bad_preamble_early() {
    let mut d = decoder();
    // `00 0F` then a letter: not a handshake; skipped (up to the next 00/FF, here all 4
    // bytes) without waiting for 15 digits.
    let mut buf = BytesMut::from(&b"\x00\x0f3A"[..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(4));
    // `00 00 07`: not a preamble.
    let mut buf = BytesMut::from(&[0x00, 0x00, 0x07][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(1));
    // Partial preamble: wait.
    let mut buf = BytesMut::from(&[0x00, 0x00, 0x00][..]);
    assert_eq!(d.frame(&mut buf), FrameResult::NeedMore);
    assert_eq!(buf.len(), 3);
}

#[test]
fn framer_skips_oversized_packets_without_buffering_them() {
    // 1280-byte data limit of most FM devices + 12 bytes of envelope.
    let o = DecoderOptions {
        max_frame: 1292,
        ..DecoderOptions::default()
    };
    let mut d = TeltonikaDecoder::new(&o).unwrap();
    let mut buf = BytesMut::from(&[0, 0, 0, 0, 0, 0, 0x05, 0x01][..]); // data length 1281
    assert_eq!(d.frame(&mut buf), FrameResult::Skipped(8));
    assert!(buf.is_empty());
    let mut buf = BytesMut::from(&[0, 0, 0, 0, 0, 0, 0x05, 0x00][..]); // exactly 1280: wait
    assert_eq!(d.frame(&mut buf), FrameResult::NeedMore);
}

#[test]
fn panic_priority_is_sos_and_known_ios_map_to_fields() {
    let rec = AvlRecord {
        timestamp_ms: 1_700_000_000_123,
        priority: 2,
        lon_e7: -1_234_567_890,
        lat_e7: 456_789_012,
        altitude_m: -12,
        angle: 359,
        satellites: 7,
        speed_kmh: 88,
        event_io: 239,
        generation_type: 0,
        io: vec![
            IoElement {
                id: 239,
                value: IoData::U8(1),
            },
            IoElement {
                id: 16,
                value: IoData::U32(123_456),
            },
            IoElement {
                id: 67,
                value: IoData::U16(4_012),
            },
            IoElement {
                id: 66,
                value: IoData::U16(12_850),
            },
            IoElement {
                id: 200,
                value: IoData::U64(u64::MAX),
            },
        ],
    };
    let mut d = logged_in();
    let out = d
        .decode(&encode::tcp_packet(Codec::C8, &[rec]).unwrap(), &ctx())
        .unwrap();
    let p = only_position(&out);
    assert_eq!(p.alarms, vec![Alarm::Sos]);
    assert_eq!(p.ignition, Some(true));
    assert_eq!(p.odometer_m, Some(123_456.0));
    assert_eq!(p.battery_v, Some(4.012));
    assert_eq!(p.power_v, Some(12.85));
    assert_eq!(p.io.get("io_200"), Some(&IoValue::Int(-1)));
    assert!((p.lon - -123.456789).abs() < 1e-9 && (p.lat - 45.6789012).abs() < 1e-9);
    assert_eq!((p.altitude_m, p.course), (-12.0, 359.0));
    assert_eq!(p.fix_time.timestamp_millis(), 1_700_000_000_123);
}

#[test]
fn encoder_rejects_what_the_codec_cannot_carry() {
    let mut rec = sample_record(0);
    rec.io = vec![IoElement {
        id: 300,
        value: IoData::U8(1),
    }];
    assert!(encode::tcp_packet(Codec::C8, &[rec.clone()]).is_err());
    rec.io = vec![IoElement {
        id: 3,
        value: IoData::Var(vec![1]),
    }];
    assert!(encode::tcp_packet(Codec::C16, &[rec.clone()]).is_err());
    assert!(encode::tcp_packet(Codec::C12, &[rec]).is_err());
    assert!(encode::handshake("12a").is_err());
}

fn sample_record(i: u64) -> AvlRecord {
    AvlRecord {
        timestamp_ms: 1_600_000_000_000 + i * 1000,
        priority: 0,
        lon_e7: 250_000_000 + i as i32,
        lat_e7: 540_000_000 - i as i32,
        altitude_m: 100,
        angle: 90,
        satellites: 9,
        speed_kmh: 50,
        event_io: 0,
        generation_type: 0,
        io: vec![
            IoElement {
                id: 21,
                value: IoData::U8(4),
            },
            IoElement {
                id: 181,
                value: IoData::U16(12),
            },
        ],
    }
}

/// Frames every byte of `stream` with `d`, fed in pieces of `chunk` bytes, decoding each frame.
fn feed(d: &mut TeltonikaDecoder, stream: &[u8], chunk: usize) -> Vec<Decoded> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match d.frame(&mut buf) {
                FrameResult::Frame(f) => out.push(d.decode(&f, &ctx()).unwrap()),
                FrameResult::NeedMore => break,
                other => panic!("{other:?}"),
            }
        }
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn split_at_every_byte_or_coalesced_gives_the_same_records() {
    let mut stream = encode::handshake(IMEI).unwrap();
    stream.extend_from_slice(&encode::tcp_packet(Codec::C8, &[sample_record(1)]).unwrap());
    stream.push(0xFF);
    let recs: Vec<_> = (0..3).map(sample_record).collect();
    stream.extend_from_slice(&encode::tcp_packet(Codec::C8Ext, &recs).unwrap());
    stream.extend_from_slice(&h(WIKI_CODEC8));
    let whole = feed(&mut decoder(), &stream, stream.len());
    assert_eq!(whole.len(), 5);
    assert_eq!(whole[3].records.len(), 3);
    for split in 1..stream.len() {
        let mut d = decoder();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in [&stream[..split], &stream[split..]] {
            buf.extend_from_slice(piece);
            while let FrameResult::Frame(f) = d.frame(&mut buf) {
                got.push(d.decode(&f, &ctx()).unwrap());
            }
        }
        assert_eq!(got, whole, "split at {split}");
    }
    assert_eq!(feed(&mut decoder(), &stream, 1), whole);
}

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
    // Ids unique per record, and away from the ids mapped to Position fields.
    proptest::collection::btree_map(0..=max_id, value, 0..8).prop_map(|m| {
        m.into_iter()
            .filter(|(id, _)| ![16, 66, 67, 239].contains(id))
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
        let _ = d.decode(&bytes, &ctx());
        let mut buf = BytesMut::from(&bytes[..]);
        loop {
            let before = buf.len();
            match d.frame(&mut buf) {
                FrameResult::Frame(f) => {
                    prop_assert!(f.len() <= max_frame && !f.is_empty());
                    prop_assert_eq!(before - buf.len(), f.len());
                    let _ = d.decode(&f, &ctx());
                }
                FrameResult::Skipped(n) => {
                    prop_assert!(n > 0 && n <= before);
                    prop_assert_eq!(before - buf.len(), n);
                }
                FrameResult::NeedMore => {
                    prop_assert_eq!(buf.len(), before);
                    break;
                }
                FrameResult::Fatal(e) => panic!("fatal on garbage: {e}"),
            }
        }
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
        prop_assert_eq!(out.kind.as_str(), "codec 7 (gh3000)");
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
