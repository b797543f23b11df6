use super::*;
use crate::fleet::geofence::{Area, Circle, Geofence};
use crate::fleet::shape::M_PER_DEG;
use chrono::TimeZone;

const LAT: f64 = 52.0;
const LON: f64 = 13.0;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_796_000_000 + s, 0).unwrap()
}

fn dev() -> DeviceId {
    DeviceId::new("356307042441013").unwrap()
}

/// A fix `north` metres north of the centre, at `speed` km/h, `s` seconds in.
fn fix(s: i64, north: f64, speed: f64) -> Position {
    let mut p = Position::new(
        dev(),
        "test",
        t(s),
        t(s),
        LAT + north / M_PER_DEG,
        LON,
        true,
    );
    p.speed_kmh = speed;
    p
}

fn fence(id: &str, radius_m: f64, limit: Option<f64>) -> Geofence {
    Geofence {
        id: id.into(),
        name: format!("zone {id}"),
        area: Area::Circle(Circle {
            lat: LAT,
            lon: LON,
            radius_m,
        }),
        devices: vec![],
        customer: Some("acme".into()),
        speed_limit_kmh: limit,
    }
}

fn only(cfg: impl FnOnce(&mut EventsConfig)) -> EventsConfig {
    let mut c = EventsConfig {
        geofence: false,
        overspeed: false,
        ignition: false,
        motion: false,
        ..EventsConfig::default()
    };
    cfg(&mut c);
    c
}

fn run(d: &mut Detector, ix: &Index, fixes: &[Position]) -> Vec<Alert> {
    fixes.iter().flat_map(|p| d.process(p, ix)).collect()
}

fn kinds(v: &[Alert]) -> Vec<(String, DateTime<Utc>)> {
    v.iter()
        .map(|a| {
            let s = match a.state {
                AlertState::Firing => "+",
                AlertState::Resolved => "-",
                AlertState::Info => "",
            };
            (format!("{}{s}", a.kind), a.time)
        })
        .collect()
}

#[test]
fn boundary_noise_never_flaps_and_two_fixes_beyond_the_margin_switch() {
    let ix = Index::of(vec![fence("yard", 500.0, None)]);
    let mut d = Detector::new(only(|c| c.geofence = true), HashMap::new());
    // 60 fixes within ±20 m of the 500 m boundary (inside and outside alternately).
    let noise: Vec<Position> = (0..60)
        .map(|i| fix(i * 5, 500.0 + if i % 2 == 0 { 20.0 } else { -20.0 }, 0.0))
        .collect();
    assert!(run(&mut d, &ix, &noise).is_empty());
    // One fix deep inside, then noise: still nothing (one vote is not enough, and a fix
    // within the margin breaks the run).
    let mut one = vec![fix(400, 300.0, 0.0)];
    one.extend((0..5).map(|i| fix(405 + i, 490.0, 0.0)));
    assert!(run(&mut d, &ix, &one).is_empty());
    // Two fixes 30 m inside: entered at the second.
    let got = run(&mut d, &ix, &[fix(500, 470.0, 0.0), fix(505, 460.0, 0.0)]);
    assert_eq!(kinds(&got), [("geofence_enter".into(), t(505))]);
    let e = &got[0];
    assert_eq!(e.geofence.as_deref(), Some("yard"));
    assert_eq!(e.customer.as_deref(), Some("acme"));
    assert_eq!(
        e.id,
        format!(
            "{}/fleet/geofence_enter/info/yard/{}",
            dev(),
            t(505).timestamp_millis()
        )
    );
    assert!(
        e.message.contains("entered geofence \"zone yard\""),
        "{}",
        e.message
    );
    // Noise again, then out: one exit.
    assert!(run(
        &mut d,
        &ix,
        &noise
            .iter()
            .map(|p| fix(
                p.fix_time.timestamp() - 1_796_000_000 + 600,
                (p.lat - LAT) * M_PER_DEG,
                0.0
            ))
            .collect::<Vec<_>>()
    )
    .is_empty());
    let got = run(
        &mut d,
        &ix,
        &[fix(1000, 530.0, 0.0), fix(1005, 2_000.0, 0.0)],
    );
    assert_eq!(kinds(&got), [("geofence_exit".into(), t(1005))]);
    // Far away: no state kept for the geofence any more.
    assert!(d.state(&dev()).unwrap().fences.is_empty());
}

