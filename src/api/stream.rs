//! `GET /api/stream`: Server-Sent Events of positions, ETA updates and alerts.
//!
//! Each client reads the log (through the log seam) with a reader of its own, so the stream costs the
//! rest of the gateway nothing: a client that reads slowly only falls behind in the log
//! (TCP back-pressure stops its reader), and one more than [`MAX_LAG`] records behind is
//! disconnected after an `event: lagged`. The SSE `id` of each event is its log cursor, so a
//! reconnecting client sends `Last-Event-ID` and continues right after it (as long as the
//! log still holds it; otherwise it continues at the oldest stored record). A new client
//! without `Last-Event-ID` starts at the live end; `?from=<cursor>` starts at a cursor.
//! `?types=position,eta,alert` picks event types (default: all three). A customer's token
//! gets its customer's part only (see [`super::tenant`]), taken again for every batch read.

use super::auth::{Access, Caller, Principal, Scope};
use super::devices::with_name;
use super::tenant::Visible;
use super::{error, ApiState, RouteSpec};
use crate::model::Record;
use crate::outputs::json::alert_json;
use crate::outputs::OutputMetrics;
use crate::pipeline::log::{Cursor, LogReader, SharedLog};
use crate::registry::Registry;
use crate::tracking::TrackingHandle;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::stream::{self, Stream};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

/// A client this many records behind the durable end of the log is disconnected.
pub const MAX_LAG: u64 = 100_000;
/// Records read from the log at once per client.
const READ_BATCH: usize = 256;

/// The routes of this module.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec::new(
        Method::GET,
        "/api/stream",
        Access::Scope(Scope::Read),
        get(stream_handler),
    )]
}

#[derive(Debug, Deserialize)]
struct Params {
    from: Option<Cursor>,
    types: Option<String>,
}

/// Which record kinds a client wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kinds {
    position: bool,
    eta: bool,
    alert: bool,
}

impl Kinds {
    /// Whether a stored record of `kind` can become an event (checked before decoding it).
    fn wants(&self, kind: &str) -> bool {
        match kind {
            "position" => self.position,
            "eta" => self.eta,
            "alert" => self.alert,
            _ => false,
        }
    }
}

fn parse_kinds(s: Option<&str>) -> Result<Kinds, String> {
    let Some(s) = s else {
        return Ok(Kinds {
            position: true,
            eta: true,
            alert: true,
        });
    };
    let mut k = Kinds {
        position: false,
        eta: false,
        alert: false,
    };
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match t {
            "position" => k.position = true,
            "eta" => k.eta = true,
            "alert" => k.alert = true,
            other => return Err(format!("types: unknown {other:?} (position, eta, alert)")),
        }
    }
    Ok(k)
}

/// The SSE event for a record, if the client wants it.
/// Positions and alerts of a device named in the registry carry `device_name`.
fn to_event(
    cursor: Cursor,
    r: &Record,
    k: Kinds,
    names: &Registry,
    reader: Option<&str>,
) -> Option<Event> {
    let (name, data) = match r {
        Record::Position(p) if k.position => {
            let v = serde_json::to_value(p.view()).ok()?;
            ("position", with_name(v, names, "id", reader).to_string())
        }
        Record::Eta(e) if k.eta => ("eta", serde_json::to_string(e).ok()?),
        Record::Alert(a) if k.alert => (
            "alert",
            with_name(alert_json(a), names, "device", reader).to_string(),
        ),
        _ => return None,
    };
    Some(
        Event::default()
            .id(cursor.to_string())
            .event(name)
            .data(data),
    )
}

struct Client {
    reader: Box<dyn LogReader>,
    who: Principal,
    tracking: Option<Arc<TrackingHandle>>,
    /// Device names, and the devices registered to a customer (tenancy).
    registry: Arc<Registry>,
    log: SharedLog,
    kinds: Kinds,
    queue: VecDeque<Event>,
    metrics: OutputMetrics,
    shutdown: tokio_util::sync::CancellationToken,
    done: bool,
}

async fn next_event(mut c: Client) -> Option<(Result<Event, Infallible>, Client)> {
    loop {
        if let Some(e) = c.queue.pop_front() {
            return Some((Ok(e), c));
        }
        if c.done {
            return None;
        }
        let lag = c.reader.position().distance_to(c.log.end());
        if lag > MAX_LAG {
            c.metrics.sse_dropped.inc();
            c.done = true;
            let ev = Event::default()
                .event("lagged")
                .data(format!("{{\"behind\":{lag}}}"));
            return Some((Ok(ev), c));
        }
        let read = tokio::select! {
            _ = c.shutdown.cancelled() => return None,
            r = c.reader.next_batch(READ_BATCH) => r,
        };
        let batch = match read {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "event stream: log read failed; closing");
                return None;
            }
        };
        let visible = Visible::of(&c.who, c.tracking.as_deref()).with_registered(&c.registry);
        for e in batch {
            if e.kind().is_some_and(|k| !c.kinds.wants(k)) {
                continue;
            }
            match e.decode() {
                Ok(rec) if visible.record(&rec) => c.queue.extend(to_event(
                    e.cursor,
                    &rec,
                    c.kinds,
                    &c.registry,
                    c.who.customer.as_deref(),
                )),
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(cursor = %e.cursor, error = %err, "event stream: undecodable record skipped")
                }
            }
        }
    }
}

fn event_stream(c: Client) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(c, next_event)
}

async fn stream_handler(
    State(s): State<ApiState>,
    Caller(who): Caller,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let Some(o) = s.outputs.as_ref() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "outputs not running");
    };
    let kinds = match parse_kinds(p.types.as_deref()) {
        Ok(k) => k,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let last = match headers
        .get("last-event-id")
        .map(|v| v.to_str().map(str::trim))
    {
        None => None,
        Some(Ok(v)) => match v.parse::<Cursor>() {
            Ok(c) => Some(c),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("Last-Event-ID {v:?}: not a log offset"),
                )
            }
        },
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "Last-Event-ID: not text"),
    };
    let start = match (last, p.from) {
        (Some(id), _) => id.next(),
        (None, Some(f)) => f,
        (None, None) => o.log.end(),
    };
    let client = Client {
        reader: o.log.reader(start),
        who,
        tracking: s.tracking.clone(),
        registry: s.registry.clone(),
        log: o.log.clone(),
        kinds,
        queue: VecDeque::new(),
        metrics: o.metrics.clone(),
        shutdown: o.shutdown.clone(),
        done: false,
    };
    Sse::new(event_stream(client))
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(
            parse_kinds(None),
            Ok(Kinds {
                position: true,
                eta: true,
                alert: true
            })
        );
        assert_eq!(
            parse_kinds(Some("alert, eta")),
            Ok(Kinds {
                position: false,
                eta: true,
                alert: true
            })
        );
        assert!(parse_kinds(Some("alerts")).unwrap_err().contains("alerts"));
    }
}
