//! `GET /api/shipments/{id}/history`: what the console's shipment view draws besides the
//! shipment itself — the planned route and stops with their coordinates, the vehicle's
//! trail and each stop's ETA over time (see `console::history` for where these come from
//! and their bounds).
//!
//! ```json
//! {"id": "sh1", "device": "356…", "route": [[lon, lat], …],
//!  "stops": [{"id", "name", "lat", "lon", "planned_arrival", "radius_m"}],
//!  "trail": [[fix_ms, lat, lon], …],
//!  "eta": [{"stop": "S1", "planned": ms, "samples": [[fix_ms, eta_ms, p10_ms, p90_ms], …]}]}
//! ```

use super::auth::{Access, Caller, Scope};
use super::{error, ApiState, RouteSpec};
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::json;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec::new(
        Method::GET,
        "/api/shipments/{id}/history",
        Access::Scope(Scope::Read),
        get(show),
    )]
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let Some(t) = s.tracking.as_ref() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "tracking is disabled ([tracking] enabled = false)",
        );
    };
    let spec = t
        .engine()
        .get(&id)
        .map(|tr| tr.spec.clone())
        .filter(|sp| who.sees(sp.customer.as_deref()));
    let Some(spec) = spec else {
        return error(StatusCode::NOT_FOUND, format!("no shipment {id:?}"));
    };
    let h = s.console.history.shipment(&id);
    let stops: Vec<_> = spec
        .stops
        .iter()
        .map(|st| {
            json!({
                "id": st.id, "name": st.name, "lat": st.lat, "lon": st.lon,
                "planned_arrival": st.planned_arrival, "radius_m": st.radius_m,
            })
        })
        .collect();
    let eta: Vec<_> = h
        .eta
        .iter()
        .map(|(stop, series)| json!({ "stop": stop, "planned": series.planned, "samples": series.samples }))
        .collect();
    let trail: Vec<_> = h
        .trail
        .iter()
        .map(|(t, lat, lon)| json!([t, lat, lon]))
        .collect();
    Json(json!({
        "id": spec.id,
        "device": spec.device.as_str(),
        "route": spec.route.coordinates,
        "stops": stops,
        "trail": trail,
        "eta": eta,
    }))
    .into_response()
}
