//! `/api/devices`: every device the gateway knows — connected ones (live state) and
//! registered ones (the device registry, [`crate::registry`]) — and the registry's edits.
//!
//! - A device view is the live view of the contract (`id, protocol, time, lat, lon, …,
//!   online, last_seen, connections, takeovers`; fix fields `null` before the first fix,
//!   `protocol` and `last_seen` `null` for a device registered but never seen) plus
//!   `registered` and the registry fields (`name, plate, vehicle_type, group, customer,
//!   phone, notes, speed_limit_kmh`; `null` when unset or unregistered).
//! - `PUT /api/devices/{id}` creates (201) or replaces (200); `PATCH` changes the fields
//!   given (JSON merge patch; 404 for a device not registered); `DELETE` forgets the
//!   registry entry and the live state (204; the history stays in the log and InfluxDB
//!   within retention; a device still connected comes back with its next frame).
//! - `GET /api/devices?group=&customer=&q=&limit=&after=`: `group` matches the group and,
//!   for a top-level group, its subgroups; `q` searches name, plate and id ignoring case;
//!   paged like every list ([`super::paging`]). Unregistered devices appear with their id
//!   only (they match `q` by id, never `group` or `customer`).
//! - Tenancy ([`super::tenant`]): a customer's token sees the devices registered to its
//!   customer and those on its active shipments; it registers devices for its own customer
//!   only (another customer's name: 403), and anything it cannot see answers 404.

use super::auth::{Access, Caller, Principal, Scope};
use super::paging::{link_next, Page};
use super::tenant::Visible;
use super::{error, ApiState, RouteSpec};
use crate::model::DeviceId;
use crate::registry::{
    Device, DeviceFields, DevicePatch, DeviceQuery, Registry, RegistryError, Written,
};
use crate::state::DeviceView;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, put};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Default page of `/api/devices`. Large so that a fleet of a few hundred vehicles still
/// comes back in one answer, as before paging existed.
pub const DEVICES_PAGE: usize = 1000;
/// Largest page of `/api/devices`.
pub const MAX_DEVICES_PAGE: usize = 10_000;

/// The device routes (merged into the main router).
pub fn routes() -> Vec<RouteSpec> {
    let (read, write) = (Access::Scope(Scope::Read), Access::Scope(Scope::Write));
    vec![
        RouteSpec::new(Method::GET, "/api/devices", read, get(list)),
        RouteSpec::new(Method::GET, "/api/devices/{id}", read, get(show)),
        RouteSpec::new(Method::PUT, "/api/devices/{id}", write, put(replace)),
        RouteSpec::new(Method::PATCH, "/api/devices/{id}", write, patch(change)),
        RouteSpec::new(Method::DELETE, "/api/devices/{id}", write, delete(forget)),
    ]
}

/// A device as the API shows it: live part (or the nulls of a device never seen) plus the
/// registry's fields.
#[derive(Serialize)]
pub struct DeviceOut {
    #[serde(flatten)]
    live: LivePart,
    registered: bool,
    name: Option<String>,
    plate: Option<String>,
    vehicle_type: Option<String>,
    group: Option<String>,
    customer: Option<String>,
    phone: Option<String>,
    notes: Option<String>,
    speed_limit_kmh: Option<f64>,
    /// The driver key (`driver_id`) of the latest position, when the tracker reports one.
    driver_key: Option<String>,
    /// The registered driver with that key (`/api/drivers`).
    driver: Option<DriverRef>,
}

/// The current driver on a device view.
#[derive(Serialize)]
struct DriverRef {
    id: String,
    name: Option<String>,
}

