use super::{Alarm, DeviceId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Status of one stop of a shipment, as published with each ETA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopStatus {
    OnTime,
    Early,
    Late,
    Arrived,
    Departed,
    Skipped,
    OffRoute,
    NoSignal,
}

impl StopStatus {
    /// The snake_case name, as serialized (`on_time`, `off_route`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            StopStatus::OnTime => "on_time",
            StopStatus::Early => "early",
            StopStatus::Late => "late",
            StopStatus::Arrived => "arrived",
            StopStatus::Departed => "departed",
            StopStatus::Skipped => "skipped",
            StopStatus::OffRoute => "off_route",
            StopStatus::NoSignal => "no_signal",
        }
    }
}

/// One ETA publication for one remaining stop, computed "as of" the fix that produced it.
///
/// Written by tracking into the log; sinks turn it into the `eta` measurement, the retained
/// `trackgate/shipments/{id}/eta` MQTT message and the live stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EtaUpdate {
    pub shipment: String,
    pub stop: String,
    pub device: DeviceId,
    /// Fix time of the position that produced this estimate (the point's time).
    pub fix_time: DateTime<Utc>,
    /// P50 estimated arrival.
    pub eta: DateTime<Utc>,
    /// Lower edge of the P10–P90 band.
    pub eta_p10: DateTime<Utc>,
    /// Upper edge of the P10–P90 band.
    pub eta_p90: DateTime<Utc>,
    /// Planned arrival from the shipment.
    pub planned: DateTime<Utc>,
    /// `eta − planned`, seconds, + = late.
    pub deviation_s: i64,
    /// Remaining route distance to the stop, metres.
    pub remaining_m: f64,
    /// Progress along the whole route, 0..1 (never decreases).
    pub progress: f64,
    /// Distance of the last clean fix from the planned route, metres.
    pub off_route_m: f64,
    pub status: StopStatus,
}

/// Lifecycle step of an alert (exceptions are state machines; device alarms and stop events
/// are single `info` steps or firing/resolved pairs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
    Info,
}

/// Something ops teams and customers are told about: a shipment exception transition
/// (late, early, off_route, long_stop, detention, no_signal), a stop event (arrived,
/// departed, skipped, completed) or a device alarm (`alarm_<kind>`, e.g. `alarm_sos`).
///
/// Written by tracking into the log, so every output (InfluxDB `event`, webhooks, MQTT,
/// the stream) reads the same durable sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Idempotency key: deterministic from (shipment, stop, type, state, tier, time), so a
    /// replay produces the same id and receivers can deduplicate.
    pub id: String,
    /// Event type, snake_case (see the type doc).
    #[serde(rename = "type")]
    pub kind: String,
    pub state: AlertState,
    /// Escalation tier (e.g. minutes late: 15, 60, 240), when the rule has tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u32>,
    /// Event time (fix time of the position that caused it, or timer time for no_signal).
    pub time: DateTime<Utc>,
    pub device: DeviceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<Alarm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// The rule's measure (minutes late, metres off route, minutes stopped ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Human-readable text for people.
    pub message: String,
    /// The customer of the shipment (or of the device's active shipment) the alert is about:
    /// webhooks created with that customer's token receive it, other customers' do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The geofence a fleet event is about (`geofence_enter` / `geofence_exit`, and an
    /// `overspeed` whose limit came from a geofence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geofence: Option<String>,
}
