//! `/api/webhooks`: customer subscriptions, their delivery log, dead-letter redrive and
//! secret rotation.
//!
//! - Targets: `http://` or `https://`, no `user:pass@`, vetted with the dispatcher's egress
//!   guard (the store's [`SubscriptionRules`]): an inward address answers 400 naming the
//!   reason. Every delivery checks again (DNS may change after creation).
//! - Tenancy: a subscription created with a customer token is bound to that customer and
//!   receives only that customer's events; a customer token sees only its own subscriptions
//!   (any other id answers 404, as if it did not exist). At most
//!   `webhooks.max_webhooks_per_customer` per customer (409 beyond).
//! - Secrets never leave the server after creation: list and get show a fingerprint. A
//!   secret the server generates (`secret` omitted) is shown once, in the answer that
//!   created it. `POST …/secret` rotates: the previous secret keeps signing for
//!   `previous_valid_for` (both signatures are sent, new first).
//! - Delivery log: status and response length for everyone; the first 200 bytes of a failed
//!   response only for admin tokens (a receiver's error page can describe its internals).

use super::auth::{Access, Caller, Principal, Scope};
use super::paging::{link_next, Page};
use super::{error, ApiState, RouteSpec};
use crate::outputs::store::{StoreError, Subscription, SubscriptionRules};
use crate::outputs::Outputs;
use crate::secret::{fingerprint, redact_url, Secret};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Smallest secret accepted, bytes: shorter keys can be guessed offline from one signature.
pub const MIN_SECRET_BYTES: usize = 16;
/// Largest secret accepted, bytes (HMAC keys longer than a block are hashed anyway).
pub const MAX_SECRET_BYTES: usize = 256;
/// Largest URL accepted, bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most event types in one subscription's filter.
pub const MAX_EVENT_TYPES: usize = 64;
/// Default and largest page of `/deliveries`.
pub const DELIVERIES_PAGE: usize = 100;
/// Largest page of `/deliveries`.
pub const MAX_DELIVERIES_PAGE: usize = 1000;
/// How long the previous secret keeps signing after a rotation, unless the request says.
pub const DEFAULT_ROTATION_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Longest rotation window.
pub const MAX_ROTATION_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest wait for DNS when a target is vetted at creation.
const VET_TIMEOUT: Duration = Duration::from_secs(5);

/// The routes of this module.
///
/// Subscriptions carry customers' receiver URLs: every route, reading ones included, needs
/// the `write` scope ("manage webhooks").
pub fn routes() -> Vec<RouteSpec> {
    let w = Access::Scope(Scope::Write);
    vec![
        RouteSpec::new(Method::POST, "/api/webhooks", w, post(create)),
        RouteSpec::new(Method::GET, "/api/webhooks", w, get(list)),
        RouteSpec::new(Method::GET, "/api/webhooks/{id}", w, get(show)),
        RouteSpec::new(Method::DELETE, "/api/webhooks/{id}", w, delete(remove)),
        RouteSpec::new(
            Method::GET,
            "/api/webhooks/{id}/deliveries",
            w,
            get(deliveries),
        ),
        RouteSpec::new(Method::POST, "/api/webhooks/{id}/redrive", w, post(redrive)),
        RouteSpec::new(Method::POST, "/api/webhooks/{id}/secret", w, post(rotate)),
    ]
}

/// Body of `POST /api/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    url: String,
    /// Omitted: the server generates one and shows it once.
    #[serde(default)]
    secret: Option<Secret>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    shipment: Option<String>,
}

/// Body of `POST /api/webhooks/{id}/secret`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotation {
    /// Omitted: the server generates one and shows it once.
    #[serde(default)]
    secret: Option<Secret>,
    /// How long the previous secret keeps signing (`"24h"`, `"0s"` to drop it at once).
    #[serde(default)]
    previous_valid_for: Option<String>,
}

