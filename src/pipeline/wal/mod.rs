//! The write-ahead log: the durability point of the pipeline.
//!
//! A device's frame is ACKed only after `Wal::append` resolves, i.e. after an fsync covering
//! its records. Sinks (InfluxDB, MQTT, webhooks, tracking) each read the log from their own
//! persisted offset (`register_consumer` / `commit`), so one sink's outage delays it but loses
//! nothing, and a restart resumes where each stopped.
//!
//! Why a small log of our own and not a crate: the crates.io candidates checked were okaywal
//! (self-described "do not use in production", unstable format, checkpoint-driven rather than
//! per-consumer offsets), nodedb-wal (O_DIRECT/encryption engine tied to one database) and
//! wal-db (byte-offset LSNs, no consumer offsets or size cap). None offers per-consumer
//! offsets, retention and a size cap that refuses appends together, which is the point here;
//! the module is about 1,900 lines plus 520 of tests.
//!
//! Layout in `dir`: segments `<first_offset:020>.wal` (frames, see `format`), and
//! `consumers/<name>.offset`. Offsets are record sequence numbers (u64, monotonic across
//! restarts). Each record carries the receive time (unix ms) of its batch, exposed on read as
//! `WalRecord::timestamp_ms` so a replay can skip older records without decoding them.
//!
//! Guarantees: a batch is atomic (one checksummed frame: all of it or none after a crash);
//! readers see only fsynced records; recovery on open verifies the last segment and truncates
//! a torn or corrupt tail (logged with the byte count). A corrupt frame in the middle of the
//! last segment also drops every frame after it — they cannot be framed reliably — so bit rot
//! there can lose acknowledged records; sealed segments are not re-verified on open (readers
//! verify every frame they read and report `WalError::Corrupt`).

mod consumers;
mod error;
mod format;
mod metrics;
mod reader;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

pub use error::WalError;
pub use metrics::WalMetrics;
pub use reader::{Gap, Reader, WalRecord};

use segment::{GcInput, SegmentMeta};
use writer::{Request, Writer};

/// Default `WalOptions::segment_bytes`: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Default `WalOptions::max_total_bytes`: 1 GiB.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 1 << 30;
/// Default `WalOptions::group_commit_wait`: 2 ms.
pub const DEFAULT_GROUP_COMMIT_WAIT: Duration = Duration::from_millis(2);
/// Default `WalOptions::retention`: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Smallest accepted `segment_bytes`: below this, rotation (an fsync + a directory fsync)
/// would dominate the cost of appending.
pub const MIN_SEGMENT_BYTES: u64 = 4096;

/// Tuning of the log; every field has a named default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// Size at which the active segment is sealed and a new one started; also the largest
    /// batch (a batch never spans segments). Deletion works in whole segments, so smaller
    /// segments free space sooner. Default `DEFAULT_SEGMENT_BYTES` (64 MiB).
    pub segment_bytes: u64,
    /// Cap on the bytes of all segments. When an append would pass it even after deleting
    /// every segment all consumers have passed, the append fails with `WalError::Full` and the
    /// device keeps its data. Must be at least `2 * segment_bytes`.
    /// Default `DEFAULT_MAX_TOTAL_BYTES` (1 GiB).
    pub max_total_bytes: u64,
    /// Longest time an append waits for companions before the fsync that covers them all
    /// (group commit). Zero: fsync as soon as the writer is free (appends that arrive during
    /// an fsync still share the next one). Applied only under load: after a group of fewer
    /// than `writer::BUSY_GROUP_REQUESTS` appends, a durable append is fsynced without
    /// waiting. Default `DEFAULT_GROUP_COMMIT_WAIT` (2 ms).
    pub group_commit_wait: Duration,
    /// How long records are kept once every consumer has passed them (best effort within
    /// the cap: consumed segments may go earlier to stay under `max_total_bytes`).
    /// Default `DEFAULT_RETENTION` (7 days).
    pub retention: Duration,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            group_commit_wait: DEFAULT_GROUP_COMMIT_WAIT,
            retention: DEFAULT_RETENTION,
        }
    }
}

impl WalOptions {
    fn validate(&self) -> Result<(), WalError> {
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Err(WalError::InvalidOptions(format!(
                "segment_bytes {} is below {MIN_SEGMENT_BYTES}",
                self.segment_bytes
            )));
        }
        if self.max_total_bytes < self.segment_bytes.saturating_mul(2) {
            return Err(WalError::InvalidOptions(format!(
                "max_total_bytes {} must be at least 2 x segment_bytes {}",
                self.max_total_bytes, self.segment_bytes
            )));
        }
        Ok(())
    }
}

