//! The outputs log consumer (position name `webhooks`): alerts → event history + one outbox
//! row per matching webhook subscription.
//!
//! The rows are written in one transaction before the runner commits the log offset, so a
//! crash in between replays the batch; `INSERT OR IGNORE` on the event id (and on
//! (subscription, event id) in the outbox) makes the replay a no-op.

use super::json::{alert_json, order_key};
use super::{store::NewEvent, Store, CONSUMER_NAME};
use crate::backoff::Backoff;
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Backoff while the store cannot be written (disk full, I/O).
const STORE_RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));

/// Feeds the store from the log and wakes the dispatcher.
pub struct EventConsumer {
    store: Store,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
}

impl EventConsumer {
    /// A consumer writing into `store`, waking `wake` when rows were queued.
    pub fn new(store: Store, wake: Arc<Notify>, shutdown: CancellationToken) -> Self {
        EventConsumer {
            store,
            wake,
            shutdown,
        }
    }
}

impl EventConsumer {
    /// Runs a store write until it succeeds: skipping would lose notifications or audit
    /// entries, and the log keeps the records meanwhile (disk full, I/O).
    async fn until_stored<T, F, Fut>(&self, what: &str, mut write: F) -> Result<T, Stopped>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::outputs::store::StoreError>>,
    {
        let mut retry = STORE_RETRY.retry();
        loop {
            match write().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let delay = retry.next_delay();
                    tracing::error!(error = %e, retry_in = ?delay, "outputs: cannot store {what}; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.shutdown.cancelled() => return Err(Stopped),
                    }
                }
            }
        }
    }
}

impl LogConsumer for EventConsumer {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }

    /// Alerts become events and deliveries; audit entries are kept for `/api/audit`.
    fn wants(&self, kind: &str) -> bool {
        kind == "alert" || kind == "audit"
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move {
            let mut events = Vec::new();
            let mut audit = Vec::new();
            for r in records {
                match r {
                    Record::Alert(a) => events.push(NewEvent {
                        id: a.id.clone(),
                        kind: a.kind.clone(),
                        device: a.device.as_str().to_string(),
                        shipment: a.shipment.clone(),
                        customer: a.customer.clone(),
                        time_ms: a.time.timestamp_millis(),
                        order_key: order_key(a),
                        body: alert_json(a).to_string(),
                    }),
                    Record::Audit(e) => audit.push(e.clone()),
                    _ => {}
                }
            }
            if !events.is_empty() {
                let queued = self
                    .until_stored("events", || {
                        let now = chrono::Utc::now().timestamp_millis();
                        self.store.insert_events(events.clone(), now)
                    })
                    .await?;
                if queued > 0 {
                    self.wake.notify_one();
                }
            }
            if !audit.is_empty() {
                self.until_stored("audit entries", || self.store.insert_audit(audit.clone()))
                    .await?;
            }
            Ok(())
        })
    }
}
