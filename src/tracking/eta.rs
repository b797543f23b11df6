//! ETA building blocks: link driving times along the route, the live pace ratio measured on
//! moving time only, and the P10–P90 band from the observed (standardized) error per horizon.
//! The walk that puts them together with dwell, breaks and halts is `predict.rs`.
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

/// Live pace: actual / expected moving time, exponentially forgetting old driving. Only
/// intervals whose own pace is plausible for a driver count: a crawl through an incident or
/// a jam (pace 3–4) says nothing about how this driver drives the rest of the route, and
/// letting it in made far ETAs swing with every slow-down.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Pace {
    actual_s: f64,
    expected_s: f64,
    moving_s: f64,
}

impl Pace {
    /// Adds one moving interval: `dt_s` actual seconds for what the model expected to take
    /// `expected_s`, unless its own pace lies outside `(lo, hi)`.
    pub fn add(&mut self, dt_s: f64, expected_s: f64, memory_s: f64, (lo, hi): (f64, f64)) {
        let own = dt_s / expected_s.max(1e-9);
        if !(lo..=hi).contains(&own) {
            return;
        }
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

/// Band before `band_min_samples` errors are known: P10/P90 of the standardized error
/// (actual − predicted) / σ, leaning late (delays are longer than gains).
pub const PRIOR_Z: (f64, f64) = (-1.3, 1.6);

/// Routes whose errors are kept apart; beyond it the least recently updated is dropped.
pub const MAX_ROUTES: usize = 1000;

/// Share of arrivals the P10–P90 band may miss.
const TARGET_MISS: f64 = 0.2;
/// Step of the miss-rate feedback per scored prediction (see [`ErrorModel`]).
const ADAPT_STEP: f64 = 0.003;

/// Standardized errors of one route (or of all), per horizon bucket.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(from = "SamplesRepr")]
struct Samples {
    /// In arrival order (the oldest is dropped first).
    z: Vec<Vec<f64>>,
    /// Update counter at the last record (for eviction).
    seen: u64,
    /// Tail share per bucket the band is cut at (both tails together), adapted to the misses.
    alpha: Vec<f64>,
    /// `z` sorted, kept in step with it: the band is read on every fix, a record comes
    /// only with an arrival.
    #[serde(skip)]
    sorted: Vec<Vec<f64>>,
}

/// Saved form of [`Samples`] (the sorted copy is rebuilt on load).
#[derive(Deserialize)]
struct SamplesRepr {
    #[serde(default)]
    z: Vec<Vec<f64>>,
    #[serde(default)]
    seen: u64,
    #[serde(default)]
    alpha: Vec<f64>,
}

impl From<SamplesRepr> for Samples {
    fn from(r: SamplesRepr) -> Samples {
        let sorted =
            r.z.iter()
                .map(|v| {
                    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                    s.sort_by(f64::total_cmp);
                    s
                })
                .collect();
        Samples {
            z: r.z,
            seen: r.seen,
            alpha: r.alpha,
            sorted,
        }
    }
}

impl Samples {
    fn push(&mut self, b: usize, z: f64, max: usize, seen: u64) {
        if self.z.len() < BUCKETS.len() {
            self.z.resize(BUCKETS.len(), Vec::new());
        }
        if self.sorted.len() < BUCKETS.len() {
            self.sorted.resize(BUCKETS.len(), Vec::new());
        }
        let (v, s) = (&mut self.z[b], &mut self.sorted[b]);
        v.push(z);
        let at = s.partition_point(|x| *x < z);
        s.insert(at, z);
        while v.len() > max.max(1) {
            let old = v.remove(0);
            let at = s.partition_point(|x| *x < old);
            if s.get(at) == Some(&old) {
                s.remove(at);
            }
        }
        self.seen = seen;
    }

    fn quantiles(&self, b: usize, min: usize) -> Option<(f64, f64)> {
        let v = self.sorted.get(b).filter(|v| v.len() >= min.max(1))?;
        let a = self.alpha.get(b).copied().unwrap_or(TARGET_MISS);
        Some((
            sorted_quantile(v, a / 2.0),
            sorted_quantile(v, 1.0 - a / 2.0),
        ))
    }

    /// Moves the tail share towards the target: narrower after hits, wider after misses.
    fn adapt(&mut self, b: usize, missed: bool) {
        if self.alpha.len() < BUCKETS.len() {
            self.alpha.resize(BUCKETS.len(), TARGET_MISS);
        }
        let a = &mut self.alpha[b];
        *a = (*a + ADAPT_STEP * (TARGET_MISS - f64::from(u8::from(missed)))).clamp(0.01, 0.6);
    }
}

/// Observed ETA errors per horizon bucket, standardized by the spread σ the model gave the
/// prediction (so a prediction with a stop or a break ahead gets a wider band than one on an
/// open road, while each bucket's band is still calibrated on what really happened). Kept per
/// route as well as over all routes: how wrong the model is differs between a regional round
/// and a two-day long haul, and one shared band would be too wide for one and too narrow for
/// the other. A route's own band is used once it has `band_min_samples` in the bucket.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorModel {
    /// All routes. (Data saved before σ existed held seconds under another name and is
    /// dropped on load.)
    #[serde(default)]
    all: Samples,
    /// Per route key.
    #[serde(default)]
    routes: BTreeMap<String, Samples>,
    #[serde(default)]
    counter: u64,
}

impl ErrorModel {
    /// Records an error (actual − ETA) observed `horizon_s` ahead on `route` for a prediction
    /// of spread `sigma_s` whose published band was `band` (P10 and P90 offsets from the
    /// ETA; it missed when the error falls outside).
    pub fn record(
        &mut self,
        route: &str,
        horizon_s: i64,
        err_s: f64,
        sigma_s: f64,
        band: (f64, f64),
        max: usize,
    ) {
        let Some(b) = bucket_of(horizon_s) else {
            return;
        };
        if !(sigma_s.is_finite() && sigma_s > 0.0 && err_s.is_finite()) {
            return;
        }
        self.counter += 1;
        let z = err_s / sigma_s;
        let missed = !(band.0 <= err_s && err_s <= band.1);
        self.all.push(b, z, max, self.counter);
        self.all.adapt(b, missed);
        if !self.routes.contains_key(route) && self.routes.len() >= MAX_ROUTES {
            let oldest = self
                .routes
                .iter()
                .min_by_key(|(_, s)| s.seen)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.routes.remove(&k);
            }
        }
        let r = self.routes.entry(route.to_string()).or_default();
        r.push(b, z, max, self.counter);
        r.adapt(b, missed);
    }