/// Source of "now" in unix milliseconds: the system clock in production, a settable value in
/// tests (retention is tested without sleeping).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock as a `Clock`.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    })
}

/// Offsets given to one accepted batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Offset of the first record of the batch.
    pub first: u64,
    /// Offset of the last record (inclusive).
    pub last: u64,
    /// Receive time stored with every record of the batch, unix ms (never decreases).
    pub timestamp_ms: u64,
}

/// What one deletion sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Segment files deleted.
    pub segments: usize,
    /// Bytes freed.
    pub bytes: u64,
}

pub(crate) struct State {
    /// Ascending; the last one is the active segment.
    pub segments: Vec<SegmentMeta>,
    pub total_bytes: u64,
}

/// State shared by handles, readers and the writer thread.
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub opts: WalOptions,
    pub clock: Clock,
    pub state: Mutex<State>,
    pub consumers: Mutex<BTreeMap<String, u64>>,
    /// Serialises consumer-offset file writes so the file always holds the newest value.
    pub commit_lock: Mutex<()>,
    /// Offset after the last durable record; readers wait on it.
    pub durable: watch::Sender<u64>,
    pub metrics: WalMetrics,
    pub full: AtomicBool,
}

/// A poisoned mutex only means another thread panicked while holding it; the data (offsets,
/// segment list) is still consistent because every update is a single assignment or push.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn total_bytes(&self) -> u64 {
        self.lock_state().total_bytes
    }

    /// Log (once per change) and remember whether appends are being refused.
    pub fn set_full(&self, full: bool, total: u64) {
        if self.full.swap(full, Ordering::Relaxed) != full {
            let cap = self.opts.max_total_bytes;
            if full {
                tracing::warn!(
                    size_bytes = total,
                    cap_bytes = cap,
                    "wal full: refusing appends"
                );
            } else {
                tracing::info!(
                    size_bytes = total,
                    cap_bytes = cap,
                    "wal accepting appends again"
                );
            }
        }
    }

    /// Delete the segments `segment::plan_gc` allows, making room for `needed` bytes.
    pub fn gc(&self, needed: u64) -> Result<GcReport, WalError> {
        let consumers_min = lock(&self.consumers).values().min().copied();
        let victims: Vec<SegmentMeta> = {
            let mut st = self.lock_state();
            let input = GcInput {
                consumers_min,
                now_ms: (self.clock)(),
                retention_ms: u64::try_from(self.opts.retention.as_millis()).unwrap_or(u64::MAX),
                total_bytes: st.total_bytes,
                cap_bytes: self.opts.max_total_bytes,
                needed_bytes: needed,
            };
            let n = segment::plan_gc(&st.segments, input);
            let victims: Vec<_> = st.segments.drain(..n).collect();
            st.total_bytes -= victims.iter().map(|s| s.bytes).sum::<u64>();
            self.metrics.size_bytes.set(st.total_bytes as i64);
            self.metrics.segments.set(st.segments.len() as i64);
            victims
        };
        let mut report = GcReport::default();
        // Readers holding an open handle keep reading an unlinked file; new readers start
        // at the new oldest segment.
        for seg in &victims {
            let path = segment::segment_path(&self.dir, seg.first_offset);
            std::fs::remove_file(&path).map_err(|e| WalError::io("delete segment", &path, e))?;
            report.segments += 1;
            report.bytes += seg.bytes;
            tracing::info!(
                first_offset = seg.first_offset,
                bytes = seg.bytes,
                "wal segment deleted"
            );
        }
        if report.segments > 0 {
            consumers::sync_dir(&self.dir)?;
        }
        Ok(report)
    }
}

struct Inner {
    shared: Arc<Shared>,
    tx: Option<std::sync::mpsc::Sender<Request>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Held (flock) for the life of the handle; released when the last clone drops, after the
    /// writer thread finished.
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop; joining makes "drop, then reopen the same
        // directory" safe (the writer has finished its last fsync).
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Handle to an open log. Cheap to clone; the writer thread stops when the last clone drops.
#[derive(Clone)]
pub struct Wal {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.inner.shared.dir)
            .finish()
    }
}

