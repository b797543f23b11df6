//! One shipment being followed: cleaning → projection → motion → stops → exceptions → ETA,
//! all on fix time. Produces the records tracking appends to the log.

use super::cleaning::{Cleaner, Fix};
use super::config::TrackingConfig;
use super::eta::{ErrorModel, History, Links, Pace};
use super::exceptions::off_route::OffRoute;
use super::exceptions::{Rule, Transition};
use super::motion::{Motion, MotionTracker};
use super::projection::Route;
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
}

/// A shipment with its derived geometry and state.
pub struct Tracker {
    /// As posted.
    pub spec: ShipmentSpec,
    /// Planned route.
    pub route: Route,
    /// Each stop's position along the route, metres.
    pub stop_along: Vec<f64>,
    planned_link_s: Vec<Option<f64>>,
    pub(super) link_keys: Vec<Option<String>>,
    /// State.
    pub state: TrackState,
}

impl Tracker {
    /// Builds a tracker (fresh state when `state` is None).
    pub fn new(spec: ShipmentSpec, state: Option<TrackState>, created: DateTime<Utc>) -> Tracker {
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
        let mut planned_link_s = Vec::new();
        let mut link_keys = Vec::new();
        for (i, s) in spec.stops.iter().enumerate() {
            if i == 0 {
                planned_link_s.push(None);
                link_keys.push(None);
                continue;
            }
            let prev = &spec.stops[i - 1];
            let t = (s.planned_arrival - prev.planned_arrival).num_seconds()
                - prev.service_s.unwrap_or(0);
            planned_link_s.push((t > 0).then_some(t as f64));
            let len_m = stop_along[i] - stop_along[i - 1];
            link_keys.push(Some(History::key(
                (prev.lat, prev.lon),
                (s.lat, s.lon),
                len_m,
            )));
        }
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
        });
        Tracker {
            spec,
            route,
            stop_along,
            planned_link_s,
            link_keys,
            state,
        }
    }

    /// Smoothed interval between clean fixes, seconds.
    pub fn interval_s(&self) -> Option<f64> {
        self.state.interval_s
    }

    /// The link model with historical medians where known.
    pub fn links(&self, cfg: &TrackingConfig, history: &History) -> Links {
        let default_spm = 3.6 / cfg.default_speed_kmh.max(1.0);
        let mut spm = Vec::with_capacity(self.stop_along.len());
        let mut start = 0.0;
        for (i, end) in self.stop_along.iter().enumerate() {
            let len = end - start;
            let t = self.link_keys[i]
                .as_deref()
                .and_then(|k| history.median(k, cfg.history_min_samples))
                .or(self.planned_link_s[i]);
            spm.push(match t {
                Some(t) if len > 1.0 => t / len,
                _ => default_spm,
            });
            start = *end;
        }
        // A link with no planned time (first link) takes the median pace of the others.
        let known: Vec<f64> = spm
            .iter()
            .enumerate()
            .filter(|(i, _)| self.planned_link_s[*i].is_some())
            .map(|(_, v)| *v)
            .collect();
        if !known.is_empty() {
            let m = super::eta::quantile(&known, 0.5);
            for (i, v) in spm.iter_mut().enumerate() {
                if self.planned_link_s[i].is_none() {
                    *v = m;
                }
            }
        }
        Links {
            ends_m: self.stop_along.clone(),
            spm,
        }
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
            // Filled from the shipment's customer by the tenancy change.
            customer: None,
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

        // Projection inside the forward window.
        let len = self.route.length_m();
        let far_m = cfg
            .off_route_m
            .max(cfg.off_route_accuracy_factor * fix.accuracy_m.unwrap_or(0.0));
        let prev_along = self.state.along_m;
        let proj = match self.state.anchor {
            Some((a, t)) => {
                let dt = (now - t).num_seconds().max(0) as f64;
                let last = prev_along.unwrap_or(a);
                let hi = a + cfg.window_speed_mps * cfg.window_factor * dt + cfg.window_slack_m;
                self.route
                    .project(fix.lat, fix.lon, last - cfg.window_back_m, hi, last)
            }
            None => self.route.project(fix.lat, fix.lon, 0.0, len, 0.0),
        };
        self.state.off_route_m = proj.off_m;
        let on_route = proj.off_m <= far_m;
        if on_route || self.state.anchor.is_none() {
            self.state.anchor = Some((proj.along_m, now));
            self.state.along_m = Some(proj.along_m);
            if len > 0.0 {
                self.state.progress = self
                    .state
                    .progress
                    .max((proj.along_m / len).clamp(0.0, 1.0));
            }
        }
        let along = self.state.along_m.unwrap_or(0.0);
        let links = self.links(cfg, sh.history);
        if let (Some(p), Some(pa)) = (prev, prev_along) {
            if moving && on_route && self.state.prev_on_route && along > pa {
                let dt = (now - p.time).num_milliseconds() as f64 / 1000.0;
                self.state
                    .pace
                    .add(dt, links.base_time(pa, along), cfg.pace_memory_secs);
            }
        }
        self.state.prev_on_route = on_route;

        let stop_events = self.update_stops(&fix, motion, along, sh, &mut out);
        if self.state.status != ShipmentStatus::Active {
            return out;
        }
        self.update_off_route(cfg, &fix, proj.off_m, far_m, moving, &mut out);
        self.update_dwell_rules(cfg, &fix, motion, &mut out);
        let statuses_changed = self.update_etas(&fix, along, &links, sh, &mut out);
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
