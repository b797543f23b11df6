//! Trips and stops from one device's fixes, for the reports: pure accumulation on top of the
//! motion state machine in [`super::detect`], no clock, no I/O.
//!
//! A trip runs from the first fix of the moving run that `motion_start` confirmed to the
//! first fix of the stopped run that `motion_stop` confirmed; a stop from that fix to the
//! first fix of the next confirmed moving run. Distance is the haversine length (`geo`)
//! between consecutive valid fixes inside the trip; fixes of a pending run are kept apart
//! until the run is confirmed (then they belong to the new state) or broken (then to the
//! old one), so GPS jitter while parked never counts, and a halt at a light shorter than
//! `motion_stop_secs` stays inside its trip.
//!
//! Figures are kept per UTC day of the fix that ends each segment, so the daily summary
//! splits a trip across midnight, and they go to the day figures as soon as they are known
//! to belong to a trip (the trip going on counts today, up to a pending stop). Idle time
//! (below the motion speed with the ignition on) is counted per segment directly. Everything lives in the device's saved state, and the
//! finished rows are written in the same transaction as that state: a replay from the same
//! state gives the same rows (keyed by device and start), and additive daily figures are
//! never counted twice.

use chrono::{DateTime, NaiveDate, Utc};
use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A fix's time and place.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub time: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
}

/// Figures of one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fig {
    pub distance_m: f64,
    pub driving_s: f64,
    pub idle_s: f64,
    pub max_kmh: f64,
}

impl Fig {
    fn add(&mut self, o: &Fig) {
        self.distance_m += o.distance_m;
        self.driving_s += o.driving_s;
        self.idle_s += o.idle_s;
        self.max_kmh = self.max_kmh.max(o.max_kmh);
    }
}

/// Figures by UTC day.
pub type Days = BTreeMap<NaiveDate, Fig>;

fn merge(into: &mut Days, from: Days) {
    for (d, f) in from {
        into.entry(d).or_default().add(&f);
    }
}

/// The sum over days.
pub fn total(days: &Days) -> Fig {
    let mut t = Fig::default();
    for f in days.values() {
        t.add(f);
    }
    t
}

/// A finished trip.
#[derive(Clone, Debug, PartialEq)]
pub struct TripRow {
    pub start: Place,
    pub end: Place,
    pub days: Days,
}

/// A finished stop.
#[derive(Clone, Debug, PartialEq)]
pub struct StopRow {
    pub arrival: Place,
    pub departure: DateTime<Utc>,
}

/// What one fix finished.
#[derive(Clone, Debug, PartialEq)]
pub enum Row {
    Trip(TripRow),
    Stop(StopRow),
    /// Figures to add to the days.
    Days(Days),
}

/// What the motion state machine made of a fix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Motion {
    /// On the confirmed side (a pending run, if any, is broken).
    Steady,
    /// In a pending run; `new` when the run began at this fix.
    Pending { new: bool },
    /// The run starting at `start` is confirmed at this fix: now `moving`; `first` when the
    /// device had no confirmed state before.
    Confirmed {
        moving: bool,
        start: Place,
        first: bool,
    },
}

/// One device's trip bookkeeping (part of its saved state).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TripState {
    /// The last valid fix.
    pub prev: Option<Place>,
    /// Start of the confirmed state: the trip's start or the stop's arrival.
    pub since: Option<Place>,
    /// Whether `since` starts a trip.
    pub moving: bool,
    /// Figures of the confirmed state since `since` (up to a pending run).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub main: Days,
    /// Figures since the start of the pending run.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub run: Days,
}

/// One fix as the accumulation sees it.
pub struct Step {
    pub at: Place,
    pub speed_kmh: f64,
    /// At or above the motion speed.
    pub fast: bool,
    /// The device's ignition is on (as last reported).
    pub ignition: bool,
}

impl TripState {
    /// Adds one (newer, valid) fix after the motion state machine judged it; the rows it
    /// finished go to `out`.
    pub fn step(&mut self, s: &Step, m: Motion, out: &mut Vec<Row>) {
        let seg = self.prev.map(|p| segment(&p, s));
        self.prev = Some(s.at);
        let day = s.at.time.date_naive();
        if let Some(f) = &seg {
            if f.idle_s > 0.0 {
                let idle = Fig {
                    idle_s: f.idle_s,
                    ..Fig::default()
                };
                out.push(Row::Days(BTreeMap::from([(day, idle)])));
            }
        }
        let seg: Days = seg
            .map(|mut f| {
                f.idle_s = 0.0;
                BTreeMap::from([(day, f)])
            })
            .unwrap_or_default();
        match m {
            Motion::Steady | Motion::Pending { new: true } => self.settle(seg, out),
            Motion::Pending { new: false } => merge(&mut self.run, seg),
            Motion::Confirmed {
                moving,
                start,
                first,
            } => {
                // The segment into the run's first fix is before the run.
                if start.time == s.at.time {
                    self.settle(seg, out);
                } else {
                    merge(&mut self.run, seg);
                }
                let main = std::mem::take(&mut self.main);
                let run = std::mem::take(&mut self.run);
                if let (Some(since), false) = (self.since, first) {
                    if self.moving && !moving {
                        out.push(Row::Trip(TripRow {
                            start: since,
                            end: start,
                            days: main,
                        }));
                    } else if !self.moving && moving {
                        out.push(Row::Stop(StopRow {
                            arrival: since,
                            departure: start.time,
                        }));
                    }
                }
                self.since = Some(start);
                self.moving = moving;
                if moving {
                    out.push(Row::Days(run.clone()));
                    self.main = run;
                }
            }
        }
    }

    /// The pending run (broken) and `seg` belong to the confirmed state: to the trip going
    /// on, whose day figures they then join.
    fn settle(&mut self, seg: Days, out: &mut Vec<Row>) {
        let mut add = std::mem::take(&mut self.run);
        merge(&mut add, seg);
        if self.moving && self.since.is_some() && !add.is_empty() {
            out.push(Row::Days(add.clone()));
        }
        merge(&mut self.main, add);
    }
}

/// The segment from `prev` to this fix: its length, its time as driving (when the fix is
/// moving) or idle (stopped with the ignition on), and the fix's speed.
fn segment(prev: &Place, s: &Step) -> Fig {
    let dt = (s.at.time - prev.time).num_milliseconds().max(0) as f64 / 1000.0;
    Fig {
        distance_m: Haversine.distance(
            Point::new(prev.lon, prev.lat),
            Point::new(s.at.lon, s.at.lat),
        ),
        driving_s: if s.fast { dt } else { 0.0 },
        idle_s: if !s.fast && s.ignition { dt } else { 0.0 },
        max_kmh: if s.fast { s.speed_kmh } else { 0.0 },
    }
}

#[cfg(test)]
#[path = "trips_tests.rs"]
mod tests;
