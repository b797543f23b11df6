//! Fleet operations: geofences and the fleet events derived from positions
//! (`geofence_enter` / `geofence_exit`, `overspeed`, `ignition_on` / `ignition_off`,
//! `motion_start` / `motion_stop`).
//!
//! A consumer of the write-ahead log ([`consumer::FleetConsumer`], position `fleet`), like
//! tracking: it reads positions in log order, runs the per-device state machines on fix time
//! and appends the events (`Record::Alert`) back to the log, durably, before its offset
//! commits, so they reach InfluxDB `event`, MQTT, webhooks, `/api/events` and the stream
//! exactly as tracking's alerts do. Replays and backlog uploads give the same events.
//!
//! ```text
//! geofence.rs  posted shape + validation     shape.rs     exact depth test (geo)
//! index.rs     R-tree of boxes (rstar)       detect.rs    per-device state machines
//! config.rs    [events]                      store.rs     SQLite (fleet.sqlite)
//! handle.rs    index + detector + store      consumer.rs  log consumer
//! metrics.rs   events by type, geofences
//! trips.rs     trip / stop / day figures     report_store.rs  their tables, report queries
//! ```

pub mod config;
pub mod consumer;
pub mod detect;
pub mod geofence;
pub mod handle;
pub mod index;
pub mod metrics;
pub mod presence;
pub mod report_store;
pub mod shape;
pub mod store;
pub mod trips;

pub use config::EventsConfig;
pub use handle::FleetHandle;

#[cfg(test)]
mod scale_tests;
