//! `TrackingConfig::validate`: every `[tracking]` field checked once at start-up, each error
//! naming its key as `tracking.<key> = <value>: <why>`.

use super::TrackingConfig;
use std::fmt::Display;

/// Longest duration any time threshold may have, seconds (30 days): beyond it a rule is
/// meaningless and time arithmetic would risk overflow.
const MAX_SECS: i64 = 30 * 86_400;
/// The same in minutes.
const MAX_MIN: i64 = MAX_SECS / 60;
/// Largest distance threshold, metres (a continent).
const MAX_M: f64 = 5_000_000.0;
/// Largest sample count.
const MAX_SAMPLES: usize = 1_000_000;

/// `tracking.<key> = <value>: <why>`, the message shape of every check.
fn bad(key: &str, v: impl Display, why: impl Display) -> String {
    format!("tracking.{key} = {v}: {why}")
}

/// `lo <= v <= hi` (false for NaN).
fn within<T: PartialOrd + Display + Copy>(key: &str, v: T, lo: T, hi: T) -> Result<(), String> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(bad(key, v, format_args!("must be within {lo}..={hi}")))
    }
}

/// `0 < v <= hi` (false for NaN).
fn positive(key: &str, v: f64, hi: f64) -> Result<(), String> {
    if v > 0.0 && v <= hi {
        Ok(())
    } else {
        Err(bad(
            key,
            v,
            format_args!("must be above 0 and at most {hi}"),
        ))
    }
}

/// `v < other` (`other_key` names the bound).
fn below<T: PartialOrd + Display + Copy>(
    key: &str,
    v: T,
    other_key: &str,
    other: T,
) -> Result<(), String> {
    if v < other {
        Ok(())
    } else {
        Err(bad(
            key,
            v,
            format_args!("must be below {other_key} ({other})"),
        ))
    }
}

/// Non-empty, strictly ascending, every tier within `lo..=MAX_MIN`.
fn tiers(key: &str, t: &[i64], lo: i64) -> Result<(), String> {
    let shown = format!("{t:?}");
    if t.is_empty() {
        return Err(bad(key, shown, "needs at least one tier"));
    }
    if t.windows(2).any(|w| w[1] <= w[0]) {
        return Err(bad(key, shown, "tiers must be strictly ascending"));
    }
    if t.iter().any(|v| !(lo..=MAX_MIN).contains(v)) {
        return Err(bad(
            key,
            shown,
            format_args!("every tier must be within {lo}..={MAX_MIN}"),
        ));
    }
    Ok(())
}

