//! Fix cleaning: which fixes the tracking rules may see at all.
//!
//! Invalid fixes, the (0, 0) placeholder, fixes not newer than the last clean one (out of
//! order, duplicates, log replays) and fixes implying an impossible speed (GPS jumps) are
//! set aside. Rejecting replays here is also what makes re-processing a log batch after a
//! crash harmless.

use super::projection::distance_m;
use super::shipment::valid_coord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A clean fix, as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Fix (event) time.
    pub time: DateTime<Utc>,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Horizontal accuracy, metres, when known.
    pub accuracy_m: Option<f64>,
}

/// Why a fix was set aside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The device marked it invalid, or the coordinates are not a position.
    Invalid,
    /// Not newer than the last clean fix.
    OutOfOrder,
    /// Implies a speed above `max_speed_mps` from the last clean fix.
    Jump,
}

/// Per-device cleaning state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Cleaner {
    last: Option<Fix>,
    jumps_in_row: u32,
}

impl Cleaner {
    /// Accepts or sets aside `fix` (valid = the device's own validity flag).
    pub fn check(
        &mut self,
        fix: Fix,
        valid: bool,
        max_speed_mps: f64,
        max_jumps: u32,
    ) -> Result<Fix, Rejection> {
        if !valid || !valid_coord(fix.lat, fix.lon) {
            return Err(Rejection::Invalid);
        }
        if let Some(last) = self.last {
            if fix.time <= last.time {
                return Err(Rejection::OutOfOrder);
            }
            let dt = (fix.time - last.time).num_milliseconds() as f64 / 1000.0;
            let d = distance_m((last.lat, last.lon), (fix.lat, fix.lon));
            if d / dt > max_speed_mps && self.jumps_in_row < max_jumps {
                self.jumps_in_row += 1;
                return Err(Rejection::Jump);
            }
        }
        self.jumps_in_row = 0;
        self.last = Some(fix);
        Ok(fix)
    }

    /// The last clean fix.
    pub fn last(&self) -> Option<Fix> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fix(s: i64, lat: f64, lon: f64) -> Fix {
        Fix {
            time: Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap(),
            lat,
            lon,
            accuracy_m: None,
        }
    }

    #[test]
    fn sets_aside_invalid_zero_out_of_order_and_jumps() {
        let mut c = Cleaner::default();
        assert_eq!(
            c.check(fix(0, 52.0, 13.0), false, 45.0, 3),
            Err(Rejection::Invalid)
        );
        assert_eq!(
            c.check(fix(0, 0.0, 0.0), true, 45.0, 3),
            Err(Rejection::Invalid)
        );
        assert!(c.check(fix(0, 52.0, 13.0), true, 45.0, 3).is_ok());
        assert_eq!(
            c.check(fix(0, 52.0, 13.0), true, 45.0, 3),
            Err(Rejection::OutOfOrder)
        );
        // 0.01° lat ≈ 1112 m in 30 s = 37 m/s: fine. 0.02° in 30 s = 74 m/s: a jump.
        assert!(c.check(fix(30, 52.01, 13.0), true, 45.0, 3).is_ok());
        assert_eq!(
            c.check(fix(60, 52.03, 13.0), true, 45.0, 3),
            Err(Rejection::Jump)
        );
        assert!(c.check(fix(90, 52.011, 13.0), true, 45.0, 3).is_ok());
        assert_eq!(c.last().map(|f| f.lat), Some(52.011));
    }

    #[test]
    fn a_wrong_anchor_is_replaced_after_consecutive_jumps() {
        let mut c = Cleaner::default();
        assert!(c.check(fix(0, 10.0, 10.0), true, 45.0, 3).is_ok()); // the jump came first
        for s in 1..=3 {
            assert_eq!(
                c.check(fix(s * 10, 52.0, 13.0), true, 45.0, 3),
                Err(Rejection::Jump)
            );
        }
        assert!(c.check(fix(40, 52.0, 13.0), true, 45.0, 3).is_ok());
        assert!(c.check(fix(50, 52.0001, 13.0), true, 45.0, 3).is_ok());
    }
}
