//! Customer tracking links: `POST /api/shipments/{id}/share` makes a read-only link
//! (`/track/<token>`) to one shipment that expires and can be revoked.
//!
//! - `POST /api/shipments/{id}/share` `{expires_in?}` (`"7d"`, `"12h"` or seconds; default
//!   `console.share_ttl`, at most `console.share_max_ttl`) → 201 `{id, url, shipment,
//!   expires, created_by}`. The token in the URL (160 random bits) is shown once: the store
//!   keeps only its SHA-256.
//! - `GET /api/shipments/{id}/shares` → the shipment's links (without tokens), newest first.
//! - `DELETE /api/shares/{id}` → the link, revoked (who and when recorded).
//! - `GET /track/<token>` → the tracking page; `/track/<token>/data` → its JSON (route, stops
//!   with planned time, ETA and P10–P90 band and status, the vehicle's last fix while the
//!   shipment is active — no device id, no other shipment, no exception detail);
//!   `/track/<token>/stream` → SSE `update` nudges when that shipment's ETA or vehicle
//!   moves, `gone` when the link stops being valid. An unknown, expired or revoked token
//!   is 404 everywhere. These routes are public: the link is the credential.

use super::auth::{Access, Caller, Scope};
use super::tenant::sees_shipment;
use super::webhooks::{outputs, store_error};
use super::{error, ApiState, RouteSpec};
use crate::model::Record;
use crate::outputs::console::Share;
use crate::outputs::Store;
use crate::pipeline::log::LogReader;
use crate::tracking::TrackingHandle;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Random bytes in a link token.
const TOKEN_BYTES: usize = 20;

/// The routes of this module.
/// Making and revoking links needs `write`, listing them `read`; the customer routes are
/// public (the token in the path is the credential).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write, public) = (
        Access::Scope(Scope::Read),
        Access::Scope(Scope::Write),
        Access::Public,
    );
    vec![
        RouteSpec::new(
            Method::POST,
            "/api/shipments/{id}/share",
            write,
            post(create),
        ),
        RouteSpec::new(Method::GET, "/api/shipments/{id}/shares", read, get(list)),
        RouteSpec::new(Method::DELETE, "/api/shares/{id}", write, delete(revoke)),
        RouteSpec::new(Method::GET, "/track/{token}", public, get(page)),
        RouteSpec::new(Method::GET, "/track/{token}/data", public, get(data)),
        RouteSpec::new(Method::GET, "/track/{token}/stream", public, get(stream)),
    ]
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn time(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

fn share_json(s: &Share) -> Value {
    json!({
        "id": s.id,
        "shipment": s.shipment,
        "created": time(s.created_ms),
        "created_by": s.created_by,
        "expires": time(s.expires_ms),
        "revoked": s.revoked_ms.and_then(time),
        "revoked_by": s.revoked_by,
        "valid": s.valid_at(Utc::now().timestamp_millis()),
    })
}

/// The outputs store and tracking, or the 503 answer when either is not running.
fn parts(s: &ApiState) -> Result<(&crate::outputs::Outputs, &Arc<TrackingHandle>), Box<Response>> {
    let o = outputs(s)?;
    let t = s.tracking.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "tracking is disabled ([tracking] enabled = false)",
        ))
    })?;
    Ok((o, t))
}

/// Body of `POST /api/shipments/{id}/share`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewShare {
    /// `"7d"`, `"12h"` or seconds (a number or a string).
    expires_in: Option<Value>,
}

fn lifetime(s: &ApiState, v: Option<&Value>) -> Result<std::time::Duration, String> {
    let cfg = &s.console.config;
    let d = match v {
        None => return Ok(cfg.share_ttl),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| format!("expires_in: {n} is not a whole number of seconds"))?,
        Some(Value::String(t)) => {
            crate::duration_text::parse(t).map_err(|e| format!("expires_in: {e}"))?
        }
        Some(other) => return Err(format!("expires_in: {other} is not a duration")),
    };
    if d.is_zero() || d > cfg.share_max_ttl {
        return Err(format!(
            "expires_in: must be positive and at most {}s (console.share_max_ttl)",
            cfg.share_max_ttl.as_secs()
        ));
    }
    Ok(d)
}

