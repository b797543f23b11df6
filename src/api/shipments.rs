//! `/api/shipments`: create, list (paged), show, cancel (external contract in design.md);
//! customers' tokens reach their customer's shipments only (see [`super::tenant`]).

use super::auth::{Access, Caller, Scope};
use super::paging::{link_next, Page};
use super::{error, ApiState, RouteSpec};
use crate::tracking::engine::EngineError;
use crate::tracking::handle::RequestError;
use crate::tracking::view::ShipmentView;
use crate::tracking::ShipmentSpec;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use chrono::Utc;

/// The shipment routes (merged into the main router).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/shipments", read, get(list)),
        RouteSpec::new(Method::POST, "/api/shipments", write, post(create)),
        RouteSpec::new(Method::GET, "/api/shipments/{id}", read, get(show)),
        RouteSpec::new(Method::DELETE, "/api/shipments/{id}", write, delete(cancel)),
    ]
}

fn disabled() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "tracking is disabled ([tracking] enabled = false)",
    )
}

fn failure(e: RequestError) -> Response {
    match &e {
        RequestError::Invalid(_) => error(StatusCode::BAD_REQUEST, e.to_string()),
        RequestError::Engine(EngineError::Duplicate(_)) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        RequestError::Engine(EngineError::NotFound(_)) => {
            error(StatusCode::NOT_FOUND, e.to_string())
        }
        RequestError::Engine(EngineError::NotActive(_)) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        RequestError::Quota(_) => error(StatusCode::CONFLICT, e.to_string()),
        RequestError::Store(_) | RequestError::Pipeline(_) => {
            tracing::error!(error = %e, "shipment request failed");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

/// Default and largest page of `GET /api/shipments`.
pub const SHIPMENTS_PAGE: usize = 1000;
/// Largest page of `GET /api/shipments`.
pub const MAX_SHIPMENTS_PAGE: usize = 10_000;

fn not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no shipment {id:?}"))
}

/// Creates a shipment. A customer's token creates shipments of its customer only (the
/// field is filled in; another customer's name is refused), and not on a vehicle that is
/// on another customer's active shipment or registered to another customer in the device
/// registry (404, as for a device it cannot see).
async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    body: Result<Json<ShipmentSpec>, JsonRejection>,
) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    // serde's message names the field path (`stops[0].planned_arrival: ...`).
    let mut spec = match body {
        Ok(Json(spec)) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    if let Some(mine) = &who.customer {
        match &spec.customer {
            Some(c) if c != mine => {
                return error(
                    StatusCode::FORBIDDEN,
                    format!(
                        "customer: a token of customer {mine:?} creates only {mine:?}'s shipments"
                    ),
                )
            }
            _ => spec.customer = Some(mine.clone()),
        }
        let owned_by_other = s
            .registry
            .device(spec.device.as_str())
            .is_some_and(|d| d.customer.is_some_and(|c| c != *mine));
        if owned_by_other || t.engine().other_customers_on(&spec.device, mine) {
            return error(
                StatusCode::NOT_FOUND,
                format!("device: no device {:?}", spec.device.as_str()),
            );
        }
    }
    if t.engine().config().require_known_device
        && s.live.view(spec.device.as_str(), Utc::now()).is_none()
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "device: {:?} has never been seen (tracking.require_known_device)",
                spec.device.as_str()
            ),
        );
    }
    match t.create(spec, Utc::now()) {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => failure(e),
    }
}

/// `GET /api/shipments?limit=&after=`: shipments sorted by id, paged like `/api/devices`;
/// a customer's token lists its customer's only.
async fn list(State(s): State<ApiState>, Caller(who): Caller, Query(p): Query<Page>) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    let limit = p.size(SHIPMENTS_PAGE, MAX_SHIPMENTS_PAGE);
    let mine: Vec<ShipmentView> = t
        .list()
        .into_iter()
        .filter(|v| who.sees(v.customer.as_deref()))
        .collect();
    let (page, more) = p.of(mine, limit, |v| &v.id);
    let next = page.last().filter(|_| more).map(|v| v.id.clone());
    let mut resp = Json(page).into_response();
    link_next(&mut resp, "/api/shipments", next.as_deref(), limit);
    resp
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    match t.view(&id) {
        Some(v) if who.sees(v.customer.as_deref()) => Json(v).into_response(),
        _ => not_found(&id),
    }
}

async fn cancel(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    if !t.view(&id).is_some_and(|v| who.sees(v.customer.as_deref())) {
        return not_found(&id);
    }
    match t.cancel(&id, Utc::now()).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => failure(e),
    }
}
