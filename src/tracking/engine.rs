//! The tracking engine: every shipment, indexed by device, plus what is learned across
//! shipments (link times, ETA errors) and device alarm state. Pure: records in, records out,
//! time only from the records (and from `tick` for the no-signal rule).

use super::cleaning::Fix;
use super::config::TrackingConfig;
use super::eta::ErrorModel;
use super::history::History;
use super::shipment::ShipmentSpec;
use super::tracker::{Shared, ShipmentStatus, TrackState, Tracker};
use crate::model::{Alarm, Alert, AlertState, DeviceId, EventKind, Record};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Alarm state of one device: what is active, and the newest time seen (older records are
/// backlog and must not resolve a current alarm).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DeviceAlarms {
    /// Alarms currently raised.
    pub active: BTreeSet<Alarm>,
    /// Newest record time considered.
    pub last: Option<DateTime<Utc>>,
}

/// What is learned and kept across shipments (persisted as one blob).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Learned {
    /// Link travel times.
    pub history: History,
    /// ETA errors per horizon.
    pub errors: ErrorModel,
    /// Device alarm state.
    pub alarms: BTreeMap<DeviceId, DeviceAlarms>,
}

/// Why a shipment cannot be added or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("shipment {0:?} already exists")]
    Duplicate(String),
    #[error("no shipment {0:?}")]
    NotFound(String),
    #[error("shipment {0:?} is not active")]
    NotActive(String),
}

/// All shipments and learned state.
pub struct Engine {
    cfg: TrackingConfig,
    trackers: BTreeMap<String, Tracker>,
    by_device: BTreeMap<DeviceId, BTreeSet<String>>,
    /// Learned state.
    pub learned: Learned,
    dirty: BTreeSet<String>,
    learned_dirty: bool,
    /// Finished shipments dropped from memory, still to be deleted from the store.
    removed: BTreeSet<String>,
}

impl Engine {
    /// An empty engine.
    pub fn new(cfg: TrackingConfig) -> Engine {
        Engine {
            cfg,
            trackers: BTreeMap::new(),
            by_device: BTreeMap::new(),
            learned: Learned::default(),
            dirty: BTreeSet::new(),
            learned_dirty: false,
            removed: BTreeSet::new(),
        }
    }

    /// The thresholds in use.
    pub fn config(&self) -> &TrackingConfig {
        &self.cfg
    }

    /// Adds a validated shipment (fresh, or restored with its state).
    pub fn insert(
        &mut self,
        spec: ShipmentSpec,
        state: Option<TrackState>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if self.trackers.contains_key(&spec.id) {
            return Err(EngineError::Duplicate(spec.id));
        }
        let t = Tracker::new(spec, state, now, &self.cfg);
        if t.state.status == ShipmentStatus::Active {
            self.by_device
                .entry(t.spec.device.clone())
                .or_default()
                .insert(t.spec.id.clone());
        }
        self.dirty.insert(t.spec.id.clone());
        self.trackers.insert(t.spec.id.clone(), t);
        Ok(())
    }

    /// Cancels an active shipment, resolving its open exceptions.
    pub fn cancel(&mut self, id: &str, now: DateTime<Utc>) -> Result<Vec<Record>, EngineError> {
        let t = self
            .trackers
            .get_mut(id)
            .ok_or_else(|| EngineError::NotFound(id.into()))?;
        if t.state.status != ShipmentStatus::Active {
            return Err(EngineError::NotActive(id.into()));
        }
        let mut out = Vec::new();
        t.resolve_all(now, &mut out);
        t.state.status = ShipmentStatus::Cancelled;
        t.state.finished = Some(now);
        out.push(t.alert(
            "cancelled",
            AlertState::Info,
            None,
            now,
            None,
            None,
            format!("shipment {id}: cancelled"),
        ));
        if let Some(s) = self.by_device.get_mut(&t.spec.device) {
            s.remove(id);
        }
        self.dirty.insert(id.to_string());
        Ok(out)
    }

    /// A shipment.
    pub fn get(&self, id: &str) -> Option<&Tracker> {
        self.trackers.get(id)
    }

