//! One shipment being followed: cleaning → projection → motion → stops → exceptions → ETA,
//! all on fix time. Produces the records tracking appends to the log.

use super::cleaning::{Cleaner, Fix};
use super::config::TrackingConfig;
use super::driver::{DriverLimits, DriverState, Ended};
use super::eta::{ErrorModel, Links, Pace};
use super::exceptions::off_route::OffRoute;
use super::exceptions::{Rule, Transition};
use super::history::{hour_of_week, History};
use super::hos::{HosClock, HosLimits, HosRules};
use super::motion::{Motion, MotionTracker};
use super::projection::{distance_m, Route};
use super::shipment::ShipmentSpec;
use super::stops::StopTrack;
use crate::model::{Alert, AlertState, EtaUpdate, Record};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lifecycle of a shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Being followed.
    Active,
    /// Last stop reached.
    Completed,
    /// Cancelled through the API.
    Cancelled,
}

/// Engine-wide learned data the trackers read and feed.
pub struct Shared<'a> {
    /// Thresholds.
    pub cfg: &'a TrackingConfig,
    /// Observed link times.
    pub history: &'a mut History,
    /// Observed ETA errors.
    pub errors: &'a mut ErrorModel,
}

/// Persisted tracking state of one shipment (the spec is stored beside it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrackState {
    /// Lifecycle.
    pub status: ShipmentStatus,
    /// When the shipment was created (wall clock).
    pub created: DateTime<Utc>,
    pub(super) cleaner: Cleaner,
    pub(super) motion: MotionTracker,
    /// Distance along the route of the last on-route fix, metres.
    pub along_m: Option<f64>,
    anchor: Option<(f64, DateTime<Utc>)>,
    prev_on_route: bool,
    /// Published progress 0..1 (never decreases).
    pub progress: f64,
    /// Distance of the last clean fix from the route, metres.
    pub off_route_m: f64,
    pub(super) pace: Pace,
    /// Visit state per stop, in stop order.
    pub stops: Vec<StopTrack>,
    /// Exception state machines keyed `type` or `type:stop`.
    pub rules: BTreeMap<String, Rule>,
    /// Off-route detector.
    pub off_route: OffRoute,
    /// No-signal alert firing.
    pub no_signal: bool,
    /// Last clean fix.
    pub last_fix: Option<Fix>,
    interval_s: Option<f64>,
    last_eta_at: Option<DateTime<Utc>>,
    /// Latest ETA per stop (for the API).
    pub etas: Vec<Option<EtaUpdate>>,
    /// Driving time and standstills (absent in state saved before it existed).
    #[serde(default)]
    pub driver: DriverState,
    /// When the shipment completed or was cancelled (wall clock): it leaves memory
    /// `tracking.keep_finished` later. Absent in state saved before it existed (set at load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
}

/// A shipment with its derived geometry and state.
pub struct Tracker {
    /// As posted.
    pub spec: ShipmentSpec,
    /// Planned route.
    pub route: Route,
    /// Each stop's position along the route, metres.
    pub stop_along: Vec<f64>,
    /// Planned driving per link (planned time less service and the rules' pauses).
    planned_link_s: Vec<Option<f64>>,
    /// Pace of links without a planned time, s/m.
    fallback_spm: f64,
    pub(super) link_keys: Vec<Option<String>>,
    /// Key of the route (first and last stop, length): the error band is learned per route.
    pub(super) route_key: String,
    /// The driving-time rules of this shipment, and their limits (none for `none`).
    pub(super) hos_rules: HosRules,
    pub(super) hos: Option<HosLimits>,
    /// State.
    pub state: TrackState,
}

