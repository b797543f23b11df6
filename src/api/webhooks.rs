//! `/api/webhooks`: customer subscriptions, their delivery log and dead-letter redrive.

use super::auth::{Access, Scope};
use super::{error, ApiState, RouteSpec};
use crate::outputs::store::{StoreError, Subscription};
use crate::outputs::Outputs;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::Deserialize;

/// Largest secret accepted, bytes (HMAC keys longer than a block are hashed anyway).
pub const MAX_SECRET_BYTES: usize = 256;
/// Largest URL accepted, bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most event types in one subscription's filter.
pub const MAX_EVENT_TYPES: usize = 64;
/// Default and largest page of `/deliveries`.
pub const DELIVERIES_PAGE: usize = 100;
/// Largest page of `/deliveries`.
pub const MAX_DELIVERIES_PAGE: usize = 1000;

/// The routes of this module.
///
/// Subscriptions carry customers' receiver URLs: every route, reading ones included, needs
/// the `write` scope ("manage webhooks").
pub fn routes() -> Vec<RouteSpec> {
    let w = Access::Scope(Scope::Write);
    vec![
        RouteSpec::new(Method::POST, "/api/webhooks", w, post(create)),
        RouteSpec::new(Method::GET, "/api/webhooks", w, get(list)),
        RouteSpec::new(Method::GET, "/api/webhooks/{id}", w, get(show)),
        RouteSpec::new(Method::DELETE, "/api/webhooks/{id}", w, delete(remove)),
        RouteSpec::new(
            Method::GET,
            "/api/webhooks/{id}/deliveries",
            w,
            get(deliveries),
        ),
        RouteSpec::new(Method::POST, "/api/webhooks/{id}/redrive", w, post(redrive)),
    ]
}

/// Body of `POST /api/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    url: String,
    secret: String,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    shipment: Option<String>,
}

/// A store failure as a 500 (logged: it is ours, not the caller's).
pub fn store_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "store error in api");
    error(StatusCode::INTERNAL_SERVER_ERROR, "store error")
}

/// The outputs store, or the 503 answer when it is not running.
pub fn outputs(s: &ApiState) -> Result<&Outputs, Box<Response>> {
    s.outputs.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "outputs not running",
        ))
    })
}

fn check(n: &NewSubscription) -> Result<(), String> {
    if n.url.len() > MAX_URL_BYTES {
        return Err(format!("url longer than {MAX_URL_BYTES} bytes"));
    }
    let parsed = reqwest::Url::parse(&n.url).map_err(|e| format!("url {:?}: {e}", n.url))?;
    match parsed.scheme() {
        "http" => {}
        "https" => {
            return Err(format!(
                "url {:?}: https is not supported by this build (no TLS backend); \
                 use http:// behind a TLS-terminating proxy",
                n.url
            ))
        }
        s => return Err(format!("url {:?}: scheme {s:?} is not http", n.url)),
    }
    if parsed.host_str().is_none() {
        return Err(format!("url {:?}: no host", n.url));
    }
    if n.secret.is_empty() || n.secret.len() > MAX_SECRET_BYTES {
        return Err(format!("secret must be 1..={MAX_SECRET_BYTES} bytes"));
    }
    if let Some(ev) = &n.events {
        if ev.is_empty() || ev.len() > MAX_EVENT_TYPES {
            return Err(format!(
                "events must list 1..={MAX_EVENT_TYPES} types (omit it for every event)"
            ));
        }
        if ev.iter().any(|t| t.is_empty()) {
            return Err("events: empty type".into());
        }
    }
    Ok(())
}

async fn create(
    State(s): State<ApiState>,
    body: Result<Json<NewSubscription>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Json(n) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    if let Err(m) = check(&n) {
        return error(StatusCode::BAD_REQUEST, m);
    }
    let sub = Subscription {
        id: format!("wh_{:016x}", rand::random::<u64>()),
        url: n.url,
        secret: n.secret,
        events: n.events,
        device: n.device,
        shipment: n.shipment,
        created_ms: chrono::Utc::now().timestamp_millis(),
    };
    match o.store.add_subscription(sub.clone()).await {
        Ok(()) => (StatusCode::CREATED, Json(sub)).into_response(),
        Err(e) => store_error(e),
    }
}

async fn list(State(s): State<ApiState>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.subscriptions().await {
        Ok(v) => Json(v).into_response(),
        Err(e) => store_error(e),
    }
}

async fn show(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.subscription(id.clone()).await {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => store_error(e),
    }
}

async fn remove(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.delete_subscription(id.clone()).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => store_error(e),
    }
}

#[derive(Debug, Deserialize)]
struct Page {
    limit: Option<usize>,
}

async fn deliveries(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.subscription(id.clone()).await {
        Ok(Some(_)) => {}
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => return store_error(e),
    }
    let limit = p
        .limit
        .unwrap_or(DELIVERIES_PAGE)
        .clamp(1, MAX_DELIVERIES_PAGE);
    match o.store.deliveries(id, limit).await {
        Ok(d) => Json(serde_json::json!({ "deliveries": d })).into_response(),
        Err(e) => store_error(e),
    }
}

async fn redrive(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.subscription(id.clone()).await {
        Ok(Some(_)) => {}
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => return store_error(e),
    }
    match o
        .store
        .redrive(id, chrono::Utc::now().timestamp_millis())
        .await
    {
        Ok(n) => {
            o.wake.notify_one();
            Json(serde_json::json!({ "requeued": n })).into_response()
        }
        Err(e) => store_error(e),
    }
}
