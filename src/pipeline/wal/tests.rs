//! Behaviour tests of the whole log against a temp directory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;

const T0: u64 = 1_700_000_000_000;

struct Env {
    dir: tempfile::TempDir,
    now: Arc<AtomicU64>,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            now: Arc::new(AtomicU64::new(T0)),
        }
    }
    fn open(&self, opts: WalOptions) -> Wal {
        let now = self.now.clone();
        Wal::open_with_clock(
            self.dir.path(),
            opts,
            Arc::new(move || now.load(Ordering::SeqCst)),
        )
        .unwrap()
    }
    fn last_segment(&self) -> std::path::PathBuf {
        let firsts = segment::list_segments(self.dir.path()).unwrap();
        segment::segment_path(self.dir.path(), *firsts.last().unwrap())
    }
}

fn fast() -> WalOptions {
    WalOptions {
        group_commit_wait: Duration::ZERO,
        ..WalOptions::default()
    }
}

fn small(segment: u64, cap: u64) -> WalOptions {
    WalOptions {
        segment_bytes: segment,
        max_total_bytes: cap,
        ..fast()
    }
}

fn recs(items: &[&str]) -> Vec<Bytes> {
    items
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

async fn read_all(wal: &Wal, from: u64) -> Vec<WalRecord> {
    let mut r = wal.reader(from);
    let mut out = Vec::new();
    loop {
        let b = r.try_next_batch(1000).await.unwrap();
        if b.is_empty() {
            return out;
        }
        out.extend(b);
    }
}

#[tokio::test]
async fn append_and_read_back_exactly() {
    let env = Env::new();
    let wal = env.open(fast());
    let a = wal.append(recs(&["a", "bb"])).await.unwrap();
    assert_eq!(
        a,
        Appended {
            first: 0,
            last: 1,
            timestamp_ms: T0
        }
    );
    env.now.store(T0 + 5, Ordering::SeqCst);
    let b = wal.append(recs(&["ccc"])).await.unwrap();
    assert_eq!(
        b,
        Appended {
            first: 2,
            last: 2,
            timestamp_ms: T0 + 5
        }
    );
    // The clock going backwards never makes stored timestamps decrease.
    env.now.store(T0 - 1_000, Ordering::SeqCst);
    let c = wal.append(recs(&["d"])).await.unwrap();
    assert_eq!(c.timestamp_ms, T0 + 5);

    let got = read_all(&wal, 0).await;
    let want = [
        (0, T0, "a"),
        (1, T0, "bb"),
        (2, T0 + 5, "ccc"),
        (3, T0 + 5, "d"),
    ];
    assert_eq!(got.len(), want.len());
    for (g, (o, t, d)) in got.iter().zip(want) {
        assert_eq!(
            (g.offset, g.timestamp_ms, &g.data[..]),
            (o, t, d.as_bytes())
        );
    }
    // Reading from the middle, with a batch limit smaller than a frame.
    let mut r = wal.reader(1);
    let first = r.next_batch(1).await.unwrap();
    assert_eq!(first.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![1]);
    let rest = r.next_batch(10).await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(r.take_gap(), None);
    assert_eq!(wal.metrics().records.get(), 4);
    assert_eq!(wal.metrics().appends.get(), 3);
}

#[tokio::test]
async fn empty_and_oversized_batches_are_refused() {
    let env = Env::new();
    let wal = env.open(small(4096, 8192));
    assert!(matches!(
        wal.append(vec![]).await,
        Err(WalError::EmptyBatch)
    ));
    let big = vec![Bytes::from(vec![0u8; 4096])];
    match wal.append(big).await {
        Err(WalError::BatchTooLarge { bytes, limit }) => {
            assert_eq!((bytes, limit), (4096 + 36, 4096))
        }
        other => panic!("unexpected {other:?}"),
    }
    // Nothing was written, the sequence is untouched.
    assert_eq!(wal.append(recs(&["x"])).await.unwrap().first, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_shares_fsyncs() {
    let env = Env::new();
    let wal = env.open(WalOptions {
        group_commit_wait: Duration::from_millis(50),
        ..WalOptions::default()
    });
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let w = wal.clone();
            tokio::spawn(async move { w.append(recs(&[&format!("r{i}")])).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let fsyncs = wal.metrics().fsyncs.get();
    assert_eq!(wal.metrics().records.get(), 64);
    assert!(
        (1..64 / 4).contains(&fsyncs),
        "fsyncs {fsyncs} for 64 records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appenders_get_disjoint_offsets_and_their_own_data() {
    let env = Env::new();
    let wal = env.open(small(16 << 10, 1 << 20));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let w = wal.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..40 {
                    let batch = recs(&[
                        &format!("{t}-{i}-0"),
                        &format!("{t}-{i}-1"),
                        &format!("{t}-{i}-2"),
                    ]);
                    let a = w.append(batch).await.unwrap();
                    assert_eq!(a.last, a.first + 2);
                    got.push((a.first, format!("{t}-{i}")));
                }
                got
            })
        })
        .collect();
    let mut expected = Vec::new();
    for t in tasks {
        expected.extend(t.await.unwrap());
    }
    expected.sort();
    let all = read_all(&wal, 0).await;
    assert_eq!(all.len(), 8 * 40 * 3);
    assert!(wal.segment_count() > 1, "test should span several segments");
    for (k, (first, key)) in expected.iter().enumerate() {
        assert_eq!(*first, 3 * k as u64);
        for j in 0..3 {
            let r = &all[3 * k + j];
            assert_eq!(r.offset, first + j as u64);
            assert_eq!(r.data, Bytes::from(format!("{key}-{j}")));
        }
    }
}

#[tokio::test]
async fn offsets_continue_across_reopen_and_rotation() {
    let env = Env::new();
    {
        let wal = env.open(small(4096, 1 << 20));
        for i in 0..30u64 {
            let a = wal.append(vec![Bytes::from(vec![7u8; 300])]).await.unwrap();
            assert_eq!(a.first, i);
        }
        assert!(wal.segment_count() >= 3);
    }
    let wal = env.open(small(4096, 1 << 20));
    assert_eq!(wal.durable_end(), 30);
    assert_eq!(wal.append(recs(&["next"])).await.unwrap().first, 30);
    let all = read_all(&wal, 0).await;
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..31).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn torn_tail_is_truncated_and_sequence_continues() {
    let env = Env::new();
    let valid_len;
    {
        let wal = env.open(fast());
        wal.append(recs(&["one", "two"])).await.unwrap();
        wal.append(recs(&["three"])).await.unwrap();
        valid_len = wal.size_bytes();
    }
    // Half of a real frame, as a crash in the middle of a write leaves it.
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, 3, T0, &recs(&["lost record"]));
    let path = env.last_segment();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&frame[..frame.len() / 2]);
    std::fs::write(&path, &bytes).unwrap();

    let wal = env.open(fast());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), valid_len);
    assert_eq!(wal.durable_end(), 3);
    assert_eq!(wal.append(recs(&["four"])).await.unwrap().first, 3);
    let all = read_all(&wal, 0).await;
    let data: Vec<_> = all
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect();
    assert_eq!(data, ["one", "two", "three", "four"]);
}

