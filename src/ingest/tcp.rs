//! TCP listener: accept, enforce `max_connections`, spawn one task per connection.

use super::{conn, IngestCtx, ProtoRuntime};
use crate::telemetry::ConnLabel;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// Accepts connections until shutdown. Over the limit, a connection is closed at once
/// (counted): the device retries later, and the devices already connected are not starved.
pub async fn run(
    listener: TcpListener,
    ctx: Arc<IngestCtx>,
    rt: ProtoRuntime,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(rt.config.max_connections));
    let label = ConnLabel {
        protocol: rt.name(),
        transport: "tcp",
    };
    loop {
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(protocol = rt.name(), error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            ctx.metrics
                .ingest
                .connections_refused
                .get_or_create(&label)
                .inc();
            drop(stream);
            continue;
        };
        let ctx = ctx.clone();
        let rt = rt.clone();
        tracker.spawn(async move {
            conn::serve(ctx, rt, stream, peer).await;
            drop(permit);
        });
    }
}
