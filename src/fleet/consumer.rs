//! Fleet events as a consumer of the write-ahead log (position name `fleet`).

use super::handle::FleetHandle;
use crate::model::Record;
use crate::pipeline::runner::{LogConsumer, Stopped};
use futures::future::BoxFuture;
use std::sync::Arc;

/// Name of the fleet consumer's persisted log offset.
pub const CONSUMER_NAME: &str = "fleet";

/// Feeds durable positions to the fleet detector, in log order.
pub struct FleetConsumer(pub Arc<FleetHandle>);

impl LogConsumer for FleetConsumer {
    fn name(&self) -> Option<&str> {
        Some(CONSUMER_NAME)
    }

    /// Positions only: the events are derived from fixes (and their ignition flag).
    fn wants(&self, kind: &str) -> bool {
        kind == "position"
    }

    fn process<'a>(&'a self, records: &'a [Record]) -> BoxFuture<'a, Result<(), Stopped>> {
        Box::pin(async move { self.0.process(records).await.map_err(|()| Stopped) })
    }
}
