//! Prometheus metrics of fleet events: events derived, by type, and geofences held.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label set of `trackgate_fleet_events_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    /// Event type (`geofence_enter`, `overspeed`, ...).
    pub r#type: String,
}

/// Shared counters (cheap to clone).
#[derive(Clone, Debug, Default)]
pub struct FleetMetrics {
    /// Events derived (a batch replayed after a crash counts again; its events do not
    /// reach receivers twice).
    pub events: Family<TypeLabel, Counter>,
    /// Geofences in the index.
    pub geofences: Gauge,
}

impl FleetMetrics {
    /// Registers everything under `r` (use a `trackgate` sub-registry).
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "fleet_events",
            "Fleet events derived from positions, by type",
            self.events.clone(),
        );
        r.register(
            "fleet_geofences",
            "Geofences held by the fleet index",
            self.geofences.clone(),
        );
    }
}
