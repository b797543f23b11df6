//! Frames per second of the main position frame of each text protocol (h02 V1 text and
//! 32-byte binary, gps103 `tracker`, tk103 `BR00`): frame + decode, one decoder per protocol.

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trackgate::protocol::{find, DecodeCtx, DecoderOptions, FrameResult};

const FRAMES: &[(&str, &str, &[u8])] = &[
    (
        "h02",
        "V1 text",
        b"*HQ,4970105243,V1,104000,A,2235.1777,N,11357.8913,E,000.27,235,130721,FFFFFBFF,460,11,d18e105,7752,6#",
    ),
    (
        "h02",
        "binary 32",
        b"\x24\x41\x06\x01\x16\x60\x12\x45\x43\x13\x11\x16\x50\x35\x31\x30\x06\x00\x43\x18\x21\x0e\x00\x00\x00\xff\xff\xfb\xff\xff\x00\x24",
    ),
    (
        "gps103",
        "tracker",
        b"imei:359710049092324,tracker,151027025958,,F,235957.000,A,2429.5156,N,04424.5828,E,0.01,27.91,,0,0,,,;",
    ),
    (
        "tk103",
        "BR00",
        b"(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)",
    ),
];

fn bench(c: &mut Criterion) {
    let ctx = DecodeCtx {
        now: Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap(),
    };
    let mut g = c.benchmark_group("decode_text1");
    g.throughput(Throughput::Elements(1));
    for &(proto, what, frame) in FRAMES {
        let mut dec = find(proto)
            .unwrap()
            .new_decoder(&DecoderOptions::default())
            .unwrap();
        let mut buf = BytesMut::with_capacity(256);
        g.bench_function(format!("{proto} {what}"), |b| {
            b.iter(|| {
                buf.extend_from_slice(frame);
                let FrameResult::Frame(f) = dec.frame(&mut buf) else {
                    panic!("no frame")
                };
                black_box(dec.decode(&f, &ctx).unwrap());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
