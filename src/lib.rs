//! trackgate: a GPS/GPRS vehicle telematics ingestion server.
//!
//! # Layout
//! ```text
//! model/      plain data: DeviceId, Position (+ its one JSON view), DeviceEvent, Alarm, Record
//! protocol/   SANS-IO device protocols; mod.rs = Protocol trait + REGISTRY (the only list)
//!   declare.rs  StreamProtocol: what a stream protocol declares (blanket impls do the rest)
//!   options.rs  [protocols.<p>.options] read with defaults, unknown keys refused
//!   fix.rs    the one encoder Fix (tests, simulator)
//!   wire.rs   bounded cursor reads, BCD, CRC helpers, the framer's Cut
//!   <name>/   framer, decoder, encoder, tests — one module per protocol
//! session/    who a connection speaks for: admission (devices.allow, devices.keys), device
//!             codes (JT/T 808 auth, devices.sqlite3), presence (takeover), fix-time check
//! ingest/     sockets: tcp.rs, udp.rs, conn.rs (one task per connection), codec.rs,
//!             limits.rs (per-source-address connection cap and rate),
//!             http.rs (OsmAnd, OwnTracks HTTP), mqtt.rs (rumqttc subscriber);
//!             frame_handler.rs: admission + durability → an Outcome each transport answers
//! pipeline/   the durable stage the ACK waits on, the log seam readers use (log.rs), the
//!             record encoding (records.rs), the local write-ahead log (wal/, local.rs),
//!             log consumers each reading from their own position (runner.rs)
//! state/      live positions (read by the API), evicted after devices.forget_after
//! tracking/   shipments, route progress, ETA, exceptions: a log consumer + SQLite store
//! fleet/      geofences (R-tree + exact test) and fleet events (enter/exit, overspeed,
//!             ignition, motion): a log consumer + SQLite store, like tracking
//! outputs/    embedded store of live outputs (events, subscriptions, outbox, MQTT
//!             last-published), its handle, and the alert JSON; filled by its log consumer
//! sinks/      what pushes outward: influx/, mqtt/ (publisher), webhook/ (delivery, signing)
//! mqtt/       the shared [mqtt] broker link: settings, URL parsing, client options (TLS)
//! tls/        rustls (aws-lc-rs): PEM files, outbound client configs (client.rs)
//! egress/     where webhooks may connect: inward address ranges refused, guarded resolution
//! secret/     the Secret type (redacted when printed), *_file secrets, private data dir
//! api/        axum routes: health, metrics, devices, shipments, webhooks, events, stream (SSE),
//!             the console's pages, exceptions (acks), shipment history, tracking links;
//!             tenant.rs (what a customer token sees), paging.rs (`?limit=&after=`)
//! console/    the ops web page (embedded assets), its settings and ETA history/trails
//! tools/      `trackgate decode`, `trackgate replay`, `trackgate eval-eta`
//! config.rs   the configuration: sections, defaults, validated once (naming the key)
//! backoff.rs  the one retry schedule (exponential, equal jitter)
//! duration_text.rs  "7d" / "250ms" durations in config
//! telemetry.rs  tracing + Prometheus metrics
//! shutdown.rs   one cancellation token, drain with a deadline
//! sqlite_task.rs one SQLite connection run on the blocking pool (outputs, commands)
//! fuzzing.rs    fuzz harnesses (properties any outside input keeps), for fuzz/ and the tests
//! registry/   device registry (name, plate, group, customer, ...) and groups: SQLite +
//!             memory copy; CSV import/export; read by admission and the API
//! commands/   downlink commands: durable queue (commands.sqlite3), request check, and the
//!             courier a device connection uses to send them and match the answers
//! server/     assembles a running gateway from a Config: storage, consumers, listeners, API
//! ```
//!
//! # Data flow
//! ```text
//! tracker ─TCP/UDP/HTTP/MQTT─▶ ingest ─▶ protocol decode (records + ACK plan)
//!   ─▶ session (admission) ─▶ durable log append + fsync ─▶ ACK written to the device
//!
//! log ─▶ live state (API)                 each consumer resumes from its own position
//!     ─▶ tracking ─▶ Eta/Alert records appended back to the log
//!     ─▶ fleet ─▶ Alert records (geofence, overspeed, ignition, motion) appended back
//!     ─▶ InfluxDB · outputs store (events, webhook outbox ─▶ dispatcher) · MQTT publisher
//!     ─▶ SSE readers
//! ```
//! A device's ACK is a promise: it is written only after the log fsynced the frame's records.
//!
//! Dependencies point one way: `config` gathers the sections; a module below `server`
//! imports `config` only for its own section; `api` reads `state`, `tracking` and `outputs`,
//! never `sinks`; `state` and `outputs` see only `model` and the log seam.

pub mod api;
pub mod backoff;
pub mod commands;
pub mod config;
pub mod console;
pub mod duration_text;
pub mod egress;
pub mod fleet;
pub mod fuzzing;
pub mod ingest;
pub mod model;
pub mod mqtt;
pub mod outputs;
pub mod pipeline;
pub mod protocol;
pub mod registry;
pub mod secret;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod sinks;
pub mod sqlite_task;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod tools;
pub mod tracking;
