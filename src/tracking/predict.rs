//! The ETA walk: from where the vehicle is now, through every remaining stop, adding up
//!
//! 1. the rest of a standstill in progress (a due break or rest under the driving-time rules,
//!    else the expected rest of an unplanned halt of that length so far);
//! 2. driving, link by link at the hour the vehicle will be there (learned per time of day),
//!    scaled by the live pace ratio, which matters less the further ahead;
//! 3. the breaks and daily rests the rules impose on that driving;
//! 4. the unplanned halts a link usually sees at that time of day (a learned allowance);
//! 5. at each stop, the wait for its window and its dwell (learned per stop).
//!
//! Alongside the ETA it carries a spread σ (the variances of those parts added up), which the
//! error model turns into the calibrated P10–P90 band: a stop with halts, dwells or pauses
//! ahead gets a wider band than one on an open road.

use super::config::TrackingConfig;
use super::eta::add_secs;
use super::habits::Habits;
use super::history::{hour_of_week, History};
use super::hos::{HosClock, HosLimits, Pause};
use super::stops::Visit;
use super::tracker::Tracker;
use chrono::{DateTime, Utc};

/// Spread floor of any prediction, seconds (fix timing, arrival detection).
const SIGMA_FLOOR_S: f64 = 60.0;
/// Spread per second of driving ahead (pace and traffic uncertainty grow with it).
const SIGMA_DRIVE_SHARE: f64 = 0.08;
/// Spread of a planned break or rest, share of its length (drivers take 45–60 min for 45).
const SIGMA_PAUSE_SHARE: f64 = 0.15;
/// Spread of a dwell with no observations yet, share of the planned service time.
const SIGMA_SERVICE_SHARE: f64 = 0.3;

/// The prediction for one pending stop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopEta {
    /// P50 arrival.
    pub eta: DateTime<Utc>,
    /// Spread, seconds (what the error model's standardized quantiles multiply).
    pub sigma_s: f64,
}

/// State of the walk.
struct Walk {
    now: DateTime<Utc>,
    /// Seconds from now until the vehicle can go on from `cursor`.
    t: f64,
    /// Variance of `t` from halts, dwells and pauses, s².
    var: f64,
    /// Driving ahead so far (after pace), seconds.
    drive: f64,
    /// Driving ahead at base pace, seconds (weights the pace ratio).
    base: f64,
    clock: HosClock,
    /// The rules as drivers live them.
    habits: Option<Habits>,
    /// Driving since the last break / that day when the walk began, until the walk takes
    /// one (the chance of a pause is conditioned on it not having come yet).
    break_from: f64,
    rest_from: f64,
    cursor: f64,
    pace: f64,
}

impl Walk {
    fn sigma(&self) -> f64 {
        (SIGMA_FLOOR_S.powi(2) + (SIGMA_DRIVE_SHARE * self.drive).powi(2) + self.var).sqrt()
    }
    fn how(&self) -> Option<u16> {
        Some(hour_of_week(add_secs(self.now, self.t)))
    }

    fn lim(&self) -> Option<HosLimits> {
        self.habits.as_ref().map(|h| h.lim)
    }

    /// Runs a clock operation, noting when it took a break or rest.
    fn with_clock<R>(&mut self, f: impl FnOnce(&mut HosClock) -> R) -> R {
        let before = self.clock;
        let r = f(&mut self.clock);
        if self.clock.since_break_s < before.since_break_s {
            self.break_from = 0.0;
        }
        if self.clock.today_s < before.today_s {
            self.rest_from = 0.0;
        }
        r
    }

    /// Pauses that may come before here: their expected seconds and variance.
    fn pause_odds(&self) -> (f64, f64) {
        let Some(h) = &self.habits else {
            return (0.0, 0.0);
        };
        let pb = h.breaks.chance(self.break_from, self.clock.since_break_s);
        let pr = h.rests.chance(self.rest_from, self.clock.today_s);
        let (b, r) = (h.lim.break_len_s, h.lim.daily_rest_s);
        (
            pb * b + pr * r,
            pb * (1.0 - pb) * b * b + pr * (1.0 - pr) * r * r,
        )
    }
}