    /// Every shipment, by id.
    pub fn all(&self) -> impl Iterator<Item = &Tracker> {
        self.trackers.values()
    }

    /// Feeds one durable record; returns the records tracking appends (ETAs, alerts).
    /// Its own outputs (`Eta`, `Alert`) are ignored.
    pub fn process(&mut self, rec: &Record) -> Vec<Record> {
        let mut out = Vec::new();
        match rec {
            Record::Position(p) => {
                self.alarms(
                    &p.device, p.fix_time, &p.alarms, true, p.lat, p.lon, &mut out,
                );
                let fix = Fix {
                    time: p.fix_time,
                    lat: p.lat,
                    lon: p.lon,
                    accuracy_m: p.accuracy_m,
                };
                let ids: Vec<String> = self
                    .by_device
                    .get(&p.device)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                for id in ids {
                    let Some(t) = self.trackers.get_mut(&id) else {
                        continue;
                    };
                    let mut sh = Shared {
                        cfg: &self.cfg,
                        history: &mut self.learned.history,
                        errors: &mut self.learned.errors,
                    };
                    let before = t.state.last_fix;
                    let recs = t.on_fix(fix, p.valid, &mut sh);
                    if t.state.last_fix != before || !recs.is_empty() {
                        self.dirty.insert(id.clone());
                        self.learned_dirty = true;
                    }
                    if t.state.status != ShipmentStatus::Active {
                        if let Some(s) = self.by_device.get_mut(&p.device) {
                            s.remove(&id);
                        }
                    }
                    out.extend(recs);
                }
            }
            Record::Event(e) => {
                if let EventKind::Alarm { alarm } = &e.kind {
                    let (lat, lon) = self.last_position(&e.device);
                    self.alarms(
                        &e.device,
                        e.time,
                        std::slice::from_ref(alarm),
                        false,
                        lat,
                        lon,
                        &mut out,
                    );
                }
            }
            Record::Eta(_) | Record::Alert(_) | Record::Audit(_) => {}
        }
        out
    }

    fn last_position(&self, device: &DeviceId) -> (f64, f64) {
        self.by_device
            .get(device)
            .and_then(|s| {
                s.iter()
                    .find_map(|id| self.trackers.get(id)?.state.last_fix)
            })
            .map_or((f64::NAN, f64::NAN), |f| (f.lat, f.lon))
    }

