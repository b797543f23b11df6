//! The data message shared by `#SD#`, `#D#` and each message of `#B#`: ten short-data
//! fields, then (extended) hdop, inputs, outputs, ADC list, iButton and the typed
//! parameters. Every field may be `NA`; the conversions to trackgate's units live here.

use super::NAME;
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire;
use crate::protocol::DecodeError;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Fields of a short data message (`#SD#`, or a short `#B#` message).
pub(super) const SHORT_FIELDS: usize = 10;
/// Fields of an extended data message (`#D#`).
pub(super) const EXTENDED_FIELDS: usize = 16;

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("wialon", field, value)
}

/// `None` for `NA` (and for an empty field, which some firmwares send instead).
fn given(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty() && s != "NA").then_some(s)
}

fn number(field: &'static str, s: &str) -> Result<Option<f64>, DecodeError> {
    given(s)
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(field, v))
        })
        .transpose()
}

fn two(d: &[u8], i: usize) -> u32 {
    u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0')
}

/// `ddmmyy` + `hhmmss[.fraction]`, UTC; both `NA` → `now` (the spec: the server sets the
/// time). One given without the other is malformed.
fn time(date: &str, time: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, DecodeError> {
    let (d, t) = match (given(date), given(time)) {
        (None, None) => return Ok(now),
        (Some(d), Some(t)) => (d, t),
        _ => return Err(bad("date/time", &format!("{date};{time}"))),
    };
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    let (db, tb) = (d.as_bytes(), hms.as_bytes());
    let digits = |b: &[u8]| b.len() == 6 && b.iter().all(u8::is_ascii_digit);
    if !digits(db) || !digits(tb) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("date/time", &format!("{date};{time}")));
    }
    let whole = wire::utc(
        2000 + two(db, 4) as i32,
        two(db, 2),
        two(db, 0),
        two(tb, 0),
        two(tb, 2),
        two(tb, 4),
    )
    .ok_or_else(|| bad("date/time", &format!("{date};{time}")))?;
    // Wialon IPS 2.1 allows `hhmmss.nnnnnnnnn`: keep up to nanoseconds.
    let nanos: u32 = format!("{:0<9}", &frac[..frac.len().min(9)])
        .parse()
        .unwrap_or(0);
    Ok(whole + chrono::Duration::nanoseconds(nanos.into()))
}

/// `ddmm.mmmm` + hemisphere; `None` when `NA`.
fn coordinate(value: &str, hemi: &str, max_deg: f64) -> Result<Option<f64>, DecodeError> {
    let (Some(v), Some(h)) = (given(value), given(hemi)) else {
        return Ok(None);
    };
    parse_ddmm(v, h, max_deg)
        .map(Some)
        .ok_or_else(|| bad("coordinate", &format!("{v};{h}")))
}

/// A decoded data message: a fix, or (coordinates `NA`) the values without one.
pub(super) fn record(
    device: &DeviceId,
    f: &[&str],
    archive: bool,
    now: DateTime<Utc>,
) -> Result<Record, DecodeError> {
    if f.len() != SHORT_FIELDS && f.len() != EXTENDED_FIELDS {
        return Err(DecodeError::Invalid(format!(
            "wialon data message has {} fields, expected {SHORT_FIELDS} or {EXTENDED_FIELDS}",
            f.len()
        )));
    }
    let at = time(f[0], f[1], now)?;
    let lat = coordinate(f[2], f[3], 90.0)?;
    let lon = coordinate(f[4], f[5], 180.0)?;
    let speed = number("speed", f[6])?;
    let course = number("course", f[7])?;
    let altitude = number("altitude", f[8])?;
    let sats = given(f[9])
        .map(|s| s.parse::<u8>().map_err(|_| bad("satellites", s)))
        .transpose()?;
    let mut io = BTreeMap::new();
    if f.len() == EXTENDED_FIELDS {
        extended(&f[10..], &mut io)?;
    }
    let (Some(lat), Some(lon)) = (lat, lon) else {
        let mut e = DeviceEvent::new(
            device.clone(),
            NAME,
            at,
            EventKind::Info {
                name: "params".into(),
            },
        );
        e.attributes = io;
        if let Some(s) = sats {
            e.attributes.insert("sat".into(), IoValue::Int(s.into()));
        }
        return Ok(Record::Event(e));
    };
    // Wialon has no validity flag: a device sends `NA` coordinates without a fix. With a
    // satellite count, fewer than 3 satellites cannot give a 2-D fix (Traccar's rule too).
    let valid = sats.is_none_or(|s| s >= 3);
    let mut p = Position::new(device.clone(), NAME, at, now, lat, lon, valid);
    p.speed_kmh = speed.unwrap_or(0.0).max(0.0);
    p.course = course.unwrap_or(0.0).rem_euclid(360.0);
    p.altitude_m = altitude.unwrap_or(0.0);
    p.satellites = sats.unwrap_or(0);
    p.historical = archive;
    if let Some(IoValue::Float(a)) = io.remove("accuracy") {
        p.accuracy_m = Some(a);
    }
    p.io = io;
    Ok(Record::Position(p))
}

