//! Sinks: consumers that copy records from the write-ahead log to an outside store.
//!
//! Each sink keeps its own offset in the log, so one store being down delays only that sink
//! and loses nothing: the log holds the records until the sink reports them delivered.

pub mod influx;
pub mod mqtt;
pub mod webhook;