#[test]
fn a_small_geofence_can_still_be_entered_and_filters_apply() {
    // Radius 20 m: a quarter of its extent (10 m) is the entry depth, not 25 m.
    let mut small = fence("kiosk", 20.0, None);
    let mut ix = Index::of(vec![small.clone()]);
    let mut d = Detector::new(only(|c| c.geofence = true), HashMap::new());
    let got = run(&mut d, &ix, &[fix(0, 5.0, 0.0), fix(5, 0.0, 0.0)]);
    assert_eq!(kinds(&got), [("geofence_enter".into(), t(5))]);
    // Limited to another device: forgotten without an exit, and never entered again.
    small.devices = vec![DeviceId::new("1").unwrap()];
    ix.upsert(small);
    assert!(run(
        &mut d,
        &ix,
        &[fix(10, 0.0, 0.0), fix(15, 0.0, 0.0), fix(20, 500.0, 0.0)]
    )
    .is_empty());
    assert!(d.state(&dev()).unwrap().fences.is_empty());
}

#[test]
fn overspeed_fires_after_the_debounce_and_clears_below_limit_minus_margin() {
    let ix = Index::of(vec![fence("school", 1_000.0, Some(30.0))]);
    let cfg = only(|c| {
        c.overspeed = true;
        c.geofence = true;
        c.overspeed_limit_kmh = Some(90.0);
        c.overspeed_secs = 10;
        c.overspeed_margin_kmh = 5.0;
    });
    let mut d = Detector::new(cfg, HashMap::new());
    // Outside the zone (3 km north): 95 km/h for 8 s, then 85: nothing.
    let far = 3_000.0;
    let quick = [
        fix(0, far, 95.0),
        fix(4, far, 95.0),
        fix(8, far, 95.0),
        fix(12, far, 85.0),
    ];
    assert!(run(&mut d, &ix, &quick).is_empty());
    // 95 for 10 s: fires at the fix that completes the 10 s.
    let got = run(
        &mut d,
        &ix,
        &[fix(20, far, 95.0), fix(25, far, 96.0), fix(30, far, 97.0)],
    );
    assert_eq!(kinds(&got), [("overspeed+".into(), t(30))]);
    assert_eq!(got[0].value, Some(97.0));
    assert!(got[0].geofence.is_none());
    // 87 (under the limit, above limit − margin): still firing; 84: resolved.
    assert!(run(&mut d, &ix, &[fix(35, far, 87.0)]).is_empty());
    let got = run(&mut d, &ix, &[fix(40, far, 84.0)]);
    assert_eq!(kinds(&got), [("overspeed-".into(), t(40))]);
    // Inside the school zone the limit is 30: 40 km/h for 10 s fires there.
    let got = run(
        &mut d,
        &ix,
        &[
            fix(100, 0.0, 40.0),
            fix(105, 0.0, 40.0),
            fix(110, 0.0, 40.0),
            fix(115, 0.0, 40.0),
        ],
    );
    assert_eq!(kinds(&got)[0].0, "geofence_enter");
    assert_eq!(kinds(&got)[1], ("overspeed+".into(), t(115)));
    assert_eq!(got[1].geofence.as_deref(), Some("school"));
    assert_eq!(got[1].customer.as_deref(), Some("acme"));
}

#[test]
fn a_devices_own_limit_applies_outside_limited_geofences_and_theirs_inside() {
    let ix = Index::of(vec![fence("school", 1_000.0, Some(30.0))]);
    let cfg = only(|c| {
        c.overspeed = true;
        c.overspeed_limit_kmh = Some(90.0);
        c.overspeed_secs = 0;
    });
    let mut d = Detector::new(cfg, HashMap::new());
    d.device_limit = Some(Arc::new(|id: &DeviceId| (*id == dev()).then_some(60.0)));
    let far = 3_000.0;
    // 70 km/h: under the default 90, over this truck's own 60.
    let got = run(&mut d, &ix, &[fix(0, far, 70.0), fix(5, far, 70.0)]);
    assert_eq!(kinds(&got), [("overspeed+".into(), t(0))]);
    assert!(got[0].message.contains("60"), "{}", got[0].message);
    let got = run(&mut d, &ix, &[fix(10, far, 50.0)]);
    assert_eq!(kinds(&got), [("overspeed-".into(), t(10))]);
    // Inside the school zone its 30 km/h wins over the truck's 60.
    let got = run(&mut d, &ix, &[fix(100, 0.0, 40.0), fix(105, 0.0, 40.0)]);
    assert_eq!(kinds(&got), [("overspeed+".into(), t(105))]);
    assert_eq!(got[0].geofence.as_deref(), Some("school"));
}

#[test]
fn geofence_speed_limits_apply_with_enter_and_exit_events_off() {
    let ix = Index::of(vec![fence("school", 1_000.0, Some(30.0))]);
    let cfg = only(|c| {
        c.overspeed = true;
        c.overspeed_secs = 0;
    });
    let mut d = Detector::new(cfg, HashMap::new());
    let got = run(&mut d, &ix, &[fix(0, 0.0, 40.0), fix(5, 0.0, 40.0)]);
    assert_eq!(kinds(&got), [("overspeed+".into(), t(5))]);
    assert_eq!(got[0].geofence.as_deref(), Some("school"));
}

