//! trackgate-sim: a fleet of virtual trucks that speak the real tracker protocols over real
//! sockets, built on trackgate's own uplink encoders. It drives demos, end-to-end tests and
//! the load benchmark.
//!
//! Layout (data flows top to bottom):
//! ```text
//! scenario.rs   TOML scenario: fleet size, protocol mix, routes, motion, targets, bounds
//! demo.rs       `trackgate-sim demo`: the gateway in-process + the embedded demo fleet
//! fleet.rs      builds the devices, optional shipments, progress line, stop and drain
//! device.rs     one device's session loop: report timer, gap buffer, connect/login with
//!               backoff, upload + wait for each ACK with resend on timeout
//! link.rs       the session's socket: TCP, UDP, HTTP (status = reply), MQTT (PUBACK = reply)
//! proto/        SimProtocol (sans-IO device side of a protocol) + KINDS, one file each
//! motion.rs     truck on a route: speed profile, stops, depots, parking, GPS noise/jumps,
//!               gaps; expected average speed (what shipments are planned with)
//! route.rs      polylines: GeoJSON LineString or generated; distance lookups
//! shipments.rs  POST /api/shipments for each device, fair or twisted (late, off route)
//! stats.rs      counters + ACK latency histogram (progress line, reports)
//! load.rs       closed-loop load benchmark and the baseline servers; load/conns.rs: idle
//!               soak and reconnect storm (load/net.rs source addresses, load/procfs.rs)
//! ```
//! Every path inside this crate is written relative (`super::`), never `crate::`: the
//! gateway's `tests/sim_e2e/` compiles these sources as a module of its own test crate.

pub mod demo;
pub mod device;
pub mod fleet;
mod link;
pub mod load;
pub mod motion;
pub mod proto;
pub mod route;
pub mod scenario;
pub mod shipments;
pub mod stats;
