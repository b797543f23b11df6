//! One synthetic trip: a vehicle driving a planned route in 5-s steps, with the incidents
//! and habits of its preset, reporting a fix every `fix_every_s` (every 5 min once it has
//! stood still for 10 min, as parked trackers do).

use super::{Preset, Rng, RouteDef};
use crate::tracking::hos::{HosClock, HosLimits};
use crate::tracking::projection::Route;
use crate::tracking::shipment::ShipmentSpec;
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use geo::{Bearing, Destination, Haversine, Point};

/// Simulation step, seconds.
const STEP_S: f64 = 5.0;
/// Fix interval once stood still for `PARKED_AFTER_S`.
const PARKED_EVERY_S: f64 = 300.0;
const PARKED_AFTER_S: f64 = 600.0;
/// Rush hours act within this distance of a stop (the towns), metres.
const TOWN_M: f64 = 15_000.0;

/// The incidents and habits of one trip, drawn up front.
struct Plan {
    base_v: f64,
    slows: Vec<(f64, f64)>,
    /// (along, seconds) unplanned stops.
    halts: Vec<(f64, f64)>,
    detour: Option<f64>,
    gap: Option<(f64, f64)>,
    jump_p: f64,
    dwell: Vec<f64>,
    rush_factor: f64,
    jam_factor: f64,
}

/// How a driver uses the driving-time rules: pauses a little before the limit, for a little
/// longer than the minimum.
struct Habits {
    lim: HosLimits,
    break_at: (f64, f64),
    break_len: (f64, f64),
    rest_at: (f64, f64),
    rest_len: (f64, f64),
}

fn habits(def: &RouteDef, preset: Preset) -> Option<Habits> {
    let lim = def.hos.limits()?;
    let h = 3600.0;
    let hard = preset == Preset::Hard;
    Some(Habits {
        break_at: if hard {
            (lim.break_after_s - 1.25 * h, lim.break_after_s)
        } else {
            (lim.break_after_s - 0.5 * h, lim.break_after_s)
        },
        break_len: if hard {
            (lim.break_s, lim.break_s + 0.6 * h)
        } else {
            (lim.break_s, lim.break_s + 0.25 * h)
        },
        rest_at: (
            lim.daily_drive_s - if hard { 1.0 } else { 0.5 } * h,
            lim.daily_drive_s,
        ),
        rest_len: if hard {
            (lim.min_rest_s + 0.5 * h, lim.daily_rest_s + 1.5 * h)
        } else {
            (lim.daily_rest_s, lim.daily_rest_s + h)
        },
        lim,
    })
}