impl Tracker {
    /// ETA and spread for every pending stop (`None` for visited ones), as of `now` with the
    /// vehicle `along` the route.
    pub(super) fn predict(
        &self,
        now: DateTime<Utc>,
        along: f64,
        cfg: &TrackingConfig,
        history: &History,
    ) -> Vec<Option<StopEta>> {
        let mut w = Walk {
            now,
            t: 0.0,
            var: 0.0,
            drive: 0.0,
            base: 0.0,
            clock: self.state.driver.clock,
            habits: self.hos.map(|lim| {
                let early = (cfg.hos_early_min * 60) as f64;
                Habits::learn(self.hos_rules, lim, history, early, cfg.history_min_samples)
            }),
            break_from: self.state.driver.clock.since_break_s,
            rest_from: self.state.driver.clock.today_s,
            cursor: along,
            pace: self
                .state
                .pace
                .ratio(cfg.pace_min_moving_secs, cfg.pace_min, cfg.pace_max),
        };
        self.standstill_in_progress(&mut w, cfg, history);
        let mut out = vec![None; self.spec.stops.len()];
        for (i, slot) in out.iter_mut().enumerate() {
            match self.state.stops[i].visit {
                Visit::Departed | Visit::Skipped => continue,
                Visit::Arrived => {
                    self.dwell_in_progress(&mut w, i, cfg, history);
                    continue;
                }
                Visit::Pending => {}
            }
            self.drive_to(&mut w, self.stop_along[i], cfg, history);
            let (odds, odds_var) = w.pause_odds();
            let eta = add_secs(now, w.t + odds);
            *slot = Some(StopEta {
                eta,
                sigma_s: (w.sigma().powi(2) + odds_var).sqrt(),
            });
            self.serve(&mut w, i, eta, cfg, history);
        }
        out
    }

    /// Step 1: a standstill on the road now. Under driving-time rules it may be a due break
    /// or rest (then its remaining length); otherwise an unplanned halt, expected to last as
    /// long beyond its length so far as the halts observed that lasted that long did.
    fn standstill_in_progress(&self, w: &mut Walk, cfg: &TrackingConfig, history: &History) {
        let Some(standing) = self.state.driver.road_standstill(w.now) else {
            return;
        };
        if let Some(lim) = w.lim() {
            let last = (0..self.spec.stops.len())
                .rev()
                .find(|i| !self.state.stops[*i].done())
                .map_or(w.cursor, |i| self.stop_along[i]);
            let ahead = self.links(cfg, history, w.how()).base_time(w.cursor, last) * w.pace;
            let early = (cfg.hos_early_min * 60) as f64;
            if let Some((pause, planned)) = w.with_clock(|c| c.resume(standing, ahead, early, &lim))
            {
                // The rest of a pause that long so far, as drivers were seen to take them.
                let kind = match pause {
                    Pause::Break => "break",
                    Pause::Rest => "rest",
                };
                let key = History::pause_key(self.hos_rules, kind);
                let (left, var) = history
                    .remaining_after(&key, standing, cfg.history_min_samples)
                    .unwrap_or((
                        planned.max(0.0),
                        (SIGMA_PAUSE_SHARE * planned.max(0.0)).powi(2),
                    ));
                w.t += left;
                w.var += var;
                return;
            }
        }
        if let Some((mean, var)) =
            history.remaining_after(History::STANDSTILL, standing, cfg.history_min_samples)
        {
            w.t += mean;
            w.var += var;
        }
    }

