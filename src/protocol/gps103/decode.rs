//! Coban sentence decoding: log-on, heartbeat, then one function per sentence family
//! (regular GPS/cell report, OBD, the `*`-terminated alternative format, photo chunks).

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::{encode, Gps103Decoder, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// Knots → km/h, exact by definition.
const KNOT_KMH: f64 = 1.852;
/// Traccar's rule for the log-on sentence: it names an IMEI and is short.
const LOGIN_MAX_LEN: usize = 30;

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("gps103", field, value)
}

/// Decodes one sentence cut by the framer (or one UDP datagram).
pub(super) fn decode_frame(
    dec: &mut Gps103Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let raw = String::from_utf8_lossy(frame);
    let raw = raw.trim();
    let alternative = raw.ends_with('*');
    let s = raw.trim_end_matches([';', '*']).trim();
    if s.contains("imei:") && s.len() <= LOGIN_MAX_LEN {
        let identity = match imei_of(s) {
            Some(imei) => Some(identify(dec, imei)?),
            None => None,
        };
        return Ok(Decoded {
            kind: "login".into(),
            identity,
            records: vec![],
            ack: AckPlan::ack(Bytes::from_static(encode::LOAD)),
        });
    }
    if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return match s.find("imei:") {
            // A heartbeat glued to the next report (the `;` was lost): answer and decode both.
            Some(start) => {
                let mut d = report(dec, &s[start..], alternative, ctx)?;
                let mut reply = encode::ON.to_vec();
                reply.extend_from_slice(d.ack.accepted.as_deref().unwrap_or_default());
                d.ack = AckPlan::ack(reply);
                Ok(d)
            }
            None => {
                let device = identify(dec, s)?;
                Ok(Decoded {
                    kind: "heartbeat".into(),
                    identity: Some(device),
                    records: vec![],
                    ack: AckPlan::ack(Bytes::from_static(encode::ON)),
                })
            }
        };
    }
    if s.starts_with("imei:") {
        return report(dec, s, alternative, ctx);
    }
    Err(DecodeError::Invalid(format!(
        "gps103 sentence is neither log-on, heartbeat nor imei: report: {:?}",
        s.chars().take(32).collect::<String>()
    )))
}

/// The digits after `imei:` up to the next comma.
fn imei_of(s: &str) -> Option<&str> {
    let rest = &s[s.find("imei:")? + 5..];
    let id = rest.split(',').next()?;
    (!id.is_empty()).then_some(id)
}

fn identify(dec: &mut Gps103Decoder, id: &str) -> Result<DeviceId, DecodeError> {
    let d = DeviceId::new(id)?;
    dec.device = Some(d.clone());
    Ok(d)
}

fn report(
    dec: &mut Gps103Decoder,
    s: &str,
    alternative: bool,
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let f: Vec<&str> = s.split(',').collect();
    let imei = imei_of(s).ok_or_else(|| bad("imei", s))?;
    let device = identify(dec, imei)?;
    let keyword = f.get(1).copied().unwrap_or_default();
    let (kind, records, ack) = if keyword == "vr" {
        // Photo chunks: trackgate stores no media; nothing is answered (as Traccar).
        ("photo chunk (not stored)", vec![], AckPlan::default())
    } else if keyword == "OBD" {
        ("obd", vec![obd(&device, &f, ctx)], AckPlan::default())
    } else if alternative {
        (
            "alternative",
            vec![alt(&device, &f, ctx)?],
            AckPlan::default(),
        )
    } else {
        let r = regular(&device, &f, ctx)?;
        let ack = if keyword == "help me" {
            AckPlan::ack(encode::sos_clear(imei))
        } else {
            AckPlan::default()
        };
        ("report", vec![r], ack)
    };
    Ok(Decoded {
        kind: kind.into(),
        identity: Some(device),
        records,
        ack,
    })
}

