//! A geofence as the API takes it and the store keeps it, and its validation.
//!
//! `area` is a GeoJSON `Polygon` / `MultiPolygon` (RFC 7946: `[lon, lat]` positions, closed
//! rings, the first ring of a polygon is its outline and the others are holes) or
//! `{"circle": {"lat", "lon", "radius_m"}}`. Everything a caller controls has a ceiling
//! (vertices, radius, device list, text lengths), so one request cannot make the index or
//! every fix's test expensive. Every error names the offending field and value.

use crate::model::DeviceId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Longest geofence id.
pub const MAX_ID_LEN: usize = 64;
/// Longest name, characters.
pub const MAX_NAME_LEN: usize = 200;
/// Most vertices of one geofence (all rings of all polygons together).
pub const MAX_VERTICES: usize = 10_000;
/// Largest circle radius, metres.
pub const MAX_RADIUS_M: f64 = 1_000_000.0;
/// Most devices a geofence may be limited to.
pub const MAX_DEVICES: usize = 10_000;
/// Highest speed limit, km/h.
pub const MAX_SPEED_LIMIT_KMH: f64 = 1_000.0;

/// A circle: centre and radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Circle {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

/// One ring: `[lon, lat]` positions, first == last.
pub type Ring = Vec<[f64; 2]>;

/// The area of a geofence, as posted (and shown back the same way).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub enum Area {
    /// A GeoJSON Polygon: outline and holes.
    Polygon(Vec<Ring>),
    /// A GeoJSON MultiPolygon.
    MultiPolygon(Vec<Vec<Ring>>),
    Circle(Circle),
}

/// A geofence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geofence {
    /// Unique id; empty in a `POST` body means "make one".
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub area: Area,
    /// Only these devices are tested against it; empty: every device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceId>,
    /// The customer it belongs to: its events carry that customer, so that customer's
    /// tokens and webhooks see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Speed limit inside it, km/h (overrides `[events] overspeed_limit_kmh` there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_limit_kmh: Option<f64>,
}

/// Why a geofence is refused (the API answers 400 with the text).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct GeofenceError(pub String);

fn bad(msg: impl Into<String>) -> GeofenceError {
    GeofenceError(msg.into())
}

impl Geofence {
    /// Checks everything serde does not: id, name, devices, limit (the area was checked
    /// when it was read).
    pub fn validate(&self) -> Result<(), GeofenceError> {
        valid_id(&self.id)?;
        if self.name.chars().count() > MAX_NAME_LEN {
            return Err(bad(format!(
                "name: {} characters, at most {MAX_NAME_LEN}",
                self.name.chars().count()
            )));
        }
        if self.devices.len() > MAX_DEVICES {
            return Err(bad(format!(
                "devices: {} entries, at most {MAX_DEVICES}",
                self.devices.len()
            )));
        }
        if let Some(c) = &self.customer {
            if c.is_empty() || c.len() > MAX_ID_LEN {
                return Err(bad(format!(
                    "customer: {c:?} must be 1..={MAX_ID_LEN} characters"
                )));
            }
        }
        if let Some(v) = self.speed_limit_kmh {
            if !(v > 0.0 && v <= MAX_SPEED_LIMIT_KMH) {
                return Err(bad(format!(
                    "speed_limit_kmh: {v} must be above 0 and at most {MAX_SPEED_LIMIT_KMH}"
                )));
            }
        }
        Ok(())
    }

    /// Whether the geofence applies to `device` (compared in canonical form: zero-padded
    /// terminal numbers match their unpadded spelling).
    pub fn applies_to(&self, device: &DeviceId) -> bool {
        self.devices.is_empty()
            || self
                .devices
                .iter()
                .any(|d| d.canonical() == device.canonical())
    }
}

/// An id: 1..=64 of `A-Z a-z 0-9 . _ : -` (safe in a URL path, a topic and a tag).
pub fn valid_id(id: &str) -> Result<(), GeofenceError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(bad(format!(
            "id: {id:?} must be 1..={MAX_ID_LEN} characters"
        )));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(bad(format!(
            "id: {id:?} contains {c:?} (allowed: letters, digits, . _ : -)"
        )));
    }
    Ok(())
}

impl Area {
    /// Number of vertices (1 for a circle).
    pub fn vertices(&self) -> usize {
        match self {
            Area::Polygon(p) => p.iter().map(Vec::len).sum(),
            Area::MultiPolygon(m) => m.iter().flatten().map(Vec::len).sum(),
            Area::Circle(_) => 1,
        }
    }
}