    /// Device alarm pass-through: fires when an alarm appears, resolves when a newer fix no
    /// longer carries it (`complete`: the record lists every active alarm, as a fix does).
    /// A latched alarm repeated on every fix fires once.
    #[allow(clippy::too_many_arguments)]
    fn alarms(
        &mut self,
        device: &DeviceId,
        time: DateTime<Utc>,
        now: &[Alarm],
        complete: bool,
        lat: f64,
        lon: f64,
        out: &mut Vec<Record>,
    ) {
        let shipment = self
            .by_device
            .get(device)
            .and_then(|s| s.iter().next().cloned());
        // A device alarm belongs to the customer of the shipment the device is on.
        let customer = shipment
            .as_ref()
            .and_then(|id| self.trackers.get(id)?.spec.customer.clone());
        let st = self.learned.alarms.entry(device.clone()).or_default();
        if st.last.is_some_and(|l| time < l) || (st.active.is_empty() && now.is_empty()) {
            return;
        }
        st.last = Some(time);
        let current: BTreeSet<Alarm> = now.iter().copied().collect();
        let mut changes = Vec::new();
        for a in current.difference(&st.active) {
            changes.push((*a, AlertState::Firing));
        }
        if complete {
            for a in st.active.difference(&current) {
                changes.push((*a, AlertState::Resolved));
            }
            st.active = current;
        } else {
            st.active.extend(current);
        }
        for (a, state) in changes {
            let name = serde_json::to_value(a)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "general".into());
            let kind = format!("alarm_{name}");
            let verb = if state == AlertState::Firing {
                "raised"
            } else {
                "cleared"
            };
            out.push(Record::Alert(Alert {
                id: format!(
                    "{device}/-/{kind}/{}/0/{}",
                    if state == AlertState::Firing {
                        "firing"
                    } else {
                        "resolved"
                    },
                    time.timestamp()
                ),
                kind,
                state,
                tier: None,
                time,
                device: device.clone(),
                shipment: shipment.clone(),
                stop: None,
                alarm: Some(a),
                lat: lat.is_finite().then_some(lat),
                lon: lon.is_finite().then_some(lon),
                value: None,
                message: format!("device {device}: alarm {name} {verb}"),
                customer: customer.clone(),
                geofence: None,
            }));
        }
        self.learned_dirty = true;
    }

    /// Advances the clock-driven rules (no signal) to wall-clock `now`, and drops finished
    /// shipments older than `tracking.keep_finished`.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Record> {
        self.evict_finished(now);
        let mut out = Vec::new();
        for (id, t) in self.trackers.iter_mut() {
            let recs = t.tick(now, &self.cfg);
            if !recs.is_empty() {
                self.dirty.insert(id.clone());
            }
            out.extend(recs);
        }
        out
    }

    /// Marks shipments (and learned data) as still unsaved after a failed save.
    pub fn mark_dirty(&mut self, ids: BTreeSet<String>, learned: bool) {
        self.dirty.extend(ids);
        self.learned_dirty |= learned;
    }

    /// Drops completed and cancelled shipments that finished more than
    /// `tracking.keep_finished` before `now` (their history stays in the event store and
    /// InfluxDB); the store deletes them on the next save.
    pub fn evict_finished(&mut self, now: DateTime<Utc>) {
        let keep =
            chrono::Duration::from_std(self.cfg.keep_finished).unwrap_or(chrono::Duration::MAX);
        let old: Vec<String> = self
            .trackers
            .values()
            .filter(|t| t.state.status != ShipmentStatus::Active)
            .filter(|t| t.state.finished.is_some_and(|f| now - f > keep))
            .map(|t| t.spec.id.clone())
            .collect();
        for id in old {
            self.trackers.remove(&id);
            self.dirty.remove(&id);
            self.removed.insert(id);
        }
    }

    /// Shipments dropped from memory since the last call (for the store to delete).
    pub fn take_removed(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.removed)
    }

    /// Marks shipments as still to be deleted after a failed save.
    pub fn mark_removed(&mut self, ids: BTreeSet<String>) {
        self.removed.extend(ids);
    }

    /// How many shipments of `customer` are in memory (the per-customer quota).
    pub fn count_of(&self, customer: &str) -> usize {
        self.trackers
            .values()
            .filter(|t| t.spec.customer.as_deref() == Some(customer))
            .count()
    }

    /// The ids of `customer`'s shipments in memory.
    pub fn shipments_of(&self, customer: &str) -> BTreeSet<String> {
        self.trackers
            .values()
            .filter(|t| t.spec.customer.as_deref() == Some(customer))
            .map(|t| t.spec.id.clone())
            .collect()
    }

    /// The devices on an active shipment of `customer`: what a customer may see of the
    /// fleet.
    pub fn active_devices_of(&self, customer: &str) -> BTreeSet<DeviceId> {
        self.trackers
            .values()
            .filter(|t| t.state.status == ShipmentStatus::Active)
            .filter(|t| t.spec.customer.as_deref() == Some(customer))
            .map(|t| t.spec.device.clone())
            .collect()
    }

    /// Customers other than `customer` with an active shipment on `device`.
    pub fn other_customers_on(&self, device: &DeviceId, customer: &str) -> bool {
        self.by_device.get(device).is_some_and(|ids| {
            ids.iter().any(|id| {
                self.trackers
                    .get(id)
                    .is_some_and(|t| t.spec.customer.as_deref() != Some(customer))
            })
        })
    }

    /// Shipments changed since the last call (for the store), and whether learned state
    /// changed.
    pub fn take_dirty(&mut self) -> (BTreeSet<String>, bool) {
        let ids = std::mem::take(&mut self.dirty);
        (ids, std::mem::replace(&mut self.learned_dirty, false))
    }
}
