//! Optional shipment creation through the gateway API (`POST /api/shipments`, design.md), so
//! ETAs are live for the simulated fleet. The endpoint may not exist yet: a 404 is reported
//! once and the run goes on.

use super::route::Route;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// One shipment to create: a device following a route to its stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Device id as the gateway lists it.
    pub device: String,
    /// The route driven.
    pub route: Route,
    /// Where the truck starts, metres along the route.
    pub start_m: f64,
    /// Planned speed, m/s (the truck's cruise speed).
    pub speed_ms: f64,
    /// Simulated time the trip starts.
    pub start: DateTime<Utc>,
}

/// The request body: a midway stop and the destination, planned at `speed_ms` plus 10 %.
pub fn body(p: &Plan) -> Value {
    let coords: Vec<Value> = p.route.points.iter().map(|c| json!([c[0], c[1]])).collect();
    let len = p.route.length();
    let stop = |id: &str, name: &str, at_m: f64| {
        let ([lon, lat], _) = p.route.at(at_m);
        let secs = (at_m - p.start_m).max(0.0) / p.speed_ms.max(0.1) * 1.1;
        let planned = p.start + chrono::Duration::seconds(secs.round() as i64);
        json!({
            "id": id,
            "name": name,
            "lat": lat,
            "lon": lon,
            "planned_arrival": planned.to_rfc3339_opts(SecondsFormat::Secs, true),
            "radius_m": 150,
        })
    };
    let mid = p.start_m + (len - p.start_m) / 2.0;
    json!({
        "id": format!("sim-{}", p.device),
        "device": p.device,
        "route": {"type": "LineString", "coordinates": coords},
        "stops": [stop("mid", "Midway depot", mid), stop("dest", "Destination", len)],
    })
}

/// What happened to the shipments.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Created (2xx).
    pub created: usize,
    /// The gateway has no shipments endpoint (404).
    pub unsupported: bool,
    /// Other failures, with the first error.
    pub failed: usize,
    /// The first failure, for the log.
    pub first_error: Option<String>,
}

/// POSTs every plan to `{api}/api/shipments`; stops at the first 404.
pub async fn create(api: &str, plans: &[Plan]) -> Outcome {
    let client = reqwest::Client::new();
    let url = format!("{}/api/shipments", api.trim_end_matches('/'));
    let mut out = Outcome::default();
    for p in plans {
        match client.post(&url).json(&body(p)).send().await {
            Ok(r) if r.status().is_success() => out.created += 1,
            Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                out.unsupported = true;
                return out;
            }
            Ok(r) => {
                out.failed += 1;
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                out.first_error.get_or_insert(format!("{status}: {text}"));
            }
            Err(e) => {
                out.failed += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn body_matches_the_api_contract() {
        let route = Route::new(vec![[8.0, 47.0], [8.0, 47.1]]).expect("route");
        let len = route.length();
        let plan = Plan {
            device: "864717003283581".into(),
            route,
            start_m: 0.0,
            speed_ms: len / 1000.0, // 1000 s to the end
            start: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("t"),
        };
        let b = body(&plan);
        assert_eq!(b["id"], "sim-864717003283581");
        assert_eq!(b["route"]["type"], "LineString");
        assert_eq!(b["route"]["coordinates"][1], json!([8.0, 47.1]));
        let dest = &b["stops"][1];
        assert_eq!(dest["id"], "dest");
        assert_eq!(dest["lat"], 47.1);
        // 1000 s × 1.1 = 1100 s = 00:18:20.
        assert_eq!(dest["planned_arrival"], "2026-01-01T00:18:20Z");
        assert_eq!(b["stops"][0]["planned_arrival"], "2026-01-01T00:09:10Z");
    }
}
