//! `trackgate eval-eta`: replays trips against a planned route through the real tracking
//! engine and scores its ETAs (and a naive baseline) against the arrivals in the trips.
//!
//! Each trip runs as its own shipment with the planned times shifted so the first stop's
//! planned time equals the trip's first fix; the engine is shared across trips, in file
//! order, so link medians and the error band are learned the way a live gateway learns them.
//! The actual arrival at a stop is the first fix within the stop radius (searched after the
//! previous stop's arrival), interpolated on the distance to the stop between that fix and
//! the one before. The no-signal timer is advanced every 60 s of trip time.

pub mod generate;
pub mod score;

use crate::model::{AlertState, DeviceId, Position, Record, StopStatus};
use crate::tracking::projection::distance_m;
use crate::tracking::{Engine, ShipmentSpec, TrackingConfig};
use chrono::{DateTime, Duration, TimeZone, Utc};
use score::{Alerts, Sample, StopOutcome};

/// Why the inputs cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("shipment file: {0}")]
    Shipment(String),
    #[error("trips file line {line}: {message}")]
    Csv { line: usize, message: String },
}

/// One trip from the CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    /// Trip name (first column).
    pub name: String,
    /// Fixes `(time, lat, lon)` sorted by time.
    pub fixes: Vec<(DateTime<Utc>, f64, f64)>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let secs: f64 = s.parse().ok()?;
    Utc.timestamp_opt(secs.floor() as i64, ((secs.fract()) * 1e9) as u32)
        .single()
}

/// Parses `trip,time,lat,lon` (header required; time RFC 3339 or unix seconds). Trips keep
/// the order of their first line.
pub fn parse_trips(text: &str) -> Result<Vec<Trip>, EvalError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim().replace(' ', "") == "trip,time,lat,lon" => {}
        _ => {
            return Err(EvalError::Csv {
                line: 1,
                message: "header must be trip,time,lat,lon".into(),
            })
        }
    }
    let mut trips: Vec<Trip> = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |m: &str| EvalError::Csv {
            line: line_no,
            message: format!("{m}: {line:?}"),
        };
        if cols.len() != 4 {
            return Err(bad("expected 4 columns"));
        }
        let time =
            parse_time(cols[1]).ok_or_else(|| bad("time is neither RFC 3339 nor unix seconds"))?;
        let lat: f64 = cols[2].parse().map_err(|_| bad("lat is not a number"))?;
        let lon: f64 = cols[3].parse().map_err(|_| bad("lon is not a number"))?;
        match trips.iter_mut().find(|t| t.name == cols[0]) {
            Some(t) => t.fixes.push((time, lat, lon)),
            None => trips.push(Trip {
                name: cols[0].to_string(),
                fixes: vec![(time, lat, lon)],
            }),
        }
    }
    for t in &mut trips {
        t.fixes.sort_by_key(|f| f.0);
    }
    Ok(trips)
}

/// Actual arrival per stop: first fix within the radius after the previous stop's arrival,
/// interpolated on the distance between that fix and the one before.
pub fn actual_arrivals(
    spec: &ShipmentSpec,
    fixes: &[(DateTime<Utc>, f64, f64)],
    default_radius: f64,
) -> Vec<Option<DateTime<Utc>>> {
    let mut out = Vec::new();
    let mut from = 0;
    for s in &spec.stops {
        let r = s.radius_m.unwrap_or(default_radius);
        let hit = (from..fixes.len())
            .find(|&i| distance_m((fixes[i].1, fixes[i].2), (s.lat, s.lon)) <= r);
        let Some(i) = hit else {
            out.push(None);
            continue;
        };
        let (t1, la1, lo1) = fixes[i];
        let mut at = t1;
        if i > from {
            let (t0, la0, lo0) = fixes[i - 1];
            let (d0, d1) = (
                distance_m((la0, lo0), (s.lat, s.lon)),
                distance_m((la1, lo1), (s.lat, s.lon)),
            );
            if d0 > d1 {
                let f = ((d0 - r) / (d0 - d1)).clamp(0.0, 1.0);
                at = t0 + Duration::milliseconds(((t1 - t0).num_milliseconds() as f64 * f) as i64);
            }
        }
        out.push(Some(at));
        from = i;
    }
    out
}

