//! GT06 extended-frame (`79 79`) families that can carry a fix: AZ735 0x32/0x33, the modular
//! 0x70, and the text position inside a 0x21 command reply.

use super::super::{wire::Reader, AckPlan, DecodeCtx, DecodeError};
use super::decode::{event, Msg, Out};
use super::decode_gps::{apply_flags, position, read_lbs, read_time, Gps, Lbs};
use super::{encode, NAME};
use crate::model::{Alarm, DeviceId, EventKind, IoValue, Position, Record};
use chrono::DateTime;

/// AZ735 extended 0x32 (GPS) / 0x33 (alarm): GPS with a length byte (0 = no fix), LBS with a
/// length byte + RSSI, skipped extra cells and Wi-Fi, status, reserved extension. Answered
/// with the extended ACK form.
pub(super) fn az735(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let time = read_time(&mut r)?;
    let gps_len = r.u8("gps length")?;
    let ack = AckPlan::ack(encode::ack_ext(msg.proto, msg.serial));
    let mut gps = Gps {
        time,
        satellites: 0,
        lat: 0.0,
        lon: 0.0,
        speed_kmh: 0.0,
        course: 0.0,
        valid: false,
        ignition: None,
    };
    if gps_len > 0 {
        gps.satellites = r.u8("gps info")? & 0x0F;
        let lat = r.u32("latitude")?;
        let lon = r.u32("longitude")?;
        gps.speed_kmh = f64::from(r.u8("speed")?);
        let flags = r.u16("course/status")?;
        apply_flags(&mut gps, lat, lon, flags);
    }
    let cell = read_lbs(&mut r, Lbs::ShortLen)?;
    let rssi = if cell.is_some() {
        Some(r.u8("rssi")?)
    } else {
        None
    };
    let n = usize::from(r.u8("extra cells length")?);
    r.skip(n, "extra cells")?;
    let n = usize::from(r.u8("wifi length")?);
    r.skip(n, "wifi")?;
    let status = r.u8("status")?;
    let alarm = match (msg.proto, status) {
        (0x33, 0xA2 | 0xA3) => Some(Alarm::LowBattery),
        (0x33, 0xA4) => Some(Alarm::General),
        (0x33, 0xA5) => Some(Alarm::Door),
        _ => None,
    };
    if gps_len == 0 {
        // No fix: an alarm becomes an event; anything else carries nothing to store.
        let records = alarm
            .map(|a| {
                vec![Record::Event(event(
                    device,
                    time,
                    EventKind::Alarm { alarm: a },
                ))]
            })
            .unwrap_or_default();
        return Ok(Out::new("az735 no fix", records, ack));
    }
    let mut p = position(device, &gps, ctx);
    if let (Some(cell), false) = (cell, p.valid) {
        cell.store(&mut p.io);
    }
    if let Some(rssi) = rssi {
        p.io.insert("rssi".into(), IoValue::Int(rssi.into()));
    }
    p.io.insert("status".into(), IoValue::Int(status.into()));
    p.alarms.extend(alarm);
    let kind = if msg.proto == 0x33 {
        "alarm 0x33"
    } else {
        "location 0x32"
    };
    Ok(Out::new(kind, vec![Record::Position(p)], ack))
}

