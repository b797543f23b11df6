//! Motion state from positions alone (ignition and speed fields are too protocol-dependent):
//! STOPPED after staying within a small radius for a while, MOVING after a few fixes clearly
//! away from where it stopped.

use super::cleaning::Fix;
use super::projection::distance_m;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Moving or stopped, with the time it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Motion {
    /// Moving (also the initial state).
    Moving,
    /// Stopped since the given time (when it first arrived at the spot).
    Stopped {
        /// When the vehicle reached the spot it stayed at.
        since: DateTime<Utc>,
    },
}

/// Motion detector state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MotionTracker {
    /// Current state.
    pub state: Motion,
    anchor: Option<Fix>,
    away: u32,
}

impl Default for MotionTracker {
    fn default() -> Self {
        MotionTracker {
            state: Motion::Moving,
            anchor: None,
            away: 0,
        }
    }
}

impl MotionTracker {
    /// Feeds a clean fix; returns the state after it.
    pub fn update(
        &mut self,
        fix: &Fix,
        radius_m: f64,
        stop_secs: i64,
        move_m: f64,
        move_fixes: u32,
    ) -> Motion {
        let Some(anchor) = self.anchor else {
            self.anchor = Some(*fix);
            return self.state;
        };
        let d = distance_m((anchor.lat, anchor.lon), (fix.lat, fix.lon));
        match self.state {
            Motion::Moving => {
                if d <= radius_m {
                    if (fix.time - anchor.time).num_seconds() >= stop_secs {
                        self.state = Motion::Stopped { since: anchor.time };
                        self.away = 0;
                    }
                } else {
                    self.anchor = Some(*fix);
                }
            }
            Motion::Stopped { .. } => {
                if d > move_m {
                    self.away += 1;
                    if self.away >= move_fixes {
                        self.state = Motion::Moving;
                        self.anchor = Some(*fix);
                        self.away = 0;
                    }
                } else {
                    self.away = 0;
                }
            }
        }
        self.state
    }

    /// True while moving.
    pub fn moving(&self) -> bool {
        matches!(self.state, Motion::Moving)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fix(s: i64, north_m: f64) -> Fix {
        Fix {
            time: Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap(),
            lat: 52.0 + north_m / 111_195.0,
            lon: 13.0,
            accuracy_m: None,
        }
    }

    #[test]
    fn stops_after_120_s_within_50_m_and_moves_after_two_fixes_beyond_100_m() {
        let mut m = MotionTracker::default();
        let up = |m: &mut MotionTracker, f: Fix| m.update(&f, 50.0, 120, 100.0, 2);
        assert_eq!(up(&mut m, fix(0, 0.0)), Motion::Moving);
        assert_eq!(up(&mut m, fix(60, 20.0)), Motion::Moving);
        assert_eq!(up(&mut m, fix(119, 40.0)), Motion::Moving);
        let since = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        assert_eq!(up(&mut m, fix(120, 10.0)), Motion::Stopped { since });
        assert_eq!(
            up(&mut m, fix(180, 150.0)),
            Motion::Stopped { since },
            "one fix away is noise"
        );
        assert_eq!(
            up(&mut m, fix(200, 5.0)),
            Motion::Stopped { since },
            "back: counter resets"
        );
        assert_eq!(up(&mut m, fix(240, 150.0)), Motion::Stopped { since });
        assert_eq!(up(&mut m, fix(270, 300.0)), Motion::Moving);
    }
}
