//! `GET /api/reports/trips|stops|summary?device=&from=&to=&limit=&after=`: trip, stop and
//! per-day reports, JSON arrays (or CSV with `Accept: text/csv`), paged like the other
//! lists (`Link: rel="next"` and `X-Next-After`).
//!
//! Computed from the rows the fleet consumer writes into `fleet.sqlite` as trips and stops
//! finish ([`crate::fleet::trips`]): what the log held while that consumer ran. A trip or
//! stop still going on is not listed until it ends.
//!
//! `group` narrows to a registry group's devices; rows carry the device's registry `name`
//! (null when none is set). `from` and `to` (RFC 3339 or unix seconds) are required, `from < to`, at most
//! [`MAX_SPAN_DAYS`] apart: a report is a bounded question. Tenancy as for the other device
//! routes ([`super::tenant`]): a customer's token sees a device only while it is on one of
//! the customer's active shipments; another device answers 404, as if it did not exist.

use super::auth::{Access, Caller, Scope};
use super::tenant::Visible;
use super::{error, ApiState, RouteSpec};
use crate::fleet::report_store::{self, Query as RQuery};
use crate::model::device_id::canonical_str;
use crate::registry::DeviceQuery;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Longest window a report covers.
pub const MAX_SPAN_DAYS: i64 = 31;
/// Default page size.
pub const DEFAULT_PAGE: usize = 1000;
/// Largest page size (`limit` is clamped to it).
pub const MAX_PAGE: usize = 10_000;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    let read = Access::Scope(Scope::Read);
    vec![
        RouteSpec::new(Method::GET, "/api/reports/trips", read, get(trips)),
        RouteSpec::new(Method::GET, "/api/reports/stops", read, get(stops)),
        RouteSpec::new(Method::GET, "/api/reports/summary", read, get(summary)),
    ]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    device: Option<String>,
    /// A registry group (or a top-level group with its subgroups).
    group: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

type Refused = Box<Response>;

fn bad(m: impl Into<String>) -> Refused {
    Box::new(error(StatusCode::BAD_REQUEST, m))
}

/// RFC 3339 or unix seconds.
fn parse_time(key: &str, s: Option<&str>) -> Result<DateTime<Utc>, Refused> {
    let s = s.ok_or_else(|| bad(format!("{key}: required (RFC 3339 or unix seconds)")))?;
    if let Ok(secs) = s.parse::<i64>() {
        return Utc
            .timestamp_opt(secs, 0)
            .single()
            .ok_or_else(|| bad(format!("{key} {s:?}: out of range")));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            bad(format!(
                "{key} {s:?}: expected RFC 3339 or unix seconds ({e})"
            ))
        })
}

/// The query a request asks for, checked against the caller's tenancy.
fn query(s: &ApiState, who: &super::auth::Principal, p: &Params) -> Result<RQuery, Refused> {
    let from = parse_time("from", p.from.as_deref())?;
    let to = parse_time("to", p.to.as_deref())?;
    if from >= to {
        return Err(bad("from must be before to"));
    }
    if to - from > chrono::Duration::days(MAX_SPAN_DAYS) {
        return Err(bad(format!(
            "from..to spans more than {MAX_SPAN_DAYS} days; ask in parts"
        )));
    }
    let visible = Visible::of(who, s.tracking.as_deref()).with_registered(&s.registry);
    let mut devices = match (&p.device, &visible) {
        (Some(d), v) => {
            if !v.device(d) {
                return Err(Box::new(error(
                    StatusCode::NOT_FOUND,
                    format!("no device {d:?}"),
                )));
            }
            Some(vec![canonical_str(d).to_string()])
        }
        (None, Visible::All) => None,
        (None, Visible::Customer { devices, .. }) => {
            Some(devices.iter().map(|d| d.canonical().to_string()).collect())
        }
    };
    if let Some(g) = &p.group {
        let q = DeviceQuery {
            group: Some(g.clone()),
            ..DeviceQuery::default()
        };
        let members: BTreeSet<String> = s
            .registry
            .devices(&q, |_| true)
            .into_iter()
            .map(|d| canonical_str(&d.id).to_string())
            .collect();
        devices = Some(match devices {
            None => members.into_iter().collect(),
            Some(list) => list.into_iter().filter(|d| members.contains(d)).collect(),
        });
    }
    let after = match &p.after {
        None => None,
        Some(a) => {
            let (k, d) = a
                .split_once('/')
                .ok_or_else(|| bad(format!("after {a:?}: not a cursor this report gave")))?;
            Some((k.to_string(), d.to_string()))
        }
    };
    Ok(RQuery {
        devices,
        from,
        to,
        after,
        limit: p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
    })
}

fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn wants_csv(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/csv"))
}

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The rows as CSV with a header line of `columns`.
fn csv(columns: &[&str], rows: &[Value]) -> String {
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = columns.iter().map(|c| csv_field(&r[*c])).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One page in the asked format, with the next-page headers when the page is full.
fn answer(
    path: &str,
    p: &Params,
    h: &HeaderMap,
    columns: &[&str],
    rows: Vec<Value>,
    next: Option<String>,
    limit: usize,
) -> Response {
    let mut resp = if wants_csv(h) {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv(columns, &rows),
        )
            .into_response()
    } else {
        Json(Value::Array(rows)).into_response()
    };
    if let Some(after) = next {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("device", &p.device),
            ("group", &p.group),
            ("from", &p.from),
            ("to", &p.to),
        ] {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        }
        q.append_pair("after", &after);
        q.append_pair("limit", &limit.to_string());
        let link = format!("<{path}?{}>; rel=\"next\"", q.finish());
        for (k, v) in [("link", link.as_str()), ("x-next-after", after.as_str())] {
            if let Ok(v) = HeaderValue::from_str(v) {
                resp.headers_mut().insert(k, v);
            }
        }
    }
    resp
}

