//! One trip replayed through the engine, with the truth it is scored against (the actual
//! visits) and the two baselines computed from what was known at each prediction.

use super::input::Trip;
use super::score::{Sample, StopOutcome};
use crate::model::{AlertState, Position, Record, StopStatus};
use crate::tracking::projection::distance_m;
use crate::tracking::{Engine, ShipmentSpec, TrackingConfig};
use chrono::{DateTime, Duration, Utc};

/// A stop visit seen in the fixes: arrival and departure, each with the time of the fix that
/// revealed it (a baseline may use it only from then on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Visit {
    /// Arrival (interpolated onto the radius).
    pub arrived: DateTime<Utc>,
    /// The fix that showed the arrival.
    pub arrived_seen: DateTime<Utc>,
    /// First fix outside the radius after the arrival (the departure, as seen).
    pub departed: Option<DateTime<Utc>>,
}

/// Visit per stop: arrival at the first fix within the radius after the previous stop's
/// arrival, interpolated on the distance between that fix and the one before; departure at
/// the first fix outside the radius after it.
pub fn actual_visits(
    spec: &ShipmentSpec,
    fixes: &[(DateTime<Utc>, f64, f64)],
    default_radius: f64,
) -> Vec<Option<Visit>> {
    let mut out = Vec::new();
    let mut from = 0;
    for s in &spec.stops {
        let r = s.radius_m.unwrap_or(default_radius);
        let near = |i: usize| distance_m((fixes[i].1, fixes[i].2), (s.lat, s.lon));
        let Some(i) = (from..fixes.len()).find(|&i| near(i) <= r) else {
            out.push(None);
            continue;
        };
        let t1 = fixes[i].0;
        let mut at = t1;
        if i > from {
            let (t0, d0, d1) = (fixes[i - 1].0, near(i - 1), near(i));
            if d0 > d1 {
                let f = ((d0 - r) / (d0 - d1)).clamp(0.0, 1.0);
                at = t0 + Duration::milliseconds(((t1 - t0).num_milliseconds() as f64 * f) as i64);
            }
        }
        let departed = (i..fixes.len()).find(|&j| near(j) > r).map(|j| fixes[j].0);
        out.push(Some(Visit {
            arrived: at,
            arrived_seen: t1,
            departed,
        }));
        from = i;
    }
    out
}

/// The baseline operators use: planned arrival + the delay observed at the last passed
/// stop, carried forward. The delay is the departure delay (vs planned arrival + service)
/// once the vehicle left that stop; while it is still there, the arrival delay, or how far
/// past its planned departure it already is if more. An ETA already in the past is shown as
/// "now" (any operator sees the vehicle is not there yet).
pub fn schedule_eta(
    spec: &ShipmentSpec,
    visits: &[Option<Visit>],
    stop: usize,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut delay = Duration::zero();
    for (s, v) in spec.stops.iter().zip(visits).take(stop) {
        let Some(v) = v.filter(|v| v.arrived_seen <= now) else {
            continue;
        };
        let planned_dep = s.planned_arrival + Duration::seconds(s.service_s.unwrap_or(0));
        delay = match v.departed.filter(|d| *d <= now) {
            Some(d) => d - planned_dep,
            None => (v.arrived - s.planned_arrival).max(now - planned_dep),
        };
    }
    (spec.stops[stop].planned_arrival + delay).max(now)
}

/// What one trip produced: scored predictions and late-alert outcomes.
pub struct TripResult {
    /// ETA samples.
    pub samples: Vec<Sample>,
    /// Per stop after the first.
    pub outcomes: Vec<StopOutcome>,
}

/// Late alerts of one stop during the replay.
#[derive(Clone, Default)]
struct LateLog {
    fires: Vec<DateTime<Utc>>,
    refires: u32,
    resolved: bool,
}

