//! Access control of the HTTP API: bearer tokens with scopes, optionally bound to a customer.
//!
//! Every route is declared with the access it needs ([`Access`]) in one table
//! (`api::routes`). The [`authenticate`] layer runs first on every request: it resolves the
//! `Authorization: Bearer` token (or, for the event streams `/api/stream` and
//! `/api/console/notices` only, `?access_token=`, because a browser's `EventSource` cannot
//! send headers) to a [`Principal`], answering 401 with
//! `WWW-Authenticate: Bearer` when the token is missing or unknown. The route's own layer
//! ([`require`]) then answers 403, naming the missing scope, when the principal lacks it.
//! A route that was added without a declared access is refused (fail closed): the outer
//! layer answers 500 unless the route layer marked the response as checked.
//!
//! With no token configured or created, the API accepts anonymous requests with every scope
//! — and the server refuses to listen anywhere but on loopback (Redis' "protected mode").

pub mod config;
pub mod tokens;

pub use config::ApiConfig;
pub use tokens::Registry;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything, including tokens and the audit trail.
    Admin,
    /// Devices, shipments, events, the live stream.
    Read,
    /// Create and cancel shipments, manage webhooks.
    Write,
    /// Downlink commands to devices.
    Commands,
    /// `/metrics`.
    Metrics,
}

impl Scope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Scope; 5] = [
        Scope::Admin,
        Scope::Read,
        Scope::Write,
        Scope::Commands,
        Scope::Metrics,
    ];

    /// The scope's name in config and API bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Commands => "commands",
            Scope::Metrics => "metrics",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?} (admin, read, write, commands, metrics)"))
    }
}

/// Who is calling: a token's name, scopes and customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (`anonymous` without tokens).
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Set for tenant-scoped tokens.
    pub customer: Option<String>,
}

impl Principal {
    /// The caller on a loopback API that has no tokens at all.
    pub fn anonymous() -> Self {
        Principal {
            name: "anonymous".into(),
            scopes: vec![Scope::Admin],
            customer: None,
        }
    }

    /// Whether the caller may do what `scope` allows (`admin` allows everything).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }

    /// Whether the caller may see an object of `customer` (an untenanted token sees all; a
    /// tenant token only its own customer's).
    pub fn sees(&self, customer: Option<&str>) -> bool {
        match &self.customer {
            None => true,
            Some(mine) => customer == Some(mine.as_str()),
        }
    }
}

/// The access a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token needed (`/healthz`, the console's static files, customer tracking links).
    Public,
    /// Any valid token, whatever its scopes (`GET /api/whoami`: a token must be able to ask
    /// what it may do — a `metrics`-only token has no `read`).
    Token,
    /// A token with this scope.
    Scope(Scope),
}

/// Marks a response whose route declared its access (see the module doc).
#[derive(Clone, Copy, Debug)]
struct Checked;

fn unauthorized(msg: &str) -> Response {
    let mut r = super::error(StatusCode::UNAUTHORIZED, msg);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r.extensions_mut().insert(Checked);
    r
}

/// The token a request carries: the bearer header, or `access_token` in the query of the
/// event streams (`/api/stream`, the console's `/api/console/notices`: EventSource cannot
/// send headers; nothing logs query strings).
fn presented(req: &Request) -> Result<Option<String>, &'static str> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| "Authorization header is not text")?;
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or("Authorization must be `Bearer <token>`")?;
        return Ok(Some(token.trim().to_string()));
    }
    if matches!(req.uri().path(), "/api/stream" | "/api/console/notices") {
        let q = req.uri().query().unwrap_or("");
        if let Some((_, t)) =
            form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "access_token")
        {
            return Ok(Some(t.into_owned()));
        }
    }
    Ok(None)
}

/// Outer layer: resolves the caller, then refuses a response from a route that declared no
/// access.
pub async fn authenticate(
    State(registry): State<Arc<Registry>>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = match presented(&req) {
        Ok(t) => t,
        Err(m) => return unauthorized(m),
    };
    let principal = match token {
        Some(t) => match registry.authenticate(&t) {
            Some(p) => Some(p),
            None => return unauthorized("unknown or revoked token"),
        },
        None if registry.is_empty() => Some(Principal::anonymous()),
        None => None,
    };
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    let resp = next.run(req).await;
    // 404 and 405 (no route, wrong method) reveal nothing and run no handler.
    let unrouted = matches!(
        resp.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    );
    if !unrouted && resp.extensions().get::<Checked>().is_none() {
        tracing::error!("a route without declared access answered; refused");
        return super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this route declares no access rule",
        );
    }
    resp
}

/// Route layer: the principal must hold `access`.
pub async fn require(access: Access, req: Request, next: Next) -> Response {
    let principal = req.extensions().get::<Principal>();
    match (access, principal) {
        (Access::Public, _) => {}
        (Access::Token | Access::Scope(_), None) => {
            return unauthorized("this route needs a bearer token");
        }
        (Access::Token, Some(_)) => {}
        (Access::Scope(scope), Some(p)) if !p.has(scope) => {
            let mut r = super::error(
                StatusCode::FORBIDDEN,
                format!("token {:?} lacks the {scope} scope", p.name),
            );
            r.extensions_mut().insert(Checked);
            return r;
        }
        (Access::Scope(_), Some(_)) => {}
    }
    let mut resp = next.run(req).await;
    resp.extensions_mut().insert(Checked);
    resp
}

/// The caller, for handlers (present on every route that needs a token).
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| unauthorized("this route needs a bearer token"))
    }
}

/// Methods that change state: audited, and held to `Content-Type: application/json`.
pub fn changes_state(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Cross-site requests: a state-changing request with a body must say it is JSON. Bearer
/// tokens make CSRF moot (a browser never attaches them by itself); this refuses the form
/// and `text/plain` bodies a cross-site page could still send.
pub async fn json_only(req: Request, next: Next) -> Response {
    if changes_state(req.method()) {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        // No body at all (no length or a zero one, not chunked) needs no type: a cross-site
        // form always sends one.
        let bodyless = req.headers().get(header::TRANSFER_ENCODING).is_none()
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        let ok = match ct.as_deref() {
            Some("application/json") => true,
            None => bodyless,
            Some(_) => false,
        };
        if !ok {
            let mut r = super::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "state-changing requests must be sent as Content-Type: application/json",
            );
            r.extensions_mut().insert(Checked);
            return r;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_has_every_scope_and_tenants_see_only_their_own() {
        let admin = Principal::anonymous();
        assert!(Scope::ALL.iter().all(|s| admin.has(*s)));
        assert!(admin.sees(Some("acme")) && admin.sees(None));
        let acme = Principal {
            name: "acme-portal".into(),
            scopes: vec![Scope::Read],
            customer: Some("acme".into()),
        };
        assert!(acme.has(Scope::Read) && !acme.has(Scope::Write));
        assert!(acme.sees(Some("acme")));
        assert!(!acme.sees(Some("globex")) && !acme.sees(None));
    }

    #[test]
    fn scopes_parse_by_name() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert!("root".parse::<Scope>().unwrap_err().contains("root"));
    }
}
