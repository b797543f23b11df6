//! Prometheus metrics of the live outputs: webhook attempts by result, MQTT publishes and
//! SSE drops. The lag of every named log consumer (how a slow or dead webhook endpoint or
//! broker shows up) is `trackgate_wal_consumer_lag_{records,seconds}`, kept by the log runner.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Outcome of one delivery attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum AttemptResult {
    /// 2xx.
    Delivered,
    /// 429, 5xx, timeout or connection error: retried later.
    Retry,
    /// Other status, or the retry budget ran out: dead letter.
    Dead,
}

/// Label set of `trackgate_webhook_attempts_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    /// What happened.
    pub result: AttemptResult,
}

/// Shared counters (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct OutputMetrics {
    /// Delivery attempts by result.
    pub attempts: Family<AttemptLabels, Counter>,
    /// Outbox rows waiting for delivery (sampled by the dispatcher on each scan).
    pub pending: Gauge,
    /// MQTT publishes handed to the client.
    pub mqtt_published: Counter,
    /// PUBACKs received from the broker.
    pub mqtt_acked: Counter,
    /// Positions not published because a newer fix was already published for the device.
    pub mqtt_stale_skipped: Counter,
    /// SSE clients dropped because they fell too far behind.
    pub sse_dropped: Counter,
}

impl OutputMetrics {
    /// Registers everything under `r` (use a `trackgate` sub-registry).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "webhook_attempts",
            "Webhook delivery attempts by result",
            self.attempts.clone(),
        );
        r.register(
            "webhook_pending",
            "Webhook outbox rows waiting for delivery",
            self.pending.clone(),
        );
        r.register(
            "mqtt_published",
            "MQTT messages handed to the client (QoS 1)",
            self.mqtt_published.clone(),
        );
        r.register(
            "mqtt_acked",
            "PUBACKs received from the broker",
            self.mqtt_acked.clone(),
        );
        r.register(
            "mqtt_stale_positions_skipped",
            "Positions not published: a newer fix was already published for the device",
            self.mqtt_stale_skipped.clone(),
        );
        r.register(
            "sse_clients_dropped",
            "Event-stream clients disconnected for lagging",
            self.sse_dropped.clone(),
        );
    }
}
