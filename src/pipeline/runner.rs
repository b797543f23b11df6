//! Consumers of the write-ahead log: each reads from its own offset, in log order.
//!
//! A consumer with a name persists its offset in the log after each batch it finished
//! (at-least-once: a crash between the sink's write and the commit replays that batch, which
//! the sinks tolerate because their writes are idempotent). A nameless consumer (live state)
//! keeps no offset and replays the retained log at start-up, which rebuilds it.

use super::wal::{Wal, WalRecord};
use super::wal_stage::decode_record;
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
    let start = match consumer.name() {
        Some(n) => wal.register_consumer(n).await?,
        None => wal.oldest_offset(),
    };
    tracker.spawn(run(wal, consumer, start, shutdown));
    Ok(())
}

async fn run(wal: Wal, consumer: Arc<dyn LogConsumer>, start: u64, shutdown: CancellationToken) {
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
        let Some(last) = batch.last().map(|r| r.offset) else {
            continue;
        };
        let mut records = Vec::with_capacity(batch.len());
        for r in &batch {
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
    }
}
