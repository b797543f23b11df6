//! The shipment as posted (`POST /api/shipments`, and the eval harness's shipment file) and
//! its validation. Errors name the offending field, so a client can fix its request.

use super::hos::HosRules;
use crate::model::DeviceId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Ceiling of route points (the API's quota is `tracking.max_route_points`, at most this):
/// a shipment is held in memory and re-projected per fix.
pub const MAX_ROUTE_POINTS: usize = 20_000;
/// Ceiling of stops per shipment (the API's quota is `tracking.max_stops`, at most this).
pub const MAX_STOPS: usize = 500;
/// Longest shipment, stop or customer id, characters (ids become tags and URL segments).
pub const MAX_ID_LEN: usize = 128;
/// Longest stop name, characters.
pub const MAX_NAME_LEN: usize = 256;

/// GeoJSON LineString, `[lon, lat]` pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineString {
    /// Must be `"LineString"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `[lon, lat]` pairs in route order.
    pub coordinates: Vec<[f64; 2]>,
}

/// One planned stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopSpec {
    /// Unique within the shipment.
    pub id: String,
    /// Name for people.
    #[serde(default)]
    pub name: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Planned arrival (RFC 3339).
    pub planned_arrival: DateTime<Utc>,
    /// Arrival radius, metres (default `tracking.stop_radius_m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
    /// Delivery window start; ETA waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<DateTime<Utc>>,
    /// Delivery window end; lateness is measured against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<DateTime<Utc>>,
    /// Planned service (dwell) time at the stop, seconds. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_s: Option<i64>,
    /// Free time before detention, minutes (default `tracking.detention_free_min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_time_min: Option<i64>,
}

/// A shipment request: a device following a planned route through stops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentSpec {
    /// Unique id (409 when it exists).
    pub id: String,
    /// The tracker carried by the vehicle.
    pub device: DeviceId,
    /// Planned route.
    pub route: LineString,
    /// Stops in visiting order, planned arrivals non-decreasing.
    pub stops: Vec<StopSpec>,
    /// Driving-time rules for this shipment's driver (`"eu"`, `"us"`, `"none"`); default
    /// `tracking.hos`. Planned arrivals are taken to include the pauses these rules need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hos: Option<HosRules>,
    /// The customer the shipment is for: a token bound to a customer sees only that
    /// customer's shipments, their events and their vehicles while on them. A customer
    /// token's shipments always get its customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

/// A request that cannot become a shipment; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// JSON path of the bad field (`route.coordinates[3]`, `stops[1].planned_arrival`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        message: message.into(),
    }
}

/// True for a finite WGS-84 coordinate that is not the (0, 0) "no fix" placeholder.
pub fn valid_coord(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
        && !(lat == 0.0 && lon == 0.0)
}

fn check_id(field: &str, id: &str) -> Result<(), SpecError> {
    if id.is_empty() {
        return Err(err(field, "must not be empty"));
    }
    if id.chars().count() > MAX_ID_LEN {
        return Err(err(field, format!("longer than {MAX_ID_LEN} characters")));
    }
    if let Some(c) = id
        .chars()
        .find(|c| matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control())
    {
        return Err(err(
            field,
            format!("contains the forbidden character {c:?}"),
        ));
    }
    Ok(())
}

/// A customer id: like other ids, but spaces are allowed ("ACME Freight").
pub fn check_customer(field: &str, c: &str) -> Result<(), SpecError> {
    if c.trim().is_empty() {
        return Err(err(field, "must not be empty"));
    }
    if c.chars().count() > MAX_ID_LEN {
        return Err(err(field, format!("longer than {MAX_ID_LEN} characters")));
    }
    if let Some(ch) = c.chars().find(|ch| ch.is_control()) {
        return Err(err(field, format!("contains the control character {ch:?}")));
    }
    Ok(())
}

impl ShipmentSpec {
    /// Checks everything that does not need the gateway's state (device knowledge and
    /// uniqueness are the API's job), with the ceilings as limits.
    pub fn validate(&self) -> Result<(), SpecError> {
        self.validate_within(MAX_STOPS, MAX_ROUTE_POINTS)
    }

