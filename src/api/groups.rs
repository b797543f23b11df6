//! `/api/groups`: device groups (`{id, name, parent}`, nested one level), the filter of
//! `GET /api/devices?group=`.
//!
//! Groups are shared by every customer (ops sort the fleet with them), so only untenanted
//! tokens change them (a customer's token: 403). A customer's token reads the groups its
//! visible devices are in, with their parents; any other group answers 404.
//! `DELETE` of a group a device or a subgroup names answers 409.

use super::auth::{Access, Caller, Principal, Scope};
use super::devices::{blocking, failure};
use super::tenant::Visible;
use super::{error, ApiState, RouteSpec};
use crate::registry::{Group, Written};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Json;
use std::collections::BTreeSet;

/// The group routes (merged into the main router).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/groups", read, get(list)),
        RouteSpec::new(Method::POST, "/api/groups", write, post(create)),
        RouteSpec::new(Method::GET, "/api/groups/{id}", read, get(show)),
        RouteSpec::new(Method::PUT, "/api/groups/{id}", write, put(replace)),
        RouteSpec::new(Method::DELETE, "/api/groups/{id}", write, delete(remove)),
    ]
}

/// The groups a customer's token may read (`None`: all).
fn readable(s: &ApiState, who: &Principal) -> Option<BTreeSet<String>> {
    who.customer.as_ref()?;
    let v = Visible::of(who, s.tracking.as_deref()).with_registered(&s.registry);
    let mut out = BTreeSet::new();
    for g in s
        .registry
        .devices(&Default::default(), |d| v.device(&d.id))
        .into_iter()
        .filter_map(|d| d.group)
    {
        if let Some(p) = s.registry.group(&g).and_then(|x| x.parent) {
            out.insert(p);
        }
        out.insert(g);
    }
    Some(out)
}

fn no_group(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no group {id:?}"))
}

fn tenant_refused() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "groups are shared by every customer: a customer's token cannot change them",
    )
}

/// `GET /api/groups`: every group (a customer's: see the module doc), in id order.
async fn list(State(s): State<ApiState>, Caller(who): Caller) -> Response {
    let keep = readable(&s, &who);
    let groups: Vec<Group> = s
        .registry
        .groups()
        .into_iter()
        .filter(|g| keep.as_ref().is_none_or(|k| k.contains(&g.id)))
        .collect();
    Json(groups).into_response()
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let keep = readable(&s, &who);
    match s.registry.group(&id) {
        Some(g) if keep.as_ref().is_none_or(|k| k.contains(&g.id)) => Json(g).into_response(),
        _ => no_group(&id),
    }
}

/// Stores `g` (already checked) and answers 201/200 with it.
async fn store(s: &ApiState, g: Group, create_only: bool) -> Response {
    let id = g.id.clone();
    if create_only && s.registry.group(&id).is_some() {
        return error(StatusCode::CONFLICT, format!("group {id:?} exists"));
    }
    let out = g.clone();
    match blocking(&s.registry, move |r| r.put_group(g)).await {
        Ok(Written::Created) => (StatusCode::CREATED, Json(out)).into_response(),
        Ok(Written::Replaced) => Json(out).into_response(),
        Err(e) => failure(e),
    }
}

/// `POST /api/groups {id, name, parent}`: creates (409 if the id exists).
async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    body: Result<Json<Group>, JsonRejection>,
) -> Response {
    if who.customer.is_some() {
        return tenant_refused();
    }
    let g = match body {
        Ok(Json(g)) => g,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let id = g.id.clone();
    match g.checked(&id) {
        Ok(g) => store(&s, g, true).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `PUT /api/groups/{id}`: creates (201) or replaces (200).
async fn replace(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Result<Json<Group>, JsonRejection>,
) -> Response {
    if who.customer.is_some() {
        return tenant_refused();
    }
    let g = match body {
        Ok(Json(g)) => g,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    match g.checked(&id) {
        Ok(g) => store(&s, g, false).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `DELETE /api/groups/{id}`: 204; 409 while a device or subgroup names it.
async fn remove(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    if who.customer.is_some() {
        return tenant_refused();
    }
    match blocking(&s.registry, move |r| r.delete_group(&id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failure(e),
    }
}
