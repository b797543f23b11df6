//! TCP listener: accept, enforce `max_connections` and the per-source-address limits
//! ([`super::limits`]), spawn one task per connection (which runs the TLS handshake first
//! when the listener has `tls = true`).

use super::limits::{PerIp, PerIpRefusal};
use super::{conn, IngestCtx, ProtoRuntime};
use crate::telemetry::{ConnLabel, ConnReasonLabel};
use crate::tls::server::TlsGate;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

/// Accepts connections until shutdown. Over a limit (per source address, then per
/// protocol), a connection is closed at once (counted): the device retries later, and the
/// devices already connected are not starved.
pub async fn run(
    listener: TcpListener,
    ctx: Arc<IngestCtx>,
    rt: ProtoRuntime,
    tracker: TaskTracker,
    tls: Option<TlsGate>,
) {
    let slots = Arc::new(Semaphore::new(rt.config.max_connections));
    let per_ip = PerIp::new(
        rt.config.max_connections_per_ip,
        rt.config.new_connections_per_ip_per_sec,
    );
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
        let ip_slot = match per_ip.admit(peer.ip(), std::time::Instant::now()) {
            Ok(s) => s,
            Err(why) => {
                refused_per_ip(&ctx, &rt, why);
                drop(stream);
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
        let tls = tls.clone();
        tracker.spawn(async move {
            let _ = stream.set_nodelay(true);
            match tls {
                None => conn::serve(ctx, rt, stream, peer).await,
                Some(gate) => {
                    // The handshake runs here, in the connection's task, under the gate's
                    // deadline and slot cap: never in the accept loop.
                    let tls = tokio::select! {
                        _ = ctx.shutdown.cancelled() => None,
                        r = gate.accept(stream) => r.map_err(|e| {
                            tracing::debug!(protocol = rt.name(), %peer, error = %e, "TLS handshake");
                        }).ok(),
                    };
                    if let Some(s) = tls {
                        conn::serve(ctx, rt, s, peer).await;
                    }
                }
            }
            drop((permit, ip_slot));
        });
    }
}

/// Counts a connection refused by a per-source-address limit (not logged: a flood would
/// flood the log too; the counter says it).
fn refused_per_ip(ctx: &IngestCtx, rt: &ProtoRuntime, why: PerIpRefusal) {
    ctx.metrics
        .ingest
        .connections_refused_per_ip
        .get_or_create(&ConnReasonLabel {
            protocol: rt.name(),
            transport: "tcp",
            reason: why.as_str(),
        })
        .inc();
}