    /// At stop `i` now: the vehicle leaves once its window opened and the dwell is over.
    fn dwell_in_progress(&self, w: &mut Walk, i: usize, cfg: &TrackingConfig, history: &History) {
        let spec = &self.spec.stops[i];
        let arrived = self.state.stops[i].arrived_at.unwrap_or(w.now);
        let begin = spec.window_start.map_or(arrived, |ws| ws.max(arrived));
        let served = (w.now - begin).num_seconds() as f64;
        let key = History::dwell_key(spec.lat, spec.lon);
        let (median, var) = self.dwell(i, Some(hour_of_week(arrived)), cfg, history);
        let (left, var) = if served < 0.0 {
            (-served + median, var)
        } else {
            history
                .remaining_after(&key, served, cfg.history_min_samples)
                .unwrap_or(((median - served).max(0.0), var.min(median.powi(2))))
        };
        w.t = w.t.max(left);
        w.var += var;
        if let Some(lim) = w.lim() {
            let total = (w.now - arrived).num_seconds() as f64 + left;
            w.with_clock(|c| c.stand(total, &lim));
        }
        w.cursor = w.cursor.max(self.stop_along[i]);
    }

    /// Steps 2–4: drive from the cursor to `to_m`, link by link.
    fn drive_to(&self, w: &mut Walk, to_m: f64, cfg: &TrackingConfig, history: &History) {
        let mut start = 0.0;
        for (k, &end) in self.stop_along.iter().enumerate() {
            let (a, b) = (w.cursor.max(start), to_m.min(end));
            let link_len = end - start;
            start = end;
            if b <= a {
                continue;
            }
            let how = w.how();
            let base = (b - a) * self.link_spm(k, how, cfg, history);
            w.base += base;
            // The live pace says most about the next hours; far links lean on history.
            let weight = (-w.base / cfg.pace_horizon_secs.max(1.0)).exp();
            let drive = base * (1.0 + (w.pace - 1.0) * weight);
            w.drive += drive;
            w.t += drive;
            if let Some(lim) = w.lim() {
                let pauses = w.with_clock(|c| c.drive(drive, &lim));
                w.t += pauses;
                w.var += (SIGMA_PAUSE_SHARE * pauses).powi(2);
            }
            let halts = self.link_keys[k].as_deref().and_then(|key| {
                history.mean_var_at(&History::halt_key(key), how, cfg.history_min_samples)
            });
            if let Some((mean, var)) = halts {
                let share = if link_len > 1.0 {
                    (b - a) / link_len
                } else {
                    1.0
                };
                w.t += mean * share * cfg.halt_allowance_share;
                w.var += var * share;
            }
        }
        w.cursor = w.cursor.max(to_m);
    }

    /// Step 5: wait for the window, then dwell.
    fn serve(
        &self,
        w: &mut Walk,
        i: usize,
        eta: DateTime<Utc>,
        cfg: &TrackingConfig,
        history: &History,
    ) {
        let spec = &self.spec.stops[i];
        let begin = spec.window_start.map_or(eta, |ws| ws.max(eta));
        let (dwell, var) = self.dwell(i, Some(hour_of_week(eta)), cfg, history);
        let wait = (begin - eta).num_seconds() as f64;
        w.t = (begin - w.now).num_seconds() as f64 + dwell;
        w.var += var;
        if let Some(lim) = w.lim() {
            w.with_clock(|c| c.stand(wait + dwell, &lim));
        }
    }

    /// Dwell at stop `i` (median and variance): observed at that stop nearest the time of
    /// day, else its planned service time.
    fn dwell(
        &self,
        i: usize,
        how: Option<u16>,
        cfg: &TrackingConfig,
        history: &History,
    ) -> (f64, f64) {
        let spec = &self.spec.stops[i];
        let key = History::dwell_key(spec.lat, spec.lon);
        let min = cfg.history_min_samples;
        match (
            history.median_at(&key, how, min),
            history.mean_var_at(&key, how, min),
        ) {
            (Some(median), Some((_, var))) => (median, var),
            _ => {
                let s = spec.service_s.unwrap_or(0) as f64;
                (s, (SIGMA_SERVICE_SHARE * s).powi(2))
            }
        }
    }
}
