//! The InfluxDB sink as a consumer of the write-ahead log.
//!
//! Reads from its own persisted offset (`influx`), gathers up to `batch_size` records or
//! `flush_interval`, writes them, and only then lets the runner commit the offset. During an
//! InfluxDB outage the writer retries with backoff while the log keeps the data (devices keep
//! getting ACKs); after a crash the last uncommitted batch is written again, which is harmless
//! because points are keyed by (measurement, tags, time).

use super::{InfluxConfig, InfluxSink, SinkError};
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use futures::future::BoxFuture;
use std::time::Duration;

/// Name of the sink's offset in the log.
pub const CONSUMER_NAME: &str = "influx";

/// [`InfluxSink`] driven by the log.
pub struct InfluxConsumer {
    sink: InfluxSink,
    batch_size: usize,
    linger: Duration,
}

impl InfluxConsumer {
    /// Wraps a sink built from `cfg`.
    pub fn new(sink: InfluxSink, cfg: &InfluxConfig) -> Self {
        InfluxConsumer {
            sink,
            batch_size: cfg.batch_size,
            linger: cfg.flush_interval(),
        }
    }
}

impl LogConsumer for InfluxConsumer {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }

    fn max_batch(&self) -> usize {
        self.batch_size
    }

    fn linger(&self) -> Duration {
        self.linger
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move {
            match self.sink.write_records(records).await {
                Ok(report) => {
                    if report.bad_lines > 0 {
                        tracing::warn!(
                            bad_lines = report.bad_lines,
                            "influx: lines rejected and skipped"
                        );
                    }
                    Ok(())
                }
                Err(SinkError::Stopped) => Err(Stopped),
                Err(e) => {
                    // Only configuration errors end up here (the writer retries the rest);
                    // stop rather than skip data.
                    tracing::error!(error = %e, "influx sink stopped");
                    Err(Stopped)
                }
            }
        })
    }
}
