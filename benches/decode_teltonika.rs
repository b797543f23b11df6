//! Teltonika frame + decode throughput: codec 8 and 8 Extended packets with 1 and 12
//! records, typical FMB IO sets. Reported per packet (frames/s) and per record (records/s).
//! 12 records is about the most that fits the 1280-byte AVL packet limit of FM devices with
//! this IO set (8E: ~105 bytes per record).

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use trackgate::protocol::teltonika::{encode, AvlRecord, Codec, IoData, IoElement};
use trackgate::protocol::{find, DecodeCtx, Decoder, DecoderOptions, FrameResult};

/// A record shaped like an FMB920 periodic report: 6 × 1-byte, 4 × 2-byte, 2 × 4-byte IOs.
fn record(i: u64, codec: Codec) -> AvlRecord {
    let mut io = vec![
        IoElement {
            id: 239,
            value: IoData::U8(1),
        },
        IoElement {
            id: 240,
            value: IoData::U8(1),
        },
        IoElement {
            id: 21,
            value: IoData::U8(4),
        },
        IoElement {
            id: 200,
            value: IoData::U8(0),
        },
        IoElement {
            id: 69,
            value: IoData::U8(1),
        },
        IoElement {
            id: 1,
            value: IoData::U8(0),
        },
        IoElement {
            id: 181,
            value: IoData::U16(9),
        },
        IoElement {
            id: 182,
            value: IoData::U16(7),
        },
        IoElement {
            id: 66,
            value: IoData::U16(12_850),
        },
        IoElement {
            id: 67,
            value: IoData::U16(4_012),
        },
        IoElement {
            id: 16,
            value: IoData::U32(1_234_567 + i as u32),
        },
        IoElement {
            id: 241,
            value: IoData::U32(24_602),
        },
    ];
    if codec == Codec::C8Ext {
        io.push(IoElement {
            id: 256,
            value: IoData::Var(b"WVWZZZ1JZXW000001".to_vec()),
        });
    }
    AvlRecord {
        timestamp_ms: 1_700_000_000_000 + i * 10_000,
        priority: 0,
        lon_e7: 253_000_000 + i as i32 * 100,
        lat_e7: 546_000_000 + i as i32 * 100,
        altitude_m: 120,
        angle: 270,
        satellites: 11,
        speed_kmh: 63,
        event_io: 0,
        generation_type: 0,
        io,
    }
}

fn bench(c: &mut Criterion) {
    let ctx = DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    };
    let proto = find("teltonika").unwrap();
    let handshake = encode::handshake("356307042441013").unwrap();
    let mut group = c.benchmark_group("teltonika");
    for codec in [Codec::C8, Codec::C8Ext] {
        for n in [1u64, 12] {
            let records: Vec<_> = (0..n).map(|i| record(i, codec)).collect();
            let packet = encode::tcp_packet(codec, &records).unwrap();
            let mut dec: Box<dyn Decoder> = proto.new_decoder(&DecoderOptions::default()).unwrap();
            dec.decode(&handshake, &ctx).unwrap();
            let name = format!("{}_x{n}", codec.label().replace(' ', ""));
            // frames/s
            group.throughput(Throughput::Elements(1));
            group.bench_function(format!("{name}/frames"), |b| {
                b.iter_batched(
                    || BytesMut::from(&packet[..]),
                    |mut buf| run(dec.as_mut(), &mut buf, &ctx),
                    BatchSize::SmallInput,
                )
            });
            // records/s
            group.throughput(Throughput::Elements(n));
            group.bench_function(format!("{name}/records"), |b| {
                b.iter_batched(
                    || BytesMut::from(&packet[..]),
                    |mut buf| run(dec.as_mut(), &mut buf, &ctx),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

fn run(dec: &mut dyn Decoder, buf: &mut BytesMut, ctx: &DecodeCtx) -> usize {
    let FrameResult::Frame(f) = dec.frame(buf) else {
        panic!("not framed")
    };
    let d = dec.decode(&f, ctx).unwrap();
    black_box(d.records.len())
}

criterion_group!(benches, bench);
criterion_main!(benches);
