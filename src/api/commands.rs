//! `/api/devices/{id}/commands` and `/api/commands/{id}`: queue a downlink command, follow
//! it, list a device's, cancel a queued one. Every route needs the `commands` scope; the
//! audit trail records who queued or cancelled (the `audit` middleware, for every POST and
//! DELETE), and the row keeps `requested_by`.
//!
//! The device's protocol is the one it last spoke (live state). A device never seen is
//! refused with 404 unless the request names its `protocol`: installers queue the first
//! configuration before a tracker is ever switched on. A customer's token queues only for
//! a vehicle it can see (see [`super::tenant`]) and sees only its customer's commands.

use super::auth::{Access, Caller, Principal, Scope};
use super::paging::{link_next, Page};
use super::{error, tenant, ApiState, RouteSpec};
use crate::commands::request;
use crate::commands::{Cancel, CommandRow, Commands, NewCommand};
use crate::protocol::command::CommandType;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Default page of `GET /api/devices/{id}/commands`.
pub const PAGE: usize = 100;
/// Largest page of `GET /api/devices/{id}/commands`.
pub const MAX_PAGE: usize = 1000;

/// The command routes.
pub fn routes() -> Vec<RouteSpec> {
    let cmd = Access::Scope(Scope::Commands);
    vec![
        RouteSpec::new(
            Method::POST,
            "/api/devices/{id}/commands",
            cmd,
            post(create),
        ),
        RouteSpec::new(Method::GET, "/api/devices/{id}/commands", cmd, get(list)),
        RouteSpec::new(Method::GET, "/api/commands/{id}", cmd, get(show)),
        RouteSpec::new(Method::DELETE, "/api/commands/{id}", cmd, delete(cancel)),
    ]
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the command queue is not open",
    )
}

fn store_failed(e: crate::commands::StoreError) -> Response {
    tracing::error!(error = %e, "command queue failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("command queue: {e}"),
    )
}

fn time(ms: Option<i64>) -> Value {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}

/// The JSON view of a command.
pub fn view(r: &CommandRow) -> Value {
    json!({
        "id": r.seq,
        "device": r.device,
        "protocol": r.protocol,
        "type": r.kind,
        "params": serde_json::from_str::<Value>(&r.params).unwrap_or(Value::Null),
        "status": r.status.as_str(),
        "created": time(Some(r.created_ms)),
        "expires": time(Some(r.expires_ms)),
        "sent": time(r.sent_ms),
        "done": time(r.done_ms),
        "answer": r.answer,
        "answer_hex": r.answer_hex,
        "error": r.error,
        "requested_by": r.requested_by,
    })
}

/// A command row the caller may see: its customer's, or any for an untenanted token.
fn visible(who: &Principal, r: &CommandRow) -> bool {
    who.sees(r.customer.as_deref())
}

/// A refused request: its status and message.
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad(msg: impl Into<String>) -> Self {
        Refusal(StatusCode::BAD_REQUEST, msg.into())
    }
    fn answer(self) -> Response {
        error(self.0, self.1)
    }
}

/// The device's id as its connections name it and the protocol a command for it is
/// encoded in, or the refusal. The id is the live state's (`12076463279` finds JT/T 808
/// terminal `012076463279`): the courier looks the queue up by the id the session holds.
fn protocol_of(
    s: &ApiState,
    device: &str,
    asked: Option<&str>,
    seen: &tenant::Visible,
) -> Result<(String, &'static dyn crate::protocol::Protocol), Refusal> {
    if let Err(e) = crate::model::DeviceId::new(device) {
        return Err(Refusal::bad(format!("device: {e}")));
    }
    let live = s
        .live
        .view(device, Utc::now())
        .filter(|v| seen.device(&v.id));
    let id = live.as_ref().map_or(device, |v| v.id.as_str()).to_string();
    let name = match (live.as_ref().map(|v| v.protocol.as_str()), asked) {
        (Some(l), Some(a)) if l != a => {
            return Err(Refusal::bad(format!(
                "protocol: device {device:?} speaks {l}, not {a}"
            )))
        }
        (Some(l), _) => l.to_string(),
        (None, Some(a)) if seen.customer().is_none() => a.to_string(),
        (None, _) => {
            return Err(Refusal(
                StatusCode::NOT_FOUND,
                format!(
                "no device {device:?} (never seen; name its \"protocol\" to queue for it anyway)"
            ),
            ))
        }
    };
    let p = crate::protocol::find(&name)
        .ok_or_else(|| Refusal::bad(format!("protocol: no protocol {name:?}")))?;
    Ok((id, p))
}