async fn create(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Caller(who): Caller,
    body: axum::body::Bytes,
) -> Response {
    let (o, t) = match parts(&s) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    // No body: the default lifetime.
    let req = match super::exceptions::optional_json::<NewShare>(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let ttl = match lifetime(&s, req.expires_in.as_ref()) {
        Ok(d) => d,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    if !sees_shipment(&who, Some(t), &id) {
        return error(StatusCode::NOT_FOUND, format!("no shipment {id:?}"));
    }
    let token = hex::encode(rand::random::<[u8; TOKEN_BYTES]>());
    let now = Utc::now().timestamp_millis();
    let share = Share {
        id: format!("shr_{:016x}", rand::random::<u64>()),
        shipment: id,
        created_ms: now,
        created_by: who.name,
        expires_ms: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
        revoked_ms: None,
        revoked_by: None,
    };
    if let Err(e) = o.store.add_share(share.clone(), hash(&token)).await {
        return store_error(e);
    }
    tracing::info!(share = %share.id, shipment = %share.shipment, by = %share.created_by, "tracking link created");
    let mut v = share_json(&share);
    v["url"] = json!(format!("/track/{token}"));
    (StatusCode::CREATED, Json(v)).into_response()
}

async fn list(State(s): State<ApiState>, Path(id): Path<String>, Caller(who): Caller) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    // Links of a shipment that is gone stay listable for untenanted tokens (to revoke
    // them); a customer's token lists those of its current shipments.
    if who.customer.is_some() && !sees_shipment(&who, s.tracking.as_deref(), &id) {
        return error(StatusCode::NOT_FOUND, format!("no shipment {id:?}"));
    }
    match o.store.shares_of(id).await {
        Ok(v) => Json(v.iter().map(share_json).collect::<Vec<_>>()).into_response(),
        Err(e) => store_error(e),
    }
}

async fn revoke(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Caller(who): Caller,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    if who.customer.is_some() {
        let theirs = match o.store.share(id.clone()).await {
            Ok(sh) => sh.is_some_and(|sh| sees_shipment(&who, s.tracking.as_deref(), &sh.shipment)),
            Err(e) => return store_error(e),
        };
        if !theirs {
            return error(StatusCode::NOT_FOUND, format!("no tracking link {id:?}"));
        }
    }
    let by = who.name;
    match o
        .store
        .revoke_share(id.clone(), by.clone(), Utc::now().timestamp_millis())
        .await
    {
        Ok(Some(sh)) => {
            tracing::info!(share = %id, by = %by, "tracking link revoked");
            Json(share_json(&sh)).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no tracking link {id:?}")),
        Err(e) => store_error(e),
    }
}

/// The valid link for `token`, or the answer to give (404 for anything else).
async fn valid(store: &Store, token: &str) -> Result<Share, Response> {
    let gone = || error(StatusCode::NOT_FOUND, "this tracking link is not valid");
    match store.share_by_token(hash(token)).await {
        Ok(Some(sh)) if sh.valid_at(Utc::now().timestamp_millis()) => Ok(sh),
        Ok(_) => Err(gone()),
        Err(e) => Err(store_error(e)),
    }
}

/// The outputs store, tracking and the valid link for `token`, or the answer to give.
async fn opened<'a>(
    s: &'a ApiState,
    token: &str,
) -> Result<(&'a crate::outputs::Outputs, &'a Arc<TrackingHandle>, Share), Box<Response>> {
    let (o, t) = parts(s)?;
    let share = valid(&o.store, token).await.map_err(Box::new)?;
    Ok((o, t, share))
}

async fn page(
    State(s): State<ApiState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    if !s.console.config.enabled {
        return error(StatusCode::NOT_FOUND, "the console is disabled");
    }
    match valid(&o.store, &token).await {
        Ok(_) => s.console.pages.respond(&s.console.pages.track, &headers),
        Err(r) => r,
    }
}

/// What the customer sees of a shipment.
fn customer_view(t: &TrackingHandle, live: &crate::state::LiveState, id: &str) -> Option<Value> {
    let spec = t.engine().get(id).map(|tr| tr.spec.clone())?;
    let view = t.view(id)?;
    let stops: Vec<Value> = view
        .stops
        .iter()
        .zip(&spec.stops)
        .map(|(v, sp)| {
            json!({
                "name": if sp.name.is_empty() { &sp.id } else { &sp.name },
                "lat": sp.lat,
                "lon": sp.lon,
                "planned_arrival": v.planned_arrival,
                "eta": v.eta,
                "eta_p10": v.eta_p10,
                "eta_p90": v.eta_p90,
                "status": v.status,
                "arrived_at": v.arrived_at,
                "departed_at": v.departed_at,
            })
        })
        .collect();
    let active = matches!(
        serde_json::to_value(view.status)
            .ok()
            .as_ref()
            .and_then(Value::as_str),
        Some("active")
    );
    let vehicle = live
        .view(spec.device.as_str(), Utc::now())
        .and_then(|d| d.position)
        .filter(|_| active)
        .map(|p| json!({ "lat": p.lat, "lon": p.lon, "time": p.fix_time }));
    Some(json!({
        "id": view.id,
        "status": view.status,
        "progress": view.progress,
        "route": spec.route.coordinates,
        "stops": stops,
        "vehicle": vehicle,
    }))
}

async fn data(State(s): State<ApiState>, Path(token): Path<String>) -> Response {
    let (_, t, share) = match opened(&s, &token).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    match customer_view(t, &s.live, &share.shipment) {
        Some(mut v) => {
            v["expires"] = json!(time(share.expires_ms));
            let mut r = Json(v).into_response();
            r.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            r
        }
        None => error(StatusCode::NOT_FOUND, "this tracking link is not valid"),
    }
}

/// One tracking page's nudge stream: reads the log from its end, like `/api/stream`.
struct Watch {
    reader: Box<dyn LogReader>,
    log: crate::pipeline::log::SharedLog,
    store: Store,
    token: String,
    shipment: String,
    device: String,
    shutdown: tokio_util::sync::CancellationToken,
    done: bool,
}

impl Watch {
    /// Whether a batch holds an ETA of the shipment or a fix of its vehicle.
    fn concerns(&self, batch: &[crate::pipeline::log::LogEntry]) -> bool {
        batch.iter().any(|e| match e.kind() {
            Some("eta" | "position") => match e.decode() {
                Ok(Record::Eta(u)) => u.shipment == self.shipment,
                Ok(Record::Position(p)) => p.device.as_str() == self.device,
                _ => false,
            },
            _ => false,
        })
    }
}

async fn next_nudge(mut w: Watch) -> Option<(Result<Event, std::convert::Infallible>, Watch)> {
    if w.done {
        return None;
    }
    loop {
        if w.reader.position().distance_to(w.log.end()) > super::stream::MAX_LAG {
            return None; // the page reconnects at the live end
        }
        let batch = tokio::select! {
            _ = w.shutdown.cancelled() => return None,
            b = w.reader.next_batch(256) => b.ok()?,
        };
        if !w.concerns(&batch) {
            continue;
        }
        if valid(&w.store, &w.token).await.is_err() {
            w.done = true;
            return Some((Ok(Event::default().event("gone").data("{}")), w));
        }
        let id = w.reader.position().to_string();
        return Some((Ok(Event::default().event("update").data(id)), w));
    }
}

async fn stream(State(s): State<ApiState>, Path(token): Path<String>) -> Response {
    let (o, t, share) = match opened(&s, &token).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(device) = t
        .engine()
        .get(&share.shipment)
        .map(|tr| tr.spec.device.as_str().to_string())
    else {
        return error(StatusCode::NOT_FOUND, "this tracking link is not valid");
    };
    let w = Watch {
        reader: o.log.reader(o.log.end()),
        log: o.log.clone(),
        store: o.store.clone(),
        token,
        shipment: share.shipment,
        device,
        shutdown: o.shutdown.clone(),
        done: false,
    };
    Sse::new(futures::stream::unfold(w, next_nudge))
        .keep_alive(KeepAlive::default())
        .into_response()
}
