//! Prometheus metrics of the InfluxDB sink: one counter per operational fact.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Why a write request did not succeed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ErrorKind {
    /// Connection refused / reset, DNS, or timeout: retried.
    Network,
    /// 5xx (or 429): retried.
    Server,
    /// 4xx other than a missing database: the batch is split to find the bad lines.
    BadRequest,
    /// 401 / 403 / other 4xx (wrong credentials, v2 API on an InfluxDB 1.x): retried with
    /// backoff; an operator must fix the config. Never blamed on the data.
    Config,
    /// 404 database not found (v1): the database is created, then the write retried.
    DatabaseNotFound,
    /// 413: body larger than the server's `max-body-size`; the batch is split.
    TooLarge,
}

/// Label set of `trackgate_influx_write_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// What went wrong.
    pub kind: ErrorKind,
}

/// Counters and the latency histogram; cheap to clone (shared atomics).
#[derive(Clone, Debug)]
pub struct InfluxMetrics {
    /// Lines the server accepted.
    pub lines_written: Counter,
    /// Lines rejected: by the encoder (cannot be written losslessly) or by the server (400 on
    /// the line alone). Never retried.
    pub bad_lines: Counter,
    /// Fields left out of written lines (line breaks, NaN, bad keys).
    pub dropped_fields: Counter,
    /// Failed requests by kind.
    pub write_errors: Family<ErrorLabels, Counter>,
    /// Seconds per write request, successful or not.
    pub request_seconds: Histogram,
}

impl Default for InfluxMetrics {
    fn default() -> Self {
        InfluxMetrics {
            lines_written: Counter::default(),
            bad_lines: Counter::default(),
            dropped_fields: Counter::default(),
            write_errors: Family::default(),
            // 1 ms .. ~16 s
            request_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        }
    }
}

impl InfluxMetrics {
    /// Registers every metric as `influx_*` (counters get `_total` from the encoder). Pass a
    /// registry made with `Registry::with_prefix("trackgate")` to get `trackgate_influx_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "influx_lines_written",
            "Lines accepted by InfluxDB",
            self.lines_written.clone(),
        );
        registry.register(
            "influx_bad_lines",
            "Lines rejected as bad data (encoder or server 400), never retried",
            self.bad_lines.clone(),
        );
        registry.register(
            "influx_dropped_fields",
            "Fields left out of written lines (line breaks, non-finite numbers, bad keys)",
            self.dropped_fields.clone(),
        );
        registry.register(
            "influx_write_errors",
            "Failed InfluxDB write requests by kind",
            self.write_errors.clone(),
        );
        registry.register(
            "influx_request_seconds",
            "InfluxDB write request latency",
            self.request_seconds.clone(),
        );
    }

    /// Counts one failed request.
    pub fn error(&self, kind: ErrorKind) {
        self.write_errors.get_or_create(&ErrorLabels { kind }).inc();
    }

    /// The count of failed requests of one kind (tests and health checks).
    pub fn errors(&self, kind: ErrorKind) -> u64 {
        self.write_errors.get_or_create(&ErrorLabels { kind }).get()
    }
}
