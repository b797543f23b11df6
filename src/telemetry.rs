//! Logs and metrics: one named event per operational fact.
//!
//! Logs are `tracing` events with structured fields (`protocol`, `device`, `peer`,
//! `error = %e`); every operational event also has a Prometheus counter, exposed in the text
//! exposition format at `GET /metrics`. Other modules (the log, sinks) register their own
//! metrics into the same registry through [`Metrics::register`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// Label set of per-protocol metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtoLabel {
    pub protocol: &'static str,
}

/// Label set of per-protocol, per-transport metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnLabel {
    pub protocol: &'static str,
    pub transport: &'static str,
}

/// Label set of per-protocol metrics with a reason (`future`, `wrong_code`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtoReasonLabel {
    pub protocol: &'static str,
    pub reason: &'static str,
}

/// Label set of per-protocol, per-transport metrics with a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnReasonLabel {
    pub protocol: &'static str,
    pub transport: &'static str,
    pub reason: &'static str,
}

/// Label set of device takeovers: the protocol of the newcomer and `devices.takeover`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TakeoverLabel {
    pub protocol: &'static str,
    pub policy: &'static str,
}

/// Counters of the ingest side, labelled by protocol.
#[derive(Default)]
pub struct IngestMetrics {
    /// Connections accepted (TCP) — `trackgate_connections_total`.
    pub connections: Family<ConnLabel, Counter>,
    /// Connections open now — `trackgate_connections_active`.
    pub connections_active: Family<ConnLabel, Gauge>,
    /// Connections refused at accept because `max_connections` was reached.
    pub connections_refused: Family<ConnLabel, Counter>,
    /// Frames cut by the framer (TCP) or datagrams received (UDP).
    pub frames: Family<ProtoLabel, Counter>,
    /// Records (positions and events) made durable.
    pub records: Family<ProtoLabel, Counter>,
    /// Frames that failed to decode (not counting checksum failures).
    pub decode_errors: Family<ProtoLabel, Counter>,
    /// Frames dropped for a bad checksum under `checksum = "verify"`.
    pub checksum_failures: Family<ProtoLabel, Counter>,
    /// Bytes skipped while resyncing to a start marker (garbage, oversized frames).
    pub garbage_bytes: Family<ProtoLabel, Counter>,
    /// Frames that carried data before the device identified itself.
    pub unidentified_frames: Family<ProtoLabel, Counter>,
    /// Devices refused by `devices.allow`.
    pub devices_refused: Family<ProtoLabel, Counter>,
    /// ACKs written to devices.
    pub acks: Family<ProtoLabel, Counter>,
    /// ACKs withheld because the durable stage refused the batch (full, shutting down).
    pub acks_withheld: Family<ProtoLabel, Counter>,
    /// Connections closed for idleness.
    pub idle_timeouts: Family<ProtoLabel, Counter>,
    /// Connections refused at accept by the per-source-IP limits (`reason`: `connections`
    /// for `max_connections_per_ip`, `rate` for `new_connections_per_ip_per_sec`).
    pub connections_refused_per_ip: Family<ConnReasonLabel, Counter>,
    /// Connections (TCP) and UDP peers closed because nothing identified a device within
    /// `identify_timeout_secs`.
    pub identify_timeouts: Family<ConnLabel, Counter>,
    /// Connections (TCP) and UDP peers closed after `max_bad_frames` bad frames before
    /// identifying.
    pub bad_frame_closes: Family<ConnLabel, Counter>,
    /// Device credentials refused (`reason`: `wrong_code`, `not_authenticated`,
    /// `already_registered`).
    pub auth_failures: Family<ProtoReasonLabel, Counter>,
    /// A device id claimed by a second connection while online (`policy`: what happened).
    pub takeovers: Family<TakeoverLabel, Counter>,
    /// Frames naming a second device id on a connection without `multi_terminal`.
    pub second_terminals: Family<ProtoLabel, Counter>,
    /// Devices refused because their source address is outside their `[[devices.keys]]`
    /// `peer_cidrs`.
    pub devices_refused_peer: Family<ProtoLabel, Counter>,
    /// Positions dropped for an unbelievable fix time (`reason`: `future`, `before_2000`).
    pub fixes_rejected: Family<ProtoReasonLabel, Counter>,
}

