//! Stop visits (arrival, departure, skip, completion) and the off-route rule of a tracker,
//! with the alerts they produce. Split from `tracker.rs` to keep each file one concern.

use super::cleaning::Fix;
use super::config::TrackingConfig;
use super::exceptions::off_route::{OffRoute, OffRouteLimits};
use super::exceptions::Transition;
use super::history::History;
use super::motion::Motion;
use super::projection::distance_m;
use super::stops::{StopEvent, Visit};
use super::tracker::{Shared, ShipmentStatus, Tracker};
use crate::model::{AlertState, EtaUpdate, Record, StopStatus};
use chrono::{DateTime, Utc};

impl Tracker {
    /// Stop visits; returns true when a stop event happened.
    pub(super) fn update_stops(
        &mut self,
        fix: &Fix,
        motion: Motion,
        along: f64,
        sh: &mut Shared<'_>,
        out: &mut Vec<Record>,
    ) -> bool {
        let cfg = sh.cfg;
        let now = fix.time;
        let stopped = matches!(motion, Motion::Stopped { .. });
        let mut any = false;
        for i in 0..self.spec.stops.len() {
            let s = &self.spec.stops[i];
            let r = self.radius(cfg, i);
            let inside = distance_m((fix.lat, fix.lon), (s.lat, s.lon)) <= r;
            let reachable =
                (along - self.stop_along[i]).abs() <= r + cfg.skip_after_m + cfg.window_slack_m;
            let ev = self.state.stops[i].update(
                now,
                inside,
                stopped,
                reachable,
                cfg.arrival_secs,
                cfg.departure_secs,
            );
            match ev {
                Some(StopEvent::Arrived(at)) => {
                    any = true;
                    self.on_arrival(i, at, now, sh, out);
                }
                Some(StopEvent::Departed(at)) => {
                    any = true;
                    if let Some(arrived) = self.state.stops[i].arrived_at {
                        let dwell = (at - arrived).num_seconds();
                        if dwell > 0 {
                            let key = History::dwell_key(s.lat, s.lon);
                            sh.history.record(
                                key,
                                dwell as f64,
                                Some(arrived),
                                cfg.history_max_samples,
                            );
                        }
                    }
                    self.state.driver.depart();
                    let t = self
                        .state
                        .rules
                        .entry(format!("detention:{}", s.id))
                        .or_default()
                        .reset();
                    self.transition(out, t, "detention", now, Some(i), 0.0, "detention");
                    out.push(self.alert(
                        "departed",
                        AlertState::Info,
                        None,
                        at,
                        Some(i),
                        None,
                        format!(
                            "shipment {}: departed {}",
                            self.spec.id, self.spec.stops[i].id
                        ),
                    ));
                }
                None => {}
            }
            if self.state.stops[i].visit == Visit::Pending
                && !inside
                && along > self.stop_along[i] + r + cfg.skip_after_m
            {
                any |= self.skip(i, now, out);
            }
        }
        let all_done = self.state.stops.iter().all(|s| s.done());
        let last_reached = self
            .state
            .stops
            .last()
            .is_some_and(|s| matches!(s.visit, Visit::Arrived | Visit::Departed));
        if all_done && last_reached {
            self.complete(now, out);
        }
        any
    }

    fn skip(&mut self, i: usize, now: DateTime<Utc>, out: &mut Vec<Record>) -> bool {
        if !self.state.stops[i].skip() {
            return false;
        }
        self.resolve_stop_rules(i, now, out);
        out.push(self.alert(
            "skipped",
            AlertState::Info,
            None,
            now,
            Some(i),
            None,
            format!(
                "shipment {}: stop {} skipped",
                self.spec.id, self.spec.stops[i].id
            ),
        ));
        if let Some(e) = self.state.etas[i].as_mut() {
            e.status = StopStatus::Skipped;
            e.fix_time = now;
            out.push(Record::Eta(e.clone()));
        }
        true
    }

    fn resolve_stop_rules(&mut self, i: usize, now: DateTime<Utc>, out: &mut Vec<Record>) {
        for kind in ["late", "early"] {
            let key = format!("{kind}:{}", self.spec.stops[i].id);
            let t = self.state.rules.get_mut(&key).and_then(|r| r.reset());
            self.transition(out, t, kind, now, Some(i), 0.0, kind);
        }
    }

