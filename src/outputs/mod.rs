//! The embedded store of live outputs and its handle: the event history behind
//! `/api/events`, webhook subscriptions, the delivery outbox, and the last fix time published
//! per device on MQTT (SQLite under `storage.dir`, see [`store`]).
//!
//! Data flows one way: the outputs consumer ([`consumer`]) turns alerts from the log into
//! event and outbox rows; the API reads and manages them through [`Outputs`]; the sinks that
//! push outward (webhook dispatcher, MQTT publisher) read them. Nothing here sends anything
//! to the outside, so the API depends on this module and never on `sinks`.

pub mod audit;
pub mod console;
pub mod consumer;
pub mod json;
pub mod metrics;
pub mod outbox;
pub mod store;

pub use consumer::EventConsumer;
pub use metrics::OutputMetrics;
pub use store::Store;

use crate::pipeline::log::SharedLog;
use crate::pipeline::runner::Consumers;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Name of the outputs consumer's position in the log (its first name, kept so existing data
/// directories continue where they stopped).
pub const CONSUMER_NAME: &str = "webhooks";

/// File name of the embedded store under `storage.dir`.
pub const STORE_FILE: &str = "outputs.sqlite";

/// How often the store drops what is older than `storage.retention`.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The live outputs as the API and the sinks share them.
#[derive(Clone)]
pub struct Outputs {
    /// Event history, subscriptions, outbox, MQTT last-published times.
    pub store: Store,
    /// The log, read by the event stream.
    pub log: SharedLog,
    /// Wakes the webhook dispatcher (new outbox rows, a redrive).
    pub wake: Arc<Notify>,
    /// Output metrics (webhook attempts, MQTT publishes, stream drops).
    pub metrics: OutputMetrics,
    /// Ends open event streams on shutdown, so they do not hold the drain.
    pub shutdown: CancellationToken,
}

impl Outputs {
    /// Makes `dir` private (0700, files 0600: the store holds webhook secrets), opens the
    /// store in it, starts the outputs consumer on `consumers` and the hourly prune (records
    /// older than `retention`).
    pub async fn open(
        dir: &Path,
        retention: Duration,
        log: SharedLog,
        consumers: &Consumers,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<Outputs, String> {
        match crate::secret::perms::make_private(dir) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(dir = %dir.display(), entries = n, "storage.dir made private (0700, files 0600)")
            }
            Err(e) => {
                return Err(format!(
                    "storage dir {}: cannot make it private: {e}",
                    dir.display()
                ))
            }
        }
        let path = dir.join(STORE_FILE);
        let store = Store::open(&path).map_err(|e| format!("store {}: {e}", path.display()))?;
        let metrics = OutputMetrics::default();
        let wake = Arc::new(Notify::new());
        let consumer = EventConsumer::new(store.clone(), wake.clone(), shutdown.clone());
        consumers
            .spawn(Arc::new(consumer))
            .await
            .map_err(|e| format!("outputs consumer: {e}"))?;
        tracker.spawn(prune_loop(store.clone(), retention, shutdown.clone()));
        Ok(Outputs {
            store,
            log,
            wake,
            metrics,
            shutdown,
        })
    }
}

/// Prunes the store at start and then every [`PRUNE_EVERY`] until shutdown.
async fn prune_loop(store: Store, retention: Duration, shutdown: CancellationToken) {
    loop {
        let keep = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(keep);
        match store.prune(cutoff).await {
            Ok((d, e)) if d + e > 0 => {
                tracing::info!(deliveries = d, events = e, "outputs store pruned")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outputs store prune failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