#[test]
fn ignition_changes_are_events_and_the_first_value_is_the_start_state() {
    let mut d = Detector::new(only(|c| c.ignition = true), HashMap::new());
    let ix = Index::default();
    let ign = |s, on: Option<bool>| {
        let mut p = fix(s, 0.0, 0.0);
        p.ignition = on;
        p.valid = s % 2 == 0; // ignition does not need a GNSS fix
        p
    };
    let got = run(
        &mut d,
        &ix,
        &[
            ign(0, Some(false)),
            ign(1, None),
            ign(2, Some(true)),
            ign(3, Some(true)),
            ign(4, Some(false)),
        ],
    );
    assert_eq!(
        kinds(&got),
        [("ignition_on".into(), t(2)), ("ignition_off".into(), t(4))]
    );
}

#[test]
fn motion_starts_and_stops_at_the_first_fix_of_the_run() {
    let cfg = only(|c| {
        c.motion = true;
        c.motion_start_secs = 30;
        c.motion_stop_secs = 120;
    });
    let mut d = Detector::new(cfg, HashMap::new());
    let ix = Index::default();
    let mut fixes: Vec<Position> = (0..10).map(|i| fix(i * 20, 0.0, 0.0)).collect(); // parked
    fixes.push(fix(200, 0.0, 30.0));
    fixes.push(fix(210, 0.0, 2.0)); // a stop-and-go blip
    fixes.extend((0..5).map(|i| fix(220 + i * 10, 0.0, 40.0)));
    fixes.extend((0..4).map(|i| fix(300 + i * 60, 0.0, 0.0))); // 0, 60, 120: stopped at 120 s
    let got = run(&mut d, &ix, &fixes);
    assert_eq!(
        kinds(&got),
        [
            ("motion_start".into(), t(220)),
            ("motion_stop".into(), t(300))
        ]
    );
}

#[test]
fn a_start_before_the_first_stop_is_confirmed_begins_at_the_first_moving_fix() {
    let mut d = Detector::new(only(|c| c.motion = true), HashMap::new());
    let ix = Index::default();
    // Parked for 30 s (not yet a confirmed stop), then moving from 30 s on.
    let mut fixes: Vec<Position> = (0..4).map(|i| fix(i * 10, 0.0, 0.0)).collect();
    fixes.extend((4..9).map(|i| fix(i * 10, 0.0, 30.0)));
    let got = run(&mut d, &ix, &fixes);
    assert_eq!(kinds(&got), [("motion_start".into(), t(40))]);
}

#[test]
fn replays_give_the_same_events_with_the_same_ids() {
    let ix = Index::of(vec![fence("a", 300.0, Some(50.0)), fence("b", 800.0, None)]);
    let cfg = EventsConfig {
        overspeed_limit_kmh: Some(80.0),
        ..EventsConfig::default()
    };
    // A drive in and out of both zones with speed and ignition changes.
    let fixes: Vec<Position> = (0..200)
        .map(|i| {
            let north = 1_500.0 - (i as f64 * 15.0 - 1_500.0).abs();
            let mut p = fix(i * 5, north, if i % 60 < 20 { 70.0 } else { 3.0 });
            p.ignition = Some(i % 80 < 70);
            p
        })
        .collect();
    let mut a = Detector::new(cfg.clone(), HashMap::new());
    let all = run(&mut a, &ix, &fixes);
    assert!(
        [
            "geofence_enter",
            "geofence_exit",
            "overspeed",
            "ignition_off",
            "motion_start",
            "motion_stop"
        ]
        .iter()
        .all(|k| all.iter().any(|e| e.kind == *k)),
        "{:?}",
        kinds(&all)
    );
    // A second run of the same fixes: identical events, ids included.
    let mut b = Detector::new(cfg.clone(), HashMap::new());
    assert_eq!(run(&mut b, &ix, &fixes), all);
    // A crash after 120 fixes: the saved state is restored and the log replays from 100
    // (the last batch was not committed). Fixes already seen are ignored; the rest give the
    // same events as the uninterrupted run.
    let mut c = Detector::new(cfg.clone(), HashMap::new());
    let first = run(&mut c, &ix, &fixes[..120]);
    let saved: HashMap<DeviceId, DeviceState> = c.take_dirty().into_iter().collect();
    let json = serde_json::to_string(&saved).unwrap();
    let mut c2 = Detector::new(cfg, serde_json::from_str(&json).unwrap());
    let rest = run(&mut c2, &ix, &fixes[100..]);
    assert_eq!([first, rest].concat(), all);
}