/// Generates trip `i` of route `def` (planned as `spec`).
pub(super) fn one_trip(
    rng: &mut Rng,
    i: usize,
    def: &RouteDef,
    spec: &ShipmentSpec,
    preset: Preset,
) -> super::GenTrip {
    let route = Route::new(&spec.route.coordinates);
    let total = route.length_m();
    let mut stop_along = Vec::new();
    let mut from = 0.0;
    for s in &spec.stops {
        let p = route.project(s.lat, s.lon, from, total, from);
        stop_along.push(p.along_m);
        from = p.along_m;
    }
    let start_h = rng.uniform(def.start_h.0, def.start_h.1);
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::days(i as i64)
        + Duration::seconds((start_h * 3600.0) as i64);
    let mut tags = Vec::new();
    let plan = draw_plan(rng, def, preset, total, &stop_along, &mut tags);
    let mut sim = Sim {
        rng,
        route: &route,
        stop_along: &stop_along,
        def,
        plan: &plan,
        habits: habits(def, preset),
        t0,
        fixes: Vec::new(),
        tags: Vec::new(),
    };
    sim.run();
    let mut seen = Vec::new();
    for t in tags.into_iter().chain(sim.tags) {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    let name = format!(
        "t{i:02}-{}",
        if seen.is_empty() {
            "clean".to_string()
        } else {
            seen.join("+")
        }
    );
    super::GenTrip {
        shipment: def.id.to_string(),
        name,
        fixes: sim.fixes,
    }
}

fn draw_plan(
    rng: &mut Rng,
    def: &RouteDef,
    preset: Preset,
    total: f64,
    stop_along: &[f64],
    tags: &mut Vec<&'static str>,
) -> Plan {
    let hard = preset == Preset::Hard;
    // Scenario features, each at a random place away from the stops.
    let pick = |rng: &mut Rng| loop {
        let s = rng.uniform(5_000.0, total - 10_000.0);
        if stop_along.iter().all(|a| (s - a).abs() > 8_000.0) {
            return s;
        }
    };
    let (vlo, vhi) = if hard { (0.75, 1.15) } else { (0.85, 1.1) };
    let base_v = def.planned_kmh / 3.6 * rng.uniform(vlo, vhi);
    let mut slows = Vec::new();
    if rng.chance(if hard { 0.6 } else { 0.5 }) {
        for _ in 0..(1 + (rng.next_u64() % if hard { 3 } else { 2 }) as usize) {
            let at = pick(rng);
            slows.push((at, at + rng.uniform(3_000.0, 10_000.0)));
        }
        tags.push("slow");
    }
    let mut halts = Vec::new();
    if rng.chance(if hard { 0.45 } else { 0.3 }) {
        let n = if hard {
            1 + (rng.next_u64() % 2) as usize
        } else {
            1
        };
        for _ in 0..n {
            let (lo, hi) = if hard {
                (900.0, 4_200.0)
            } else {
                (1_200.0, 3_000.0)
            };
            halts.push((pick(rng), rng.uniform(lo, hi)));
        }
        tags.push("stop");
    }
    let detour = rng.chance(if hard { 0.3 } else { 0.2 }).then(|| pick(rng));
    if detour.is_some() {
        tags.push("detour");
    }
    let gap = rng
        .chance(if hard { 0.35 } else { 0.25 })
        .then(|| (pick(rng), rng.uniform(1_500.0, 2_400.0)));
    if gap.is_some() {
        tags.push("gap");
    }
    let jump_p = if rng.chance(if hard { 0.5 } else { 0.4 }) {
        tags.push("jumps");
        0.01
    } else {
        0.0
    };
    let stretch = if hard { 1.3 } else { 1.0 };
    let dwell = def
        .dwell_s
        .iter()
        .map(|(lo, hi)| rng.uniform(*lo, lo + (hi - lo) * stretch + 1e-9))
        .collect();
    Plan {
        base_v,
        slows,
        halts,
        detour,
        gap,
        jump_p,
        dwell,
        rush_factor: if hard { 0.45 } else { 0.55 },
        jam_factor: if hard { 0.25 } else { 0.3 },
    }
}

/// A trip being driven.
struct Sim<'a> {
    rng: &'a mut Rng,
    route: &'a Route,
    stop_along: &'a [f64],
    def: &'a RouteDef,
    plan: &'a Plan,
    habits: Option<Habits>,
    t0: DateTime<Utc>,
    fixes: Vec<(DateTime<Utc>, f64, f64)>,
    tags: Vec<&'static str>,
}