    /// [`Self::validate`] with tighter quotas of stops and route points (the API's
    /// `tracking.max_stops` / `tracking.max_route_points`).
    pub fn validate_within(&self, max_stops: usize, max_points: usize) -> Result<(), SpecError> {
        let (max_stops, max_points) = (max_stops.min(MAX_STOPS), max_points.min(MAX_ROUTE_POINTS));
        check_id("id", &self.id)?;
        if let Some(c) = &self.customer {
            check_customer("customer", c)?;
        }
        if self.route.kind != "LineString" {
            return Err(err(
                "route.type",
                format!("{:?} is not \"LineString\"", self.route.kind),
            ));
        }
        let n = self.route.coordinates.len();
        if n < 2 {
            return Err(err(
                "route.coordinates",
                format!("has {n} points, needs at least 2"),
            ));
        }
        if n > max_points {
            return Err(err(
                "route.coordinates",
                format!("has {n} points, more than {max_points}"),
            ));
        }
        for (i, [lon, lat]) in self.route.coordinates.iter().enumerate() {
            if !valid_coord(*lat, *lon) {
                return Err(err(
                    format!("route.coordinates[{i}]"),
                    format!("[{lon}, {lat}] is not a valid [lon, lat]"),
                ));
            }
        }
        if self.stops.is_empty() {
            return Err(err("stops", "needs at least 1 stop"));
        }
        if self.stops.len() > max_stops {
            return Err(err(
                "stops",
                format!("has {} stops, more than {max_stops}", self.stops.len()),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in self.stops.iter().enumerate() {
            check_id(&format!("stops[{i}].id"), &s.id)?;
            if s.name.chars().count() > MAX_NAME_LEN {
                return Err(err(
                    format!("stops[{i}].name"),
                    format!("longer than {MAX_NAME_LEN} characters"),
                ));
            }
            if !seen.insert(s.id.as_str()) {
                return Err(err(
                    format!("stops[{i}].id"),
                    format!("{:?} is used twice", s.id),
                ));
            }
            if !valid_coord(s.lat, s.lon) {
                return Err(err(
                    format!("stops[{i}].lat"),
                    format!("({}, {}) is not a valid position", s.lat, s.lon),
                ));
            }
            if let Some(r) = s.radius_m {
                if !(r.is_finite() && (1.0..=50_000.0).contains(&r)) {
                    return Err(err(
                        format!("stops[{i}].radius_m"),
                        format!("{r} is not within 1..50000"),
                    ));
                }
            }
            if i > 0 && s.planned_arrival < self.stops[i - 1].planned_arrival {
                return Err(err(
                    format!("stops[{i}].planned_arrival"),
                    "is earlier than the previous stop's (times must be sorted)",
                ));
            }
            if let (Some(a), Some(b)) = (s.window_start, s.window_end) {
                if b < a {
                    return Err(err(
                        format!("stops[{i}].window_end"),
                        "is before window_start",
                    ));
                }
            }
            if s.service_s.is_some_and(|v| !(0..=7 * 86_400).contains(&v)) {
                return Err(err(
                    format!("stops[{i}].service_s"),
                    "must be within 0..604800",
                ));
            }
            if s.free_time_min
                .is_some_and(|v| !(0..=7 * 1440).contains(&v))
            {
                return Err(err(
                    format!("stops[{i}].free_time_min"),
                    "must be within 0..10080",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ShipmentSpec {
        serde_json::from_value(serde_json::json!({
            "id": "s1", "device": "123",
            "route": {"type": "LineString", "coordinates": [[13.0, 52.0], [13.1, 52.0]]},
            "stops": [
                {"id": "a", "name": "A", "lat": 52.0, "lon": 13.0, "planned_arrival": "2026-03-02T06:00:00Z"},
                {"id": "b", "name": "B", "lat": 52.0, "lon": 13.1, "planned_arrival": "2026-03-02T07:00:00Z"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(spec().validate(), Ok(()));
        let mut s = spec();
        s.route.coordinates.truncate(1);
        assert_eq!(s.validate().unwrap_err().field, "route.coordinates");
        let mut s = spec();
        s.route.coordinates[1] = [200.0, 52.0];
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "route.coordinates[1]: [200, 52] is not a valid [lon, lat]"
        );
        let mut s = spec();
        s.stops[1].planned_arrival = s.stops[0].planned_arrival - chrono::Duration::seconds(1);
        assert_eq!(s.validate().unwrap_err().field, "stops[1].planned_arrival");
        let mut s = spec();
        s.stops[0].lat = 0.0;
        s.stops[0].lon = 0.0;
        assert_eq!(s.validate().unwrap_err().field, "stops[0].lat");
        let mut s = spec();
        s.stops[1].id = "a".into();
        assert_eq!(s.validate().unwrap_err().field, "stops[1].id");
        let mut s = spec();
        s.route.kind = "Point".into();
        assert_eq!(s.validate().unwrap_err().field, "route.type");
        let mut s = spec();
        s.id = "a/b".into();
        assert_eq!(s.validate().unwrap_err().field, "id");
        let mut s = spec();
        s.stops[0].name = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(s.validate().unwrap_err().field, "stops[0].name");
        let mut s = spec();
        s.customer = Some("acme\n".into());
        assert_eq!(s.validate().unwrap_err().field, "customer");
        s.customer = Some("ACME Freight".into());
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn quotas_are_tighter_than_the_ceilings() {
        let s = spec();
        assert_eq!(s.validate_within(2, 2), Ok(()));
        let e = s.validate_within(1, 2).unwrap_err();
        assert_eq!(e.to_string(), "stops: has 2 stops, more than 1");
        assert_eq!(
            s.validate_within(2, 1).unwrap_err().field,
            "route.coordinates"
        );
        // A quota above the ceiling is the ceiling.
        let mut big = spec();
        big.route.coordinates = vec![[13.0, 52.0]; MAX_ROUTE_POINTS + 1];
        assert_eq!(
            big.validate_within(2, usize::MAX).unwrap_err().field,
            "route.coordinates"
        );
    }

    #[test]
    fn hos_override_is_optional_and_checked_by_serde() {
        assert_eq!(spec().hos, None);
        let mut v = serde_json::to_value(spec()).expect("json");
        assert!(v.get("hos").is_none(), "not written when absent");
        v["hos"] = "eu".into();
        let s: ShipmentSpec = serde_json::from_value(v.clone()).expect("eu");
        assert_eq!(s.hos, Some(HosRules::Eu));
        v["hos"] = "moon".into();
        let e = serde_json::from_value::<ShipmentSpec>(v).expect_err("bad");
        assert!(e.to_string().contains("moon"), "{e}");
    }
}
