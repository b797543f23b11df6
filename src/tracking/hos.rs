//! Driving-time rules ("hours of service") and a driver's driving-time clock.
//!
//! A truck driver must pause after so much driving: in the EU (Regulation (EC) 561/2006) a
//! 45-min break after 4.5 h of driving and a daily rest (11 h, reducible to 9 h) after 9 h of
//! driving (10 h twice a week); in the US (FMCSA hours of service) a 30-min break after 8 h of
//! driving and 10 h off duty after the 11-h driving limit. A long-haul ETA that ignores them
//! is hours wrong, so the ETA walk drives a copy of the shipment's [`HosClock`] forward and
//! inserts the pauses it would hit.
//!
//! What is modelled, and what is not (GPS alone cannot tell these apart):
//! - driving time is moving time from the motion detector; any standstill at least as long as
//!   the break counts as the break (in the EU loading is "other work", not a break; a
//!   tracker cannot see the difference), one at least as long as the daily rest as the rest;
//! - a reduced EU rest (9 h) counts as the daily rest, but the ETA plans the regular 11 h
//!   (or the drivers' observed length); the EU split break (15 + 30 min), the extended 10-h
//!   driving days, the weekly limits and the US 14-h on-duty window and 60/70-h week are
//!   not modelled;
//! - planned arrivals are taken to be a compliant plan: a planned link time contains the
//!   pauses the rules require for the planned driving (see [`HosClock::driving_within`]).

use serde::{Deserialize, Serialize};

/// Which driving-time rules apply (`[tracking] hos`, per shipment `hos`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HosRules {
    /// No rules (vans, cars, or rules the operator does not want modelled).
    #[default]
    None,
    /// EU Regulation 561/2006.
    Eu,
    /// US FMCSA hours of service (property-carrying).
    Us,
}

/// The limits of a rule set, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HosLimits {
    /// Driving allowed before a break is due.
    pub break_after_s: f64,
    /// Shortest standstill that counts as that break.
    pub break_s: f64,
    /// How long a break the ETA plans in (the rule's length, or the drivers' observed one).
    pub break_len_s: f64,
    /// Driving allowed per day.
    pub daily_drive_s: f64,
    /// Shortest standstill that counts as the daily rest (the EU allows a reduced rest).
    pub min_rest_s: f64,
    /// How long a daily rest the ETA plans in.
    pub daily_rest_s: f64,
}

impl HosLimits {
    /// The same rules with the break and rest lengths drivers were observed to take (never
    /// shorter than the rules' own).
    pub fn with_lengths(self, break_s: Option<f64>, rest_s: Option<f64>) -> HosLimits {
        HosLimits {
            break_len_s: break_s.map_or(self.break_len_s, |b| b.max(self.break_len_s)),
            daily_rest_s: rest_s.map_or(self.daily_rest_s, |r| r.max(self.daily_rest_s)),
            ..self
        }
    }
}

impl HosRules {
    /// The limits, `None` for [`HosRules::None`].
    pub fn limits(self) -> Option<HosLimits> {
        const H: f64 = 3600.0;
        match self {
            HosRules::None => None,
            HosRules::Eu => Some(HosLimits {
                break_after_s: 4.5 * H,
                break_s: 0.75 * H,
                break_len_s: 0.75 * H,
                daily_drive_s: 9.0 * H,
                min_rest_s: 9.0 * H,
                daily_rest_s: 11.0 * H,
            }),
            HosRules::Us => Some(HosLimits {
                break_after_s: 8.0 * H,
                break_s: 0.5 * H,
                break_len_s: 0.5 * H,
                daily_drive_s: 11.0 * H,
                min_rest_s: 10.0 * H,
                daily_rest_s: 10.0 * H,
            }),
        }
    }
}

/// A pause the rules impose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// The break after `break_after_s` of driving.
    Break,
    /// The daily rest after `daily_drive_s` of driving.
    Rest,
}

/// Driving-time counters of one driver (one shipment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HosClock {
    /// Driving since the last break (or rest), seconds.
    pub since_break_s: f64,
    /// Driving since the last daily rest, seconds.
    pub today_s: f64,
}

impl HosClock {
    /// Adds driving that really happened (no pause inserted: a driver may overrun).
    pub fn add_driving(&mut self, s: f64) {
        let s = s.max(0.0);
        self.since_break_s += s;
        self.today_s += s;
    }

