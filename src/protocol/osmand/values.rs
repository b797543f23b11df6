//! Parsing of the loosely typed values phone apps send: times, numbers, flags.

use crate::model::IoValue;
use crate::protocol::DecodeError;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Unix times above this many seconds are taken as milliseconds (10^11 s is the year 5138,
/// 10^11 ms is 1973: no real fix is ambiguous).
pub const MS_THRESHOLD: i64 = 100_000_000_000;

/// Parses `timestamp`: Unix seconds, Unix milliseconds, RFC 3339 / ISO-8601 (with or without
/// zone, UTC when absent), or `yyyy-MM-dd HH:mm:ss` (UTC).
pub fn time(s: &str) -> Result<DateTime<Utc>, DecodeError> {
    let t = s.trim();
    let bad = || DecodeError::Invalid(format!("timestamp {t:?} is not Unix s/ms or ISO-8601"));
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let n: f64 = t.parse().map_err(|_| bad())?;
        let ms = if n >= MS_THRESHOLD as f64 {
            n
        } else {
            n * 1000.0
        };
        if !ms.is_finite() || ms > 1e15 {
            return Err(bad());
        }
        return Utc
            .timestamp_millis_opt(ms.round() as i64)
            .single()
            .ok_or_else(bad);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    if let Ok(d) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%z") {
        return Ok(d.with_timezone(&Utc));
    }
    Err(bad())
}

/// Parses a finite number for `key`.
pub fn number(key: &str, s: &str) -> Result<f64, DecodeError> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(DecodeError::Invalid(format!(
            "{key} = {s:?} is not a number"
        ))),
    }
}

/// `true`/`1`/`yes` or `false`/`0`/`no`.
pub fn flag(key: &str, s: &str) -> Result<bool, DecodeError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(DecodeError::Invalid(format!(
            "{key} = {s:?} is not true/false"
        ))),
    }
}

/// An attribute value with the narrowest type that reads it: integer, float, bool, text.
pub fn typed(s: &str) -> IoValue {
    if let Ok(i) = s.parse::<i64>() {
        return IoValue::Int(i);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() {
            return IoValue::Float(f);
        }
    }
    match s {
        "true" => IoValue::Bool(true),
        "false" => IoValue::Bool(false),
        _ => IoValue::Text(s.to_string()),
    }
}

/// Checks a coordinate pair is on Earth.
pub fn check_coords(lat: f64, lon: f64) -> Result<(), DecodeError> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(DecodeError::Invalid(format!(
            "lat {lat} / lon {lon} is outside -90..90 / -180..180"
        )));
    }
    Ok(())
}
