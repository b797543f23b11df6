//! Generic MQTT JSON devices: a configured topic pattern, device id template and field paths.
//!
//! ```toml
//! [[mqtt.ingest.mappings]]
//! topic = "fleet/+/+/gps"        # `+` = one level (captured as {1}, {2}...), `#` = the rest
//! device_id = "{1}.{2}"          # sanitized like OwnTracks ids
//! lat = "pos.lat"                # dotted JSON paths; array items by index: "fix.0"
//! lon = "pos.lon"
//! time = "ts"  ; time_unit = "s" # "s" | "ms" | "rfc3339"; no `time`: the receive time
//! speed = "spd"; speed_unit = "kmh"   # "kmh" | "ms" | "knots"
//! course = "hdg"; altitude = "alt"; accuracy = "acc"; battery = "batt"   # battery in %
//! attributes = { fuel = "can.fuel" }  # extra values kept under their own names
//! ```

use super::{sanitize, MAPPED_NAME};
use crate::model::{DeviceId, IoValue, Position, Record};
use crate::protocol::{DecodeCtx, DecodeError, Decoded};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Unit of the mapped time field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Unix seconds (the default).
    #[default]
    S,
    /// Unix milliseconds.
    Ms,
    /// RFC 3339 text.
    Rfc3339,
}

/// Unit of the mapped speed field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpeedUnit {
    /// km/h (the default).
    #[default]
    Kmh,
    /// m/s.
    Ms,
    Knots,
}

/// One mapping from an MQTT topic pattern to positions (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Topic filter with `+` (captured) and a trailing `#`; also the subscription.
    pub topic: String,
    /// Device id template: `{N}` is the N-th `+` level (1-based).
    pub device_id: String,
    /// Path of the latitude (degrees).
    pub lat: String,
    /// Path of the longitude (degrees).
    pub lon: String,
    /// Path of the fix time; absent: the receive time.
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub time_unit: TimeUnit,
    #[serde(default)]
    pub speed: Option<String>,
    #[serde(default)]
    pub speed_unit: SpeedUnit,
    /// Path of the course, degrees.
    #[serde(default)]
    pub course: Option<String>,
    /// Path of the altitude, metres.
    #[serde(default)]
    pub altitude: Option<String>,
    /// Path of the horizontal accuracy, metres.
    #[serde(default)]
    pub accuracy: Option<String>,
    /// Path of the battery level, percent.
    #[serde(default)]
    pub battery: Option<String>,
    /// Extra values: attribute name → path.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A mapping that cannot work, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mqtt mapping {topic:?}: {reason}")]
