//! UDP listener: one task per peer so a peer's datagrams stay in order while a slow durable
//! append for one device never delays another.

use super::frame_handler::{handle, Outcome};
use super::{IngestCtx, ProtoRuntime};
use crate::commands::Courier;
use crate::protocol::DecodeCtx;
use crate::telemetry::{ConnLabel, ProtoLabel};
use bytes::Bytes;
use chrono::Utc;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// Datagrams queued per peer before new ones are dropped (the device retries unACKed data).
const PEER_QUEUE: usize = 64;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;

type Peers = Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Bytes>>>>;

/// Receives datagrams until shutdown.
pub async fn run(socket: UdpSocket, ctx: Arc<IngestCtx>, rt: ProtoRuntime, tracker: TaskTracker) {
    let socket = Arc::new(socket);
    let peers: Peers = Arc::new(Mutex::new(HashMap::new()));
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    loop {
        let received = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            r = socket.recv_from(&mut buf) => r,
        };
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(protocol = rt.name(), error = %e, "udp recv failed");
                continue;
            }
        };
        ctx.metrics.ingest.frames.get_or_create(&label).inc();
        let dgram = Bytes::copy_from_slice(&buf[..n]);
        let tx = {
            let mut map = peers.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= rt.config.max_connections && !map.contains_key(&peer) {
                ctx.metrics
                    .ingest
                    .connections_refused
                    .get_or_create(&ConnLabel {
                        protocol: rt.name(),
                        transport: "udp",
                    })
                    .inc();
                continue;
            }
            map.entry(peer)
                .or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(PEER_QUEUE);
                    tracker.spawn(serve_peer(
                        ctx.clone(),
                        rt.clone(),
                        socket.clone(),
                        peer,
                        rx,
                        peers.clone(),
                    ));
                    tx
                })
                .clone()
        };
        if tx.try_send(dgram).is_err() {
            ctx.metrics.ingest.acks_withheld.get_or_create(&label).inc();
        }
    }
}

async fn serve_peer(
    ctx: Arc<IngestCtx>,
    rt: ProtoRuntime,
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<Bytes>,
    peers: Peers,
) {
    let peer_s = peer.to_string();
    let mut decoder = match rt.protocol.new_decoder(&rt.decoder_options) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(protocol = rt.name(), error = %e, "decoder options rejected");
            return;
        }
    };
    let (mut session, close) = ctx.connection_session(&rt, peer);
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let conn_label = ConnLabel {
        protocol: rt.name(),
        transport: "udp",
    };
    let m = &ctx.metrics.ingest;
    let idle = rt.config.idle_timeout();
    // An unidentified peer holds its table slot this long at most (spoofed sources cost a
    // slot each), and as many bad datagrams.
    let identify_by = tokio::time::Instant::now() + rt.config.identify_timeout();
    let mut bad_left = rt.config.max_bad_frames;
    let courier = Courier::for_udp(ctx.commands.as_ref(), rt.protocol);
    loop {
        let unidentified = session.device().is_none();
        let dgram = tokio::select! {
            _ = close.cancelled() => break,
            _ = tokio::time::sleep_until(identify_by), if unidentified => {
                m.identify_timeouts.get_or_create(&conn_label).inc();
                break;
            }
            r = tokio::time::timeout(idle, rx.recv()) => match r {
                Ok(Some(d)) => d,
                _ => break,
            },
        };
        let now = Utc::now();
        let decoded = decoder.decode_datagram(&dgram, &DecodeCtx { now });
        let outcome = handle(
            &ctx,
            &rt,
            &mut session,
            decoder.as_mut(),
            decoded,
            &peer_s,
            now,
        )
        .await;
        if session.device().is_none() && outcome.is_bad() {
            bad_left = bad_left.saturating_sub(1);
            if bad_left == 0 {
                m.bad_frame_closes.get_or_create(&conn_label).inc();
                break;
            }
        }
        if let Some(b) = outcome.reply() {
            if socket.send_to(b, peer).await.is_ok() {
                ctx.metrics.ingest.acks.get_or_create(&label).inc();
            }
        }
        if outcome.closes() {
            break;
        }
        // Downlink commands go out after the answer to an accepted datagram.
        if let (Some(c), Some(dev), Outcome::Accepted { .. }) =
            (&courier, session.device(), &outcome)
        {
            let out = futures::sink::unfold((), |(), b: Bytes| {
                let socket = socket.clone();
                async move { socket.send_to(&b, peer).await.map(|_| ()) }
            });
            let mut out = std::pin::pin!(out);
            if let Err(e) = c.after_frame(dev, &dgram, &mut out).await {
                tracing::debug!(protocol = rt.name(), peer = %peer_s, error = %e, "command datagram not sent");
            }
        }
    }
    peers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&peer);
}
