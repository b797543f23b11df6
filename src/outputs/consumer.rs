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

impl LogConsumer for EventConsumer {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }

    /// Only alerts become events and deliveries.
    fn wants(&self, kind: &str) -> bool {
        kind == "alert"
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move {
            let events: Vec<NewEvent> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Alert(a) => Some(NewEvent {
                        id: a.id.clone(),
                        kind: a.kind.clone(),
                        device: a.device.as_str().to_string(),
                        shipment: a.shipment.clone(),
                        time_ms: a.time.timestamp_millis(),
                        order_key: order_key(a),
                        body: alert_json(a).to_string(),
                    }),
                    _ => None,
                })
                .collect();
            if events.is_empty() {
                return Ok(());
            }
            // A store error (disk full, I/O) is retried: skipping would lose notifications,
            // and the log keeps the records meanwhile.
            let mut retry = STORE_RETRY.retry();
            loop {
                let now = chrono::Utc::now().timestamp_millis();
                match self.store.insert_events(events.clone(), now).await {
                    Ok(queued) => {
                        if queued > 0 {
                            self.wake.notify_one();
                        }
                        return Ok(());
                    }
                    Err(e) => {
                        let delay = retry.next_delay();
                        tracing::error!(error = %e, retry_in = ?delay, "outputs: cannot store events; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = self.shutdown.cancelled() => return Err(Stopped),
                        }
                    }
                }
            }
        })
    }
}
