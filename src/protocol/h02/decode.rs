//! H02 text frames (`*XX,<id>,<type>,…#`): dispatch by type, one function per family.
//! Binary frames are in `binary.rs`.

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::{binary, encode, H02Decoder, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use chrono::{DateTime, Duration, NaiveTime, Utc};

/// Knots → km/h, exact by definition.
pub(super) const KNOT_KMH: f64 = 1.852;

/// Decodes one frame cut by the framer (or one UDP datagram).
pub(super) fn decode_frame(
    dec: &mut H02Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    match frame.first() {
        Some(b'*') => text(dec, frame, ctx),
        Some(b'$') => binary::decode(dec, frame, ctx),
        // Traccar does not interpret `X` frames either; they are framed so the stream stays
        // in sync and are otherwise ignored (no reply exists).
        Some(b'X') => Ok(Decoded {
            kind: "X (not interpreted)".into(),
            ..Decoded::default()
        }),
        _ => Err(DecodeError::Invalid(format!(
            "h02 frame starts with {:?}, not *, $ or X",
            frame.first().map(|&b| b as char)
        ))),
    }
}

/// The device named by `id`, or the connection's device when the frame leaves it empty
/// (seen on clones: `*HQ,,V1,…`).
pub(super) fn identify(
    dec: &mut H02Decoder,
    id: &str,
    msg: &str,
) -> Result<(DeviceId, Option<DeviceId>), DecodeError> {
    if id.is_empty() {
        return match &dec.device {
            Some(d) => Ok((d.clone(), None)),
            None => Err(DecodeError::NotIdentified { msg: msg.into() }),
        };
    }
    let d = DeviceId::new(id)?;
    dec.device = Some(d.clone());
    Ok((d.clone(), Some(d)))
}

fn text(dec: &mut H02Decoder, frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let s = String::from_utf8_lossy(frame);
    let s = s.trim_end_matches(['\r', '\n']);
    let body = s
        .strip_prefix('*')
        .and_then(|b| b.strip_suffix('#'))
        .ok_or_else(|| DecodeError::Invalid("h02 text frame is not *…#".into()))?;
    let f: Vec<&str> = body.split(',').collect();
    let (Some(&maker), Some(&id), Some(&typ)) = (f.first(), f.get(1), f.get(2)) else {
        return Err(DecodeError::Invalid(format!(
            "h02 text frame has {} fields, needs maker, id and type",
            f.len()
        )));
    };
    if typ.is_empty() {
        return Err(DecodeError::Invalid("h02 text frame without a type".into()));
    }
    let (device, identity) = identify(dec, id, typ)?;
    let reply_id = device.as_str().to_string();
    let out = match typ {
        "V0" | "HTBT" => Out {
            kind: "heartbeat",
            records: vec![],
            // The echo: the sentence up to the type, closed with `#` (Traccar's reply).
            ack: AckPlan::ack(format!("*{maker},{id},{typ}#")),
        },
        "NBR" => Out {
            kind: "lbs NBR",
            records: vec![nbr(&device, &f, ctx)?],
            ack: AckPlan::ack(encode::v4_reply(&reply_id, "NBR", ctx.now)),
        },
        "LINK" => Out::silent("link", vec![link(&device, &f, ctx)?]),
        "V3" => Out::silent("lbs V3", vec![v3(&device, &f, ctx)?]),
        "VP1" => Out::silent("VP1", vec![vp1(&device, &f, ctx)?]),
        "SMS" => {
            // The text may contain commas: everything after the type.
            let text = body.splitn(4, ',').nth(3).unwrap_or_default().to_string();
            let mut e = DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::CommandResult { text: text.clone() },
            );
            e.attributes.insert("result".into(), IoValue::Text(text));
            Out::silent("sms", vec![Record::Event(e)])
        }
        "V4" => {
            let (p, result) = position(&device, &f, ctx, true)?;
            let mut p = p;
            p.io.insert("result".into(), IoValue::Text(result));
            Out {
                kind: "command reply V4",
                records: vec![Record::Position(p)],
                ack: r12(dec, &reply_id, ctx),
            }
        }
        t if t.starts_with('V') => {
            let (p, _) = position(&device, &f, ctx, false)?;
            let ack = if t == "V1" {
                AckPlan::ack(encode::v4_reply(&reply_id, "V1", ctx.now))
            } else {
                r12(dec, &reply_id, ctx)
            };
            Out {
                kind: "position",
                records: vec![Record::Position(p)],
                ack,
            }
        }
        // XT, BS, BASE and other service sentences: nothing to store, no reply known.
        _ => Out::silent("other (not interpreted)", vec![]),
    };
    Ok(Decoded {
        kind: if out.kind == "position" {
            format!("position {typ}").into()
        } else {
            out.kind.into()
        },
        identity,
        records: out.records,
        ack: out.ack,
    })
}