/// Replays `trip` as shipment `spec` (already inserted into `engine`).
pub fn run_trip(
    engine: &mut Engine,
    spec: &ShipmentSpec,
    trip: &Trip,
    cfg: &TrackingConfig,
) -> TripResult {
    let visits = actual_visits(spec, &trip.fixes, cfg.stop_radius_m);
    let mut samples = Vec::new();
    let mut late = vec![LateLog::default(); spec.stops.len()];
    let first = trip.fixes.first().map_or(DateTime::<Utc>::MIN_UTC, |f| f.0);
    let mut last_tick = first;
    for (k, &(time, lat, lon)) in trip.fixes.iter().enumerate() {
        let mut outs = Vec::new();
        while last_tick + Duration::seconds(60) < time {
            last_tick += Duration::seconds(60);
            outs.extend(engine.tick(last_tick));
        }
        let pos = Position::new(spec.device.clone(), "eval", time, time, lat, lon, true);
        outs.extend(engine.process(&Record::Position(pos)));
        // Naive baseline speed: implied by the previous raw fix (what a plain tracker shows),
        // floored at 0.5 m/s so a stopped vehicle has a finite estimate.
        let speed = match k.checked_sub(1).map(|p| trip.fixes[p]) {
            Some((t0, la0, lo0)) => {
                let dt = (time - t0).num_milliseconds() as f64 / 1000.0;
                (distance_m((la0, lo0), (lat, lon)) / dt.max(1.0)).max(0.5)
            }
            None => 0.5,
        };
        for r in outs {
            match r {
                Record::Eta(e)
                    if !matches!(
                        e.status,
                        StopStatus::Arrived | StopStatus::Departed | StopStatus::Skipped
                    ) =>
                {
                    let Some(i) = spec.stops.iter().position(|s| s.id == e.stop) else {
                        continue;
                    };
                    let Some(act) = visits[i].map(|v| v.arrived) else {
                        continue;
                    };
                    let naive =
                        e.fix_time + Duration::seconds((e.remaining_m / speed).round() as i64);
                    let sched = schedule_eta(spec, &visits, i, e.fix_time);
                    samples.push(Sample {
                        horizon_s: (act - e.fix_time).num_seconds(),
                        err_s: (e.eta - act).num_seconds(),
                        naive_err_s: (naive - act).num_seconds(),
                        schedule_err_s: (sched - act).num_seconds(),
                        in_band: e.eta_p10 <= act && act <= e.eta_p90,
                        band_width_s: (e.eta_p90 - e.eta_p10).num_seconds(),
                    });
                }
                Record::Alert(a) if a.kind == "late" => {
                    let Some(i) = a
                        .stop
                        .as_ref()
                        .and_then(|id| spec.stops.iter().position(|s| &s.id == id))
                    else {
                        continue;
                    };
                    let log = &mut late[i];
                    match a.state {
                        AlertState::Firing => {
                            if log.resolved {
                                log.refires += 1;
                                log.resolved = false;
                            }
                            log.fires.push(a.time);
                        }
                        AlertState::Resolved => log.resolved = true,
                        AlertState::Info => {}
                    }
                }
                _ => {}
            }
        }
    }
    let mut outcomes = Vec::new();
    for (i, s) in spec.stops.iter().enumerate().skip(1) {
        let Some(act) = visits[i].map(|v| v.arrived) else {
            continue;
        };
        let late_at = s.window_end.unwrap_or(s.planned_arrival) + Duration::minutes(cfg.late_min);
        outcomes.push(StopOutcome {
            late: act > late_at,
            first_alert: late[i].fires.iter().copied().filter(|t| *t < act).min(),
            late_at,
            flaps: late[i].refires,
        });
    }
    TripResult { samples, outcomes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(m: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_772_000_000 + m * 60, 0).unwrap()
    }

    fn spec() -> ShipmentSpec {
        let mut s = super::super::generate::plan(&super::super::generate::REGIONAL);
        // Planned: S0 at 0, S1 at 65 min (15 min service), S2 at 145 min, S3 at 240 min.
        for (st, m) in s.stops.iter_mut().zip([0, 65, 145, 240]) {
            st.planned_arrival = t(m);
        }
        s
    }

    fn visit(a: i64, d: Option<i64>) -> Option<Visit> {
        Some(Visit {
            arrived: t(a),
            arrived_seen: t(a),
            departed: d.map(t),
        })
    }

    #[test]
    fn schedule_baseline_carries_the_last_observed_delay() {
        let s = spec();
        // Left the depot 5 min late, reached S1 12 min late, left it 20 min late (dwelt 23).
        let v = [visit(0, Some(5)), visit(77, Some(100)), None, None];
        assert_eq!(
            schedule_eta(&s, &v, 2, t(3)),
            t(148),
            "at the depot 3 min past departure"
        );
        assert_eq!(
            schedule_eta(&s, &v, 2, t(30)),
            t(150),
            "departure delay 5 min"
        );
        // At S1 since 77: the arrival delay (12 min) until past planned departure + 12.
        assert_eq!(schedule_eta(&s, &v, 2, t(80)), t(157));
        assert_eq!(
            schedule_eta(&s, &v, 2, t(95)),
            t(160),
            "15 min past planned departure"
        );
        assert_eq!(
            schedule_eta(&s, &v, 2, t(101)),
            t(165),
            "left S1 20 min late"
        );
        assert_eq!(schedule_eta(&s, &v, 3, t(101)), t(260));
        // Never in the past.
        assert_eq!(schedule_eta(&s, &v, 2, t(200)), t(200));
    }
}
