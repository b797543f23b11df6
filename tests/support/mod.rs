//! Shared helpers for integration tests; each test binary includes this with `mod support;`
//! and uses what it needs.
//!
//! - [`services`]: private real servers (InfluxDB, VictoriaMetrics, Mosquitto) on loopback.
//! - [`gateway`]: an in-process gateway on port 0, its sockets, API and metrics.
//! - [`poll`]: [`eventually`], the one way to wait for an asynchronous outcome.
//! - [`records`]: log records with fixed defaults, appended straight to a gateway's log.
//! - [`influxql`]: InfluxDB 1.x read back with InfluxQL.
//! - [`mqtt`]: publish and subscribe against a private Mosquitto.
//! - [`wire`]: device frames built by hand with independently computed checksums.
#![allow(dead_code)] // each test binary uses a different subset

pub mod gateway;
pub mod influxql;
pub mod mqtt;
pub mod poll;
pub mod records;
pub mod services;
pub mod wire;

#[allow(unused_imports)]
pub use poll::{count_reaches, eventually};