/// An optional field of the body: absent or null → `None`, else `read` it.
fn field<'a, T>(
    body: &'a Value,
    key: &str,
    read: impl Fn(&'a Value) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(v)
            .map(Some)
            .ok_or_else(|| Refusal::bad(format!("{key} must be {expected}"))),
    }
}

/// Checks a request body and builds the row to queue for `device`.
fn check(
    s: &ApiState,
    q: &Commands,
    who: &Principal,
    device: &str,
    body: &Value,
) -> Result<NewCommand, Refusal> {
    let Some(obj) = body.as_object() else {
        return Err(Refusal::bad("the body must be a JSON object"));
    };
    const FIELDS: [&str; 5] = ["type", "params", "ttl", "confirm", "protocol"];
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Refusal::bad(format!("unknown field {k:?}")));
    }
    let kind = field(body, "type", Value::as_str, "a string")?
        .ok_or_else(|| Refusal::bad("type: a string is required"))?;
    let params = body.get("params").cloned().unwrap_or(Value::Null);
    let cmd = request::command(kind, &params).map_err(|e| Refusal::bad(e.0))?;
    let c = &q.config;
    let ttl =
        request::ttl(body.get("ttl"), c.default_ttl, c.max_ttl).map_err(|e| Refusal::bad(e.0))?;
    let confirm = field(body, "confirm", Value::as_bool, "true or false")?.unwrap_or(false);
    if cmd.kind() == CommandType::EngineStop && !confirm {
        return Err(Refusal::bad(
            "engine_stop immobilises the vehicle: send \"confirm\": true",
        ));
    }
    let asked = field(body, "protocol", Value::as_str, "a string")?;
    let seen = tenant::Visible::of(who, s.tracking.as_deref());
    let (device, protocol) = protocol_of(s, device, asked, &seen)?;
    let Some(codec) = protocol.commands() else {
        return Err(Refusal::bad(format!(
            "protocol {} has no downlink commands in trackgate",
            protocol.name()
        )));
    };
    if !codec.supported().contains(&cmd.kind()) {
        let names: Vec<&str> = codec.supported().iter().map(|t| t.as_str()).collect();
        return Err(Refusal::bad(format!(
            "type: {} does not support {}; it supports {}",
            protocol.name(),
            cmd.kind(),
            names.join(", ")
        )));
    }
    let now = Utc::now().timestamp_millis();
    Ok(NewCommand {
        device,
        protocol: protocol.name().to_string(),
        kind: cmd.kind().as_str().to_string(),
        params: params.to_string(),
        created_ms: now,
        expires_ms: now.saturating_add(ttl.as_millis() as i64),
        requested_by: who.name.clone(),
        customer: who.customer.clone(),
    })
}

/// `POST /api/devices/{id}/commands` `{"type", "params"?, "ttl"?, "confirm"?, "protocol"?}`
/// → 202 with the queued command.
async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(device): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let Some(q) = s.commands.clone() else {
        return unavailable();
    };
    let body = match body {
        Ok(Json(v)) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    match check(&s, &q, &who, &device, &body) {
        Ok(new) => queue(&q, new).await,
        Err(r) => r.answer(),
    }
}