struct Out {
    kind: &'static str,
    records: Vec<Record>,
    ack: AckPlan,
}

impl Out {
    fn silent(kind: &'static str, records: Vec<Record>) -> Self {
        Out {
            kind,
            records,
            ack: AckPlan::default(),
        }
    }
}

fn r12(dec: &H02Decoder, id: &str, ctx: &DecodeCtx) -> AckPlan {
    if dec.state.ack_r12 {
        AckPlan::ack(encode::r12_reply(id, ctx.now))
    } else {
        AckPlan::default()
    }
}

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("h02", field, value)
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn two(s: &str, i: usize) -> u32 {
    s.as_bytes()
        .get(i..i + 2)
        .map(|d| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
        .unwrap_or(0)
}

/// `hhmmss` → time of day.
fn hms(s: &str) -> Result<NaiveTime, DecodeError> {
    if !is_digits(s, 6) {
        return Err(bad("time", s));
    }
    NaiveTime::from_hms_opt(two(s, 0), two(s, 2), two(s, 4)).ok_or_else(|| bad("time", s))
}

/// `ddmmyy` + `hhmmss` → UTC.
pub(super) fn dmy_hms(date: &str, time: &str) -> Result<DateTime<Utc>, DecodeError> {
    if !is_digits(date, 6) {
        return Err(bad("date", date));
    }
    let t = hms(time)?;
    let d = chrono::NaiveDate::from_ymd_opt(2000 + two(date, 4) as i32, two(date, 2), two(date, 0))
        .ok_or_else(|| bad("date", date))?;
    Ok(d.and_time(t).and_utc())
}

/// A time of day without a date, placed on the day that puts it nearest to `now` (within
/// ±12 h), so a fix taken at 23:59:58 and received at 00:00:03 keeps yesterday's date.
pub(super) fn nearest_day(t: NaiveTime, now: DateTime<Utc>) -> DateTime<Utc> {
    let candidate = now.date_naive().and_time(t).and_utc();
    let diff = candidate - now;
    if diff > Duration::hours(12) {
        candidate - Duration::days(1)
    } else if diff < -Duration::hours(12) {
        candidate + Duration::days(1)
    } else {
        candidate
    }
}

/// A latitude/longitude field in any of the H02 spellings, signed by `hemi`:
/// `ddmm.mmmm` (degree digits may be missing: `38.6508` = 0°38.6508′), `ddmmmmmm` without
/// the point (last four digits are decimals of minutes), and `-dd-m.mmmm`.
pub(super) fn coordinate(s: &str, hemi: &str) -> Result<f64, DecodeError> {
    let sign = match hemi {
        "N" | "E" => 1.0,
        "S" | "W" => -1.0,
        _ => return Err(bad("hemisphere", hemi)),
    };
    let t = s.trim();
    let (deg, min): (f64, f64) = if let Some(rest) = t.strip_prefix('-') {
        let (d, m) = rest.split_once('-').ok_or_else(|| bad("coordinate", s))?;
        (
            d.parse::<u32>().map_err(|_| bad("coordinate", s))?.into(),
            m.parse().map_err(|_| bad("coordinate", s))?,
        )
    } else {
        let (ip, fp) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            // Byte offsets: only for ASCII (a multi-byte character would split mid-char).
            None if t.len() >= 6 && t.is_ascii() => t.split_at(t.len() - 4),
            None => return Err(bad("coordinate", s)),
        };
        if ip.len() < 2
            || !ip.bytes().all(|b| b.is_ascii_digit())
            || fp.is_empty()
            || !fp.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("coordinate", s));
        }
        let (d, m) = ip.split_at(ip.len() - 2);
        let deg = if d.is_empty() {
            0
        } else {
            d.parse::<u32>().map_err(|_| bad("coordinate", s))?
        };
        let min: f64 = format!("{m}.{fp}")
            .parse()
            .map_err(|_| bad("coordinate", s))?;
        (deg.into(), min)
    };
    if min >= 60.0 || deg > 180.0 {
        return Err(bad("coordinate", s));
    }
    Ok(sign * (deg + min / 60.0))
}

