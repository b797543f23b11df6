//! `/api/drivers`: drivers `{id, name, key}`, where `key` is the iButton, RFID or driver
//! card id the trackers report (a position's `driver_id` attribute). A device view shows
//! its current driver from its latest position ([`super::devices`]).
//!
//! Drivers are people's names: ops data. Customer tokens get 403 on every driver route
//! (drivers are not assigned to customers yet).

use super::auth::{Access, Caller, Principal, Scope};
use super::devices::{blocking, failure};
use super::{error, ApiState, RouteSpec};
use crate::registry::{Driver, Written};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Json;

/// The driver routes (merged into the main router).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/drivers", read, get(list)),
        RouteSpec::new(Method::POST, "/api/drivers", write, post(create)),
        RouteSpec::new(Method::GET, "/api/drivers/{id}", read, get(show)),
        RouteSpec::new(Method::PUT, "/api/drivers/{id}", write, put(replace)),
        RouteSpec::new(Method::DELETE, "/api/drivers/{id}", write, delete(remove)),
    ]
}

/// 403 for a customer's token.
fn tenant_refused(who: &Principal) -> Option<Response> {
    who.customer.as_ref().map(|_| {
        error(
            StatusCode::FORBIDDEN,
            "drivers are managed by ops: a customer's token cannot read or change them",
        )
    })
}

async fn list(State(s): State<ApiState>, Caller(who): Caller) -> Response {
    if let Some(r) = tenant_refused(&who) {
        return r;
    }
    Json(s.registry.drivers()).into_response()
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    if let Some(r) = tenant_refused(&who) {
        return r;
    }
    match s.registry.driver(&id) {
        Some(d) => Json(d).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no driver {id:?}")),
    }
}

async fn store(s: &ApiState, d: Driver, create_only: bool) -> Response {
    if create_only && s.registry.driver(&d.id).is_some() {
        return error(StatusCode::CONFLICT, format!("driver {:?} exists", d.id));
    }
    let out = d.clone();
    match blocking(&s.registry, move |r| r.put_driver(d)).await {
        Ok(Written::Created) => (StatusCode::CREATED, Json(out)).into_response(),
        Ok(Written::Replaced) => Json(out).into_response(),
        Err(e) => failure(e),
    }
}

/// `POST /api/drivers {id, name, key}`: creates (409 if the id exists or the key is
/// another driver's).
async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    body: Result<Json<Driver>, JsonRejection>,
) -> Response {
    if let Some(r) = tenant_refused(&who) {
        return r;
    }
    let d = match body {
        Ok(Json(d)) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let id = d.id.clone();
    match d.checked(&id) {
        Ok(d) => store(&s, d, true).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// `PUT /api/drivers/{id}`: creates (201) or replaces (200).
async fn replace(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Result<Json<Driver>, JsonRejection>,
) -> Response {
    if let Some(r) = tenant_refused(&who) {
        return r;
    }
    let d = match body {
        Ok(Json(d)) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    match d.checked(&id) {
        Ok(d) => store(&s, d, false).await,
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn remove(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = tenant_refused(&who) {
        return r;
    }
    match blocking(&s.registry, move |r| r.delete_driver(&id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failure(e),
    }
}