/// Keyword → alarm (Traccar's table; several Traccar kinds without a trackgate kind become
/// `General`, with the keyword kept in `io.event`).
fn alarm_of(keyword: &str) -> Option<Alarm> {
    if keyword.starts_with("T:") || keyword.starts_with("oil") {
        return Some(Alarm::General);
    }
    Some(match keyword {
        "help me" => Alarm::Sos,
        "low battery" => Alarm::LowBattery,
        "stockade" => Alarm::GeofenceExit,
        "move" => Alarm::Movement,
        "speed" => Alarm::Overspeed,
        "door alarm" => Alarm::Door,
        "ac alarm" => Alarm::PowerCut,
        "accident alarm" => Alarm::Collision,
        "sensor alarm" => Alarm::Vibration,
        "bonnet alarm" | "footbrake alarm" | "DTC" => Alarm::General,
        _ => return None,
    })
}

fn two(s: &[u8], i: usize) -> u32 {
    u32::from(s[i] - b'0') * 10 + u32::from(s[i + 1] - b'0')
}

/// The device-local `yyMMddHHmm[ss]` field (also `yy/MM/dd HH:mm`): date, hour, minute.
fn local_stamp(s: &str) -> Option<(NaiveDate, u32, u32)> {
    let d: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b'/' | b' ' | b':'))
        .collect();
    if !(d.len() == 10 || d.len() == 12) || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(2000 + two(&d, 0) as i32, two(&d, 2), two(&d, 4))?;
    let (h, m) = (two(&d, 6), two(&d, 8));
    (h < 24 && m < 60).then_some((date, h, m))
}

/// The UTC `hhmmss[.sss]` field.
fn utc_hms(s: &str) -> Option<(u32, u32, u32)> {
    let int = s.split('.').next()?.as_bytes();
    if int.len() != 6 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (h, m, sec) = (two(int, 0), two(int, 2), two(int, 4));
    (h < 24 && m < 60 && sec < 60).then_some((h, m, sec))
}

/// The fix time from the two clocks. The local field has the date (but only hh:mm), the UTC
/// field the exact time (but no date). The device's offset is local − UTC in minutes,
/// folded into (−12 h, +12 h]; the fix is local date + local hh:mm + UTC seconds − offset.
/// So 02:59 local on 27 Oct with 23:59:57 UTC is +3 h and gives 26 Oct 23:59:57 UTC: the
/// midnight rollover between the clocks comes out right. Without a usable local stamp the
/// UTC time is placed on the day nearest to `now`; without either, `now`.
pub(super) fn fix_time(local: &str, utc: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    match (local_stamp(local), utc_hms(utc)) {
        (Some((date, lh, lm)), Some((uh, um, us))) => {
            let mut delta = (lh as i64 - uh as i64) * 60 + (lm as i64 - um as i64);
            if delta <= -12 * 60 {
                delta += 24 * 60;
            } else if delta > 12 * 60 {
                delta -= 24 * 60;
            }
            let t = NaiveTime::from_hms_opt(lh, lm, us).unwrap_or_default();
            date.and_time(t).and_utc() - Duration::minutes(delta)
        }
        (Some((date, lh, lm)), None) => date
            .and_time(NaiveTime::from_hms_opt(lh, lm, 0).unwrap_or_default())
            .and_utc(),
        (None, Some((h, m, s))) => {
            let t = NaiveTime::from_hms_opt(h, m, s).unwrap_or_default();
            let c = now.date_naive().and_time(t).and_utc();
            if c - now > Duration::hours(12) {
                c - Duration::days(1)
            } else if now - c > Duration::hours(12) {
                c + Duration::days(1)
            } else {
                c
            }
        }
        (None, None) => now,
    }
}

/// `ddmm.mmmm` / `dddmm.mmmm`, signed by the hemisphere (empty hemisphere = positive, as
/// some firmwares leave it out).
fn coordinate(s: &str, hemi: &str) -> Result<f64, DecodeError> {
    let sign = match hemi {
        "N" | "E" | "" => 1.0,
        "S" | "W" => -1.0,
        _ => return Err(bad("hemisphere", hemi)),
    };
    let (ip, fp) = s.split_once('.').ok_or_else(|| bad("coordinate", s))?;
    if ip.len() < 3
        || !ip.bytes().all(|b| b.is_ascii_digit())
        || fp.is_empty()
        || !fp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("coordinate", s));
    }
    let (d, m) = ip.split_at(ip.len() - 2);
    let deg: f64 = d.parse().map_err(|_| bad("coordinate", s))?;
    let min: f64 = format!("{m}.{fp}")
        .parse()
        .map_err(|_| bad("coordinate", s))?;
    if min >= 60.0 || deg > 180.0 {
        return Err(bad("coordinate", s));
    }
    Ok(sign * (deg + min / 60.0))
}

