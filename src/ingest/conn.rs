//! One TCP device connection: read frames, decode, make durable, ACK — in order.

use super::codec::FrameCodec;
use super::frame_handler::handle;
use super::{IngestCtx, ProtoRuntime, WRITE_TIMEOUT};
use crate::protocol::DecodeCtx;
use crate::session::Session;
use crate::telemetry::{ConnLabel, ProtoLabel};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

/// Initial read and write buffer of a device connection, bytes (see the use in `serve`).
const CONN_BUFFER: usize = 256;

/// Serves one connection until the device hangs up, idles out, misbehaves or shutdown.
///
/// Frames are handled strictly one after another: frame N's ACK is written before frame N+1
/// is decoded, so ACKs go out in order and per-device records stay in order.
/// `stream` is the TCP socket, or the TLS stream over it on a `tls = true` listener.
pub async fn serve<S>(ctx: Arc<IngestCtx>, rt: ProtoRuntime, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let conn_label = ConnLabel {
        protocol: rt.name(),
        transport: "tcp",
    };
    let m = &ctx.metrics.ingest;
    m.connections.get_or_create(&conn_label).inc();
    m.connections_active.get_or_create(&conn_label).inc();
    let peer_s = peer.to_string();
    let decoder = match rt.protocol.new_decoder(&rt.decoder_options) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(protocol = rt.name(), error = %e, "decoder options rejected");
            m.connections_active.get_or_create(&conn_label).dec();
            return;
        }
    };
    let codec = FrameCodec::new(decoder, rt.name(), rt.config.max_frame, ctx.metrics.clone());
    // Small initial buffers (read and write each): most trackers send frames of 20–300 bytes
    // and sit idle between them, and idle connections are what a gateway holds by the
    // thousand; the buffers grow (doubling) for a Teltonika backlog packet when one comes.
    let mut framed = Framed::with_capacity(stream, codec, CONN_BUFFER);
    let mut session = Session::new(rt.name(), ctx.live.clone(), ctx.admission.clone());
    let idle = rt.config.idle_timeout();
    loop {
        let next = tokio::select! {
            biased;
            _ = ctx.shutdown.cancelled() => break,
            r = tokio::time::timeout(idle, framed.next()) => r,
        };
        let frame = match next {
            Err(_) => {
                m.idle_timeouts.get_or_create(&label).inc();
                tracing::debug!(protocol = rt.name(), peer = %peer_s, "idle timeout");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::info!(protocol = rt.name(), peer = %peer_s, error = %e, "connection closed");
                break;
            }
            Ok(Some(Ok(f))) => f,
        };
        m.frames.get_or_create(&label).inc();
        let now = Utc::now();
        let decoded = framed
            .codec_mut()
            .decoder
            .decode(&frame, &DecodeCtx { now });
        let outcome = handle(&ctx, &rt, &mut session, decoded, &peer_s, now).await;
        if let Some(bytes) = outcome.reply() {
            match tokio::time::timeout(WRITE_TIMEOUT, framed.send(bytes.clone())).await {
                Ok(Ok(())) => {
                    m.acks.get_or_create(&label).inc();
                }
                Ok(Err(e)) => {
                    tracing::info!(protocol = rt.name(), peer = %peer_s, error = %e, "ACK write failed");
                    break;
                }
                Err(_) => {
                    tracing::info!(protocol = rt.name(), peer = %peer_s, "ACK write timed out: client not reading");
                    break;
                }
            }
        }
        if outcome.closes() {
            break;
        }
    }
    m.connections_active.get_or_create(&conn_label).dec();
}
