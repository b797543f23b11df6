//! What tracking learns from finished visits, shared by every shipment that drives the same
//! link or serves the same stop: link driving times, dwell times, unplanned standstill time
//! per link, and the length of unplanned standstills.
//!
//! Each observation carries the hour of the week it began (UTC), so a lookup can prefer
//! observations made at the same time of day: rush hours and recurring congestion make a
//! link slower at 08:00 than at 11:00. Lookups weigh each observation by how close in time
//! of day and kind of day it was made ([`time_weight`]); with fewer than
//! `history_min_samples` observations the caller falls back to the plan. Hours are UTC: a
//! fleet's local rush hour is a fixed UTC hour apart from daylight saving, which the kernel
//! absorbs.

use super::eta::quantile;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Hour of the week of `t`, 0 = Monday 00:00–01:00 UTC.
pub fn hour_of_week(t: DateTime<Utc>) -> u16 {
    (t.weekday().num_days_from_monday() * 24 + t.hour()) as u16
}

/// One observation and the hour of the week it began (absent in data saved before
/// time-of-day learning; such samples count only for all-hours lookups).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ObsRepr")]
pub struct Obs {
    /// Seconds.
    pub v: f64,
    /// Hour of the week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<u16>,
}

/// Saved form: a bare number (older data) or `{v, how}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ObsRepr {
    Plain(f64),
    Timed { v: f64, how: Option<u16> },
}

impl From<ObsRepr> for Obs {
    fn from(r: ObsRepr) -> Obs {
        match r {
            ObsRepr::Plain(v) => Obs { v, how: None },
            ObsRepr::Timed { v, how } => Obs { v, how },
        }
    }
}

/// Saturday or Sunday.
fn weekend(how: u16) -> bool {
    how >= 5 * 24
}

/// Width of the time-of-day kernel, hours.
const KERNEL_H: f64 = 1.5;

/// Weight of an observation made at hour of week `obs` for a lookup at `how`: a Gaussian
/// kernel on the hour of day (σ = 1.5 h), times 1 for the same day, 0.7 for another day of
/// the same kind (weekday or weekend) and 0.2 across kinds; untimed observations weigh 0.3.
/// It is the smooth form of "medians per hour of the week once there is enough history,
/// falling back to all hours": near observations dominate once they exist, and with none
/// near, the nearest kind of time still outweighs the rest (a Sunday noon link is not
/// judged by weekday rush hours).
pub fn time_weight(obs: Option<u16>, how: Option<u16>) -> f64 {
    let (Some(x), Some(h)) = (obs, how) else {
        return 0.3;
    };
    let gap = f64::from(hour_gap(x % 24, h % 24, 24)) / KERNEL_H;
    let day = if x / 24 == h / 24 {
        1.0
    } else if weekend(x) == weekend(h) {
        0.7
    } else {
        0.2
    };
    day * (-0.5 * gap * gap).exp()
}

/// Weighted quantile: the smallest value whose cumulative weight reaches `q` of the total.
pub fn weighted_quantile(v: &[(f64, f64)], q: f64) -> f64 {
    let mut s: Vec<(f64, f64)> = v
        .iter()
        .copied()
        .filter(|(x, w)| x.is_finite() && *w > 0.0)
        .collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = s.iter().map(|(_, w)| w).sum();
    let mut cum = 0.0;
    for (x, w) in &s {
        cum += w;
        if cum >= q * total - 1e-12 * total {
            return *x;
        }
    }
    s[s.len() - 1].0
}

/// Circular distance between two hours of a cycle of `n` hours.
fn hour_gap(a: u16, b: u16, n: u16) -> u16 {
    let d = a.abs_diff(b) % n;
    d.min(n - d)
}

