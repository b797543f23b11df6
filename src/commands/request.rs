//! A command request as the API receives it (`{"type", "params", "ttl"?, "confirm"?}`),
//! checked once: the same check rebuilds the [`Command`] from a stored row at delivery, so a
//! row can only hold what a request could.

use crate::protocol::command::{Command, CommandType};
use serde_json::Value;
use std::time::Duration;

/// Longest `custom` text or byte string.
pub const MAX_CUSTOM_BYTES: usize = 1000;
/// Largest `set_interval` accepted, seconds (a day).
pub const MAX_INTERVAL_SECS: u64 = 86_400;

/// Why a request is refused (400, with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(s: impl Into<String>) -> Invalid {
    Invalid(s.into())
}

/// The command named by `kind` with `params` (a JSON object or null).
pub fn command(kind: &str, params: &Value) -> Result<Command, Invalid> {
    let t = CommandType::parse(kind).ok_or_else(|| {
        let all: Vec<&str> = CommandType::ALL.iter().map(|t| t.as_str()).collect();
        invalid(format!(
            "unknown command type {kind:?}; types: {}",
            all.join(", ")
        ))
    })?;
    if !(params.is_null() || params.is_object()) {
        return Err(invalid("params must be an object"));
    }
    Ok(match t {
        CommandType::EngineStop => Command::EngineStop,
        CommandType::EngineResume => Command::EngineResume,
        CommandType::Reboot => Command::Reboot,
        CommandType::PositionRequest => Command::PositionRequest,
        CommandType::SetInterval => {
            let s = params
                .get("seconds")
                .and_then(Value::as_u64)
                .filter(|s| (1..=MAX_INTERVAL_SECS).contains(s))
                .ok_or_else(|| {
                    invalid(format!(
                        "set_interval needs params.seconds, a whole number 1..={MAX_INTERVAL_SECS}"
                    ))
                })?;
            Command::SetInterval { seconds: s as u32 }
        }
        CommandType::Custom => custom(params)?,
    })
}

fn custom(params: &Value) -> Result<Command, Invalid> {
    let text = params.get("text").and_then(Value::as_str);
    let hex_s = params.get("hex").and_then(Value::as_str);
    let cmd = match (text, hex_s) {
        (Some(t), None) => {
            if t.is_empty() || t.len() > MAX_CUSTOM_BYTES {
                return Err(invalid(format!(
                    "params.text must be 1..={MAX_CUSTOM_BYTES} bytes"
                )));
            }
            Command::CustomText(t.to_string())
        }
        (None, Some(h)) => {
            let b = hex::decode(h).map_err(|e| invalid(format!("params.hex: {e}")))?;
            if b.is_empty() || b.len() > MAX_CUSTOM_BYTES {
                return Err(invalid(format!(
                    "params.hex must be 1..={MAX_CUSTOM_BYTES} bytes"
                )));
            }
            Command::CustomHex(b)
        }
        _ => {
            return Err(invalid(
                "custom needs exactly one of params.text (string) or params.hex (hex string)",
            ))
        }
    };
    Ok(cmd)
}

/// The `ttl` field: seconds (a number) or a duration text (`"2h"`); `default` when absent,
/// at most `max` (`[commands]`).
pub fn ttl(v: Option<&Value>, default: Duration, max: Duration) -> Result<Duration, Invalid> {
    let d = match v {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| invalid("ttl must be a positive number of seconds"))?,
        Some(Value::String(s)) => {
            crate::duration_text::parse(s).map_err(|e| invalid(format!("ttl {s:?}: {e}")))?
        }
        Some(_) => return Err(invalid("ttl must be seconds or a duration like \"2h\"")),
    };
    if d.is_zero() || d > max {
        return Err(invalid(format!(
            "ttl must be between 1 s and {} s",
            max.as_secs()
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_and_params() {
        assert_eq!(command("reboot", &Value::Null), Ok(Command::Reboot));
        assert_eq!(
            command("set_interval", &json!({"seconds": 30})),
            Ok(Command::SetInterval { seconds: 30 })
        );
        assert!(command("set_interval", &json!({"seconds": 0})).is_err());
        assert!(command("set_interval", &json!({"seconds": "30"})).is_err());
        assert!(command("set_interval", &json!({})).is_err());
        assert_eq!(
            command("custom", &json!({"text": "WHERE#"})),
            Ok(Command::CustomText("WHERE#".into()))
        );
        assert_eq!(
            command("custom", &json!({"hex": "0102ff"})),
            Ok(Command::CustomHex(vec![1, 2, 0xff]))
        );
        assert!(command("custom", &json!({"hex": "zz"})).is_err());
        assert!(command("custom", &json!({"text": "a", "hex": "01"})).is_err());
        assert!(command("custom", &json!([1])).is_err());
        let e = command("launch", &Value::Null).unwrap_err();
        assert!(e.0.contains("engine_stop"), "{e}");
    }

    #[test]
    fn ttl_forms_and_bounds() {
        let (day, week) = (Duration::from_secs(86_400), Duration::from_secs(7 * 86_400));
        let ttl = |v: Option<&Value>| ttl(v, day, week);
        assert_eq!(ttl(None), Ok(day));
        assert_eq!(ttl(Some(&json!(60))), Ok(Duration::from_secs(60)));
        assert_eq!(ttl(Some(&json!("2h"))), Ok(Duration::from_secs(7200)));
        assert!(ttl(Some(&json!(0))).is_err());
        assert!(ttl(Some(&json!(-5))).is_err());
        assert!(ttl(Some(&json!("30d"))).is_err());
        assert!(ttl(Some(&json!(true))).is_err());
    }
}