fn opt_f64(f: &[&str], i: usize) -> Option<f64> {
    f.get(i)
        .map(|s| s.trim().trim_end_matches('%'))
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// `imei:…,keyword,local,rfid,F|L,…`: a fix (F) or a cell-only report (L, an event).
fn regular(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    let keyword = f.get(1).copied().unwrap_or_default();
    let local = f.get(2).copied().unwrap_or_default();
    let alarm = alarm_of(keyword);
    match f.get(4).copied() {
        Some("F") => {}
        Some("L") => {
            let kind = match alarm {
                Some(a) => EventKind::Alarm { alarm: a },
                None => EventKind::Info { name: "lbs".into() },
            };
            let mut e = DeviceEvent::new(device.clone(), NAME, ctx.now, kind);
            e.attributes
                .insert("event".into(), IoValue::Text(keyword.into()));
            for (i, k) in [(7, "lac"), (9, "cid")] {
                if let Some(v) = f.get(i).and_then(|s| i64::from_str_radix(s, 16).ok()) {
                    e.attributes.insert(k.into(), IoValue::Int(v));
                }
            }
            return Ok(Record::Event(e));
        }
        other => return Err(bad("fix flag (F/L)", other.unwrap_or_default())),
    }
    let utc = f.get(5).copied().unwrap_or_default();
    let valid = match f.get(6).copied() {
        Some("A") => true,
        Some("V") => false,
        other => return Err(bad("validity", other.unwrap_or_default())),
    };
    let field = |i: usize| f.get(i).copied().unwrap_or_default();
    // Hemisphere before the number on some firmwares: `N,5306.64155,E,00700.77848`.
    let (lat, lon) = if matches!(field(7), "N" | "S") {
        (
            coordinate(field(8), field(7))?,
            coordinate(field(10), field(9))?,
        )
    } else {
        (
            coordinate(field(7), field(8))?,
            coordinate(field(9), field(10))?,
        )
    };
    let mut p = Position::new(
        device.clone(),
        NAME,
        fix_time(local, utc, ctx.now),
        ctx.now,
        lat,
        lon,
        valid,
    );
    p.speed_kmh = opt_f64(f, 11).unwrap_or(0.0) * KNOT_KMH;
    p.course = opt_f64(f, 12).unwrap_or(0.0);
    p.altitude_m = opt_f64(f, 13).unwrap_or(0.0);
    match field(14) {
        "1" => p.ignition = Some(true),
        "0" => p.ignition = Some(false),
        _ => {}
    }
    match field(15) {
        "1" => {
            p.io.insert("door".into(), IoValue::Bool(true));
        }
        "0" => {
            p.io.insert("door".into(), IoValue::Bool(false));
        }
        _ => {}
    }
    for (i, k) in [(16, "fuel1"), (17, "fuel2")] {
        if let Some(v) = opt_f64(f, i) {
            p.io.insert(k.into(), IoValue::Float(v));
        }
    }
    if let Ok(t) = field(18).trim_start_matches('+').parse::<i64>() {
        p.io.insert("temp1".into(), IoValue::Int(t));
    }
    p.alarms.extend(alarm);
    match keyword {
        "acc on" => p.ignition = Some(true),
        "acc off" => p.ignition = Some(false),
        "rfid" => {
            p.io.insert("driver_id".into(), IoValue::Text(field(3).into()));
        }
        k if k.starts_with("T:") => {
            if let Ok(t) = k[2..].parse::<f64>() {
                p.io.insert("temp1".into(), IoValue::Float(t));
            }
        }
        k if k.starts_with("oil ") => {
            if let Ok(v) = k[4..].parse::<f64>() {
                p.io.insert("fuel_level".into(), IoValue::Float(v));
            }
        }
        _ => {}
    }
    if !keyword.is_empty() && keyword != "tracker" {
        p.io.insert("event".into(), IoValue::Text(keyword.into()));
    }
    Ok(Record::Position(p))
}

/// `imei:…,OBD,yyMMddHHmmss,odometer,fuel now,fuel avg,hours,speed,load%,coolant,throttle%,
/// rpm,battery,dtcs…`: engine data without a fix, kept as an `obd` event. Fields that do not
/// parse are left out rather than failing the sentence (the firmwares leave many empty).
fn obd(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Record {
    let field = |i: usize| f.get(i).copied().unwrap_or_default();
    let time = {
        let d = field(2).as_bytes();
        if d.len() == 12 && d.iter().all(u8::is_ascii_digit) {
            crate::protocol::wire::utc(
                2000 + two(d, 0) as i32,
                two(d, 2),
                two(d, 4),
                two(d, 6),
                two(d, 8),
                two(d, 10),
            )
            .unwrap_or(ctx.now)
        } else {
            ctx.now
        }
    };
    let mut e = DeviceEvent::new(
        device.clone(),
        NAME,
        time,
        EventKind::Info { name: "obd".into() },
    );
    let a = &mut e.attributes;
    for (i, k) in [(3, "odometer"), (6, "hours"), (7, "obd_speed"), (11, "rpm")] {
        if let Ok(v) = field(i).parse::<i64>() {
            a.insert(k.into(), IoValue::Int(v));
        }
    }
    if let Ok(v) = field(9).trim_start_matches('+').parse::<i64>() {
        a.insert("coolant_temp".into(), IoValue::Int(v));
    }
    for (i, k) in [(5, "fuel_consumption"), (12, "battery")] {
        if let Ok(v) = field(i).parse::<f64>() {
            a.insert(k.into(), IoValue::Float(v));
        }
    }
    for (i, k) in [(8, "engine_load"), (10, "throttle")] {
        if !field(i).is_empty() {
            a.insert(k.into(), IoValue::Text(field(i).into()));
        }
    }
    let dtcs = f.get(13..).unwrap_or_default().join(" ").trim().to_string();
    if !dtcs.is_empty() {
        a.insert("dtcs".into(), IoValue::Text(dtcs));
    }
    Record::Event(e)
}

/// The `*`-terminated alternative format: `imei:…,name,event,sensor id,sensor volts,hhmmss,
/// ddmmyy,rssi,gps status,lat,lon (decimal degrees),speed km/h,course,alt,hdop,sats,ign,
/// charge,error`.
fn alt(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    if f.len() < 19 {
        return Err(DecodeError::Invalid(format!(
            "gps103 alternative sentence has {} fields, needs 19",
            f.len()
        )));
    }
    let (t, d) = (f[5].as_bytes(), f[6].as_bytes());
    if t.len() != 6 || d.len() != 6 || !t.iter().chain(d).all(u8::is_ascii_digit) {
        return Err(bad("time/date", &format!("{},{}", f[5], f[6])));
    }
    let time = crate::protocol::wire::utc(
        2000 + two(d, 4) as i32,
        two(d, 2),
        two(d, 0),
        two(t, 0),
        two(t, 2),
        two(t, 4),
    )
    .ok_or_else(|| bad("time/date", f[5]))?;
    let num = |i: usize| f[i].parse::<f64>().map_err(|_| bad("number", f[i]));
    let (lat, lon) = (num(9)?, num(10)?);
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Err(bad("coordinates", &format!("{lat},{lon}")));
    }
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, num(8)? > 0.0);
    p.speed_kmh = num(11)?;
    p.course = num(12)?;
    p.altitude_m = num(13)?;
    p.satellites = f[15].parse().unwrap_or(0);
    p.ignition = Some(f[16] == "1");
    if let Ok(h) = f[14].parse::<f64>() {
        p.io.insert("hdop".into(), IoValue::Float(h));
    }
    if let Ok(r) = f[7].parse::<i64>() {
        p.io.insert("rssi".into(), IoValue::Int(r));
    }
    if !f[2].starts_with('-') {
        p.io.insert("event".into(), IoValue::Text(f[2].into()));
    }
    Ok(Record::Position(p))
}