pub struct MappingError {
    pub topic: String,
    pub reason: String,
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, key| match cur {
        Value::Object(o) => o.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn number(v: &Value, path: &str) -> Result<Option<f64>, DecodeError> {
    match lookup(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| DecodeError::Invalid(format!("{path} = {s:?} is not a number"))),
        Some(other) => Err(DecodeError::Invalid(format!(
            "{path} = {other} is not a number"
        ))),
    }
}

impl Mapping {
    /// Checks the pattern and the template once, at start-up.
    pub fn validate(&self) -> Result<(), MappingError> {
        let err = |reason: String| MappingError {
            topic: self.topic.clone(),
            reason,
        };
        let levels: Vec<&str> = self.topic.split('/').collect();
        for (i, l) in levels.iter().enumerate() {
            if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
                return Err(err("`#` must be the whole last level".into()));
            }
            if l.contains('+') && *l != "+" {
                return Err(err("`+` must be a whole level".into()));
            }
        }
        let plus = levels.iter().filter(|l| **l == "+").count();
        let mut rest = self.device_id.as_str();
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| err("unclosed `{` in device_id".into()))?;
            let n: usize = rest[start + 1..start + end].parse().map_err(|_| {
                err(format!(
                    "device_id placeholder {{{}}} is not a number",
                    &rest[start + 1..start + end]
                ))
            })?;
            if n == 0 || n > plus {
                return Err(err(format!(
                    "device_id uses {{{n}}} but the topic has {plus} `+` levels"
                )));
            }
            rest = &rest[start + end + 1..];
        }
        if self.device_id.is_empty() || self.lat.is_empty() || self.lon.is_empty() {
            return Err(err("device_id, lat and lon are required".into()));
        }
        Ok(())
    }

    /// The `+` levels of `topic` when it matches the pattern.
    pub fn captures<'t>(&self, topic: &'t str) -> Option<Vec<&'t str>> {
        let mut caps = Vec::new();
        let mut t = topic.split('/');
        for p in self.topic.split('/') {
            if p == "#" {
                return Some(caps);
            }
            let level = t.next()?;
            if p == "+" {
                caps.push(level);
            } else if p != level {
                return None;
            }
        }
        t.next().is_none().then_some(caps)
    }

    /// True when `topic` matches the pattern.
    pub fn matches(&self, topic: &str) -> bool {
        self.captures(topic).is_some()
    }

    fn device(&self, caps: &[&str]) -> Result<DeviceId, DecodeError> {
        let mut id = self.device_id.clone();
        for (i, c) in caps.iter().enumerate().rev() {
            id = id.replace(&format!("{{{}}}", i + 1), &sanitize(c));
        }
        Ok(DeviceId::new(sanitize(&id))?)
    }

    fn time(&self, v: &Value, ctx: &DecodeCtx) -> Result<DateTime<Utc>, DecodeError> {
        let Some(path) = &self.time else {
            return Ok(ctx.now);
        };
        let bad = |x: &dyn std::fmt::Display| {
            DecodeError::Invalid(format!("{path} = {x} is not a {:?} time", self.time_unit))
        };
        match self.time_unit {
            TimeUnit::Rfc3339 => {
                let s = lookup(v, path)
                    .and_then(Value::as_str)
                    .ok_or_else(|| DecodeError::Invalid(format!("missing {path}")))?;
                DateTime::parse_from_rfc3339(s)
                    .map(|d| d.with_timezone(&Utc))
                    .map_err(|_| bad(&s))
            }
            unit => {
                let n = number(v, path)?
                    .ok_or_else(|| DecodeError::Invalid(format!("missing {path}")))?;
                let ms = if unit == TimeUnit::Ms { n } else { n * 1000.0 };
                if !(0.0..1e15).contains(&ms) {
                    return Err(bad(&n));
                }
                Utc.timestamp_millis_opt(ms.round() as i64)
                    .single()
                    .ok_or_else(|| bad(&n))
            }
        }
    }

    /// Decodes one message on a matching topic.
    pub fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        ctx: &DecodeCtx,
    ) -> Result<Decoded, DecodeError> {
        let caps = self.captures(topic).ok_or_else(|| {
            DecodeError::Invalid(format!("topic {topic:?} does not match {:?}", self.topic))
        })?;
        let device = self.device(&caps)?;
        let v: Value = serde_json::from_slice(payload)
            .map_err(|e| DecodeError::Invalid(format!("payload is not JSON: {e}")))?;
        let lat = number(&v, &self.lat)?
            .ok_or_else(|| DecodeError::Invalid(format!("missing {}", self.lat)))?;
        let lon = number(&v, &self.lon)?
            .ok_or_else(|| DecodeError::Invalid(format!("missing {}", self.lon)))?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(DecodeError::Invalid(format!(
                "lat {lat} / lon {lon} is off the Earth"
            )));
        }
        let mut p = Position::new(
            device.clone(),
            MAPPED_NAME,
            self.time(&v, ctx)?,
            ctx.now,
            lat,
            lon,
            true,
        );
        if let Some(path) = &self.speed {
            let factor = match self.speed_unit {
                SpeedUnit::Kmh => 1.0,
                SpeedUnit::Ms => 3.6,
                SpeedUnit::Knots => 1.852,
            };
            p.speed_kmh = number(&v, path)?.unwrap_or(0.0).max(0.0) * factor;
        }
        if let Some(path) = &self.course {
            p.course = number(&v, path)?.unwrap_or(0.0);
        }
        if let Some(path) = &self.altitude {
            p.altitude_m = number(&v, path)?.unwrap_or(0.0);
        }
        if let Some(path) = &self.accuracy {
            p.accuracy_m = number(&v, path)?;
        }
        if let Some(path) = &self.battery {
            if let Some(b) = number(&v, path)? {
                p.io.insert("battery_level".into(), IoValue::Float(b));
            }
        }
        for (name, path) in &self.attributes {
            let val = match lookup(&v, path) {
                Some(Value::Bool(b)) => IoValue::Bool(*b),
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(i) => IoValue::Int(i),
                    None => IoValue::Float(n.as_f64().unwrap_or(0.0)),
                },
                Some(Value::String(s)) => IoValue::Text(s.clone()),
                _ => continue,
            };
            p.io.insert(name.clone(), val);
        }
        Ok(Decoded {
            kind: "mapped".into(),
            identity: Some(device),
            records: vec![Record::Position(p)],
            ..Decoded::default()
        })
    }
}
