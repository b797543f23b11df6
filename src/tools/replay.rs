//! `trackgate replay --to-influx URL --from TIME`: backfill an InfluxDB from the log.
//!
//! With no `[influx]` configured the write-ahead log is the embedded store (kept for
//! `storage.retention`). This reads it from the oldest retained record, skips records
//! received before `--from` (the log stores each record's receive time, so skipping costs no
//! decoding), and writes the rest through the same encoder and writer as the live sink.
//! Points are idempotent, so replaying twice, or over data the live sink wrote, is harmless.
//! The log is opened exclusively: stop `trackgate serve` on that `storage.dir` first.
//! The server is probed first (one `GET /ping`), so a wrong URL or a certificate that does
//! not verify ends the command with the reason instead of being retried like an outage.

use crate::pipeline::local::LocalLog;
use crate::pipeline::log::{DurableLog, LogError};
use crate::pipeline::wal::{Wal, WalError};
use crate::sinks::influx::{InfluxConfig, InfluxMetrics, InfluxSink};
use chrono::{DateTime, Utc};
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records read from the log (after the `--from` filter).
    pub records: u64,
    /// Records skipped as older than `--from`.
    pub skipped: u64,
    /// Records that could not be decoded from the log.
    pub undecodable: u64,
    /// Lines written to InfluxDB.
    pub lines_written: u64,
    /// Lines InfluxDB (or the encoder) rejected.
    pub bad_lines: u64,
}

/// Why a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("influx: {0}")]
    Sink(String),
}

/// Replays the log in `wal_dir` into InfluxDB.
pub async fn replay(
    wal_dir: &Path,
    wal_opts: crate::pipeline::wal::WalOptions,
    influx: &InfluxConfig,
    from: Option<DateTime<Utc>>,
    stop: CancellationToken,
) -> Result<ReplayReport, ReplayError> {
    let log = LocalLog::new(Wal::open(wal_dir, wal_opts)?);
    let sink = InfluxSink::new(influx, InfluxMetrics::default(), stop)
        .map_err(|e| ReplayError::Sink(e.to_string()))?;
    sink.probe().await.map_err(|e| {
        ReplayError::Sink(format!(
            "{} is not reachable: {e}",
            crate::secret::redact_url(&influx.url)
        ))
    })?;
    let from_ms = from
        .map(|t| t.timestamp_millis().max(0) as u64)
        .unwrap_or(0);
    let end = log.end();
    let mut reader = log.reader(log.oldest());
    let mut report = ReplayReport::default();
    let batch = influx.batch_size.max(1);
    while reader.position() < end {
        let rows = reader.try_next_batch(batch).await?;
        if rows.is_empty() {
            break;
        }
        let mut records = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.received_ms < from_ms {
                report.skipped += 1;
                continue;
            }
            match r.decode() {
                Ok(rec) => records.push(rec),
                Err(e) => {
                    report.undecodable += 1;
                    tracing::warn!(cursor = %r.cursor, error = %e, "undecodable log record skipped");
                }
            }
        }
        report.records += records.len() as u64;
        if records.is_empty() {
            continue;
        }
        let w = sink
            .write_records(&records)
            .await
            .map_err(|e| ReplayError::Sink(e.to_string()))?;
        report.lines_written += w.written as u64;
        report.bad_lines += w.bad_lines as u64;
    }
    Ok(report)
}
