//! `/api/geofences`: create, list (paged), show, create-or-replace, delete.
//!
//! Tenancy as for shipments ([`super::tenant`]): a customer's token sees and changes only its
//! customer's geofences (others answer 404, as if they did not exist); what it creates is
//! its customer's. Such a geofence must name its `devices`, each one the token can see:
//! otherwise the customer would be told when other customers' vehicles enter its areas.

use super::auth::{Access, Caller, Principal, Scope};
use super::paging::{link_next, Page};
use super::{error, ApiState, RouteSpec};
use crate::fleet::geofence::Geofence;
use crate::fleet::handle::{Put, RequestError};
use crate::fleet::FleetHandle;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Json;
use std::sync::Arc;

/// The geofence routes (merged into the main router).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/geofences", read, get(list)),
        RouteSpec::new(Method::POST, "/api/geofences", write, post(create)),
        RouteSpec::new(Method::GET, "/api/geofences/{id}", read, get(show)),
        RouteSpec::new(Method::PUT, "/api/geofences/{id}", write, put(replace)),
        RouteSpec::new(Method::DELETE, "/api/geofences/{id}", write, delete(remove)),
    ]
}

/// Default page of `GET /api/geofences`.
pub const GEOFENCES_PAGE: usize = 1000;
/// Largest page of `GET /api/geofences`.
pub const MAX_GEOFENCES_PAGE: usize = 10_000;

/// A refusal on the way to an answer (boxed: a `Response` is large).
type Refused = Box<Response>;

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "geofences are not available (fleet store not open)",
    )
}

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no geofence {id:?}"))
}

fn failure(e: RequestError) -> Response {
    match &e {
        RequestError::Invalid(_) => error(StatusCode::BAD_REQUEST, e.to_string()),
        RequestError::Duplicate(_) | RequestError::Quota(_) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        RequestError::NotFound(id) => not_found(id),
        RequestError::Store(_) => {
            tracing::error!(error = %e, "geofence request failed");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

/// The body, or a 400 naming what serde found wrong (`area: ...`, `unknown field ...`).
fn body(b: Result<Json<Geofence>, JsonRejection>) -> Result<Geofence, Refused> {
    b.map(|Json(g)| g)
        .map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e.body_text())))
}

/// Applies the caller's tenancy to a geofence it wants to store: fills in its customer,
/// refuses another customer's, and requires a device list it can see.
fn own(s: &ApiState, who: &Principal, g: &mut Geofence) -> Result<(), Refused> {
    let Some(mine) = &who.customer else {
        return Ok(());
    };
    match &g.customer {
        Some(c) if c != mine => {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                format!("customer: a token of customer {mine:?} creates only {mine:?}'s geofences"),
            )))
        }
        _ => g.customer = Some(mine.clone()),
    }
    if g.devices.is_empty() {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "devices: a customer's geofence lists the devices it applies to",
        )));
    }
    let visible = super::tenant::Visible::of(who, s.tracking.as_deref());
    if let Some(d) = g.devices.iter().find(|d| !visible.device(d.as_str())) {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format!("devices: no device {:?}", d.as_str()),
        )));
    }
    Ok(())
}

fn fleet(s: &ApiState) -> Result<Arc<FleetHandle>, Refused> {
    s.fleet.clone().ok_or_else(|| Box::new(unavailable()))
}

/// `POST /api/geofences`: 201 with the stored geofence; an id is made when none is given;
/// 409 when the id exists.
async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    b: Result<Json<Geofence>, JsonRejection>,
) -> Response {
    let run = || -> Result<Response, Refused> {
        let f = fleet(&s)?;
        let mut g = body(b)?;
        if g.id.is_empty() {
            g.id = format!("gf_{:016x}", rand::random::<u64>());
        }
        own(&s, &who, &mut g)?;
        let g = f.create(g).map_err(|e| Box::new(failure(e)))?;
        Ok((StatusCode::CREATED, Json(g)).into_response())
    };
    run().unwrap_or_else(|r| *r)
}

/// `PUT /api/geofences/{id}`: 201 when created, 200 when replaced. A body `id`, if given,
/// must be the path's.
async fn replace(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    b: Result<Json<Geofence>, JsonRejection>,
) -> Response {
    let run = || -> Result<Response, Refused> {
        let f = fleet(&s)?;
        let mut g = body(b)?;
        if !g.id.is_empty() && g.id != id {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("id: the body's {:?} is not the path's {id:?}", g.id),
            )));
        }
        g.id = id;
        if let Some(old) = f.get(&g.id) {
            if !who.sees(old.customer.as_deref()) {
                // Another customer's: the id is taken, and nothing more is said about it.
                return Err(Box::new(error(
                    StatusCode::CONFLICT,
                    format!("geofence id {:?} is in use", g.id),
                )));
            }
        }
        own(&s, &who, &mut g)?;
        let (g, how) = f.put(g).map_err(|e| Box::new(failure(e)))?;
        let status = match how {
            Put::Created => StatusCode::CREATED,
            Put::Replaced => StatusCode::OK,
        };
        Ok((status, Json(g)).into_response())
    };
    run().unwrap_or_else(|r| *r)
}

/// `GET /api/geofences?limit=&after=`: sorted by id, paged like `/api/devices`; a
/// customer's token lists its customer's only.
async fn list(State(s): State<ApiState>, Caller(who): Caller, Query(p): Query<Page>) -> Response {
    let f = match fleet(&s) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let limit = p.size(GEOFENCES_PAGE, MAX_GEOFENCES_PAGE);
    let (page, more) = f.page(p.after.as_deref(), limit, |g| {
        who.sees(g.customer.as_deref())
    });
    let next = page.last().filter(|_| more).map(|g| g.id.clone());
    let mut resp = Json(page).into_response();
    link_next(&mut resp, "/api/geofences", next.as_deref(), limit);
    resp
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let f = match fleet(&s) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match f.get(&id) {
        Some(g) if who.sees(g.customer.as_deref()) => Json(g).into_response(),
        _ => not_found(&id),
    }
}

/// `DELETE /api/geofences/{id}`: 204; 404 when unknown (or another customer's).
async fn remove(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let f = match fleet(&s) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if !f.get(&id).is_some_and(|g| who.sees(g.customer.as_deref())) {
        return not_found(&id);
    }
    match f.delete(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failure(e),
    }
}
