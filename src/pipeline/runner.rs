//! Consumers of the log: each reads from its own position, in log order, through the log
//! seam ([`DurableLog`]), whatever the backend.
//!
//! A consumer with a name persists its position after each batch it finished (at-least-once:
//! a crash between the consumer's work and the commit replays that batch, which consumers
//! tolerate because their writes are idempotent). A nameless consumer (live state) keeps no
//! position and replays the retained log at start-up, which rebuilds it.
//!
//! A read error (an unreadable segment, a backend outage) never ends a consumer: it is
//! counted (`trackgate_log_consumer_read_errors_total`), shown as
//! `trackgate_log_consumer_retrying` = 1, and the consumer reopens its reader at the first
//! record it has not finished, with backoff, until the read succeeds or the gateway stops.

use super::log::{Cursor, LogEntry, LogError, LogReader, SharedLog};
use crate::backoff::Backoff;
use crate::model::Record;
use futures::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The consumer stopped before finishing the batch (shutdown); the batch is not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// A downstream consumer of durable records.
pub trait LogConsumer: Send + Sync + 'static {
    /// Name under which the position is persisted; `None` for in-memory consumers that
    /// rebuild from the retained log on start.
    fn name(&self) -> Option<&str>;
    /// Largest batch handed over at once.
    fn max_batch(&self) -> usize {
        1000
    }
    /// How long to gather records before handing over a batch smaller than `max_batch`
    /// (zero: hand over whatever is there).
    fn linger(&self) -> Duration {
        Duration::ZERO
    }
    /// Whether records of this kind (`position`, `event`, `eta`, `alert`) are wanted.
    /// Unwanted ones are skipped before they are decoded: every consumer reads every record,
    /// and decoding what it would throw away was a visible share of the gateway's CPU under
    /// load. Default: all.
    fn wants(&self, _kind: &str) -> bool {
        true
    }
    /// Processes one batch, in order. Returns only when the batch is done (written or, for
    /// bad data, isolated and counted); `Err(Stopped)` leaves it uncommitted.
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>>;
}

/// Label of the per-consumer metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConsumerLabel {
    pub consumer: String,
}

/// Per-consumer health: lag, read errors, whether it is retrying.
#[derive(Clone, Default)]
pub struct ConsumerMetrics {
    /// Records between a named consumer's committed position and the durable end.
    pub lag_records: Family<ConsumerLabel, Gauge>,
    /// Age of the oldest record a named consumer has not finished, seconds.
    pub lag_seconds: Family<ConsumerLabel, Gauge<f64, AtomicU64>>,
    /// Failed reads of the log.
    pub read_errors: Family<ConsumerLabel, Counter>,
    /// Failed position commits (the next successful commit covers the batch).
    pub commit_errors: Family<ConsumerLabel, Counter>,
    /// 1 while a consumer waits to retry after a read error.
    pub retrying: Family<ConsumerLabel, Gauge>,
}

impl ConsumerMetrics {
    /// Registers under `trackgate_`. The lag gauges keep their first names
    /// (`trackgate_wal_consumer_lag_*`), which dashboards and alerts already use.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "wal_consumer_lag_records",
            "Records between a consumer's committed position and the durable end of the log",
            self.lag_records.clone(),
        );
        r.register(
            "wal_consumer_lag_seconds",
            "Age of the oldest record a consumer has not finished, seconds",
            self.lag_seconds.clone(),
        );
        r.register(
            "log_consumer_read_errors",
            "Failed log reads by consumer (each retried with backoff)",
            self.read_errors.clone(),
        );
        r.register(
            "log_consumer_commit_errors",
            "Failed consumer position commits",
            self.commit_errors.clone(),
        );
        r.register(
            "log_consumer_retrying",
            "1 while a consumer waits to retry a failed log read",
            self.retrying.clone(),
        );
    }
}

/// Starts log consumers: one helper for every consumer of the gateway.
#[derive(Clone)]
pub struct Consumers {
    log: SharedLog,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    metrics: ConsumerMetrics,
    retry: Backoff,
}

/// Receive time (unix ms) of the last record a consumer finished; shared with its lag watcher.
type Progress = Arc<AtomicU64>;

