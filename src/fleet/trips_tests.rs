//! Trips, stops and day figures from a drive with a stop in the middle, checked against an
//! independent geodesic (Karney) length, and a crash-and-replay run giving the same rows.

use crate::fleet::config::EventsConfig;
use crate::fleet::detect::Detector;
use crate::fleet::index::Index;
use crate::fleet::report_store::{self, Query};
use crate::fleet::store::Store;
use crate::model::{DeviceId, Position};
use chrono::{DateTime, TimeZone, Utc};
use geo::{Distance, Geodesic, Haversine, Point};

const T0: i64 = 1_796_000_000;

fn dev() -> DeviceId {
    DeviceId::new("356307042441013").unwrap()
}

fn at(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(T0 + s, 0).unwrap()
}

/// (seconds, lat, lon, speed km/h, ignition)
type Fix = (i64, f64, f64, f64, bool);

/// Parked 200 s (with ±3 m jitter), 600 s of driving at 36 km/h north then east, parked
/// 600 s, 400 s north again, parked 300 s. One fix every 10 s.
fn drive() -> Vec<Fix> {
    let mut v = Vec::new();
    let (mut lat, mut lon) = (52.0_f64, 13.0_f64);
    let m_lat = 1.0 / 111_195.0;
    let m_lon = m_lat / lat.to_radians().cos();
    let jitter = |i: i64| if i % 2 == 0 { 3.0 } else { -3.0 };
    let mut s = 0;
    for i in 0..20 {
        v.push((s, lat + jitter(i) * m_lat, lon, 0.0, i > 10));
        s += 10;
    }
    for i in 0..60 {
        if i < 30 {
            lat += 100.0 * m_lat;
        } else {
            lon += 100.0 * m_lon;
        }
        v.push((s, lat, lon, 36.0, true));
        s += 10;
    }
    for i in 0..60 {
        v.push((s, lat + jitter(i) * m_lat, lon, 0.0, false));
        s += 10;
    }
    for _ in 0..40 {
        lat += 100.0 * m_lat;
        v.push((s, lat, lon, 36.0, true));
        s += 10;
    }
    for i in 0..30 {
        v.push((s, lat + jitter(i) * m_lat, lon, 0.0, false));
        s += 10;
    }
    v
}

fn position(f: &Fix) -> Position {
    let mut p = Position::new(dev(), "test", at(f.0), at(f.0), f.1, f.2, true);
    p.speed_kmh = f.3;
    p.ignition = Some(f.4);
    p
}

/// Geodesic length of the fixes within `[from, to]` seconds.
fn geodesic(fixes: &[Fix], from: i64, to: i64) -> f64 {
    let pts: Vec<Point> = fixes
        .iter()
        .filter(|f| f.0 >= from && f.0 <= to)
        .map(|f| Point::new(f.2, f.1))
        .collect();
    pts.windows(2).map(|w| Geodesic.distance(w[0], w[1])).sum()
}

fn all() -> Query {
    Query {
        devices: None,
        from: at(-86_400),
        to: at(86_400),
        after: None,
        limit: 1000,
    }
}

/// Runs `fixes` through a detector on `store` and saves states and rows.
fn feed(store: &mut Store, fixes: &[Fix], save: bool) {
    let mut d = Detector::new(EventsConfig::default(), store.device_states().unwrap());
    let ix = Index::default();
    for f in fixes {
        d.process(&position(f), &ix);
    }
    if save {
        store.save(&d.take_dirty(), &d.take_rows()).unwrap();
    }
}

#[allow(clippy::type_complexity)]
fn dump(
    s: &Store,
) -> (
    Vec<report_store::Trip>,
    Vec<report_store::Stop>,
    Vec<report_store::Day>,
) {
    let c = s.conn();
    (
        report_store::trips(c, &all()).unwrap(),
        report_store::stops(c, &all()).unwrap(),
        report_store::days(c, &all()).unwrap(),
    )
}

