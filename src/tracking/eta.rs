//! ETA model: link travel times (planned, or the historical median of the link once known)
//! scaled by a live pace ratio measured on moving time only, plus dwell and window waits;
//! a P10–P90 band from the observed error distribution per horizon.
//!
//! Current speed alone is never extrapolated: on real bus data that was 4× worse than link
//! medians (it is kept only as the evaluation's naive baseline).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Travel time model of one shipment's route: links between consecutive stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Links {
    /// Along-route position of each link's end (= its stop), metres; link 0 starts at 0.
    pub ends_m: Vec<f64>,
    /// Seconds per metre on each link.
    pub spm: Vec<f64>,
}

impl Links {
    /// Expected travel time (s) between two along-route positions at base pace.
    pub fn base_time(&self, from_m: f64, to_m: f64) -> f64 {
        if to_m <= from_m {
            return 0.0;
        }
        let mut t = 0.0;
        let mut start = 0.0;
        for (end, spm) in self.ends_m.iter().zip(&self.spm) {
            let a = from_m.max(start);
            let b = to_m.min(*end);
            if b > a {
                t += (b - a) * spm;
            }
            start = *end;
        }
        // Beyond the last stop (the route's tail): the last link's pace.
        if to_m > start {
            let spm = self.spm.last().copied().unwrap_or(0.0);
            t += (to_m - from_m.max(start)) * spm;
        }
        t
    }
}

/// Live pace: actual / expected moving time, exponentially forgetting old driving.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Pace {
    actual_s: f64,
    expected_s: f64,
    moving_s: f64,
}

impl Pace {
    /// Adds one moving interval: `dt_s` actual seconds for what the model expected to take
    /// `expected_s`.
    pub fn add(&mut self, dt_s: f64, expected_s: f64, memory_s: f64) {
        let keep = (-dt_s / memory_s.max(1.0)).exp();
        self.actual_s = self.actual_s * keep + dt_s;
        self.expected_s = self.expected_s * keep + expected_s;
        self.moving_s += dt_s;
    }

    /// The clamped ratio (1.0 until enough moving time was seen).
    pub fn ratio(&self, min_moving_s: f64, lo: f64, hi: f64) -> f64 {
        if self.moving_s < min_moving_s || self.expected_s <= 0.0 {
            return 1.0;
        }
        (self.actual_s / self.expected_s).clamp(lo, hi)
    }
}

/// Observed link travel times, keyed by the link's geometry, shared by every shipment that
/// drives the same link.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    links: BTreeMap<String, Vec<f64>>,
}

impl History {
    /// Key of a link from its end points and length (rounded, so re-posted routes share it).
    pub fn key(from: (f64, f64), to: (f64, f64), len_m: f64) -> String {
        format!(
            "{:.3},{:.3}>{:.3},{:.3}/{:.0}",
            from.0,
            from.1,
            to.0,
            to.1,
            (len_m / 100.0).round()
        )
    }

    /// Key of the dwell time at a stop location (rounded like link keys).
    pub fn dwell_key(lat: f64, lon: f64) -> String {
        format!("dwell@{lat:.3},{lon:.3}")
    }

    /// Records one observed travel (or dwell) time, keeping the newest `max`.
    pub fn record(&mut self, key: String, secs: f64, max: usize) {
        let v = self.links.entry(key).or_default();
        v.push(secs);
        if v.len() > max {
            let extra = v.len() - max;
            v.drain(..extra);
        }
    }

    /// Median travel time once `min` samples exist.
    pub fn median(&self, key: &str, min: usize) -> Option<f64> {
        let v = self.links.get(key)?;
        (v.len() >= min.max(1)).then(|| quantile(v, 0.5))
    }
}

/// Horizon buckets of the error model (and of the evaluation), upper bounds in seconds.
pub const BUCKETS: [(&str, i64); 4] = [
    ("0-15m", 900),
    ("15-60m", 3600),
    ("1-2h", 7200),
    ("2-8h", 28_800),
];

/// Index of the bucket of a horizon (seconds ahead), `None` beyond 8 h or at/after arrival.
pub fn bucket_of(horizon_s: i64) -> Option<usize> {
    if horizon_s <= 0 {
        return None;
    }
    BUCKETS.iter().position(|(_, hi)| horizon_s <= *hi)
}

