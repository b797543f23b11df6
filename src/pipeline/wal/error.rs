//! Typed errors of the write-ahead log.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything the log can refuse or fail at. `Clone` because one failed group commit answers
/// every appender that was waiting on it (the I/O error is shared through an `Arc`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    /// A file operation failed; `op` names the step, `path` the file.
    #[error("wal {op} failed on {path}: {source}")]
    Io {
        /// The step that failed ("open segment", "fsync", "rename consumer offset", ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The size cap is reached even after deleting every deletable segment: the caller must
    /// withhold the device ACK so the device keeps its data and retries later.
    #[error("wal full: {size_bytes} bytes used, cap {cap_bytes}, batch needs {needed_bytes}")]
    Full {
        /// Bytes currently held by segments.
        size_bytes: u64,
        /// `WalOptions::max_total_bytes`.
        cap_bytes: u64,
        /// Size of the rejected frame.
        needed_bytes: u64,
    },
    /// One batch must fit in one segment (a batch never spans segments, which is what makes
    /// it atomic).
    #[error("wal batch of {bytes} bytes exceeds the limit of {limit} bytes (segment size)")]
    BatchTooLarge {
        /// Encoded size of the batch.
        bytes: u64,
        /// The largest frame a segment accepts.
        limit: u64,
    },
    /// `append` was called with no records; there is no offset to return.
    #[error("wal append with an empty batch")]
    EmptyBatch,
    /// A frame that was durable failed its checksum or framing when read back.
    #[error("wal corrupt frame in {segment} at byte {position}: {reason}")]
    Corrupt {
        /// Segment file.
        segment: PathBuf,
        /// Byte position of the frame inside the segment.
        position: u64,
        /// What was wrong.
        reason: &'static str,
    },
    /// `commit` for a consumer that was never registered.
    #[error("wal consumer {0:?} is not registered")]
    UnknownConsumer(String),
    /// Consumer names become file names, so they are restricted.
    #[error("wal consumer name {0:?} is invalid (1-64 chars of [A-Za-z0-9_-])")]
    InvalidConsumerName(String),
    /// A consumer cannot have processed records that are not durable yet.
    #[error("wal consumer {name:?} commit {offset} is beyond the durable end {end}")]
    CommitBeyondEnd {
        /// Consumer name.
        name: String,
        /// Offending offset.
        offset: u64,
        /// Next durable offset.
        end: u64,
    },
    /// Rejected `WalOptions` (checked once at open).
    #[error("wal options invalid: {0}")]
    InvalidOptions(String),
    /// Another process (a running gateway) has the log open.
    #[error(
        "wal {path} is locked by another process (is trackgate serve running on this storage.dir?)"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An earlier fsync failed: after that the kernel may have dropped dirty pages, so the log
    /// refuses further appends until it is reopened (and recovery re-verifies the tail).
    #[error("wal is poisoned by an earlier fsync failure; reopen it")]
    Poisoned,
    /// The writer thread is gone (the log was shut down or the thread panicked).
    #[error("wal writer is closed")]
    Closed,
}

impl WalError {
    /// Wrap an I/O error with the step and file it happened on.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, e: std::io::Error) -> Self {
        WalError::Io {
            op,
            path: path.into(),
            source: Arc::new(e),
        }
    }
}
