//! HTTP API (axum): health and Prometheus metrics here; devices (live and registered),
//! groups, shipments, webhooks,
//! the event history, the event stream and the console's pages, exceptions, shipment
//! history and tracking links in their own files.
//!
//! Handlers read live state, tracking and the output store (`crate::outputs`); they never
//! reach into the sinks.
//!
//! Every route is declared once, with the access it needs, in [`route_table`]: the router
//! is built from it and the access tests walk it (see [`auth`] for tokens and scopes).
//! Errors are JSON `{"error": "..."}` with a status that says who is at fault.

pub mod audit;
pub mod auth;
pub mod commands;
pub mod console;
pub mod devices;
pub mod drivers;
pub mod events;
pub mod exceptions;
pub mod geofences;
pub mod groups;
pub mod history;
pub mod paging;
pub mod reports;
pub mod share;
pub mod shipments;
pub mod stream;
pub mod tenant;
pub mod tokens;
pub mod webhooks;

use crate::state::LiveState;
use crate::telemetry::Metrics;
use auth::{Access, Registry, Scope};
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
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
    /// Who may call.
    pub auth: Arc<Registry>,
    /// The ops console: its pages, settings, ETA history and notices.
    pub console: Arc<crate::console::Console>,
    /// Geofences and fleet events (`None`: `/api/geofences` answers 503).
    pub fleet: Option<Arc<crate::fleet::FleetHandle>>,
    /// The device registry (names, plates, groups, customers of devices).
    pub registry: Arc<crate::registry::Registry>,
    /// The downlink command queue (`None`: the command routes answer 503).
    pub commands: Option<crate::commands::Commands>,
}

/// One route: method, path, the access it needs, its handler.
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<ApiState>,
}

impl RouteSpec {
    /// A route needing `access`.
    pub fn new(
        method: Method,
        path: &'static str,
        access: Access,
        handler: MethodRouter<ApiState>,
    ) -> Self {
        RouteSpec {
            method,
            path,
            access,
            handler,
        }
    }
}

/// Every route of the API with the access it needs: the only place routes are added.
pub fn route_table() -> Vec<RouteSpec> {
    let mut v = vec![
        RouteSpec::new(Method::GET, "/healthz", Access::Public, get(healthz)),
        RouteSpec::new(
            Method::GET,
            "/metrics",
            Access::Scope(Scope::Metrics),
            get(metrics),
        ),
    ];
    v.extend(devices::routes());
    v.extend(groups::routes());
    v.extend(drivers::routes());
    v.extend(shipments::routes());
    v.extend(events::routes());
    v.extend(stream::routes());
    v.extend(webhooks::routes());
    v.extend(tokens::routes());
    v.extend(audit::routes());
    v.extend(console::routes());
    v.extend(exceptions::routes());
    v.extend(history::routes());
    v.extend(share::routes());
    v.extend(geofences::routes());
    v.extend(commands::routes());
    v.extend(reports::routes());
    v
}

/// Settings of the router that come from `[http]`.
#[derive(Clone, Debug, Default)]
pub struct RouterOptions {
    /// Origins whose cross-site requests (and CORS preflights) are answered; default none.
    pub cors_origins: Vec<String>,
}

/// The router with every route, access control, the audit trail and (when origins are
/// listed) CORS.
pub fn router(state: ApiState, opts: &RouterOptions) -> Router {
    let mut r = Router::new();
    for spec in route_table() {
        let access = spec.access;
        let handler = spec
            .handler
            .route_layer(from_fn(move |req, next| auth::require(access, req, next)));
        r = r.route(spec.path, handler);
    }
    let registry = state.auth.clone();
    let r = r
        .fallback(not_found)
        .layer(from_fn(auth::json_only))
        .layer(from_fn_with_state(state.clone(), audit::record))
        .layer(from_fn_with_state(registry, auth::authenticate))
        .with_state(state);
    match cors(&opts.cors_origins) {
        Some(layer) => r.layer(layer),
        None => r,
    }
}

/// CORS for the listed origins only (none: no CORS headers at all, preflights refused).
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let list: Vec<header::HeaderValue> = origins
        .iter()
        .filter_map(|o| header::HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("last-event-id"),
            ]),
    )
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

pub use devices::{DEVICES_PAGE, MAX_DEVICES_PAGE};

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}