/// A subscription as the API shows it: the secret only as a fingerprint.
#[derive(Debug, Serialize)]
struct View {
    id: String,
    url: String,
    events: Option<Vec<String>>,
    device: Option<String>,
    shipment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
    created_ms: i64,
    secret_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_valid_until_ms: Option<i64>,
    /// Only in the answer that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl View {
    fn of(s: Subscription, generated: Option<Secret>) -> View {
        let now = now_ms();
        let previous = s
            .previous_at(now)
            .map(|p| fingerprint(p.expose().as_bytes()));
        View {
            secret_fingerprint: fingerprint(s.secret.expose().as_bytes()),
            previous_valid_until_ms: previous.as_ref().and(s.previous_until_ms),
            previous_secret_fingerprint: previous,
            secret: generated.map(|g| g.expose().to_string()),
            id: s.id,
            url: s.url,
            events: s.events,
            device: s.device,
            shipment: s.shipment,
            customer: s.customer,
            created_ms: s.created_ms,
        }
    }
}

/// A store failure as a 500 (logged: it is ours, not the caller's).
pub fn store_error(e: StoreError) -> Response {
    tracing::error!(error = %e, "store error in api");
    error(StatusCode::INTERNAL_SERVER_ERROR, "store error")
}

/// The outputs store, or the 503 answer when it is not running.
pub fn outputs(s: &ApiState) -> Result<&Outputs, Box<Response>> {
    s.outputs.as_ref().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "outputs not running",
        ))
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh random secret: `whsec_` and 32 random bytes in hex.
fn generate_secret() -> Secret {
    Secret::new(format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>())))
}

fn check_secret(s: &Secret) -> Result<(), String> {
    let n = s.expose().len();
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&n) {
        return Err(format!(
            "secret must be {MIN_SECRET_BYTES}..={MAX_SECRET_BYTES} bytes \
             (omit it and the server generates one)"
        ));
    }
    Ok(())
}

/// The body's own rules; returns the parsed URL.
fn check(n: &NewSubscription) -> Result<url::Url, String> {
    if n.url.len() > MAX_URL_BYTES {
        return Err(format!("url longer than {MAX_URL_BYTES} bytes"));
    }
    let shown = redact_url(&n.url);
    let parsed = url::Url::parse(&n.url).map_err(|e| format!("url {shown:?}: {e}"))?;
    if let Some(s) = &n.secret {
        check_secret(s)?;
    }
    if let Some(ev) = &n.events {
        if ev.is_empty() || ev.len() > MAX_EVENT_TYPES {
            return Err(format!(
                "events must list 1..={MAX_EVENT_TYPES} types (omit it for every event)"
            ));
        }
        if ev.iter().any(|t| t.is_empty()) {
            return Err("events: empty type".into());
        }
    }
    Ok(parsed)
}

/// The outputs and subscription `id` if the caller may see it; 404 otherwise (another
/// customer's subscription is reported as absent, not forbidden), 503 without outputs.
async fn visible<'a>(
    s: &'a ApiState,
    who: &Principal,
    id: &str,
) -> Result<(&'a Outputs, Subscription), Response> {
    let o = outputs(s).map_err(|r| *r)?;
    match o.store.subscription(id.to_string()).await {
        Ok(Some(sub)) if who.sees(sub.customer.as_deref()) => Ok((o, sub)),
        Ok(_) => Err(error(StatusCode::NOT_FOUND, format!("no webhook {id:?}"))),
        Err(e) => Err(store_error(e)),
    }
}

async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    body: Result<Json<NewSubscription>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Json(n) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let url = match check(&n) {
        Ok(u) => u,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let SubscriptionRules {
        policy,
        max_per_customer,
    } = o.store.subscription_rules();
    if let Err(e) = policy.vet(&url, VET_TIMEOUT).await {
        return error(
            StatusCode::BAD_REQUEST,
            format!("url {:?}: {e}", redact_url(&n.url)),
        );
    }
    let generated = n.secret.is_none().then(generate_secret);
    let sub = Subscription {
        id: format!("wh_{:016x}", rand::random::<u64>()),
        url: n.url,
        secret: n.secret.or_else(|| generated.clone()).unwrap_or_default(),
        previous_secret: None,
        previous_until_ms: None,
        events: n.events,
        device: n.device,
        shipment: n.shipment,
        customer: who.customer.clone(),
        created_ms: now_ms(),
    };
    match o
        .store
        .add_subscription(sub.clone(), max_per_customer)
        .await
    {
        Ok(true) => (StatusCode::CREATED, Json(View::of(sub, generated))).into_response(),
        Ok(false) => error(
            StatusCode::CONFLICT,
            format!(
                "{} has {max_per_customer} webhooks already \
                 (webhooks.max_webhooks_per_customer); delete one first",
                who.customer
                    .as_deref()
                    .map_or("this token's tenant".to_string(), |c| format!(
                        "customer {c:?}"
                    ))
            ),
        ),
        Err(e) => store_error(e),
    }
}

