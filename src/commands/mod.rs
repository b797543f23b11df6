//! Downlink commands: the durable queue (`store.rs`, `<storage.dir>/commands.sqlite3`), the
//! request check (`request.rs`) and the per-connection courier (`courier.rs`) that writes
//! queued commands to a device's TCP connection and matches its answers.
//!
//! Why this shape: a command is accepted by the API while its device may be offline, so it
//! must outlive the request and a restart (the queue file); it can only be written on the
//! device's own connection, so the connection task delivers it, at a point where that is
//! safe (after the ACK of a frame from the device: the device has just shown it is listening,
//! and Teltonika accepts codec 12 only once its records are ACKed). The protocol encoders and
//! answer recognisers are sans-IO (`protocol::<p>::command`); here is the I/O.
//!
//! Delivery happens when a connection identifies its device (login, IMEI handshake, any
//! JT/T 808 header) and after every later frame from it, so a command queued while the
//! device is connected goes out with the device's next frame (its next heartbeat at the
//! latest); a command is never pushed to an idle connection between frames.
//!
//! What a status means: `sent` = the bytes were handed to the connection's socket (not that
//! the device read them: TCP gives no such promise); `acknowledged` = the device answered
//! (GT06 0x15/0x21, Teltonika codec 12 type 0x06, JT/T 808 0x0001 result 0 / 0x0201 / 0x0104),
//! with its answer. Answers carrying the command's number (GT06 server flag, JT/T 808 reply
//! serial) find it exactly; Teltonika answers carry nothing, so they go to the device's
//! oldest sent command. A connection lost after `sent` leaves the command `sent` until its
//! answer comes on a later connection or it expires. Each transition to `sent`,
//! `acknowledged` or `failed` is also an event in the log (`events.rs`). Over UDP (one task per peer)
//! only codecs whose commands are valid datagrams deliver (H02; not Teltonika, whose UDP
//! wrapping of codec 12 is not implemented), after the device's next datagram. Not done:
//! the other protocols.

pub mod config;
pub mod courier;
pub mod events;
pub mod metrics;
pub mod request;
pub mod store;

pub use config::CommandsConfig;
pub use courier::Courier;
pub use store::{Cancel, CommandRow, CommandStore, NewCommand, Status, StoreError};

use crate::pipeline::{AckMode, DurableStage};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// File name of the queue under `storage.dir`.
pub const FILE: &str = "commands.sqlite3";

/// The queue and the in-memory list of devices that have queued commands, so a frame from
/// any other device costs a shared-lock hash lookup, not a query. Cheap to clone.
#[derive(Clone)]
pub struct Commands {
    pub store: CommandStore,
    /// The ceilings (`[commands]`).
    pub config: CommandsConfig,
    /// `trackgate_commands_total` (registered by the server).
    pub metrics: metrics::CommandMetrics,
    /// Where transitions are written as events (the durable log); `None`: no events.
    events: Option<Arc<dyn DurableStage>>,
    /// Device → the generation of its last enqueue (see [`Commands::settle`]).
    waiting: Arc<RwLock<HashMap<String, u64>>>,
    generation: Arc<AtomicU64>,
}

impl Commands {
    /// Opens (creating) `<dir>/commands.sqlite3` and loads which devices have queued
    /// commands (a restart keeps them).
    pub async fn open(dir: &Path, config: CommandsConfig) -> Result<Commands, StoreError> {
        let store = CommandStore::open(&dir.join(FILE))?;
        let devices = store.queued_devices().await?;
        let c = Commands {
            store,
            config,
            metrics: metrics::CommandMetrics::default(),
            events: None,
            waiting: Arc::default(),
            generation: Arc::new(AtomicU64::new(1)),
        };
        for d in devices {
            c.notify(&d);
        }
        Ok(c)
    }

    /// Writes the transitions as events into `log` (see [`events`]).
    pub fn with_events(mut self, log: Arc<dyn DurableStage>) -> Self {
        self.events = Some(log);
        self
    }

    /// Appends the event of `row` becoming `kind` (one of [`events`]' types) to the log,
    /// durably. A failure is logged: the command's own status is already stored.
    pub async fn emit(&self, row: &CommandRow, kind: &'static str) {
        let status = match kind {
            events::SENT => "sent",
            events::ACKNOWLEDGED => "acknowledged",
            _ => "failed",
        };
        self.metrics.count(&row.protocol, status);
        let Some(log) = &self.events else { return };
        let Some(alert) = events::alert(row, kind, chrono::Utc::now()) else {
            return;
        };
        if let Err(e) = log
            .append(vec![crate::model::Record::Alert(alert)], AckMode::Durable)
            .await
        {
            tracing::warn!(command = row.seq, event = kind, error = %e, "command event not stored");
        }
    }

    /// Marks `device` as having queued commands (after an insert).
    pub fn notify(&self, device: &str) {
        let g = self.generation.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut w) = self.waiting.write() {
            w.insert(device.to_string(), g);
        }
    }

    /// The generation of `device`'s queued commands, if it may have some.
    pub fn waiting(&self, device: &str) -> Option<u64> {
        self.waiting.read().ok()?.get(device).copied()
    }

    /// Forgets `device` after its queue was drained — unless something was queued for it
    /// since generation `seen` was read (that command goes out with the next frame).
    pub fn settle(&self, device: &str, seen: u64) {
        if let Ok(mut w) = self.waiting.write() {
            if w.get(device) == Some(&seen) {
                w.remove(device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_keeps_a_device_queued_for_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = rt
            .block_on(Commands::open(dir.path(), CommandsConfig::default()))
            .unwrap();
        assert_eq!(c.waiting("a"), None);
        c.notify("a");
        let g = c.waiting("a").unwrap();
        c.notify("a"); // queued while the courier was delivering
        c.settle("a", g);
        let g2 = c.waiting("a").expect("still waiting");
        c.settle("a", g2);
        assert_eq!(c.waiting("a"), None);
    }
}
