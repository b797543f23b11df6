//! HTTP device ingest (OsmAnd / Traccar Client, OwnTracks HTTP mode): one request = one frame.
//!
//! A request becomes a sans-IO [`HttpRequest`], the protocol decodes it, and
//! [`frame_handler::handle`] runs the same admission and durability as TCP/UDP frames. The
//! HTTP status is the ACK:
//! - `200` with the protocol's `ack.accepted` body, only after the records are durable;
//! - `400` with the decode error as text (missing id, bad number, bad JSON ...);
//! - `400` too when the request carries a fix but no device id;
//! - `403` when the device is not admitted (`devices.allow`, `[[devices.keys]]` source
//!   ranges);
//! - `400` naming the fix time when every fix of the request is dated more than
//!   `devices.max_future_secs` ahead, or before 2000 (the app must not count it delivered);
//! - `413` when the body exceeds the protocol's `max_frame` bytes (the body cap);
//! - `408` when the body did not arrive within `body_timeout_secs` (the connection closes);
//! - `503` when the log is full or the gateway is shutting down (the app retries later), or
//!   when `max_connections` requests are already in flight (the per-protocol ceiling);
//! - `500` when storage failed for another reason.
//!
//! Serving (connections, TLS, header/body/idle deadlines) is the server's HTTP listener
//! (`server::http`); this module is the router and what a request becomes.
//!
//! [`frame_handler::handle`]: super::frame_handler::handle

use super::frame_handler::{handle, Outcome};
use super::{IngestCtx, ProtoRuntime};
use crate::pipeline::Refused;
use crate::protocol::{DecodeCtx, HttpRequest};
use crate::session::Session;
use crate::telemetry::{ConnLabel, ProtoLabel};
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use chrono::Utc;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
struct Shared {
    ctx: Arc<IngestCtx>,
    rt: ProtoRuntime,
    /// One permit per request in flight, `max_connections` in all.
    in_flight: Arc<Semaphore>,
}

/// The router serving one HTTP protocol on every path and method.
pub fn router(ctx: Arc<IngestCtx>, rt: ProtoRuntime) -> Router {
    let in_flight = Arc::new(Semaphore::new(rt.config.max_connections));
    Router::new()
        .fallback(serve_request)
        .with_state(Shared { ctx, rt, in_flight })
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

fn ok(body: Bytes) -> Response {
    if body.is_empty() {
        return StatusCode::OK.into_response();
    }
    // Protocol reply bodies are JSON (`[]` for OwnTracks) or plain text.
    let ct = match body.first() {
        Some(b'[' | b'{') => "application/json",
        _ => "text/plain; charset=utf-8",
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, ct)],
        Body::from(body),
    )
        .into_response()
}

async fn serve_request(
    State(s): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (ctx, rt) = (&s.ctx, &s.rt);
    let label = ProtoLabel {
        protocol: rt.name(),
    };
    let m = &ctx.metrics.ingest;
    m.connections
        .get_or_create(&ConnLabel {
            protocol: rt.name(),
            transport: "http",
        })
        .inc();
    let Ok(_permit) = s.in_flight.clone().try_acquire_owned() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "more than {} requests in flight (protocols.{}.max_connections); retry later",
                rt.config.max_connections,
                rt.name()
            ),
        );
    };
    let (parts, body) = req.into_parts();
    let limit = rt.config.max_frame;
    let body = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if body_timed_out(&e) => {
            m.decode_errors.get_or_create(&label).inc();
            return text(StatusCode::REQUEST_TIMEOUT, e.to_string());
        }
        Err(_) => {
            m.decode_errors.get_or_create(&label).inc();
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "body larger than {limit} bytes (protocols.{}.max_frame)",
                    rt.name()
                ),
            );
        }
    };
    let hreq = HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body,
    };
    let peer_s = peer.to_string();
    m.frames.get_or_create(&label).inc();
    let mut decoder = match rt.protocol.new_decoder(&rt.decoder_options) {
        Ok(d) => d,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let now = Utc::now();
    let decoded = decoder.decode_http(&hreq, &DecodeCtx { now });
    let mut session = Session::message(rt.name(), ctx.gate.clone(), Some(peer.ip()));
    let outcome = handle(
        ctx,
        rt,
        &mut session,
        decoder.as_mut(),
        decoded,
        &peer_s,
        now,
    )
    .await;
    if matches!(outcome, Outcome::Accepted { .. }) {
        m.acks.get_or_create(&label).inc();
    }
    answer(outcome)
}

/// Whether reading a body failed on the server's body deadline: the HTTP server reports it
/// as an `io::Error` of kind `TimedOut` somewhere in the error's source chain.
pub fn body_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The HTTP status (and body) that tells a phone app what became of its request.
fn answer(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Accepted { ack } => ok(ack.unwrap_or_default()),
        Outcome::Refused { refusal } => (
            StatusCode::FORBIDDEN,
            refusal.unwrap_or_else(|| Bytes::from_static(b"device not allowed")),
        )
            .into_response(),
        Outcome::Rejected { refusal } => (
            StatusCode::FORBIDDEN,
            refusal.unwrap_or_else(|| Bytes::from_static(b"refused")),
        )
            .into_response(),
        Outcome::BadFixTime { reason, .. } => text(StatusCode::BAD_REQUEST, reason),
        Outcome::BadFrame(e) => text(StatusCode::BAD_REQUEST, e.to_string()),
        Outcome::NotIdentified | Outcome::ForeignDevice => text(
            StatusCode::BAD_REQUEST,
            "request does not identify a device",
        ),
        Outcome::LogFull | Outcome::NotDurable(Refused::Full) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not stored: the gateway's log is full; retry later",
        ),
        Outcome::NotDurable(Refused::ShuttingDown) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not stored: the gateway is shutting down; retry later",
        ),
        Outcome::NotDurable(Refused::Storage(_)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not stored: storage error; retry later",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_own_status() {
        let status = |o| answer(o).status().as_u16();
        assert_eq!(status(Outcome::Accepted { ack: None }), 200);
        assert_eq!(status(Outcome::Refused { refusal: None }), 403);
        assert_eq!(status(Outcome::NotIdentified), 400);
        assert_eq!(status(Outcome::Rejected { refusal: None }), 403);
        assert_eq!(
            status(Outcome::BadFixTime {
                ack: None,
                refusal: None,
                reason: "fix time 2100".into()
            }),
            400
        );
        assert_eq!(
            status(Outcome::BadFrame(crate::protocol::DecodeError::Invalid(
                "x".into()
            ))),
            400
        );
        assert_eq!(status(Outcome::LogFull), 503);
        assert_eq!(status(Outcome::NotDurable(Refused::ShuttingDown)), 503);
        assert_eq!(
            status(Outcome::NotDurable(Refused::Storage("io".into()))),
            500
        );
    }
}
