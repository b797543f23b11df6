//! The `webhooks` log consumer: alerts → event history + outbox rows.
//!
//! The rows are written in one transaction before the runner commits the log offset, so a
//! crash in between replays the batch; `INSERT OR IGNORE` on the event id (and on
//! (subscription, event id) in the outbox) makes the replay a no-op.

use super::{order_key, payload, store::NewEvent, Store, CONSUMER_NAME};
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Feeds the store from the log and wakes the dispatcher.
pub struct WebhookConsumer {
    store: Store,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
}

impl WebhookConsumer {
    /// A consumer writing into `store`, waking `wake` when rows were queued.
    pub fn new(store: Store, wake: Arc<Notify>, shutdown: CancellationToken) -> Self {
        WebhookConsumer {
            store,
            wake,
            shutdown,
        }
    }
}

impl LogConsumer for WebhookConsumer {
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
                        body: payload(a).to_string(),
                    }),
                    _ => None,
                })
                .collect();
            if events.is_empty() {
                return Ok(());
            }
            // A store error (disk full, I/O) is retried: skipping would lose notifications,
            // and the log keeps the records meanwhile.
            let mut delay = Duration::from_millis(100);
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
                        tracing::error!(error = %e, "webhooks: cannot store events; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = self.shutdown.cancelled() => return Err(Stopped),
                        }
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
        })
    }
}