impl Tracker {
    /// Builds a tracker (fresh state when `state` is None).
    pub fn new(
        spec: ShipmentSpec,
        state: Option<TrackState>,
        created: DateTime<Utc>,
        cfg: &TrackingConfig,
    ) -> Tracker {
        let route = Route::new(&spec.route.coordinates);
        let len = route.length_m();
        // Stops are placed in order along the route, so a stop on a stretch driven twice is
        // the visit after the previous stop.
        let mut stop_along = Vec::with_capacity(spec.stops.len());
        let mut from = 0.0;
        for s in &spec.stops {
            let p = route.project(s.lat, s.lon, from, len, from);
            stop_along.push(p.along_m);
            from = p.along_m;
        }
        let hos_rules = spec.hos.unwrap_or(cfg.hos);
        let hos = hos_rules.limits();
        let (planned_link_s, link_keys) = planned_links(&spec, &stop_along, hos.as_ref());
        let known: Vec<f64> = planned_link_s
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let len = stop_along[i] - if i == 0 { 0.0 } else { stop_along[i - 1] };
                t.filter(|_| len > 1.0).map(|t| t / len)
            })
            .collect();
        let fallback_spm = if known.is_empty() {
            3.6 / cfg.default_speed_kmh.max(1.0)
        } else {
            super::eta::quantile(&known, 0.5)
        };
        let n = spec.stops.len();
        let state = state.unwrap_or_else(|| TrackState {
            status: ShipmentStatus::Active,
            created,
            cleaner: Cleaner::default(),
            motion: MotionTracker::default(),
            along_m: None,
            anchor: None,
            prev_on_route: false,
            progress: 0.0,
            off_route_m: 0.0,
            pace: Pace::default(),
            stops: vec![StopTrack::default(); n],
            rules: BTreeMap::new(),
            off_route: OffRoute::default(),
            no_signal: false,
            last_fix: None,
            interval_s: None,
            last_eta_at: None,
            etas: vec![None; n],
            driver: DriverState::default(),
            finished: None,
        });
        let route_key = match (spec.stops.first(), spec.stops.last()) {
            (Some(a), Some(b)) => History::key((a.lat, a.lon), (b.lat, b.lon), route.length_m()),
            _ => String::new(),
        };
        Tracker {
            route_key,
            spec,
            route,
            stop_along,
            planned_link_s,
            fallback_spm,
            link_keys,
            hos_rules,
            hos,
            state,
        }
    }

    /// Smoothed interval between clean fixes, seconds.
    pub fn interval_s(&self) -> Option<f64> {
        self.state.interval_s
    }

    /// Driving pace of link `i` (s/m) at hour of week `how`: the learned median driving
    /// time of the link nearest that time of day, else the planned driving time.
    pub(super) fn link_spm(
        &self,
        i: usize,
        how: Option<u16>,
        cfg: &TrackingConfig,
        history: &History,
    ) -> f64 {
        let start = if i == 0 { 0.0 } else { self.stop_along[i - 1] };
        let len = self.stop_along[i] - start;
        let t = self.link_keys[i]
            .as_deref()
            .and_then(|k| history.median_at(k, how, cfg.history_min_samples))
            .or(self.planned_link_s[i]);
        match t {
            Some(t) if len > 1.0 => t / len,
            _ => self.fallback_spm,
        }
    }

    /// The link model at one hour of the week (learned medians where known).
    pub fn links(&self, cfg: &TrackingConfig, history: &History, how: Option<u16>) -> Links {
        Links {
            ends_m: self.stop_along.clone(),
            spm: (0..self.stop_along.len())
                .map(|i| self.link_spm(i, how, cfg, history))
                .collect(),
        }
    }

    /// Within a stop's radius or at the route's start (a standstill there is dwell).
    pub(super) fn at_a_stop(&self, cfg: &TrackingConfig, lat: f64, lon: f64) -> bool {
        let start = self.route.point_at(0.0);
        (0..self.spec.stops.len()).any(|i| {
            let s = &self.spec.stops[i];
            distance_m((lat, lon), (s.lat, s.lon)) <= self.radius(cfg, i)
        }) || distance_m((lat, lon), (start.y(), start.x())) <= cfg.stop_radius_m
    }

    pub(super) fn radius(&self, cfg: &TrackingConfig, i: usize) -> f64 {
        self.spec.stops[i].radius_m.unwrap_or(cfg.stop_radius_m)
    }

    /// A tracking alert for this shipment with its deterministic id.
    #[allow(clippy::too_many_arguments)]
    pub fn alert(
        &self,
        kind: &str,
        state: AlertState,
        tier: Option<u32>,
        time: DateTime<Utc>,
        stop: Option<usize>,
        value: Option<f64>,
        message: String,
    ) -> Record {
        let stop_id = stop.map(|i| self.spec.stops[i].id.clone());
        let st = match state {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
            AlertState::Info => "info",
        };
        let id = format!(
            "{}/{}/{kind}/{st}/{}/{}",
            self.spec.id,
            stop_id.as_deref().unwrap_or("-"),
            tier.unwrap_or(0),
            time.timestamp()
        );
        let fix = self.state.last_fix;
        Record::Alert(Alert {
            id,
            kind: kind.to_string(),
            state,
            tier,
            time,
            device: self.spec.device.clone(),
            shipment: Some(self.spec.id.clone()),
            stop: stop_id,
            alarm: None,
            lat: fix.map(|f| f.lat),
            lon: fix.map(|f| f.lon),
            value,
            message,
            customer: self.spec.customer.clone(),
            geofence: None,
        })
    }

    /// Turns a rule transition into an alert record.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transition(
        &self,
        out: &mut Vec<Record>,
        t: Option<Transition>,
        kind: &str,
        time: DateTime<Utc>,
        stop: Option<usize>,
        value: f64,
        what: &str,
    ) {
        let Some(t) = t else { return };
        let (state, tier, verb) = match t {
            Transition::Fire(tier) => (AlertState::Firing, tier, "started"),
            Transition::Escalate(tier) => (AlertState::Firing, tier, "escalated"),
            Transition::Resolve => (AlertState::Resolved, 0, "resolved"),
        };
        let place = stop
            .map(|i| format!(" at {}", self.spec.stops[i].id))
            .unwrap_or_default();
        let msg = format!("shipment {}: {what}{place} {verb}", self.spec.id);
        out.push(self.alert(
            kind,
            state,
            (tier > 0).then_some(tier),
            time,
            stop,
            Some(value),
            msg,
        ));
    }

    /// Driving time and standstills; learns the length of a road standstill that ended (and,
    /// for a break or rest, the driving it came after).
    fn update_driver(
        &mut self,
        prev: Option<&Fix>,
        fix: &Fix,
        motion: Motion,
        at_stop: bool,
        sh: &mut Shared<'_>,
    ) {
        let cfg = sh.cfg;
        let limits = DriverLimits {
            hos: self.hos,
            early_s: (cfg.hos_early_min * 60) as f64,
            gap_s: cfg.drive_gap_secs as f64,
        };
        let ended = self.state.driver.update(prev, fix, motion, at_stop, limits);
        let key = |kind| History::pause_key(self.hos_rules, kind);
        let learn: Vec<(String, f64)> = match ended {
            None => vec![],
            Some(Ended::Halt(s)) => vec![(History::STANDSTILL.to_string(), s)],
            Some(Ended::Break(s, after)) => vec![(key("break"), s), (key("break_after"), after)],
            Some(Ended::Rest(s, after)) => vec![(key("rest"), s), (key("rest_after"), after)],
        };
        for (k, v) in learn {
            sh.history.record(k, v, None, cfg.history_max_samples);
        }
    }

    /// Projects the fix inside the forward window; moves the anchor and progress when it is
    /// on the route. Returns (distance from the route, the off-route limit, on route).
    fn project(&mut self, cfg: &TrackingConfig, fix: &Fix) -> (f64, f64, bool) {
        let len = self.route.length_m();
        let far_m = cfg
            .off_route_m
            .max(cfg.off_route_accuracy_factor * fix.accuracy_m.unwrap_or(0.0));
        let proj = match self.state.anchor {
            Some((a, t)) => {
                let dt = (fix.time - t).num_seconds().max(0) as f64;
                let last = self.state.along_m.unwrap_or(a);
                let hi = a + cfg.window_speed_mps * cfg.window_factor * dt + cfg.window_slack_m;
                self.route
                    .project(fix.lat, fix.lon, last - cfg.window_back_m, hi, last)
            }
            None => self.route.project(fix.lat, fix.lon, 0.0, len, 0.0),
        };
        self.state.off_route_m = proj.off_m;
        let on_route = proj.off_m <= far_m;
        if on_route || self.state.anchor.is_none() {
            self.state.anchor = Some((proj.along_m, fix.time));
            self.state.along_m = Some(proj.along_m);
            if len > 0.0 {
                self.state.progress = self
                    .state
                    .progress
                    .max((proj.along_m / len).clamp(0.0, 1.0));
            }
        }
        (proj.off_m, far_m, on_route)
    }

    /// One on-route moving interval for the pace ratio, against the links at this hour.
    fn add_pace(
        &mut self,
        cfg: &TrackingConfig,
        history: &History,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        from_m: f64,
        to_m: f64,
    ) {
        let dt = (to - from).num_milliseconds() as f64 / 1000.0;
        let expected = self
            .links(cfg, history, Some(hour_of_week(to)))
            .base_time(from_m, to_m);
        self.state.pace.add(
            dt,
            expected,
            cfg.pace_memory_secs,
            (cfg.pace_min, cfg.pace_max),
        );
    }

    /// Feeds one position of the shipment's device; returns the records to append.
    pub fn on_fix(&mut self, fix: Fix, valid: bool, sh: &mut Shared<'_>) -> Vec<Record> {
        let mut out = Vec::new();
        if self.state.status != ShipmentStatus::Active {
            return out;
        }
        let cfg = sh.cfg;
        let prev = self.state.last_fix;
        let Ok(fix) =
            self.state
                .cleaner
                .check(fix, valid, cfg.max_speed_mps, cfg.max_consecutive_jumps)
        else {
            return out;
        };
        let now = fix.time;
        if let Some(p) = prev {
            let dt = (now - p.time).num_seconds() as f64;
            self.state.interval_s = Some(match self.state.interval_s {
                Some(i) => 0.8 * i + 0.2 * dt,
                None => dt,
            });
        }
        self.state.last_fix = Some(fix);
        if self.state.no_signal {
            self.state.no_signal = false;
            out.push(self.alert(
                "no_signal",
                AlertState::Resolved,
                None,
                now,
                None,
                None,
                format!("shipment {}: signal back", self.spec.id),
            ));
        }
        let motion = self.state.motion.update(
            &fix,
            cfg.stop_motion_radius_m,
            cfg.stop_motion_secs,
            cfg.move_distance_m,
            cfg.move_fixes,
        );
        let moving = matches!(motion, Motion::Moving);
        let at_stop = self.at_a_stop(cfg, fix.lat, fix.lon);
        self.update_driver(prev.as_ref(), &fix, motion, at_stop, sh);

        let prev_along = self.state.along_m;
        let (off_m, far_m, on_route) = self.project(cfg, &fix);
        let along = self.state.along_m.unwrap_or(0.0);
        if let (Some(p), Some(pa)) = (prev, prev_along) {
            if moving && on_route && self.state.prev_on_route && along > pa {
                self.add_pace(cfg, sh.history, p.time, now, pa, along);
            }
        }
        self.state.prev_on_route = on_route;

        let stop_events = self.update_stops(&fix, motion, along, sh, &mut out);
        if self.state.status != ShipmentStatus::Active {
            return out;
        }
        self.update_off_route(cfg, &fix, off_m, far_m, moving, &mut out);
        self.update_dwell_rules(cfg, &fix, motion, at_stop, &mut out);
        let statuses_changed = self.update_etas(&fix, along, sh, &mut out);
        let due = match self.state.last_eta_at {
            None => true,
            Some(t) => (now - t).num_seconds() >= cfg.eta_interval_secs,
        };
        if due || statuses_changed || stop_events {
            self.state.last_eta_at = Some(now);
            out.extend(
                self.state
                    .etas
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !self.state.stops[*i].done())
                    .filter_map(|(_, e)| e.clone().map(Record::Eta)),
            );
        }
        out
    }
}

/// Planned driving per link and link keys. A link's planned time is the difference of planned
/// arrivals less the service at its start; under driving-time rules the plan is taken to be
/// compliant, so the pauses the rules need for the planned driving are taken out too.
fn planned_links(
    spec: &ShipmentSpec,
    stop_along: &[f64],
    hos: Option<&HosLimits>,
) -> (Vec<Option<f64>>, Vec<Option<String>>) {
    let mut clock = HosClock::default();
    let mut planned = vec![None];
    let mut keys = vec![None];
    for (i, s) in spec.stops.iter().enumerate().skip(1) {
        let prev = &spec.stops[i - 1];
        let service = prev.service_s.unwrap_or(0) as f64;
        if let Some(l) = hos {
            clock.stand(service, l);
        }
        let t = (s.planned_arrival - prev.planned_arrival).num_seconds() as f64 - service;
        let drive = match hos {
            Some(l) if t > 0.0 => clock.driving_within(t, l),
            _ => t,
        };
        planned.push((drive > 0.0).then_some(drive));
        keys.push(Some(History::key(
            (prev.lat, prev.lon),
            (s.lat, s.lon),
            stop_along[i] - stop_along[i - 1],
        )));
    }
    (planned, keys)
}