impl Sim<'_> {
    fn run(&mut self) {
        let (mut t, mut s, mut next_fix) = (0.0_f64, 0.0_f64, 0.0_f64);
        // (until, began) of the standstill in progress.
        let mut hold: Option<(f64, f64)> = Some((self.rng.uniform(60.0, 300.0), 0.0));
        let mut next_stop = 1;
        let mut gap_until: Option<f64> = None;
        let mut halts_done = 0;
        let mut done_gap = false;
        let mut clock = HosClock::default();
        let mut thresholds = self.draw_thresholds();
        loop {
            if t >= next_fix {
                let parked = hold.is_some_and(|(_, began)| t - began > PARKED_AFTER_S);
                next_fix += if parked {
                    PARKED_EVERY_S
                } else {
                    self.def.fix_every_s
                };
                if !gap_until.is_some_and(|g| t < g) {
                    self.fix(t, s);
                }
            }
            if let Some((until, _)) = hold {
                if t < until {
                    t += STEP_S;
                    continue;
                }
                hold = None;
                if next_stop > self.stop_along.len() {
                    break;
                }
            }
            if let Some(pause) = self.due_pause(&clock, thresholds) {
                if let Some(h) = &self.habits {
                    clock.stand(pause, &h.lim);
                }
                self.tags.push(if pause >= 8.0 * 3600.0 {
                    "rest"
                } else {
                    "break"
                });
                thresholds = self.draw_thresholds();
                hold = Some((t + pause, t));
                continue;
            }
            if let Some(&(at, dur)) = self.plan.halts.get(halts_done) {
                if s >= at {
                    halts_done += 1;
                    if let Some(h) = &self.habits {
                        clock.stand(dur, &h.lim);
                    }
                    hold = Some((t + dur, t));
                    continue;
                }
            }
            if let Some((at, dur)) = self.plan.gap {
                if !done_gap && s >= at {
                    done_gap = true;
                    gap_until = Some(t + dur);
                }
            }
            s = (s + self.speed(s, t) * STEP_S).min(self.route.length_m());
            t += STEP_S;
            clock.add_driving(STEP_S);
            if next_stop < self.stop_along.len() && s >= self.stop_along[next_stop] {
                s = self.stop_along[next_stop];
                let dwell = self.plan.dwell[next_stop];
                if let Some(h) = &self.habits {
                    clock.stand(dwell, &h.lim);
                }
                hold = Some((t + dwell, t));
                next_stop += 1;
                if next_stop == self.stop_along.len() {
                    next_stop += 1;
                }
            }
            if t > 4.0 * 86_400.0 {
                break;
            }
        }
    }

    /// Driving after which this driver takes the next break and the next rest.
    fn draw_thresholds(&mut self) -> (f64, f64) {
        match &self.habits {
            Some(h) => {
                let (b, r) = (h.break_at, h.rest_at);
                (self.rng.uniform(b.0, b.1), self.rng.uniform(r.0, r.1))
            }
            None => (f64::MAX, f64::MAX),
        }
    }

    /// A pause the driver takes now, its length.
    fn due_pause(&mut self, clock: &HosClock, (break_at, rest_at): (f64, f64)) -> Option<f64> {
        let h = self.habits.as_ref()?;
        let (rl, bl) = (h.rest_len, h.break_len);
        if clock.today_s >= rest_at {
            return Some(self.rng.uniform(rl.0, rl.1));
        }
        (clock.since_break_s >= break_at).then(|| self.rng.uniform(bl.0, bl.1))
    }

    /// Speed at `s` metres, `t` seconds into the trip.
    fn speed(&mut self, s: f64, t: f64) -> f64 {
        let p = self.plan;
        let mut v = p.base_v;
        if p.slows.iter().any(|(a, b)| s >= *a && s < *b) {
            v *= 0.25;
        }
        if p.detour.is_some_and(|d| s >= d && s < d + 6_000.0) {
            v *= 0.8;
        }
        let now = self.t0 + Duration::seconds(t as i64);
        let weekday = now.weekday().num_days_from_monday() < 5;
        let hour = now.hour() as f64 + now.minute() as f64 / 60.0;
        let rush = weekday && ((7.0..9.0).contains(&hour) || (16.0..18.5).contains(&hour));
        if rush && self.stop_along.iter().any(|a| (s - a).abs() < TOWN_M) {
            v *= p.rush_factor;
            self.tag("rush");
        }
        let (ja, jb) = self.def.congestion_m;
        if s >= ja && s < jb {
            if weekday && (15.0..19.0).contains(&hour) {
                v *= p.jam_factor;
                self.tag("jam");
            } else {
                v *= 0.8;
            }
        }
        v
    }

    fn tag(&mut self, t: &'static str) {
        if !self.tags.contains(&t) {
            self.tags.push(t);
        }
    }

    fn fix(&mut self, t: f64, s: f64) {
        let off = self.plan.detour.map_or(0.0, |d| lateral(s, d));
        let mut p = offset(self.route, s, off);
        let n = (self.rng.uniform(-6.0, 6.0), self.rng.uniform(-6.0, 6.0));
        p = Haversine.destination(p, 0.0, n.0);
        p = Haversine.destination(p, 90.0, n.1);
        if self.plan.jump_p > 0.0 && self.rng.chance(self.plan.jump_p * 3.0) {
            p = Haversine.destination(
                p,
                self.rng.uniform(0.0, 360.0),
                self.rng.uniform(3_000.0, 8_000.0),
            );
        }
        self.fixes
            .push((self.t0 + Duration::seconds(t as i64), p.y(), p.x()));
    }
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
