//! A truck driving a route: speed profile with slow-downs and stops, parked at the end, GPS
//! noise and jumps, and signal gaps. Pure and seeded: the caller passes the simulated time,
//! so the same seed and the same steps give the same fixes.

use super::route::{offset, Route};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// How trucks move and how their GPS and modem behave (`[motion]` in a scenario).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MotionConfig {
    /// Free-flow speed, km/h; each truck draws its own within ±15 %. Default 80.
    pub cruise_kmh: f64,
    /// Slow-downs (traffic, works) per km driven: speed drops to 20–50 km/h for 200–1000 m.
    /// Default 0.3.
    pub slowdowns_per_km: f64,
    /// Stops (lights, queues) per km driven, 20–120 s each. Default 0.2.
    pub stops_per_km: f64,
    /// Position report period while moving (or stopped briefly), simulated seconds. Default 15.
    pub moving_interval_s: f64,
    /// Heartbeat period once parked (trip over or stopped longer than
    /// `parked_after_s`), simulated seconds. Default 180.
    pub parked_interval_s: f64,
    /// A stop longer than this counts as parked. Default 120.
    pub parked_after_s: f64,
    /// How long a truck stays parked at the end of its route before driving it back. Default
    /// 600.
    pub dwell_s: f64,
    /// Standard deviation of GPS noise, metres. Default 4.
    pub noise_m: f64,
    /// Probability that a fix is a multipath jump of 300–2000 m with few satellites. Default
    /// 0.003.
    pub jump_probability: f64,
    /// Signal gaps per simulated hour; during a gap the modem is offline and fixes are
    /// buffered, then uploaded as backlog. Default 0.5.
    pub gaps_per_hour: f64,
    /// Gap length range, simulated seconds. Default [60, 600].
    pub gap_s: [f64; 2],
    /// Time spent at each depot of a trip (see [`Trip::with_depots`]: the shipment's
    /// midway stop), loading with the engine on and reporting as when moving, simulated
    /// seconds. Default 0 (trucks drive through their stops).
    pub depot_dwell_s: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            cruise_kmh: 80.0,
            slowdowns_per_km: 0.3,
            stops_per_km: 0.2,
            moving_interval_s: 15.0,
            parked_interval_s: 180.0,
            parked_after_s: 120.0,
            dwell_s: 600.0,
            noise_m: 4.0,
            jump_probability: 0.003,
            gaps_per_hour: 0.5,
            gap_s: [60.0, 600.0],
            depot_dwell_s: 0.0,
        }
    }
}

/// One GPS fix as the device's receiver reports it (already noisy): the gateway's shared
/// encoder input, so every protocol kind sends exactly what the motion model produced. The
/// model leaves `hdop` at 0 (unknown).
pub use trackgate::protocol::Fix;

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    /// Driving towards `target` m/s; a slow-down holds it low until `until_m` along the route.
    Driving { target: f64, slow_until_m: f64 },
    /// Standing still until the given simulated second.
    Stopped { until_s: f64, since_s: f64 },
    /// Trip finished; drives the route back after the dwell.
    Parked { until_s: f64, since_s: f64 },
    /// Loading at a depot until the given simulated second: engine on, reporting as moving.
    Depot { until_s: f64 },
}

/// The state of one truck on its route.
#[derive(Clone, Debug)]
pub struct Trip {
    route: Route,
    cfg: MotionConfig,
    cruise: f64,
    /// Metres from the start of the route in the direction of travel.
    along: f64,
    /// Travelling the route backwards (the return leg).
    reverse: bool,
    speed: f64,
    phase: Phase,
    /// Simulated seconds since the trip started.
    t: f64,
    odometer: f64,
    gap_until_s: Option<f64>,
    /// Depots, metres from the route's start (forward direction), and whether this leg
    /// has stopped at each yet.
    depots: Vec<(f64, bool)>,
}

const ACCEL: f64 = 1.0; // m/s², a loaded truck
const DECEL: f64 = 2.0; // m/s²

impl Trip {
    /// A truck at `start_m` metres along `route`, cruising at its own speed.
    pub fn new(route: Route, cfg: MotionConfig, start_m: f64, rng: &mut StdRng) -> Trip {
        let cruise = cfg.cruise_kmh / 3.6 * rng.random_range(0.85..1.15);
        Trip {
            along: start_m.clamp(0.0, route.length()),
            route,
            cruise,
            reverse: false,
            speed: 0.0,
            phase: Phase::Driving {
                target: cruise,
                slow_until_m: 0.0,
            },
            t: 0.0,
            odometer: 0.0,
            gap_until_s: None,
            depots: Vec::new(),
            cfg,
        }
    }