    /// A standstill of `s` seconds ended: it resets what it is long enough for.
    pub fn stand(&mut self, s: f64, lim: &HosLimits) {
        if s >= lim.min_rest_s {
            *self = HosClock::default();
        } else if s >= lim.break_s {
            self.since_break_s = 0.0;
        }
    }

    /// Driving left before the next pause, and which pause it is (the rest wins a tie).
    pub fn next_pause(&self, lim: &HosLimits) -> (f64, Pause) {
        let to_break = (lim.break_after_s - self.since_break_s).max(0.0);
        let to_rest = (lim.daily_drive_s - self.today_s).max(0.0);
        if to_rest <= to_break {
            (to_rest, Pause::Rest)
        } else {
            (to_break, Pause::Break)
        }
    }

    fn take(&mut self, p: Pause, lim: &HosLimits) -> f64 {
        match p {
            Pause::Rest => {
                *self = HosClock::default();
                lim.daily_rest_s
            }
            Pause::Break => {
                self.since_break_s = 0.0;
                lim.break_len_s
            }
        }
    }

    /// Drives `d` seconds forward, taking every pause the rules require on the way (a pause
    /// is taken only when more driving follows it); returns the pause seconds added.
    pub fn drive(&mut self, d: f64, lim: &HosLimits) -> f64 {
        let mut left = d.max(0.0);
        let mut paused = 0.0;
        // Each round either finishes the driving or takes a pause that frees at least
        // `break_after_s` of driving, so the loop is bounded by d / break_after_s.
        while left > 0.0 {
            let (room, pause) = self.next_pause(lim);
            if left <= room {
                self.add_driving(left);
                break;
            }
            self.add_driving(room);
            left -= room;
            paused += self.take(pause, lim);
        }
        paused
    }

    /// The vehicle has stood for `standing_s` and needs `ahead_s` more driving. When a pause
    /// is due within `early_s` of driving (drivers take it a little early) and that pause
    /// comes before the end of the driving, the standstill is taken to be that pause: returns
    /// which pause and the seconds of it still to come (at the planned length), and resets
    /// the clock. A standstill already as long as the break, with the daily rest due within
    /// `early_s`, is the rest; one as long as the shortest daily rest is a rest. `None`: the
    /// standstill is not a pause the rules explain (an unplanned stop).
    pub fn resume(
        &mut self,
        standing_s: f64,
        ahead_s: f64,
        early_s: f64,
        lim: &HosLimits,
    ) -> Option<(Pause, f64)> {
        let to_rest = (lim.daily_drive_s - self.today_s).max(0.0);
        let rest_now = standing_s >= lim.min_rest_s
            || (standing_s >= lim.break_s && to_rest <= early_s && to_rest < ahead_s);
        if rest_now {
            *self = HosClock::default();
            return Some((Pause::Rest, (lim.daily_rest_s - standing_s).max(0.0)));
        }
        if standing_s >= lim.break_s {
            self.since_break_s = 0.0;
            return None;
        }
        let (room, pause) = self.next_pause(lim);
        if room <= early_s && room < ahead_s {
            let len = self.take(pause, lim);
            return Some((pause, len - standing_s));
        }
        None
    }