async fn queue(q: &Commands, new: NewCommand) -> Response {
    let device = new.device.clone();
    let max = q.config.max_open_per_device;
    match q.store.insert(new, max).await {
        Ok(Some(row)) => {
            q.notify(&device);
            q.metrics.count(&row.protocol, "queued");
            tracing::info!(device = %device, command = row.seq, kind = %row.kind, who = %row.requested_by, "command queued");
            let v = view(&row);
            let body = json!({
                "id": v["id"],
                "device": v["device"],
                "type": v["type"],
                "status": v["status"],
                "created": v["created"],
                "protocol": v["protocol"],
                "expires": v["expires"],
            });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Ok(None) => error(
            StatusCode::CONFLICT,
            format!(
                "device {device:?} already has {max} commands queued or waiting for an answer (commands.max_open_per_device)"
            ),
        ),
        Err(e) => store_failed(e),
    }
}

/// The row number in `/api/commands/{id}`; anything else names no command.
fn parse_id(id: &str) -> Option<i64> {
    id.parse::<i64>().ok()
}

fn no_command(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no command {id:?}"))
}

/// `GET /api/commands/{id}`.
async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let Some(q) = s.commands.clone() else {
        return unavailable();
    };
    let Some(seq) = parse_id(&id) else {
        return no_command(&id);
    };
    match q.store.get(seq, Utc::now().timestamp_millis()).await {
        Ok(Some(r)) if visible(&who, &r) => Json(view(&r)).into_response(),
        Ok(_) => error(StatusCode::NOT_FOUND, format!("no command {id:?}")),
        Err(e) => store_failed(e),
    }
}

/// `GET /api/devices/{id}/commands?limit=&after=`: the device's commands in queue order.
async fn list(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(device): Path<String>,
    Query(p): Query<Page>,
) -> Response {
    let Some(q) = s.commands.clone() else {
        return unavailable();
    };
    let limit = p.size(PAGE, MAX_PAGE);
    // The id its connections use (`12076463279` lists terminal `012076463279`'s).
    let device = s.live.view(&device, Utc::now()).map_or(device, |v| v.id);
    let after = match p.after.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "after: a command id is expected"),
    };
    let rows = match q
        .store
        .list(device.clone(), after, limit, Utc::now().timestamp_millis())
        .await
    {
        Ok(r) => r,
        Err(e) => return store_failed(e),
    };
    let more = rows.len() > limit;
    // Tenancy filters after the page is cut: a customer sees fewer rows per page, never
    // another customer's, and the cursor still moves on.
    let next = rows
        .get(limit - 1)
        .filter(|_| more)
        .map(|r| r.seq.to_string());
    let items: Vec<Value> = rows
        .iter()
        .take(limit)
        .filter(|r| visible(&who, r))
        .map(view)
        .collect();
    let mut resp = Json(items).into_response();
    let path = format!("/api/devices/{device}/commands");
    link_next(&mut resp, &path, next.as_deref(), limit);
    resp
}

/// `DELETE /api/commands/{id}`: cancels a queued command; 409 once it was sent.
async fn cancel(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let Some(q) = s.commands.clone() else {
        return unavailable();
    };
    let Some(seq) = parse_id(&id) else {
        return no_command(&id);
    };
    let now = Utc::now().timestamp_millis();
    // Look first: a customer must not cancel (or learn about) another customer's command.
    match q.store.get(seq, now).await {
        Ok(Some(r)) if visible(&who, &r) => {}
        Ok(_) => return error(StatusCode::NOT_FOUND, format!("no command {id:?}")),
        Err(e) => return store_failed(e),
    }
    match q.store.cancel(seq, now).await {
        Ok(Cancel::Cancelled(r)) => {
            q.metrics.count(&r.protocol, "cancelled");
            Json(view(&r)).into_response()
        }
        Ok(Cancel::NotQueued(r)) => error(
            StatusCode::CONFLICT,
            format!(
                "command {} is {}, only a queued command can be cancelled",
                r.seq,
                r.status.as_str()
            ),
        ),
        Ok(Cancel::NotFound) => error(StatusCode::NOT_FOUND, format!("no command {id:?}")),
        Err(e) => store_failed(e),
    }
}
