//! The local write-ahead log as a [`DurableStage`] and a [`DurableLog`]: the embedded,
//! single-node backend (the default).
//!
//! `append` resolves after the fsync that covers the batch (`ack = "durable"`) or once
//! written (`ack = "received"`). Cursors are the log's record offsets.

use super::log::{Cursor, DurableLog, Gap, LogEntry, LogError, LogReader};
use super::records::encode_record;
use super::wal::{Reader, Wal, WalError, WalRecord};
use super::{AckMode, DurableStage, Refused};
use crate::model::Record;
use bytes::Bytes;
use futures::future::BoxFuture;

/// The local write-ahead log behind the log seam.
#[derive(Clone, Debug)]
pub struct LocalLog {
    wal: Wal,
}

impl LocalLog {
    /// Wraps an open log.
    pub fn new(wal: Wal) -> Self {
        LocalLog { wal }
    }

    /// The underlying log (metrics, garbage collection, tests).
    pub fn wal(&self) -> &Wal {
        &self.wal
    }
}

impl From<WalError> for LogError {
    fn from(e: WalError) -> Self {
        match e {
            WalError::Closed => LogError::Closed,
            other => LogError::Backend(other.to_string()),
        }
    }
}

impl DurableStage for LocalLog {
    fn append(
        &self,
        records: Vec<Record>,
        mode: AckMode,
    ) -> BoxFuture<'static, Result<(), Refused>> {
        let payloads: Vec<Bytes> = records.iter().map(encode_record).collect();
        let wal = self.wal.clone();
        Box::pin(async move {
            let r = match mode {
                AckMode::Durable => wal.append(payloads).await,
                AckMode::Received => wal.append_unsynced(payloads).await,
            };
            r.map(|_| ()).map_err(|e| match e {
                WalError::Full { .. } => Refused::Full,
                WalError::Closed => Refused::ShuttingDown,
                other => Refused::Storage(other.to_string()),
            })
        })
    }
}

impl DurableLog for LocalLog {
    fn reader(&self, from: Cursor) -> Box<dyn LogReader> {
        Box::new(LocalReader(self.wal.reader(from.value())))
    }

    fn end(&self) -> Cursor {
        Cursor::new(self.wal.durable_end())
    }

    fn oldest(&self) -> Cursor {
        Cursor::new(self.wal.oldest_offset())
    }

    fn register_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Cursor, LogError>> {
        Box::pin(async move { Ok(Cursor::new(self.wal.register_consumer(name).await?)) })
    }

    fn commit<'a>(&'a self, name: &'a str, next: Cursor) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move { Ok(self.wal.commit(name, next.value()).await?) })
    }

    fn unregister_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), LogError>> {
        Box::pin(async move { Ok(self.wal.unregister_consumer(name).await?) })
    }

    fn committed(&self, name: &str) -> Option<Cursor> {
        self.wal.consumers().get(name).copied().map(Cursor::new)
    }
}

/// A write-ahead log reader behind the seam.
struct LocalReader(Reader);

fn entries(rows: Vec<WalRecord>) -> Vec<LogEntry> {
    rows.into_iter()
        .map(|r| LogEntry {
            cursor: Cursor::new(r.offset),
            received_ms: r.timestamp_ms,
            data: r.data,
        })
        .collect()
}

impl LogReader for LocalReader {
    fn position(&self) -> Cursor {
        Cursor::new(self.0.position())
    }

    fn next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
        Box::pin(async move { Ok(entries(self.0.next_batch(max).await?)) })
    }

    fn try_next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>> {
        Box::pin(async move { Ok(entries(self.0.try_next_batch(max).await?)) })
    }

    fn take_gap(&mut self) -> Option<Gap> {
        self.0.take_gap().map(|g| Gap {
            requested: Cursor::new(g.requested),
            resumed_at: Cursor::new(g.resumed_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_records::positions;

    #[tokio::test]
    async fn records_written_through_the_stage_read_back_through_the_seam() {
        let dir = tempfile::tempdir().unwrap();
        let log = LocalLog::new(Wal::open(dir.path(), Default::default()).unwrap());
        let recs = positions(3);
        log.append(recs.clone(), AckMode::Durable).await.unwrap();
        assert_eq!(log.end(), Cursor::new(3));
        let start = log.register_consumer("c").await.unwrap();
        assert_eq!(start, log.oldest());
        let mut r = log.reader(start.next());
        let got = r.next_batch(10).await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].cursor, Cursor::new(1));
        assert_eq!(got[0].kind(), Some("position"));
        assert_eq!(got[1].decode().unwrap(), recs[2]);
        assert!(r.try_next_batch(10).await.unwrap().is_empty());
        log.commit("c", Cursor::new(3)).await.unwrap();
        assert_eq!(log.committed("c"), Some(Cursor::new(3)));
        log.unregister_consumer("c").await.unwrap();
        assert_eq!(log.committed("c"), None);
    }
}
