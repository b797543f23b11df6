//! GT06 frame + decode throughput (frames/s) for the main location frames 0x12 and 0x22.
//!
//! Each iteration feeds a buffer of `N` coalesced frames through the framer and decodes every
//! frame through a logged-in decoder, as the ingest shell does on one connection.

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trackgate::protocol::gt06::encode::{self, Cell};
use trackgate::protocol::{find, DecodeCtx, Decoder, DecoderOptions, Fix, FrameResult};

const N: usize = 1000;

fn stream(frame: &[u8]) -> Vec<u8> {
    frame.repeat(N)
}

fn bench(c: &mut Criterion) {
    let fix = Fix {
        time: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap(),
        satellites: 9,
        lat: 54.94535,
        lon: 24.01762,
        speed_kmh: 63.0,
        course: 212.0,
        valid: true,
        ignition: true,
        odometer_m: 123_456.0,
        ..Fix::default()
    };
    let cell = Cell {
        mcc: 246,
        mnc: 1,
        lac: 110,
        cid: 0x0055DA,
    };
    let ctx = DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 1).unwrap(),
    };
    let login = encode::login("864717003283581", 1).unwrap();
    let cases = [
        (
            "location 0x12",
            stream(&encode::location_12(&fix, &cell, 7)),
        ),
        (
            "location 0x22",
            stream(&encode::location_22(&fix, &cell, 0, false, true, 7)),
        ),
    ];
    let mut g = c.benchmark_group("gt06 frame+decode");
    g.throughput(Throughput::Elements(N as u64));
    for (name, bytes) in cases {
        let mut dec: Box<dyn Decoder> = find("gt06")
            .unwrap()
            .new_decoder(&DecoderOptions::default())
            .unwrap();
        dec.decode(&login, &ctx).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut buf = BytesMut::from(&bytes[..]);
                let mut n = 0usize;
                while let FrameResult::Frame(f) = dec.frame(&mut buf) {
                    let out = dec.decode(&f, &ctx).unwrap();
                    n += out.records.len();
                    black_box(out);
                }
                assert_eq!(n, N);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
