//! Synthetic trip sets for `trackgate eval-eta`, generated from a seed.
//!
//! Planned shipments — a regional one-day route (≈210 km, crossing itself once, four stops)
//! and a two-day long haul (≈940 km with a planned break and overnight rest; in the hard set
//! also under US rules) — and trips that drive them with what real trips have (`trip.rs`):
//! varying base speed, rush hours near the towns at the stops, a stretch congested every
//! weekday afternoon, random slow-downs, unplanned stops, a detour off the route, GPS jumps,
//! signal gaps, varied dwell, and drivers who take their breaks and rests a little early and
//! a little long. The PRNG is a local SplitMix64 so the committed fixtures can be
//! regenerated bit-for-bit whatever `rand` version is in the lock file.

pub mod trip;

use crate::model::DeviceId;
use crate::tracking::hos::{HosClock, HosRules};
use crate::tracking::shipment::{LineString, ShipmentSpec, StopSpec};
use chrono::{DateTime, Duration, TimeZone, Utc};
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

/// Which set to make: the shipped one, or a harder one to check that what was tuned on the
/// shipped set holds elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// `tests/fixtures/tracking/` (seed 42).
    Shipped,
    /// `--hard`: more and longer incidents, wider driver habits, long-haul under EU and US
    /// rules, reduced rests, early breaks.
    Hard,
}

/// One planned route and how it is driven.
pub(crate) struct RouteDef {
    /// Shipment id.
    pub id: &'static str,
    /// Corners, km east/north of the base point.
    pub corners_km: &'static [(f64, f64)],
    /// Stops at these corners.
    pub stop_corners: &'static [usize],
    /// Stop names.
    pub names: &'static [&'static str],
    /// Planned cruising speed, km/h.
    pub planned_kmh: f64,
    /// Planned service at intermediate stops, seconds.
    pub service_s: i64,
    /// Delivery window at the last stop, ± minutes around the planned arrival.
    pub window_min: i64,
    /// Driving-time rules of the shipment and its drivers.
    pub hos: HosRules,
    /// Seconds between fixes while driving.
    pub fix_every_s: f64,
    /// Dwell range per stop (seconds; index 0 unused).
    pub dwell_s: &'static [(f64, f64)],
    /// Stretch (metres along the route) congested every weekday afternoon.
    pub congestion_m: (f64, f64),
    /// Start hour range (UTC).
    pub start_h: (f64, f64),
}

/// Regional: ≈210 km crossing itself once, four stops, one day.
pub(crate) const REGIONAL: RouteDef = RouteDef {
    id: "regional",
    corners_km: &[
        (0.0, 0.0),
        (40.0, 0.0),
        (40.0, 25.0),
        (12.0, 25.0),
        (12.0, -12.0),
        (60.0, -12.0),
        (60.0, 20.0),
    ],
    stop_corners: &[0, 2, 4, 6],
    names: &["Depot", "Hub North", "Hub South", "Customer"],
    planned_kmh: 60.0,
    service_s: 900,
    window_min: 15,
    hos: HosRules::Eu,
    fix_every_s: 30.0,
    dwell_s: &[
        (0.0, 0.0),
        (600.0, 1_500.0),
        (1_200.0, 2_700.0),
        (600.0, 600.0),
    ],
    congestion_m: (100_000.0, 108_000.0),
    start_h: (5.0, 15.0),
};

/// Long haul: ≈940 km over two days (a 45-min break and an overnight rest in the plan).
pub(crate) const LONG_HAUL: RouteDef = RouteDef {
    id: "longhaul",
    corners_km: &[
        (0.0, 0.0),
        (180.0, 0.0),
        (180.0, 180.0),
        (400.0, 180.0),
        (400.0, 0.0),
        (580.0, 0.0),
    ],
    stop_corners: &[0, 2, 4, 5],
    names: &["Plant", "Crossdock", "Warehouse", "Store"],
    planned_kmh: 72.0,
    service_s: 1_800,
    window_min: 30,
    hos: HosRules::Eu,
    fix_every_s: 60.0,
    dwell_s: &[
        (0.0, 0.0),
        (1_200.0, 2_400.0),
        (1_500.0, 3_000.0),
        (600.0, 600.0),
    ],
    congestion_m: (600_000.0, 612_000.0),
    start_h: (4.0, 10.0),
};

/// The same long haul driven under US rules (the hard set only).
pub(crate) const LONG_HAUL_US: RouteDef = RouteDef {
    id: "longhaul-us",
    hos: HosRules::Us,
    ..LONG_HAUL
};

fn corner(km: (f64, f64)) -> [f64; 2] {
    let lat = BASE_LAT + km.1 / 111.195;
    let lon = BASE_LON + km.0 / (111.195 * BASE_LAT.to_radians().cos());
    [lon, lat]
}

/// The route each trip of `preset` drives (trip `i`).
pub(crate) fn route_of(preset: Preset, i: usize) -> &'static RouteDef {
    match preset {
        Preset::Shipped if i % 4 == 3 => &LONG_HAUL,
        Preset::Hard if i % 3 == 2 && (i / 3).is_multiple_of(2) => &LONG_HAUL,
        Preset::Hard if i % 3 == 2 => &LONG_HAUL_US,
        _ => &REGIONAL,
    }
}

