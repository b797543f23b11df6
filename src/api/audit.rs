//! The audit trail: every state-changing request (POST, PUT, PATCH, DELETE) — who (the
//! token's name), what (method and path, never the query string or body), when, the status —
//! is appended to the log as a [`Record::Audit`], from where the outputs consumer keeps it
//! for `GET /api/audit` (admin). Requests refused before a caller is known (401) are not
//! entries: they have no "who"; they are counted in `trackgate_api_unauthorized_total`.

use super::auth::{changes_state, Access, Principal, Scope};
use super::{error, ApiState, RouteSpec};
use crate::model::{AuditEntry, Record};
use crate::pipeline::AckMode;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde::Deserialize;
use std::net::SocketAddr;

/// Default page of `GET /api/audit`.
pub const PAGE: usize = 100;
/// Largest page of `GET /api/audit`.
pub const MAX_PAGE: usize = 1000;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec::new(
        Method::GET,
        "/api/audit",
        Access::Scope(Scope::Admin),
        get(list),
    )]
}

/// Appends an audit entry for each state-changing request once it is answered.
pub async fn record(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    if !changes_state(req.method()) {
        return next.run(req).await;
    }
    let who = req.extensions().get::<Principal>().cloned();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let resp = next.run(req).await;
    let Some(who) = who else {
        return resp;
    };
    let time = chrono::Utc::now();
    let entry = AuditEntry {
        id: format!("{}-{:016x}", time.timestamp_millis(), rand::random::<u64>()),
        time,
        who: who.name,
        customer: who.customer,
        method,
        path,
        status: resp.status().as_u16(),
        peer,
    };
    tracing::info!(who = %entry.who, method = %entry.method, path = %entry.path, status = entry.status, "api change");
    if let Some(o) = &s.outputs {
        if let Err(e) = o
            .log
            .append(vec![Record::Audit(entry)], AckMode::Durable)
            .await
        {
            tracing::error!(error = %e, "audit entry not stored");
        }
    }
    resp
}

#[derive(Debug, Deserialize)]
struct Params {
    after: Option<i64>,
    limit: Option<usize>,
}

async fn list(State(s): State<ApiState>, Query(p): Query<Params>) -> Response {
    let Some(o) = s.outputs.as_ref() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "outputs not running");
    };
    let limit = p.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    match o.store.audit(p.after, limit).await {
        Ok(rows) => {
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|(seq, _)| *seq))
                .flatten();
            let entries: Vec<&AuditEntry> = rows.iter().map(|(_, e)| e).collect();
            Json(serde_json::json!({ "entries": entries, "next": next })).into_response()
        }
        Err(e) => super::webhooks::store_error(e),
    }
}