#[test]
fn a_drive_with_a_stop_gives_two_trips_one_stop_and_the_geodesic_distance() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let fixes = drive();
    feed(&mut s, &fixes, true);
    let (trips, stops, days) = dump(&s);
    assert_eq!(trips.len(), 2, "{trips:?}");
    // Trip 1: first fast fix (200 s) to the first parked fix (800 s).
    let t1 = &trips[0];
    assert_eq!(
        (t1.start_ms, t1.end_ms),
        (at(200).timestamp_millis(), at(800).timestamp_millis())
    );
    let want = geodesic(&fixes, 200, 800);
    assert!(
        (t1.distance_m - want).abs() / want < 0.01,
        "{} vs {want}",
        t1.distance_m
    );
    assert!(
        t1.distance_m > 5_900.0 && t1.distance_m < 6_200.0,
        "{}",
        t1.distance_m
    );
    // Driving: the segments into fast fixes after the first one (210 s … 790 s).
    assert_eq!(t1.driving_s, 590.0);
    assert_eq!(t1.max_kmh, 36.0);
    let t2 = &trips[1];
    let want = geodesic(&fixes, 1400, 1800);
    assert!(
        (t2.distance_m - want).abs() / want < 0.01,
        "{} vs {want}",
        t2.distance_m
    );
    // The stop between them: 800 s to 1400 s, where it was parked (jitter not counted).
    // (The first one is where the device was first seen parked: from its first fix.)
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert_eq!(stops[0].arrival_ms, at(0).timestamp_millis());
    assert_eq!(stops[0].departure_ms, at(200).timestamp_millis());
    assert_eq!(stops[1].arrival_ms, at(800).timestamp_millis());
    assert_eq!(stops[1].departure_ms - stops[1].arrival_ms, 600_000);
    // One UTC day: both trips' distance and driving time; idle = the 90 s parked with the
    // ignition on at the start.
    assert_eq!(days.len(), 1, "{days:?}");
    let d = &days[0];
    assert!((d.distance_m - (t1.distance_m + t2.distance_m)).abs() < 1e-6);
    assert_eq!(d.driving_s, 590.0 + 390.0);
    assert_eq!(d.idle_s, 90.0);
    assert_eq!(d.max_kmh, 36.0);
}

#[test]
fn a_replay_after_a_crash_gives_the_same_rows_as_one_run() {
    let fixes = drive();
    let one = tempfile::tempdir().unwrap();
    let mut s1 = Store::open(one.path()).unwrap();
    feed(&mut s1, &fixes, true);

    let two = tempfile::tempdir().unwrap();
    let mut s2 = Store::open(two.path()).unwrap();
    let (a, b) = fixes.split_at(100);
    feed(&mut s2, a, true);
    // The second half is processed but the process dies before saving…
    feed(&mut s2, b, false);
    // …so after the restart the log hands it over again (with some of the first half).
    feed(&mut s2, &fixes[90..], true);
    // A plain duplicate delivery of everything adds nothing either.
    feed(&mut s2, &fixes, true);
    assert_eq!(dump(&s1), dump(&s2));
    assert_eq!(dump(&s1).0.len(), 2);
}

#[test]
fn a_halt_shorter_than_the_stop_time_stays_inside_the_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let mut fixes = drive();
    // The 600 s stop becomes 60 s (6 fixes): shift everything after it back by 540 s.
    fixes.retain(|f| !(f.0 >= 860 && f.0 < 1400));
    for f in fixes.iter_mut().filter(|f| f.0 >= 1400) {
        f.0 -= 540;
    }
    feed(&mut s, &fixes, true);
    let (trips, stops, _) = dump(&s);
    assert_eq!(trips.len(), 1, "{trips:?}");
    assert_eq!(stops.len(), 1, "only the first parking: {stops:?}");
    let want = geodesic(&fixes, 200, 1260);
    let t = &trips[0];
    assert_eq!(t.end_ms, at(1260).timestamp_millis());
    assert!(
        (t.distance_m - want).abs() / want < 0.01,
        "{} vs {want}",
        t.distance_m
    );
    assert_eq!(t.driving_s, 990.0);
}

#[test]
fn the_day_counts_the_trip_going_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    let fixes = drive();
    let upto: Vec<Fix> = fixes.iter().filter(|f| f.0 < 1600).copied().collect();
    feed(&mut s, &upto, true);
    let (trips, _, days) = dump(&s);
    assert_eq!(trips.len(), 1, "the second trip is not over: {trips:?}");
    // (Haversine here: the same formula, so the sum must match to the millimetre.)
    let so_far: f64 = upto
        .windows(2)
        .filter(|w| w[0].0 >= 1400)
        .map(|w| Haversine.distance(Point::new(w[0].2, w[0].1), Point::new(w[1].2, w[1].1)))
        .sum();
    let want = trips[0].distance_m + so_far;
    assert!(
        (days[0].distance_m - want).abs() < 1e-3,
        "{days:?} vs {want}"
    );
    assert_eq!(days[0].driving_s, 590.0 + 190.0);
    // Its end: the rest of the drive and the parking make the day what one run gives.
    let rest: Vec<Fix> = fixes.iter().filter(|f| f.0 >= 1600).copied().collect();
    feed(&mut s, &rest, true);
    let whole = tempfile::tempdir().unwrap();
    let mut w = Store::open(whole.path()).unwrap();
    feed(&mut w, &fixes, true);
    assert_eq!(dump(&s), dump(&w));
}