/// The planned shipment of a route: planned times from 2026-03-02 06:00 UTC (the harness
/// shifts them to each trip's start) at the planned speed, with the service times and the
/// breaks and rests its driving-time rules require (a compliant plan).
pub(crate) fn plan(def: &RouteDef) -> ShipmentSpec {
    let coords: Vec<[f64; 2]> = def.corners_km.iter().map(|c| corner(*c)).collect();
    let mut cum = vec![0.0];
    for w in coords.windows(2) {
        let d = crate::tracking::projection::distance_m((w[0][1], w[0][0]), (w[1][1], w[1][0]));
        cum.push(cum.last().copied().unwrap_or(0.0) + d);
    }
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 2, 6, 0, 0)
        .single()
        .unwrap_or_default();
    let lim = def.hos.limits();
    let mut clock = HosClock::default();
    let n = def.stop_corners.len();
    let mut stops: Vec<StopSpec> = Vec::new();
    for (k, &ci) in def.stop_corners.iter().enumerate() {
        let planned = match stops.last() {
            None => t0,
            Some(prev) => {
                let service = prev.service_s.unwrap_or(0);
                let drive = (cum[ci] - cum[def.stop_corners[k - 1]]) / (def.planned_kmh / 3.6);
                let pauses = lim.map_or(0.0, |l| {
                    clock.stand(service as f64, &l);
                    clock.drive(drive, &l)
                });
                prev.planned_arrival + Duration::seconds((drive + pauses).round() as i64 + service)
            }
        };
        let last = k == n - 1;
        let window = Duration::minutes(def.window_min);
        stops.push(StopSpec {
            id: format!("S{k}"),
            name: def.names[k].to_string(),
            lat: coords[ci][1],
            lon: coords[ci][0],
            planned_arrival: planned,
            radius_m: None,
            window_start: last.then(|| planned - window),
            window_end: last.then(|| planned + window),
            service_s: (k > 0 && !last).then_some(def.service_s),
            free_time_min: None,
        });
    }
    ShipmentSpec {
        customer: None,
        id: def.id.into(),
        device: DeviceId::new("eval-device").expect("constant id is valid"),
        route: LineString {
            kind: "LineString".into(),
            coordinates: coords,
        },
        stops,
        hos: Some(def.hos),
    }
}

/// The planned shipments of a preset, in the order trips first use them.
pub fn shipments(preset: Preset) -> Vec<ShipmentSpec> {
    let mut defs: Vec<&RouteDef> = Vec::new();
    for i in 0..6 {
        let d = route_of(preset, i);
        if !defs.iter().any(|x| x.id == d.id) {
            defs.push(d);
        }
    }
    defs.into_iter().map(plan).collect()
}

/// One generated trip: its shipment, scenario label and fixes `(time, lat, lon)`.
pub struct GenTrip {
    /// Shipment id the trip drives.
    pub shipment: String,
    /// `t07-slow+detour` style name.
    pub name: String,
    /// Fixes in time order.
    pub fixes: Vec<(DateTime<Utc>, f64, f64)>,
}

/// Generates `n` trips of `preset` from `seed`.
pub fn trips(seed: u64, n: usize, preset: Preset) -> Vec<GenTrip> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let def = route_of(preset, i);
            trip::one_trip(&mut rng, i, def, &plan(def), preset)
        })
        .collect()
}

/// The trips as the harness's CSV (`trip,time,lat,lon,shipment`, RFC 3339 times).
pub fn to_csv(trips: &[GenTrip]) -> String {
    let mut out = String::from("trip,time,lat,lon,shipment\n");
    for t in trips {
        for (time, lat, lon) in &t.fixes {
            let _ = writeln!(
                out,
                "{},{},{lat:.6},{lon:.6},{}",
                t.name,
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                t.shipment
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
        let a = to_csv(&trips(7, 12, Preset::Shipped));
        assert_eq!(a, to_csv(&trips(7, 12, Preset::Shipped)));
        assert_ne!(a, to_csv(&trips(8, 12, Preset::Shipped)));
        assert_ne!(a, to_csv(&trips(7, 12, Preset::Hard)));
        let names: Vec<String> = trips(42, 40, Preset::Shipped)
            .into_iter()
            .map(|t| t.name)
            .collect();
        for tag in [
            "slow", "stop", "detour", "gap", "jumps", "rush", "jam", "break", "rest",
        ] {
            assert!(
                names.iter().any(|n| n.contains(tag)),
                "{tag} missing in {names:?}"
            );
        }
    }

    #[test]
    fn plans_follow_the_route_and_the_driving_rules() {
        let s = plan(&REGIONAL);
        s.validate().expect("valid shipment");
        let secs: Vec<i64> = s
            .stops
            .windows(2)
            .map(|w| (w[1].planned_arrival - w[0].planned_arrival).num_seconds())
            .collect();
        // Links of ≈65, 65 and 80 km at 60 km/h, plus 15 min service at the hubs: no pause.
        assert_eq!(secs, [3_900, 4_792, 5_707]);
        let l = plan(&LONG_HAUL);
        l.validate().expect("valid shipment");
        let secs: Vec<i64> = l
            .stops
            .windows(2)
            .map(|w| (w[1].planned_arrival - w[0].planned_arrival).num_seconds())
            .collect();
        // 360 km at 72 km/h = 5 h with the 45-min break after 4.5 h; then 30 min service
        // and ≈392 km (5.44 h; east-west legs further north are shorter): 9 h of driving
        // reached after 4 h, an 11-h rest; then 30 min service and 180 km (2.5 h).
        assert_eq!(secs, [20_700, 1_800 + 19_597 + 39_600, 1_800 + 9_000]);
        assert_eq!(shipments(Preset::Shipped).len(), 2);
        assert_eq!(shipments(Preset::Hard).len(), 3);
    }
}
