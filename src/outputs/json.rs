//! The JSON people and programs read of an alert: the webhook body, the `/api/events` item,
//! the MQTT `…/events/…` message and the SSE `alert` event are all [`alert_json`]. (A
//! position's one shape is [`crate::model::PositionView`].)

use crate::model::Alert;
use serde_json::json;

/// The webhook body (and `/api/events` item) of an alert. Field names are the documented
/// payload (README "Webhook payload"); absent values are `null` so receivers see one shape,
/// except `customer`, present only on a customer's alerts (the shape before tenancy).
pub fn alert_json(a: &Alert) -> serde_json::Value {
    let mut v = json!({
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
    });
    // The customer, only when the alert has one (untenanted alerts keep their shape).
    if let Some(c) = &a.customer {
        v["customer"] = json!(c);
    }
    // The geofence, only on fleet events about one (earlier alerts keep their shape).
    if let Some(g) = &a.geofence {
        v["geofence"] = json!(g);
    }
    v
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
            customer: None,
            geofence: None,
        };
        assert_eq!(
            alert_json(&a).to_string(),
            r#"{"alarm":null,"device":"123456789012345","id":"sh1:late:15:1764215276","message":"Shipment sh1 is 17 min late for stop s2","position":{"lat":52.52,"lon":13.405},"shipment":"sh1","state":"firing","stop":"s2","tier":15,"time":"2025-11-27T03:47:56Z","type":"late","value":17.0}"#
        );
        assert_eq!(order_key(&a), "shipment:sh1");
        let b = Alert {
            shipment: None,
            alarm: Some(Alarm::Sos),
            ..a
        };
        assert_eq!(order_key(&b), "device:123456789012345");
        assert_eq!(alert_json(&b)["alarm"], "sos");
    }
}
