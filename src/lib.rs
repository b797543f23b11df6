//! trackgate: a GPS/GPRS vehicle telematics ingestion server.
//!
//! # Layout
//! ```text
//! model/      plain data: DeviceId, Position, DeviceEvent, Alarm, Record
//! protocol/   SANS-IO device protocols; mod.rs = Protocol trait + REGISTRY (the only list)
//!   wire.rs   bounded cursor reads, BCD, CRC helpers
//!   <name>/   framer, decoder, encoder, tests — one module per protocol
//! ingest/     sockets: tcp.rs, udp.rs, conn.rs (one task per connection), codec.rs,
//!             http.rs (OsmAnd, OwnTracks HTTP), mqtt.rs (rumqttc subscriber)
//! session/    device session state machine, admission (devices.allow)
//! pipeline/   write-ahead log (wal/), the durable stage the ACK waits on (wal_stage.rs),
//!             log consumers each reading from their own persisted offset (runner.rs)
//! state/      live positions (read by the API)
//! tracking/   shipments, route progress, ETA, exceptions: a log consumer + SQLite store
//! api/        axum routes: health, metrics, devices, shipments, webhooks, events, stream (SSE)
//! sinks/      log consumers: influx/, mqtt/ (publisher), webhook/ (event store, outbox,
//!             dispatcher, signing)
//! tools/      `trackgate decode`, `trackgate replay`, `trackgate eval-eta`
//! config.rs   serde structs, every field documented, validated once
//! telemetry.rs  tracing + Prometheus metrics
//! shutdown.rs   one cancellation token, drain with a deadline
//! server.rs   assembles a running gateway from a Config
//! ```
//!
//! # Data flow
//! ```text
//! tracker ─TCP/UDP/HTTP/MQTT─▶ ingest ─▶ protocol decode (records + ACK plan)
//!   ─▶ session (admission) ─▶ write-ahead log append + fsync ─▶ ACK written to the device
//!
//! write-ahead log ─▶ live state (API)             each consumer resumes from its own offset
//!                 ─▶ tracking ─▶ Eta/Alert records appended back to the log
//!                 ─▶ InfluxDB · MQTT publisher · webhooks/event store · SSE readers
//! ```
//! A device's ACK is a promise: it is written only after the log fsynced the frame's records.

pub mod api;
pub mod config;
pub mod ingest;
pub mod model;
pub mod pipeline;
pub mod protocol;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sinks;
pub mod state;
pub mod telemetry;
pub mod tools;
pub mod tracking;
