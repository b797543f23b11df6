//! Optional shipment creation through the gateway API (`POST /api/shipments`, design.md), so
//! ETAs are live for the simulated fleet. The endpoint may not exist yet: a 404 is reported
//! once and the run goes on.
//!
//! A plan can carry a [`Twist`] so that a demo shows exceptions within minutes: a schedule
//! the truck cannot keep (late), or a planned line that leaves the road the truck drives
//! (off route). The truck itself behaves the same either way; only the plan differs.

use super::route::{self, Route};
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
    /// Planned speed, m/s (the truck's expected average speed).
    pub speed_ms: f64,
    /// Simulated time the trip starts.
    pub start: DateTime<Utc>,
    /// How the plan differs from what the truck will do.
    pub twist: Twist,
    /// Time the truck spends at the midway stop, seconds (its `service_s`; 0: none).
    pub dwell_s: f64,
}

/// How a plan is made to disagree with the drive, so exceptions are raised on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Twist {
    /// A fair plan: cruise-speed travel time plus 10 %.
    #[default]
    None,
    /// Planned travel times at 40 % of what the truck needs: the ETA runs late by more than
    /// the gateway's 15-minute threshold as soon as the trip is half an hour long.
    Late,
    /// The planned line leaves the driven road by [`DETOUR_OFFSET_M`] for a stretch starting
    /// [`DETOUR_LEAD_M`] ahead of the truck: it is off route there, and back on after.
    OffRoute,
}

/// Sideways distance of the off-route stretch of a [`Twist::OffRoute`] plan, metres: well
/// beyond the gateway's 150 m off-route distance and its 500 m suppression near stops.
pub const DETOUR_OFFSET_M: f64 = 800.0;
/// Where the off-route stretch begins, metres ahead of the truck's start.
pub const DETOUR_LEAD_M: f64 = 1_000.0;
/// Longest off-route stretch, metres.
pub const DETOUR_LEN_M: f64 = 4_000.0;
/// Sampling step of a rebuilt planned line, metres.
const DETOUR_STEP_M: f64 = 250.0;

impl Twist {
    /// The twist of device `index` when a fleet asks for exceptions: one in four devices
    /// is late (index 1, 5, 9, …), one in four drives off its plan (3, 7, 11, …).
    pub fn for_index(index: usize) -> Twist {
        match index % 4 {
            1 => Twist::Late,
            3 => Twist::OffRoute,
            _ => Twist::None,
        }
    }
}

/// The planned line: the driven route, or for [`Twist::OffRoute`] the route resampled with
/// the stretch `[start + lead, min(start + lead + len, mid-stop − lead)]` pushed sideways, so
/// neither the start nor a stop lies on the detour.
pub fn planned_line(p: &Plan) -> Vec<[f64; 2]> {
    if p.twist != Twist::OffRoute {
        return p.route.points.clone();
    }
    let len = p.route.length();
    let from = p.start_m + DETOUR_LEAD_M;
    let to = (from + DETOUR_LEN_M).min(mid_stop_m(p.start_m, len) - DETOUR_LEAD_M);
    if to - from < 2.0 * DETOUR_STEP_M {
        return p.route.points.clone(); // route too short for a detour
    }
    let mut line = Vec::new();
    let mut d = 0.0;
    while d < len {
        let (pt, heading) = p.route.at(d);
        if (from..=to).contains(&d) {
            line.push(route::offset(pt, heading + 90.0, DETOUR_OFFSET_M));
        } else {
            line.push(pt);
        }
        d += DETOUR_STEP_M;
    }
    line.push(p.route.at(len).0);
    line
}

/// Where the midway stop is, metres along the route: half-way from the truck's start to
/// the end (the truck's depot, see `Trip::with_depots`).
pub fn mid_stop_m(start_m: f64, route_len_m: f64) -> f64 {
    start_m + (route_len_m - start_m) / 2.0
}

