//! The time-and-ETA rules of a tracker: long stop, detention, ETA with late/early, and the
//! no-signal timer. Split from `tracker.rs` to keep each file one concern.

use super::cleaning::Fix;
use super::config::TrackingConfig;
use super::eta::add_secs;
use super::exceptions::tier_of;
use super::motion::Motion;
use super::predict::StopEta;
use super::stops::{Prediction, Visit};
use super::tracker::{Shared, ShipmentStatus, Tracker};
use crate::model::{AlertState, EtaUpdate, Record, StopStatus};
use chrono::{DateTime, Utc};

/// Predictions kept per stop to learn the error distribution (one per this many seconds).
const PREDICTION_EVERY_S: i64 = 120;
/// Most predictions kept per stop.
const MAX_PREDICTIONS: usize = 240;

impl Tracker {
    /// Long stop outside stops and detention at stops.
    pub(super) fn update_dwell_rules(
        &mut self,
        cfg: &TrackingConfig,
        fix: &Fix,
        motion: Motion,
        at_stop: bool,
        out: &mut Vec<Record>,
    ) {
        let now = fix.time;
        let (on, off, minutes) = match motion {
            Motion::Stopped { since } if !at_stop => {
                let m = (now - since).num_minutes();
                (tier_of(m, &cfg.long_stop_tiers_min).is_some(), false, m)
            }
            _ => (false, true, 0),
        };
        let tier = tier_of(minutes, &cfg.long_stop_tiers_min).unwrap_or(0);
        let t = self
            .state
            .rules
            .entry("long_stop".into())
            .or_default()
            .step(now, on, off, tier, 0, 0);
        self.transition(out, t, "long_stop", now, None, minutes as f64, "long stop");

        for i in 0..self.spec.stops.len() {
            if self.state.stops[i].visit != Visit::Arrived {
                continue;
            }
            let Some(arrived) = self.state.stops[i].arrived_at else {
                continue;
            };
            let dwell = (now - arrived).num_minutes();
            let free = self.spec.stops[i]
                .free_time_min
                .unwrap_or(cfg.detention_free_min);
            let tiers = [(free - cfg.detention_warning_min).max(0), free];
            let tier = tier_of(dwell, &tiers);
            let key = format!("detention:{}", self.spec.stops[i].id);
            let t = self.state.rules.entry(key).or_default().step(
                now,
                tier.is_some(),
                false,
                tier.unwrap_or(0),
                0,
                0,
            );
            let what = if tier.is_some_and(|t| t as i64 >= free) {
                "detention (free time over)"
            } else {
                "detention warning"
            };
            self.transition(out, t, "detention", now, Some(i), dwell as f64, what);
        }
    }

    /// ETA for every pending stop, and the late/early rules fed by it. Returns true when a
    /// stop's status changed.
    pub(super) fn update_etas(
        &mut self,
        fix: &Fix,
        along: f64,
        sh: &mut Shared<'_>,
        out: &mut Vec<Record>,
    ) -> bool {
        let cfg = sh.cfg;
        let now = fix.time;
        let mut changed = false;
        for (i, p) in self
            .predict(now, along, cfg, sh.history)
            .into_iter()
            .enumerate()
        {
            let Some(p) = p else { continue };
            let horizon = (p.eta - now).num_seconds();
            let band = sh
                .errors
                .band(&self.route_key, horizon, p.sigma_s, cfg.band_min_samples);
            let status = self.late_and_early(i, now, p.eta, band.1, cfg, out);
            changed |= self.state.etas[i].as_ref().map(|e| e.status) != Some(status);
            self.keep_prediction(i, now, p, band);
            self.state.etas[i] = Some(self.eta_update(i, now, along, p.eta, band, status));
        }
        changed
    }

