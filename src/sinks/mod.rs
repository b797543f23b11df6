//! Sinks: what pushes records outward — InfluxDB, the MQTT publisher, webhook delivery.
//!
//! The InfluxDB writer and the MQTT publisher are log consumers, each with its own position,
//! so one store being down delays only that sink and loses nothing: the log holds the records
//! until the sink reports them delivered. Webhook delivery reads the outbox of the embedded
//! output store ([`crate::outputs`]), which its own consumer fills from the log.

pub mod http;
pub mod influx;
pub mod mqtt;
pub mod webhook;