/// `GET /api/webhooks?limit=&after=`: the caller's subscriptions by id, paged like
/// `/api/devices` (default and largest page 1000).
async fn list(State(s): State<ApiState>, Caller(who): Caller, Query(p): Query<Page>) -> Response {
    let o = match outputs(&s) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    match o.store.subscriptions().await {
        Ok(v) => {
            let limit = p.size(1000, 1000);
            let mut mine: Vec<View> = v
                .into_iter()
                .filter(|x| who.sees(x.customer.as_deref()))
                .map(|x| View::of(x, None))
                .collect();
            mine.sort_by(|a, b| a.id.cmp(&b.id));
            let (page, more) = p.of(mine, limit, |x| &x.id);
            let next = page.last().filter(|_| more).map(|x| x.id.clone());
            let mut resp = Json(page).into_response();
            link_next(&mut resp, "/api/webhooks", next.as_deref(), limit);
            resp
        }
        Err(e) => store_error(e),
    }
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    match visible(&s, &who, &id).await {
        Ok((_, v)) => Json(View::of(v, None)).into_response(),
        Err(r) => r,
    }
}

async fn remove(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let o = match visible(&s, &who, &id).await {
        Ok((o, _)) => o,
        Err(r) => return r,
    };
    match o.store.delete_subscription(id.clone()).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => store_error(e),
    }
}

/// `?limit=` of the delivery log (newest first, not paged further).
#[derive(Debug, Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn deliveries(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(p): Query<Limit>,
) -> Response {
    let o = match visible(&s, &who, &id).await {
        Ok((o, _)) => o,
        Err(r) => return r,
    };
    let limit = p
        .limit
        .unwrap_or(DELIVERIES_PAGE)
        .clamp(1, MAX_DELIVERIES_PAGE);
    match o.store.deliveries(id, limit).await {
        Ok(mut d) => {
            if !who.scopes.contains(&Scope::Admin) {
                d.iter_mut().for_each(|x| x.hide_responses());
            }
            Json(serde_json::json!({ "deliveries": d })).into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn redrive(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let o = match visible(&s, &who, &id).await {
        Ok((o, _)) => o,
        Err(r) => return r,
    };
    match o.store.redrive(id, now_ms()).await {
        Ok(n) => {
            o.wake.notify_one();
            Json(serde_json::json!({ "requeued": n })).into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn rotate(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Result<Json<Rotation>, axum::extract::rejection::JsonRejection>,
) -> Response {
    // An empty body rotates to a generated secret with the default window.
    let r = match body {
        Ok(Json(r)) => r,
        Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => {
            Rotation::default()
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    if let Some(s) = &r.secret {
        if let Err(m) = check_secret(s) {
            return error(StatusCode::BAD_REQUEST, m);
        }
    }
    let window = match r
        .previous_valid_for
        .as_deref()
        .map(crate::duration_text::parse)
    {
        None => DEFAULT_ROTATION_WINDOW,
        Some(Ok(d)) if d <= MAX_ROTATION_WINDOW => d,
        Some(Ok(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "previous_valid_for: at most {}d",
                    MAX_ROTATION_WINDOW.as_secs() / 86_400
                ),
            )
        }
        Some(Err(m)) => return error(StatusCode::BAD_REQUEST, format!("previous_valid_for: {m}")),
    };
    let o = match visible(&s, &who, &id).await {
        Ok((o, _)) => o,
        Err(r) => return r,
    };
    let generated = r.secret.is_none().then(generate_secret);
    let new = r.secret.or_else(|| generated.clone()).unwrap_or_default();
    let until = (!window.is_zero())
        .then(|| now_ms().saturating_add(window.as_millis().min(i64::MAX as u128) as i64));
    match o.store.rotate_secret(id.clone(), new, until).await {
        Ok(Some(sub)) => Json(View::of(sub, generated)).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no webhook {id:?}")),
        Err(e) => store_error(e),
    }
}
