//! What the shipment view draws and nothing else stores: the ETA of each stop over time
//! (the "slip" chart) and the vehicle's trail, kept in memory, bounded.
//!
//! A nameless log consumer ([`HistoryConsumer`]) feeds it: it keeps no position, so it
//! rebuilds from the retained log at every start, like live state. That is the simplest
//! honest design: the log already holds every ETA update and every fix, so nothing new is
//! written to disk, and the history covers exactly the retained log (`storage.retention`).
//!
//! Bounds: at most `console.history_shipments` shipments (the least recently updated is
//! forgotten), `console.history_points` samples per stop and `console.trail_points` points
//! per vehicle. A full series is thinned to every other sample, so it keeps the whole trip at
//! a coarser step instead of forgetting its start. Trails are kept only for devices of held
//! shipments; the first point is the fix that produced the shipment's first ETA, read from
//! live state.

use super::ConsoleConfig;
use crate::model::{DeviceId, Record};
use crate::pipeline::runner::{LogConsumer, Stopped};
use crate::state::LiveState;
use futures::future::BoxFuture;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// One ETA publication for one stop: `[fix, eta, p10, p90]`, unix ms.
pub type EtaSample = [i64; 4];
/// One trail point: `[fix time unix ms, lat, lon]`.
pub type TrailPoint = (i64, f64, f64);

/// One stop's ETA series.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StopSeries {
    /// Planned arrival, unix ms.
    pub planned: i64,
    /// Oldest first.
    pub samples: Vec<EtaSample>,
}

/// A shipment's history as the API returns it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ShipmentHistory {
    /// Per stop id, in the order the stops first got an ETA.
    pub eta: Vec<(String, StopSeries)>,
    /// The vehicle's fixes while on this shipment, oldest first.
    pub trail: Vec<TrailPoint>,
}

/// Sizes from `[console]`.
#[derive(Clone, Copy, Debug)]
struct Limits {
    shipments: usize,
    points: usize,
    trail: usize,
}

struct Held {
    device: DeviceId,
    stops: Vec<(String, StopSeries)>,
    /// Fix time of the first ETA (the trail starts here), unix ms.
    first_ms: i64,
    /// Set by the `completed` / `cancelled` alert: the trail ends here.
    ended_ms: Option<i64>,
    /// Recency for eviction.
    touched: u64,
}

#[derive(Default)]
struct Inner {
    shipments: HashMap<String, Held>,
    trails: HashMap<DeviceId, Vec<TrailPoint>>,
    clock: u64,
}

/// The in-memory history; shared by its consumer and the API.
pub struct History {
    inner: Mutex<Inner>,
    limits: Limits,
    live: Arc<LiveState>,
}

/// Appends `item`, first thinning `v` to every other element (keeping the newest) when full.
fn push_thinned<T>(v: &mut Vec<T>, item: T, cap: usize) {
    if v.len() >= cap {
        let last = v.len() - 1;
        let mut i = 0;
        v.retain(|_| {
            let keep = i % 2 == last % 2;
            i += 1;
            keep
        });
    }
    v.push(item);
}

impl History {
    /// An empty history sized by `cfg`, seeding trails from `live`.
    pub fn new(cfg: &ConsoleConfig, live: Arc<LiveState>) -> History {
        History {
            inner: Mutex::new(Inner::default()),
            limits: Limits {
                shipments: cfg.history_shipments,
                points: cfg.history_points,
                trail: cfg.trail_points,
            },
            live,
        }
    }

