//! Fleet events from one device's fixes, in fix-time order: pure state machines, no clock,
//! no I/O (the consumer feeds them, the store keeps their state).
//!
//! - **Geofences**: a fix votes "in" when it is at least `geofence_margin_m` inside a
//!   geofence (capped at a quarter of the geofence's smaller extent, so a small one can be
//!   entered), "out" when at least that far beyond it, and not at all in between (which
//!   also breaks a run of votes). `geofence_confirm_fixes` consecutive votes for the other
//!   side flip the state and emit `geofence_enter` / `geofence_exit`. Noise along a
//!   boundary therefore never flaps.
//! - **Overspeed**: above the limit (the lowest `speed_limit_kmh` of the geofences the device
//!   is in, else the device's own `speed_limit_kmh` from the registry, else
//!   `overspeed_limit_kmh`) for `overspeed_secs` fires; below `limit − margin`
//!   resolves.
//! - **Ignition**: a change of the ignition flag the position carries (the first value seen
//!   is taken as the starting state, not as a change).
//! - **Motion**: at or above `motion_speed_kmh` for `motion_start_secs` starts, below it for
//!   `motion_stop_secs` stops; the event carries the time and place of the first fix of the
//!   run (trip start / end). The first confirmed state is silent when it is "stopped".
//!
//! Fixes not newer than the device's last one are ignored (duplicates, late backlog), and
//! event ids are built from (device, type, state, geofence, fix time): a replay of the same
//! fixes from the same state gives the same ids, which every output deduplicates.

use super::config::EventsConfig;
use super::index::{Fence, Index};
use super::trips::{Motion, Place, Row, Step, TripState};
use crate::model::{Alert, AlertState, DeviceId, Position};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Where a device stands with one geofence (kept only while inside or on the way in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub inside: bool,
    /// Consecutive votes for the other side.
    pub pending: u32,
}

/// The start of a run of fixes on the other side of a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// The side of the threshold the run is on (moving or stopped).
    pub moving: bool,
    pub time: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
}

/// One device's state, persisted between batches and restarts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    /// Fix time of the last fix processed.
    pub last_fix: Option<DateTime<Utc>>,
    /// Geofence id → membership.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fences: BTreeMap<String, Membership>,
    pub ignition: Option<bool>,
    /// `None` until the first run is confirmed.
    pub moving: Option<bool>,
    pub motion_run: Option<RunStart>,
    /// Overspeed is firing.
    pub overspeed: bool,
    /// The geofence whose limit the firing overspeed broke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overspeed_fence: Option<String>,
    /// Since when the speed has been above the limit (not yet firing).
    pub above_since: Option<DateTime<Utc>>,
    /// Trip and stop bookkeeping for the reports.
    #[serde(default)]
    pub trip: TripState,
}

/// Every device's state and which changed since the last save.
/// Looks up a device's own speed limit, km/h.
pub type DeviceLimit = Arc<dyn Fn(&DeviceId) -> Option<f64> + Send + Sync>;

#[derive(Default)]
pub struct Detector {
    pub cfg: EventsConfig,
    /// A device's own speed limit (the registry's `speed_limit_kmh`), used where no
    /// geofence sets one, before `[events] overspeed_limit_kmh`.
    pub device_limit: Option<DeviceLimit>,
    /// Fixes received before this only update the state, without events: when the fleet
    /// store is new on a gateway with a retained log, the first run reads days of old fixes,
    /// and telling receivers now about last week's trips would be noise.
    pub quiet_before: Option<DateTime<Utc>>,
    devices: HashMap<DeviceId, DeviceState>,
    dirty: BTreeSet<DeviceId>,
    /// Trip, stop and idle rows finished since the last save (saved with the states).
    rows: Vec<(DeviceId, Row)>,
}

impl Detector {
    /// A detector with `cfg` and restored `state`.
    pub fn new(cfg: EventsConfig, state: HashMap<DeviceId, DeviceState>) -> Self {
        Detector {
            cfg,
            device_limit: None,
            quiet_before: None,
            devices: state,
            dirty: BTreeSet::new(),
            rows: Vec::new(),
        }
    }

