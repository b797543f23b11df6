//! The JSON flavour (Traccar Client ≥ 9, Transistorsoft background-geolocation format).

use super::values::{check_coords, time};
use super::{MS_TO_KMH, NAME};
use crate::model::{DeviceId, IoValue, Position, Record};
use crate::protocol::{DecodeCtx, DecodeError, Decoded};
use serde_json::{Map, Value};

/// Most locations one request may carry (offline buffers are sent in batches).
pub const MAX_LOCATIONS: usize = 1000;

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).filter(|f| f.is_finite())
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn scalar(v: &Value) -> Option<IoValue> {
    match v {
        Value::Bool(b) => Some(IoValue::Bool(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => IoValue::Int(i),
            None => IoValue::Float(n.as_f64()?),
        }),
        Value::String(s) => Some(IoValue::Text(s.clone())),
        _ => None,
    }
}

/// Decodes a body: `{device_id, location: {..} | [..]}` or an array of such objects.
pub fn decode(body: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let docs = match doc {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut device: Option<DeviceId> = None;
    let mut records = Vec::new();
    for d in &docs {
        let obj = d.as_object().ok_or_else(|| bad("expected a JSON object"))?;
        let locs: Vec<&Value> = match obj.get("location") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(l @ Value::Object(_)) => vec![l],
            _ => return Err(bad("missing `location` object")),
        };
        for loc in locs {
            let loc = loc
                .as_object()
                .ok_or_else(|| bad("`location` is not an object"))?;
            let id = obj
                .get("device_id")
                .or_else(|| loc.get("device_id"))
                .and_then(id_of)
                .ok_or_else(|| bad("missing device id (`device_id`)"))?;
            let id = DeviceId::new(id)?;
            match &device {
                Some(d) if *d != id => {
                    return Err(bad(format!(
                        "one request carries two devices: {d} and {id}"
                    )))
                }
                _ => device = Some(id.clone()),
            }
            records.push(Record::Position(location(id, loc, ctx)?));
            if records.len() > MAX_LOCATIONS {
                return Err(bad(format!("more than {MAX_LOCATIONS} locations")));
            }
        }
    }
    Ok(Decoded {
        kind: "json".into(),
        identity: device,
        records,
        ..Decoded::default()
    })
}

fn location(
    id: DeviceId,
    loc: &Map<String, Value>,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let coords = loc
        .get("coords")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("missing `location.coords`"))?;
    let lat = num(coords.get("latitude")).ok_or_else(|| bad("missing coords.latitude"))?;
    let lon = num(coords.get("longitude")).ok_or_else(|| bad("missing coords.longitude"))?;
    check_coords(lat, lon)?;
    let fix_time = match loc.get("timestamp") {
        Some(Value::String(s)) => time(s)?,
        Some(Value::Number(n)) => time(&n.to_string())?,
        Some(_) => return Err(bad("location.timestamp is not a time")),
        None => ctx.now,
    };
    let mut p = Position::new(id, NAME, fix_time, ctx.now, lat, lon, true);
    // −1 means "unknown" for speed and heading in this format.
    if let Some(s) = num(coords.get("speed")).filter(|s| *s >= 0.0) {
        p.speed_kmh = s * MS_TO_KMH;
    }
    if let Some(h) = num(coords.get("heading")).filter(|h| *h >= 0.0) {
        p.course = h;
    }
    if let Some(a) = num(coords.get("altitude")) {
        p.altitude_m = a;
    }
    p.accuracy_m = num(coords.get("accuracy")).filter(|a| *a >= 0.0);
    if let Some(o) = num(loc.get("odometer")) {
        p.odometer_m = Some(o);
    }
    if let Some(m) = loc.get("is_moving").and_then(Value::as_bool) {
        p.io.insert("motion".into(), IoValue::Bool(m));
    }
    if let Some(e) = loc.get("event").and_then(Value::as_str) {
        p.io.insert("event".into(), IoValue::Text(e.to_string()));
    }
    if let Some(b) = loc.get("battery").and_then(Value::as_object) {
        if let Some(level) = num(b.get("level")).filter(|l| *l >= 0.0) {
            p.io.insert(
                "battery_level".into(),
                IoValue::Float((level * 100.0).round()),
            );
        }
        if let Some(c) = b.get("is_charging").and_then(Value::as_bool) {
            p.io.insert("charge".into(), IoValue::Bool(c));
        }
    }
    if let Some(t) = loc
        .get("activity")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
    {
        p.io.insert("activity".into(), IoValue::Text(t.to_string()));
    }
    if let Some(extras) = loc.get("extras").and_then(Value::as_object) {
        for (k, v) in extras.iter().take(super::query::MAX_PARAMS) {
            if let Some(val) = scalar(v) {
                p.io.insert(k.clone(), val);
            }
        }
    }
    Ok(p)
}