/// Runs one report: parameters, tenancy, the query, the page.
fn run<T>(
    s: &ApiState,
    who: &super::auth::Principal,
    p: Result<Query<Params>, QueryRejection>,
    read: impl FnOnce(&rusqlite::Connection, &RQuery) -> rusqlite::Result<Vec<T>>,
) -> Result<(Params, RQuery, Vec<T>), Refused> {
    let Query(p) = p.map_err(|e| bad(e.body_text()))?;
    let fleet = s.fleet.clone().ok_or_else(|| {
        Box::new(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "reports are not available (fleet store not open)",
        ))
    })?;
    let q = query(s, who, &p)?;
    if q.devices.as_ref().is_some_and(|d| d.is_empty()) {
        return Ok((p, q, Vec::new()));
    }
    let rows = fleet.report(|c| read(c, &q)).map_err(|e| {
        tracing::error!(error = %e, "report query failed");
        Box::new(error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
    })?;
    Ok((p, q, rows))
}

const TRIP_COLUMNS: &[&str] = &[
    "device",
    "name",
    "start_time",
    "start_lat",
    "start_lon",
    "end_time",
    "end_lat",
    "end_lon",
    "distance_m",
    "duration_s",
    "driving_s",
    "max_speed_kmh",
    "avg_speed_kmh",
];

/// `GET /api/reports/trips`: trips starting within the window.
async fn trips(
    State(s): State<ApiState>,
    Caller(who): Caller,
    h: HeaderMap,
    p: Result<Query<Params>, QueryRejection>,
) -> Response {
    let (p, q, rows) = match run(&s, &who, p, report_store::trips) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let next = (rows.len() == q.limit)
        .then(|| rows.last().map(|t| format!("{}/{}", t.start_ms, t.device)))
        .flatten();
    let rows: Vec<Value> = rows
        .iter()
        .map(|t| {
            let dur = (t.end_ms - t.start_ms) as f64 / 1000.0;
            json!({
                "device": t.device,
                "name": s.registry.name_of(&t.device),
                "start_time": iso(t.start_ms),
                "start_lat": t.start_lat,
                "start_lon": t.start_lon,
                "end_time": iso(t.end_ms),
                "end_lat": t.end_lat,
                "end_lon": t.end_lon,
                "distance_m": round(t.distance_m, 1),
                "duration_s": dur,
                "driving_s": t.driving_s,
                "max_speed_kmh": round(t.max_kmh, 1),
                "avg_speed_kmh": if dur > 0.0 { round(t.distance_m / dur * 3.6, 1) } else { 0.0 },
            })
        })
        .collect();
    answer(
        "/api/reports/trips",
        &p,
        &h,
        TRIP_COLUMNS,
        rows,
        next,
        q.limit,
    )
}

const STOP_COLUMNS: &[&str] = &[
    "device",
    "name",
    "lat",
    "lon",
    "arrival",
    "departure",
    "duration_s",
];

/// `GET /api/reports/stops`: stops arriving within the window.
async fn stops(
    State(s): State<ApiState>,
    Caller(who): Caller,
    h: HeaderMap,
    p: Result<Query<Params>, QueryRejection>,
) -> Response {
    let (p, q, rows) = match run(&s, &who, p, report_store::stops) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let next = (rows.len() == q.limit)
        .then(|| {
            rows.last()
                .map(|t| format!("{}/{}", t.arrival_ms, t.device))
        })
        .flatten();
    let rows: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "device": t.device,
                "name": s.registry.name_of(&t.device),
                "lat": t.lat,
                "lon": t.lon,
                "arrival": iso(t.arrival_ms),
                "departure": iso(t.departure_ms),
                "duration_s": (t.departure_ms - t.arrival_ms) as f64 / 1000.0,
            })
        })
        .collect();
    answer(
        "/api/reports/stops",
        &p,
        &h,
        STOP_COLUMNS,
        rows,
        next,
        q.limit,
    )
}

const SUMMARY_COLUMNS: &[&str] = &[
    "device",
    "name",
    "day",
    "distance_m",
    "driving_s",
    "idle_s",
    "max_speed_kmh",
];

/// `GET /api/reports/summary`: per device per UTC day the window touches.
async fn summary(
    State(s): State<ApiState>,
    Caller(who): Caller,
    h: HeaderMap,
    p: Result<Query<Params>, QueryRejection>,
) -> Response {
    let (p, q, rows) = match run(&s, &who, p, report_store::days) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let next = (rows.len() == q.limit)
        .then(|| rows.last().map(|t| format!("{}/{}", t.day, t.device)))
        .flatten();
    let rows: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "device": t.device,
                "name": s.registry.name_of(&t.device),
                "day": t.day,
                "distance_m": round(t.distance_m, 1),
                "driving_s": t.driving_s,
                "idle_s": t.idle_s,
                "max_speed_kmh": round(t.max_kmh, 1),
            })
        })
        .collect();
    answer(
        "/api/reports/summary",
        &p,
        &h,
        SUMMARY_COLUMNS,
        rows,
        next,
        q.limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_csv_fields() {
        assert_eq!(
            parse_time("from", Some("1764215276")).unwrap(),
            parse_time("from", Some("2025-11-27T03:47:56Z")).unwrap()
        );
        assert_eq!(parse_time("to", None).unwrap_err().status(), 400);
        assert_eq!(parse_time("to", Some("soon")).unwrap_err().status(), 400);
        assert_eq!(csv_field(&json!("a,\"b\"")), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field(&json!(1.5)), "1.5");
        assert_eq!(
            csv(&["a", "b"], &[json!({"a": "x", "b": 2})]),
            "a,b\r\nx,2\r\n"
        );
    }
}
