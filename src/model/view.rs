//! The one JSON shape of a position that people and programs read: the API's device view,
//! the SSE stream, MQTT `…/position` messages and `trackgate decode` all serialize
//! [`PositionView`], so a field has one name and one unit everywhere.
//!
//! Names are the HTTP contract's (`id` is the device id, `speed` km/h, `altitude` m,
//! `battery`/`power` V, times RFC 3339 UTC, fractional seconds only when there are any, as
//! `GET /api/devices` always wrote them); optional attributes are left
//! out when the device did not report them.

use super::{Alarm, IoValue, Position};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A position as published: borrowed from the [`Position`] it shows.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PositionView<'a> {
    /// The device.
    pub id: &'a str,
    /// Registry name of the protocol that decoded it.
    pub protocol: &'a str,
    /// Fix time.
    pub time: DateTime<Utc>,
    /// When the gateway received it.
    pub received: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    /// km/h
    pub speed: f64,
    /// Degrees clockwise from north.
    pub course: f64,
    /// Metres.
    pub altitude: f64,
    pub satellites: u8,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignition: Option<bool>,
    /// Metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub odometer: Option<f64>,
    /// Volts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery: Option<f64>,
    /// Volts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// Metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "<[Alarm]>::is_empty")]
    pub alarms: &'a [Alarm],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub historical: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub io: &'a BTreeMap<String, IoValue>,
}

impl<'a> From<&'a Position> for PositionView<'a> {
    fn from(p: &'a Position) -> Self {
        PositionView {
            id: p.device.as_str(),
            protocol: &p.protocol,
            time: p.fix_time,
            received: p.received,
            lat: p.lat,
            lon: p.lon,
            speed: p.speed_kmh,
            course: p.course,
            altitude: p.altitude_m,
            satellites: p.satellites,
            valid: p.valid,
            ignition: p.ignition,
            odometer: p.odometer_m,
            battery: p.battery_v,
            power: p.power_v,
            accuracy: p.accuracy_m,
            alarms: &p.alarms,
            historical: p.historical,
            io: &p.io,
        }
    }
}

impl Position {
    /// The published view of this position.
    pub fn view(&self) -> PositionView<'_> {
        PositionView::from(self)
    }

    /// The published view as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_value(self.view()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceId;
    use chrono::TimeZone;

    #[test]
    fn contract_names_units_and_optional_fields() {
        let t = Utc.timestamp_opt(1_764_215_276, 0).unwrap();
        let mut p = Position::new(
            DeviceId::new("864717003283581").unwrap(),
            "gt06",
            t,
            t,
            52.52,
            13.405,
            true,
        );
        p.speed_kmh = 42.5;
        assert_eq!(
            p.to_json().to_string(),
            r#"{"altitude":0.0,"course":0.0,"id":"864717003283581","lat":52.52,"lon":13.405,"protocol":"gt06","received":"2025-11-27T03:47:56Z","satellites":0,"speed":42.5,"time":"2025-11-27T03:47:56Z","valid":true}"#
        );
        p.ignition = Some(true);
        p.battery_v = Some(4.1);
        p.alarms.push(Alarm::Sos);
        let v = p.to_json();
        assert_eq!(v["ignition"], true);
        assert_eq!(v["battery"], 4.1);
        assert_eq!(v["alarms"][0], "sos");
        assert!(v.get("odometer").is_none());
    }
}