/// Observed ETA errors (actual − predicted, seconds) per horizon bucket.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorModel {
    buckets: Vec<Vec<f64>>,
}

impl ErrorModel {
    /// Records an error observed `horizon_s` ahead.
    pub fn record(&mut self, horizon_s: i64, err_s: f64, max: usize) {
        let Some(b) = bucket_of(horizon_s) else {
            return;
        };
        if self.buckets.len() < BUCKETS.len() {
            self.buckets.resize(BUCKETS.len(), Vec::new());
        }
        let v = &mut self.buckets[b];
        v.push(err_s);
        if v.len() > max {
            let extra = v.len() - max;
            v.drain(..extra);
        }
    }

    /// (P10, P90) offsets to add to a P50 ETA `horizon_s` ahead. Empirical once `min`
    /// samples exist in the bucket; before that a prior that widens with the horizon and
    /// leans late (delays are longer than gains).
    pub fn band(&self, horizon_s: i64, min: usize) -> (f64, f64) {
        let h = horizon_s.max(0) as f64;
        if let Some(v) = bucket_of(horizon_s).and_then(|b| self.buckets.get(b)) {
            if v.len() >= min.max(1) {
                return (quantile(v, 0.1).min(0.0), quantile(v, 0.9).max(0.0));
            }
        }
        (-(60.0 + 0.10 * h), 120.0 + 0.25 * h)
    }
}

/// Linear-interpolated quantile of unsorted samples (empty: 0).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    match s.get(i + 1) {
        Some(n) => s[i] + (n - s[i]) * f,
        None => s[i],
    }
}

/// Seconds as a chrono duration (rounded, saturating at ±100 years).
pub fn secs(s: f64) -> chrono::Duration {
    chrono::Duration::seconds(s.round().clamp(-3.2e9, 3.2e9) as i64)
}

/// `a + s` seconds.
pub fn add_secs(a: DateTime<Utc>, s: f64) -> DateTime<Utc> {
    a + secs(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_time_integrates_per_link_pace() {
        // Link 0: 0..1000 m at 0.1 s/m; link 1: 1000..3000 m at 0.05 s/m.
        let l = Links {
            ends_m: vec![1000.0, 3000.0],
            spm: vec![0.1, 0.05],
        };
        assert_eq!(l.base_time(0.0, 3000.0), 200.0);
        assert_eq!(l.base_time(500.0, 2000.0), 100.0);
        assert_eq!(l.base_time(2000.0, 1000.0), 0.0);
        assert_eq!(
            l.base_time(2000.0, 4000.0),
            100.0,
            "tail beyond the last stop"
        );
    }

    #[test]
    fn pace_is_clamped_and_waits_for_enough_moving_time() {
        let mut p = Pace::default();
        p.add(100.0, 50.0, 1800.0);
        assert_eq!(p.ratio(300.0, 0.6, 2.0), 1.0);
        p.add(300.0, 250.0, 1800.0);
        let r = p.ratio(300.0, 0.6, 2.0);
        assert!(r > 1.3 && r < 1.4, "{r}");
        p.add(600.0, 100.0, 1800.0);
        assert_eq!(p.ratio(300.0, 0.6, 2.0), 2.0);
    }

    #[test]
    fn history_median_and_error_band() {
        let mut h = History::default();
        let k = History::key((52.0, 13.0), (52.1, 13.1), 12_345.0);
        assert_eq!(k, "52.000,13.000>52.100,13.100/123");
        h.record(k.clone(), 600.0, 3);
        h.record(k.clone(), 700.0, 3);
        assert_eq!(h.median(&k, 3), None);
        h.record(k.clone(), 900.0, 3);
        h.record(k.clone(), 1000.0, 3);
        assert_eq!(
            h.median(&k, 3),
            Some(900.0),
            "oldest dropped: 700, 900, 1000"
        );
        let mut e = ErrorModel::default();
        assert_eq!(e.band(1200, 3), (-180.0, 420.0));
        for x in [-60.0, 0.0, 60.0, 120.0, 600.0] {
            e.record(1200, x, 100);
        }
        let (lo, hi) = e.band(1200, 3);
        assert!(
            (lo + 36.0).abs() < 1e-9 && (hi - 408.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert_eq!(bucket_of(900), Some(0));
        assert_eq!(bucket_of(901), Some(1));
        assert_eq!(bucket_of(28_801), None);
    }
}
