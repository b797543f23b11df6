//! OwnTracks JSON messages (`_type` = `location`, `transition`, `lwt`, ...).

use super::NAME;
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::{DecodeCtx, DecodeError, Decoded};
use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

fn num(o: &Map<String, Value>, k: &str) -> Option<f64> {
    o.get(k).and_then(Value::as_f64).filter(|f| f.is_finite())
}

fn text(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(str::to_string)
}

/// The `topic` field of an HTTP-mode body, when it has one.
pub fn topic_field(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("topic").and_then(Value::as_str).map(str::to_string)
}

/// Decodes one OwnTracks message for `device`.
pub fn decode(device: DeviceId, payload: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| bad(format!("payload is not JSON: {e}")))?;
    let o = v
        .as_object()
        .ok_or_else(|| bad("payload is not a JSON object"))?;
    let kind = o.get("_type").and_then(Value::as_str).unwrap_or("");
    let records = match kind {
        "location" => vec![Record::Position(location(device.clone(), o, ctx)?)],
        "transition" => {
            // Region enter / leave: kept as an event at the device's time.
            let time = tst(o).unwrap_or(Ok(ctx.now))?;
            let mut e = DeviceEvent::new(
                device.clone(),
                NAME,
                time,
                EventKind::Info {
                    name: "transition".into(),
                },
            );
            for k in ["event", "desc", "t"] {
                if let Some(s) = text(o, k) {
                    e.attributes.insert(k.into(), IoValue::Text(s));
                }
            }
            for k in ["lat", "lon", "acc"] {
                if let Some(f) = num(o, k) {
                    e.attributes.insert(k.into(), IoValue::Float(f));
                }
            }
            vec![Record::Event(e)]
        }
        // Last will: the broker says the phone went away.
        "lwt" => vec![Record::Event(DeviceEvent::new(
            device.clone(),
            NAME,
            ctx.now,
            EventKind::Logout,
        ))],
        // waypoint(s), card, cmd, status, steps, beacon, encrypted ...: nothing to store.
        _ => Vec::new(),
    };
    Ok(Decoded {
        kind: if kind.is_empty() {
            "untyped".into()
        } else {
            kind.to_string().into()
        },
        identity: Some(device),
        records,
        ..Decoded::default()
    })
}

fn tst(o: &Map<String, Value>) -> Option<Result<chrono::DateTime<Utc>, DecodeError>> {
    let t = o.get("tst")?;
    Some(
        t.as_i64()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(|| bad(format!("tst = {t} is not Unix seconds"))),
    )
}

fn location(
    device: DeviceId,
    o: &Map<String, Value>,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let lat = num(o, "lat").ok_or_else(|| bad("location without lat"))?;
    let lon = num(o, "lon").ok_or_else(|| bad("location without lon"))?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad(format!("lat {lat} / lon {lon} is off the Earth")));
    }
    let time = tst(o).ok_or_else(|| bad("location without tst"))??;
    let mut p = Position::new(device, NAME, time, ctx.now, lat, lon, true);
    p.speed_kmh = num(o, "vel").unwrap_or(0.0).max(0.0);
    p.course = num(o, "cog").unwrap_or(0.0);
    p.altitude_m = num(o, "alt").unwrap_or(0.0);
    p.accuracy_m = num(o, "acc");
    if let Some(b) = num(o, "batt") {
        p.io.insert("battery_level".into(), IoValue::Float(b));
    }
    if let Some(bs) = o.get("bs").and_then(Value::as_i64) {
        p.io.insert("battery_status".into(), IoValue::Int(bs));
        p.io.insert("charge".into(), IoValue::Bool(bs == 2));
    }
    if let Some(v) = num(o, "vac") {
        p.io.insert("vertical_accuracy".into(), IoValue::Float(v));
    }
    for (k, name) in [("t", "trigger"), ("conn", "conn"), ("tid", "tid")] {
        if let Some(s) = text(o, k) {
            p.io.insert(name.into(), IoValue::Text(s));
        }
    }
    Ok(p)
}
