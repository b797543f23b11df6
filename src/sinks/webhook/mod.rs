//! Customer webhooks and the event history: a log consumer turns every [`Alert`] into an
//! event row and one outbox row per matching subscription (one SQLite transaction, then the
//! log offset is committed), and a dispatcher POSTs due outbox rows, signed, with retries.
//!
//! Only `Record::Alert` is an "event" here. Device alarms reach customers as `alarm_<kind>`
//! alerts produced by the tracking engine (which also de-duplicates latched alarms), not from
//! `Position.alarms` / `EventKind::Alarm` directly, so a latched SOS is one webhook, not one
//! per fix.

pub mod config;
pub mod consumer;
pub mod dispatcher;
pub mod metrics;
pub mod sign;
pub mod start;
pub mod store;

pub use config::WebhookConfig;
pub use consumer::WebhookConsumer;
pub use dispatcher::Dispatcher;
pub use start::start_outputs;
pub use store::Store;

use crate::model::Alert;
use serde_json::json;

/// Name of the consumer's offset in the write-ahead log.
pub const CONSUMER_NAME: &str = "webhooks";

/// File name of the embedded store under `storage.dir`.
pub const STORE_FILE: &str = "outputs.sqlite";

/// The webhook body (and `/api/events` item) of an alert. Field names are the documented
/// payload (README "Webhook payload"); absent values are `null` so receivers see one shape.
pub fn payload(a: &Alert) -> serde_json::Value {
    json!({
        "id": a.id,
        "type": a.kind,
        "state": a.state,
        "tier": a.tier,
        "time": a.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "device": a.device.as_str(),
        "shipment": a.shipment,
        "stop": a.stop,
        "alarm": a.alarm,
        "position": match (a.lat, a.lon) {
            (Some(lat), Some(lon)) => json!({ "lat": lat, "lon": lon }),
            _ => serde_json::Value::Null,
        },
        "value": a.value,
        "message": a.message,
    })
}

/// Deliveries with the same key to one subscription are sent in order: per shipment, or per
/// device for alerts without a shipment (device alarms).
pub fn order_key(a: &Alert) -> String {
    match &a.shipment {
        Some(s) => format!("shipment:{s}"),
        None => format!("device:{}", a.device.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Alarm, AlertState, DeviceId};
    use chrono::TimeZone;

    #[test]
    fn payload_has_every_documented_field() {
        let a = Alert {
            id: "sh1:late:15:1764215276".into(),
            kind: "late".into(),
            state: AlertState::Firing,
            tier: Some(15),
            time: chrono::Utc
                .with_ymd_and_hms(2025, 11, 27, 3, 47, 56)
                .unwrap(),
            device: DeviceId::new("123456789012345").unwrap(),
            shipment: Some("sh1".into()),
            stop: Some("s2".into()),
            alarm: None,
            lat: Some(52.52),
            lon: Some(13.405),
            value: Some(17.0),
            message: "Shipment sh1 is 17 min late for stop s2".into(),
        };
        assert_eq!(
            payload(&a).to_string(),
            r#"{"alarm":null,"device":"123456789012345","id":"sh1:late:15:1764215276","message":"Shipment sh1 is 17 min late for stop s2","position":{"lat":52.52,"lon":13.405},"shipment":"sh1","state":"firing","stop":"s2","tier":15,"time":"2025-11-27T03:47:56Z","type":"late","value":17.0}"#
        );
        assert_eq!(order_key(&a), "shipment:sh1");
        let b = Alert {
            shipment: None,
            alarm: Some(Alarm::Sos),
            ..a
        };
        assert_eq!(order_key(&b), "device:123456789012345");
        assert_eq!(payload(&b)["alarm"], "sos");
    }
}
