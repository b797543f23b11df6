//! Unit tests: exact ACK bytes from the Teltonika wiki examples, error paths, framer
//! behaviour and stream splitting. Property tests live in `props.rs`.

use super::encode::{self, AvlRecord, IoData, IoElement};
use super::*;
use crate::model::{Alarm, EventKind, IoValue, Position, Record};
use crate::protocol::{ChecksumPolicy, DecodeCtx, DecodeError, Decoded, Decoder, FrameResult};
use bytes::BytesMut;
use chrono::{TimeZone, Utc};

/// Teltonika wiki "Codec 8, example 1": one record, no fix, IO 21=3, 1=1, 66=0x5E0F,
/// 241=0x601A, 78=0. The wiki's server answer is `00 00 00 01`.
pub(super) const WIKI_CODEC8: &str = "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF";
/// Teltonika wiki UDP example (packet id CAFE, AVL packet id 05); server answer `0005CAFE010501`.
const WIKI_UDP: &str = "003DCAFE0105000F33353230393330383634303336353508010000016B4F815B30010000000000000000000000000000000103021503010101425DBC000001";
/// Teltonika wiki codec 12 `getinfo` command, as the server sends it.
const WIKI_GETINFO: &str = "000000000000000F0C010500000007676574696E666F0100004312";
pub(super) const IMEI: &str = "352093086403655";

pub(super) fn ctx() -> DecodeCtx {
    DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    }
}

pub(super) fn opts(checksum: ChecksumPolicy) -> DecoderOptions {
    DecoderOptions {
        checksum,
        ..DecoderOptions::default()
    }
}

pub(super) fn decoder() -> TeltonikaDecoder {
    TeltonikaDecoder::new(&DecoderOptions::default()).unwrap()
}

pub(super) fn logged_in() -> TeltonikaDecoder {
    let mut d = decoder();
    d.decode(&encode::handshake(IMEI).unwrap(), &ctx()).unwrap();
    d
}

pub(super) fn h(s: &str) -> Vec<u8> {
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
    assert_eq!(p.io.get("driver_id"), None, "no iButton attached");
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
    assert_eq!(out.ack.refused, None, "UDP has no refusal message");
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
    assert!(TeltonikaDecoder::new(&o).unwrap().state.io16);
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
            IoElement {
                id: 78,
                value: IoData::U64(0x01A2_B3C4_D5E6_F708),
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
    assert_eq!(
        p.io.get("io_78"),
        Some(&IoValue::Int(0x01A2_B3C4_D5E6_F708))
    );
    assert_eq!(
        p.io.get("driver_id"),
        Some(&IoValue::Text("08F7E6D5C4B3A201".into())),
        "iButton bytes 01 a2 … 08 read little-endian, as Traccar shows them"
    );
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

pub(super) fn sample_record(i: u64) -> AvlRecord {
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
pub(super) fn feed(d: &mut TeltonikaDecoder, stream: &[u8], chunk: usize) -> Vec<Decoded> {
    crate::protocol::test_util::decode_pieces(d, stream.chunks(chunk.max(1)), &ctx())
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
