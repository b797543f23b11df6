//! Prometheus metrics of the log. Handles are cheap clones sharing the same atomics, so the
//! writer thread updates them and `register` exposes them.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Metrics of one write-ahead log.
#[derive(Debug, Clone)]
pub struct WalMetrics {
    /// Bytes held by all segments (what the size cap is compared to).
    pub size_bytes: Gauge,
    /// Segment files currently on disk.
    pub segments: Gauge,
    /// Duration of each fsync of the active segment, seconds (one per group commit).
    pub fsync_seconds: Histogram,
    /// fsyncs performed (compare with `records` to see group commit at work).
    pub fsyncs: Counter,
    /// Accepted append calls (batches).
    pub appends: Counter,
    /// Accepted records.
    pub records: Counter,
    /// Appends refused with `WalError::Full`.
    pub full_rejections: Counter,
}

impl Default for WalMetrics {
    fn default() -> Self {
        WalMetrics {
            size_bytes: Gauge::default(),
            segments: Gauge::default(),
            // 50 µs .. ~3.3 s: covers NVMe to a struggling network disk.
            fsync_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 17)),
            fsyncs: Counter::default(),
            appends: Counter::default(),
            records: Counter::default(),
            full_rejections: Counter::default(),
        }
    }
}

impl WalMetrics {
    /// Register every metric under the `wal_` prefix so `/metrics` exposes them.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("wal");
        r.register(
            "size_bytes",
            "Bytes held by WAL segments",
            self.size_bytes.clone(),
        );
        r.register(
            "segments",
            "WAL segment files on disk",
            self.segments.clone(),
        );
        r.register(
            "fsync_seconds",
            "Duration of WAL group-commit fsyncs",
            self.fsync_seconds.clone(),
        );
        r.register("fsyncs", "WAL fsyncs performed", self.fsyncs.clone());
        r.register(
            "appends",
            "Accepted WAL append batches",
            self.appends.clone(),
        );
        r.register("records", "Accepted WAL records", self.records.clone());
        r.register(
            "full_rejections",
            "WAL appends refused because the size cap was reached",
            self.full_rejections.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_prefixed_names() {
        let m = WalMetrics::default();
        let mut reg = Registry::default();
        m.register(&mut reg);
        m.records.inc_by(3);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(text.contains("wal_records_total 3"), "{text}");
        assert!(text.contains("wal_fsync_seconds_bucket"), "{text}");
    }
}
