//! HTTP API (axum): health, Prometheus metrics and live devices here; shipments, webhooks,
//! the event history, the event stream and the console's pages, exceptions, shipment
//! history and tracking links in their own files.
//!
//! Handlers read live state, tracking and the output store (`crate::outputs`); they never
//! reach into the sinks.
//!
//! Errors are JSON `{"error": "..."}` with a status that says who is at fault.

pub mod actor;
pub mod console;
pub mod events;
pub mod exceptions;
pub mod history;
pub mod share;
pub mod shipments;
pub mod stream;
pub mod webhooks;

use crate::state::LiveState;
use crate::telemetry::Metrics;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use std::sync::Arc;

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    pub live: Arc<LiveState>,
    pub metrics: Arc<Metrics>,
    /// Event history, webhooks and the event stream (`None`: those routes answer 503).
    pub outputs: Option<crate::outputs::Outputs>,
    /// Shipment tracking; `None` when `[tracking] enabled = false`.
    pub tracking: Option<Arc<crate::tracking::TrackingHandle>>,
    /// The ops console: its pages, settings, ETA history and notices.
    pub console: Arc<crate::console::Console>,
}

/// The router with every route.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/devices", get(list_devices))
        .route("/api/devices/{id}", get(get_device))
        .merge(webhooks::routes())
        .merge(events::routes())
        .merge(stream::routes())
        .merge(shipments::router())
        .merge(console::routes())
        .merge(exceptions::routes())
        .merge(history::routes())
        .merge(share::routes())
        .fallback(not_found)
        .with_state(state)
}

/// A JSON error body with a status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

/// Default and largest page of `/api/devices`. The default is large so that a fleet of a
/// few hundred vehicles still comes back in one answer, as before paging existed.
pub const DEVICES_PAGE: usize = 1000;
/// Largest page of `/api/devices`.
pub const MAX_DEVICES_PAGE: usize = 10_000;

/// Paging parameters, as on `/api/events`.
#[derive(Debug, serde::Deserialize)]
struct Page {
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /api/devices?limit=&after=`: devices sorted by id. The body stays the contract's
/// JSON array; when more devices follow, the `Link: <…?after=ID&limit=N>; rel="next"` header
/// (RFC 8288) names the next page and `X-Next-After` its cursor.
async fn list_devices(State(s): State<ApiState>, Query(p): Query<Page>) -> Response {
    let limit = p.limit.unwrap_or(DEVICES_PAGE).clamp(1, MAX_DEVICES_PAGE);
    let (devices, more) = s.live.page(Utc::now(), p.after.as_deref(), limit);
    let next = devices.last().filter(|_| more).map(|d| d.id.clone());
    let mut resp = Json(devices).into_response();
    if let Some(after) = next {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("after", &after)
            .append_pair("limit", &limit.to_string())
            .finish();
        let link = format!("</api/devices?{q}>; rel=\"next\"");
        for (k, v) in [("link", link), ("x-next-after", after)] {
            if let Ok(v) = header::HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
    }
    resp
}

async fn get_device(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    match s.live.view(&id, Utc::now()) {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no device {id:?}")),
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}
