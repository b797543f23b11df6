//! Frame + decode throughput (frames/s) of the main position frame of each text protocol of
//! part "text2": Queclink GTFRI, Meitrack AAA, Suntech ST300STT, watch UD.
//!
//! Each iteration feeds a buffer of `N` coalesced frames through the framer and decodes every
//! frame through one decoder, as the ingest shell does on one connection.

use bytes::BytesMut;
use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trackgate::protocol::{
    find, gl200, meitrack, suntech, watch, DecodeCtx, Decoder, DecoderOptions, Fix, FrameResult,
};

const N: usize = 1000;

fn bench(c: &mut Criterion) {
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap();
    let ctx = DecodeCtx { now: t };
    let gl = gl200::encode::fri(
        "060100",
        "135790246811220",
        &Fix {
            time: t,
            lat: 31.222073,
            lon: 121.354335,
            speed_kmh: 4.3,
            course: 92.0,
            altitude_m: 70.0,
            hdop: 1.0,
            valid: true,
            ..Fix::default()
        },
        80,
        t,
        0x11F0,
        false,
    );
    let mt = meitrack::encode::aaa(
        b'A',
        "861074020109479",
        &Fix {
            time: t,
            lat: 22.512618,
            lon: 114.057065,
            valid: true,
            satellites: 9,
            speed_kmh: 40.0,
            course: 90.0,
            altitude_m: 30.0,
            odometer_m: 1000.0,
            ..Fix::default()
        },
        &meitrack::encode::Report {
            event: 35,
            battery_v: 4.1,
            power_v: 12.6,
        },
    );
    let st = suntech::encode::st300_stt(
        "907131077",
        &Fix {
            time: t,
            lat: -12.96349,
            lon: -38.499587,
            speed_kmh: 50.5,
            course: 10.0,
            satellites: 8,
            valid: true,
            odometer_m: 57095.0,
            ignition: true,
            ..Fix::default()
        },
        12.5,
        337,
    );
    let wa = watch::encode::position(
        "SG",
        "8800000015",
        "UD",
        &Fix {
            time: t,
            valid: true,
            lat: 22.571707,
            lon: 113.861396,
            speed_kmh: 3.5,
            course: 0.0,
            altitude_m: 100.0,
            satellites: 7,
            ..Fix::default()
        },
        90,
        0,
    );
    let cases = [
        ("gl200", "GTFRI", gl),
        ("meitrack", "AAA", mt),
        ("suntech", "ST300STT", st),
        ("watch", "UD", wa),
    ];
    let mut g = c.benchmark_group("text2 frame+decode");
    g.throughput(Throughput::Elements(N as u64));
    for (proto, name, frame) in cases {
        let bytes = frame.repeat(N);
        let mut dec: Box<dyn Decoder> = find(proto)
            .unwrap()
            .new_decoder(&DecoderOptions::default())
            .unwrap();
        g.bench_function(format!("{proto} {name}"), |b| {
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
