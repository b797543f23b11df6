//! The query / form flavour: `id=..&lat=..&lon=..&timestamp=..`.

use super::values::{check_coords, flag, number, time, typed};
use super::{Settings, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::{DecodeCtx, DecodeError, Decoded};

/// Most parameters one request may carry; more are an error (every quantity a device
/// controls has a ceiling, and attributes end up as stored fields).
pub const MAX_PARAMS: usize = 64;

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space) into key/value pairs.
pub fn parse(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn alarm(s: &str) -> Alarm {
    match s.to_ascii_lowercase().as_str() {
        "sos" => Alarm::Sos,
        "overspeed" => Alarm::Overspeed,
        "lowbattery" | "low_battery" => Alarm::LowBattery,
        "powercut" | "power_cut" => Alarm::PowerCut,
        "tampering" | "tamper" => Alarm::Tamper,
        "vibration" => Alarm::Vibration,
        "movement" => Alarm::Movement,
        "fall" | "falldown" | "fall_down" => Alarm::FallDown,
        _ => Alarm::General,
    }
}

/// Decodes one request's parameters (query first, then form body).
pub fn decode(
    params: &[(String, String)],
    ctx: &DecodeCtx,
    settings: Settings,
) -> Result<Decoded, DecodeError> {
    if params.len() > MAX_PARAMS {
        return Err(DecodeError::Invalid(format!(
            "{} parameters, more than {MAX_PARAMS}",
            params.len()
        )));
    }
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let id = get("id")
        .or_else(|| get("deviceid"))
        .ok_or_else(|| DecodeError::Invalid("missing device id (`id` or `deviceid`)".into()))?;
    let device = DeviceId::new(id.trim())?;
    let fix_time = match get("timestamp") {
        Some(t) => time(t)?,
        None => ctx.now,
    };
    let mut lat = get("lat").map(|v| number("lat", v)).transpose()?;
    let mut lon = get("lon").map(|v| number("lon", v)).transpose()?;
    if let Some(loc) = get("location") {
        let (a, b) = loc
            .split_once(',')
            .ok_or_else(|| DecodeError::Invalid(format!("location = {loc:?} is not lat,lon")))?;
        lat = Some(number("location", a)?);
        lon = Some(number("location", b)?);
    }
    let mut p = Position::new(device.clone(), NAME, fix_time, ctx.now, 0.0, 0.0, true);
    for (key, value) in params {
        match key.as_str() {
            "id" | "deviceid" | "timestamp" | "lat" | "lon" | "location" => {}
            "valid" => p.valid = flag(key, value)?,
            "speed" => p.speed_kmh = number(key, value)?.max(0.0) * settings.speed_unit.to_kmh(),
            "bearing" | "heading" => p.course = number(key, value)?,
            "altitude" => p.altitude_m = number(key, value)?,
            "accuracy" => p.accuracy_m = Some(number(key, value)?),
            "hdop" => {
                p.io.insert("hdop".into(), IoValue::Float(number(key, value)?));
            }
            "batt" => {
                p.io.insert("battery_level".into(), IoValue::Float(number(key, value)?));
            }
            "charge" => {
                p.io.insert("charge".into(), IoValue::Bool(flag(key, value)?));
            }
            "ignition" => p.ignition = Some(flag(key, value)?),
            "odometer" => p.odometer_m = Some(number(key, value)?),
            "alarm" => {
                p.alarms.push(alarm(value));
                p.io.insert("alarm".into(), IoValue::Text(value.clone()));
            }
            "driverUniqueId" => {
                p.io.insert("driver_unique_id".into(), IoValue::Text(value.clone()));
            }
            // Repeated cell / wifi entries are kept together, in order.
            "cell" | "wifi" => {
                let entry =
                    p.io.entry(key.clone())
                        .or_insert(IoValue::Text(String::new()));
                if let IoValue::Text(t) = entry {
                    if !t.is_empty() {
                        t.push(';');
                    }
                    t.push_str(value);
                }
            }
            _ => {
                p.io.insert(key.clone(), typed(value));
            }
        }
    }
    let record = match (lat, lon) {
        (Some(lat), Some(lon)) => {
            check_coords(lat, lon)?;
            p.lat = lat;
            p.lon = lon;
            Record::Position(p)
        }
        (None, None) => {
            // Network-only reports (cell towers, Wi-Fi) carry no fix: kept as an event.
            let mut e = DeviceEvent::new(
                device.clone(),
                NAME,
                fix_time,
                EventKind::Info {
                    name: "no_fix".into(),
                },
            );
            e.attributes = p.io;
            Record::Event(e)
        }
        _ => {
            return Err(DecodeError::Invalid(
                "lat and lon must be given together".into(),
            ))
        }
    };
    Ok(Decoded {
        kind: "query".into(),
        identity: Some(device),
        records: vec![record],
        ..Decoded::default()
    })
}
