//! `trackgate eval-eta`: replays trips against planned routes through the real tracking
//! engine and scores its ETAs, P10–P90 band and late alerts against the arrivals in the
//! trips, beside two baselines: schedule + delay (planned arrival + the delay at the last
//! passed stop — what operators use) and naive (remaining distance / current speed).
//!
//! Each trip runs as its own shipment (the shipment file holds one, or an array and the trips
//! CSV names each trip's) with the planned times shifted so the first stop's planned time
//! equals the trip's first fix; the engine is shared across trips, in file order, so link
//! medians, dwell, halts, pause lengths and the error band are learned the way a live gateway
//! learns them. The actual arrival at a stop is the first fix within the stop radius
//! (searched after the previous stop's arrival), interpolated on the distance to the stop
//! between that fix and the one before (`replay.rs`). The no-signal timer is advanced every
//! 60 s of trip time.

pub mod generate;
pub mod input;
pub mod replay;
pub mod score;

use crate::tracking::{Engine, ShipmentSpec, TrackingConfig};
pub use input::{parse_shipments, parse_trips, Trip};
use score::Alerts;

/// Why the inputs cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("shipment file: {0}")]
    Shipment(String),
    #[error("trips file line {line}: {message}")]
    Csv { line: usize, message: String },
}

/// Runs every trip and scores the result.
pub fn evaluate(
    shipments: &[ShipmentSpec],
    trips: &[Trip],
    cfg: &TrackingConfig,
) -> Result<score::Report, EvalError> {
    for s in shipments {
        s.validate()
            .map_err(|e| EvalError::Shipment(format!("shipment {:?}: {e}", s.id)))?;
    }
    let mut engine = Engine::new(cfg.clone());
    let mut samples = Vec::new();
    let mut outcomes = Vec::new();
    for trip in trips {
        let base = input::shipment_of(shipments, trip)?;
        let Some(spec) = input::trip_spec(base, trip)? else {
            continue;
        };
        let first = trip.fixes[0].0;
        engine
            .insert(spec.clone(), None, first)
            .map_err(|e| EvalError::Shipment(e.to_string()))?;
        let r = replay::run_trip(&mut engine, &spec, trip, cfg);
        samples.extend(r.samples);
        outcomes.extend(r.outcomes);
    }
    Ok(score::Report::new(&samples, &Alerts::new(&outcomes)))
}

/// Default seed and size of the shipped trip set (`tests/fixtures/tracking/`).
pub const DEFAULT_SEED: u64 = 42;
/// See [`DEFAULT_SEED`].
pub const DEFAULT_TRIPS: usize = 40;

/// `--generate DIR [--hard]`: writes `shipment.json` (an array of the planned shipments) and
/// `trips.csv` for `seed` / `count` trips.
pub fn write_generated(
    dir: &std::path::Path,
    seed: u64,
    count: usize,
    preset: generate::Preset,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let spec = serde_json::to_string_pretty(&generate::shipments(preset))
        .map_err(std::io::Error::other)?;
    std::fs::write(dir.join("shipment.json"), spec + "\n")?;
    std::fs::write(
        dir.join("trips.csv"),
        generate::to_csv(&generate::trips(seed, count, preset)),
    )
}

/// `--config FILE`: the `[tracking]` table of a trackgate config file over the defaults,
/// validated.
pub fn tracking_config(path: &std::path::Path) -> Result<TrackingConfig, String> {
    use figment::providers::{Format, Serialized, Toml};
    let cfg: TrackingConfig =
        figment::Figment::from(Serialized::default("tracking", TrackingConfig::default()))
            .merge(Toml::file_exact(path))
            .extract_inner("tracking")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    cfg.validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(cfg)
}

/// `--shipment FILE --trips FILE`: reads, evaluates with `cfg`, returns the report.
pub fn run_files(
    shipment: &std::path::Path,
    trips: &std::path::Path,
    cfg: &TrackingConfig,
) -> Result<score::Report, EvalError> {
    let s = std::fs::read_to_string(shipment)
        .map_err(|e| EvalError::Shipment(format!("{}: {e}", shipment.display())))?;
    let specs = parse_shipments(&s)
        .map_err(|e| EvalError::Shipment(format!("{}: {e}", shipment.display())))?;
    let t = std::fs::read_to_string(trips).map_err(|e| EvalError::Csv {
        line: 0,
        message: format!("{}: {e}", trips.display()),
    })?;
    evaluate(&specs, &parse_trips(&t)?, cfg)
}