/// Modular 0x70 (extended): modules `type(2) length(2) value`; module 0x33 is the fix
/// (unix time(4), satellites(1), altitude(2), lat, lon, speed, course/status). Without it the
/// frame becomes an alarm event (module 0x2B) or an info event.
pub(super) fn modular(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let mut fix: Option<(Gps, f64)> = None;
    let mut io = std::collections::BTreeMap::new();
    let mut alarm = None;
    let mut battery = None;
    let mut odometer = None;
    while r.remaining() >= 4 {
        let id = r.u16("module type")?;
        let len = usize::from(r.u16("module length")?);
        let mut m = Reader::new(r.bytes(len, "module value")?);
        match id {
            0x03 => {
                io.insert("iccid".into(), IoValue::Text(hex::encode(m.rest())));
            }
            0x09 => {
                io.insert(
                    "satellites".into(),
                    IoValue::Int(m.u8("satellites")?.into()),
                );
            }
            0x18 => battery = Some(f64::from(m.u16("battery")?) * 0.01),
            0x2B => {
                let e = m.u8("event")?;
                alarm = match e {
                    0x11 => Some(Alarm::LowBattery),
                    0x12 => Some(Alarm::LowPower),
                    0x13 => Some(Alarm::PowerCut),
                    0x14 => Some(Alarm::Tamper),
                    _ => None,
                };
                io.insert("event".into(), IoValue::Int(e.into()));
            }
            0x2E => {
                let v = m.array::<4>("odometer")?;
                odometer = Some(f64::from(u32::from_le_bytes(v)));
            }
            0x33 => {
                let secs = m.u32("time")?;
                let time = DateTime::from_timestamp(secs.into(), 0).ok_or_else(|| {
                    DecodeError::Invalid(format!("0x70 module time {secs} out of range"))
                })?;
                let satellites = m.u8("satellites")?;
                let altitude = f64::from(m.i16("altitude")?);
                let lat = m.u32("latitude")?;
                let lon = m.u32("longitude")?;
                let speed = f64::from(m.u8("speed")?);
                let flags = m.u16("course/status")?;
                let mut gps = Gps {
                    time,
                    satellites,
                    lat: 0.0,
                    lon: 0.0,
                    speed_kmh: speed,
                    course: 0.0,
                    valid: false,
                    ignition: None,
                };
                apply_flags(&mut gps, lat, lon, flags);
                fix = Some((gps, altitude));
            }
            _ => {}
        }
    }
    let ack = AckPlan::ack(encode::ack(0x70, msg.serial));
    let Some((gps, altitude)) = fix else {
        let kind = match alarm {
            Some(a) => EventKind::Alarm { alarm: a },
            None => EventKind::Info {
                name: "modular".into(),
            },
        };
        let mut e = event(device, ctx.now, kind);
        e.attributes = io;
        return Ok(Out::new("modular 0x70", vec![Record::Event(e)], ack));
    };
    let mut p = position(device, &gps, ctx);
    p.altitude_m = altitude;
    p.io = io;
    p.battery_v = battery;
    p.odometer_m = odometer;
    p.alarms.extend(alarm);
    Ok(Out::new("location 0x70", vec![Record::Position(p)], ack))
}

/// The "Current position!Lat:N54.739332,Lon:E25.273270,Course:126.53,Speed:0.0000,
/// DateTime:2017-05-23 12:00:00" reply to a position query. Traccar stores that speed as
/// knots, so it is converted from knots here.
pub(super) fn text_position(device: &DeviceId, text: &str, ctx: &DecodeCtx) -> Option<Position> {
    let rest = text.strip_prefix("Current position!")?;
    let mut lat = None;
    let mut lon = None;
    let mut course = 0.0;
    let mut speed = 0.0;
    let mut time = None;
    for field in rest.split(',') {
        let (k, v) = field.split_once(':')?;
        let v = v.trim();
        match k.trim() {
            "Lat" => lat = hemi(v, 'S'),
            "Lon" => lon = hemi(v, 'W'),
            "Course" => course = v.parse().ok()?,
            "Speed" => speed = v.parse::<f64>().ok()? * 1.852,
            "DateTime" => {
                let t = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S").ok()?;
                time = Some(t.and_utc());
            }
            _ => {}
        }
    }
    let mut p = Position::new(device.clone(), NAME, time?, ctx.now, lat?, lon?, true);
    p.course = course;
    p.speed_kmh = speed;
    Some(p)
}

/// "N54.7" → 54.7, "S54.7" → −54.7 (`neg` is the negative hemisphere letter).
fn hemi(v: &str, neg: char) -> Option<f64> {
    let mut chars = v.chars();
    let h = chars.next()?;
    let deg: f64 = chars.as_str().parse().ok()?;
    Some(if h == neg { -deg } else { deg })
}
