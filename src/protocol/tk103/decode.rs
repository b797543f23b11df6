//! TK103 frame decoding: id and command, replies, dispatch by command.

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::position::{self, Fix};
use super::{encode, Tk103Decoder, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use chrono::{DateTime, Utc};

/// Length of the device id in the fixed form.
const FIXED_ID_LEN: usize = 12;

fn bad(what: &str, value: &str) -> DecodeError {
    DecodeError::Invalid(format!("tk103: bad {what} {value:?}"))
}

/// `(id, cmd, rest, fixed_form)` of a frame body (without the parentheses).
fn split(s: &str) -> Result<(&str, &str, &str, bool), DecodeError> {
    let b = s.as_bytes();
    let upper2 =
        |i: usize| b.len() > i + 3 && b[i].is_ascii_uppercase() && b[i + 1].is_ascii_uppercase();
    if upper2(FIXED_ID_LEN)
        && s.is_char_boundary(FIXED_ID_LEN)
        && s.is_char_boundary(FIXED_ID_LEN + 4)
    {
        return Ok((&s[..12], &s[12..16], &s[16..], true));
    }
    if let Some(c) = s.find(',') {
        let cmd = s.get(c + 1..c + 5).ok_or_else(|| bad("command", s))?;
        if s.as_bytes().get(c + 5).is_none_or(|&x| x == b',') {
            let rest = s.get(c + 6..).unwrap_or_default();
            return Ok((&s[..c], cmd, rest, false));
        }
    }
    // An id of another length (11 digits seen): the command is the first two capitals.
    let i = (1..b.len().saturating_sub(3))
        .find(|&i| upper2(i))
        .ok_or_else(|| bad("frame (no command)", s))?;
    let cmd = s.get(i..i + 4).ok_or_else(|| bad("command", s))?;
    Ok((&s[..i], cmd, &s[i + 4..], true))
}

/// Decodes one frame cut by the framer (or one UDP datagram).
pub(super) fn decode_frame(
    dec: &mut Tk103Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let raw = String::from_utf8_lossy(frame);
    let t = raw.trim();
    let s = t.strip_prefix('(').unwrap_or(t);
    let s = s.strip_suffix(')').unwrap_or(s);
    let (id, cmd, rest, fixed) = split(s)?;
    let device = DeviceId::new(id)?;
    dec.device = Some(device.clone());
    let done = |kind: String, records: Vec<Record>, ack: AckPlan| Decoded {
        kind: kind.into(),
        identity: Some(device.clone()),
        records,
        ack,
    };
    // Traccar answers only the fixed form; the comma-form firmwares expect no reply.
    let reply = |f: fn(&str) -> bytes::Bytes| {
        if fixed {
            AckPlan::ack(f(id))
        } else {
            AckPlan::default()
        }
    };
    match cmd {
        "BP00" => {
            return Ok(done(
                "handshake".into(),
                vec![],
                reply(encode::handshake_reply),
            ))
        }
        "ZC20" => {
            return Ok(done(
                "battery".into(),
                vec![battery(&device, rest, ctx)],
                AckPlan::default(),
            ))
        }
        "BZ00" => {
            return Ok(done(
                "lbs".into(),
                vec![network(&device, rest, ctx)],
                AckPlan::default(),
            ))
        }
        "ZC03" => {
            return Ok(done(
                "command result".into(),
                vec![command_result(&device, s, rest, ctx)],
                AckPlan::default(),
            ))
        }
        "BV00" => {
            let mut e = event(&device, ctx.now, EventKind::Info { name: "vin".into() });
            e.attributes
                .insert("vin".into(), IoValue::Text(rest.trim().into()));
            return Ok(done(
                "vin".into(),
                vec![Record::Event(e)],
                AckPlan::default(),
            ));
        }
        c if c.starts_with("DW5") => {
            return Ok(done(
                "lbs/wifi".into(),
                vec![lbs_wifi(&device, cmd, rest, ctx)],
                AckPlan::default(),
            ))
        }
        _ => {}
    }
    let ack = if cmd == "BP05" {
        reply(encode::login_reply)
    } else {
        AckPlan::default()
    };
    match fix_of(rest, fixed) {
        Ok((fix, alarm_data)) => {
            let p = to_position(&device, cmd, alarm_data.as_deref(), fix, ctx);
            Ok(done(
                format!("position {cmd}"),
                vec![Record::Position(p)],
                ack,
            ))
        }
        // A login without a fix (cell list instead): answered, nothing stored.
        Err(_) if cmd == "BP05" => Ok(done("login".into(), vec![], ack)),
        Err(e) if cmd.starts_with("BR") || matches!(cmd, "BO01" | "BQ81" | "BP04") => Err(e),
        Err(_) if cmd.starts_with("ZC1") || cmd.starts_with("DW3") => Err(bad("position", rest)),
        // BS50/BS51 battery packs, BQ86 and other reports trackgate does not interpret.
        Err(_) => Ok(done(
            format!("{cmd} (not interpreted)"),
            vec![],
            AckPlan::default(),
        )),
    }
}

/// The fix and the command's data field (`BO01`'s alarm digit, `BQ81`'s alarm code).
fn fix_of(rest: &str, fixed: bool) -> Result<(Fix, Option<String>), DecodeError> {
    if !fixed {
        return Ok((position::comma(rest)?, None));
    }
    // `,ALARM,<code>,<n>,` before the date (BQ81).
    if let Some(a) = rest.strip_prefix(",ALARM,") {
        let (code, a) = a.split_once(',').ok_or_else(|| bad("alarm", rest))?;
        let (_, a) = a.split_once(',').ok_or_else(|| bad("alarm", rest))?;
        let date = a.get(..6).ok_or_else(|| bad("date", a))?;
        return Ok((position::packed(date, &a[6..], true)?, Some(code.into())));
    }
    let r = rest.strip_prefix(',').unwrap_or(rest);
    // Data digits (BP05's IMEI, BO01's alarm) run into the yymmdd date: the last 6 digits
    // before the validity letter are the date.
    let n = r.bytes().take_while(u8::is_ascii_digit).count();
    if n < 6 {
        return Err(bad("date", r));
    }
    let data = &r[..n - 6];
    Ok((
        position::packed(&r[n - 6..n], &r[n..], true)?,
        (!data.is_empty()).then(|| data.to_string()),
    ))
}

/// Alarm and ignition meaning of the command (Traccar's table).
fn command_meaning(cmd: &str, data: Option<&str>) -> (Option<Alarm>, Option<bool>) {
    let alarm = match cmd {
        "BQ81" => match data.and_then(|d| d.parse::<u8>().ok()) {
            Some(0) => Some(Alarm::LowBattery),
            Some(1) => Some(Alarm::Overspeed),
            Some(2) => Some(Alarm::Idle),
            Some(3) => Some(Alarm::HarshAcceleration),
            Some(4) => Some(Alarm::HarshBraking),
            Some(5) => Some(Alarm::General),
            _ => None,
        },
        "BO01" => match data.and_then(|d| d.bytes().next()) {
            Some(b'1') => Some(Alarm::Collision),
            Some(b'2') => Some(Alarm::Sos),
            Some(b'3') => Some(Alarm::Vibration),
            Some(b'4') => Some(Alarm::General),
            Some(b'5') => Some(Alarm::Overspeed),
            Some(b'6') => Some(Alarm::GeofenceExit),
            _ => None,
        },
        "ZC11" | "DW31" | "DW51" => Some(Alarm::Movement),
        "ZC12" | "DW32" | "DW52" => Some(Alarm::LowBattery),
        "ZC13" | "DW33" | "DW53" => Some(Alarm::PowerCut),
        "ZC17" | "DW37" | "DW57" | "ZC26" | "DW3F" | "DW5F" => Some(Alarm::Tamper),
        "ZC25" | "DW3E" | "DW5E" => Some(Alarm::Sos),
        "ZC27" | "DW40" | "DW60" => Some(Alarm::LowPower),
        _ => None,
    };
    let ignition = match cmd {
        "ZC15" | "DW35" | "DW55" | "ZC29" | "DW42" | "DW62" => Some(true),
        "ZC16" | "DW36" | "DW56" => Some(false),
        _ => None,
    };
    (alarm, ignition)
}

fn to_position(
    device: &DeviceId,
    cmd: &str,
    data: Option<&str>,
    fix: Fix,
    ctx: &DecodeCtx,
) -> Position {
    let mut p = Position::new(
        device.clone(),
        NAME,
        fix.time,
        ctx.now,
        fix.lat,
        fix.lon,
        fix.valid,
    );
    p.speed_kmh = fix.speed_kmh;
    p.course = fix.course;
    if let Some(st) = fix.status {
        p.ignition = Some(st.ignition);
        p.odometer_m = Some(st.odometer as f64);
        p.io.insert("charge".into(), IoValue::Bool(st.charge));
        p.io.insert("fuel".into(), IoValue::Int(st.fuel));
        p.io.insert("io".into(), IoValue::Text(st.io));
    }
    if let Some(t) = fix.temperature {
        p.io.insert("temp1".into(), IoValue::Float(t));
    }
    let (alarm, ignition) = command_meaning(cmd, data);
    p.alarms.extend(alarm);
    if ignition.is_some() {
        p.ignition = ignition;
    }
    p
}

fn event(device: &DeviceId, time: DateTime<Utc>, kind: EventKind) -> DeviceEvent {
    DeviceEvent::new(device.clone(), NAME, time, kind)
}

/// `ZC20,ddmmyy,hhmmss,level,battery cV,power dV,installed`: battery report.
fn battery(device: &DeviceId, rest: &str, ctx: &DecodeCtx) -> Record {
    let f: Vec<&str> = rest.split(',').collect();
    let time = match (f.first(), f.get(1)) {
        (Some(d), Some(t)) => position::datetime(d, t, false).unwrap_or(ctx.now),
        _ => ctx.now,
    };
    let mut e = event(
        device,
        time,
        EventKind::Info {
            name: "battery".into(),
        },
    );
    let num = |i: usize| f.get(i).and_then(|s| s.trim().parse::<i64>().ok());
    let level = match num(2) {
        Some(6) => Some(100),
        Some(5) => Some(80),
        Some(4) => Some(50),
        Some(3) => Some(20),
        Some(2) => Some(10),
        _ => None,
    };
    if let Some(l) = level {
        e.attributes.insert("battery_level".into(), IoValue::Int(l));
    }
    if let Some(v) = num(3).filter(|&v| v != 65535) {
        e.attributes
            .insert("battery".into(), IoValue::Float(v as f64 * 0.01));
    }
    if let Some(v) = num(4).filter(|&v| v != 65535) {
        e.attributes
            .insert("power".into(), IoValue::Float(v as f64 * 0.1));
    }
    Record::Event(e)
}

/// `BZ00,mcc,mnc,lac,cid,…` (hex lac/cid) or `BZ00,{mcc,mnc,lac,cid}\n…`: serving cells.
fn network(device: &DeviceId, rest: &str, ctx: &DecodeCtx) -> Record {
    let mut e = event(device, ctx.now, EventKind::Info { name: "lbs".into() });
    let body = rest.trim_start_matches(',');
    let f: Vec<&str> = body.split(',').collect();
    if let (Some(mcc), Some(mnc), Some(lac), Some(cid)) = (
        f.first().and_then(|s| s.parse::<i64>().ok()),
        f.get(1).and_then(|s| s.parse::<i64>().ok()),
        f.get(2).and_then(|s| i64::from_str_radix(s, 16).ok()),
        f.get(3).and_then(|s| i64::from_str_radix(s, 16).ok()),
    ) {
        for (k, v) in [("mcc", mcc), ("mnc", mnc), ("lac", lac), ("cid", cid)] {
            e.attributes.insert(k.into(), IoValue::Int(v));
        }
    }
    e.attributes
        .insert("cells".into(), IoValue::Text(body.replace('\n', ";")));
    Record::Event(e)
}

/// `ZC03,ddmmyy,hhmmss,$text$`: a command result; the text is what lies between the `$`s.
fn command_result(device: &DeviceId, whole: &str, rest: &str, ctx: &DecodeCtx) -> Record {
    let f: Vec<&str> = rest.splitn(3, ',').collect();
    let time = match (f.first(), f.get(1)) {
        (Some(d), Some(t)) => position::datetime(d, t, false).unwrap_or(ctx.now),
        _ => ctx.now,
    };
    let text = match (whole.find('$'), whole.rfind('$')) {
        (Some(a), Some(b)) if b > a => &whole[a + 1..b],
        (Some(a), _) => &whole[a + 1..],
        _ => f.get(2).copied().unwrap_or_default(),
    };
    let mut e = event(device, time, EventKind::CommandResult { text: text.into() });
    e.attributes
        .insert("result".into(), IoValue::Text(text.into()));
    Record::Event(e)
}

/// `DW5x,mcc,mnc,lac,cid,n,<mac*rssi*ch>×n,ddmmyy,hhmmss`: cell + Wi-Fi report, no fix.
fn lbs_wifi(device: &DeviceId, cmd: &str, rest: &str, ctx: &DecodeCtx) -> Record {
    let f: Vec<&str> = rest.split(',').collect();
    let n = f.len();
    let time = if n >= 2 {
        position::datetime(f[n - 2], f[n - 1], false).unwrap_or(ctx.now)
    } else {
        ctx.now
    };
    let kind = match command_meaning(cmd, None).0 {
        Some(alarm) => EventKind::Alarm { alarm },
        None => EventKind::Info { name: "lbs".into() },
    };
    let mut e = event(device, time, kind);
    for (i, k) in [(0, "mcc"), (1, "mnc"), (2, "lac"), (3, "cid")] {
        if let Some(v) = f.get(i).and_then(|s| s.parse::<i64>().ok()) {
            e.attributes.insert(k.into(), IoValue::Int(v));
        }
    }
    if n > 7 {
        e.attributes
            .insert("wifi".into(), IoValue::Text(f[5..n - 2].join(",")));
    }
    Record::Event(e)
}
