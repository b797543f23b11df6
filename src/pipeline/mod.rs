//! The pipeline: the durable stage between decoding and the device ACK, and the log every
//! consumer reads back.
//!
//! Ingest calls [`Pipeline::submit`] with a frame's records and writes the device's ACK only
//! when the returned [`Completion`] resolves `Ok`. Writes go through [`DurableStage`], reads
//! through the seam in [`log`] ([`log::DurableLog`], [`log::LogReader`]); the local
//! write-ahead log ([`local::LocalLog`] over [`wal`]) implements both, so another backend (a
//! replicated log) changes no protocol, ingest or consumer code. [`runner`] feeds each
//! [`runner::LogConsumer`] from its own committed position.

pub mod backend;
pub mod jetstream;
pub mod local;
pub mod log;
pub mod records;
pub mod runner;
pub mod wal;

#[cfg(test)]
pub(crate) mod test_records {
    use crate::model::{DeviceId, Position, Record};
    use chrono::{TimeZone, Utc};

    /// `n` positions of one device (latitude = index), for log tests.
    pub fn positions(n: usize) -> Vec<Record> {
        let t = Utc.timestamp_opt(1_764_215_276, 0).unwrap();
        let dev = DeviceId::new("123456789012345").unwrap();
        (0..n)
            .map(|i| {
                Record::Position(Position::new(
                    dev.clone(),
                    "gt06",
                    t,
                    t,
                    i as f64,
                    2.0,
                    true,
                ))
            })
            .collect()
    }
}

use crate::model::Record;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// When a device's ACK is written.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// After the records are durable (default): an ACK is a promise the data is kept.
    #[default]
    Durable,
    /// As soon as the frame decodes: lower latency, but a crash can lose ACKed data.
    Received,
}

/// Why the durable stage did not take a batch. The ACK is withheld in every case, so the
/// device keeps the data and sends it again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("durable stage is full")]
    Full,
    #[error("shutting down")]
    ShuttingDown,
    #[error("storage error: {0}")]
    Storage(String),
}

/// Something that makes batches durable. Resolving `Ok` is the promise behind an ACK.
pub trait DurableStage: Send + Sync + 'static {
    /// Takes a batch; the future resolves once the batch is durable (`AckMode::Durable`) or
    /// accepted (`AckMode::Received`).
    fn append(
        &self,
        records: Vec<Record>,
        mode: AckMode,
    ) -> BoxFuture<'static, Result<(), Refused>>;
}

/// Cheap handle to the pipeline, shared by every connection.
#[derive(Clone)]
pub struct Pipeline {
    stage: Arc<dyn DurableStage>,
}

impl Pipeline {
    /// A pipeline over `stage`.
    pub fn new(stage: Arc<dyn DurableStage>) -> Self {
        Pipeline { stage }
    }

    /// Hands a frame's records to the durable stage. The returned completion handle resolves
    /// when the ACK may be written.
    pub fn submit(&self, records: Vec<Record>, mode: AckMode) -> Completion {
        Completion(self.stage.append(records, mode))
    }
}

/// Resolves when a submitted batch is durable (or was refused). One per batch.
pub struct Completion(BoxFuture<'static, Result<(), Refused>>);

impl Future for Completion {
    type Output = Result<(), Refused>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}
