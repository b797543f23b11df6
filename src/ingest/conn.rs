//! One TCP device connection: read frames, decode, make durable, ACK — in order.

use super::codec::{FrameCodec, StreamError};
use super::frame_handler::{handle, Outcome};
use super::{IngestCtx, ProtoRuntime, WRITE_TIMEOUT};
use crate::commands::Courier;
use crate::protocol::DecodeCtx;
use crate::telemetry::{ConnLabel, ProtoLabel};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

/// Initial read and write buffer of a device connection, bytes (see the use in `serve`).
const CONN_BUFFER: usize = 256;

/// Serves one connection until the device hangs up, idles out, misbehaves (no identity
/// within `identify_timeout_secs`, `max_bad_frames` before it, refused), is taken over by
/// another connection, or shutdown.
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
    let (mut session, close) = ctx.connection_session(&rt, peer);
    let idle = rt.config.idle_timeout();
    // Fixed at connect: bytes that do not complete an identifying frame never extend it.
    let identify_by = tokio::time::Instant::now() + rt.config.identify_timeout();
    framed.codec_mut().bad_budget = Some(rt.config.max_bad_frames);
    let courier = Courier::new(ctx.commands.as_ref(), rt.protocol);
    loop {
        let unidentified = session.device().is_none();
        let next = tokio::select! {
            biased;
            _ = close.cancelled() => {
                if !ctx.shutdown.is_cancelled() {
                    tracing::info!(protocol = rt.name(), peer = %peer_s, "connection closed: its device was taken over");
                }
                break;
            }
            _ = tokio::time::sleep_until(identify_by), if unidentified => {
                m.identify_timeouts.get_or_create(&conn_label).inc();
                tracing::debug!(protocol = rt.name(), peer = %peer_s, "closed: no device identified within identify_timeout_secs");
                break;
            }
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
                if matches!(e, StreamError::BadFrames) {
                    m.bad_frame_closes.get_or_create(&conn_label).inc();
                }
                tracing::info!(protocol = rt.name(), peer = %peer_s, error = %e, "connection closed");
                break;
            }
            Ok(Some(Ok(f))) => f,
        };
        m.frames.get_or_create(&label).inc();
        let now = Utc::now();
        let codec = framed.codec_mut();
        let decoded = codec.decoder.decode(&frame, &DecodeCtx { now });
        let outcome = handle(
            &ctx,
            &rt,
            &mut session,
            codec.decoder.as_mut(),
            decoded,
            &peer_s,
            now,
        )
        .await;
        if session.device().is_some() {
            codec.bad_budget = None;
        } else if outcome.is_bad() && !codec.spend_bad() {
            m.bad_frame_closes.get_or_create(&conn_label).inc();
            tracing::info!(protocol = rt.name(), peer = %peer_s, "connection closed: max_bad_frames bad frames before identifying");
            break;
        }
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
        // Downlink commands go out after the ACK, on accepted frames of an identified device.
        if let (Some(c), Some(dev), Outcome::Accepted { .. }) =
            (&courier, session.device(), &outcome)
        {
            if let Err(e) = c.after_frame(dev, &frame, &mut framed).await {
                tracing::info!(protocol = rt.name(), peer = %peer_s, error = %e, "connection closed");
                break;
            }
        }
    }
    m.connections_active.get_or_create(&conn_label).dec();
}
