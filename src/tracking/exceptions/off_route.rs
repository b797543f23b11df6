//! Off-route detection: counted in fixes, not time alone, because one bad fix far from the
//! road is common and a detour is a sequence of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Off-route counter state for one shipment.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OffRoute {
    /// Firing now.
    pub firing: bool,
    far: u32,
    far_since: Option<DateTime<Utc>>,
    near: u32,
}

/// Thresholds (see `TrackingConfig`).
#[derive(Clone, Copy, Debug)]
pub struct OffRouteLimits {
    /// Distance that counts as far, metres (already max'ed with accuracy).
    pub far_m: f64,
    /// Far fixes needed.
    pub fixes: u32,
    /// Span of those fixes, seconds.
    pub secs: i64,
    /// Distance that counts as back on route.
    pub clear_m: f64,
    /// Near fixes needed to clear.
    pub clear_fixes: u32,
}

impl OffRoute {
    /// Feeds one clean fix at `off_m` from the route. `counted` is false near the origin or a
    /// stop and while stopped: such fixes neither count towards nor against firing.
    /// Returns `Some(true)` when it fires, `Some(false)` when it clears.
    pub fn update(
        &mut self,
        now: DateTime<Utc>,
        off_m: f64,
        counted: bool,
        l: OffRouteLimits,
    ) -> Option<bool> {
        if self.firing {
            if off_m < l.clear_m {
                self.near += 1;
                if self.near >= l.clear_fixes {
                    *self = OffRoute::default();
                    return Some(false);
                }
            } else {
                self.near = 0;
            }
            return None;
        }
        if !counted {
            return None;
        }
        if off_m > l.far_m {
            self.far += 1;
            let since = *self.far_since.get_or_insert(now);
            if self.far >= l.fixes && (now - since).num_seconds() >= l.secs {
                self.firing = true;
                self.near = 0;
                return Some(true);
            }
        } else {
            self.far = 0;
            self.far_since = None;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const L: OffRouteLimits = OffRouteLimits {
        far_m: 150.0,
        fixes: 3,
        secs: 90,
        clear_m: 75.0,
        clear_fixes: 2,
    };

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn fires_on_three_far_fixes_over_90_s_and_clears_on_two_near() {
        let mut o = OffRoute::default();
        assert_eq!(o.update(t(0), 200.0, true, L), None);
        assert_eq!(o.update(t(30), 200.0, true, L), None);
        assert_eq!(
            o.update(t(60), 200.0, true, L),
            None,
            "3 fixes but only 60 s"
        );
        assert_eq!(o.update(t(90), 200.0, true, L), Some(true));
        assert_eq!(
            o.update(t(120), 100.0, true, L),
            None,
            "100 m is not yet back"
        );
        assert_eq!(o.update(t(150), 50.0, true, L), None);
        assert_eq!(o.update(t(180), 90.0, true, L), None, "near count resets");
        assert_eq!(o.update(t(210), 50.0, true, L), None);
        assert_eq!(o.update(t(240), 10.0, true, L), Some(false));
    }

    #[test]
    fn a_single_outlier_or_suppressed_fixes_never_fire() {
        let mut o = OffRoute::default();
        assert_eq!(o.update(t(0), 900.0, true, L), None);
        assert_eq!(o.update(t(30), 10.0, true, L), None);
        assert_eq!(o.update(t(60), 900.0, true, L), None);
        assert_eq!(o.update(t(90), 900.0, true, L), None);
        assert_eq!(
            o.update(t(120), 900.0, true, L),
            None,
            "3 far fixes but only 60 s since 60"
        );
        let mut s = OffRoute::default();
        for i in 0..10 {
            assert_eq!(s.update(t(i * 30), 900.0, false, L), None);
        }
    }
}