    /// Adds depots (metres from the route's start) where the truck stops for
    /// `depot_dwell_s` on every leg that passes them; none when that is 0.
    pub fn with_depots(mut self, at_m: &[f64]) -> Trip {
        if self.cfg.depot_dwell_s > 0.0 {
            self.depots = at_m.iter().map(|&m| (m, false)).collect();
        }
        self
    }

    /// The route being driven.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// This truck's free-flow speed, m/s.
    pub fn cruise_ms(&self) -> f64 {
        self.cruise
    }

    /// This truck's expected average speed over a long drive, m/s: free flow slowed by the
    /// expected stops (mean 70 s plus the climb back to cruise at `ACCEL`) and slow-downs
    /// (mean 600 m at 20–50 km/h, whose mean time per metre is ln(50/20)/(30 km/h)). Shipments
    /// are planned with it: planning at free-flow speed would make every truck "late".
    pub fn expected_ms(&self) -> f64 {
        let c = self.cruise;
        let (lo, hi): (f64, f64) = (20.0 / 3.6, 50.0 / 3.6);
        let slow_s_per_m = (hi / lo).ln() / (hi - lo);
        let s_per_m = 1.0 / c
            + self.cfg.stops_per_km / 1000.0 * (70.0 + c / (2.0 * ACCEL))
            + self.cfg.slowdowns_per_km / 1000.0 * 600.0 * (slow_s_per_m - 1.0 / c).max(0.0);
        1.0 / s_per_m
    }

    /// Advances the truck by `dt` simulated seconds (in 1 s steps: speed changes and random
    /// events are per second).
    pub fn advance(&mut self, dt: f64, rng: &mut StdRng) {
        let mut left = dt.max(0.0);
        while left > 0.0 {
            let h = left.min(1.0);
            self.step(h, rng);
            left -= h;
        }
    }

    fn step(&mut self, h: f64, rng: &mut StdRng) {
        self.t += h;
        if let Some(until) = self.gap_until_s {
            if self.t >= until {
                self.gap_until_s = None;
            }
        } else if rng.random_bool((self.cfg.gaps_per_hour * h / 3600.0).clamp(0.0, 1.0)) {
            let [lo, hi] = self.cfg.gap_s;
            self.gap_until_s = Some(self.t + rng.random_range(lo.min(hi)..=hi.max(lo)));
        }
        match self.phase.clone() {
            Phase::Stopped { until_s, .. }
            | Phase::Parked { until_s, .. }
            | Phase::Depot { until_s }
                if self.t < until_s =>
            {
                self.speed = 0.0;
            }
            Phase::Parked { .. } => {
                self.reverse = !self.reverse;
                self.along = 0.0;
                for d in &mut self.depots {
                    d.1 = false;
                }
                self.phase = self.driving();
            }
            Phase::Stopped { .. } | Phase::Depot { .. } => self.phase = self.driving(),
            Phase::Driving {
                target,
                slow_until_m,
            } => {
                let target = if self.along >= slow_until_m {
                    self.cruise
                } else {
                    target
                };
                self.speed = if self.speed < target {
                    (self.speed + ACCEL * h).min(target)
                } else {
                    (self.speed - DECEL * h).max(target)
                };
                // The last step ends exactly at the route's end: the odometer stays honest.
                let moved = (self.speed * h).min(self.route.length() - self.along);
                let before = self.along;
                self.along += moved;
                self.odometer += moved;
                let km = moved / 1000.0;
                let len = self.route.length();
                let reverse = self.reverse;
                let depot = self.depots.iter_mut().find(|(m, done)| {
                    let at = if reverse { len - *m } else { *m };
                    !*done && before < at && at <= self.along
                });
                if let Some(d) = depot {
                    d.1 = true;
                    self.speed = 0.0;
                    self.phase = Phase::Depot {
                        until_s: self.t + self.cfg.depot_dwell_s,
                    };
                } else if self.along >= self.route.length() {
                    self.along = self.route.length();
                    self.speed = 0.0;
                    self.phase = Phase::Parked {
                        until_s: self.t + self.cfg.dwell_s,
                        since_s: self.t,
                    };
                } else if rng.random_bool((self.cfg.stops_per_km * km).clamp(0.0, 1.0)) {
                    self.speed = 0.0;
                    self.phase = Phase::Stopped {
                        until_s: self.t + rng.random_range(20.0..120.0),
                        since_s: self.t,
                    };
                } else if rng.random_bool((self.cfg.slowdowns_per_km * km).clamp(0.0, 1.0)) {
                    self.phase = Phase::Driving {
                        target: rng.random_range(20.0..50.0) / 3.6,
                        slow_until_m: self.along + rng.random_range(200.0..1000.0),
                    };
                } else {
                    self.phase = Phase::Driving {
                        target,
                        slow_until_m,
                    };
                }
            }
        }
    }

