//! Scoring of ETA samples per horizon bucket and of late alerts.

use crate::tracking::eta::{bucket_of, quantile, BUCKETS};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One prediction scored against the actual arrival.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Actual arrival − prediction time, seconds.
    pub horizon_s: i64,
    /// Engine ETA − actual arrival, seconds (+ = predicted later than it was).
    pub err_s: i64,
    /// Naive baseline ETA − actual arrival.
    pub naive_err_s: i64,
    /// Schedule + delay baseline ETA − actual arrival.
    pub schedule_err_s: i64,
    /// The actual arrival fell inside the engine's P10–P90 band.
    pub in_band: bool,
    /// P90 − P10 of the engine's band, seconds.
    pub band_width_s: i64,
}

/// What happened at one stop of one trip (for the alert metrics).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopOutcome {
    /// The arrival really was late (after window end/planned + `late_min`).
    pub late: bool,
    /// First late alert before the arrival, if any.
    pub first_alert: Option<DateTime<Utc>>,
    /// When the stop became late in reality (window end/planned + `late_min`).
    pub late_at: DateTime<Utc>,
    /// Late alerts that fired again after resolving.
    pub flaps: u32,
}

/// Error statistics of one estimator in one bucket.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Stats {
    /// Mean absolute error, seconds.
    pub mae_s: f64,
    /// Mean error (+ = ETAs too late), seconds.
    pub bias_s: f64,
    /// 90th percentile of the absolute error, seconds.
    pub p90_s: f64,
    /// Share of predictions whose actual arrival fell within the band (−15/+30 min of the
    /// ETA below 2 h ahead, −30/+60 min beyond).
    pub within_band: f64,
}

/// One horizon bucket.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Bucket {
    /// `0-15m`, `15-60m`, `1-2h`, `2-8h`.
    pub horizon: &'static str,
    /// Predictions scored.
    pub n: usize,
    #[serde(flatten)]
    pub engine: Stats,
    /// Share of actual arrivals inside the engine's P10–P90 band (0.8 when it keeps its
    /// promise).
    pub band_coverage: f64,
    /// Median width of that band (P90 − P10), seconds.
    pub band_width_s: f64,
    /// Remaining distance / current speed.
    pub naive: Stats,
    /// Planned arrival + the delay at the last passed stop (what operators use).
    pub schedule: Stats,
}

/// Late-alert quality.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Alerts {
    /// Alerted stops that were late / alerted stops (null without alerts).
    pub precision: Option<f64>,
    /// Late stops alerted before arrival / late stops (null without late stops).
    pub recall: Option<f64>,
    /// Median of (moment the stop became late − first alert) over true alerts, seconds:
    /// how long before the customer would have noticed it the alert came.
    pub lead_s: Option<f64>,
    /// Re-fires after a resolve, summed over stops.
    pub flaps: u32,
}

/// The whole report (`--json` prints it).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Per horizon bucket.
    pub buckets: Vec<Bucket>,
    /// Late alerts.
    pub alerts: Alerts,
}

fn stats(errs: &[(i64, i64)]) -> Stats {
    // (horizon, err) pairs.
    if errs.is_empty() {
        return Stats {
            mae_s: 0.0,
            bias_s: 0.0,
            p90_s: 0.0,
            within_band: 0.0,
        };
    }
    let n = errs.len() as f64;
    let abs: Vec<f64> = errs.iter().map(|(_, e)| (*e as f64).abs()).collect();
    let within = errs
        .iter()
        .filter(|(h, e)| {
            let late = -*e; // actual − eta
            if *h < 7_200 {
                (-900..=1_800).contains(&late)
            } else {
                (-1_800..=3_600).contains(&late)
            }
        })
        .count() as f64;
    Stats {
        mae_s: (abs.iter().sum::<f64>() / n).round(),
        bias_s: (errs.iter().map(|(_, e)| *e as f64).sum::<f64>() / n).round(),
        p90_s: quantile(&abs, 0.9).round(),
        within_band: (within / n * 1000.0).round() / 1000.0,
    }
}

impl Alerts {
    /// Scores late alerts.
    pub fn new(outcomes: &[StopOutcome]) -> Alerts {
        let alerted = outcomes.iter().filter(|o| o.first_alert.is_some()).count();
        let late = outcomes.iter().filter(|o| o.late).count();
        let tp: Vec<&StopOutcome> = outcomes
            .iter()
            .filter(|o| o.late && o.first_alert.is_some())
            .collect();
        let ratio =
            |a: usize, b: usize| (b > 0).then(|| (a as f64 / b as f64 * 1000.0).round() / 1000.0);
        let leads: Vec<f64> = tp
            .iter()
            .filter_map(|o| o.first_alert.map(|a| (o.late_at - a).num_seconds() as f64))
            .collect();
        Alerts {
            precision: ratio(tp.len(), alerted),
            recall: ratio(tp.len(), late),
            lead_s: (!leads.is_empty()).then(|| quantile(&leads, 0.5).round()),
            flaps: outcomes.iter().map(|o| o.flaps).sum(),
        }
    }
}

