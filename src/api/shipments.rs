//! `/api/shipments`: create, list, show, cancel (external contract in design.md).

use super::auth::{Access, Scope};
use super::{error, ApiState, RouteSpec};
use crate::tracking::engine::EngineError;
use crate::tracking::handle::RequestError;
use crate::tracking::ShipmentSpec;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
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
        RequestError::Store(_) | RequestError::Pipeline(_) => {
            tracing::error!(error = %e, "shipment request failed");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

async fn create(
    State(s): State<ApiState>,
    body: Result<Json<ShipmentSpec>, JsonRejection>,
) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    // serde's message names the field path (`stops[0].planned_arrival: ...`).
    let spec = match body {
        Ok(Json(spec)) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
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

async fn list(State(s): State<ApiState>) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    Json(t.list()).into_response()
}

async fn show(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    match t.view(&id) {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no shipment {id:?}")),
    }
}

async fn cancel(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let Some(t) = s.tracking.clone() else {
        return disabled();
    };
    match t.cancel(&id, Utc::now()).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => failure(e),
    }
}
