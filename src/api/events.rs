//! `GET /api/events?since=&type=&device=&shipment=&after=&limit=`: the alert history, paged.
//!
//! `since` is an RFC 3339 time or unix seconds (events at or after it, by event time);
//! `after` is the paging cursor: pass the `next` of the previous page. Pages are in store
//! order (the order the alerts came out of the log). An event of a device with a name in
//! the registry carries it as `device_name` (its name now, not when the event fired).

use super::auth::{Access, Caller, Scope};
use super::webhooks::store_error;
use super::{error, ApiState, RouteSpec};
use crate::outputs::store::EventQuery;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde::Deserialize;

/// Default page size.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page size (`limit` is clamped to it).
pub const MAX_PAGE: usize = 1000;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec::new(
        Method::GET,
        "/api/events",
        Access::Scope(Scope::Read),
        get(list),
    )]
}

#[derive(Debug, Deserialize)]
struct Params {
    since: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    device: Option<String>,
    shipment: Option<String>,
    after: Option<i64>,
    limit: Option<usize>,
}

/// `since` as unix ms.
fn parse_since(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("since {s:?}: expected RFC 3339 or unix seconds ({e})"))
}

async fn list(State(s): State<ApiState>, Caller(who): Caller, Query(p): Query<Params>) -> Response {
    let Some(o) = s.outputs.as_ref() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "outputs not running");
    };
    let since_ms = match p.since.as_deref().map(parse_since).transpose() {
        Ok(v) => v,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let limit = p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let q = EventQuery {
        since_ms,
        kind: p.kind,
        device: p.device,
        shipment: p.shipment,
        // A customer's token: its customer's events only.
        customer: who.customer,
        after: p.after,
        limit,
    };
    let reader = q.customer.clone();
    match o.store.events(q).await {
        Ok(rows) => {
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|r| r.seq))
                .flatten();
            let events: Vec<serde_json::Value> = rows
                .iter()
                .filter_map(|r| serde_json::from_str(&r.body).ok())
                .map(|v| super::devices::with_name(v, &s.registry, "device", reader.as_deref()))
                .collect();
            Json(serde_json::json!({ "events": events, "next": next })).into_response()
        }
        Err(e) => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("1764215276"), Ok(1_764_215_276_000));
        assert_eq!(parse_since("2025-11-27T03:47:56Z"), Ok(1_764_215_276_000));
        assert_eq!(
            parse_since("2025-11-27T04:47:56+01:00"),
            Ok(1_764_215_276_000)
        );
        assert!(parse_since("yesterday").unwrap_err().contains("yesterday"));
    }
}