#[tokio::test]
async fn corrupt_checksum_mid_tail_drops_it_and_what_follows() {
    let env = Env::new();
    {
        let wal = env.open(fast());
        for s in ["first", "second", "third"] {
            wal.append(recs(&[s])).await.unwrap();
        }
        wal.register_consumer("influx").await.unwrap();
        wal.commit("influx", 3).await.unwrap();
    }
    let path = env.last_segment();
    let mut bytes = std::fs::read(&path).unwrap();
    let frame_len = HEADER_LEN_FOR_TESTS + 4 + "first".len();
    // Flip one payload byte of the second frame ("second").
    bytes[frame_len + HEADER_LEN_FOR_TESTS + 4] ^= 0x20;
    std::fs::write(&path, &bytes).unwrap();

    let wal = env.open(fast());
    assert_eq!(wal.durable_end(), 1);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), frame_len as u64);
    // The consumer had passed the dropped records: it is rewound so it reads their successors.
    assert_eq!(wal.consumers().get("influx"), Some(&1));
    assert_eq!(wal.append(recs(&["again"])).await.unwrap().first, 1);
    let data: Vec<_> = read_all(&wal, 0)
        .await
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(data, recs(&["first", "again"]));
}

const HEADER_LEN_FOR_TESTS: usize = format::HEADER_LEN;

