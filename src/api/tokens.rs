//! `/api/tokens` (admin): create a token (shown once), list tokens (never the token), revoke.
//! `/api/whoami` (any token): who the caller is and what it may do, so a client (the ops
//! console) can hide what would only be refused.

use super::auth::tokens::TokenError;
use super::auth::{Access, Caller, Scope};
use super::{error, ApiState, RouteSpec};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::{Deserialize, Serialize};

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    let admin = Access::Scope(Scope::Admin);
    vec![
        RouteSpec::new(Method::POST, "/api/tokens", admin, post(create)),
        RouteSpec::new(Method::GET, "/api/tokens", admin, get(list)),
        RouteSpec::new(Method::DELETE, "/api/tokens/{name}", admin, delete(remove)),
        RouteSpec::new(Method::GET, "/api/whoami", Access::Token, get(whoami)),
    ]
}

/// Body of `POST /api/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scopes: Vec<Scope>,
    #[serde(default)]
    customer: Option<String>,
}

fn failure(e: TokenError) -> Response {
    let status = match e {
        TokenError::Invalid(_) => StatusCode::BAD_REQUEST,
        TokenError::Duplicate(_) | TokenError::FromConfig(_) => StatusCode::CONFLICT,
        TokenError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

async fn create(
    State(s): State<ApiState>,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Response {
    let Json(n) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    match s.auth.create(&n.name, n.scopes, n.customer) {
        Ok((token, info)) => {
            tracing::info!(token = %info.name, scopes = ?info.scopes, customer = ?info.customer, "api token created");
            let mut v = serde_json::to_value(&info).unwrap_or_default();
            v["token"] = serde_json::Value::String(token);
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(e) => failure(e),
    }
}

async fn list(State(s): State<ApiState>) -> Response {
    Json(s.auth.list()).into_response()
}

async fn remove(State(s): State<ApiState>, Path(name): Path<String>) -> Response {
    match s.auth.delete(&name) {
        Ok(true) => {
            tracing::info!(token = %name, "api token revoked");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no token {name:?}")),
        Err(e) => failure(e),
    }
}

/// Answer of `GET /api/whoami`.
#[derive(Debug, Serialize)]
struct WhoAmI {
    /// The token's name (`anonymous` on an API without tokens).
    name: String,
    /// What the caller may do: its scopes with `admin` expanded to every scope, so a client
    /// needs no rule of its own to decide what to offer.
    scopes: Vec<Scope>,
    /// The customer a tenant token is bound to (`null`: sees every customer).
    customer: Option<String>,
}

async fn whoami(Caller(who): Caller) -> Response {
    let scopes = Scope::ALL.into_iter().filter(|s| who.has(*s)).collect();
    Json(WhoAmI {
        name: who.name,
        scopes,
        customer: who.customer,
    })
    .into_response()
}