impl From<Area> for Value {
    fn from(a: Area) -> Value {
        match a {
            Area::Polygon(p) => json!({"type": "Polygon", "coordinates": p}),
            Area::MultiPolygon(m) => json!({"type": "MultiPolygon", "coordinates": m}),
            Area::Circle(c) => json!({"circle": c}),
        }
    }
}

impl TryFrom<Value> for Area {
    type Error = GeofenceError;
    fn try_from(v: Value) -> Result<Area, GeofenceError> {
        let Value::Object(o) = v else {
            return Err(bad(
                "area: must be a GeoJSON Polygon / MultiPolygon or {\"circle\": {lat, lon, radius_m}}",
            ));
        };
        if let Some(c) = o.get("circle") {
            if o.len() != 1 {
                return Err(bad("area: a circle area has only the key \"circle\""));
            }
            let c: Circle =
                serde_json::from_value(c.clone()).map_err(|e| bad(format!("area.circle: {e}")))?;
            return circle(c).map(Area::Circle);
        }
        let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = o
            .get("coordinates")
            .ok_or_else(|| bad("area.coordinates: missing"))?;
        let area = match kind {
            "Polygon" => Area::Polygon(polygon("area.coordinates", coords)?),
            "MultiPolygon" => {
                let list = array("area.coordinates", coords)?;
                if list.is_empty() {
                    return Err(bad("area.coordinates: a MultiPolygon needs a polygon"));
                }
                let mut m = Vec::with_capacity(list.len().min(1024));
                for (i, p) in list.iter().enumerate() {
                    m.push(polygon(&format!("area.coordinates[{i}]"), p)?);
                }
                Area::MultiPolygon(m)
            }
            other => {
                return Err(bad(format!(
                    "area.type: {other:?} is not supported (Polygon, MultiPolygon, or a circle)"
                )))
            }
        };
        if area.vertices() > MAX_VERTICES {
            return Err(bad(format!(
                "area: {} vertices, at most {MAX_VERTICES}",
                area.vertices()
            )));
        }
        Ok(area)
    }
}

fn circle(c: Circle) -> Result<Circle, GeofenceError> {
    lat_lon("area.circle", c.lat, c.lon)?;
    if !(c.radius_m > 0.0 && c.radius_m <= MAX_RADIUS_M) {
        return Err(bad(format!(
            "area.circle.radius_m: {} must be above 0 and at most {MAX_RADIUS_M}",
            c.radius_m
        )));
    }
    Ok(c)
}

fn lat_lon(at: &str, lat: f64, lon: f64) -> Result<(), GeofenceError> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(bad(format!("{at}: latitude {lat} is outside -90..=90")));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(bad(format!("{at}: longitude {lon} is outside -180..=180")));
    }
    Ok(())
}

fn array<'a>(at: &str, v: &'a Value) -> Result<&'a Vec<Value>, GeofenceError> {
    v.as_array()
        .ok_or_else(|| bad(format!("{at}: must be an array")))
}

/// A polygon's rings; stops reading once the vertex ceiling is passed.
fn polygon(at: &str, v: &Value) -> Result<Vec<Ring>, GeofenceError> {
    let rings = array(at, v)?;
    if rings.is_empty() {
        return Err(bad(format!("{at}: a polygon needs its outline ring")));
    }
    let mut out = Vec::with_capacity(rings.len().min(1024));
    let mut seen = 0usize;
    for (i, r) in rings.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let ring = ring(&at, r)?;
        seen += ring.len();
        if seen > MAX_VERTICES {
            return Err(bad(format!("{at}: more than {MAX_VERTICES} vertices")));
        }
        out.push(ring);
    }
    Ok(out)
}

