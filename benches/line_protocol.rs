//! Line-protocol encoding throughput: realistic positions (7 IO elements, 1 in 20 with an
//! alarm) and device events into one `LineBatch`, the way `InfluxSink::write_records` does.
//! Target: ≥ 200k points/s on one core.
//!
//! `cargo bench --bench line_protocol`

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use trackgate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use trackgate::sinks::influx::LineBatch;

const POINTS: usize = 5000;

fn records() -> Vec<Record> {
    let base = Utc.with_ymd_and_hms(2026, 11, 27, 5, 0, 0).unwrap();
    (0..POINTS)
        .map(|i| {
            let dev = DeviceId::new(format!("35{:013}", i % 500)).unwrap();
            let t = base + chrono::Duration::seconds(i as i64);
            if i % 50 == 49 {
                return Record::Event(DeviceEvent::new(dev, "gt06", t, EventKind::Heartbeat));
            }
            let mut p = Position::new(
                dev,
                "teltonika",
                t,
                t,
                52.52 + i as f64 * 1e-5,
                13.405,
                true,
            );
            p.speed_kmh = 42.5;
            p.course = 271.0;
            p.altitude_m = 34.0;
            p.satellites = 11;
            p.ignition = Some(true);
            p.odometer_m = Some(1_234_567.0 + i as f64);
            p.power_v = Some(12.61);
            p.battery_v = Some(4.08);
            p.io.insert("io_239".into(), IoValue::Int(1));
            p.io.insert("io_240".into(), IoValue::Int(1));
            p.io.insert("io_21".into(), IoValue::Int(4));
            p.io.insert("io_69".into(), IoValue::Int(1));
            p.io.insert("io_16".into(), IoValue::Int(123_456 + i as i64));
            p.io.insert("rssi".into(), IoValue::Int(-71));
            p.io.insert("iccid".into(), IoValue::Text("8931440400012345678".into()));
            if i % 20 == 0 {
                p.alarms.push(Alarm::Overspeed);
            }
            Record::Position(p)
        })
        .collect()
}

fn encode(c: &mut Criterion) {
    let recs = records();
    let mut g = c.benchmark_group("line_protocol");
    g.throughput(Throughput::Elements(POINTS as u64));
    g.bench_function("encode_5000_records", |b| {
        b.iter_batched(
            || LineBatch::with_capacity(POINTS),
            |mut batch| {
                for r in &recs {
                    batch.push_record(black_box(r));
                }
                black_box(batch)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
