//! Tracking as a consumer of the write-ahead log, and its no-signal timer.

use super::handle::TrackingHandle;
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Name of tracking's persisted log offset.
pub const CONSUMER_NAME: &str = "tracking";

/// Feeds durable records to the tracking engine, in log order.
pub struct TrackingConsumer(pub Arc<TrackingHandle>);

impl LogConsumer for TrackingConsumer {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }
    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move { self.0.process(records).await.map_err(|()| Stopped) })
    }
}

/// Runs the clock-driven rules every `period` with `clock()` as "now" until shutdown.
/// The clock is injected so tests drive it; production passes `Utc::now`.
pub async fn run_timer(
    handle: Arc<TrackingHandle>,
    period: Duration,
    clock: impl Fn() -> DateTime<Utc> + Send + 'static,
    shutdown: CancellationToken,
) {
    let mut iv = tokio::time::interval(period.max(Duration::from_millis(10)));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = iv.tick() => {
                if handle.tick(clock()).await.is_err() {
                    return;
                }
            }
        }
    }
}