    /// The late and early rules of stop `i` for a P50 `eta` whose P90 is `eta + hi`; returns
    /// the stop's status.
    fn late_and_early(
        &mut self,
        i: usize,
        now: DateTime<Utc>,
        eta: DateTime<Utc>,
        hi: f64,
        cfg: &TrackingConfig,
        out: &mut Vec<Record>,
    ) -> StopStatus {
        let spec = &self.spec.stops[i];
        let (id, late_ref) = (
            spec.id.clone(),
            spec.window_end.unwrap_or(spec.planned_arrival),
        );
        let early_ref = spec.window_start.unwrap_or(spec.planned_arrival);
        let late_s = (eta - late_ref).num_seconds();
        let tier = tier_of(late_s / 60, &cfg.late_tiers_min)
            .unwrap_or(cfg.late_tiers_min.first().copied().unwrap_or(0) as u32);
        let t = self
            .state
            .rules
            .entry(format!("late:{id}"))
            .or_default()
            .step(
                now,
                late_s > cfg.late_min * 60,
                // Clears on the pessimistic (P90) estimate: "back on time" is only said when even
                // that is on time, so a far stop whose P50 wobbles around the threshold does not
                // clear and re-fire (flap).
                late_s as f64 + hi < (cfg.late_clear_min * 60) as f64,
                tier,
                cfg.late_hold_secs,
                cfg.late_clear_hold_secs,
            );
        self.transition(out, t, "late", now, Some(i), late_s as f64 / 60.0, "late");
        let early_s = (early_ref - eta).num_seconds();
        let t = self
            .state
            .rules
            .entry(format!("early:{id}"))
            .or_default()
            .step(
                now,
                early_s > cfg.early_min * 60,
                early_s < cfg.early_min * 30,
                cfg.early_min as u32,
                cfg.late_hold_secs,
                cfg.late_clear_hold_secs,
            );
        self.transition(
            out,
            t,
            "early",
            now,
            Some(i),
            early_s as f64 / 60.0,
            "early",
        );
        if self.state.off_route.firing {
            StopStatus::OffRoute
        } else if late_s > cfg.late_min * 60 {
            StopStatus::Late
        } else if early_s > cfg.early_min * 60 {
            StopStatus::Early
        } else {
            StopStatus::OnTime
        }
    }

    /// Keeps one prediction per `PREDICTION_EVERY_S` to learn the error on arrival: the ETA,
    /// its spread and the band published around it.
    fn keep_prediction(&mut self, i: usize, now: DateTime<Utc>, p: StopEta, band: (f64, f64)) {
        let preds = &mut self.state.stops[i].preds;
        if preds
            .last()
            .is_none_or(|q| (now - q.made).num_seconds() >= PREDICTION_EVERY_S)
        {
            preds.push(Prediction {
                made: now,
                eta: p.eta,
                // Whole milliseconds: saved state must read back bit-for-bit (serde_json
                // parses short decimals exactly, long ones not always).
                sigma_s: (p.sigma_s * 1000.0).round() / 1000.0,
                band_s: (band.0.round(), band.1.round()),
            });
            if preds.len() > MAX_PREDICTIONS {
                preds.remove(0);
            }
        }
    }

    /// The published ETA record of stop `i`.
    fn eta_update(
        &self,
        i: usize,
        now: DateTime<Utc>,
        along: f64,
        eta: DateTime<Utc>,
        (lo, hi): (f64, f64),
        status: StopStatus,
    ) -> EtaUpdate {
        let spec = &self.spec.stops[i];
        EtaUpdate {
            shipment: self.spec.id.clone(),
            stop: spec.id.clone(),
            device: self.spec.device.clone(),
            fix_time: now,
            eta,
            eta_p10: add_secs(eta, lo),
            eta_p90: add_secs(eta, hi),
            planned: spec.planned_arrival,
            deviation_s: (eta - spec.planned_arrival).num_seconds(),
            remaining_m: (self.stop_along[i] - along).max(0.0),
            progress: self.state.progress,
            off_route_m: self.state.off_route_m,
            status,
        }
    }

    /// The clock-driven rule: no fix for max(`no_signal_min`, factor × report interval).
    /// Before the first fix the silence counts from the first stop's planned arrival (a
    /// shipment created ahead of time is not "silent").
    pub fn tick(&mut self, now: DateTime<Utc>, cfg: &TrackingConfig) -> Vec<Record> {
        let mut out = Vec::new();
        if self.state.status != ShipmentStatus::Active || self.state.no_signal {
            return out;
        }
        let since = match (self.state.last_fix, self.spec.stops.first()) {
            (Some(f), _) => f.time,
            (None, Some(s)) => s.planned_arrival,
            (None, None) => return out,
        };
        let interval = self.interval_s().unwrap_or(0.0);
        let limit = ((cfg.no_signal_min * 60) as f64).max(cfg.no_signal_interval_factor * interval);
        let silent = (now - since).num_seconds();
        if silent as f64 > limit {
            self.state.no_signal = true;
            let msg = format!("shipment {}: no fix for {} min", self.spec.id, silent / 60);
            out.push(self.alert(
                "no_signal",
                AlertState::Firing,
                None,
                now,
                None,
                Some(silent as f64 / 60.0),
                msg,
            ));
        }
        out
    }
}
