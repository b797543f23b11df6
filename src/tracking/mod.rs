//! Tracking: shipments on planned routes, progress, live ETA, deviation and exceptions.
//!
//! A consumer of the write-ahead log ([`consumer::TrackingConsumer`]): it reads positions and
//! device alarms in log order, runs the engine on fix time and appends its outputs
//! (`Record::Eta`, `Record::Alert`) back to the log, durably, before its offset commits; the
//! sinks read them from there. Pure logic lives in small files:
//!
//! ```text
//! shipment.rs    posted shape + validation      cleaning.rs   which fixes count
//! projection.rs  route measure, windowed locate motion.rs     moving / stopped
//! stops.rs       arrival, departure, skipped    eta.rs        links, pace, error band
//! history.rs     learned times by time of day   hos.rs        driving-time rules (EU/US)
//! driver.rs      driving time, standstills      predict.rs    the ETA walk and its spread
//! habits.rs      where/how long drivers pause
//! exceptions/    hysteresis state machines      tracker.rs    one shipment, per fix
//! rules.rs       dwell, ETA/late/early, timer   engine.rs     all shipments, alarms
//! view.rs        API shape                      store.rs      SQLite persistence
//! handle.rs      engine + store + pipeline      consumer.rs   log consumer, timer
//! ```
//! See `docs/tracking.md` for the model and its thresholds.

pub mod cleaning;
pub mod config;
pub mod consumer;
pub mod driver;
pub mod engine;
pub mod eta;
pub mod exceptions;
pub mod habits;
pub mod handle;
pub mod history;
pub mod hos;
pub mod motion;
mod predict;
pub mod projection;
mod rules;
pub mod shipment;
pub mod stops;
pub mod store;
pub mod tracker;
pub mod view;
mod visits;

pub use config::TrackingConfig;
pub use engine::Engine;
pub use handle::TrackingHandle;
pub use hos::HosRules;
pub use shipment::ShipmentSpec;

#[cfg(test)]
mod tests;