/// The driver key a position carries (`driver_id`: text, or a non-zero number).
fn driver_key(v: &DeviceView) -> Option<String> {
    use crate::model::IoValue;
    match v.position.as_ref()?.io.get("driver_id")? {
        IoValue::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
        IoValue::Int(i) if *i != 0 => Some(i.to_string()),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum LivePart {
    Seen(Box<DeviceView>),
    Never(NeverSeen),
}

/// The contract's fields for a registered device that has not connected since start.
#[derive(Serialize)]
struct NeverSeen {
    id: String,
    protocol: Option<()>,
    time: Option<()>,
    lat: Option<()>,
    lon: Option<()>,
    speed: Option<()>,
    course: Option<()>,
    altitude: Option<()>,
    valid: Option<()>,
    online: bool,
    last_seen: Option<DateTime<Utc>>,
    connections: u32,
    takeovers: u64,
}

impl DeviceOut {
    /// The view of one device from what live state and the registry hold (at least one);
    /// `names` finds the current driver.
    fn new(live: Option<DeviceView>, reg: Option<Device>, id: &str, names: &Registry) -> DeviceOut {
        let driver_key = live.as_ref().and_then(driver_key);
        let driver = driver_key
            .as_deref()
            .and_then(|k| names.driver_by_key(k))
            .map(|d| DriverRef {
                id: d.id,
                name: d.name,
            });
        let live = match live {
            Some(v) => LivePart::Seen(Box::new(v)),
            None => LivePart::Never(NeverSeen {
                id: reg.as_ref().map_or(id, |d| &d.id).to_string(),
                protocol: None,
                time: None,
                lat: None,
                lon: None,
                speed: None,
                course: None,
                altitude: None,
                valid: None,
                online: false,
                last_seen: None,
                connections: 0,
                takeovers: 0,
            }),
        };
        let registered = reg.is_some();
        let d = reg.unwrap_or_default();
        DeviceOut {
            live,
            registered,
            name: d.name,
            plate: d.plate,
            vehicle_type: d.vehicle_type,
            group: d.group,
            customer: d.customer,
            phone: d.phone,
            notes: d.notes,
            speed_limit_kmh: d.speed_limit_kmh,
            driver_key,
            driver,
        }
    }

    fn id(&self) -> &str {
        match &self.live {
            LivePart::Seen(v) => &v.id,
            LivePart::Never(n) => &n.id,
        }
    }
}

/// What `who` may see now, registry included.
fn visible(s: &ApiState, who: &Principal) -> Visible {
    Visible::of(who, s.tracking.as_deref()).with_registered(&s.registry)
}

/// Whether `v` may read the registry entry `d`: an untenanted token always; a customer's
/// token when the entry is its customer's or nobody's. (A customer sees another customer's
/// vehicle while it is on one of its shipments, but not that customer's notes about it.)
fn reads_entry(v: &Visible, d: &Device) -> bool {
    match v {
        Visible::All => true,
        Visible::Customer { name, .. } => d.customer.as_ref().is_none_or(|c| c == name),
    }
}

/// The view of device `id` if it exists (live or registered) and `v` may see it.
fn view(s: &ApiState, v: &Visible, id: &str, now: DateTime<Utc>) -> Option<DeviceOut> {
    let live = s.live.view(id, now);
    let reg = s.registry.device(id);
    if live.is_none() && reg.is_none() {
        return None;
    }
    let shown = live.as_ref().map_or(id, |l| l.id.as_str()).to_string();
    if !(v.device(&shown) || v.device(id)) {
        return None;
    }
    let reg = reg.filter(|d| reads_entry(v, d));
    if live.is_none() && reg.is_none() {
        return None;
    }
    Some(DeviceOut::new(live, reg, &shown, &s.registry))
}

/// Adds `device_name` to a payload people read (an alert, a position) whose device, named
/// by its field `device_key`, has a name in the registry. Unnamed devices keep the shape; a
/// customer's token (`reader`) gets names of its own and unowned devices only.
pub fn with_name(
    mut v: serde_json::Value,
    registry: &Registry,
    device_key: &str,
    reader: Option<&str>,
) -> serde_json::Value {
    let name = v[device_key]
        .as_str()
        .and_then(|id| registry.device(id))
        .filter(|d| reader.is_none() || d.customer.is_none() || d.customer.as_deref() == reader)
        .and_then(|d| d.name);
    if let (Some(name), Some(obj)) = (name, v.as_object_mut()) {
        obj.insert("device_name".into(), serde_json::Value::String(name));
    }
    v
}

fn no_device(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no device {id:?}"))
}

/// A registry failure as an answer.
pub(super) fn failure(e: RegistryError) -> Response {
    match &e {
        RegistryError::Invalid(_) | RegistryError::Line { .. } => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        RegistryError::NotFound { .. } => error(StatusCode::NOT_FOUND, e.to_string()),
        RegistryError::InUse { .. } | RegistryError::KeyTaken { .. } => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        RegistryError::Sqlite { .. } | RegistryError::Task(_) => {
            tracing::error!(error = %e, "device registry request failed");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

/// Runs a registry write on the blocking pool (it commits with `synchronous = FULL`).
pub(super) async fn blocking<T: Send + 'static>(
    reg: &Arc<Registry>,
    f: impl FnOnce(&Registry) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, RegistryError> {
    let reg = reg.clone();
    tokio::task::spawn_blocking(move || f(&reg))
        .await
        .map_err(|e| RegistryError::Task(e.to_string()))?
}

/// `?group=&customer=&q=&limit=&after=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub group: Option<String>,
    pub customer: Option<String>,
    pub q: Option<String>,
    pub limit: Option<usize>,
    pub after: Option<String>,
}

async fn list(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Query(lq): Query<ListQuery>,
) -> Response {
    let p = Page {
        limit: lq.limit,
        after: lq.after.clone(),
    };
    let limit = p.size(DEVICES_PAGE, MAX_DEVICES_PAGE);
    let nonempty = |v: Option<String>| v.filter(|t| !t.trim().is_empty());
    let q = DeviceQuery {
        group: nonempty(lq.group),
        customer: nonempty(lq.customer),
        q: nonempty(lq.q).map(|t| t.trim().to_lowercase()),
    };
    let now = Utc::now();
    let v = visible(&s, &who);
    let (page, more) = match (&v, q.is_empty()) {
        (Visible::All, true) => everything(&s, p.after.as_deref(), limit, now),
        _ => p.of(filtered(&s, &v, &q, now), limit, |d| d.id()),
    };
    let next = page.last().filter(|_| more).map(|d| d.id().to_string());
    let mut resp = Json(page).into_response();
    link_next(&mut resp, "/api/devices", next.as_deref(), limit);
    resp
}

/// The unfiltered list for an untenanted token: one page of live devices merged with the
/// registered devices never seen, without walking the whole fleet.
fn everything(
    s: &ApiState,
    after: Option<&str>,
    limit: usize,
    now: DateTime<Utc>,
) -> (Vec<DeviceOut>, bool) {
    let (live, _) = s.live.page(now, after, limit + 1);
    let mut merged: BTreeMap<String, DeviceOut> = live
        .into_iter()
        .map(|l| {
            let reg = s.registry.device(&l.id);
            (l.id.clone(), DeviceOut::new(Some(l), reg, "", &s.registry))
        })
        .collect();
    // Registered devices not in live state, in id order, until limit + 1 of them.
    let mut cursor = after.map(str::to_string);
    let mut unseen = 0;
    'scan: loop {
        let chunk = s.registry.page(cursor.as_deref(), limit + 1);
        let Some(last) = chunk.last() else { break };
        cursor = Some(last.id.clone());
        let full = chunk.len() > limit;
        for d in chunk {
            if s.live.get(&d.id).is_some() {
                continue;
            }
            merged.insert(d.id.clone(), DeviceOut::new(None, Some(d), "", &s.registry));
            unseen += 1;
            if unseen > limit {
                break 'scan;
            }
        }
        if !full {
            break;
        }
    }
    let mut all: Vec<DeviceOut> = merged.into_values().collect();
    let more = all.len() > limit;
    all.truncate(limit);
    (all, more)
}

/// Every device `v` may see that passes `q`, sorted by id.
fn filtered(s: &ApiState, v: &Visible, q: &DeviceQuery, now: DateTime<Utc>) -> Vec<DeviceOut> {
    let mut out: BTreeMap<String, DeviceOut> = BTreeMap::new();
    for d in s
        .registry
        .devices(q, |d| v.device(&d.id) && reads_entry(v, d))
    {
        let live = s.live.view(&d.id, now);
        let id = live.as_ref().map_or(d.id.clone(), |l| l.id.clone());
        out.insert(id.clone(), DeviceOut::new(live, Some(d), &id, &s.registry));
    }
    // Unregistered devices match no group or customer filter, only a search by id.
    if q.group.is_none() && q.customer.is_none() {
        let needle = q.q.as_deref();
        let ids = match v {
            Visible::All => s
                .live
                .ids_where(|id| needle.is_none_or(|n| id.to_lowercase().contains(n))),
            Visible::Customer { devices, .. } => devices
                .iter()
                .map(DeviceId::as_str)
                .filter(|id| needle.is_none_or(|n| id.to_lowercase().contains(n)))
                .map(str::to_string)
                .collect(),
        };
        for id in ids {
            if s.registry.device(&id).is_some_and(|d| reads_entry(v, &d)) {
                continue;
            }
            if let Some(l) = s.live.view(&id, now) {
                out.insert(
                    l.id.clone(),
                    DeviceOut::new(Some(l), None, &id, &s.registry),
                );
            }
        }
    }
    out.into_values().collect()
}

async fn show(State(s): State<ApiState>, Caller(who): Caller, Path(id): Path<String>) -> Response {
    let v = visible(&s, &who);
    match view(&s, &v, &id, Utc::now()) {
        Some(d) => Json(d).into_response(),
        None => no_device(&id),
    }
}

/// Whether a customer token may write device `id`: registered to its customer, or not
/// registered and not on another customer's active shipment. `None` for untenanted tokens.
fn tenant_may_write(s: &ApiState, mine: &str, id: &str) -> bool {
    match s.registry.device(id) {
        Some(d) => d.customer.as_deref() == Some(mine),
        None => {
            let other = DeviceId::new(id).ok().is_some_and(|did| {
                s.tracking
                    .as_ref()
                    .is_some_and(|t| t.engine().other_customers_on(&did, mine))
            });
            !other
        }
    }
}

fn other_customer(mine: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        format!("customer: a token of customer {mine:?} registers only {mine:?}'s devices"),
    )
}

/// `PUT /api/devices/{id}`: create (201) or replace (200) the registry entry.
async fn replace(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Result<Json<DeviceFields>, JsonRejection>,
) -> Response {
    let fields = match body {
        Ok(Json(f)) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let mut d = match fields.into_device(&id) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Some(mine) = &who.customer {
        if !tenant_may_write(&s, mine, &id) {
            return no_device(&id);
        }
        match &d.customer {
            Some(c) if c != mine => return other_customer(mine),
            _ => d.customer = Some(mine.clone()),
        }
        let quota = s.registry.customer_quota();
        if s.registry.device(&id).is_none() && s.registry.count_of(mine) >= quota {
            return error(
                StatusCode::CONFLICT,
                format!("customer {mine:?} has {quota} registered devices, the most devices.max_registered_per_customer allows"),
            );
        }
    }
    let written = match blocking(&s.registry, move |r| r.put_device(d)).await {
        Ok(w) => w,
        Err(e) => return failure(e),
    };
    let status = match written {
        Written::Created => StatusCode::CREATED,
        Written::Replaced => StatusCode::OK,
    };
    let live = s.live.view(&id, Utc::now());
    let reg = s.registry.device(&id);
    (status, Json(DeviceOut::new(live, reg, &id, &s.registry))).into_response()
}

/// `PATCH /api/devices/{id}`: merge-patch a registered device.
async fn change(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Result<Json<DevicePatch>, JsonRejection>,
) -> Response {
    let patch = match body {
        Ok(Json(p)) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let Some(old) = s.registry.device(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no registered device {id:?} (PUT registers one)"),
        );
    };
    if let Some(mine) = &who.customer {
        if old.customer.as_deref() != Some(mine.as_str()) {
            return no_device(&id);
        }
        if patch
            .customer
            .as_ref()
            .is_some_and(|c| c.as_deref() != Some(mine.as_str()))
        {
            return other_customer(mine);
        }
    }
    let key = id.clone();
    let d = match blocking(&s.registry, move |r| r.patch_device(&key, patch)).await {
        Ok(d) => d,
        Err(e) => return failure(e),
    };
    let live = s.live.view(&id, Utc::now());
    Json(DeviceOut::new(live, Some(d), &id, &s.registry)).into_response()
}

/// `DELETE /api/devices/{id}`: forget the registry entry and the live state.
async fn forget(
    State(s): State<ApiState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Response {
    let reg = s.registry.device(&id);
    let known = match &who.customer {
        // A customer forgets only its own registered devices.
        Some(mine) => reg
            .as_ref()
            .is_some_and(|d| d.customer.as_deref() == Some(mine.as_str())),
        None => reg.is_some() || s.live.get(&id).is_some(),
    };
    if !known {
        return no_device(&id);
    }
    let key = id.clone();
    if let Err(e) = blocking(&s.registry, move |r| r.delete_device(&key)).await {
        return failure(e);
    }
    s.live.forget(&id);
    StatusCode::NO_CONTENT.into_response()
}
