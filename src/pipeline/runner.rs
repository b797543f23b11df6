//! Consumers of the write-ahead log: each reads from its own offset, in log order.
//!
//! A consumer with a name persists its offset in the log after each batch it finished
//! (at-least-once: a crash between the sink's write and the commit replays that batch, which
//! the sinks tolerate because their writes are idempotent). A nameless consumer (live state)
//! keeps no offset and replays the retained log at start-up, which rebuilds it.

use super::wal::{Wal, WalRecord};
use super::wal_stage::{decode_record, record_kind};
use crate::model::Record;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The consumer stopped before finishing the batch (shutdown); the batch is not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

/// A downstream consumer of durable records.
pub trait LogConsumer: Send + Sync + 'static {
    /// Name under which the offset is persisted; `None` for in-memory consumers that rebuild
    /// from the retained log on start.
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
    /// Whether records of this kind (`position`, `event`, `eta`, `alert`: the `record` tag of
    /// the stored JSON) are wanted. Unwanted ones are skipped before they are decoded: every
    /// consumer reads every record, and decoding JSON it would throw away was a visible share
    /// of the gateway's CPU under load. Default: all.
    fn wants(&self, _kind: &str) -> bool {
        true
    }
    /// Processes one batch, in order. Returns only when the batch is done (written or, for
    /// bad data, isolated and counted); `Err(Stopped)` leaves it uncommitted.
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>>;
}

/// Adapter: a synchronous [`super::Consumer`] (live state) as a nameless log consumer.
pub struct SyncConsumer<C>(pub Arc<C>);

impl<C: super::Consumer> LogConsumer for SyncConsumer<C> {
    fn name(&self) -> Option<&str> {
        None
    }
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        self.0.apply(records);
        Box::pin(async { Ok(()) })
    }
}

/// Starts a task feeding `consumer` from the log until shutdown.
pub async fn spawn(
    wal: Wal,
    consumer: Arc<dyn LogConsumer>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<(), super::wal::WalError> {
    let progress: Progress = Arc::new(std::sync::atomic::AtomicU64::new(
        chrono::Utc::now().timestamp_millis().max(0) as u64,
    ));
    let start = match consumer.name() {
        Some(n) => wal.register_consumer(n).await?,
        None => wal.oldest_offset(),
    };
    if let Some(name) = consumer.name() {
        tracker.spawn(watch_lag(
            wal.clone(),
            name.to_string(),
            progress.clone(),
            shutdown.clone(),
        ));
    }
    tracker.spawn(run(wal, consumer, start, progress, shutdown));
    Ok(())
}

/// Receive time (unix ms) of the last record a consumer finished; shared with its lag watcher.
type Progress = Arc<std::sync::atomic::AtomicU64>;

/// How often lag gauges are refreshed. They must move while a consumer is stuck (a frozen
/// database), so a ticker computes them rather than the consumer loop.
const LAG_TICK: Duration = Duration::from_secs(1);

/// Keeps `trackgate_wal_consumer_lag_{records,seconds}` current for one named consumer.
async fn watch_lag(wal: Wal, name: String, progress: Progress, shutdown: CancellationToken) {
    use std::sync::atomic::Ordering;
    let label = super::wal::ConsumerLabel {
        consumer: name.clone(),
    };
    let mut tick = tokio::time::interval(LAG_TICK);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let end = wal.durable_end();
        let committed = wal.consumers().get(&name).copied().unwrap_or(end);
        let behind = end.saturating_sub(committed);
        let m = wal.metrics();
        m.consumer_lag_records
            .get_or_create(&label)
            .set(behind as i64);
        let secs = if behind == 0 {
            0.0
        } else {
            let done = progress.load(Ordering::Relaxed);
            let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
            // The next record was received after the last finished one, so this overstates
            // the age by at most the gap between the two.
            if done == 0 {
                0.0
            } else {
                now.saturating_sub(done) as f64 / 1000.0
            }
        };
        m.consumer_lag_seconds.get_or_create(&label).set(secs);
    }
}

async fn run(
    wal: Wal,
    consumer: Arc<dyn LogConsumer>,
    start: u64,
    progress: Progress,
    shutdown: CancellationToken,
) {
    let mut reader = wal.reader(start);
    let label = consumer.name().unwrap_or("live").to_string();
    let max = consumer.max_batch().max(1);
    loop {
        let mut batch: Vec<WalRecord> = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = reader.next_batch(max) => match r {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(consumer = %label, error = %e, "log read failed; consumer stopped");
                    return;
                }
            },
        };
        if let Some(gap) = reader.take_gap() {
            tracing::warn!(consumer = %label, requested = gap.requested, resumed_at = gap.resumed_at,
                "records were deleted before this consumer read them");
        }
        let linger = consumer.linger();
        if !linger.is_zero() && batch.len() < max {
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
                            _ = shutdown.cancelled() => break,
                        }
                    }
                    Err(e) => {
                        tracing::error!(consumer = %label, error = %e, "log read failed; consumer stopped");
                        return;
                    }
                }
            }
        }
        let Some((last, last_ts)) = batch.last().map(|r| (r.offset, r.timestamp_ms)) else {
            continue;
        };
        let mut records = Vec::with_capacity(batch.len());
        for r in &batch {
            if record_kind(&r.data).is_some_and(|k| !consumer.wants(k)) {
                continue;
            }
            match decode_record(&r.data) {
                Ok(rec) => records.push(rec),
                Err(e) => {
                    tracing::error!(consumer = %label, offset = r.offset, error = %e, "undecodable log record skipped")
                }
            }
        }
        if consumer.process(&records).await.is_err() {
            return;
        }
        if let Some(name) = consumer.name() {
            if let Err(e) = wal.commit(name, last + 1).await {
                tracing::error!(consumer = %label, error = %e, "offset commit failed");
            }
        }
        progress.store(last_ts, std::sync::atomic::Ordering::Relaxed);
    }
}