/// hdop; inputs; outputs; adc1,adc2,…; ibutton; name:type:value,… into `io`.
fn extended(f: &[&str], io: &mut BTreeMap<String, IoValue>) -> Result<(), DecodeError> {
    if let Some(h) = number("hdop", f[0])? {
        io.insert("hdop".into(), IoValue::Float(h));
    }
    for (i, key) in [(1, "input"), (2, "output")] {
        if let Some(v) = given(f[i]) {
            let bits = v.parse::<i64>().map_err(|_| bad(key, v))?;
            io.insert(key.into(), IoValue::Int(bits));
        }
    }
    if let Some(adc) = given(f[3]) {
        for (i, v) in adc.split(',').enumerate() {
            let x = number("adc", v)?.ok_or_else(|| bad("adc", v))?;
            io.insert(format!("adc{}", i + 1), IoValue::Float(x));
        }
    }
    if let Some(id) = given(f[4]) {
        io.insert("driver_id".into(), IoValue::Text(id.into()));
    }
    if let Some(params) = given(f[5]) {
        for p in params.split(',').filter(|p| !p.is_empty()) {
            let (name, value) = param(p)?;
            io.insert(name, value);
        }
    }
    Ok(())
}

/// One `NAME:TYPE:VALUE` parameter (type 1 integer, 2 real, 3 text). The names are the
/// device's own and kept as sent, except the few with a trackgate meaning (`bat` battery
/// level %, `temp` device temperature °C, `accuracy` m). Text `true`/`false` is a boolean.
fn param(p: &str) -> Result<(String, IoValue), DecodeError> {
    let mut it = p.splitn(3, ':');
    let (Some(name), Some(kind), Some(value)) = (it.next(), it.next(), it.next()) else {
        return Err(bad("parameter", p));
    };
    if name.is_empty() {
        return Err(bad("parameter name", p));
    }
    let v = match kind {
        "1" => IoValue::Int(
            value
                .trim()
                .parse()
                .map_err(|_| bad("integer parameter", p))?,
        ),
        "2" => IoValue::Float(
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad("real parameter", p))?,
        ),
        "3" => match value {
            "true" => IoValue::Bool(true),
            "false" => IoValue::Bool(false),
            text => IoValue::Text(text.into()),
        },
        _ => return Err(bad("parameter type", p)),
    };
    let name = match name {
        "bat" => "battery_level",
        "temp" => "device_temp",
        other => other,
    };
    // The mapped values are numbers whatever type the firmware declared (`bat:3:99`).
    let v = match (name, v) {
        ("accuracy", IoValue::Int(i)) => IoValue::Float(i as f64),
        ("battery_level" | "device_temp" | "accuracy", IoValue::Text(t)) => {
            match (t.trim().parse::<i64>(), t.trim().parse::<f64>()) {
                (Ok(i), _) if name != "accuracy" => IoValue::Int(i),
                (_, Ok(x)) if x.is_finite() => IoValue::Float(x),
                _ => IoValue::Text(t),
            }
        }
        (_, v) => v,
    };
    Ok((name.to_string(), v))
}