#[tokio::test]
async fn size_cap_refuses_then_frees_after_consumer_commit() {
    let env = Env::new();
    let wal = env.open(small(4096, 8192));
    assert_eq!(wal.register_consumer("influx").await.unwrap(), 0);
    let rec = || vec![Bytes::from(vec![1u8; 1000])];
    let mut accepted = 0u64;
    let err = loop {
        match wal.append(rec()).await {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "cap never reached");
    };
    assert!(
        matches!(
            err,
            WalError::Full {
                cap_bytes: 8192,
                needed_bytes: 1036,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(wal.metrics().full_rejections.get(), 1);
    assert!(wal.size_bytes() <= 8192);
    // Still full on retry: nothing was consumed.
    assert!(matches!(
        wal.append(rec()).await,
        Err(WalError::Full { .. })
    ));

    // The sink catches up: sealed segments may now be deleted early (retention is 7 days).
    wal.commit("influx", wal.durable_end()).await.unwrap();
    let a = wal.append(rec()).await.unwrap();
    assert_eq!(a.first, accepted);
    assert!(wal.oldest_offset() > 0);
    // A reader that wanted offset 0 is told it was skipped.
    let mut r = wal.reader(0);
    let b = r.next_batch(1).await.unwrap();
    assert_eq!(b[0].offset, wal.oldest_offset());
    assert_eq!(
        r.take_gap(),
        Some(Gap {
            requested: 0,
            resumed_at: wal.oldest_offset()
        })
    );
}

#[tokio::test]
async fn retention_with_injected_clock() {
    let env = Env::new();
    let retention = Duration::from_secs(3600);
    let opts = WalOptions {
        retention,
        ..small(4096, 1 << 20)
    };
    let wal = env.open(opts.clone());
    for _ in 0..20 {
        wal.append(vec![Bytes::from(vec![2u8; 500])]).await.unwrap();
    }
    let segments = wal.segment_count();
    assert!(segments >= 3);
    let day = retention.as_millis() as u64;

    env.now.store(T0 + day - 1, Ordering::SeqCst);
    assert_eq!(wal.collect_garbage().await.unwrap(), GcReport::default());

    // A registered consumer at 0 pins everything even once expired.
    wal.register_consumer("mqtt").await.unwrap();
    env.now.store(T0 + day, Ordering::SeqCst);
    assert_eq!(wal.collect_garbage().await.unwrap().segments, 0);

    // Without consumers (the embedded store), expiry alone deletes every sealed segment.
    wal.unregister_consumer("mqtt").await.unwrap();
    let before = wal.size_bytes();
    let rep = wal.collect_garbage().await.unwrap();
    assert_eq!(rep.segments, segments - 1);
    assert_eq!(wal.segment_count(), 1);
    assert_eq!(wal.size_bytes(), before - rep.bytes);
    assert_eq!(segment::list_segments(env.dir.path()).unwrap().len(), 1);
    assert_eq!(wal.metrics().segments.get(), 1);
}

#[tokio::test]
async fn reader_wakes_on_new_durable_data() {
    let env = Env::new();
    let wal = env.open(fast());
    let mut r = wal.reader(0);
    assert!(r.try_next_batch(10).await.unwrap().is_empty());
    let waiter = tokio::spawn(async move { r.next_batch(10).await.unwrap() });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    wal.append(recs(&["wake"])).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, Bytes::from_static(b"wake"));
}

#[tokio::test]
async fn unsynced_append_answers_before_the_fsync_and_readers_wait_for_it() {
    let env = Env::new();
    // A long group window makes "written but not yet fsynced" last long enough to observe.
    let wal = env.open(WalOptions {
        group_commit_wait: Duration::from_millis(400),
        ..fast()
    });
    let mut r = wal.reader(0);
    let started = std::time::Instant::now();
    let a = wal.append_unsynced(recs(&["quick"])).await.unwrap();
    assert_eq!(a.first, 0);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "unsynced append waited for the window"
    );
    // Written, not durable: invisible to readers until the group's fsync.
    assert_eq!(wal.metrics().fsyncs.get(), 0);
    assert!(r.try_next_batch(10).await.unwrap().is_empty());
    let got = tokio::time::timeout(Duration::from_secs(10), r.next_batch(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[0].data, Bytes::from_static(b"quick"));
    assert_eq!(wal.metrics().fsyncs.get(), 1);
}

#[tokio::test]
async fn consumer_offsets_persist_and_are_checked() {
    let env = Env::new();
    {
        let wal = env.open(fast());
        wal.append(recs(&["a", "b", "c"])).await.unwrap();
        assert!(matches!(
            wal.commit("nobody", 1).await,
            Err(WalError::UnknownConsumer(_))
        ));
        assert!(matches!(
            wal.register_consumer("bad name").await,
            Err(WalError::InvalidConsumerName(_))
        ));
        wal.register_consumer("influx").await.unwrap();
        assert!(matches!(
            wal.commit("influx", 4).await,
            Err(WalError::CommitBeyondEnd {
                offset: 4,
                end: 3,
                ..
            })
        ));
        wal.commit("influx", 2).await.unwrap();
    }
    let wal = env.open(fast());
    assert_eq!(wal.register_consumer("influx").await.unwrap(), 2);
    assert_eq!(wal.consumers().get("influx"), Some(&2));
}

#[test]
fn options_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let bad = WalOptions {
        segment_bytes: 100,
        ..WalOptions::default()
    };
    assert!(matches!(
        Wal::open(dir.path(), bad),
        Err(WalError::InvalidOptions(_))
    ));
    let bad = WalOptions {
        max_total_bytes: DEFAULT_SEGMENT_BYTES,
        ..WalOptions::default()
    };
    assert!(matches!(
        Wal::open(dir.path(), bad),
        Err(WalError::InvalidOptions(_))
    ));
}

#[tokio::test]
async fn reader_survives_deletion_under_it_and_reports_the_gap() {
    let env = Env::new();
    let opts = WalOptions {
        retention: Duration::from_secs(60),
        ..small(4096, 1 << 20)
    };
    let wal = env.open(opts);
    for _ in 0..20 {
        wal.append(vec![Bytes::from(vec![3u8; 500])]).await.unwrap();
    }
    let firsts = segment::list_segments(env.dir.path()).unwrap();
    assert!(firsts.len() >= 3);
    let mut r = wal.reader(0);
    assert_eq!(r.next_batch(1).await.unwrap()[0].offset, 0);

    env.now.store(T0 + 60_000, Ordering::SeqCst);
    let rep = wal.collect_garbage().await.unwrap();
    assert_eq!(rep.segments, firsts.len() - 1);
    let oldest = *firsts.last().unwrap();
    assert_eq!(wal.oldest_offset(), oldest);

    // The open segment stays readable after unlink; the next ones are gone: a gap.
    let got: Vec<u64> = r
        .next_batch(1000)
        .await
        .unwrap()
        .iter()
        .map(|r| r.offset)
        .collect();
    let seg0_end = firsts[1];
    let want: Vec<u64> = (1..seg0_end).chain(oldest..20).collect();
    assert_eq!(got, want);
    assert_eq!(
        r.take_gap(),
        Some(Gap {
            requested: seg0_end,
            resumed_at: oldest
        })
    );
    assert_eq!(r.take_gap(), None);
}

#[test]
fn a_second_open_of_the_same_dir_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = Wal::open(dir.path(), fast()).unwrap();
    match Wal::open(dir.path(), fast()) {
        Err(WalError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(first);
    Wal::open(dir.path(), fast()).unwrap();
}

#[tokio::test]
async fn a_lone_durable_append_is_fsynced_without_waiting_for_companions() {
    let env = Env::new();
    // A window far longer than an fsync: only the light-load rule can answer early.
    let wal = env.open(WalOptions {
        group_commit_wait: Duration::from_millis(2_000),
        ..fast()
    });
    for i in 0..3 {
        let started = std::time::Instant::now();
        wal.append(recs(&[&format!("alone {i}")])).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "append {i} waited {:?} for companions",
            started.elapsed()
        );
    }
    assert_eq!(wal.metrics().fsyncs.get(), 3, "one fsync per lone append");
}
