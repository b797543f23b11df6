//! Queclink report decoding: envelope (`+RESP:` / `+BUFF:` / `+ACK:`), identity, and the
//! fixes inside a report.
//!
//! Layouts differ per report type, model and firmware (Traccar keeps ~40 regular expressions
//! for them). What they share is the fix block `hdop,speed,course,altitude,lon,lat,time`, with
//! decimal-degree coordinates and a 14-digit UTC time, repeated `<number>` times in GTFRI-like
//! reports. The decoder scans the fields for that shape, so one rule covers every layout that
//! carries a fix; what sits around a fix (cell, odometer, battery …) is model-specific and is
//! only read where its place is certain.

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::{encode, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use chrono::{DateTime, Utc};

/// Which envelope a report came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    /// `+RESP:` live report.
    Resp,
    /// `+BUFF:` report sent from the device buffer (backlog).
    Buff,
    /// `+ACK:` acknowledgement of a command, or the GTHBD heartbeat.
    Ack,
}

/// A decimal number with a fraction (`-78.691767`), as Queclink writes coordinates.
fn decimal(s: &str) -> Option<f64> {
    let t = s.strip_prefix('-').unwrap_or(s);
    let (a, b) = t.split_once('.')?;
    if a.is_empty() || b.is_empty() || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYYMMDDhhmmss` → UTC.
pub(super) fn time14(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 14 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    super::super::wire::utc(
        i32::try_from(n(0..4)?).ok()?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    )
}

/// A number field that may be empty.
fn opt_f64(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else {
        s.parse().ok().filter(|v: &f64| v.is_finite())
    }
}

/// One fix block found in a report: index of its `speed` field.
fn fix_at(f: &[&str], i: usize) -> bool {
    f.len() > i + 5
        && decimal(f[i + 3]).is_some_and(|v| (-180.0..=180.0).contains(&v))
        && decimal(f[i + 4]).is_some_and(|v| (-90.0..=90.0).contains(&v))
        && time14(f[i + 5]).is_some()
        && (f[i].is_empty() || opt_f64(f[i]).is_some())
}

/// Start indices (the `speed` field) of every fix block in `f`.
fn fixes(f: &[&str]) -> Vec<usize> {
    let mut out = vec![];
    let mut i = 1;
    while i + 5 < f.len() {
        if fix_at(f, i) {
            out.push(i);
            i += 6;
        } else {
            i += 1;
        }
    }
    out
}

/// The alarm a report type raises, and for GTHBM which harsh-behaviour kind.
fn alarm(report: &str, report_type: Option<&str>) -> Option<Alarm> {
    Some(match report {
        "GTSOS" => Alarm::Sos,
        "GTSPD" => Alarm::Overspeed,
        "GTPNA" => Alarm::PowerOn,
        "GTPFA" => Alarm::PowerOff,
        "GTMPF" => Alarm::PowerCut,
        "GTBPL" => Alarm::LowBattery,
        "GTTOW" => Alarm::Tow,
        "GTCRA" => Alarm::Collision,
        "GTJDS" | "GTJDR" => Alarm::Jamming,
        "GTHBM" => {
            // Report type: last digit 0/3 = harsh braking, 1/4 = harsh acceleration,
            // 2 = harsh cornering (@Track "+RESP:GTHBM", Traccar `Gl200TextProtocolDecoder`).
            let t = report_type?.bytes().last()?;
            match t {
                b'0' | b'3' => Alarm::HarshBraking,
                b'1' | b'4' => Alarm::HarshAcceleration,
                b'2' => Alarm::HarshCornering,
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `(version, imei index)`: most reports are `TYPE,<ver>,<imei>,…`; the oldest firmwares
/// (GL100-era `GTTRI`, `GTINF`) omit the version.
fn id_index(f: &[&str]) -> usize {
    let ver = f.get(1).copied().unwrap_or("");
    let is_ver = (ver.len() == 6 || ver.len() == 10) && ver.bytes().all(|c| c.is_ascii_hexdigit());
    if is_ver {
        2
    } else {
        1
    }
}

/// Decodes one report cut by the framer (or one UDP datagram).
pub(super) fn decode_frame(
    frame: &[u8],
    ctx: &DecodeCtx,
    ack_reports: bool,
) -> Result<Decoded, DecodeError> {
    let text = std::str::from_utf8(frame)
        .map_err(|e| DecodeError::Invalid(format!("gl200 report is not ASCII: {e}")))?;
    let text = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == '\0' || c == ' ');
    let text = text.strip_suffix('$').unwrap_or(text);
    let (env, body) = if let Some(b) = text.strip_prefix("+RESP:") {
        (Envelope::Resp, b)
    } else if let Some(b) = text.strip_prefix("+BUFF:") {
        (Envelope::Buff, b)
    } else if let Some(b) = text.strip_prefix("+ACK:") {
        (Envelope::Ack, b)
    } else {
        return Err(DecodeError::Invalid(format!(
            "gl200 report does not start with +RESP:/+BUFF:/+ACK: ({:?})",
            text.chars().take(8).collect::<String>()
        )));
    };
    let f: Vec<&str> = body.split(',').collect();
    let report = f[0];
    if !report.starts_with("GT") {
        return Err(DecodeError::Invalid(format!(
            "gl200 report type {report:?} is not GTxxx"
        )));
    }
    let idx = id_index(&f);
    let id = f.get(idx).copied().unwrap_or("");
    let device = DeviceId::new(id)?;
    let count = f.last().copied().unwrap_or("");
    let mut out = Decoded {
        kind: format!(
            "{}{report}",
            match env {
                Envelope::Resp => "",
                Envelope::Buff => "buffered ",
                Envelope::Ack => "ack ",
            }
        )
        .into(),
        identity: Some(device.clone()),
        records: vec![],
        ack: AckPlan::default(),
    };
    if env == Envelope::Ack {
        if report == "GTHBD" {
            let ver = if idx == 2 { f[1] } else { "" };
            out.kind = "heartbeat".into();
            out.ack = AckPlan::ack(encode::sack_heartbeat(ver, count));
        } else {
            let mut e = DeviceEvent::new(
                device,
                NAME,
                ctx.now,
                EventKind::CommandResult {
                    text: body.to_string(),
                },
            );
            if let Some(t) = f.len().checked_sub(2).and_then(|i| time14(f[i])) {
                e.time = t;
            }
            out.records.push(Record::Event(e));
        }
        return Ok(out);
    }
    if ack_reports {
        out.ack = AckPlan::ack(encode::sack(count));
    }
    let starts = fixes(&f);
    let ignition = match report {
        "GTIGN" => Some(true),
        "GTIGF" => Some(false),
        _ => None,
    };
    for &i in &starts {
        let report_type = i.checked_sub(3).map(|j| f[j]);
        let hdop = opt_f64(f[i - 1]);
        let (Some(lon), Some(lat), Some(time)) =
            (decimal(f[i + 3]), decimal(f[i + 4]), time14(f[i + 5]))
        else {
            continue;
        };
        let mut p = Position::new(
            device.clone(),
            NAME,
            time,
            ctx.now,
            lat,
            lon,
            hdop.is_none_or(|h| h > 0.0),
        );
        p.speed_kmh = opt_f64(f[i]).unwrap_or(0.0);
        p.course = opt_f64(f[i + 1]).unwrap_or(0.0);
        p.altitude_m = opt_f64(f[i + 2]).unwrap_or(0.0);
        p.historical = env == Envelope::Buff;
        p.ignition = ignition;
        if let Some(h) = hdop {
            p.io.insert("hdop".into(), IoValue::Float(h));
        }
        p.io.insert("report".into(), IoValue::Text(report.to_string()));
        if let Some(a) = alarm(report, report_type) {
            p.alarms.push(a);
        }
        out.records.push(Record::Position(p));
    }
    if out.records.is_empty() {
        // A report without a fix: keep what it says as an event (an alarm when it is one).
        let time = f
            .len()
            .checked_sub(2)
            .and_then(|i| time14(f[i]))
            .unwrap_or(ctx.now);
        let kind = match alarm(report, None) {
            Some(a) => EventKind::Alarm { alarm: a },
            None => EventKind::Info {
                name: report.to_ascii_lowercase(),
            },
        };
        let mut e = DeviceEvent::new(device, NAME, time, kind);
        if let Some(i) = ignition {
            e.attributes.insert("ignition".into(), IoValue::Bool(i));
        }
        if env == Envelope::Buff {
            e.attributes
                .insert("historical".into(), IoValue::Bool(true));
        }
        out.records.push(Record::Event(e));
    }
    Ok(out)
}