    /// One device's state.
    pub fn state(&self, d: &DeviceId) -> Option<&DeviceState> {
        self.devices.get(d)
    }

    /// The devices changed since the last call, with their state.
    pub fn take_dirty(&mut self) -> Vec<(DeviceId, DeviceState)> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|d| self.devices.get(&d).map(|s| (d, s.clone())))
            .collect()
    }

    /// The report rows finished since the last call.
    pub fn take_rows(&mut self) -> Vec<(DeviceId, Row)> {
        std::mem::take(&mut self.rows)
    }

    /// Puts back report rows whose save failed (before any newer ones).
    pub fn put_back_rows(&mut self, mut rows: Vec<(DeviceId, Row)>) {
        rows.append(&mut self.rows);
        self.rows = rows;
    }

    /// Puts back devices whose save failed.
    pub fn mark_dirty(&mut self, devices: impl IntoIterator<Item = DeviceId>) {
        self.dirty.extend(devices);
    }

    /// The events one fix causes, in a fixed order: ignition, geofence exits and entries (by
    /// geofence id), overspeed, motion. None for a fix received before `quiet_before`.
    pub fn process(&mut self, p: &Position, index: &Index) -> Vec<Alert> {
        let st = self.devices.entry(p.device.clone()).or_default();
        if st.last_fix.is_some_and(|l| p.fix_time <= l) {
            return Vec::new();
        }
        st.last_fix = Some(p.fix_time);
        self.dirty.insert(p.device.clone());
        let mut rows = Vec::new();
        let own = self.device_limit.as_ref().and_then(|f| f(&p.device));
        let out = derive(&self.cfg, st, p, index, own, &mut rows);
        self.rows
            .extend(rows.into_iter().map(|r| (p.device.clone(), r)));
        if self.quiet_before.is_some_and(|q| p.received < q) {
            return Vec::new();
        }
        out
    }
}

/// Runs every enabled rule on one (new) fix.
fn derive(
    cfg: &EventsConfig,
    st: &mut DeviceState,
    p: &Position,
    index: &Index,
    own_limit: Option<f64>,
    rows: &mut Vec<Row>,
) -> Vec<Alert> {
    let mut out = Vec::new();
    if cfg.ignition {
        ignition(st, p, &mut out);
    }
    let spatial = p.valid && p.lat.is_finite() && p.lon.is_finite() && p.speed_kmh.is_finite();
    if !spatial {
        return out;
    }
    // Memberships are kept for geofence speed limits too; enter / exit only when enabled.
    if cfg.geofence || cfg.overspeed {
        let mut moves = Vec::new();
        geofences(cfg, st, p, index, &mut moves);
        if cfg.geofence {
            out.extend(moves);
        }
    }
    if cfg.overspeed {
        overspeed(cfg, st, p, index, own_limit, &mut out);
    }
    // Motion is tracked for the trip reports even when its events are switched off.
    let mut moves = Vec::new();
    let m = motion(cfg, st, p, &mut moves);
    if cfg.motion {
        out.extend(moves);
    }
    let step = Step {
        at: Place {
            time: p.fix_time,
            lat: p.lat,
            lon: p.lon,
        },
        speed_kmh: p.speed_kmh,
        fast: p.speed_kmh >= cfg.motion_speed_kmh,
        ignition: p.ignition.or(st.ignition) == Some(true),
    };
    st.trip.step(&step, m, rows);
    out
}

/// Builds one event.
struct Ev<'a> {
    kind: &'static str,
    state: AlertState,
    time: DateTime<Utc>,
    lat: f64,
    lon: f64,
    value: Option<f64>,
    message: String,
    fence: Option<&'a Fence>,
}

impl Ev<'_> {
    fn alert(self, device: &DeviceId) -> Alert {
        let state = match self.state {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
            AlertState::Info => "info",
        };
        let gid = self.fence.map(|f| f.spec.id.clone());
        Alert {
            id: format!(
                "{device}/fleet/{}/{state}/{}/{}",
                self.kind,
                gid.as_deref().unwrap_or("-"),
                self.time.timestamp_millis()
            ),
            kind: self.kind.into(),
            state: self.state,
            tier: None,
            time: self.time,
            device: device.clone(),
            shipment: None,
            stop: None,
            alarm: None,
            lat: Some(self.lat),
            lon: Some(self.lon),
            value: self.value,
            message: self.message,
            customer: self.fence.and_then(|f| f.spec.customer.clone()),
            geofence: gid,
        }
    }
}

