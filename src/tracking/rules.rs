//! The time-and-ETA rules of a tracker: long stop, detention, ETA with late/early, and the
//! no-signal timer. Split from `tracker.rs` to keep each file one concern.

use super::cleaning::Fix;
use super::config::TrackingConfig;
use super::eta::{add_secs, History, Links};
use super::exceptions::tier_of;
use super::motion::Motion;
use super::projection::distance_m;
use super::stops::Visit;
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
        out: &mut Vec<Record>,
    ) {
        let now = fix.time;
        let start = self.route.point_at(0.0);
        let at_stop = self.spec.stops.iter().any(|s| {
            distance_m((fix.lat, fix.lon), (s.lat, s.lon))
                <= s.radius_m.unwrap_or(cfg.stop_radius_m)
        }) || distance_m((fix.lat, fix.lon), (start.y(), start.x()))
            <= cfg.stop_radius_m;
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
        links: &Links,
        sh: &mut Shared<'_>,
        out: &mut Vec<Record>,
    ) -> bool {
        let cfg = sh.cfg;
        let now = fix.time;
        let pace = self
            .state
            .pace
            .ratio(cfg.pace_min_moving_secs, cfg.pace_min, cfg.pace_max);
        let mut t_s = 0.0_f64; // seconds from now until the vehicle can leave the current point
        let mut cursor = along;
        let mut base_cum = 0.0;
        let mut changed = false;
        for i in 0..self.spec.stops.len() {
            let spec = self.spec.stops[i].clone();
            // Dwell: the stop's observed median once known, else its planned service time.
            let service = sh
                .history
                .median(
                    &History::dwell_key(spec.lat, spec.lon),
                    cfg.history_min_samples,
                )
                .unwrap_or(spec.service_s.unwrap_or(0) as f64);
            match self.state.stops[i].visit {
                Visit::Departed | Visit::Skipped => continue,
                Visit::Arrived => {
                    let arrived = self.state.stops[i].arrived_at.unwrap_or(now);
                    let begin = spec.window_start.map_or(arrived, |w| w.max(arrived));
                    t_s = t_s.max((begin - now).num_seconds() as f64 + service);
                    cursor = cursor.max(self.stop_along[i]);
                    continue;
                }
                Visit::Pending => {}
            }
            let base = links.base_time(cursor, self.stop_along[i]);
            base_cum += base;
            // The live pace says most about the next hour; far stops lean on the plan/history.
            let w = (-base_cum / cfg.pace_horizon_secs.max(1.0)).exp();
            t_s += base * (1.0 + (pace - 1.0) * w);
            let eta = add_secs(now, t_s);
            let horizon = t_s.round() as i64;
            let (lo, hi) = sh.errors.band(horizon, cfg.band_min_samples);
            let begin = spec.window_start.map_or(eta, |w| w.max(eta));
            t_s = (begin - now).num_seconds() as f64 + service;
            let remaining = (self.stop_along[i] - along).max(0.0);
            cursor = cursor.max(self.stop_along[i]);

            let late_ref = spec.window_end.unwrap_or(spec.planned_arrival);
            let late_s = (eta - late_ref).num_seconds();
            let tier = tier_of(late_s / 60, &cfg.late_tiers_min)
                .unwrap_or(cfg.late_tiers_min.first().copied().unwrap_or(0) as u32);
            let t = self
                .state
                .rules
                .entry(format!("late:{}", spec.id))
                .or_default()
                .step(
                    now,
                    late_s > cfg.late_min * 60,
                    // Clears on the pessimistic (P90) estimate: "back on time" is only said
                    // when even that is on time, so a far stop whose P50 wobbles around the
                    // threshold does not clear and re-fire (flap).
                    late_s as f64 + hi < (cfg.late_clear_min * 60) as f64,
                    tier,
                    cfg.late_hold_secs,
                    cfg.late_clear_hold_secs,
                );
            self.transition(out, t, "late", now, Some(i), late_s as f64 / 60.0, "late");
            let early_ref = spec.window_start.unwrap_or(spec.planned_arrival);
            let early_s = (early_ref - eta).num_seconds();
            let t = self
                .state
                .rules
                .entry(format!("early:{}", spec.id))
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

            let status = if self.state.off_route.firing {
                StopStatus::OffRoute
            } else if late_s > cfg.late_min * 60 {
                StopStatus::Late
            } else if early_s > cfg.early_min * 60 {
                StopStatus::Early
            } else {
                StopStatus::OnTime
            };
            changed |= self.state.etas[i].as_ref().map(|e| e.status) != Some(status);
            let preds = &mut self.state.stops[i].predictions;
            if preds
                .last()
                .is_none_or(|(m, _)| (now - *m).num_seconds() >= PREDICTION_EVERY_S)
            {
                preds.push((now, eta));
                if preds.len() > MAX_PREDICTIONS {
                    preds.remove(0);
                }
            }
            self.state.etas[i] = Some(EtaUpdate {
                shipment: self.spec.id.clone(),
                stop: spec.id.clone(),
                device: self.spec.device.clone(),
                fix_time: now,
                eta,
                eta_p10: add_secs(eta, lo),
                eta_p90: add_secs(eta, hi),
                planned: spec.planned_arrival,
                deviation_s: (eta - spec.planned_arrival).num_seconds(),
                remaining_m: remaining,
                progress: self.state.progress,
                off_route_m: self.state.off_route_m,
                status,
            });
        }
        changed
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
