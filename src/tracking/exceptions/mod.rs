//! Exceptions as state machines per (shipment, stop, type): inactive → pending → firing →
//! (clearing →) resolved, with a hold time before firing and a hold time before clearing, so
//! a value wobbling around a threshold never makes an alert flap.

pub mod off_route;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a rule is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Phase {
    /// Condition not met.
    Inactive,
    /// Condition met since `since`, waiting for the hold time.
    Pending {
        /// When the condition started holding.
        since: DateTime<Utc>,
    },
    /// Alert is firing at `tier`.
    Firing {
        /// When it fired.
        since: DateTime<Utc>,
        /// Current escalation tier (0 for rules without tiers).
        tier: u32,
    },
    /// Clear condition met since `since`, waiting for the clear hold.
    Clearing {
        /// When the clear condition started holding.
        since: DateTime<Utc>,
        /// Tier it fired at.
        tier: u32,
        /// When it fired.
        fired: DateTime<Utc>,
    },
}

/// What a step of a rule emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Started firing at this tier.
    Fire(u32),
    /// Moved up to this tier while firing.
    Escalate(u32),
    /// Stopped firing.
    Resolve,
}

/// One exception state machine.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Current phase.
    pub phase: Phase,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            phase: Phase::Inactive,
        }
    }
}

impl Rule {
    /// Advances the rule to `now`. `on`: the firing condition holds (with `tier`, the tier it
    /// would fire at now); `off`: the clear condition holds. Between the two (hysteresis
    /// band) a firing rule keeps firing and a pending one falls back to inactive.
    pub fn step(
        &mut self,
        now: DateTime<Utc>,
        on: bool,
        off: bool,
        tier: u32,
        hold_s: i64,
        clear_s: i64,
    ) -> Option<Transition> {
        let held = |since: DateTime<Utc>, s: i64| (now - since).num_seconds() >= s;
        match self.phase {
            Phase::Inactive | Phase::Pending { .. } if !on => {
                self.phase = Phase::Inactive;
                None
            }
            Phase::Inactive => {
                self.phase = Phase::Pending { since: now };
                self.step(now, on, off, tier, hold_s, clear_s)
            }
            Phase::Pending { since } => {
                if held(since, hold_s) {
                    self.phase = Phase::Firing { since: now, tier };
                    Some(Transition::Fire(tier))
                } else {
                    None
                }
            }
            Phase::Firing { since, tier: cur } => {
                if off {
                    self.phase = Phase::Clearing {
                        since: now,
                        tier: cur,
                        fired: since,
                    };
                    return self.step(now, on, off, tier, hold_s, clear_s);
                }
                if on && tier > cur {
                    self.phase = Phase::Firing { since, tier };
                    return Some(Transition::Escalate(tier));
                }
                None
            }
            Phase::Clearing {
                since,
                tier: cur,
                fired,
            } => {
                if !off {
                    // Back above the clear threshold before the clear hold: still firing,
                    // nothing was announced, so nothing flaps.
                    self.phase = Phase::Firing {
                        since: fired,
                        tier: cur,
                    };
                    return None;
                }
                if held(since, clear_s) {
                    self.phase = Phase::Inactive;
                    return Some(Transition::Resolve);
                }
                None
            }
        }
    }

    /// True while firing (including the clear hold).
    pub fn firing(&self) -> bool {
        matches!(self.phase, Phase::Firing { .. } | Phase::Clearing { .. })
    }

    /// Forces a firing rule to resolve (the stop was reached, the shipment ended).
    pub fn reset(&mut self) -> Option<Transition> {
        let was = self.firing();
        self.phase = Phase::Inactive;
        was.then_some(Transition::Resolve)
    }
}

/// The highest tier in `tiers` (ascending) that `value` reaches, if any.
pub fn tier_of(value: i64, tiers: &[i64]) -> Option<u32> {
    tiers.iter().rev().find(|t| value >= **t).map(|t| *t as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + min * 60, 0).unwrap()
    }

    /// The late rule's shape: minutes late → (on, off, tier) with 15/5 thresholds.
    fn late(r: &mut Rule, min: i64, late_min: i64) -> Option<Transition> {
        let tier = tier_of(late_min, &[15, 60, 240]).unwrap_or(15);
        r.step(t(min), late_min > 15, late_min < 5, tier, 600, 900)
    }

    #[test]
    fn fires_after_the_hold_escalates_and_clears_after_the_clear_hold() {
        let mut r = Rule::default();
        assert_eq!(late(&mut r, 0, 20), None);
        assert_eq!(late(&mut r, 9, 20), None, "9 min < 10 min hold");
        assert_eq!(late(&mut r, 10, 20), Some(Transition::Fire(15)));
        assert_eq!(late(&mut r, 11, 30), None);
        assert_eq!(late(&mut r, 12, 61), Some(Transition::Escalate(60)));
        assert_eq!(late(&mut r, 13, 30), None, "tiers never go down");
        assert_eq!(
            late(&mut r, 14, 10),
            None,
            "10 min late is in the hysteresis band"
        );
        assert_eq!(late(&mut r, 15, 4), None, "clear hold starts");
        assert_eq!(late(&mut r, 29, 4), None);
        assert_eq!(late(&mut r, 30, 3), Some(Transition::Resolve));
        assert_eq!(r.phase, Phase::Inactive);
    }

    #[test]
    fn a_short_excursion_never_fires_and_a_dip_never_resolves() {
        let mut r = Rule::default();
        assert_eq!(late(&mut r, 0, 20), None);
        assert_eq!(late(&mut r, 5, 14), None, "dropped below: back to inactive");
        assert_eq!(late(&mut r, 6, 20), None);
        assert_eq!(late(&mut r, 15, 20), None, "hold restarted at minute 6");
        assert_eq!(late(&mut r, 16, 20), Some(Transition::Fire(15)));
        assert_eq!(late(&mut r, 17, 2), None);
        assert_eq!(late(&mut r, 30, 2), None);
        assert_eq!(
            late(&mut r, 31, 20),
            None,
            "back up before the clear hold: no flap"
        );
        assert!(r.firing());
        assert_eq!(late(&mut r, 32, 2), None);
        assert_eq!(late(&mut r, 47, 2), Some(Transition::Resolve));
    }

    #[test]
    fn tiers() {
        assert_eq!(tier_of(14, &[15, 60, 240]), None);
        assert_eq!(tier_of(15, &[15, 60, 240]), Some(15));
        assert_eq!(tier_of(239, &[15, 60, 240]), Some(60));
        assert_eq!(tier_of(1000, &[15, 60, 240]), Some(240));
    }
}