    fn driving(&self) -> Phase {
        Phase::Driving {
            target: self.cruise,
            slow_until_m: 0.0,
        }
    }

    /// True while the modem has no signal (fixes must be buffered).
    pub fn in_gap(&self) -> bool {
        self.gap_until_s.is_some()
    }

    /// Ends a signal gap now (used when the run stops, so the backlog gets uploaded).
    pub fn end_gap(&mut self) {
        self.gap_until_s = None;
    }

    /// True when parked: heartbeats instead of position reports.
    pub fn parked(&self) -> bool {
        match self.phase {
            Phase::Parked { .. } => true,
            Phase::Stopped { since_s, .. } => self.t - since_s >= self.cfg.parked_after_s,
            Phase::Driving { .. } | Phase::Depot { .. } => false,
        }
    }

    /// Report period for the current state, simulated seconds.
    pub fn interval(&self) -> f64 {
        if self.parked() {
            self.cfg.parked_interval_s
        } else {
            self.cfg.moving_interval_s
        }
    }

    /// The true position and heading (no noise).
    pub fn true_position(&self) -> ([f64; 2], f64) {
        let d = if self.reverse {
            self.route.length() - self.along
        } else {
            self.along
        };
        let (p, h) = self.route.at(d);
        (p, if self.reverse { (h + 180.0) % 360.0 } else { h })
    }