    /// (P10, P90) offsets to add to an ETA `horizon_s` ahead on `route` whose spread is
    /// `sigma_s`: the route's empirical standardized quantiles in the bucket once `min`
    /// samples exist, else those of all routes, else [`PRIOR_Z`]; cut at the tail share the
    /// misses have adapted (see [`ErrorModel`]). The band always contains the ETA.
    pub fn band(&self, route: &str, horizon_s: i64, sigma_s: f64, min: usize) -> (f64, f64) {
        let (lo, hi) = bucket_of(horizon_s)
            .and_then(|b| {
                self.routes
                    .get(route)
                    .and_then(|s| s.quantiles(b, min))
                    .or_else(|| self.all.quantiles(b, min))
            })
            .unwrap_or(PRIOR_Z);
        ((lo * sigma_s).min(0.0), (hi * sigma_s).max(0.0))
    }
}

/// Linear-interpolated quantile of samples already sorted ascending (empty: 0).
fn sorted_quantile(s: &[f64], q: f64) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    match s.get(i + 1) {
        Some(n) => s[i] + (n - s[i]) * f,
        None => s[i],
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
    sorted_quantile(&s, q)
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
    fn pace_skips_incidents_is_clamped_and_waits_for_enough_moving_time() {
        let mut p = Pace::default();
        let range = (0.6, 2.0);
        p.add(100.0, 50.0, 1800.0, range);
        assert_eq!(p.ratio(300.0, 0.6, 2.0), 1.0, "not enough moving time yet");
        p.add(300.0, 250.0, 1800.0, range);
        let r = p.ratio(300.0, 0.6, 2.0);
        assert!(r > 1.3 && r < 1.4, "{r}");
        p.add(600.0, 100.0, 1800.0, range);
        assert_eq!(
            p.ratio(300.0, 0.6, 2.0),
            r,
            "a pace-6 crawl is an incident: skipped"
        );
        p.add(600.0, 310.0, 1800.0, range);
        assert_eq!(p.ratio(300.0, 0.6, 1.6), 1.6, "clamped");
    }

    #[test]
    fn error_band_scales_with_sigma_per_route_and_buckets_are_inclusive() {
        let mut e = ErrorModel::default();
        assert_eq!(e.band("r", 1200, 100.0, 3), (-130.0, 160.0), "prior");
        // z = −1, 0, 1, 2, 10, each inside the band it was published with.
        for x in [-60.0, 0.0, 60.0, 120.0, 600.0] {
            e.record("r", 1200, x, 60.0, (-1e9, 1e9), 100);
        }
        // The hits narrowed the tail share below 0.2: the band sits inside P10–P90 (−60, 680).
        let (lo, hi) = e.band("r", 1200, 100.0, 3);
        assert!(
            lo > -100.0 && lo < -50.0 && hi > 600.0 && hi < 1000.0,
            "{lo} {hi}"
        );
        assert_eq!(e.band("other", 1200, 100.0, 3), (lo, hi), "all routes");
        // Its own errors, z = 0, 1, 2, all missed: the band holds the ETA (lo clamped to 0).
        for x in [0.0, 6.0, 12.0] {
            e.record("other", 1200, x, 6.0, (100.0, 100.0), 100);
        }
        let (lo2, hi2) = e.band("other", 1200, 100.0, 3);
        assert!(lo2 == 0.0 && hi2 > 150.0 && hi2 <= 200.0, "{lo2} {hi2}");
        assert_eq!(
            e.band("r", 7000, 100.0, 3),
            (-130.0, 160.0),
            "other bucket: prior"
        );
        e.record("r", 1200, 5.0, 0.0, (0.0, 0.0), 100);
        assert_eq!(e.all.z[1].len(), 8, "σ = 0 is not recorded");
        assert_eq!(bucket_of(900), Some(0));
        assert_eq!(bucket_of(901), Some(1));
        assert_eq!(bucket_of(28_801), None);
    }

    #[test]
    fn the_tail_share_follows_the_misses() {
        let mut s = Samples::default();
        for _ in 0..100 {
            s.adapt(1, true);
        }
        let wide = s.alpha[1];
        assert!(
            wide < TARGET_MISS,
            "misses cut the tails further out: {wide}"
        );
        for _ in 0..1000 {
            s.adapt(1, false);
        }
        assert!(s.alpha[1] > wide, "hits narrow the band again");
        assert!(s.alpha[1] <= 0.6);
    }

    #[test]
    fn the_sorted_copy_follows_the_window_and_survives_a_save() {
        let mut e = ErrorModel::default();
        for x in [5.0, 1.0, 3.0, 2.0, 4.0] {
            e.record("r", 1200, x, 1.0, (-9.0, 9.0), 3);
        }
        // Window: 3, 2, 4.
        assert_eq!(e.all.z[1], vec![3.0, 2.0, 4.0]);
        assert_eq!(e.all.sorted[1], vec![2.0, 3.0, 4.0]);
        let back: ErrorModel =
            serde_json::from_str(&serde_json::to_string(&e).expect("json")).expect("load");
        assert_eq!(back, e);
        assert!(!serde_json::to_string(&e).expect("json").contains("sorted"));
    }

    #[test]
    fn the_least_recently_updated_route_is_dropped_beyond_the_cap() {
        let mut e = ErrorModel::default();
        for i in 0..=MAX_ROUTES {
            e.record(&format!("r{i}"), 1200, 1.0, 1.0, (0.0, 2.0), 10);
        }
        assert_eq!(e.routes.len(), MAX_ROUTES);
        assert!(!e.routes.contains_key("r0") && e.routes.contains_key("r1000"));
    }
}
