//! Synthetic trip sets for `trackgate eval-eta`, generated from a seed.
//!
//! One planned route (≈210 km, crossing itself once, four stops with planned times at
//! 60 km/h and 15 min service) and trips that drive it with what real trips have: varying
//! base speed, traffic slow-downs, unplanned stops, a detour off the route, GPS jumps, signal
//! gaps and long or short dwells. The PRNG is a local SplitMix64 so the committed fixtures
//! can be regenerated bit-for-bit whatever `rand` version is in the lock file.

use crate::model::DeviceId;
use crate::tracking::projection::Route;
use crate::tracking::shipment::{LineString, ShipmentSpec, StopSpec};
use chrono::{DateTime, Duration, TimeZone, Utc};
use geo::{Bearing, Destination, Haversine, Point};
use std::fmt::Write as _;

/// SplitMix64: tiny, seedable, stable.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform(0.0, 1.0) < p
    }
}

const BASE_LAT: f64 = 52.0;
const BASE_LON: f64 = 13.0;
/// Route corners, km east/north of the base point (crosses itself at (12, 0)).
const CORNERS_KM: [(f64, f64); 7] = [
    (0.0, 0.0),
    (40.0, 0.0),
    (40.0, 25.0),
    (12.0, 25.0),
    (12.0, -12.0),
    (60.0, -12.0),
    (60.0, 20.0),
];
/// Stops at these corners (index into `CORNERS_KM`).
const STOP_CORNERS: [usize; 4] = [0, 2, 4, 6];
/// Planned cruising speed, km/h, and planned service at intermediate stops, seconds.
const PLANNED_KMH: f64 = 60.0;
const SERVICE_S: i64 = 900;
/// Seconds between fixes.
const FIX_EVERY_S: f64 = 30.0;

fn corner(km: (f64, f64)) -> [f64; 2] {
    let lat = BASE_LAT + km.1 / 111.195;
    let lon = BASE_LON + km.0 / (111.195 * BASE_LAT.to_radians().cos());
    [lon, lat]
}

/// The planned shipment (planned times from 2026-03-02 06:00 UTC; the harness shifts them
/// to each trip's start).
pub fn shipment() -> ShipmentSpec {
    let coords: Vec<[f64; 2]> = CORNERS_KM.iter().map(|c| corner(*c)).collect();
    let mut cum = vec![0.0];
    for w in coords.windows(2) {
        let d = crate::tracking::projection::distance_m((w[0][1], w[0][0]), (w[1][1], w[1][0]));
        cum.push(cum.last().copied().unwrap_or(0.0) + d);
    }
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 2, 6, 0, 0)
        .single()
        .unwrap_or_default();
    let mut stops: Vec<StopSpec> = Vec::new();
    for (k, &ci) in STOP_CORNERS.iter().enumerate() {
        let planned = match stops.last() {
            None => t0,
            Some(prev) => {
                let link = cum[ci] - cum[STOP_CORNERS[k - 1]];
                prev.planned_arrival
                    + Duration::seconds(
                        (link / (PLANNED_KMH / 3.6)).round() as i64 + prev.service_s.unwrap_or(0),
                    )
            }
        };
        let last = k == STOP_CORNERS.len() - 1;
        stops.push(StopSpec {
            id: format!("S{k}"),
            name: ["Depot", "Hub North", "Hub South", "Customer"][k].to_string(),
            lat: coords[ci][1],
            lon: coords[ci][0],
            planned_arrival: planned,
            radius_m: None,
            window_start: last.then(|| planned - Duration::minutes(15)),
            window_end: last.then(|| planned + Duration::minutes(15)),
            service_s: (k > 0 && !last).then_some(SERVICE_S),
            free_time_min: None,
        });
    }
    ShipmentSpec {
        id: "eval".into(),
        device: DeviceId::new("eval-device").expect("constant id is valid"),
        route: LineString {
            kind: "LineString".into(),
            coordinates: coords,
        },
        stops,
    }
}

/// One generated trip: its scenario label and fixes `(time, lat, lon)`.
pub struct GenTrip {
    /// `t07-slow+detour` style name.
    pub name: String,
    /// Fixes in time order.
    pub fixes: Vec<(DateTime<Utc>, f64, f64)>,
}

/// Generates `n` trips from `seed`.
pub fn trips(seed: u64, n: usize) -> Vec<GenTrip> {
    let spec = shipment();
    let route = Route::new(&spec.route.coordinates);
    let total = route.length_m();
    let mut stop_along = Vec::new();
    let mut from = 0.0;
    for s in &spec.stops {
        let p = route.project(s.lat, s.lon, from, total, from);
        stop_along.push(p.along_m);
        from = p.along_m;
    }
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| one_trip(&mut rng, i, &route, &stop_along))
        .collect()
}