/// Alarm and ignition from the 32-bit status word (active-low bits, Traccar's priority:
/// vibration, SOS (bit 1 or 18), overspeed, power cut; one alarm per frame).
pub(super) fn apply_status(p: &mut Position, status: u32) {
    let clear = |bit: u32| status & (1 << bit) == 0;
    let alarm = if clear(0) {
        Some(Alarm::Vibration)
    } else if clear(1) || clear(18) {
        Some(Alarm::Sos)
    } else if clear(2) {
        Some(Alarm::Overspeed)
    } else if clear(19) {
        Some(Alarm::PowerCut)
    } else {
        None
    };
    p.alarms.extend(alarm);
    p.ignition = Some(!clear(10));
    p.io.insert("status".into(), IoValue::Int(status.into()));
}

fn is_hex8(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A text position: finds the validity field (followed by lat, N/S, lon, E/W), reads time
/// before it and speed, course, [battery], date, status after it. With `response` (V4), the
/// fields between the type and the time are the command response, returned as text.
fn position(
    device: &DeviceId,
    f: &[&str],
    ctx: &DecodeCtx,
    response: bool,
) -> Result<(Position, String), DecodeError> {
    let v = (4..f.len())
        .find(|&i| {
            matches!(f.get(i + 2), Some(&("N" | "S"))) && matches!(f.get(i + 4), Some(&("E" | "W")))
        })
        .ok_or_else(|| {
            DecodeError::Invalid("h02 position without lat/N/S/lon/E/W fields".into())
        })?;
    let result = if response {
        f[3..v - 1].join(",")
    } else {
        String::new()
    };
    let validity = f[v];
    let valid = match validity {
        "A" => true,
        "V" | "B" | "" => false,
        // A digit here is the "coding scheme" of V2/VI1 frames, which Traccar reads as valid.
        s if s.bytes().all(|b| b.is_ascii_digit()) => true,
        s => return Err(bad("validity", s)),
    };
    let lat = coordinate(f[v + 1], f[v + 2])?;
    let lon = coordinate(f[v + 3], f[v + 4])?;
    let num = |i: usize, name: &str| -> Result<f64, DecodeError> {
        match f.get(i).map(|s| s.trim()) {
            None | Some("") => Ok(0.0),
            Some(s) => s.parse::<f64>().map_err(|_| bad(name, s)),
        }
    };
    let speed = num(v + 5, "speed")?;
    let course = num(v + 6, "course")?;
    let time = f[v - 1];
    // The date follows the course, or a battery field between them.
    let date_at = [v + 7, v + 8]
        .into_iter()
        .find(|&i| f.get(i).is_some_and(|s| is_digits(s, 6)));
    let fix_time = match (date_at, time.is_empty()) {
        (Some(d), false) => dmy_hms(f[d], time)?,
        (Some(d), true) => dmy_hms(f[d], "000000")?,
        (None, false) => nearest_day(hms(time)?, ctx.now),
        (None, true) => ctx.now,
    };
    let mut p = Position::new(device.clone(), NAME, fix_time, ctx.now, lat, lon, valid);
    p.speed_kmh = speed * KNOT_KMH;
    p.course = course;
    if let Some(d) = date_at {
        if d == v + 8 {
            if let Ok(b) = f[v + 7].parse::<i64>() {
                p.io.insert("battery".into(), IoValue::Int(b));
            }
        }
        // Status: right after the date, or after three SIM-information fields (V19).
        if let Some(s) = f.iter().skip(d + 1).take(4).find(|s| is_hex8(s)) {
            if let Ok(st) = u32::from_str_radix(s, 16) {
                apply_status(&mut p, st);
            }
        }
    }
    Ok((p, result))
}

fn event(device: &DeviceId, time: DateTime<Utc>, name: &str) -> DeviceEvent {
    DeviceEvent::new(
        device.clone(),
        NAME,
        time,
        EventKind::Info { name: name.into() },
    )
}

/// Time of a fix-less report: the device's date and time when they are a real instant, else
/// the receive time (some firmwares send seconds = 69; the report is still worth keeping).
fn event_time(date: &str, time: &str, ctx: &DecodeCtx) -> DateTime<Utc> {
    dmy_hms(date, time).unwrap_or(ctx.now)
}

fn field<'a>(f: &[&'a str], i: usize) -> &'a str {
    f.get(i).copied().unwrap_or_default()
}

