//! The text inside position frames: `hhmmss(.sss),A|V,ddmm.mmmm,N|S,dddmm.mmmm,E|W,speed
//! knots,course,ddmmyy[,…][*cs]` then optional `|`-separated fields: `|HDOP|altitude|state
//! hex|adc hex,…|cell|rssi hex|odometer hex|satellites hex|driver` (newer firmware) or
//! `|HDOP|altitude|state|adc…|odometer decimal|rfid` (older).

use super::NAME;
use crate::model::{DeviceId, IoValue, Position};
use crate::protocol::{wire, DecodeCtx, DecodeError};

fn bad(what: &str, v: &str) -> DecodeError {
    DecodeError::Invalid(format!("meiligao {what}: {v:?}"))
}

/// `ddmm.mmmm` / `dddmm.mmmm` with its hemisphere to signed degrees.
fn coordinate(v: &str, hemi: &str) -> Result<f64, DecodeError> {
    let x: f64 = v.parse().map_err(|_| bad("coordinate", v))?;
    let deg = (x / 100.0).trunc();
    let value = deg + (x - deg * 100.0) / 60.0;
    match hemi {
        "N" | "E" => Ok(value),
        "S" | "W" => Ok(-value),
        _ => Err(bad("hemisphere", hemi)),
    }
}

/// `hhmmss(.sss)` and `ddmmyy` to a UTC time.
fn hms_dmy(t: &str, d: &str) -> Result<chrono::DateTime<chrono::Utc>, DecodeError> {
    let at = |s: &str, i: usize| s.get(i..i + 2).and_then(|x| x.parse::<u32>().ok());
    (|| {
        wire::utc(
            2000 + at(d, 4)? as i32,
            at(d, 2)?,
            at(d, 0)?,
            at(t, 0)?,
            at(t, 2)?,
            at(t, 4)?,
        )
    })()
    .ok_or_else(|| bad("date/time", &format!("{t} {d}")))
}

/// Parses a regular sentence into a position of device `id`.
pub fn regular(s: &str, id: &DeviceId, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let mut parts = s.split('|');
    let nmea = parts.next().unwrap_or_default();
    let f: Vec<&str> = nmea.split(',').collect();
    if f.len() < 9 {
        return Err(bad("sentence", s));
    }
    let time = hms_dmy(f[0], f[8])?;
    let valid = match f[1] {
        "A" => true,
        "V" => false,
        other => return Err(bad("validity", other)),
    };
    let mut p = Position::new(
        id.clone(),
        NAME,
        time,
        ctx.now,
        coordinate(f[2], f[3])?,
        coordinate(f[4], f[5])?,
        valid,
    );
    let num = |v: &str| -> Result<f64, DecodeError> {
        if v.is_empty() {
            Ok(0.0)
        } else {
            v.parse().map_err(|_| bad("number", v))
        }
    };
    p.speed_kmh = num(f[6])? * wire::KNOT_KMH;
    p.course = num(f[7])?;
    let rest: Vec<&str> = parts.collect();
    extras(&mut p, &rest);
    Ok(p)
}

/// The `|` fields after the sentence; a field that does not parse is left out (they are
/// optional and differ between firmwares), never guessed.
fn extras(p: &mut Position, v: &[&str]) {
    let hex = |s: &str| i64::from_str_radix(s, 16).ok();
    if let Some(h) = v.first().and_then(|s| s.parse::<f64>().ok()) {
        p.io.insert("hdop".into(), IoValue::Float(h));
    }
    if let Some(a) = v.get(1).and_then(|s| s.parse::<f64>().ok()) {
        p.altitude_m = a;
    }
    if let Some(state) = v.get(2).and_then(|s| hex(s)) {
        p.io.insert("status".into(), IoValue::Int(state));
    }
    if let Some(adc) = v.get(3) {
        for (i, a) in adc.split(',').enumerate() {
            if let Some(n) = hex(a) {
                p.io.insert(format!("adc{}", i + 1), IoValue::Int(n));
            }
        }
    }
    match v.get(4) {
        // Newer layout: cell | rssi | odometer (8 hex digits, m) | satellites | driver.
        Some(cell) if cell.len() >= 16 && v.len() >= 7 => {
            if let Some(r) = v.get(5).and_then(|s| hex(s)) {
                p.io.insert("rssi".into(), IoValue::Int(r));
            }
            if let Some(o) = v.get(6).filter(|s| s.len() == 8).and_then(|s| hex(s)) {
                p.odometer_m = Some(o as f64);
            }
            if let Some(n) = v.get(7).and_then(|s| hex(s)) {
                p.satellites = n.clamp(0, 255) as u8;
            }
            if let Some(d) = v.get(8).filter(|s| !s.is_empty()) {
                p.io.insert("driver_id".into(), IoValue::Text((*d).into()));
            }
        }
        // Older layout: odometer (decimal, m) | rfid.
        Some(o) if !o.is_empty() && o.len() <= 9 && o.bytes().all(|b| b.is_ascii_digit()) => {
            p.odometer_m = o.parse::<f64>().ok();
            if let Some(r) = v.get(5).filter(|s| s.len() >= 5) {
                p.io.insert("driver_id".into(), IoValue::Text((*r).into()));
            }
        }
        _ => {}
    }
}

/// The RFID report's text: `|hhmmss,ddmmyy,ddmm.mmmm,N,dddmm.mmmm,E`.
pub fn rfid(s: &str, id: &DeviceId, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let f: Vec<&str> = s.trim_start_matches('|').split(',').collect();
    if f.len() < 6 {
        return Err(bad("rfid sentence", s));
    }
    let time = hms_dmy(f[0], f[1])?;
    Ok(Position::new(
        id.clone(),
        NAME,
        time,
        ctx.now,
        coordinate(f[2], f[3])?,
        coordinate(f[4], f[5])?,
        true,
    ))
}