    /// The driving contained in a planned link of `planned_s` (which includes the pauses of a
    /// compliant plan): the largest driving time `d` with `d + pauses(d) <= planned_s`, found
    /// by bisection (pauses only grow with `d`). Advances the clock by it.
    pub fn driving_within(&mut self, planned_s: f64, lim: &HosLimits) -> f64 {
        let total = |c: &HosClock, d: f64| {
            let mut c = *c;
            d + c.drive(d, lim)
        };
        let (mut lo, mut hi) = (0.0, planned_s.max(0.0));
        if total(self, hi) > hi {
            for _ in 0..48 {
                let mid = 0.5 * (lo + hi);
                if total(self, mid) <= planned_s {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi = lo;
        }
        self.drive(hi, lim);
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 3600.0;

    fn eu() -> HosLimits {
        HosRules::Eu.limits().expect("eu")
    }

    #[test]
    fn eu_driving_of_12_h_takes_a_break_and_a_daily_rest() {
        let mut c = HosClock::default();
        // 4.5 h, break 45 min, 4.5 h (9 h today), rest 11 h, 3 h.
        assert_eq!(c.drive(12.0 * H, &eu()), 0.75 * H + 11.0 * H);
        assert_eq!(c.today_s, 3.0 * H);
        assert_eq!(c.since_break_s, 3.0 * H);
        let mut c = HosClock::default();
        assert_eq!(
            c.drive(4.5 * H, &eu()),
            0.0,
            "no pause without driving after it"
        );
        assert_eq!(c.drive(1.0, &eu()), 0.75 * H);
    }

    #[test]
    fn us_rules_break_after_8_h_and_rest_after_11_h() {
        let us = HosRules::Us.limits().expect("us");
        let mut c = HosClock::default();
        assert_eq!(c.drive(12.0 * H, &us), 0.5 * H + 10.0 * H);
        assert_eq!(HosRules::None.limits(), None);
    }

    #[test]
    fn a_long_enough_standstill_counts_as_the_break_or_the_rest() {
        let mut c = HosClock::default();
        c.add_driving(4.0 * H);
        c.stand(0.5 * H, &eu());
        assert_eq!(c.since_break_s, 4.0 * H, "30 min is not a 45-min break");
        c.stand(0.75 * H, &eu());
        assert_eq!((c.since_break_s, c.today_s), (0.0, 4.0 * H));
        c.add_driving(H);
        c.stand(9.0 * H, &eu());
        assert_eq!(c, HosClock::default(), "a reduced 9-h rest counts");
    }

    #[test]
    fn observed_lengths_replace_the_rules_only_when_longer() {
        let l = eu().with_lengths(Some(3000.0), Some(30_000.0));
        assert_eq!((l.break_len_s, l.daily_rest_s), (3000.0, 11.0 * H));
        let mut c = HosClock::default();
        assert_eq!(c.drive(5.0 * H, &l), 3000.0);
        assert_eq!(l.break_s, 0.75 * H, "what counts as a break is the rule's");
    }

    #[test]
    fn a_standstill_near_a_due_pause_is_that_pause() {
        let mut c = HosClock::default();
        c.add_driving(4.2 * H);
        // 10 min standing, break due in 0.3 h of driving, 2 h to go: 35 min of break left.
        let mut d = c;
        assert_eq!(
            d.resume(600.0, 2.0 * H, H, &eu()),
            Some((Pause::Break, 0.75 * H - 600.0))
        );
        assert_eq!(d.since_break_s, 0.0);
        // Break due in 0.3 h but the destination is 0.2 h away: an unplanned stop.
        let mut d = c;
        assert_eq!(d.resume(600.0, 0.2 * H, H, &eu()), None);
        // After 2 h of driving nothing is due within the hour: an unplanned stop.
        let mut d = HosClock::default();
        d.add_driving(2.0 * H);
        assert_eq!(d.resume(600.0, 5.0 * H, H, &eu()), None);
        // 8.5 h today, standing 1 h (past a break's length): the daily rest, 10 h to go.
        let mut d = HosClock {
            since_break_s: 4.0 * H,
            today_s: 8.5 * H,
        };
        assert_eq!(
            d.resume(H, 2.0 * H, H, &eu()),
            Some((Pause::Rest, 10.0 * H))
        );
        assert_eq!(d, HosClock::default());
        // Standing 10 h after a day's driving: a (reduced) rest with 1 h of the planned 11 h
        // left; past 11 h, nothing left.
        let mut d = HosClock::default();
        assert_eq!(d.resume(10.0 * H, H, H, &eu()), Some((Pause::Rest, H)));
        assert_eq!(d.resume(12.0 * H, H, H, &eu()), Some((Pause::Rest, 0.0)));
    }

    #[test]
    fn planned_links_give_back_their_driving() {
        // A compliant plan: 6 h of driving with a 45-min break in the middle.
        let mut c = HosClock::default();
        let d = c.driving_within(6.75 * H, &eu());
        assert!((d - 6.0 * H).abs() < 1.0, "{d}");
        assert!((c.since_break_s - 1.5 * H).abs() < 1.0);
        // A planned time that ends inside the break: the driving stops at the break.
        let mut c = HosClock::default();
        let d = c.driving_within(4.8 * H, &eu());
        assert!((d - 4.5 * H).abs() < 1.0, "{d}");
        // Short links are all driving.
        let mut c = HosClock::default();
        assert_eq!(c.driving_within(3.0 * H, &eu()), 3.0 * H);
    }
}