/// The trip's shipment: planned times (and windows) shifted to the trip's first fix.
fn trip_spec(base: &ShipmentSpec, trip: &Trip) -> Result<Option<ShipmentSpec>, EvalError> {
    let (Some(first), Some(stop0)) = (trip.fixes.first(), base.stops.first()) else {
        return Ok(None);
    };
    let shift = first.0 - stop0.planned_arrival;
    let mut s = base.clone();
    s.id = format!("{}-{}", base.id, trip.name);
    // Trip names are free text; device ids may not hold '/', '+', '#' or whitespace.
    let id: String = format!("eval-{}", trip.name)
        .chars()
        .map(|c| {
            if matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(60)
        .collect();
    s.device = DeviceId::new(id).map_err(|e| EvalError::Csv {
        line: 0,
        message: format!("trip name {:?} cannot be a device id: {e}", trip.name),
    })?;
    for st in &mut s.stops {
        st.planned_arrival += shift;
        st.window_start = st.window_start.map(|w| w + shift);
        st.window_end = st.window_end.map(|w| w + shift);
    }
    Ok(Some(s))
}

/// Runs every trip and scores the result.
pub fn evaluate(
    base: &ShipmentSpec,
    trips: &[Trip],
    cfg: &TrackingConfig,
) -> Result<score::Report, EvalError> {
    base.validate()
        .map_err(|e| EvalError::Shipment(e.to_string()))?;
    let mut engine = Engine::new(cfg.clone());
    let mut samples = Vec::new();
    let mut outcomes = Vec::new();
    for trip in trips {
        let Some(spec) = trip_spec(base, trip)? else {
            continue;
        };
        let actual = actual_arrivals(&spec, &trip.fixes, cfg.stop_radius_m);
        let device = spec.device.clone();
        let first = trip.fixes[0].0;
        if let Err(e) = engine.insert(spec.clone(), None, first) {
            return Err(EvalError::Shipment(e.to_string()));
        }
        let mut fires: Vec<Vec<DateTime<Utc>>> = vec![Vec::new(); spec.stops.len()];
        let mut resolved_then_fired = vec![0u32; spec.stops.len()];
        let mut was_resolved = vec![false; spec.stops.len()];
        let mut last_tick = first;
        for (k, &(time, lat, lon)) in trip.fixes.iter().enumerate() {
            let mut outs = Vec::new();
            while last_tick + Duration::seconds(60) < time {
                last_tick += Duration::seconds(60);
                outs.extend(engine.tick(last_tick));
            }
            let pos = Position::new(device.clone(), "eval", time, time, lat, lon, true);
            outs.extend(engine.process(&Record::Position(pos)));
            // Naive baseline speed: implied by the previous raw fix (what a plain tracker
            // shows), floored at 0.5 m/s so a stopped vehicle has a finite estimate.
            let speed = if k > 0 {
                let (t0, la0, lo0) = trip.fixes[k - 1];
                let dt = (time - t0).num_milliseconds() as f64 / 1000.0;
                (distance_m((la0, lo0), (lat, lon)) / dt.max(1.0)).max(0.5)
            } else {
                0.5
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
                        let Some(act) = actual[i] else { continue };
                        let naive =
                            e.fix_time + Duration::seconds((e.remaining_m / speed).round() as i64);
                        samples.push(Sample {
                            horizon_s: (act - e.fix_time).num_seconds(),
                            err_s: (e.eta - act).num_seconds(),
                            naive_err_s: (naive - act).num_seconds(),
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
                        match a.state {
                            AlertState::Firing => {
                                if was_resolved[i] {
                                    resolved_then_fired[i] += 1;
                                    was_resolved[i] = false;
                                }
                                fires[i].push(a.time);
                            }
                            AlertState::Resolved => was_resolved[i] = true,
                            AlertState::Info => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        for (i, s) in spec.stops.iter().enumerate().skip(1) {
            let Some(act) = actual[i] else { continue };
            let late_at =
                s.window_end.unwrap_or(s.planned_arrival) + Duration::minutes(cfg.late_min);
            outcomes.push(StopOutcome {
                late: act > late_at,
                first_alert: fires[i].iter().copied().filter(|t| *t < act).min(),
                late_at,
                flaps: resolved_then_fired[i],
            });
        }
    }
    Ok(score::Report::new(&samples, &Alerts::new(&outcomes)))
}

/// Default seed and size of the shipped trip set (`tests/fixtures/tracking/`).
pub const DEFAULT_SEED: u64 = 42;
/// See [`DEFAULT_SEED`].
pub const DEFAULT_TRIPS: usize = 40;

/// `--generate DIR`: writes `shipment.json` and `trips.csv` for `seed` / `count` trips.
pub fn write_generated(dir: &std::path::Path, seed: u64, count: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec =
        serde_json::to_string_pretty(&generate::shipment()).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("shipment.json"), spec + "\n")?;
    std::fs::write(
        dir.join("trips.csv"),
        generate::to_csv(&generate::trips(seed, count)),
    )
}

/// `--shipment FILE --trips FILE`: reads, evaluates with `cfg`, returns the report.
pub fn run_files(
    shipment: &std::path::Path,
    trips: &std::path::Path,
    cfg: &TrackingConfig,
) -> Result<score::Report, EvalError> {
    let s = std::fs::read_to_string(shipment)
        .map_err(|e| EvalError::Shipment(format!("{}: {e}", shipment.display())))?;
    let spec: ShipmentSpec = serde_json::from_str(&s)
        .map_err(|e| EvalError::Shipment(format!("{}: {e}", shipment.display())))?;
    let t = std::fs::read_to_string(trips).map_err(|e| EvalError::Csv {
        line: 0,
        message: format!("{}: {e}", trips.display()),
    })?;
    evaluate(&spec, &parse_trips(&t)?, cfg)
}
