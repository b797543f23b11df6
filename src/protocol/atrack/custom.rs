//! Custom data ("%CI" forms): the fields a unit appends to each record when configured to.
//!
//! The form is a list of two-letter keys (`%CI%SA%MV%BV`); in the binary format each key has
//! a fixed width or is a NUL-terminated string, in the text format each is one comma-separated
//! value. Widths are those of ATrack's AX/AK protocol documents (as Traccar reads them); `MT`
//! (1 byte) was read off a captured frame. A binary key of unknown width cannot be skipped,
//! so the record is malformed from there on.

use crate::model::{IoValue, Position};
use crate::protocol::wire::{Reader, WireError};

/// How a binary custom field is laid out.
enum Width {
    Fixed(usize),
    /// NUL-terminated ASCII.
    Str,
}

fn width(key: &str) -> Option<Width> {
    use Width::{Fixed, Str};
    Some(match key {
        "SA" | "GQ" | "RL" | "GS" | "DT" | "EL" | "TR" | "FL" | "ML" | "PD" | "IA" | "MP"
        | "MT" => Fixed(1),
        "MV" | "BV" | "LC" | "RP" | "MF" | "ET" | "AV1" | "SM" => Fixed(2),
        "CE" | "CN" | "PC" | "AT" | "FC" => Fixed(4),
        "GV" => Fixed(6),
        "CM" | "ME" => Fixed(8),
        "GN" => Fixed(60),
        "VN" | "CI" | "NC" | "GL" | "MA" | "CD" => Str,
        _ => return None,
    })
}

/// The keys of a form string (`%CI%SA%MV` → `CI`, `SA`, `MV`).
pub fn keys(form: &str) -> impl Iterator<Item = &str> {
    form.split('%').map(str::trim).filter(|k| !k.is_empty())
}

/// Reads a NUL-terminated string (the NUL consumed, not returned).
pub fn read_str<'a>(r: &mut Reader<'a>, field: &'static str) -> Result<&'a [u8], WireError> {
    let n = r
        .rest()
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| r.bad(field, "no NUL terminator"))?;
    let s = r.bytes(n, field)?;
    r.skip(1, field)?;
    Ok(s)
}

/// Reads the binary custom fields of `form` into `p`.
pub fn read_binary(r: &mut Reader<'_>, form: &str, p: &mut Position) -> Result<(), WireError> {
    for key in keys(form) {
        let w = width(key).ok_or_else(|| {
            r.bad(
                "custom field",
                format!("%{key} has no known width in binary form {form}"),
            )
        })?;
        match w {
            Width::Str => {
                // `CI` in a configured form: the unit sends the form string too.
                let s = read_str(r, "custom string")?;
                if key != "CI" {
                    apply(p, key, &String::from_utf8_lossy(s));
                }
            }
            Width::Fixed(n) => {
                let v = r.bytes(n, "custom value")?;
                if n <= 8 {
                    let u = v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
                    apply(p, key, &u.to_string());
                } else {
                    apply(p, key, &hex::encode(v));
                }
            }
        }
    }
    Ok(())
}

/// Applies the text custom values (`values`, one per key of `form`; extra keys or values are
/// ignored as the text is self-delimiting).
pub fn read_text(values: &[&str], form: &str, p: &mut Position) {
    for (key, value) in keys(form).zip(values) {
        apply(
            p,
            key,
            value.trim_matches(|c: char| c == '\u{1a}' || c.is_whitespace()),
        );
    }
}

/// One custom value, as text, to the position: the keys with a model field go there, every
/// other one to `io` under its lower-cased key (a number when it parses as one).
fn apply(p: &mut Position, key: &str, v: &str) {
    let num = v.parse::<i64>().ok();
    match (key, num) {
        ("SA", Some(n)) => p.satellites = n.clamp(0, 255) as u8,
        ("MV", Some(n)) => p.power_v = Some(n as f64 / 10.0),
        ("BV", Some(n)) => p.battery_v = Some(n as f64 / 10.0),
        ("AT", Some(n)) => p.altitude_m = n as f64,
        ("DT", Some(n)) => p.historical = n == 1,
        (_, Some(n)) if key != "VN" && key != "CD" => {
            p.io.insert(key.to_ascii_lowercase(), IoValue::Int(n));
        }
        _ => {
            p.io.insert(key.to_ascii_lowercase(), IoValue::Text(v.to_string()));
        }
    }
}