impl Report {
    /// Buckets the samples.
    pub fn new(samples: &[Sample], alerts: &Alerts) -> Report {
        let buckets = BUCKETS
            .iter()
            .enumerate()
            .map(|(b, (name, _))| {
                let in_b: Vec<&Sample> = samples
                    .iter()
                    .filter(|s| bucket_of(s.horizon_s) == Some(b))
                    .collect();
                let of = |f: fn(&Sample) -> i64| -> Vec<(i64, i64)> {
                    in_b.iter().map(|s| (s.horizon_s, f(s))).collect()
                };
                let n = in_b.len();
                let covered = in_b.iter().filter(|s| s.in_band).count();
                let widths: Vec<f64> = in_b.iter().map(|s| s.band_width_s as f64).collect();
                Bucket {
                    horizon: name,
                    n,
                    engine: stats(&of(|s| s.err_s)),
                    band_coverage: if n == 0 {
                        0.0
                    } else {
                        (covered as f64 / n as f64 * 1000.0).round() / 1000.0
                    },
                    band_width_s: quantile(&widths, 0.5).round(),
                    naive: stats(&of(|s| s.naive_err_s)),
                    schedule: stats(&of(|s| s.schedule_err_s)),
                }
            })
            .collect();
        Report {
            buckets,
            alerts: alerts.clone(),
        }
    }

    /// Human-readable table: the engine (with its band's coverage and median width), then
    /// the schedule + delay and the naive baselines.
    pub fn text(&self) -> String {
        let mut s = String::from(
            "                        engine                      P10-P90 band  | \
             schedule + delay            | naive (distance / speed)\n\
             horizon       n   MAE(s) bias(s)  P90(s) within  cover width(s) | \
             MAE(s) bias(s)  P90(s) within | MAE(s) bias(s)  P90(s) within\n",
        );
        let stats = |st: &Stats| {
            format!(
                "{:>6} {:>7} {:>7} {:>5.1}%",
                st.mae_s,
                st.bias_s,
                st.p90_s,
                st.within_band * 100.0
            )
        };
        for b in &self.buckets {
            s.push_str(&format!(
                "{:<8} {:>6} {:>8} {:>7} {:>7} {:>5.1}% {:>5.1}% {:>8} | {} | {}\n",
                b.horizon,
                b.n,
                b.engine.mae_s,
                b.engine.bias_s,
                b.engine.p90_s,
                b.engine.within_band * 100.0,
                b.band_coverage * 100.0,
                b.band_width_s,
                stats(&b.schedule),
                stats(&b.naive),
            ));
        }
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x}"));
        s.push_str(&format!(
            "late alerts: precision {} recall {} lead {} s flaps {}\n",
            f(self.alerts.precision),
            f(self.alerts.recall),
            f(self.alerts.lead_s),
            self.alerts.flaps
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stats_and_bands_are_exact() {
        let s = stats(&[(600, 60), (600, -120), (600, 1000), (9000, -3000)]);
        assert_eq!(s.mae_s, 1045.0);
        assert_eq!(s.bias_s, -515.0);
        // (600,60): late −60 in; (600,−120): late 120 in; (600,1000): late −1000 out;
        // (9000,−3000): late 3000 within −30/+60 min.
        assert_eq!(s.within_band, 0.75);
    }

    #[test]
    fn alert_metrics() {
        let t = |m: i64| Utc.timestamp_opt(1_700_000_000 + m * 60, 0).unwrap();
        let o = [
            StopOutcome {
                late: true,
                first_alert: Some(t(0)),
                late_at: t(30),
                flaps: 0,
            },
            StopOutcome {
                late: true,
                first_alert: None,
                late_at: t(30),
                flaps: 0,
            },
            StopOutcome {
                late: false,
                first_alert: Some(t(5)),
                late_at: t(30),
                flaps: 1,
            },
            StopOutcome {
                late: false,
                first_alert: None,
                late_at: t(30),
                flaps: 0,
            },
        ];
        let a = Alerts::new(&o);
        assert_eq!(
            (a.precision, a.recall, a.lead_s, a.flaps),
            (Some(0.5), Some(0.5), Some(1800.0), 1)
        );
    }
}