/// How often lag gauges are refreshed. They must move while a consumer is stuck (a frozen
/// database), so a ticker computes them rather than the consumer loop.
const LAG_TICK: Duration = Duration::from_secs(1);

/// Backoff after a failed log read.
const READ_RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));

impl Consumers {
    /// Consumers of `log`, stopped by `shutdown`, their tasks owned by `tracker`.
    pub fn new(
        log: SharedLog,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        metrics: ConsumerMetrics,
    ) -> Self {
        Consumers {
            log,
            tracker,
            shutdown,
            metrics,
            retry: READ_RETRY,
        }
    }

    /// The same, retrying failed reads on `retry` (tests use short delays).
    pub fn with_retry(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Starts a task feeding `consumer` from the log until shutdown (and, for a named one,
    /// its lag watcher).
    pub async fn spawn(&self, consumer: Arc<dyn LogConsumer>) -> Result<(), LogError> {
        let progress: Progress = Arc::new(AtomicU64::new(now_ms()));
        let start = match consumer.name() {
            Some(n) => self.log.register_consumer(n).await?,
            None => self.log.oldest(),
        };
        let label = ConsumerLabel {
            consumer: consumer.name().unwrap_or("live").to_string(),
        };
        if consumer.name().is_some() {
            self.tracker.spawn(watch_lag(
                self.log.clone(),
                label.clone(),
                self.metrics.clone(),
                progress.clone(),
                self.shutdown.clone(),
            ));
        }
        let run = Run {
            log: self.log.clone(),
            consumer,
            label,
            progress,
            metrics: self.metrics.clone(),
            retry: self.retry,
            shutdown: self.shutdown.clone(),
        };
        self.tracker.spawn(run.run(start));
        Ok(())
    }

    /// The log the consumers read.
    pub fn log(&self) -> &SharedLog {
        &self.log
    }

    /// Forgets a consumer that is not configured any more, so it does not hold log data.
    pub async fn unregister(&self, name: &str) {
        if let Err(e) = self.log.unregister_consumer(name).await {
            tracing::warn!(consumer = name, error = %e, "cannot unregister consumer");
        }
    }
}

fn now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

/// Keeps the lag gauges of one named consumer current.
async fn watch_lag(
    log: SharedLog,
    label: ConsumerLabel,
    m: ConsumerMetrics,
    progress: Progress,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(LAG_TICK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let end = log.end();
        let committed = log.committed(&label.consumer).unwrap_or(end);
        let behind = committed.distance_to(end);
        m.lag_records.get_or_create(&label).set(behind as i64);
        let done = progress.load(Ordering::Relaxed);
        // The next record was received after the last finished one, so this overstates the
        // age by at most the gap between the two.
        let secs = if behind == 0 || done == 0 {
            0.0
        } else {
            now_ms().saturating_sub(done) as f64 / 1000.0
        };
        m.lag_seconds.get_or_create(&label).set(secs);
    }
}

/// What one read of the log gave.
enum Read {
    Batch(Vec<LogEntry>),
    Failed(LogError),
    Stop,
}

/// One consumer's loop.
struct Run {
    log: SharedLog,
    consumer: Arc<dyn LogConsumer>,
    label: ConsumerLabel,
    progress: Progress,
    metrics: ConsumerMetrics,
    retry: Backoff,
    shutdown: CancellationToken,
}

impl Run {
    async fn run(self, start: Cursor) {
        let mut next = start;
        let mut reader = self.log.reader(next);
        let mut retry = self.retry.retry();
        loop {
            let batch = match self.read(reader.as_mut()).await {
                Read::Stop => return,
                Read::Batch(b) => b,
                Read::Failed(e) => {
                    self.metrics.read_errors.get_or_create(&self.label).inc();
                    self.metrics.retrying.get_or_create(&self.label).set(1);
                    let delay = retry.next_delay();
                    tracing::error!(consumer = %self.label.consumer, error = %e, retry_in = ?delay,
                        failures = retry.failures(), "log read failed; retrying");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    reader = self.log.reader(next);
                    continue;
                }
            };
            if retry.failures() > 0 {
                retry.reset();
                self.metrics.retrying.get_or_create(&self.label).set(0);
                tracing::info!(consumer = %self.label.consumer, "log readable again");
            }
            if let Some(gap) = reader.take_gap() {
                tracing::warn!(consumer = %self.label.consumer, requested = %gap.requested,
                    resumed_at = %gap.resumed_at, "records were deleted before this consumer read them");
            }
            let Some((last, last_ms)) = batch.last().map(|e| (e.cursor, e.received_ms)) else {
                continue;
            };
            let records = self.decode(&batch);
            if self.consumer.process(&records).await.is_err() {
                return;
            }
            next = last.next();
            if let Some(name) = self.consumer.name() {
                if let Err(e) = self.log.commit(name, next).await {
                    self.metrics.commit_errors.get_or_create(&self.label).inc();
                    tracing::error!(consumer = %self.label.consumer, error = %e, "position commit failed");
                }
            }
            self.progress.store(last_ms, Ordering::Relaxed);
        }
    }

    /// The next batch: waits for one record, then lingers (if the consumer asks) for more.
    async fn read(&self, reader: &mut dyn LogReader) -> Read {
        let max = self.consumer.max_batch().max(1);
        let mut batch = tokio::select! {
            _ = self.shutdown.cancelled() => return Read::Stop,
            r = reader.next_batch(max) => match r {
                Ok(b) => b,
                Err(e) => return Read::Failed(e),
            },
        };
        let linger = self.consumer.linger();
        if linger.is_zero() {
            return Read::Batch(batch);
        }
        let deadline = tokio::time::Instant::now() + linger;
        // Polls instead of racing `next_batch` against the deadline: a read cancelled
        // half-way would lose the reader's position.
        while batch.len() < max && tokio::time::Instant::now() < deadline {
            match reader.try_next_batch(max - batch.len()).await {
                Ok(m) if !m.is_empty() => batch.extend(m),
                Ok(_) => {
                    let nap = deadline
                        .saturating_duration_since(tokio::time::Instant::now())
                        .min(Duration::from_millis(50));
                    tokio::select! {
                        _ = tokio::time::sleep(nap) => {}
                        _ = self.shutdown.cancelled() => break,
                    }
                }
                // Hand over what was read; the next read meets the error again and retries.
                Err(_) => break,
            }
        }
        Read::Batch(batch)
    }

    /// The batch's wanted records, decoded; an undecodable one is logged and skipped.
    fn decode(&self, batch: &[LogEntry]) -> Vec<Record> {
        let mut records = Vec::with_capacity(batch.len());
        for e in batch {
            if e.kind().is_some_and(|k| !self.consumer.wants(k)) {
                continue;
            }
            match e.decode() {
                Ok(rec) => records.push(rec),
                Err(err) => tracing::error!(consumer = %self.label.consumer, cursor = %e.cursor,
                    error = %err, "undecodable log record skipped"),
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::local::LocalLog;
    use crate::pipeline::log::{DurableLog, Gap};
    use crate::pipeline::test_records::positions;
    use crate::pipeline::wal::Wal;
    use crate::pipeline::{AckMode, DurableStage, Refused};
    use std::sync::atomic::AtomicU32;
    use std::sync::Mutex;

    /// The real local log with read faults injected: the first `fail` reads of every
    /// reader return an error, as an unreadable segment or a backend outage would.
    struct FaultyLog {
        inner: LocalLog,
        fail: Arc<AtomicU32>,
    }

    struct FaultyReader {
        inner: Box<dyn LogReader>,
        fail: Arc<AtomicU32>,
    }

    impl FaultyReader {
        fn fault(&self) -> Result<(), LogError> {
            let left = self.fail.load(Ordering::SeqCst);
            if left > 0 {
                self.fail.store(left - 1, Ordering::SeqCst);
                return Err(LogError::Backend("injected read fault".into()));
            }
            Ok(())
        }
    }

    impl LogReader for FaultyReader {
        fn position(&self) -> Cursor {
            self.inner.position()
        }
        fn next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
            Box::pin(async move {
                self.fault()?;
                self.inner.next_batch(max).await
            })
        }
        fn try_next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
            Box::pin(async move {
                self.fault()?;
                self.inner.try_next_batch(max).await
            })
        }
        fn take_gap(&mut self) -> Option<Gap> {
            self.inner.take_gap()
        }
    }

    impl DurableStage for FaultyLog {
        fn append(
            &self,
            records: Vec<Record>,
            mode: AckMode,
        ) -> BoxFuture<'static, Result<(), Refused>> {
            self.inner.append(records, mode)
        }
    }

    impl DurableLog for FaultyLog {
        fn reader(&self, from: Cursor) -> Box<dyn LogReader> {
            Box::new(FaultyReader {
                inner: self.inner.reader(from),
                fail: self.fail.clone(),
            })
        }
        fn end(&self) -> Cursor {
            self.inner.end()
        }
        fn oldest(&self) -> Cursor {
            self.inner.oldest()
        }
        fn register_consumer<'a>(
            &'a self,
            name: &'a str,
        ) -> BoxFuture<'a, Result<Cursor, LogError>> {
            self.inner.register_consumer(name)
        }
        fn commit<'a>(
            &'a self,
            name: &'a str,
            next: Cursor,
        ) -> BoxFuture<'a, Result<(), LogError>> {
            self.inner.commit(name, next)
        }
        fn unregister_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), LogError>> {
            self.inner.unregister_consumer(name)
        }
        fn committed(&self, name: &str) -> Option<Cursor> {
            self.inner.committed(name)
        }
    }

    /// Collects what it is given and says when it has `want` records.
    struct Collect {
        got: Mutex<Vec<Record>>,
        want: std::sync::atomic::AtomicUsize,
        done: tokio::sync::Notify,
    }

    impl LogConsumer for Collect {
        fn name(&self) -> Option<&str> {
            Some("collect")
        }
        fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
            let mut g = self.got.lock().unwrap();
            g.extend_from_slice(records);
            if g.len() >= self.want.load(Ordering::SeqCst) {
                self.done.notify_one();
            }
            Box::pin(async { Ok(()) })
        }
    }

    fn metric(m: &ConsumerMetrics, f: impl Fn(&ConsumerMetrics, &ConsumerLabel) -> i64) -> i64 {
        f(
            m,
            &ConsumerLabel {
                consumer: "collect".into(),
            },
        )
    }

    #[tokio::test]
    async fn a_read_error_is_retried_with_backoff_and_shown_in_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let fail = Arc::new(AtomicU32::new(3));
        let log: SharedLog = Arc::new(FaultyLog {
            inner: LocalLog::new(Wal::open(dir.path(), Default::default()).unwrap()),
            fail: fail.clone(),
        });
        let recs = positions(5);
        log.append(recs.clone(), AckMode::Durable).await.unwrap();
        let metrics = ConsumerMetrics::default();
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let consumers = Consumers::new(
            log.clone(),
            tracker.clone(),
            shutdown.clone(),
            metrics.clone(),
        )
        .with_retry(Backoff::new(
            Duration::from_millis(1),
            Duration::from_millis(5),
        ));
        let c = Arc::new(Collect {
            got: Mutex::new(Vec::new()),
            want: recs.len().into(),
            done: tokio::sync::Notify::new(),
        });
        consumers.spawn(c.clone()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), c.done.notified())
            .await
            .expect("the consumer recovers from read errors and gets every record");
        assert_eq!(*c.got.lock().unwrap(), recs, "each record once, in order");
        assert_eq!(fail.load(Ordering::SeqCst), 0);
        assert_eq!(
            metric(&metrics, |m, l| m.read_errors.get_or_create(l).get() as i64),
            3
        );
        assert_eq!(
            metric(&metrics, |m, l| m.retrying.get_or_create(l).get()),
            0
        );
        // The consumer keeps going after the faults: a later record arrives too.
        c.want.store(recs.len() + 1, Ordering::SeqCst);
        log.append(recs[..1].to_vec(), AckMode::Durable)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), c.done.notified())
            .await
            .expect("a record appended after recovery arrives");
        shutdown.cancel();
        tracker.close();
        tracker.wait().await;
        assert_eq!(log.committed("collect"), Some(Cursor::new(6)));
    }
}