fn num_field(f: &[&str], i: usize, name: &str) -> Result<i64, DecodeError> {
    let s = f.get(i).copied().unwrap_or_default();
    s.trim().parse().map_err(|_| bad(name, s))
}

/// `NBR,hhmmss,mcc,mnc,delay,count,{lac,cid,rssi}×count,ddmmyy,status`: cell report, no fix.
fn nbr(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    let count = usize::try_from(num_field(f, 7, "cell count")?).unwrap_or(0);
    let cells_end = 8 + count * 3;
    let cells = f
        .get(8..cells_end)
        .ok_or_else(|| bad("cell list", &count.to_string()))?;
    let date = f.get(cells_end).copied().unwrap_or_default();
    let mut e = event(device, event_time(date, field(f, 3), ctx), "lbs");
    e.attributes
        .insert("mcc".into(), IoValue::Int(num_field(f, 4, "mcc")?));
    e.attributes
        .insert("mnc".into(), IoValue::Int(num_field(f, 5, "mnc")?));
    let cells: Vec<String> = cells.chunks(3).map(|c| c.join(":")).collect();
    e.attributes
        .insert("cells".into(), IoValue::Text(cells.join(";")));
    if let Some(st) = f.get(cells_end + 1) {
        if let Ok(st) = u32::from_str_radix(st, 16) {
            e.attributes
                .insert("status".into(), IoValue::Int(st.into()));
        }
    }
    Ok(Record::Event(e))
}

/// `LINK,hhmmss,rssi,satellites,battery,steps,turnovers,ddmmyy,status`: link report.
fn link(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    let mut e = event(device, event_time(field(f, 9), field(f, 3), ctx), "link");
    for (i, k) in [
        (4, "rssi"),
        (5, "satellites"),
        (6, "battery_level"),
        (7, "steps"),
        (8, "turnovers"),
    ] {
        e.attributes
            .insert(k.into(), IoValue::Int(num_field(f, i, k)?));
    }
    Ok(Record::Event(e))
}

/// `V3,hhmmss,<mcc><mnc>,count,cells…,battery(hex),reboot,X,ddmmyy,status`: cell report.
fn v3(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    let n = f.len();
    if n < 11 || f[n - 3] != "X" {
        return Err(DecodeError::Invalid(
            "h02 V3 frame is not …,X,ddmmyy,status".into(),
        ));
    }
    let mut e = event(device, event_time(f[n - 2], f[3], ctx), "lbs");
    let mccmnc = f[4];
    if mccmnc.len() > 3 && mccmnc.is_char_boundary(3) {
        let (mcc, mnc) = mccmnc.split_at(3);
        if let (Ok(mcc), Ok(mnc)) = (mcc.parse::<i64>(), mnc.parse::<i64>()) {
            e.attributes.insert("mcc".into(), IoValue::Int(mcc));
            e.attributes.insert("mnc".into(), IoValue::Int(mnc));
        }
    }
    e.attributes
        .insert("cells".into(), IoValue::Text(f[6..n - 5].join(",")));
    if let Ok(b) = i64::from_str_radix(f[n - 5], 16) {
        e.attributes.insert("battery".into(), IoValue::Int(b));
    }
    Ok(Record::Event(e))
}

/// `VP1,V,mcc,mnc,cells` (no fix) or `VP1,A|B,lat,N,lon,E,speed,course,ddmmyy` (a fix whose
/// time is the date's midnight, the only time it carries).
fn vp1(device: &DeviceId, f: &[&str], ctx: &DecodeCtx) -> Result<Record, DecodeError> {
    match f.get(3).copied() {
        Some("A" | "B") if f.len() >= 12 => {
            let lat = coordinate(f[4], f[5])?;
            let lon = coordinate(f[6], f[7])?;
            let mut p = Position::new(
                device.clone(),
                NAME,
                dmy_hms(f[11], "000000")?,
                ctx.now,
                lat,
                lon,
                true,
            );
            p.speed_kmh = f[8].parse::<f64>().map_err(|_| bad("speed", f[8]))? * KNOT_KMH;
            p.course = f[9].parse::<f64>().map_err(|_| bad("course", f[9]))?;
            Ok(Record::Position(p))
        }
        _ => {
            let mut e = event(device, ctx.now, "lbs");
            e.attributes.insert(
                "cells".into(),
                IoValue::Text(f.get(4..).unwrap_or_default().join(",")),
            );
            Ok(Record::Event(e))
        }
    }
}