impl Wal {
    /// Open (or create) the log in `dir`, recovering the tail, with the system clock.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal, WalError> {
        Self::open_with_clock(dir, opts, system_clock())
    }

    /// Open with an explicit clock (receive timestamps and retention use it).
    pub fn open_with_clock(dir: &Path, opts: WalOptions, clock: Clock) -> Result<Wal, WalError> {
        opts.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| WalError::io("create directory", dir, e))?;
        // One process per log: a second writer would truncate the first one's tail as "torn".
        let lock_path = dir.join("LOCK");
        let lock =
            File::create(&lock_path).map_err(|e| WalError::io("create lock", &lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(WalError::Locked { path: lock_path });
        }
        let mut consumers = consumers::load(&consumers::consumers_dir(dir))?;
        let mut firsts = segment::list_segments(dir)?;
        if firsts.is_empty() {
            let path = segment::segment_path(dir, 0);
            File::create(&path).map_err(|e| WalError::io("create segment", &path, e))?;
            consumers::sync_dir(dir)?;
            firsts.push(0);
        }
        let last_first = firsts[firsts.len() - 1];
        let last_path = segment::segment_path(dir, last_first);
        let tail = segment::scan_tail(&last_path, last_first)?;
        let file = File::options()
            .append(true)
            .open(&last_path)
            .map_err(|e| WalError::io("open segment", &last_path, e))?;
        if let Some((bytes, reason)) = tail.dropped {
            tracing::warn!(segment = %last_path.display(), bytes, reason, valid_bytes = tail.valid_len,
                "wal recovery truncated the tail");
            file.set_len(tail.valid_len)
                .and_then(|_| file.sync_all())
                .map_err(|e| WalError::io("truncate segment", &last_path, e))?;
        }
        // Sealed segments: size from the file, newest time bounded by the next one's first.
        let mut segments = Vec::with_capacity(firsts.len());
        for &first in &firsts[..firsts.len() - 1] {
            let path = segment::segment_path(dir, first);
            let bytes = std::fs::metadata(&path)
                .map_err(|e| WalError::io("stat segment", &path, e))?
                .len();
            let first_ts = segment::first_timestamp(&path)?;
            segments.push((
                SegmentMeta {
                    first_offset: first,
                    bytes,
                    newest_ts: 0,
                },
                first_ts,
            ));
        }
        segments.push((
            SegmentMeta {
                first_offset: last_first,
                bytes: tail.valid_len,
                newest_ts: tail.newest_ts,
            },
            (tail.valid_len > 0).then_some(tail.first_ts),
        ));
        for i in (0..segments.len() - 1).rev() {
            let next = &segments[i + 1];
            let bound = next.1.unwrap_or(next.0.newest_ts);
            segments[i].0.newest_ts = bound;
        }
        let segments: Vec<SegmentMeta> = segments.into_iter().map(|(s, _)| s).collect();
        // A consumer past the recovered end (its records were in a dropped corrupt tail)
        // would otherwise skip the records that will be written at those offsets again.
        for (name, offset) in consumers.iter_mut() {
            if *offset > tail.next_offset {
                tracing::warn!(consumer = %name, committed = *offset, end = tail.next_offset,
                    "wal consumer offset beyond the recovered end; rewound");
                *offset = tail.next_offset;
            }
        }
        let total_bytes = segments.iter().map(|s| s.bytes).sum();
        let last_ts = segments.iter().map(|s| s.newest_ts).max().unwrap_or(0);

        let metrics = WalMetrics::default();
        metrics.size_bytes.set(total_bytes as i64);
        metrics.segments.set(segments.len() as i64);
        let (durable, _) = watch::channel(tail.next_offset);
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts,
            clock,
            state: Mutex::new(State {
                segments,
                total_bytes,
            }),
            consumers: Mutex::new(consumers),
            commit_lock: Mutex::new(()),
            durable,
            metrics,
            full: AtomicBool::new(false),
        });
        let writer = Writer {
            shared: shared.clone(),
            file,
            path: last_path,
            active_len: tail.valid_len,
            next_offset: tail.next_offset,
            last_ts,
            dirty: false,
            poisoned: false,
            buf: Vec::new(),
            last_group: 0,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| WalError::io("spawn writer thread", dir, e))?;
        tracing::info!(dir = %dir.display(), next_offset = tail.next_offset, "wal opened");
        Ok(Wal {
            inner: Arc::new(Inner {
                shared,
                tx: Some(tx),
                thread: Some(thread),
                _lock: lock,
            }),
        })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Append a batch and resolve after an fsync covers it (`ack = "durable"`). Atomic: after
    /// a crash either every record of the batch is in the log or none is.
    pub async fn append(&self, records: Vec<Bytes>) -> Result<Appended, WalError> {
        self.submit(records, true).await
    }

    /// Append a batch and resolve once it is written to the OS, before the fsync
    /// (`ack = "received"`). It becomes durable, and visible to readers, with the group's
    /// fsync a moment later; a crash before that loses it.
    pub async fn append_unsynced(&self, records: Vec<Bytes>) -> Result<Appended, WalError> {
        self.submit(records, false).await
    }

    async fn submit(&self, records: Vec<Bytes>, sync: bool) -> Result<Appended, WalError> {
        if records.is_empty() {
            return Err(WalError::EmptyBatch);
        }
        let (reply, rx) = oneshot::channel();
        let req = Request {
            records,
            sync,
            enqueued: Instant::now(),
            reply,
        };
        let tx = self.inner.tx.as_ref().ok_or(WalError::Closed)?;
        tx.send(req).map_err(|_| WalError::Closed)?;
        rx.await.map_err(|_| WalError::Closed)?
    }

    /// A reader starting at offset `from` (see `Reader` for deleted offsets).
    pub fn reader(&self, from: u64) -> Reader {
        Reader::new(self.shared().clone(), from)
    }

    /// Offset after the last durable record: every record below it is fsynced and readable.
    pub fn durable_end(&self) -> u64 {
        *self.shared().durable.borrow()
    }

    /// Oldest offset still stored (the first offset of the oldest segment).
    pub fn oldest_offset(&self) -> u64 {
        self.shared()
            .lock_state()
            .segments
            .first()
            .map_or(0, |s| s.first_offset)
    }

    /// Register a consumer (idempotent) and return its committed offset: the persisted one if
    /// it exists, otherwise the oldest stored offset, so it pins everything still in the log.
    pub async fn register_consumer(&self, name: &str) -> Result<u64, WalError> {
        consumers::validate_name(name)?;
        if let Some(&o) = lock(&self.shared().consumers).get(name) {
            return Ok(o);
        }
        let start = self.oldest_offset();
        self.persist(name, start, false).await?;
        Ok(start)
    }

    /// Persist that consumer `name` has processed every record below `next_offset` (the
    /// offset it will read next). Segments it has passed become deletable.
    pub async fn commit(&self, name: &str, next_offset: u64) -> Result<(), WalError> {
        if !lock(&self.shared().consumers).contains_key(name) {
            return Err(WalError::UnknownConsumer(name.to_owned()));
        }
        let end = self.durable_end();
        if next_offset > end {
            return Err(WalError::CommitBeyondEnd {
                name: name.to_owned(),
                offset: next_offset,
                end,
            });
        }
        self.persist(name, next_offset, true).await
    }

    async fn persist(&self, name: &str, offset: u64, must_exist: bool) -> Result<(), WalError> {
        let shared = self.shared().clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let _g = lock(&shared.commit_lock);
            let exists = lock(&shared.consumers).contains_key(&name);
            if must_exist != exists {
                // Unregistered meanwhile, or registered by a concurrent call: keep that state.
                return if must_exist {
                    Err(WalError::UnknownConsumer(name))
                } else {
                    Ok(())
                };
            }
            consumers::store(&consumers::consumers_dir(&shared.dir), &name, offset)?;
            lock(&shared.consumers).insert(name, offset);
            Ok(())
        })
        .await
        .map_err(|_| WalError::Closed)?
    }

    /// Forget a consumer (a sink removed from the config) so it no longer pins segments.
    pub async fn unregister_consumer(&self, name: &str) -> Result<(), WalError> {
        consumers::validate_name(name)?;
        let shared = self.shared().clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let _g = lock(&shared.commit_lock);
            consumers::remove(&consumers::consumers_dir(&shared.dir), &name)?;
            lock(&shared.consumers).remove(&name);
            Ok(())
        })
        .await
        .map_err(|_| WalError::Closed)?
    }

    /// Committed offsets of all registered consumers.
    pub fn consumers(&self) -> BTreeMap<String, u64> {
        lock(&self.shared().consumers).clone()
    }

    /// Delete segments that retention (and consumers) allow. The writer sweeps at every
    /// segment rotation and when the cap is reached; the shell may also call this
    /// periodically (e.g. hourly) so a quiet log still expires.
    pub async fn collect_garbage(&self) -> Result<GcReport, WalError> {
        let shared = self.shared().clone();
        tokio::task::spawn_blocking(move || shared.gc(0))
            .await
            .map_err(|_| WalError::Closed)?
    }

    /// The log's metrics (register them once with `WalMetrics::register`).
    pub fn metrics(&self) -> &WalMetrics {
        &self.shared().metrics
    }

    /// Bytes held by all segments.
    pub fn size_bytes(&self) -> u64 {
        self.shared().total_bytes()
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.shared().lock_state().segments.len()
    }
}