impl IngestMetrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "trackgate_connections",
            "Device connections accepted",
            self.connections.clone(),
        );
        r.register(
            "trackgate_connections_active",
            "Device connections open now",
            self.connections_active.clone(),
        );
        r.register(
            "trackgate_connections_refused",
            "Connections refused because max_connections was reached",
            self.connections_refused.clone(),
        );
        r.register("trackgate_frames", "Frames received", self.frames.clone());
        r.register(
            "trackgate_records",
            "Records made durable",
            self.records.clone(),
        );
        r.register(
            "trackgate_decode_errors",
            "Frames that failed to decode (checksum failures excluded)",
            self.decode_errors.clone(),
        );
        r.register(
            "trackgate_checksum_failures",
            "Frames dropped for a bad checksum",
            self.checksum_failures.clone(),
        );
        r.register(
            "trackgate_garbage_bytes",
            "Bytes skipped while resyncing to a frame start",
            self.garbage_bytes.clone(),
        );
        r.register(
            "trackgate_unidentified_frames",
            "Data frames received before the device identified itself",
            self.unidentified_frames.clone(),
        );
        r.register(
            "trackgate_devices_refused",
            "Devices refused by devices.allow",
            self.devices_refused.clone(),
        );
        r.register(
            "trackgate_acks",
            "ACKs written to devices",
            self.acks.clone(),
        );
        r.register(
            "trackgate_acks_withheld",
            "ACKs withheld because the durable stage refused the batch",
            self.acks_withheld.clone(),
        );
        r.register(
            "trackgate_idle_timeouts",
            "Connections closed for idleness",
            self.idle_timeouts.clone(),
        );
        self.register_security(r);
    }

    /// The counters of the device-side defences (issue: access control).
    fn register_security(&self, r: &mut Registry) {
        r.register(
            "trackgate_connections_refused_per_ip",
            "Connections refused at accept by a per-source-IP limit",
            self.connections_refused_per_ip.clone(),
        );
        r.register(
            "trackgate_identify_timeouts",
            "Connections closed because no device identified within identify_timeout_secs",
            self.identify_timeouts.clone(),
        );
        r.register(
            "trackgate_bad_frame_closes",
            "Connections closed after max_bad_frames bad frames before identifying",
            self.bad_frame_closes.clone(),
        );
        r.register(
            "trackgate_device_auth_failures",
            "Device credentials refused (JT/T 808 auth codes)",
            self.auth_failures.clone(),
        );
        r.register(
            "trackgate_device_takeovers",
            "Device ids claimed by a second connection while online",
            self.takeovers.clone(),
        );
        r.register(
            "trackgate_second_terminal_refused",
            "Frames naming a second device id on one connection (multi_terminal off)",
            self.second_terminals.clone(),
        );
        r.register(
            "trackgate_devices_refused_peer",
            "Devices refused: source address outside their devices.keys peer_cidrs",
            self.devices_refused_peer.clone(),
        );
        r.register(
            "trackgate_fixes_rejected",
            "Positions dropped for a fix time in the future or before 2000",
            self.fixes_rejected.clone(),
        );
    }
}

/// The process's metrics: the registry and the ingest counters.
pub struct Metrics {
    /// Ingest counters (hot path: lock-free atomics).
    pub ingest: IngestMetrics,
    registry: Mutex<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the ingest counters registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let ingest = IngestMetrics::default();
        ingest.register(&mut registry);
        Metrics {
            ingest,
            registry: Mutex::new(registry),
        }
    }

    /// Lets another module register its metrics.
    pub fn register(&self, f: impl FnOnce(&mut Registry)) {
        let mut r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut r);
    }

    /// Prometheus text exposition of every registered metric.
    pub fn encode(&self) -> String {
        let r = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &r);
        out
    }
}

/// Installs the `tracing` subscriber: `RUST_LOG` filter (default `info`), text to stderr.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
