//! Stop visits: arrival when inside the radius long enough (or stopped inside), departure
//! when outside long enough, `skipped` when the vehicle went past without arriving.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a stop is in its visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visit {
    /// Not reached yet.
    Pending,
    /// Arrived, not departed.
    Arrived,
    /// Arrived and left.
    Departed,
    /// Passed without arriving.
    Skipped,
}

/// A stop event to announce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopEvent {
    /// Arrived at the given time (when it entered the radius).
    Arrived(DateTime<Utc>),
    /// Departed at the given time (when it left the radius).
    Departed(DateTime<Utc>),
}

/// Visit state of one stop.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StopTrack {
    /// Current visit phase.
    pub visit: Visit,
    /// When the vehicle entered the radius (arrival time once arrived).
    pub arrived_at: Option<DateTime<Utc>>,
    /// When it left the radius for good.
    pub departed_at: Option<DateTime<Utc>>,
    entered: Option<DateTime<Utc>>,
    exited: Option<DateTime<Utc>>,
    /// ETA predictions kept to learn the error distribution on arrival. (State saved before
    /// predictions carried a spread kept them as `predictions`; those are dropped on load.)
    #[serde(default)]
    pub preds: Vec<Prediction>,
}

/// One ETA prediction kept until the arrival shows how wrong it was.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Prediction {
    /// When it was made.
    pub made: DateTime<Utc>,
    /// The P50 ETA.
    pub eta: DateTime<Utc>,
    /// The spread the model gave it, seconds.
    pub sigma_s: f64,
    /// The published P10 and P90 as offsets from the ETA, seconds.
    #[serde(default)]
    pub band_s: (f64, f64),
}

impl Default for StopTrack {
    fn default() -> Self {
        StopTrack {
            visit: Visit::Pending,
            arrived_at: None,
            departed_at: None,
            entered: None,
            exited: None,
            preds: Vec::new(),
        }
    }
}

impl StopTrack {
    /// Feeds one clean fix. `inside`: within the stop radius; `stopped`: the motion detector
    /// says stopped; `reachable`: progress along the route is near this stop (so the end of a
    /// round trip is not "arrived" at departure).
    pub fn update(
        &mut self,
        now: DateTime<Utc>,
        inside: bool,
        stopped: bool,
        reachable: bool,
        arrival_s: i64,
        departure_s: i64,
    ) -> Option<StopEvent> {
        match self.visit {
            Visit::Pending => {
                if inside && reachable {
                    let entered = *self.entered.get_or_insert(now);
                    if stopped || (now - entered).num_seconds() >= arrival_s {
                        self.visit = Visit::Arrived;
                        self.arrived_at = Some(entered);
                        return Some(StopEvent::Arrived(entered));
                    }
                } else {
                    self.entered = None;
                }
                None
            }
            Visit::Arrived => {
                if inside {
                    self.exited = None;
                    return None;
                }
                let exited = *self.exited.get_or_insert(now);
                if (now - exited).num_seconds() >= departure_s {
                    self.visit = Visit::Departed;
                    self.departed_at = Some(exited);
                    return Some(StopEvent::Departed(exited));
                }
                None
            }
            Visit::Departed | Visit::Skipped => None,
        }
    }

    /// Marks a pending stop skipped; returns true when it changed.
    pub fn skip(&mut self) -> bool {
        if self.visit == Visit::Pending {
            self.visit = Visit::Skipped;
            self.entered = None;
            true
        } else {
            false
        }
    }

    /// True when the stop needs no more ETAs.
    pub fn done(&self) -> bool {
        self.visit != Visit::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn arrives_after_two_minutes_inside_and_departs_after_three_outside() {
        let mut s = StopTrack::default();
        assert_eq!(s.update(t(0), true, false, true, 120, 180), None);
        assert_eq!(s.update(t(60), true, false, true, 120, 180), None);
        assert_eq!(
            s.update(t(120), true, false, true, 120, 180),
            Some(StopEvent::Arrived(t(0)))
        );
        assert_eq!(s.update(t(300), false, false, true, 120, 180), None);
        assert_eq!(
            s.update(t(330), true, true, true, 120, 180),
            None,
            "came back in: exit reset"
        );
        assert_eq!(s.update(t(400), false, false, true, 120, 180), None);
        assert_eq!(s.update(t(579), false, false, true, 120, 180), None);
        assert_eq!(
            s.update(t(580), false, false, true, 120, 180),
            Some(StopEvent::Departed(t(400)))
        );
        assert_eq!(s.visit, Visit::Departed);
        assert_eq!((s.arrived_at, s.departed_at), (Some(t(0)), Some(t(400))));
    }

    #[test]
    fn stopped_inside_arrives_at_once_and_passing_through_does_not() {
        let mut s = StopTrack::default();
        assert_eq!(s.update(t(0), true, false, true, 120, 180), None);
        assert_eq!(s.update(t(30), true, false, true, 120, 180), None);
        assert_eq!(
            s.update(t(60), false, false, true, 120, 180),
            None,
            "drove through in 60 s"
        );
        assert_eq!(
            s.update(t(90), true, true, true, 120, 180),
            Some(StopEvent::Arrived(t(90)))
        );
        let mut u = StopTrack::default();
        assert_eq!(
            u.update(t(0), true, true, false, 120, 180),
            None,
            "not reachable yet"
        );
        assert!(u.skip());
        assert!(!u.skip());
        assert_eq!(u.update(t(10), true, true, true, 120, 180), None);
    }
}
