//! How drivers live the driving-time rules, learned from the pauses they took: after how
//! much driving they break or rest (a little before the limit, and not always at the same
//! point) and for how long (a little longer than the minimum).
//!
//! The ETA walk plans a pause in for certain once the driving passes the latest point
//! drivers were seen to pause at (never past the rule's limit), and before that adds it in
//! proportion to the chance that it comes before the stop — the share of observed pauses
//! taken at or below that driving, given that none has been taken yet. A stop just around
//! the usual break point thus gets an ETA between "before" and "after the break" and a band
//! that spans both, instead of a coin-flip error of a whole break.

use super::history::History;
use super::hos::{HosLimits, HosRules};

/// Where drivers pause: the observed points (sorted), or the prior when too few are known.
#[derive(Clone, Debug, PartialEq)]
pub struct PausePoints {
    /// Observed driving (s) at which the pause was taken, sorted, each at most `limit`.
    points: Vec<f64>,
    /// The rule's limit.
    limit: f64,
    /// Prior: pauses spread evenly over the last `early` seconds before the limit.
    early: f64,
}

impl PausePoints {
    /// From observations (`None` or fewer than `min`: the prior).
    pub fn new(mut observed: Vec<f64>, limit: f64, early: f64, min: usize) -> PausePoints {
        observed.retain(|v| v.is_finite());
        if observed.len() < min.max(1) {
            observed.clear();
        }
        for v in &mut observed {
            *v = v.min(limit);
        }
        observed.sort_by(f64::total_cmp);
        PausePoints {
            points: observed,
            limit,
            early: early.max(0.0),
        }
    }

    /// Share of pauses taken at or before `x` seconds of driving.
    pub fn cdf(&self, x: f64) -> f64 {
        if x >= self.latest() {
            return 1.0;
        }
        if self.points.is_empty() {
            let lo = self.limit - self.early;
            return ((x - lo) / self.early.max(1.0)).clamp(0.0, 1.0);
        }
        self.points.partition_point(|p| *p <= x) as f64 / self.points.len() as f64
    }

    /// The latest point a pause is expected at: past it, it is certain.
    pub fn latest(&self) -> f64 {
        self.points
            .last()
            .copied()
            .unwrap_or(self.limit)
            .min(self.limit)
    }

    /// Chance the pause comes by `x` given it had not come by `from`.
    pub fn chance(&self, from: f64, x: f64) -> f64 {
        let f0 = self.cdf(from);
        if f0 >= 1.0 {
            return 1.0;
        }
        ((self.cdf(x) - f0) / (1.0 - f0)).clamp(0.0, 1.0)
    }
}

/// The rules as drivers live them.
#[derive(Clone, Debug, PartialEq)]
pub struct Habits {
    /// Limits with the learned pause lengths, and the latest learned pause points as the
    /// driving limits (the walk's clock takes the pause for certain there).
    pub lim: HosLimits,
    /// Where breaks are taken (driving since the last break).
    pub breaks: PausePoints,
    /// Where daily rests are taken (driving that day).
    pub rests: PausePoints,
}

impl Habits {
    /// Learned from `history` for drivers under `rules` with limits `lim`.
    pub fn learn(
        rules: HosRules,
        lim: HosLimits,
        history: &History,
        early_s: f64,
        min: usize,
    ) -> Habits {
        let key = |kind| History::pause_key(rules, kind);
        let breaks = PausePoints::new(
            history.all(&key("break_after")),
            lim.break_after_s,
            early_s,
            min,
        );
        let rests = PausePoints::new(
            history.all(&key("rest_after")),
            lim.daily_drive_s,
            early_s,
            min,
        );
        let lengths = lim.with_lengths(
            history.median(&key("break"), min),
            history.median(&key("rest"), min),
        );
        Habits {
            lim: HosLimits {
                break_after_s: breaks.latest(),
                daily_drive_s: rests.latest(),
                ..lengths
            },
            breaks,
            rests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 3600.0;

    #[test]
    fn the_prior_spreads_pauses_over_the_hour_before_the_limit() {
        let p = PausePoints::new(vec![1.0, 2.0], 4.5 * H, H, 3);
        assert_eq!(p.cdf(3.0 * H), 0.0);
        assert_eq!(p.cdf(4.0 * H), 0.5);
        assert_eq!(p.cdf(4.5 * H), 1.0);
        assert_eq!(p.latest(), 4.5 * H);
        // Already driven 4 h without a break: by 4.25 h half of the rest of the chance.
        assert_eq!(p.chance(4.0 * H, 4.25 * H), 0.5);
    }

    #[test]
    fn observed_points_replace_the_prior_and_never_pass_the_limit() {
        let p = PausePoints::new(vec![4.2 * H, 4.0 * H, 5.0 * H, 4.4 * H], 4.5 * H, H, 3);
        assert_eq!(p.cdf(3.9 * H), 0.0);
        assert_eq!(p.cdf(4.2 * H), 0.5);
        assert_eq!(p.latest(), 4.5 * H, "5 h is clamped to the limit");
        let q = PausePoints::new(vec![4.2 * H, 4.0 * H, 4.4 * H], 4.5 * H, H, 3);
        assert_eq!(q.latest(), 4.4 * H);
        assert_eq!(q.chance(4.3 * H, 4.35 * H), 0.0);
        assert_eq!(q.chance(4.3 * H, 4.4 * H), 1.0);
    }

    #[test]
    fn habits_take_learned_lengths_and_latest_points() {
        let mut h = History::default();
        let lim = HosRules::Eu.limits().expect("eu");
        for (after, len) in [(4.0, 3000.0), (4.2, 3300.0), (4.3, 2900.0)] {
            h.record(
                History::pause_key(HosRules::Eu, "break_after"),
                after * H,
                None,
                10,
            );
            h.record(History::pause_key(HosRules::Eu, "break"), len, None, 10);
        }
        let hb = Habits::learn(HosRules::Eu, lim, &h, H, 3);
        assert_eq!(hb.lim.break_after_s, 4.3 * H);
        assert_eq!(hb.lim.break_len_s, 3000.0);
        assert_eq!(hb.lim.daily_drive_s, 9.0 * H, "no rests seen: the rule");
        assert_eq!(hb.rests.cdf(8.5 * H), 0.5, "prior");
    }
}