fn ignition(st: &mut DeviceState, p: &Position, out: &mut Vec<Alert>) {
    let Some(now) = p.ignition else { return };
    let before = st.ignition.replace(now);
    if before.is_some_and(|b| b != now) {
        let (kind, word) = if now {
            ("ignition_on", "on")
        } else {
            ("ignition_off", "off")
        };
        out.push(
            Ev {
                kind,
                state: AlertState::Info,
                time: p.fix_time,
                lat: p.lat,
                lon: p.lon,
                value: None,
                message: format!("device {}: ignition {word}", p.device),
                fence: None,
            }
            .alert(&p.device),
        );
    }
}

fn geofences(
    cfg: &EventsConfig,
    st: &mut DeviceState,
    p: &Position,
    index: &Index,
    out: &mut Vec<Alert>,
) {
    let margin = cfg.geofence_margin_m;
    let mut votes: BTreeMap<String, (Option<bool>, Arc<Fence>)> = BTreeMap::new();
    for f in index.near(p.lat, p.lon, margin) {
        if !f.spec.applies_to(&p.device) {
            continue;
        }
        let need_in = margin.min(f.shape.min_extent_m() / 4.0);
        let d = f.shape.depth_m(p.lat, p.lon);
        let vote = if d > 0.0 && d >= need_in {
            Some(true)
        } else if d <= -margin {
            Some(false)
        } else {
            None
        };
        votes.insert(f.spec.id.clone(), (vote, f.clone()));
    }
    // Geofences the device is in (or entering) whose box is now beyond the margin: "out";
    // deleted ones, or ones no longer applying to it, are forgotten without an event.
    st.fences.retain(|id, _| {
        votes.contains_key(id) || index.get(id).is_some_and(|f| f.spec.applies_to(&p.device))
    });
    for id in st.fences.keys() {
        if !votes.contains_key(id) {
            if let Some(f) = index.get(id) {
                votes.insert(id.clone(), (Some(false), f.clone()));
            }
        }
    }
    let mut enters = Vec::new();
    for (id, (vote, f)) in votes {
        let Some(v) = vote else {
            // Within the margin: no vote, and the run of votes for a change is broken.
            if let Some(m) = st.fences.get_mut(&id) {
                m.pending = 0;
                if !m.inside {
                    st.fences.remove(&id);
                }
            }
            continue;
        };
        let m = st.fences.entry(id.clone()).or_default();
        if v == m.inside {
            m.pending = 0;
        } else {
            m.pending += 1;
            if m.pending >= cfg.geofence_confirm_fixes {
                *m = Membership {
                    inside: v,
                    pending: 0,
                };
                let (kind, verb) = if v {
                    ("geofence_enter", "entered")
                } else {
                    ("geofence_exit", "left")
                };
                let ev = Ev {
                    kind,
                    state: AlertState::Info,
                    time: p.fix_time,
                    lat: p.lat,
                    lon: p.lon,
                    value: None,
                    message: format!(
                        "device {}: {verb} geofence {:?} ({id})",
                        p.device, f.spec.name
                    ),
                    fence: Some(&f),
                }
                .alert(&p.device);
                if v {
                    enters.push(ev);
                } else {
                    out.push(ev);
                }
            }
        }
        if !m.inside && m.pending == 0 {
            st.fences.remove(&id);
        }
    }
    out.extend(enters);
}

/// The limit in force and the geofence it comes from.
fn limit_of(
    cfg: &EventsConfig,
    st: &DeviceState,
    index: &Index,
    own_limit: Option<f64>,
) -> Option<(f64, Option<Arc<Fence>>)> {
    let fenced = st
        .fences
        .iter()
        .filter(|(_, m)| m.inside)
        .filter_map(|(id, _)| index.get(id))
        .filter_map(|f| f.spec.speed_limit_kmh.map(|l| (l, Some(f.clone()))))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    fenced
        .or(own_limit.map(|l| (l, None)))
        .or(cfg.overspeed_limit_kmh.map(|l| (l, None)))
}

