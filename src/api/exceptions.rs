//! `/api/exceptions`: the exception feed of the console and its acknowledgements.
//!
//! - `GET /api/exceptions?status=open|all&type=&shipment=&device=&before=&limit=`: firing
//!   alerts, newest first, each the alert JSON of `/api/events` plus `current` (no later
//!   event of the same exception: not resolved, not escalated), `open` (current and not
//!   acknowledged) and `ack` (`{by, note, at}` or null); `open` at the top counts every open
//!   one for the filters; `next` is the `before` of the next page.
//! - `POST /api/exceptions/{id}/ack` `{note}`: acknowledges once (409 with the first
//!   acknowledgement after that), records who and when, tells every open console.
//! - `GET /api/console/notices`: Server-Sent Events of acknowledgements (`event: ack`), so
//!   an acknowledged exception leaves the "open" view of every console at once.

use super::auth::{Access, Caller, Principal, Scope};
use super::webhooks::{outputs, store_error};
use super::{error, ApiState, RouteSpec};
use crate::console::Notice;
use crate::outputs::console::{Ack, AckOutcome, ExceptionQuery};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{TimeZone, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

/// Default page size.
pub const DEFAULT_PAGE: usize = 200;
/// Largest page size.
pub const MAX_PAGE: usize = 1000;
/// Longest acknowledgement note, characters.
pub const MAX_NOTE: usize = 2000;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/exceptions", read, get(list)),
        RouteSpec::new(Method::POST, "/api/exceptions/{id}/ack", write, post(ack)),
        RouteSpec::new(Method::GET, "/api/console/notices", read, get(notices)),
    ]
}

#[derive(Debug, Deserialize)]
struct Params {
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    shipment: Option<String>,
    device: Option<String>,
    before: Option<i64>,
    limit: Option<usize>,
}

/// A JSON body that may be absent (a state-changing request without a body needs no
/// Content-Type): none gives the defaults; a bad one is 400 naming the field.
pub(super) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, format!("body: {e}"))))
}

fn rfc3339(ms: i64) -> Value {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

fn ack_json(a: &Ack) -> Value {
    json!({ "by": a.by, "note": a.note, "at": rfc3339(a.at_ms) })
}

async fn list(State(s): State<ApiState>, Caller(who): Caller, Query(p): Query<Params>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let open_only = match p.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("status {other:?}: expected open or all"),
            )
        }
    };
    let limit = p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let q = ExceptionQuery {
        open_only,
        kind: p.kind,
        shipment: p.shipment,
        device: p.device,
        customer: who.customer,
        before: p.before,
        limit,
    };
    match o.store.exceptions(q).await {
        Ok((rows, open)) => {
            let next = (rows.len() == limit)
                .then(|| rows.last().map(|r| r.seq))
                .flatten();
            let items: Vec<Value> = rows
                .iter()
                .filter_map(|r| {
                    let mut v: Value = serde_json::from_str(&r.body).ok()?;
                    let obj = v.as_object_mut()?;
                    obj.insert("current".into(), json!(r.current));
                    obj.insert("open".into(), json!(r.current && r.ack.is_none()));
                    obj.insert("ack".into(), r.ack.as_ref().map_or(Value::Null, ack_json));
                    Some(v)
                })
                .collect();
            Json(json!({ "exceptions": items, "open": open, "next": next })).into_response()
        }
        Err(e) => store_error(e),
    }
}

/// Body of `POST /api/exceptions/{id}/ack` (optional: no body, no note).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    #[serde(default)]
    note: String,
}

async fn ack(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Caller(who): Caller,
    body: axum::body::Bytes,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let note = match optional_json::<AckBody>(&body) {
        Ok(b) => b.note.trim().to_string(),
        Err(r) => return *r,
    };
    if note.chars().count() > MAX_NOTE {
        return error(
            StatusCode::BAD_REQUEST,
            format!("note: longer than {MAX_NOTE} characters"),
        );
    }
    if !sees_event(o, &who, &id).await {
        return error(StatusCode::NOT_FOUND, format!("no exception {id:?}"));
    }
    let by = who.name;
    let now = Utc::now();
    let outcome = o
        .store
        .ack(id.clone(), by, note, now.timestamp_millis())
        .await;
    match outcome {
        Ok(AckOutcome::Acked(a)) => {
            tracing::info!(exception = %id, by = %a.by, note = %a.note, "exception acknowledged");
            // No open console is not an error.
            let _ = s.console.notices.send(Notice::Ack {
                id: id.clone(),
                by: a.by.clone(),
                note: a.note.clone(),
                at: now,
            });
            Json(json!({ "id": id, "ack": ack_json(&a) })).into_response()
        }
        Ok(AckOutcome::Already(a)) => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": format!("exception {id:?} was acknowledged before"),
                "ack": ack_json(&a),
            })),
        )
            .into_response(),
        Ok(AckOutcome::NoSuchEvent) => error(StatusCode::NOT_FOUND, format!("no exception {id:?}")),
        Ok(AckOutcome::NotAnException(state)) => error(
            StatusCode::CONFLICT,
            format!("event {id:?} is {state:?}, not a firing exception"),
        ),
        Err(e) => store_error(e),
    }
}

/// Whether `who` may see event `id` (a customer's token: its customer's events only).
/// Unknown events pass, so that the caller gets the store's own answer for them.
async fn sees_event(o: &crate::outputs::Outputs, who: &Principal, id: &str) -> bool {
    if who.customer.is_none() {
        return true;
    }
    match o.store.event_body(id.to_string()).await {
        Ok(Some(body)) => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            who.sees(v.get("customer").and_then(Value::as_str))
        }
        Ok(None) => true,
        Err(_) => false,
    }
}

async fn notices(State(s): State<ApiState>, Caller(who): Caller) -> Response {
    let rx = s.console.notices.subscribe();
    let outputs = s.outputs.clone();
    let shutdown = s
        .outputs
        .as_ref()
        .map(|o| o.shutdown.clone())
        .unwrap_or_default();
    // A customer's page hears of its customer's exceptions only.
    let mine = tokio_stream_of(rx).filter(move |n| {
        let (who, outputs) = (who.clone(), outputs.clone());
        let id = match n {
            Some(Notice::Ack { id, .. }) => Some(id.clone()),
            _ => None,
        };
        async move {
            match (id, outputs) {
                (Some(id), Some(o)) => sees_event(&o, &who, &id).await,
                _ => true,
            }
        }
    });
    // A page that fell behind gets `lagged` and reloads its state from the REST API.
    let events = mine.map(|n| {
        Ok::<_, std::convert::Infallible>(match n {
            Some(n @ Notice::Ack { .. }) => Event::default()
                .event("ack")
                .data(serde_json::to_string(&n).unwrap_or_default()),
            None => Event::default().event("lagged").data("{}"),
        })
    });
    let until_shutdown = events.take_until(async move { shutdown.cancelled().await });
    Sse::new(until_shutdown)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The notices of `rx` as a stream; `None` once for a gap (the reader lagged), after which
/// the stream ends.
fn tokio_stream_of(
    rx: tokio::sync::broadcast::Receiver<Notice>,
) -> impl futures::Stream<Item = Option<Notice>> {
    use tokio::sync::broadcast::error::RecvError;
    futures::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Ok(n) => Some((Some(n), Some(rx))),
            Err(RecvError::Lagged(_)) => Some((None, None)),
            Err(RecvError::Closed) => None,
        }
    })
}