    /// A poisoned lock only means a panic mid-update of display data: keep going.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a batch of records in log order.
    pub fn apply(&self, records: &[Record]) {
        let mut g = self.lock();
        for r in records {
            match r {
                Record::Eta(e) => {
                    g.clock += 1;
                    let clock = g.clock;
                    let fix_ms = e.fix_time.timestamp_millis();
                    let new = !g.shipments.contains_key(&e.shipment);
                    if new {
                        self.admit(&mut g, &e.shipment, &e.device, fix_ms);
                    }
                    let Some(h) = g.shipments.get_mut(&e.shipment) else {
                        continue;
                    };
                    h.touched = clock;
                    let sample = [
                        fix_ms,
                        e.eta.timestamp_millis(),
                        e.eta_p10.timestamp_millis(),
                        e.eta_p90.timestamp_millis(),
                    ];
                    let pos = h.stops.iter().position(|(id, _)| id == &e.stop);
                    let series = match pos {
                        Some(i) => &mut h.stops[i].1,
                        None => {
                            h.stops.push((e.stop.clone(), StopSeries::default()));
                            let last = h.stops.len() - 1;
                            &mut h.stops[last].1
                        }
                    };
                    series.planned = e.planned.timestamp_millis();
                    // A replayed or repeated publication must not draw the line backwards.
                    if series.samples.last().is_none_or(|l| l[0] <= fix_ms) {
                        push_thinned(&mut series.samples, sample, self.limits.points);
                    }
                }
                Record::Position(p) => {
                    if !p.valid || (p.lat == 0.0 && p.lon == 0.0) {
                        continue;
                    }
                    let cap = self.limits.trail;
                    if let Some(t) = g.trails.get_mut(&p.device) {
                        let ms = p.fix_time.timestamp_millis();
                        if t.last().is_none_or(|l| l.0 < ms) {
                            push_thinned(t, (ms, p.lat, p.lon), cap);
                        }
                    }
                }
                Record::Alert(a) if matches!(a.kind.as_str(), "completed" | "cancelled") => {
                    if let Some(h) = a.shipment.as_ref().and_then(|s| g.shipments.get_mut(s)) {
                        h.ended_ms = Some(a.time.timestamp_millis());
                    }
                }
                _ => {}
            }
        }
    }

    /// Starts holding a shipment (forgetting the least recently updated one when full) and
    /// its device's trail, seeded with the fix that produced this first ETA.
    fn admit(&self, g: &mut Inner, shipment: &str, device: &DeviceId, fix_ms: i64) {
        if g.shipments.len() >= self.limits.shipments {
            let oldest = g
                .shipments
                .iter()
                .min_by_key(|(_, h)| h.touched)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                if let Some(h) = g.shipments.remove(&k) {
                    if !g.shipments.values().any(|o| o.device == h.device) {
                        g.trails.remove(&h.device);
                    }
                }
            }
        }
        g.shipments.insert(
            shipment.to_string(),
            Held {
                device: device.clone(),
                stops: Vec::new(),
                first_ms: fix_ms,
                ended_ms: None,
                touched: g.clock,
            },
        );
        if !g.trails.contains_key(device) {
            let seed = self
                .live
                .view(device.as_str(), chrono::Utc::now())
                .and_then(|v| v.position)
                .filter(|p| p.fix_time.timestamp_millis() == fix_ms)
                .map(|p| (fix_ms, p.lat, p.lon));
            g.trails.insert(device.clone(), seed.into_iter().collect());
        }
    }

    /// The history of one shipment (empty series when none is held).
    pub fn shipment(&self, id: &str) -> ShipmentHistory {
        let g = self.lock();
        let Some(h) = g.shipments.get(id) else {
            return ShipmentHistory::default();
        };
        let end = h.ended_ms.unwrap_or(i64::MAX);
        let trail = g
            .trails
            .get(&h.device)
            .map(|t| {
                t.iter()
                    .filter(|p| p.0 >= h.first_ms && p.0 <= end)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        ShipmentHistory {
            eta: h.stops.clone(),
            trail,
        }
    }

    /// Shipments held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().shipments.len()
    }

    /// Whether no shipment is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Feeds a [`History`] from the log (nameless: rebuilt from the retained log at start).
pub struct HistoryConsumer(pub Arc<History>);

impl LogConsumer for HistoryConsumer {
    fn name(&self) -> Option<&str> {
        None
    }

    fn wants(&self, kind: &str) -> bool {
        matches!(kind, "eta" | "position" | "alert")
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        self.0.apply(records);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
