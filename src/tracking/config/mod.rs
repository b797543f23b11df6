//! `[tracking]`: every threshold of the tracking rules, with its default, and the start-up
//! check of all of them (`validate`).

use super::hos::HosRules;
use serde::{Deserialize, Serialize};

mod validate;

/// Thresholds of cleaning, projection, motion, stops, ETA and exceptions.
///
/// Every field is a documented default so operators can tune rules without a rebuild; the
/// defaults are the ones in the tracking issues (#5, #19) and `docs/tracking.md`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Run the tracking consumer at all. Default true.
    pub enabled: bool,
    /// Refuse `POST /api/shipments` for a device never seen by the gateway. Default false:
    /// devices often get their shipment before their first fix.
    pub require_known_device: bool,
    /// Fixes implying a speed above this (m/s) from the last clean fix are set aside as GPS
    /// jumps. Default 45.
    pub max_speed_mps: f64,
    /// After this many consecutive set-aside jumps the next fix is accepted as the new anchor
    /// (the earlier anchor was the wrong one). Default 3.
    pub max_consecutive_jumps: u32,
    /// Projection window behind the last on-route position, metres. Default 100.
    pub window_back_m: f64,
    /// Projection window ahead: speed (m/s) × factor × Δt + slack. Defaults 33, 1.2, 200.
    pub window_speed_mps: f64,
    /// See `window_speed_mps`. Default 1.2.
    pub window_factor: f64,
    /// See `window_speed_mps`. Default 200 m.
    pub window_slack_m: f64,
    /// STOPPED after staying within this radius (m)... Default 50.
    pub stop_motion_radius_m: f64,
    /// ...for this long (s). Default 120.
    pub stop_motion_secs: i64,
    /// MOVING again after `move_fixes` fixes farther than this (m) from where it stopped.
    /// Default 100.
    pub move_distance_m: f64,
    /// See `move_distance_m`. Default 2.
    pub move_fixes: u32,
    /// Stop radius when the shipment gives none, metres. Default 150.
    pub stop_radius_m: f64,
    /// Arrival: inside the radius for this long (s), or stopped inside it. Default 120.
    pub arrival_secs: i64,
    /// Departure: outside the radius for this long (s) after arriving. Default 180.
    pub departure_secs: i64,
    /// A pending stop is `skipped` once progress is this far (m) beyond it. Default 300.
    pub skip_after_m: f64,
    /// Speed used for a link whose planned time is unknown (first link when the first stop
    /// is not at the route start), km/h. Default 50.
    pub default_speed_kmh: f64,
    /// Plausible range of a driver's pace (actual / expected moving time): a moving interval
    /// whose own pace lies outside is an incident (a jam, a crawl) and does not count, and
    /// the ratio is clamped to it. Defaults 0.6 and 1.6.
    pub pace_min: f64,
    /// See `pace_min`. Default 1.6.
    pub pace_max: f64,
    /// Moving time (s) measured before the pace ratio is used at all. Default 300.
    pub pace_min_moving_secs: f64,
    /// The pace ratio forgets with this time constant of moving time (s). Default 1800.
    pub pace_memory_secs: f64,
    /// The pace ratio's weight decays with the stop's planned remaining travel time
    /// (weight = exp(−t / this)), seconds. Default 14400.
    pub pace_horizon_secs: f64,
    /// Observations needed before a learned value replaces the plan: link driving times (per
    /// time of day, see `docs/tracking.md`), dwell per stop, unplanned halts per link and
    /// standstill lengths. Default 3.
    pub history_min_samples: usize,
    /// Observations kept per link, stop or kind (newest first; enough for every hour of the
    /// day to keep a few). Default 300.
    pub history_max_samples: usize,
    /// ETA error samples needed (per horizon bucket) before the P10–P90 band is empirical.
    /// Default 20.
    pub band_min_samples: usize,
    /// ETA error samples kept per horizon bucket: predictions of one trip are alike, so the
    /// band needs many trips' worth to be stable. Default 4000.
    pub band_max_samples: usize,
    /// Driving-time rules planned into ETAs: `"eu"` (45-min break after 4.5 h, 11-h rest after
    /// 9 h of driving), `"us"` (30 min after 8 h, 10 h after 11 h) or `"none"`; a shipment's
    /// own `hos` overrides it. Default `"none"` (vans and cars are not bound by them).
    pub hos: HosRules,
    /// A standstill that begins within this much driving of a due break or rest is taken to be
    /// it (drivers pause a little early), minutes. Default 60.
    pub hos_early_min: i64,
    /// Share of the learned mean unplanned halt time per link (per time of day) added to ETAs:
    /// 1 plans the average halt in, 0 ignores halts (they still widen the band). Default 1.
    pub halt_allowance_share: f64,
    /// A moving interval between two fixes up to this long counts as driving; a longer gap
    /// counts only the time the distance covered needs at 20 m/s (the rest may have been a
    /// pause). Default 900.
    pub drive_gap_secs: i64,
    /// Minimum fix-time interval between two ETA publications of a shipment (s); stop
    /// events and status changes publish at once. Default 30.
    pub eta_interval_secs: i64,
    /// Late: ETA later than window end (or planned arrival) + this (min). Default 15.
    pub late_min: i64,
    /// Late must hold this long before firing (s). Default 600.
    pub late_hold_secs: i64,
    /// Late clears when the pessimistic (P90) ETA is below this many minutes late... Default 5.
    pub late_clear_min: i64,
    /// ...for this long (s). Default 900.
    pub late_clear_hold_secs: i64,
    /// Late escalation tiers, minutes. Default [15, 60, 240].
    pub late_tiers_min: Vec<i64>,
    /// Early: ETA earlier than window start (or planned) − this (min). Default 30.
    pub early_min: i64,
    /// Off route: farther than max(this, `off_route_accuracy_factor` × accuracy). Default 150.
    pub off_route_m: f64,
    /// See `off_route_m`. Default 3.
    pub off_route_accuracy_factor: f64,
    /// Off route needs this many consecutive far fixes... Default 3.
    pub off_route_fixes: u32,
    /// ...spanning at least this long (s), while moving. Default 90.
    pub off_route_secs: i64,
    /// Off route clears below this distance (m)... Default 75.
    pub off_route_clear_m: f64,
    /// ...on this many consecutive fixes. Default 2.
    pub off_route_clear_fixes: u32,
    /// Off route is not counted within this distance (m) of the origin or a stop (yards and
    /// depots are rarely on the drawn line). Default 500.
    pub off_route_suppress_m: f64,
    /// Long stop outside stops: tiers in minutes. Default [20, 60, 120].
    pub long_stop_tiers_min: Vec<i64>,
    /// Detention: free time at a stop when the stop gives none (min). Default 120.
    pub detention_free_min: i64,
    /// Detention warning this many minutes before the free time ends. Default 30.
    pub detention_warning_min: i64,
    /// No signal: no fix for max(this, `no_signal_interval_factor` × report interval) (min).
    /// Default 15.
    pub no_signal_min: i64,
    /// See `no_signal_min`. Default 3.
    pub no_signal_interval_factor: f64,
    /// Period of the timer that advances the no-signal rule (s). Default 60.
    pub timer_secs: u64,
    /// Most stops a posted shipment may have (400 beyond). Default 200.
    pub max_stops: usize,
    /// Most route points a posted shipment may have (400 beyond): every fix is projected on
    /// the route, and the shipment is held in memory. Default 10 000.
    pub max_route_points: usize,
    /// Most shipments one customer may have in memory (active, and finished ones not yet
    /// past `keep_finished`); 409 beyond. Default 10 000.
    pub max_shipments_per_customer: usize,
    /// Completed and cancelled shipments leave memory and the tracking store this long after
    /// they finished (their events, ETAs and positions stay in the event history and
    /// InfluxDB). Default `"7d"`.
    #[serde(with = "crate::duration_text")]
    pub keep_finished: std::time::Duration,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            enabled: true,
            require_known_device: false,
            max_speed_mps: 45.0,
            max_consecutive_jumps: 3,
            window_back_m: 100.0,
            window_speed_mps: 33.0,
            window_factor: 1.2,
            window_slack_m: 200.0,
            stop_motion_radius_m: 50.0,
            stop_motion_secs: 120,
            move_distance_m: 100.0,
            move_fixes: 2,
            stop_radius_m: 150.0,
            arrival_secs: 120,
            departure_secs: 180,
            skip_after_m: 300.0,
            default_speed_kmh: 50.0,
            pace_min: 0.6,
            pace_max: 1.6,
            pace_min_moving_secs: 300.0,
            pace_memory_secs: 1800.0,
            pace_horizon_secs: 14_400.0,
            history_min_samples: 3,
            history_max_samples: 300,
            band_min_samples: 20,
            band_max_samples: 4000,
            hos: HosRules::None,
            hos_early_min: 60,
            halt_allowance_share: 1.0,
            drive_gap_secs: 900,
            eta_interval_secs: 30,
            late_min: 15,
            late_hold_secs: 600,
            late_clear_min: 5,
            late_clear_hold_secs: 900,
            late_tiers_min: vec![15, 60, 240],
            early_min: 30,
            off_route_m: 150.0,
            off_route_accuracy_factor: 3.0,
            off_route_fixes: 3,
            off_route_secs: 90,
            off_route_clear_m: 75.0,
            off_route_clear_fixes: 2,
            off_route_suppress_m: 500.0,
            long_stop_tiers_min: vec![20, 60, 120],
            detention_free_min: 120,
            detention_warning_min: 30,
            no_signal_min: 15,
            no_signal_interval_factor: 3.0,
            timer_secs: 60,
            max_stops: 200,
            max_route_points: 10_000,
            max_shipments_per_customer: 10_000,
            keep_finished: std::time::Duration::from_secs(7 * 86_400),
        }
    }
}
