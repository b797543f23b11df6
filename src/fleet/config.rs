//! `[events]`: which fleet events are derived from positions, and their thresholds, each
//! with its default and checked once at start-up (errors name `events.<key>`).

use serde::{Deserialize, Serialize};

/// Fleet events (geofences, overspeed, ignition, motion).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Run the fleet events consumer at all (geofences can still be managed). Default true.
    pub enabled: bool,
    /// `geofence_enter` / `geofence_exit`. Default true.
    pub geofence: bool,
    /// `overspeed` (firing / resolved). Default true.
    pub overspeed: bool,
    /// `ignition_on` / `ignition_off`. Default true.
    pub ignition: bool,
    /// `motion_start` / `motion_stop`. Default true.
    pub motion: bool,
    /// `device_online` / `device_offline` (after `[devices] offline_after_secs` of silence
    /// with no connection). Default true.
    pub presence: bool,
    /// A fix counts as inside a geofence only this far (m) inside its boundary, and as
    /// outside only this far beyond it; fixes in between change nothing. Default 25.
    pub geofence_margin_m: f64,
    /// Consecutive fixes on the new side needed to enter or exit. Default 2.
    pub geofence_confirm_fixes: u32,
    /// Speed limit everywhere outside geofences with their own `speed_limit_kmh`, km/h;
    /// absent: overspeed only inside such geofences. Default absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overspeed_limit_kmh: Option<f64>,
    /// Overspeed fires after the speed stayed above the limit this long (s). Default 10.
    pub overspeed_secs: i64,
    /// Overspeed clears once the speed is below `limit − margin` (km/h). Default 5.
    pub overspeed_margin_kmh: f64,
    /// A device moves at or above this speed (km/h). Default 5.
    pub motion_speed_kmh: f64,
    /// `motion_start` once moving this long (s). Default 30.
    pub motion_start_secs: i64,
    /// `motion_stop` once below the motion speed this long (s). Default 180.
    pub motion_stop_secs: i64,
    /// Most geofences the store accepts (`POST` beyond: 409). Default 100 000.
    pub max_geofences: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            enabled: true,
            geofence: true,
            overspeed: true,
            ignition: true,
            motion: true,
            presence: true,
            geofence_margin_m: 25.0,
            geofence_confirm_fixes: 2,
            overspeed_limit_kmh: None,
            overspeed_secs: 10,
            overspeed_margin_kmh: 5.0,
            motion_speed_kmh: 5.0,
            motion_start_secs: 30,
            motion_stop_secs: 180,
            max_geofences: 100_000,
        }
    }
}

/// Longest time threshold, seconds (a day).
const MAX_SECS: i64 = 86_400;

fn within<T: PartialOrd + std::fmt::Display>(key: &str, v: T, lo: T, hi: T) -> Result<(), String> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(format!("events.{key} = {v}: must be within {lo}..={hi}"))
    }
}

impl EventsConfig {
    /// Checks every threshold (false for NaN), naming the key.
    pub fn validate(&self) -> Result<(), String> {
        within("geofence_margin_m", self.geofence_margin_m, 0.0, 10_000.0)?;
        within(
            "geofence_confirm_fixes",
            self.geofence_confirm_fixes,
            1,
            100,
        )?;
        if let Some(v) = self.overspeed_limit_kmh {
            within("overspeed_limit_kmh", v, 1.0, 1_000.0)?;
        }
        within("overspeed_secs", self.overspeed_secs, 0, MAX_SECS)?;
        within(
            "overspeed_margin_kmh",
            self.overspeed_margin_kmh,
            0.0,
            200.0,
        )?;
        within("motion_speed_kmh", self.motion_speed_kmh, 0.1, 200.0)?;
        within("motion_start_secs", self.motion_start_secs, 0, MAX_SECS)?;
        within("motion_stop_secs", self.motion_stop_secs, 0, MAX_SECS)?;
        within("max_geofences", self.max_geofences, 1, 10_000_000)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format, Toml};

    fn read(toml: &str) -> Result<EventsConfig, String> {
        figment::Figment::from(Toml::string(toml))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_valid_and_every_bad_value_names_its_key() {
        EventsConfig::default().validate().unwrap();
        for (toml, key) in [
            ("geofence_margin_m = -1.0", "events.geofence_margin_m = -1"),
            (
                "geofence_confirm_fixes = 0",
                "events.geofence_confirm_fixes = 0",
            ),
            (
                "overspeed_limit_kmh = 0.0",
                "events.overspeed_limit_kmh = 0",
            ),
            ("overspeed_secs = -1", "events.overspeed_secs"),
            ("motion_speed_kmh = nan", "events.motion_speed_kmh = NaN"),
            ("motion_stop_secs = 100000", "events.motion_stop_secs"),
            ("max_geofences = 0", "events.max_geofences"),
        ] {
            let c = read(toml).unwrap();
            let e = c.validate().unwrap_err();
            assert!(e.contains(key), "{toml}: {e}");
        }
        let e = read("overspeed_limt_kmh = 80.0").unwrap_err();
        assert!(e.to_string().contains("overspeed_limt_kmh"), "{e}");
    }
}