    /// What the receiver reports now: true position plus noise, sometimes a jump.
    pub fn fix(&self, time: DateTime<Utc>, rng: &mut StdRng) -> Fix {
        let (p, heading) = self.true_position();
        // Noise: a Rayleigh-ish radial error from two uniform draws (Box–Muller).
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random_range(0.0..1.0);
        let r = self.cfg.noise_m * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let mut pos = offset(p, rng.random_range(0.0..360.0), r.abs());
        let mut satellites = rng.random_range(7..=12);
        let mut valid = true;
        if rng.random_bool(self.cfg.jump_probability.clamp(0.0, 1.0)) {
            pos = offset(
                p,
                rng.random_range(0.0..360.0),
                rng.random_range(300.0..2000.0),
            );
            satellites = rng.random_range(3..=4);
            valid = rng.random_bool(0.5);
        }
        Fix {
            time,
            lat: pos[1],
            lon: pos[0],
            speed_kmh: self.speed * 3.6,
            course: heading,
            altitude_m: 400.0 + rng.random_range(-5.0..5.0),
            satellites,
            hdop: 0.0,
            valid,
            ignition: !matches!(self.phase, Phase::Parked { .. }),
            odometer_m: self.odometer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn straight() -> Route {
        Route::new(vec![[8.0, 47.0], [8.0, 47.1]]).expect("route")
    }

    fn calm() -> MotionConfig {
        MotionConfig {
            slowdowns_per_km: 0.0,
            stops_per_km: 0.0,
            gaps_per_hour: 0.0,
            noise_m: 0.0,
            jump_probability: 0.0,
            ..MotionConfig::default()
        }
    }

    #[test]
    fn accelerates_to_cruise_then_parks_at_the_end() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut trip = Trip::new(straight(), calm(), 0.0, &mut rng);
        trip.advance(60.0, &mut rng);
        let cruise = trip.cruise;
        assert!((trip.speed - cruise).abs() < 1e-9, "at cruise after 60 s");
        assert_eq!(trip.interval(), 15.0);
        // 11.1 km at 68–92 km/h takes 7–10 min; at 15 min the truck is parked (dwell 10 min).
        trip.advance(900.0 - 60.0, &mut rng);
        assert!(trip.parked());
        assert_eq!(trip.interval(), 180.0);
        let f = trip.fix(Utc::now(), &mut rng);
        assert_eq!((f.speed_kmh, f.ignition), (0.0, false));
        assert!((f.lat - 47.1).abs() < 1e-9, "at the end: {}", f.lat);
        assert!((f.odometer_m - trip.route().length()).abs() < 1e-6);
    }

    #[test]
    fn expected_speed_matches_long_drives() {
        // 200 km due north, default stops and slow-downs, no gaps; drive to the end.
        let route =
            Route::new(vec![[8.0, 47.0], [8.0, 47.0 + 200_000.0 / 111_195.08]]).expect("route");
        for seed in 0..4 {
            let mut rng = StdRng::seed_from_u64(seed);
            let cfg = MotionConfig {
                gaps_per_hour: 0.0,
                ..MotionConfig::default()
            };
            let mut trip = Trip::new(route.clone(), cfg, 0.0, &mut rng);
            let expected = route.length() / trip.expected_ms();
            let mut t = 0.0;
            while !matches!(trip.phase, Phase::Parked { .. }) {
                trip.advance(10.0, &mut rng);
                t += 10.0;
            }
            let ratio = t / expected;
            assert!(
                (0.92..1.08).contains(&ratio),
                "seed {seed}: {t} s vs {expected} s"
            );
            assert!(trip.expected_ms() < 0.8 * trip.cruise_ms());
        }
    }

    #[test]
    fn stops_at_a_depot_for_the_dwell_reporting_as_moving() {
        let mut rng = StdRng::seed_from_u64(5);
        let cfg = MotionConfig {
            depot_dwell_s: 300.0,
            ..calm()
        };
        let mut trip = Trip::new(straight(), cfg, 0.0, &mut rng).with_depots(&[5_000.0]);
        let mut at_depot = 0.0;
        let mut t = 0.0;
        while t < 3_600.0 && !trip.parked() {
            trip.advance(1.0, &mut rng);
            t += 1.0;
            if matches!(trip.phase, Phase::Depot { .. }) {
                at_depot += 1.0;
                assert!((trip.along - 5_000.0).abs() < 30.0, "{}", trip.along);
                assert_eq!(trip.interval(), 15.0, "reports as moving");
            }
        }
        // The step that reaches the depot starts the dwell; 300 steps later it drives on.
        assert_eq!(at_depot, 300.0);
        assert!(trip.parked(), "reached the end after the depot");
        // Without a dwell configured, depots are ignored.
        let trip = Trip::new(straight(), calm(), 0.0, &mut rng).with_depots(&[5_000.0]);
        assert!(trip.depots.is_empty());
    }

    #[test]
    fn drives_back_after_the_dwell() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut trip = Trip::new(straight(), calm(), 11_000.0, &mut rng);
        trip.advance(700.0, &mut rng); // reach the end, dwell 600 s, then turn round
        let (_, heading) = trip.true_position();
        assert!(!trip.parked());
        assert!(
            (heading - 180.0).abs() < 0.01,
            "heading south, got {heading}"
        );
    }

    #[test]
    fn noise_is_bounded_and_jumps_are_far() {
        let mut rng = StdRng::seed_from_u64(3);
        let cfg = MotionConfig {
            noise_m: 5.0,
            ..calm()
        };
        let trip = Trip::new(straight(), cfg.clone(), 5000.0, &mut rng);
        let (p, _) = trip.true_position();
        for _ in 0..200 {
            let f = trip.fix(Utc::now(), &mut rng);
            let d = super::super::route::haversine(p, [f.lon, f.lat]);
            // Box–Muller |N(0, 5)| beyond 8σ has probability ~1e-15.
            assert!(d < 40.0, "noise {d} m");
        }
        let jumpy = Trip::new(
            straight(),
            MotionConfig {
                jump_probability: 1.0,
                ..cfg
            },
            5000.0,
            &mut rng,
        );
        let f = jumpy.fix(Utc::now(), &mut rng);
        let d = super::super::route::haversine(p, [f.lon, f.lat]);
        assert!(
            (299.0..2001.0).contains(&d) && f.satellites <= 4,
            "jump {d} m"
        );
    }

    #[test]
    fn gaps_open_and_close() {
        let mut rng = StdRng::seed_from_u64(4);
        let cfg = MotionConfig {
            gaps_per_hour: 3600.0, // one per second: opens on the first step
            gap_s: [30.0, 30.0],
            ..calm()
        };
        let mut trip = Trip::new(straight(), cfg, 0.0, &mut rng);
        trip.advance(1.0, &mut rng);
        assert!(trip.in_gap());
        trip.advance(29.0, &mut rng);
        assert!(trip.in_gap(), "still inside the 30 s gap");
        trip.end_gap();
        assert!(!trip.in_gap());
    }
}
