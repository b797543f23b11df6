//! Scale: 10 000 geofences × 10 000 devices × 100 000 fixes through the index and the
//! detector, timed. Ignored by default (seconds in a debug build); run with
//! `cargo test --lib fleet::scale_tests -- --ignored --nocapture` (add `--release` for the
//! production figure).

use super::config::EventsConfig;
use super::detect::Detector;
use super::geofence::{Area, Circle, Geofence};
use super::index::Index;
use super::shape::M_PER_DEG;
use crate::model::{DeviceId, Position};
use chrono::{TimeZone, Utc};
use std::collections::HashMap;
use std::time::Instant;

/// A small deterministic generator (xorshift64*), so every run measures the same work.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

const FENCES: usize = 10_000;
const DEVICES: usize = 10_000;
const FIXES_PER_DEVICE: usize = 10;

/// Half circles, half 8-vertex polygons, 400–2000 m across, over 5° × 5° around (50, 10).
fn fences(rng: &mut Rng) -> Vec<Geofence> {
    (0..FENCES)
        .map(|i| {
            let (lat, lon) = (50.0 + rng.next() * 5.0, 10.0 + rng.next() * 5.0);
            let r = 200.0 + rng.next() * 800.0;
            let area = if i % 2 == 0 {
                Area::Circle(Circle {
                    lat,
                    lon,
                    radius_m: r,
                })
            } else {
                let kx = M_PER_DEG * lat.to_radians().cos();
                let mut ring: Vec<[f64; 2]> = (0..8)
                    .map(|k| {
                        let a = k as f64 * std::f64::consts::TAU / 8.0;
                        [lon + r * a.cos() / kx, lat + r * a.sin() / M_PER_DEG]
                    })
                    .collect();
                ring.push(ring[0]);
                Area::Polygon(vec![ring])
            };
            Geofence {
                id: format!("g{i}"),
                name: format!("fence {i}"),
                area,
                devices: vec![],
                customer: None,
                speed_limit_kmh: (i % 3 == 0).then_some(50.0),
            }
        })
        .collect()
}

/// Each device crosses one geofence west to east, from 2 radii before its centre to 2 radii
/// past it, in 10 fixes 30 s apart.
fn fixes(rng: &mut Rng, all: &[Geofence]) -> Vec<Position> {
    let t0 = Utc.timestamp_opt(1_796_000_000, 0).unwrap();
    let mut out = Vec::with_capacity(DEVICES * FIXES_PER_DEVICE);
    let tracks: Vec<(DeviceId, f64, f64, f64)> = (0..DEVICES)
        .map(|d| {
            let g = &all[(rng.next() * all.len() as f64) as usize % all.len()];
            // Centre and radius: a polygon's vertices 0 and 4 are east and west of it.
            let (lat, lon, r) = match &g.area {
                Area::Circle(c) => (c.lat, c.lon, c.radius_m),
                Area::Polygon(p) => {
                    let (e, w) = (p[0][0], p[0][4]);
                    let r = (e[0] - w[0]) / 2.0 * M_PER_DEG * e[1].to_radians().cos();
                    (e[1], (e[0] + w[0]) / 2.0, r)
                }
                Area::MultiPolygon(_) => unreachable!("none generated"),
            };
            let dev = DeviceId::new(format!("dev{d:05}")).unwrap();
            (
                dev,
                lat,
                lon,
                4.0 * r / (M_PER_DEG * lat.to_radians().cos()),
            )
        })
        .collect();
    // Interleaved by time, as a log holds them.
    for k in 0..FIXES_PER_DEVICE {
        for (dev, lat, lon, span) in &tracks {
            let t = t0 + chrono::Duration::seconds(k as i64 * 30);
            let x = lon - span / 2.0 + span * k as f64 / (FIXES_PER_DEVICE - 1) as f64;
            let mut p = Position::new(dev.clone(), "test", t, t, *lat, x, true);
            p.speed_kmh = 40.0 + rng.next() * 40.0;
            p.ignition = Some(true);
            out.push(p);
        }
    }
    out
}

#[test]
#[ignore = "scale figure: run with --ignored --nocapture"]
fn ten_thousand_geofences_ten_thousand_devices_hundred_thousand_fixes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let all = fences(&mut rng);
    let positions = fixes(&mut rng, &all);
    let started = Instant::now();
    let index = Index::of(all);
    let built = started.elapsed();

    // The tree finds exactly the boxes a brute-force scan finds (first 1000 fixes).
    for p in positions.iter().take(1000) {
        let mut got: Vec<&str> = index
            .near(p.lat, p.lon, 25.0)
            .map(|f| f.spec.id.as_str())
            .collect();
        got.sort_unstable();
        let (a, b) = super::shape::around(p.lat, p.lon, 25.0);
        let mut want: Vec<&str> = index
            .all()
            .filter(|f| {
                let (lo, hi) = f.shape.bbox();
                lo[0] <= b[0] && a[0] <= hi[0] && lo[1] <= b[1] && a[1] <= hi[1]
            })
            .map(|f| f.spec.id.as_str())
            .collect();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    let mut d = Detector::new(EventsConfig::default(), HashMap::new());
    let started = Instant::now();
    let mut events: HashMap<String, usize> = HashMap::new();
    for p in &positions {
        for a in d.process(p, &index) {
            *events.entry(a.kind).or_default() += 1;
        }
    }
    let took = started.elapsed();
    let rate = positions.len() as f64 / took.as_secs_f64();
    println!(
        "scale: {FENCES} geofences indexed in {built:?}; {} fixes of {DEVICES} devices in {took:?} \
         = {rate:.0} fixes/s; events {events:?}",
        positions.len()
    );
    // Every device crosses a geofence: at least one enter and one exit each.
    assert!(events.get("geofence_enter").copied().unwrap_or(0) >= DEVICES);
    assert!(events.get("geofence_exit").copied().unwrap_or(0) >= DEVICES);
}
