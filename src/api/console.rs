//! The console's pages and files: `GET /` (the ops console) and `GET /console/<version>/
//! <file>` (its scripts, styles and basemap, embedded in the binary; see
//! `console::assets` for caching and compression). `console.enabled = false` turns both
//! off (404); the API is unaffected.

use super::auth::Access;
use super::{error, ApiState, RouteSpec};
use crate::console::assets;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;

/// Long-lived: the versioned prefix changes with every build.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The routes of this module: public (the page holds no data; the API calls it makes
/// carry the token).
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec::new(Method::GET, "/", Access::Public, get(index)),
        RouteSpec::new(
            Method::GET,
            "/console/{version}/{file}",
            Access::Public,
            get(file),
        ),
    ]
}

async fn index(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if !s.console.config.enabled {
        return error(
            StatusCode::NOT_FOUND,
            "the console is disabled ([console] enabled = false)",
        );
    }
    s.console.pages.respond(&s.console.pages.index, &headers)
}

async fn file(
    State(s): State<ApiState>,
    Path((version, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.console.config.enabled {
        return error(
            StatusCode::NOT_FOUND,
            "the console is disabled ([console] enabled = false)",
        );
    }
    match assets::file(&name) {
        Some(f) if version == assets::version() => f.respond(&headers, IMMUTABLE),
        Some(f) => f.respond(&headers, "no-cache"),
        None => error(StatusCode::NOT_FOUND, format!("no console file {name:?}")),
    }
}
