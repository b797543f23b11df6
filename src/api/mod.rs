//! HTTP API (axum): health, Prometheus metrics, live devices.
//!
//! Shipments live in `shipments.rs`.
//!
//! Errors are JSON `{"error": "..."}` with a status that says who is at fault.

pub mod events;
pub mod shipments;
pub mod stream;
pub mod webhooks;

use crate::state::LiveState;
use crate::telemetry::Metrics;
use axum::extract::{Path, State};
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
    pub outputs: Option<webhooks::Outputs>,
    /// Shipment tracking; `None` when `[tracking] enabled = false`.
    pub tracking: Option<Arc<crate::tracking::TrackingHandle>>,
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

async fn list_devices(State(s): State<ApiState>) -> impl IntoResponse {
    Json(s.live.list(Utc::now()))
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
