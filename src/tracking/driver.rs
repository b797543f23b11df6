//! What the driver is doing, from motion alone: driving time against the driving-time rules,
//! the current standstill, and the standstills on the link being driven (so a finished link
//! is learned as driving time, and its halts apart from it).

use super::cleaning::Fix;
use super::hos::{HosClock, HosLimits};
use super::motion::Motion;
use super::projection::distance_m;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Speed assumed for the driving part of a long signal gap, m/s (motorway pace: a gap
/// counts as little driving as its distance allows, the rest may have been a pause).
const GAP_DRIVE_MPS: f64 = 20.0;

/// A standstill in progress.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standstill {
    /// When the vehicle reached the spot.
    pub since: DateTime<Utc>,
    /// It began within a stop's radius (dwell, learned per stop) rather than on the road.
    pub at_stop: bool,
    /// A break or rest was due (within `hos_early_min`) when it began.
    pub due: bool,
}

/// Driving-time clock and standstills of one shipment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DriverState {
    /// Driving time against the rules.
    pub clock: HosClock,
    /// The standstill in progress, if any.
    pub standing: Option<Standstill>,
    /// Unplanned halts on the link since the last departure, seconds.
    pub link_halt_s: f64,
    /// Pauses the rules explain (a due break or rest) on the link, seconds.
    pub link_pause_s: f64,
}

/// A standstill on the road that ended: its length in seconds and, for a pause, the driving
/// the counter it resets had reached (drivers pause before the limit: that is learned).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ended {
    /// Not explained by the driving-time rules: learned as a halt.
    Halt(f64),
    /// A due break (at least the rules' break length), after this much driving.
    Break(f64, f64),
    /// A daily rest, after this much driving that day.
    Rest(f64, f64),
}

/// Limits the driver update needs.
#[derive(Clone, Copy, Debug)]
pub struct DriverLimits {
    /// The rules, if any.
    pub hos: Option<HosLimits>,
    /// `hos_early_min` in seconds.
    pub early_s: f64,
    /// `drive_gap_secs`.
    pub gap_s: f64,
}

impl DriverState {
    /// Feeds one clean fix with the motion state after it (`prev`: the clean fix before).
    /// Returns the road standstill (not dwell at a stop) that ended with this fix, if any.
    pub fn update(
        &mut self,
        prev: Option<&Fix>,
        fix: &Fix,
        motion: Motion,
        at_stop: bool,
        lim: DriverLimits,
    ) -> Option<Ended> {
        match motion {
            Motion::Stopped { since } => {
                if self.standing.is_none() {
                    // The detector calls a stop only after a while; the intervals since the
                    // vehicle reached the spot were counted as driving: take them back.
                    if let Some(p) = prev {
                        let over = secs(p.time - since).max(0.0);
                        self.clock.since_break_s = (self.clock.since_break_s - over).max(0.0);
                        self.clock.today_s = (self.clock.today_s - over).max(0.0);
                    }
                    let due = lim
                        .hos
                        .is_some_and(|l| self.clock.next_pause(&l).0 <= lim.early_s);
                    self.standing = Some(Standstill {
                        since,
                        at_stop,
                        due,
                    });
                }
                None
            }
            Motion::Moving => {
                let ended = self.standing.take().and_then(|st| {
                    let end = prev.map_or(fix.time, |p| p.time);
                    self.end_standstill(st, secs(end - st.since).max(0.0), lim.hos)
                });
                if let Some(p) = prev {
                    let dt = secs(fix.time - p.time).max(0.0);
                    let d = if dt <= lim.gap_s {
                        dt
                    } else {
                        (distance_m((p.lat, p.lon), (fix.lat, fix.lon)) / GAP_DRIVE_MPS).min(dt)
                    };
                    self.clock.add_driving(d);
                }
                ended
            }
        }
    }

    /// Books a finished standstill; returns what it was when it happened on the road.
    fn end_standstill(&mut self, st: Standstill, s: f64, hos: Option<HosLimits>) -> Option<Ended> {
        let before = self.clock;
        if let Some(l) = hos {
            self.clock.stand(s, &l);
        }
        if st.at_stop {
            return None;
        }
        let ended = match hos {
            Some(l) if s >= l.min_rest_s => Ended::Rest(s, before.today_s),
            Some(l) if st.due && s >= l.break_s => Ended::Break(s, before.since_break_s),
            _ => Ended::Halt(s),
        };
        match ended {
            Ended::Halt(_) => self.link_halt_s += s,
            Ended::Break(..) | Ended::Rest(..) => self.link_pause_s += s,
        }
        Some(ended)
    }

