//! JT/T 808 frame + decode throughput (frames/s) for 0x0200 location reports: a minimal one
//! (one additional item) and an OBD-rich one (14 items including `$OBD-RT` text), both real
//! frames from Traccar's tests, plus encoder-built frames with escapes.

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use trackgate::protocol::{jt808::Jt808, DecodeCtx, DecoderOptions, FrameResult, Protocol};

const SMALL: &str =
    "7e0200001f01207646327900400000000000006002015c7ab706d20469003b0000000025040216362606013e6b7e";
const OBD: &str = "7e0200009e017721028890061b00000000004c000301d9f2d4073ca28d002b01c2000024011017260501040000023c3001193101162504000000001404000000011504000000041604000000001702000018030000002b0400000000e10400735443e20400001211e30a4e61747572654c696e6be635244f42442d52542c2c35352e3030302c3130332e37382c2c302e302c342c2c2c2c302e3030302c2c31323336302e32382c2c2c0d0aa27e";
/// Frames per benchmark iteration, coalesced in one buffer as a busy connection delivers them.
const BATCH: usize = 1000;

fn bench(c: &mut Criterion) {
    let ctx = DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap(),
    };
    let mut group = c.benchmark_group("jt808_frame_decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, frame) in [("0x0200_small", SMALL), ("0x0200_obd", OBD)] {
        let one = hex::decode(frame).unwrap();
        let stream: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * BATCH)
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(name), &stream, |b, stream| {
            b.iter(|| {
                let mut d = Jt808.new_decoder(&DecoderOptions::default()).unwrap();
                let mut buf = BytesMut::from(&stream[..]);
                let mut n = 0;
                while let FrameResult::Frame(f) = d.frame(&mut buf) {
                    n += d.decode(&f, &ctx).unwrap().records.len();
                }
                assert_eq!(n, BATCH);
                black_box(n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