/// Observations keyed by what they describe (see the `*_key` functions).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    links: BTreeMap<String, Vec<Obs>>,
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

    /// Key of the unplanned standstill time per traversal of a link.
    pub fn halt_key(link: &str) -> String {
        format!("halt:{link}")
    }

    /// Key of what drivers under `rules` did: lengths of breaks (`kind` "break") and rests
    /// ("rest"), and the driving after which they took them ("break_after", "rest_after").
    pub fn pause_key(rules: super::hos::HosRules, kind: &str) -> String {
        format!(
            "hos:{}:{kind}",
            serde_json::to_value(rules)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        )
    }

    /// Key of the durations of unplanned standstills (all links).
    pub const STANDSTILL: &'static str = "standstill";

    /// Records one observation that began at `at`, keeping the newest `max`.
    pub fn record(&mut self, key: String, secs: f64, at: Option<DateTime<Utc>>, max: usize) {
        if !secs.is_finite() {
            return;
        }
        let v = self.links.entry(key).or_default();
        v.push(Obs {
            v: secs,
            how: at.map(hour_of_week),
        });
        if v.len() > max {
            let extra = v.len() - max;
            v.drain(..extra);
        }
    }

    /// All observations of `key` (oldest first).
    pub fn all(&self, key: &str) -> Vec<f64> {
        self.links
            .get(key)
            .map(|v| v.iter().map(|o| o.v).collect())
            .unwrap_or_default()
    }

    /// The observations of `key` with their weight for hour of week `how`, once `min`
    /// exist (see [`time_weight`]).
    pub fn weighted(&self, key: &str, how: Option<u16>, min: usize) -> Option<Vec<(f64, f64)>> {
        let v = self.links.get(key)?;
        (v.len() >= min.max(1)).then(|| v.iter().map(|o| (o.v, time_weight(o.how, how))).collect())
    }

    /// Median of all observations once `min` exist.
    pub fn median(&self, key: &str, min: usize) -> Option<f64> {
        let v = self.all(key);
        (!v.is_empty() && v.len() >= min.max(1)).then(|| quantile(&v, 0.5))
    }

    /// Median weighted by closeness in time of day (see [`time_weight`]).
    pub fn median_at(&self, key: &str, how: Option<u16>, min: usize) -> Option<f64> {
        self.weighted(key, how, min)
            .map(|v| weighted_quantile(&v, 0.5))
    }

    /// Mean and variance weighted by closeness in time of day.
    pub fn mean_var_at(&self, key: &str, how: Option<u16>, min: usize) -> Option<(f64, f64)> {
        let v = self.weighted(key, how, min)?;
        let total: f64 = v.iter().map(|(_, w)| w).sum();
        if total <= 0.0 || total.is_nan() {
            return None;
        }
        let mean = v.iter().map(|(x, w)| x * w).sum::<f64>() / total;
        let var = v.iter().map(|(x, w)| w * (x - mean).powi(2)).sum::<f64>() / total;
        Some((mean, var))
    }

    /// Expected rest of a standstill that has lasted `s` seconds: mean of (d − s) over the
    /// recorded durations d > s once `min` of them exist, with its variance.
    pub fn remaining_after(&self, key: &str, s: f64, min: usize) -> Option<(f64, f64)> {
        let longer: Vec<f64> = self
            .all(key)
            .into_iter()
            .filter(|d| *d > s)
            .map(|d| d - s)
            .collect();
        if longer.is_empty() || longer.len() < min.max(1) {
            return None;
        }
        let n = longer.len() as f64;
        let mean = longer.iter().sum::<f64>() / n;
        let var = longer.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Some((mean, var))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // 2026-03-02 is a Monday.
        Utc.with_ymd_and_hms(2026, 3, 2 + day, hour, 10, 0).unwrap()
    }

    #[test]
    fn median_keeps_the_newest_samples() {
        let mut h = History::default();
        let k = History::key((52.0, 13.0), (52.1, 13.1), 12_345.0);
        assert_eq!(k, "52.000,13.000>52.100,13.100/123");
        h.record(k.clone(), 600.0, None, 3);
        h.record(k.clone(), 700.0, None, 3);
        assert_eq!(h.median(&k, 3), None);
        h.record(k.clone(), 900.0, None, 3);
        h.record(k.clone(), 1000.0, None, 3);
        assert_eq!(
            h.median(&k, 3),
            Some(900.0),
            "oldest dropped: 700, 900, 1000"
        );
    }

    #[test]
    fn lookups_weigh_observations_by_time_of_day() {
        let mut h = History::default();
        let k = "l".to_string();
        assert_eq!(hour_of_week(at(0, 8)), 8);
        assert_eq!(hour_of_week(at(6, 23)), 167);
        // Weekdays at 08:xx are slow (3000), 11:xx fast (1800); nothing on weekends.
        for d in [0, 1, 2] {
            h.record(k.clone(), 3000.0, Some(at(d, 8)), 100);
            h.record(k.clone(), 1800.0, Some(at(d, 11)), 100);
        }
        let at_h = |d, hr| h.median_at(&k, Some(hour_of_week(at(d, hr))), 3);
        assert_eq!(at_h(3, 8), Some(3000.0));
        assert_eq!(at_h(3, 7), Some(3000.0));
        assert_eq!(at_h(3, 11), Some(1800.0));
        assert_eq!(at_h(3, 13), Some(1800.0));
        // Sunday noon: no weekend data, the nearest hours of day still decide.
        assert_eq!(at_h(6, 12), Some(1800.0));
        assert_eq!(h.median_at(&k, Some(3), 7), None, "fewer than min");
        let (m, v) = h
            .mean_var_at(&k, Some(hour_of_week(at(3, 8))), 3)
            .expect("mean");
        assert!(m > 2800.0 && m < 3000.0 && v > 0.0, "{m} {v}");
        // Hours wrap around the week and the day: Sunday 23:xx is next to Monday 00:xx.
        assert_eq!(hour_gap(167, 0, 168), 1);
        assert_eq!(
            time_weight(Some(23), Some(24)),
            0.7 * (-0.5_f64 / 2.25).exp()
        );
        assert_eq!(
            weighted_quantile(&[(1.0, 1.0), (2.0, 1.0), (3.0, 2.0)], 0.5),
            2.0
        );
    }

    #[test]
    fn legacy_bare_numbers_still_load() {
        let h: History =
            serde_json::from_str(r#"{"links":{"a":[1.0,2.0,{"v":3.0,"how":5}]}}"#).expect("legacy");
        assert_eq!(h.all("a"), vec![1.0, 2.0, 3.0]);
        assert_eq!(
            h.median_at("a", Some(5), 1),
            Some(3.0),
            "the timed one weighs most"
        );
    }

    #[test]
    fn remaining_standstill_is_the_mean_excess_of_longer_ones() {
        let mut h = History::default();
        for d in [600.0, 1200.0, 1800.0, 3000.0] {
            h.record(History::STANDSTILL.into(), d, None, 100);
        }
        assert_eq!(
            h.remaining_after(History::STANDSTILL, 900.0, 2),
            Some((1100.0, 560_000.0))
        );
        assert_eq!(h.remaining_after(History::STANDSTILL, 2000.0, 2), None);
    }
}