fn overspeed(
    cfg: &EventsConfig,
    st: &mut DeviceState,
    p: &Position,
    index: &Index,
    own_limit: Option<f64>,
    out: &mut Vec<Alert>,
) {
    let ev = |state, limit: Option<f64>, fence: Option<&Fence>, what: &str| {
        let limit = limit
            .map(|l| format!(", limit {l:.0} km/h"))
            .unwrap_or_default();
        let inside = fence
            .map(|f| format!(" in geofence {}", f.spec.id))
            .unwrap_or_default();
        Ev {
            kind: "overspeed",
            state,
            time: p.fix_time,
            lat: p.lat,
            lon: p.lon,
            value: Some(p.speed_kmh),
            message: format!(
                "device {}: {what} ({:.0} km/h{limit}{inside})",
                p.device, p.speed_kmh
            ),
            fence,
        }
        .alert(&p.device)
    };
    let limit = limit_of(cfg, st, index, own_limit);
    if st.overspeed {
        // The resolution names the geofence the firing named (its customer is told both).
        let firing_fence = st.overspeed_fence.as_deref().and_then(|id| index.get(id));
        let (end, why) = match &limit {
            None => (true, "no speed limit here any more"),
            Some((l, _)) => (
                p.speed_kmh < l - cfg.overspeed_margin_kmh,
                "back under the speed limit",
            ),
        };
        if end {
            st.overspeed = false;
            st.overspeed_fence = None;
            out.push(ev(
                AlertState::Resolved,
                limit.as_ref().map(|l| l.0),
                firing_fence.map(|f| &**f),
                why,
            ));
        }
        return;
    }
    let Some((limit, fence)) = limit else {
        st.above_since = None;
        return;
    };
    if p.speed_kmh <= limit {
        st.above_since = None;
        return;
    }
    let since = *st.above_since.get_or_insert(p.fix_time);
    if (p.fix_time - since).num_seconds() >= cfg.overspeed_secs {
        st.overspeed = true;
        st.above_since = None;
        st.overspeed_fence = fence.as_ref().map(|f| f.spec.id.clone());
        out.push(ev(
            AlertState::Firing,
            Some(limit),
            fence.as_deref(),
            "over the speed limit",
        ));
    }
}

fn motion(cfg: &EventsConfig, st: &mut DeviceState, p: &Position, out: &mut Vec<Alert>) -> Motion {
    let now = p.speed_kmh >= cfg.motion_speed_kmh;
    if st.moving == Some(now) {
        st.motion_run = None;
        return Motion::Steady;
    }
    // A run is on one side of the threshold: crossing back starts a new one.
    if st.motion_run.is_some_and(|r| r.moving != now) {
        st.motion_run = None;
    }
    let run = *st.motion_run.get_or_insert(RunStart {
        moving: now,
        time: p.fix_time,
        lat: p.lat,
        lon: p.lon,
    });
    let need = if now {
        cfg.motion_start_secs
    } else {
        cfg.motion_stop_secs
    };
    if (p.fix_time - run.time).num_seconds() < need {
        return Motion::Pending {
            new: run.time == p.fix_time,
        };
    }
    let first = st.moving.is_none();
    st.moving = Some(now);
    st.motion_run = None;
    let confirmed = Motion::Confirmed {
        moving: now,
        start: Place {
            time: run.time,
            lat: run.lat,
            lon: run.lon,
        },
        first,
    };
    if first && !now {
        return confirmed;
    }
    let (kind, what) = if now {
        ("motion_start", "started moving")
    } else {
        ("motion_stop", "stopped")
    };
    out.push(
        Ev {
            kind,
            state: AlertState::Info,
            time: run.time,
            lat: run.lat,
            lon: run.lon,
            value: None,
            message: format!("device {}: {what}", p.device),
            fence: None,
        }
        .alert(&p.device),
    );
    confirmed
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
