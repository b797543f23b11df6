//! InfluxDB sink: records from the write-ahead log → line protocol → HTTP writes.
//!
//! ```text
//! &[Record] ──line.rs──▶ LineBatch (lines + offsets; unwritable lines counted, logged)
//!           ──chunks of batch_size──▶ writer.rs: gzip POST, retry 5xx/network forever with
//!           backoff + jitter (until the stop token), split 400s down to the bad line
//!           ──▶ WriteReport { written, bad_lines, dropped_fields, requests }
//! ```
//! The caller (the pipeline, resuming from this sink's log offset) advances its offset only
//! after `write_records` returns `Ok`: by then every line is stored or was isolated as bad.
//! Points are keyed by (measurement, tags, time), so writing a batch again after a crash or a
//! stop is harmless.
//!
//! # Why `influxdb-line-protocol` + `reqwest`, not the `influxdb2` crate (README text)
//!
//! trackgate writes to InfluxDB with InfluxData's own `influxdb-line-protocol` builder and the
//! `reqwest` 0.13 client it already uses elsewhere, rather than the `influxdb2` client crate.
//! `influxdb2` speaks only the v2 API: it hard-codes `/api/v2/write`, which answers
//! `404 page not found` on InfluxDB 1.x, still the version most distributions ship (Debian
//! packages 1.6). It also brings a second HTTP stack (reqwest 0.11 on hyper 0.14) next to the
//! hyper 1 stack of axum and reqwest 0.13, doubling build time and binary size for no gain.
//! A writer is a POST of a gzip body to `/write?db=` (v1) or `/api/v2/write?org=&bucket=`
//! (v2) — a hundred lines we control, including the parts a generic client gets wrong for a
//! durable pipeline: retrying forever without losing order, splitting a rejected batch down to
//! the one bad line instead of dropping or re-sending the whole batch, and creating the v1
//! database on first use. The line-protocol builder does the escaping; we add the checks it
//! lacks (line breaks, non-finite floats, backslashes in tags — see `line.rs`).

mod config;
pub mod consumer;
mod line;
mod metrics;
mod writer;

pub use config::{
    InfluxApi, InfluxConfig, InfluxConfigError, DEFAULT_BATCH_SIZE, DEFAULT_DATABASE,
    DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_RETRY_MAX_MS, DEFAULT_RETRY_MIN_MS, DEFAULT_TIMEOUT_MS,
    MAX_BATCH_SIZE,
};
pub use line::{
    alarm_name, alarm_type, IdentProblem, LineBatch, LineError, MAX_IDENT_BYTES,
    MAX_STRING_FIELD_BYTES,
};
pub use metrics::{ErrorKind, ErrorLabels, InfluxMetrics};
pub use writer::{InfluxWriter, SinkError, WriteReport};

use crate::model::Record;
use tokio_util::sync::CancellationToken;

/// The InfluxDB sink the pipeline drives: encode, chunk, write, report.
pub struct InfluxSink {
    writer: InfluxWriter,
    batch_size: usize,
}

impl InfluxSink {
    /// Validates `cfg` and builds the writer. Cancelling `stop` makes pending and future writes
    /// return [`SinkError::Stopped`] (the log keeps the data).
    pub fn new(
        cfg: &InfluxConfig,
        metrics: InfluxMetrics,
        stop: CancellationToken,
    ) -> Result<Self, SinkError> {
        Ok(InfluxSink {
            writer: InfluxWriter::new(cfg, metrics, stop)?,
            batch_size: cfg.batch_size.max(1),
        })
    }

    /// One `GET /ping` (see [`InfluxWriter::probe`]).
    pub async fn probe(&self) -> Result<u16, String> {
        self.writer.probe().await
    }

    /// The metrics this sink updates (register them once with [`InfluxMetrics::register`]).
    pub fn metrics(&self) -> &InfluxMetrics {
        self.writer.metrics()
    }

    /// Writes records (positions, their alarms as `event` points, device events). Returns
    /// when every line is stored or counted as bad.
    pub async fn write_records(&self, records: &[Record]) -> Result<WriteReport, SinkError> {
        let mut batch = LineBatch::with_capacity(records.len());
        for r in records {
            batch.push_record(r);
        }
        self.write_batch(&batch).await
    }

    /// Writes an encoded batch in requests of at most `batch_size` lines, in order.
    pub async fn write_batch(&self, batch: &LineBatch) -> Result<WriteReport, SinkError> {
        let m = self.writer.metrics();
        m.bad_lines.inc_by(batch.bad_lines() as u64);
        m.dropped_fields.inc_by(batch.dropped_fields() as u64);
        let mut report = WriteReport {
            bad_lines: batch.bad_lines(),
            dropped_fields: batch.dropped_fields(),
            ..WriteReport::default()
        };
        let mut start = 0;
        while start < batch.len() {
            let end = (start + self.batch_size).min(batch.len());
            report.add(self.writer.write(batch.lines(start..end)).await?);
            start = end;
        }
        Ok(report)
    }
}
