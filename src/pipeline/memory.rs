//! The in-memory durable stage: a bounded queue in front of the consumers.
//!
//! "Durable" here means "accepted by the process": a crash loses what is queued. It stands in
//! until the write-ahead log is wired in, and keeps the contract that matters to devices: a
//! batch is either taken whole (ACK) or refused whole (no ACK) when the queue is full, never
//! dropped after an ACK while the process lives.

use super::{Consumer, DurableStage, Refused};
use crate::config::AckMode;
use crate::model::Record;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Bounded in-memory stage; records are applied to the consumers by one task, in order.
pub struct MemoryStage {
    tx: mpsc::UnboundedSender<(Vec<Record>, u32)>,
    room: Arc<Semaphore>,
    capacity: usize,
}

impl MemoryStage {
    /// Starts the consumer task. `capacity` bounds the records queued at once.
    pub fn start(
        capacity: usize,
        consumers: Vec<Arc<dyn Consumer>>,
        tracker: &tokio_util::task::TaskTracker,
        _shutdown: CancellationToken,
    ) -> Arc<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<(Vec<Record>, u32)>();
        let room = Arc::new(Semaphore::new(capacity));
        let room2 = room.clone();
        // The task ends when every sender is gone (the stage is dropped), after draining.
        tracker.spawn(async move {
            while let Some((batch, permits)) = rx.recv().await {
                for c in &consumers {
                    c.apply(&batch);
                }
                room2.add_permits(permits as usize);
            }
        });
        Arc::new(MemoryStage { tx, room, capacity })
    }

    /// Records queued now.
    pub fn queued(&self) -> usize {
        self.capacity - self.room.available_permits()
    }
}

impl DurableStage for MemoryStage {
    fn append(
        &self,
        records: Vec<Record>,
        _mode: AckMode,
    ) -> BoxFuture<'static, Result<(), Refused>> {
        let n = records.len().max(1) as u32;
        let result = match self.room.try_acquire_many(n) {
            Ok(permit) => {
                permit.forget();
                self.tx
                    .send((records, n))
                    .map_err(|_| Refused::ShuttingDown)
            }
            Err(_) => Err(Refused::Full),
        };
        Box::pin(async move { result })
    }
}