fn one_trip(rng: &mut Rng, i: usize, route: &Route, stop_along: &[f64]) -> GenTrip {
    let total = route.length_m();
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 2, 6, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(i as i64);
    let base_v = PLANNED_KMH / 3.6 * rng.uniform(0.8, 1.15);
    let mut tags = Vec::new();
    // Scenario features, each at a random place away from the stops.
    let pick = |rng: &mut Rng| loop {
        let s = rng.uniform(5_000.0, total - 10_000.0);
        if stop_along.iter().all(|a| (s - a).abs() > 8_000.0) {
            return s;
        }
    };
    let mut slows = Vec::new();
    if rng.chance(0.5) {
        for _ in 0..(1 + (rng.next_u64() % 2) as usize) {
            let at = pick(rng);
            slows.push((at, at + rng.uniform(3_000.0, 10_000.0)));
        }
        tags.push("slow");
    }
    let mut unplanned = None;
    if rng.chance(0.3) {
        unplanned = Some((pick(rng), rng.uniform(1_200.0, 3_000.0)));
        tags.push("stop");
    }
    let mut detour = None;
    if rng.chance(0.2) {
        detour = Some(pick(rng));
        tags.push("detour");
    }
    let mut gap = None;
    if rng.chance(0.25) {
        gap = Some((pick(rng), rng.uniform(1_500.0, 2_400.0)));
        tags.push("gap");
    }
    let jump_p = if rng.chance(0.4) {
        tags.push("jumps");
        0.01
    } else {
        0.0
    };
    let dwell: Vec<f64> = (0..stop_along.len())
        .map(|_| rng.uniform(600.0, 2_700.0))
        .collect();
    let name = format!(
        "t{i:02}-{}",
        if tags.is_empty() {
            "clean".to_string()
        } else {
            tags.join("+")
        }
    );

    let mut fixes = Vec::new();
    let (mut t, mut s, mut next_fix) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut hold_until = Some(rng.uniform(60.0, 300.0));
    let mut next_stop = 1;
    let mut gap_until: Option<f64> = None;
    let mut done_unplanned = false;
    let mut done_gap = false;
    let step = 5.0;
    loop {
        if t >= next_fix {
            next_fix += FIX_EVERY_S;
            let silent = gap_until.is_some_and(|g| t < g);
            if !silent {
                let off = detour.map_or(0.0, |d| lateral(s, d));
                let mut p = offset(route, s, off);
                let n = (rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0));
                p = Haversine.destination(p, 0.0, n.0);
                p = Haversine.destination(p, 90.0, n.1);
                if jump_p > 0.0 && rng.chance(jump_p * 3.0) {
                    p = Haversine.destination(
                        p,
                        rng.uniform(0.0, 360.0),
                        rng.uniform(3_000.0, 8_000.0),
                    );
                }
                fixes.push((t0 + Duration::seconds(t as i64), p.y(), p.x()));
            }
        }
        if let Some(u) = hold_until {
            if t < u {
                t += step;
                continue;
            }
            hold_until = None;
            if next_stop > stop_along.len() {
                break;
            }
        }
        let mut v = base_v;
        if slows.iter().any(|(a, b)| s >= *a && s < *b) {
            v *= 0.25;
        }
        if detour.is_some_and(|d| s >= d && s < d + 6_000.0) {
            v *= 0.8;
        }
        if let Some((at, dur)) = unplanned {
            if !done_unplanned && s >= at {
                done_unplanned = true;
                hold_until = Some(t + dur);
                continue;
            }
        }
        if let Some((at, dur)) = gap {
            if !done_gap && s >= at {
                done_gap = true;
                gap_until = Some(t + dur);
            }
        }
        s = (s + v * step).min(total);
        t += step;
        if next_stop < stop_along.len() && s >= stop_along[next_stop] {
            s = stop_along[next_stop];
            let last = next_stop == stop_along.len() - 1;
            hold_until = Some(t + if last { 600.0 } else { dwell[next_stop] });
            next_stop += 1;
            if last {
                next_stop += 1;
            }
        }
        if t > 86_400.0 {
            break;
        }
    }
    GenTrip { name, fixes }
}

/// Lateral offset of the detour: 700 m away, ramping over 500 m at each end of 6 km.
fn lateral(s: f64, start: f64) -> f64 {
    let x = s - start;
    if !(0.0..6_000.0).contains(&x) {
        return 0.0;
    }
    700.0 * (x / 500.0).min(1.0).min((6_000.0 - x) / 500.0)
}

fn offset(route: &Route, s: f64, off_m: f64) -> Point<f64> {
    let p = route.point_at(s);
    if off_m == 0.0 {
        return p;
    }
    let q = route.point_at(s + 20.0);
    let b = if q == p { 0.0 } else { Haversine.bearing(p, q) };
    Haversine.destination(p, b + 90.0, off_m)
}

/// The trips as the harness's CSV (`trip,time,lat,lon`, RFC 3339 times).
pub fn to_csv(trips: &[GenTrip]) -> String {
    let mut out = String::from("trip,time,lat,lon\n");
    for t in trips {
        for (time, lat, lon) in &t.fixes {
            let _ = writeln!(
                out,
                "{},{},{lat:.6},{lon:.6}",
                t.name,
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_has_every_scenario() {
        let a = to_csv(&trips(7, 12));
        let b = to_csv(&trips(7, 12));
        assert_eq!(a, b);
        assert_ne!(a, to_csv(&trips(8, 12)));
        let names: Vec<String> = trips(42, 40).into_iter().map(|t| t.name).collect();
        for tag in ["slow", "stop", "detour", "gap", "jumps"] {
            assert!(
                names.iter().any(|n| n.contains(tag)),
                "{tag} missing in {names:?}"
            );
        }
    }

    #[test]
    fn planned_times_follow_the_route() {
        let s = shipment();
        s.validate().expect("valid shipment");
        assert_eq!(s.stops.len(), 4);
        let secs: Vec<i64> = s
            .stops
            .windows(2)
            .map(|w| (w[1].planned_arrival - w[0].planned_arrival).num_seconds())
            .collect();
        // Links of 65, 65 and 80 km at 60 km/h, plus 15 min service at the hubs.
        assert!(secs.iter().all(|v| *v > 3_500 && *v < 6_000), "{secs:?}");
    }
}