fn ring(at: &str, v: &Value) -> Result<Ring, GeofenceError> {
    let pts = array(at, v)?;
    if pts.len() > MAX_VERTICES {
        return Err(bad(format!(
            "{at}: {} positions, at most {MAX_VERTICES}",
            pts.len()
        )));
    }
    if pts.len() < 4 {
        return Err(bad(format!(
            "{at}: a ring needs at least 4 positions (closed), has {}",
            pts.len()
        )));
    }
    let mut ring = Vec::with_capacity(pts.len());
    for (j, p) in pts.iter().enumerate() {
        let at = format!("{at}[{j}]");
        let xy = array(&at, p)?;
        // RFC 7946 positions: [lon, lat] with an optional altitude, which is ignored.
        if !(2..=3).contains(&xy.len()) {
            return Err(bad(format!("{at}: a position is [lon, lat]")));
        }
        let num = |k: usize| {
            xy[k]
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(format!("{at}: {} is not a finite number", xy[k])))
        };
        let (lon, lat) = (num(0)?, num(1)?);
        lat_lon(&at, lat, lon)?;
        ring.push([lon, lat]);
    }
    if ring.first() != ring.last() {
        return Err(bad(format!(
            "{at}: the ring is not closed (its first and last positions differ)"
        )));
    }
    let mut distinct = ring.clone();
    distinct.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(bad(format!(
            "{at}: the ring needs at least 3 distinct positions"
        )));
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Geofence, String> {
        let g: Geofence = serde_json::from_value(v).map_err(|e| e.to_string())?;
        g.validate().map_err(|e| e.to_string())?;
        Ok(g)
    }

    fn square() -> Value {
        json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01], [13.0, 52.0]]]})
    }

    #[test]
    fn polygon_multipolygon_and_circle_read_and_show_back_the_same() {
        for area in [
            square(),
            json!({"type": "MultiPolygon", "coordinates": [square()["coordinates"].clone()]}),
            json!({"circle": {"lat": 52.0, "lon": 13.0, "radius_m": 150.0}}),
        ] {
            let body =
                json!({"id": "depot-1", "name": "Depot", "area": area, "speed_limit_kmh": 30.0});
            let g = parse(body.clone()).unwrap();
            assert_eq!(serde_json::to_value(&g).unwrap(), body);
        }
    }

    #[test]
    fn bad_areas_are_refused_naming_the_place() {
        let open = json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 52.0], [13.01, 52.01], [13.0, 52.01]]]});
        let short = json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 52.0], [13.0, 52.0]]]});
        let lat = json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 95.0], [13.01, 52.01], [13.0, 52.0]]]});
        let text = json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], ["x", 52.0], [13.01, 52.01], [13.0, 52.0]]]});
        let flat = json!({"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.01, 52.0], [13.0, 52.0], [13.0, 52.0]]]});
        let mut big: Vec<[f64; 2]> = (0..MAX_VERTICES + 1)
            .map(|i| [13.0 + (i as f64 * 1e-6), 52.0 + ((i % 2) as f64) * 1e-3])
            .collect();
        big.push(big[0]);
        let huge = json!({"type": "Polygon", "coordinates": [big]});
        for (area, want) in [
            (open, "not closed"),
            (short, "at least 4 positions"),
            (lat, "coordinates[0][1]: latitude 95 is outside"),
            (text, "coordinates[0][1]: \"x\" is not a finite number"),
            (flat, "3 distinct"),
            (huge, "at most 10000"),
            (
                json!({"type": "Point", "coordinates": [1, 2]}),
                "\"Point\" is not supported",
            ),
            (
                json!({"circle": {"lat": 52.0, "lon": 13.0, "radius_m": 0.0}}),
                "radius_m: 0 must be above 0",
            ),
            (
                json!({"circle": {"lat": 52.0, "lon": 13.0, "radius_m": 2e6}}),
                "at most 1000000",
            ),
            (
                json!({"circle": {"lat": 52.0, "lon": 190.0, "radius_m": 5.0}}),
                "longitude 190",
            ),
            (
                json!({"circle": {"lat": 52.0, "lon": 13.0}}),
                "missing field `radius_m`",
            ),
            (json!("x"), "must be a GeoJSON Polygon"),
        ] {
            let e = parse(json!({"id": "g", "name": "n", "area": area})).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn fields_are_bounded() {
        let ok = |extra: Value| {
            let mut b = json!({"id": "g1", "name": "n", "area": square()});
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            parse(b)
        };
        assert!(ok(json!({})).is_ok());
        for (extra, want) in [
            (json!({"id": "a/b"}), "contains '/'"),
            (json!({"id": ""}), "id: \"\" must be"),
            (json!({"speed_limit_kmh": -5.0}), "speed_limit_kmh: -5"),
            (json!({"name": "x".repeat(201)}), "name: 201 characters"),
            (json!({"devices": ["a b"]}), "forbidden character"),
            (json!({"color": "red"}), "unknown field `color`"),
        ] {
            let e = ok(extra.clone()).unwrap_err();
            assert!(e.contains(want), "{extra}: {e}");
        }
    }

    #[test]
    fn device_filter_compares_canonical_ids() {
        let mut g =
            parse(json!({"id": "g", "name": "n", "area": square(), "devices": ["013912345678"]}))
                .unwrap();
        assert!(g.applies_to(&DeviceId::new("13912345678").unwrap()));
        assert!(!g.applies_to(&DeviceId::new("1").unwrap()));
        g.devices.clear();
        assert!(g.applies_to(&DeviceId::new("1").unwrap()));
    }
}