    fn on_arrival(
        &mut self,
        i: usize,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        sh: &mut Shared<'_>,
        out: &mut Vec<Record>,
    ) {
        let cfg = sh.cfg;
        for j in 0..i {
            self.skip(j, now, out);
        }
        self.resolve_stop_rules(i, now, out);
        // Learn: the error of every prediction made for this stop, and the link time.
        for p in std::mem::take(&mut self.state.stops[i].preds) {
            let err = (at - p.eta).num_seconds() as f64;
            sh.errors.record(
                &self.route_key,
                (at - p.made).num_seconds(),
                err,
                p.sigma_s,
                p.band_s,
                cfg.band_max_samples,
            );
        }
        self.learn_link(i, at, sh);
        let planned = self.spec.stops[i].planned_arrival;
        let dev = (at - planned).num_seconds();
        out.push(self.alert(
            "arrived",
            AlertState::Info,
            None,
            at,
            Some(i),
            Some(dev as f64),
            format!(
                "shipment {}: arrived at {} ({dev:+} s vs plan)",
                self.spec.id, self.spec.stops[i].id
            ),
        ));
        let e = EtaUpdate {
            shipment: self.spec.id.clone(),
            stop: self.spec.stops[i].id.clone(),
            device: self.spec.device.clone(),
            fix_time: now,
            eta: at,
            eta_p10: at,
            eta_p90: at,
            planned,
            deviation_s: dev,
            remaining_m: 0.0,
            progress: self.state.progress,
            off_route_m: self.state.off_route_m,
            status: StopStatus::Arrived,
        };
        out.push(Record::Eta(e.clone()));
        self.state.etas[i] = Some(e);
    }

    /// Learns the link that ends at stop `i` (arrived at `at`): its driving time (the time
    /// since the previous stop's departure less the standstills on the way) and its unplanned
    /// halt time, both at the hour it was entered.
    fn learn_link(&mut self, i: usize, at: DateTime<Utc>, sh: &mut Shared<'_>) {
        let max = sh.cfg.history_max_samples;
        let Some(key) = self.link_keys.get(i).cloned().flatten() else {
            return;
        };
        let Some(dep) = i
            .checked_sub(1)
            .and_then(|p| self.state.stops[p].departed_at)
        else {
            return;
        };
        let d = &self.state.driver;
        let total = (at - dep).num_seconds() as f64;
        let driving = total - d.link_halt_s - d.link_pause_s;
        if driving > 0.0 {
            let halt = d.link_halt_s;
            sh.history.record(key.clone(), driving, Some(dep), max);
            sh.history
                .record(History::halt_key(&key), halt, Some(dep), max);
        }
    }

    fn complete(&mut self, now: DateTime<Utc>, out: &mut Vec<Record>) {
        self.state.status = ShipmentStatus::Completed;
        self.state.finished = Some(now);
        self.resolve_all(now, out);
        out.push(self.alert(
            "completed",
            AlertState::Info,
            None,
            now,
            None,
            None,
            format!("shipment {}: completed", self.spec.id),
        ));
    }

    /// Resolves every firing exception (completion, cancellation).
    pub fn resolve_all(&mut self, now: DateTime<Utc>, out: &mut Vec<Record>) {
        let keys: Vec<String> = self.state.rules.keys().cloned().collect();
        for key in keys {
            let t = self.state.rules.get_mut(&key).and_then(|r| r.reset());
            let (kind, stop) = match key.split_once(':') {
                Some((k, s)) => (
                    k.to_string(),
                    self.spec.stops.iter().position(|x| x.id == s),
                ),
                None => (key.clone(), None),
            };
            self.transition(out, t, &kind, now, stop, 0.0, &kind);
        }
        if self.state.off_route.firing {
            self.state.off_route = OffRoute::default();
            self.transition(
                out,
                Some(Transition::Resolve),
                "off_route",
                now,
                None,
                0.0,
                "off route",
            );
        }
        if self.state.no_signal {
            self.state.no_signal = false;
            out.push(self.alert(
                "no_signal",
                AlertState::Resolved,
                None,
                now,
                None,
                None,
                format!("shipment {}: no signal resolved", self.spec.id),
            ));
        }
    }

    fn near_origin_or_stop(&self, fix: &Fix, m: f64) -> bool {
        let start = self.route.point_at(0.0);
        distance_m((fix.lat, fix.lon), (start.y(), start.x())) <= m
            || self
                .spec
                .stops
                .iter()
                .any(|s| distance_m((fix.lat, fix.lon), (s.lat, s.lon)) <= m)
    }

    pub(super) fn update_off_route(
        &mut self,
        cfg: &TrackingConfig,
        fix: &Fix,
        off_m: f64,
        far_m: f64,
        moving: bool,
        out: &mut Vec<Record>,
    ) {
        let counted = moving && !self.near_origin_or_stop(fix, cfg.off_route_suppress_m);
        let limits = OffRouteLimits {
            far_m,
            fixes: cfg.off_route_fixes,
            secs: cfg.off_route_secs,
            clear_m: cfg.off_route_clear_m,
            clear_fixes: cfg.off_route_clear_fixes,
        };
        match self
            .state
            .off_route
            .update(fix.time, off_m, counted, limits)
        {
            Some(true) => self.transition(
                out,
                Some(Transition::Fire(0)),
                "off_route",
                fix.time,
                None,
                off_m,
                "off route",
            ),
            Some(false) => self.transition(
                out,
                Some(Transition::Resolve),
                "off_route",
                fix.time,
                None,
                off_m,
                "off route",
            ),
            None => {}
        }
    }
}
