//! Durations in config files as `"7d"`, `"12h"`, `"30m"`, `"45s"`, `"250ms"` or a number of
//! seconds: operators write retention and timeouts the way they say them. Used with
//! `#[serde(with = "crate::duration_text")]` by every section that has a duration.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Parses the text form.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("duration {s:?}: expected a number then s/m/h/d/ms"))?;
    let secs = match unit.trim() {
        "" | "s" => return Ok(Duration::from_secs(n)),
        "ms" => return Ok(Duration::from_millis(n)),
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        u => {
            return Err(format!(
                "duration {s:?}: unknown unit {u:?} (s, m, h, d, ms)"
            ))
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_millis() != 0 {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    } else {
        s.serialize_str(&format!("{}s", d.as_secs()))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(n) => Ok(Duration::from_secs(n)),
        Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
    }
}
