//! The fleet simulator end to end, one test binary (the simulator's sources are compiled in
//! once, see below) with a file per subject:
//! - `smoke`: the smoke scenario (GT06, Teltonika TCP/UDP, JT/T 808 2013/2019) against an
//!   in-process gateway on port 0 that writes to a real InfluxDB and publishes to a real
//!   Mosquitto: every fix ACKed, backlog uploaded, API and retained MQTT positions are the
//!   newest ACKed fix, InfluxDB holds exactly one point per ACKed fix and ETA points.
//! - `kinds`: h02, gps103, osmand (HTTP) and owntracks (MQTT, real Mosquitto).
//! - `demo`: the demo (gateway + fleet with twisted plans) shows arrivals, late and
//!   off-route exceptions.
//! - `load`: the load harness against the gateway and its baseline servers.
//!
//! Needs `influxd` and `mosquitto` on PATH: `.ci/services.sh install`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/mod.rs"]
mod support;

// The simulator crate's sources, compiled into this test (the gateway package cannot depend
// on the workspace member that depends on it); they only use `super::` paths for this reason.
#[path = "../../simulator/src/lib.rs"]
#[allow(dead_code)]
mod sim;

mod demo;
mod kinds;
mod load;
mod smoke;