    /// The standstill in progress outside stops and how long it has lasted at `now`.
    pub fn road_standstill(&self, now: DateTime<Utc>) -> Option<f64> {
        self.standing
            .filter(|s| !s.at_stop)
            .map(|s| secs(now - s.since).max(0.0))
    }

    /// Left a stop: a new link begins.
    pub fn depart(&mut self) {
        self.link_halt_s = 0.0;
        self.link_pause_s = 0.0;
    }
}

fn secs(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::hos::HosRules;
    use chrono::TimeZone;

    fn fix(s: i64, east_m: f64) -> Fix {
        Fix {
            time: Utc.timestamp_opt(1_772_000_000 + s, 0).unwrap(),
            lat: 52.0,
            lon: 13.0 + east_m / 68_500.0,
            accuracy_m: None,
        }
    }

    fn lim() -> DriverLimits {
        DriverLimits {
            hos: HosRules::Eu.limits(),
            early_s: 3600.0,
            gap_s: 900.0,
        }
    }

    #[test]
    fn driving_counts_moving_time_and_a_halt_is_booked_on_the_link() {
        let mut d = DriverState::default();
        let (a, b) = (fix(0, 0.0), fix(60, 1000.0));
        assert_eq!(d.update(Some(&a), &b, Motion::Moving, false, lim()), None);
        assert_eq!(d.clock.today_s, 60.0);
        // Stopped since 60 s, detected at 240 s: the 60 s → 180 s intervals are taken back.
        let since = b.time;
        let (c, e) = (fix(180, 1000.0), fix(240, 1000.0));
        d.update(Some(&b), &c, Motion::Moving, false, lim());
        assert_eq!(d.clock.today_s, 180.0);
        d.update(Some(&c), &e, Motion::Stopped { since }, false, lim());
        assert_eq!(d.clock.today_s, 60.0);
        assert_eq!(d.road_standstill(fix(600, 0.0).time), Some(540.0));
        // Moving again at 1 260 s; the standstill ended at the fix before (1 200 s).
        let (f, g) = (fix(1200, 1200.0), fix(1260, 2000.0));
        d.update(Some(&e), &f, Motion::Stopped { since }, false, lim());
        assert_eq!(
            d.update(Some(&f), &g, Motion::Moving, false, lim()),
            Some(Ended::Halt(1140.0))
        );
        assert_eq!(d.link_halt_s, 1140.0);
        assert_eq!(d.clock.today_s, 120.0, "20 min is no break and not driving");
        d.depart();
        assert_eq!(d.link_halt_s, 0.0);
    }

    #[test]
    fn a_due_break_is_a_pause_and_a_long_gap_counts_its_distance_only() {
        let mut d = DriverState::default();
        d.clock.add_driving(4.2 * 3600.0);
        let a = fix(0, 0.0);
        d.update(
            Some(&a),
            &fix(120, 0.0),
            Motion::Stopped { since: a.time },
            false,
            lim(),
        );
        assert!(d.standing.is_some_and(|s| s.due));
        let r = d.update(
            Some(&fix(3000, 0.0)),
            &fix(3060, 900.0),
            Motion::Moving,
            false,
            lim(),
        );
        assert_eq!(
            r,
            Some(Ended::Break(3000.0, 4.2 * 3600.0)),
            "a 50-min due break is a pause"
        );
        assert_eq!((d.link_pause_s, d.clock.since_break_s), (3000.0, 60.0));
        // 1 h without fixes while moving, 20 km covered: 1 000 s of driving.
        let before = d.clock.today_s;
        d.update(
            Some(&fix(4000, 0.0)),
            &fix(7600, 20_000.0),
            Motion::Moving,
            false,
            lim(),
        );
        assert!(
            (d.clock.today_s - before - 1000.0).abs() < 5.0,
            "{}",
            d.clock.today_s
        );
    }
}
