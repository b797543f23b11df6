//! Routes: a polyline of (lon, lat) points, loaded from a GeoJSON LineString or generated,
//! with distance lookups so a trip can be advanced by metres.

use rand::rngs::StdRng;
use rand::RngExt;
use std::path::Path;

/// Mean Earth radius used for every distance here (spherical model; metres).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Why a route could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The file could not be read.
    #[error("route file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a GeoJSON LineString (or Feature / FeatureCollection holding one).
    #[error("route file {path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A polyline with cumulative distances, the path a simulated truck follows.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Vertices as `[lon, lat]` degrees (GeoJSON order).
    pub points: Vec<[f64; 2]>,
    /// `cumulative[i]` = metres from the first vertex to vertex `i`.
    cumulative: Vec<f64>,
}

/// Great-circle distance between two `[lon, lat]` points, metres.
pub fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Initial bearing from `a` to `b`, degrees 0..360 clockwise from north.
pub fn bearing(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[1].to_radians(), b[1].to_radians());
    let dlon = (b[0] - a[0]).to_radians();
    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    (y.atan2(x).to_degrees() + 360.0) % 360.0
}

/// The point `dist_m` metres from `p` along `bearing_deg` (small-distance flat approximation,
/// exact enough for route generation and GPS noise of a few km at most).
pub fn offset(p: [f64; 2], bearing_deg: f64, dist_m: f64) -> [f64; 2] {
    let b = bearing_deg.to_radians();
    let dlat = dist_m * b.cos() / EARTH_RADIUS_M;
    let dlon = dist_m * b.sin() / (EARTH_RADIUS_M * p[1].to_radians().cos().max(1e-6));
    [p[0] + dlon.to_degrees(), p[1] + dlat.to_degrees()]
}

impl Route {
    /// A route through `points`; `None` with fewer than two points or non-finite values.
    pub fn new(points: Vec<[f64; 2]>) -> Option<Route> {
        if points.len() < 2 || points.iter().flatten().any(|v| !v.is_finite()) {
            return None;
        }
        let mut cumulative = Vec::with_capacity(points.len());
        let mut total = 0.0;
        cumulative.push(0.0);
        for w in points.windows(2) {
            total += haversine(w[0], w[1]);
            cumulative.push(total);
        }
        Some(Route { points, cumulative })
    }

    /// Loads a GeoJSON file: a LineString geometry, a Feature with one, or the first
    /// LineString Feature of a FeatureCollection.
    pub fn load(path: &Path) -> Result<Route, RouteError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RouteError::Io {
            path: p.clone(),
            source,
        })?;
        Route::from_geojson(&text).map_err(|reason| RouteError::Format { path: p, reason })
    }

    /// Parses GeoJSON text (see [`Route::load`]).
    pub fn from_geojson(text: &str) -> Result<Route, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let geom = find_linestring(&v).ok_or("no LineString geometry found")?;
        let coords = geom["coordinates"]
            .as_array()
            .ok_or("LineString without a coordinates array")?;
        let mut points = Vec::with_capacity(coords.len());
        for (i, c) in coords.iter().enumerate() {
            let lon = c.get(0).and_then(|x| x.as_f64());
            let lat = c.get(1).and_then(|x| x.as_f64());
            match (lon, lat) {
                (Some(lon), Some(lat)) if lon.abs() <= 180.0 && lat.abs() <= 90.0 => {
                    points.push([lon, lat])
                }
                _ => return Err(format!("coordinate {i} is not [lon, lat] in range: {c}")),
            }
        }
        Route::new(points).ok_or_else(|| "a route needs at least two coordinates".into())
    }

    /// A plausible road-like route: `length_m` metres from `start` in legs of 300–1500 m,
    /// each turning at most 35° from the previous heading.
    pub fn generate(rng: &mut StdRng, start: [f64; 2], length_m: f64) -> Route {
        let mut heading: f64 = rng.random_range(0.0..360.0);
        let mut points = vec![start];
        let mut done = 0.0;
        let mut here = start;
        while done < length_m.max(100.0) {
            let leg = rng
                .random_range(300.0..1500.0_f64)
                .min(length_m.max(100.0) - done + 1.0);
            heading = (heading + rng.random_range(-35.0..35.0) + 360.0) % 360.0;
            here = offset(here, heading, leg);
            points.push(here);
            done += leg;
        }
        // `points` has at least two finite points by construction.
        Route::new(points).unwrap_or_else(|| Route {
            points: vec![start, offset(start, 0.0, 100.0)],
            cumulative: vec![0.0, 100.0],
        })
    }

    /// Total length, metres.
    pub fn length(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// Position and heading at `dist_m` metres along the route (clamped to its ends).
    pub fn at(&self, dist_m: f64) -> ([f64; 2], f64) {
        let d = dist_m.clamp(0.0, self.length());
        // First vertex whose cumulative distance is >= d, so segment i-1..i contains d.
        let i = self
            .cumulative
            .partition_point(|&c| c < d)
            .clamp(1, self.points.len() - 1);
        let (a, b) = (self.points[i - 1], self.points[i]);
        let seg = self.cumulative[i] - self.cumulative[i - 1];
        let t = if seg > 0.0 {
            (d - self.cumulative[i - 1]) / seg
        } else {
            0.0
        };
        (
            [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t],
            bearing(a, b),
        )
    }
}

fn find_linestring(v: &serde_json::Value) -> Option<&serde_json::Value> {
    match v["type"].as_str()? {
        "LineString" => Some(v),
        "Feature" => find_linestring(&v["geometry"]),
        "FeatureCollection" => v["features"].as_array()?.iter().find_map(find_linestring),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn haversine_one_degree_of_latitude() {
        // 1° of latitude on the 6,371,008.8 m sphere = 2πR/360.
        let d = haversine([10.0, 50.0], [10.0, 51.0]);
        assert!((d - 111_195.08).abs() < 0.01, "{d}");
    }

    #[test]
    fn at_interpolates_and_clamps() {
        let r = Route::new(vec![[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).expect("route");
        let leg = haversine([0.0, 0.0], [0.0, 1.0]);
        let (p, h) = r.at(leg / 2.0);
        assert!((p[1] - 0.5).abs() < 1e-9 && p[0] == 0.0, "{p:?}");
        assert!(h.abs() < 1e-9, "due north, got {h}");
        let (end, h2) = r.at(r.length() + 5.0);
        assert_eq!(end, [1.0, 1.0]);
        assert!((h2 - 90.0).abs() < 0.01, "due east, got {h2}");
    }

    #[test]
    fn geojson_feature_collection() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{},"geometry":{"type":"LineString","coordinates":[[8.5,47.3],[8.6,47.4]]}}]}"#;
        let r = Route::from_geojson(text).expect("parses");
        assert_eq!(r.points, vec![[8.5, 47.3], [8.6, 47.4]]);
        assert!(Route::from_geojson(r#"{"type":"Point","coordinates":[1,2]}"#).is_err());
        assert!(Route::from_geojson(r#"{"type":"LineString","coordinates":[[1,2]]}"#).is_err());
        assert!(
            Route::from_geojson(r#"{"type":"LineString","coordinates":[[1,200],[1,2]]}"#).is_err()
        );
    }

    #[test]
    fn generated_route_has_requested_length() {
        let mut rng = StdRng::seed_from_u64(7);
        let r = Route::generate(&mut rng, [8.5, 47.3], 20_000.0);
        // The last leg is cut to the remainder (+1 m), so the length is within 1 m.
        assert!((r.length() - 20_000.0).abs() < 1.5, "{}", r.length());
    }
}
