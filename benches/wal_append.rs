//! Write-ahead log append benchmarks.
//!
//! 1. Criterion: append + fsync throughput (records/s) with 1, 16 and 128 concurrent
//!    appenders, ~200-byte records, one record per append, `group_commit_wait` 0 and 2 ms.
//! 2. A timed open-loop run printed after Criterion: ACK latency p50/p99 at 1k and 10k
//!    records/s offered load (default options, 2 ms group-commit wait).
//!
//! The log lives in `WAL_BENCH_DIR` if set, else the system temp dir: fsync cost is a
//! property of that disk.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use trackgate::pipeline::wal::{Wal, WalOptions};

const RECORD_BYTES: usize = 200;

fn temp_dir() -> tempfile::TempDir {
    match std::env::var_os("WAL_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("bench dir"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn record() -> Bytes {
    Bytes::from(vec![0x5au8; RECORD_BYTES])
}

/// `total` appends spread over `appenders` tasks; returns the elapsed time.
async fn run_appends(wal: &Wal, appenders: usize, total: usize) -> Duration {
    let per = total.div_ceil(appenders);
    let start = Instant::now();
    let tasks: Vec<_> = (0..appenders)
        .map(|_| {
            let wal = wal.clone();
            tokio::spawn(async move {
                for _ in 0..per {
                    wal.append(vec![record()]).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("wal_append_fsync");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(4));
    for wait_ms in [0u64, 2] {
        for appenders in [1usize, 16, 128] {
            let dir = temp_dir();
            let opts = WalOptions {
                group_commit_wait: Duration::from_millis(wait_ms),
                ..WalOptions::default()
            };
            let wal = Wal::open(dir.path(), opts).expect("open");
            // Enough appends per iteration that every appender waits on several fsyncs.
            let per_iter = (appenders * 8).max(64);
            group.throughput(Throughput::Elements(per_iter as u64));
            let id = BenchmarkId::new(format!("wait_{wait_ms}ms"), appenders);
            group.bench_with_input(id, &appenders, |b, &n| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += run_appends(&wal, n, per_iter).await;
                        }
                        total
                    })
                })
            });
            let m = wal.metrics();
            println!(
                "  appenders={appenders} wait={wait_ms}ms: {} records in {} fsyncs ({:.1} records/fsync)",
                m.records.get(),
                m.fsyncs.get(),
                m.records.get() as f64 / m.fsyncs.get().max(1) as f64
            );
        }
    }
    group.finish();
}

/// Open-loop load: every 1 ms tick issues `rate / 1000` appends, each timed from issue to
/// ACK, for `secs` seconds. Returns sorted latencies.
async fn offered_load(wal: &Wal, rate: u64, secs: u64) -> Vec<Duration> {
    let per_tick = (rate / 1000).max(1);
    let ticks = secs * 1000;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..ticks {
        interval.tick().await;
        for _ in 0..per_tick {
            let wal = wal.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let ok = wal.append(vec![record()]).await.is_ok();
                let _ = tx.send((ok, t.elapsed()));
            });
        }
    }
    drop(tx);
    let mut lat = Vec::new();
    while let Some((ok, d)) = rx.recv().await {
        assert!(ok, "append failed under load");
        lat.push(d);
    }
    lat.sort();
    lat
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn latency_report() {
    let rt = runtime();
    println!("\nwal ACK latency under offered load (group_commit_wait = 2 ms, 200-byte records)");
    for rate in [1_000u64, 10_000] {
        let dir = temp_dir();
        let wal = Wal::open(dir.path(), WalOptions::default()).expect("open");
        let secs = 3;
        let started = Instant::now();
        let lat = rt.block_on(offered_load(&wal, rate, secs));
        let achieved = lat.len() as f64 / started.elapsed().as_secs_f64();
        let m = wal.metrics();
        println!(
            "  offered {rate:>6}/s: achieved {achieved:>8.0}/s  n={}  p50={:?}  p99={:?}  max={:?}  fsyncs={} ({:.1} records/fsync)",
            lat.len(),
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            lat.last().copied().unwrap_or_default(),
            m.fsyncs.get(),
            m.records.get() as f64 / m.fsyncs.get().max(1) as f64
        );
    }
}

criterion_group!(benches, throughput);

fn main() {
    benches();
    // Only under `cargo bench` (which passes --bench), not in `cargo test --benches` smoke
    // runs; WAL_BENCH_NO_LATENCY=1 skips it.
    let benching = std::env::args().any(|a| a == "--bench");
    if benching && std::env::var_os("WAL_BENCH_NO_LATENCY").is_none() {
        latency_report();
    }
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