/// The request body: a midway stop and the destination, planned at `speed_ms` plus 10 %
/// (40 % of the travel time for [`Twist::Late`]). Stops lie on the driven road.
pub fn body(p: &Plan) -> Value {
    let coords: Vec<Value> = planned_line(p)
        .iter()
        .map(|c| json!([c[0], c[1]]))
        .collect();
    let len = p.route.length();
    let factor = if p.twist == Twist::Late { 0.4 } else { 1.1 };
    let mid = mid_stop_m(p.start_m, len);
    let stop = |id: &str, name: &str, at_m: f64| {
        let ([lon, lat], _) = p.route.at(at_m);
        let mut secs = (at_m - p.start_m).max(0.0) / p.speed_ms.max(0.1) * factor;
        if at_m > mid {
            secs += p.dwell_s;
        }
        let planned = p.start + chrono::Duration::seconds(secs.round() as i64);
        let mut s = json!({
            "id": id,
            "name": name,
            "lat": lat,
            "lon": lon,
            "planned_arrival": planned.to_rfc3339_opts(SecondsFormat::Secs, true),
            "radius_m": 150,
        });
        if at_m == mid && p.dwell_s > 0.0 {
            s["service_s"] = json!(p.dwell_s.round() as i64);
        }
        s
    };
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
            twist: Twist::None,
            dwell_s: 0.0,
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

        // Late: the same stops at 40 % of the travel time (1000 s × 0.4 = 400 s).
        let late = body(&Plan {
            twist: Twist::Late,
            ..plan.clone()
        });
        assert_eq!(late["stops"][1]["planned_arrival"], "2026-01-01T00:06:40Z");
        assert_eq!(late["route"], b["route"], "same line");

        // A 10-min dwell at the midway stop: its service time, and the destination later.
        let dwell = body(&Plan {
            dwell_s: 600.0,
            ..plan.clone()
        });
        assert_eq!(dwell["stops"][0]["service_s"], 600);
        assert_eq!(dwell["stops"][0]["planned_arrival"], "2026-01-01T00:09:10Z");
        assert_eq!(dwell["stops"][1]["planned_arrival"], "2026-01-01T00:28:20Z");
        assert!(b["stops"][0].get("service_s").is_none());
    }

    #[test]
    fn off_route_plan_leaves_the_road_for_a_stretch_then_rejoins() {
        // 20 km due north from 47.0°N.
        let route =
            Route::new(vec![[8.0, 47.0], [8.0, 47.0 + 20_000.0 / 111_195.08]]).expect("route");
        let plan = Plan {
            device: "1".into(),
            route: route.clone(),
            start_m: 0.0,
            speed_ms: 20.0,
            start: Utc::now(),
            twist: Twist::OffRoute,
            dwell_s: 0.0,
        };
        let line = Route::new(planned_line(&plan)).expect("line");
        // Distance of a planned vertex from the straight road = its east offset.
        let off = |p: [f64; 2]| route::haversine([8.0, p[1]], p);
        let offsets: Vec<f64> = line.points.iter().map(|&p| off(p)).collect();
        // Starts and ends on the road, and the stops (10 km, 20 km) are on it.
        assert!(offsets[0] < 1.0 && offsets[offsets.len() - 1] < 1.0);
        let far = offsets
            .iter()
            .filter(|&&o| (o - DETOUR_OFFSET_M).abs() < 1.0)
            .count();
        // Stretch 1 km..5 km sampled every 250 m: 17 vertices pushed 800 m east.
        assert_eq!(far, 17, "{offsets:?}");
        let b = body(&plan);
        let dest = &b["stops"][1];
        assert!((dest["lon"].as_f64().expect("lon") - 8.0).abs() < 1e-9);
        // Every other vertex is on the road.
        assert!(offsets
            .iter()
            .all(|&o| o < 1.0 || (o - DETOUR_OFFSET_M).abs() < 1.0));
        // A fair plan is the route itself.
        let fair = Plan {
            twist: Twist::None,
            ..plan
        };
        assert_eq!(planned_line(&fair), route.points);
    }

    #[test]
    fn twists_by_index() {
        let t: Vec<_> = (0..8).map(Twist::for_index).collect();
        use Twist::*;
        assert_eq!(t, [None, Late, None, OffRoute, None, Late, None, OffRoute]);
    }
}