impl TrackingConfig {
    /// Checks every field (ranges, and the orderings the rules rely on), once at start-up.
    /// The message names the offending key: `tracking.<key> = <value>: <why>`.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_cleaning_and_motion()?;
        self.validate_eta()?;
        self.validate_exceptions()?;
        self.validate_quotas()
    }

    fn validate_cleaning_and_motion(&self) -> Result<(), String> {
        positive("max_speed_mps", self.max_speed_mps, 1000.0)?;
        within("max_consecutive_jumps", self.max_consecutive_jumps, 1, 1000)?;
        within("window_back_m", self.window_back_m, 0.0, MAX_M)?;
        positive("window_speed_mps", self.window_speed_mps, 1000.0)?;
        positive("window_factor", self.window_factor, 100.0)?;
        within("window_slack_m", self.window_slack_m, 0.0, MAX_M)?;
        positive("stop_motion_radius_m", self.stop_motion_radius_m, MAX_M)?;
        within("stop_motion_secs", self.stop_motion_secs, 1, MAX_SECS)?;
        positive("move_distance_m", self.move_distance_m, MAX_M)?;
        // Moving again must need more than the stopped radius, or the state would flap.
        if self.move_distance_m < self.stop_motion_radius_m {
            return Err(bad(
                "move_distance_m",
                self.move_distance_m,
                format_args!(
                    "must be at least stop_motion_radius_m ({})",
                    self.stop_motion_radius_m
                ),
            ));
        }
        within("move_fixes", self.move_fixes, 1, 1000)?;
        within("stop_radius_m", self.stop_radius_m, 1.0, 50_000.0)?;
        within("arrival_secs", self.arrival_secs, 0, MAX_SECS)?;
        within("departure_secs", self.departure_secs, 0, MAX_SECS)?;
        within("skip_after_m", self.skip_after_m, 0.0, MAX_M)
    }

    fn validate_eta(&self) -> Result<(), String> {
        positive("default_speed_kmh", self.default_speed_kmh, 1000.0)?;
        positive("pace_min", self.pace_min, 100.0)?;
        positive("pace_max", self.pace_max, 100.0)?;
        below("pace_min", self.pace_min, "pace_max", self.pace_max)?;
        within(
            "pace_min_moving_secs",
            self.pace_min_moving_secs,
            0.0,
            MAX_SECS as f64,
        )?;
        positive("pace_memory_secs", self.pace_memory_secs, MAX_SECS as f64)?;
        positive("pace_horizon_secs", self.pace_horizon_secs, MAX_SECS as f64)?;
        within(
            "history_min_samples",
            self.history_min_samples,
            1,
            MAX_SAMPLES,
        )?;
        within(
            "history_max_samples",
            self.history_max_samples,
            self.history_min_samples,
            MAX_SAMPLES,
        )?;
        within("band_min_samples", self.band_min_samples, 1, MAX_SAMPLES)?;
        within(
            "band_max_samples",
            self.band_max_samples,
            self.band_min_samples,
            MAX_SAMPLES,
        )?;
        within("eta_interval_secs", self.eta_interval_secs, 0, MAX_SECS)?;
        within("hos_early_min", self.hos_early_min, 0, 24 * 60)?;
        within("halt_allowance_share", self.halt_allowance_share, 0.0, 3.0)?;
        within("drive_gap_secs", self.drive_gap_secs, 1, MAX_SECS)
    }

    fn validate_exceptions(&self) -> Result<(), String> {
        within("late_min", self.late_min, 1, MAX_MIN)?;
        within("late_hold_secs", self.late_hold_secs, 0, MAX_SECS)?;
        within("late_clear_min", self.late_clear_min, 0, MAX_MIN)?;
        // Clearing below the firing threshold is the hysteresis that stops flapping.
        below(
            "late_clear_min",
            self.late_clear_min,
            "late_min",
            self.late_min,
        )?;
        within(
            "late_clear_hold_secs",
            self.late_clear_hold_secs,
            0,
            MAX_SECS,
        )?;
        tiers("late_tiers_min", &self.late_tiers_min, 0)?;
        within("early_min", self.early_min, 1, MAX_MIN)?;
        positive("off_route_m", self.off_route_m, MAX_M)?;
        within(
            "off_route_accuracy_factor",
            self.off_route_accuracy_factor,
            0.0,
            100.0,
        )?;
        within("off_route_fixes", self.off_route_fixes, 1, 1000)?;
        within("off_route_secs", self.off_route_secs, 0, MAX_SECS)?;
        positive("off_route_clear_m", self.off_route_clear_m, MAX_M)?;
        below(
            "off_route_clear_m",
            self.off_route_clear_m,
            "off_route_m",
            self.off_route_m,
        )?;
        within("off_route_clear_fixes", self.off_route_clear_fixes, 1, 1000)?;
        within(
            "off_route_suppress_m",
            self.off_route_suppress_m,
            0.0,
            MAX_M,
        )?;
        tiers("long_stop_tiers_min", &self.long_stop_tiers_min, 1)?;
        within("detention_free_min", self.detention_free_min, 1, MAX_MIN)?;
        within(
            "detention_warning_min",
            self.detention_warning_min,
            0,
            MAX_MIN,
        )?;
        below(
            "detention_warning_min",
            self.detention_warning_min,
            "detention_free_min",
            self.detention_free_min,
        )?;
        within("no_signal_min", self.no_signal_min, 1, MAX_MIN)?;
        within(
            "no_signal_interval_factor",
            self.no_signal_interval_factor,
            0.0,
            1000.0,
        )?;
        // A timer slower than the no-signal limit would announce silence late.
        let limit_s = (self.no_signal_min * 60) as u64;
        within("timer_secs", self.timer_secs, 1, limit_s.max(1))
    }

    fn validate_quotas(&self) -> Result<(), String> {
        use crate::tracking::shipment::{MAX_ROUTE_POINTS, MAX_STOPS};
        within("max_stops", self.max_stops, 1, MAX_STOPS)?;
        within(
            "max_route_points",
            self.max_route_points,
            2,
            MAX_ROUTE_POINTS,
        )?;
        within(
            "max_shipments_per_customer",
            self.max_shipments_per_customer,
            1,
            10_000_000,
        )?;
        if self.keep_finished < std::time::Duration::from_secs(60) {
            return Err(bad(
                "keep_finished",
                format_args!("{:?}", self.keep_finished),
                "must be at least 1m",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::hos::HosRules;

    /// The message for the defaults changed by `f`.
    fn err(f: impl FnOnce(&mut TrackingConfig)) -> String {
        let mut c = TrackingConfig::default();
        f(&mut c);
        c.validate().expect_err("invalid")
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TrackingConfig::default().validate(), Ok(()));
    }

    #[test]
    fn ranges_name_the_key_and_value() {
        let cases: Vec<(&str, String)> = vec![
            (
                "tracking.stop_radius_m = NaN: must be within 1..=50000",
                err(|c| c.stop_radius_m = f64::NAN),
            ),
            (
                "tracking.max_speed_mps = -1: must be above 0 and at most 1000",
                err(|c| c.max_speed_mps = -1.0),
            ),
            (
                "tracking.history_max_samples = 2: must be within 3..=1000000",
                err(|c| c.history_max_samples = 2),
            ),
            (
                "tracking.timer_secs = 3600: must be within 1..=900",
                err(|c| c.timer_secs = 3600),
            ),
            (
                "tracking.halt_allowance_share = 4: must be within 0..=3",
                err(|c| c.halt_allowance_share = 4.0),
            ),
        ];
        for (want, got) in cases {
            assert_eq!(got, want);
        }
        assert_eq!(
            err(|c| c.late_hold_secs = i64::MAX),
            format!(
                "tracking.late_hold_secs = {}: must be within 0..=2592000",
                i64::MAX
            )
        );
    }

    #[test]
    fn every_numeric_field_is_checked_by_name() {
        type Bad = fn(&mut TrackingConfig);
        let cases: [(&str, Bad); 39] = [
            ("max_consecutive_jumps", |c| c.max_consecutive_jumps = 0),
            ("window_back_m", |c| c.window_back_m = -1.0),
            ("window_speed_mps", |c| c.window_speed_mps = 0.0),
            ("window_factor", |c| c.window_factor = f64::INFINITY),
            ("window_slack_m", |c| c.window_slack_m = -5.0),
            ("stop_motion_radius_m", |c| c.stop_motion_radius_m = 0.0),
            ("stop_motion_secs", |c| c.stop_motion_secs = 0),
            ("move_fixes", |c| c.move_fixes = 0),
            ("arrival_secs", |c| c.arrival_secs = -1),
            ("departure_secs", |c| c.departure_secs = -1),
            ("skip_after_m", |c| c.skip_after_m = f64::NAN),
            ("default_speed_kmh", |c| c.default_speed_kmh = 0.0),
            ("pace_min_moving_secs", |c| c.pace_min_moving_secs = -1.0),
            ("pace_memory_secs", |c| c.pace_memory_secs = 0.0),
            ("pace_horizon_secs", |c| c.pace_horizon_secs = 0.0),
            ("history_min_samples", |c| c.history_min_samples = 0),
            ("band_min_samples", |c| c.band_min_samples = 0),
            ("band_max_samples", |c| c.band_max_samples = 5),
            ("eta_interval_secs", |c| c.eta_interval_secs = -1),
            ("hos_early_min", |c| c.hos_early_min = -1),
            ("drive_gap_secs", |c| c.drive_gap_secs = 0),
            ("max_stops", |c| c.max_stops = 501),
            ("max_route_points", |c| c.max_route_points = 1),
            ("max_shipments_per_customer", |c| {
                c.max_shipments_per_customer = 0
            }),
            ("keep_finished", |c| {
                c.keep_finished = std::time::Duration::from_secs(1)
            }),
            ("late_min", |c| c.late_min = 0),
            ("late_clear_hold_secs", |c| c.late_clear_hold_secs = -1),
            ("early_min", |c| c.early_min = 0),
            ("off_route_m", |c| c.off_route_m = 0.0),
            ("off_route_accuracy_factor", |c| {
                c.off_route_accuracy_factor = -1.0
            }),
            ("off_route_fixes", |c| c.off_route_fixes = 0),
            ("off_route_secs", |c| c.off_route_secs = -1),
            ("off_route_clear_fixes", |c| c.off_route_clear_fixes = 0),
            ("off_route_suppress_m", |c| c.off_route_suppress_m = -1.0),
            ("detention_free_min", |c| c.detention_free_min = 0),
            ("detention_warning_min", |c| c.detention_warning_min = -1),
            ("no_signal_min", |c| c.no_signal_min = 0),
            ("no_signal_interval_factor", |c| {
                c.no_signal_interval_factor = -1.0
            }),
            ("timer_secs", |c| c.timer_secs = 0),
        ];
        for (key, f) in cases {
            let e = err(f);
            assert!(e.starts_with(&format!("tracking.{key} = ")), "{key}: {e}");
        }
    }

    #[test]
    fn orderings_are_checked() {
        let cases: Vec<(&str, String)> = vec![
            (
                "tracking.pace_min = 0.6: must be below pace_max (0.5)",
                err(|c| c.pace_max = 0.5),
            ),
            (
                "tracking.pace_min = 0.6: must be below pace_max (0.6)",
                err(|c| c.pace_max = 0.6),
            ),
            (
                "tracking.late_clear_min = 15: must be below late_min (15)",
                err(|c| c.late_clear_min = 15),
            ),
            (
                "tracking.off_route_clear_m = 200: must be below off_route_m (150)",
                err(|c| c.off_route_clear_m = 200.0),
            ),
            (
                "tracking.move_distance_m = 40: must be at least stop_motion_radius_m (50)",
                err(|c| c.move_distance_m = 40.0),
            ),
            (
                "tracking.detention_warning_min = 120: must be below detention_free_min (120)",
                err(|c| c.detention_warning_min = 120),
            ),
            (
                "tracking.late_tiers_min = [60, 15]: tiers must be strictly ascending",
                err(|c| c.late_tiers_min = vec![60, 15]),
            ),
            (
                "tracking.long_stop_tiers_min = []: needs at least one tier",
                err(|c| c.long_stop_tiers_min = vec![]),
            ),
            (
                "tracking.long_stop_tiers_min = [0, 20]: every tier must be within 1..=43200",
                err(|c| c.long_stop_tiers_min = vec![0, 20]),
            ),
        ];
        for (want, got) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's own error type, in a test
    fn hos_parses_from_toml_and_unknown_values_are_refused() {
        use figment::providers::{Format, Toml};
        let parse = |s: &str| figment::Figment::from(Toml::string(s)).extract::<TrackingConfig>();
        assert_eq!(parse("hos = \"us\"").expect("toml").hos, HosRules::Us);
        assert_eq!(parse("").expect("toml").hos, HosRules::None);
        let e = parse("hos = \"mars\"").expect_err("bad");
        assert!(e.to_string().contains("mars"), "{e}");
    }
}
