//! Megastek report decoding: the layout is recognised from the report's start (`$MGV`,
//! `STX,`/`LOGSTX,`, `STX` with a padded id), its checksum or length checked, then its
//! fields read. Megastek devices expect no answer.

use super::NAME;
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire::{self, KNOT_KMH};
use crate::protocol::{ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use chrono::{DateTime, Utc};

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("megastek", field, value)
}

/// Decodes one report cut by the framer (a trailing CR LF is tolerated).
pub(super) fn decode(
    frame: &[u8],
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let s = std::str::from_utf8(frame)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or_else(|| bad("report", &String::from_utf8_lossy(frame)))?
        .trim_end_matches(['\r', '\n']);
    if let Some(at) = s.find("$MGV") {
        mgv(s, at, ctx)
    } else if s.starts_with("cmd=") {
        // An assisted-GPS request (`cmd=aid;user=…;lat=…;lon=…`): no device id, nothing to
        // store, and trackgate serves no aiding data.
        Ok(Decoded {
            kind: "agps request".into(),
            ..Decoded::default()
        })
    } else if let Some(rest) = s.strip_prefix("STX,") {
        stx(s, rest, false, ctx, policy)
    } else if let Some(rest) = s.strip_prefix("LOGSTX,") {
        stx(s, rest, true, ctx, policy)
    } else if s.starts_with("STX") {
        padded_stx(s, ctx, policy)
    } else {
        Err(bad("report", s))
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number field that may be empty (`None`) but not malformed.
fn opt_float(field: &str, s: &str) -> Result<Option<f64>, DecodeError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| bad(field, s))
}

fn opt_int(s: &str) -> Option<i64> {
    digits(s.trim()).then(|| s.trim().parse().ok()).flatten()
}

fn opt_hex(s: &str) -> Option<i64> {
    let t = s.trim();
    (!t.is_empty() && t.len() <= 8 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| i64::from_str_radix(t, 16).ok())
        .flatten()
}

fn io(p: &mut Position, key: &str, v: IoValue) {
    p.io.insert(key.into(), v);
}

fn set_int(p: &mut Position, key: &str, s: Option<&&str>) {
    if let Some(v) = s.and_then(|s| opt_int(s)) {
        io(p, key, IoValue::Int(v));
    }
}

/// ddmmyy + hhmmss[.sss] → UTC.
fn time(date: &str, clock: &str) -> Result<DateTime<Utc>, DecodeError> {
    let clock = clock.split('.').next().unwrap_or_default();
    let both = format!("{date}{clock}");
    if both.len() != 12 || !digits(&both) {
        return Err(bad("date/time", &both));
    }
    let d = both.as_bytes();
    let two = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    wire::utc(
        2000 + two(4) as i32,
        two(2),
        two(0),
        two(6),
        two(8),
        two(10),
    )
    .ok_or_else(|| bad("date/time", &both))
}

/// The alert / alarm text → alarm (case-insensitive).
fn alarm(text: &str) -> Option<Alarm> {
    let t = text.trim().to_ascii_lowercase();
    if t.starts_with("geo") && t.ends_with("in") {
        return Some(Alarm::GeofenceEnter);
    }
    if t.starts_with("geo") && t.ends_with("out") {
        return Some(Alarm::GeofenceExit);
    }
    Some(match t.as_str() {
        "pw on" | "poweron" => Alarm::PowerOn,
        "poweroff" => Alarm::PowerOff,
        "sos" | "help" => Alarm::Sos,
        "over speed" | "overspeed" => Alarm::Overspeed,
        "low battery" | "lowbattery" => Alarm::LowBattery,
        "low extern voltage" | "low ext vol" => Alarm::LowPower,
        "gps cut" => Alarm::GnssFault,
        "vib" | "hit" => Alarm::Vibration,
        "move in" => Alarm::GeofenceEnter,
        "move out" => Alarm::GeofenceExit,
        "corner" => Alarm::HarshCornering,
        "fatigue" => Alarm::Fatigue,
        "psd" => Alarm::PowerCut,
        "psr" => Alarm::PowerOn,
        _ => return None,
    })
}

/// The RMC-style fix fields: time, validity, coordinates, knots, course, date. `None` when
/// the report carries no coordinates (no fix since power-on).
struct Rmc<'a> {
    time: &'a str,
    status: &'a str,
    lat: (&'a str, &'a str),
    lon: (&'a str, &'a str),
    knots: &'a str,
    course: &'a str,
    date: &'a str,
}

fn position(device: &DeviceId, r: &Rmc, ctx: &DecodeCtx) -> Result<Option<Position>, DecodeError> {
    if r.lat.0.is_empty() || r.lon.0.is_empty() {
        return Ok(None);
    }
    let t = time(r.date, r.time)?;
    let lat = parse_ddmm(r.lat.0, r.lat.1, 90.0).ok_or_else(|| bad("latitude", r.lat.0))?;
    let lon = parse_ddmm(r.lon.0, r.lon.1, 180.0).ok_or_else(|| bad("longitude", r.lon.0))?;
    let mut p = Position::new(device.clone(), NAME, t, ctx.now, lat, lon, r.status == "A");
    p.speed_kmh = opt_float("speed", r.knots)?.unwrap_or(0.0) * KNOT_KMH;
    p.course = opt_float("course", r.course)?.unwrap_or(0.0);
    Ok(Some(p))
}

/// A report without coordinates: its alarm as an event, nothing otherwise.
fn without_fix(device: DeviceId, alarm: Option<Alarm>, ctx: &DecodeCtx) -> Decoded {
    let records = alarm
        .map(|alarm| {
            Record::Event(DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::Alarm { alarm },
            ))
        })
        .into_iter()
        .collect();
    Decoded {
        kind: "no fix".into(),
        identity: Some(device),
        records,
        ack: Default::default(),
    }
}

fn report(device: DeviceId, kind: &'static str, p: Position) -> Decoded {
    Decoded {
        kind: kind.into(),
        identity: Some(device),
        records: vec![Record::Position(p)],
        ack: Default::default(),
    }
}

// ---------------------------------------------------------------- $MGV

/// `[<LLLL>]$MGV002,…;!` (see the module doc).
fn mgv(s: &str, at: usize, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    if at > 0 {
        let len = &s[..at];
        let declared = (at == 4 && digits(len))
            .then(|| len.parse::<usize>().ok())
            .flatten();
        if declared.map(|n| n + 4) != Some(s.len()) {
            return Err(DecodeError::Invalid(format!(
                "megastek: declared length {len:?} but the report has {} bytes after it",
                s.len() - at
            )));
        }
    }
    let body = s[at..].trim_end_matches('!');
    let f: Vec<&str> = body.split(',').collect();
    if f.len() < 14 || f[0].len() != 7 || !digits(&f[0][4..]) {
        return Err(bad("$MGV report", body));
    }
    if !digits(f[1]) {
        return Err(bad("imei", f[1]));
    }
    let device = DeviceId::new(f[1])?;
    let get = |i: usize| f.get(i).copied().unwrap_or_default();
    // Inputs onward. (A watch variant puts a heart rate before the inputs; it cannot be
    // told from the field count alone, so it is not decoded.)
    let k = 24;
    let alert = get(k + 10).split(';').next().unwrap_or_default();
    let rmc = Rmc {
        time: f[5],
        status: f[6],
        lat: (f[7], f[8]),
        lon: (f[9], f[10]),
        knots: get(15),
        course: get(16),
        date: f[4],
    };
    let Some(mut p) = position(&device, &rmc, ctx)? else {
        return Ok(without_fix(device, alarm(alert), ctx));
    };
    p.historical = f[3] == "S";
    p.satellites = opt_int(f[12]).map_or(0, |v| v.clamp(0, 255) as u8);
    if let Some(h) = opt_float("hdop", get(14))? {
        io(&mut p, "hdop", IoValue::Float(h));
    }
    p.altitude_m = opt_float("altitude", get(17))?.unwrap_or(0.0);
    if let Some(km) = opt_float("odometer", get(18))? {
        p.odometer_m = Some(km * 1000.0);
    }
    set_int(&mut p, "mcc", f.get(19));
    set_int(&mut p, "mnc", f.get(20));
    if let (Some(lac), Some(cid)) = (opt_hex(get(21)), opt_hex(get(22))) {
        io(&mut p, "lac", IoValue::Int(lac));
        io(&mut p, "cid", IoValue::Int(cid));
    }
    set_int(&mut p, "rssi", f.get(23));
    for (i, key) in [(k, "input"), (k + 1, "output")] {
        let v = get(i);
        let bits = !v.is_empty() && v.bytes().all(|b| b == b'0' || b == b'1');
        let value = if bits {
            i64::from_str_radix(v, 2).ok()
        } else {
            opt_int(v)
        };
        if let Some(value) = value {
            io(&mut p, key, IoValue::Int(value));
        }
    }
    for (i, key) in [(k + 2, "adc1"), (k + 3, "adc2"), (k + 4, "adc3")] {
        set_int(&mut p, key, f.get(i));
    }
    for (i, key) in [(k + 5, "temp1"), (k + 6, "temp2")] {
        if let Some(t) = opt_float("temperature", get(i))? {
            io(&mut p, key, IoValue::Float(t));
        }
    }
    if digits(get(k + 7)) {
        io(&mut p, "driver_id", IoValue::Text(get(k + 7).into()));
    }
    // `<charge 0|1><belt digit>…`: `10` charging, `02` belt state 2, `1-1` charging.
    let cb = get(k + 8).as_bytes();
    if let Some(c @ (b'0' | b'1')) = cb.first() {
        io(&mut p, "charge", IoValue::Bool(*c == b'1'));
        if let Some(b @ b'0'..=b'9') = cb.get(1) {
            io(&mut p, "belt", IoValue::Int(i64::from(b - b'0')));
        }
    }
    set_int(&mut p, "battery_level", f.get(k + 9));
    if !alert.is_empty() {
        io(&mut p, "event", IoValue::Text(alert.into()));
    }
    if let Some(a) = alarm(alert) {
        p.alarms.push(a);
    }
    Ok(report(device, "mgv", p))
}

// ---------------------------------------------------------------- STX

/// `;hh` at the end of a report: (index of `;`, hh).
fn trailing_checksum(s: &str) -> Option<(usize, u8)> {
    let semi = s.len().checked_sub(3)?;
    (s.as_bytes()[semi] == b';')
        .then(|| {
            let hh = &s[semi + 1..];
            hh.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u8::from_str_radix(hh, 16).ok())
                .flatten()
        })
        .flatten()
        .map(|cs| (semi, cs))
}

fn verify(policy: ChecksumPolicy, expected: u8, computed: u8) -> Result<(), DecodeError> {
    if policy == ChecksumPolicy::Verify && expected != computed {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    Ok(())
}

/// `$GPRMC,…[*hh]` at the start of `s` → (its fields, what follows the checksum and its
/// comma; empty without a `*`).
fn split_rmc(s: &str) -> Result<(Rmc<'_>, &str), DecodeError> {
    let body = s.strip_prefix("$GPRMC,").ok_or_else(|| bad("RMC", s))?;
    let (rmc, rest) = match body.find('*') {
        Some(star) => (&body[..star], body.get(star + 4..).unwrap_or_default()),
        None => (body, ""),
    };
    let r: Vec<&str> = rmc.split(',').collect();
    if r.len() < 9 {
        return Err(bad("RMC", rmc));
    }
    Ok((
        Rmc {
            time: r[0],
            status: r[1],
            lat: (r[2], r[3]),
            lon: (r[4], r[5]),
            knots: r[6],
            course: r[7],
            date: r[8],
        },
        rest,
    ))
}

/// `STX,<id>,$GPRMC,…*hh,<status>;<sum>`: the checksum is the sum of every byte up to and
/// including the `;`.
fn stx(
    s: &str,
    rest: &str,
    logged: bool,
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    if let Some((semi, cs)) = trailing_checksum(s) {
        let sum = s.as_bytes()[..=semi]
            .iter()
            .fold(0u8, |a, &b| a.wrapping_add(b));
        verify(policy, cs, sum)?;
    }
    let (id, location) = rest.split_once(',').ok_or_else(|| bad("report", s))?;
    let (rmc, status) = split_rmc(location)?;
    let status = status.split(';').next().unwrap_or_default();
    let st: Vec<&str> = status.split(',').collect();
    let imei = st
        .iter()
        .find_map(|f| f.strip_prefix("imei:"))
        .filter(|i| digits(i));
    let device = DeviceId::new(imei.unwrap_or(id))?;
    let alarm_text = st.get(1).copied().unwrap_or_default();
    let Some(mut p) = position(&device, &rmc, ctx)? else {
        return Ok(without_fix(device, alarm(alarm_text), ctx));
    };
    p.historical = logged;
    if let Some(a) = alarm(alarm_text) {
        p.alarms.push(a);
    }
    if imei.is_some() && st.len() >= 9 {
        // F|L, alarm, imei:, sats[/visible], altitude, Battery=n%, [empty,] charger, mcc,
        // mnc, lac, cid — read from the end, where the optional empty field cannot shift it.
        let (sat, visible) = st[3].split_once('/').unwrap_or((st[3], ""));
        p.satellites = opt_int(sat).map_or(0, |v| v.clamp(0, 255) as u8);
        if let Some(v) = opt_int(visible) {
            io(&mut p, "sat_visible", IoValue::Int(v));
        }
        p.altitude_m = opt_float("altitude", st[4])?.unwrap_or(0.0);
        if let Some(level) = st[5]
            .strip_prefix("Battery=")
            .and_then(|b| b.strip_suffix('%'))
            .and_then(opt_int)
        {
            io(&mut p, "battery_level", IoValue::Int(level));
        }
        let n = st.len();
        if let Some(c) = opt_int(st[n - 5]) {
            io(&mut p, "charge", IoValue::Bool(c == 1));
        }
        set_int(&mut p, "mcc", st.get(n - 4));
        set_int(&mut p, "mnc", st.get(n - 3));
        if let (Some(lac), Some(cid)) = (opt_hex(st[n - 2]), opt_hex(st[n - 1])) {
            io(&mut p, "lac", IoValue::Int(lac));
            io(&mut p, "cid", IoValue::Int(cid));
        }
    }
    Ok(report(device, "stx", p))
}

/// `STX<id padded to 16>…$GPRMC,…*hh,<mcc>,<mnc>,<lac>,<cid>,<rssi>,<battery %>,<flags>,
/// <inputs>,…,<alarm>;<xor>`: the checksum is the XOR of the bytes after `STX` up to the `;`.
fn padded_stx(s: &str, ctx: &DecodeCtx, policy: ChecksumPolicy) -> Result<Decoded, DecodeError> {
    if let Some((semi, cs)) = trailing_checksum(s) {
        verify(policy, cs, wire::xor(&s.as_bytes()[3..semi]))?;
    }
    let id = s
        .get(3..19)
        .ok_or_else(|| bad("report", s))?
        .trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let device = DeviceId::new(id)?;
    let at = s[19..].find("$GPRMC,").ok_or_else(|| bad("report", s))? + 19;
    let (rmc, status) = split_rmc(&s[at..])?;
    let status = status.split(';').next().unwrap_or_default();
    let st: Vec<&str> = status.split(',').collect();
    let alarm_text = if st.len() >= 10 { st[st.len() - 1] } else { "" };
    let Some(mut p) = position(&device, &rmc, ctx)? else {
        return Ok(without_fix(device, alarm(alarm_text), ctx));
    };
    if st.len() >= 10 {
        set_int(&mut p, "mcc", st.first());
        set_int(&mut p, "mnc", st.get(1));
        if let (Some(lac), Some(cid)) = (opt_hex(st[2]), opt_hex(st[3])) {
            io(&mut p, "lac", IoValue::Int(lac));
            io(&mut p, "cid", IoValue::Int(cid));
        }
        set_int(&mut p, "rssi", st.get(4));
        set_int(&mut p, "battery_level", st.get(5));
        set_int(&mut p, "flags", st.get(6));
        set_int(&mut p, "input", st.get(7));
        // Between the inputs and the alarm: adc1; outputs, adc1; adc1–3; outputs, adc1–3.
        let middle = &st[8..st.len() - 1];
        let (outputs, adcs): (Option<&&str>, &[&str]) = match middle.len() {
            1 | 3 => (None, middle),
            2 | 4 => (middle.first(), &middle[1..]),
            _ => (None, &[]),
        };
        set_int(&mut p, "output", outputs);
        for (i, a) in adcs.iter().enumerate() {
            if let Some(v) = opt_float("adc", a)? {
                io(&mut p, &format!("adc{}", i + 1), IoValue::Float(v));
            }
        }
        io(&mut p, "event", IoValue::Text(alarm_text.into()));
        if let Some(a) = alarm(alarm_text) {
            p.alarms.push(a);
        }
    }
    Ok(report(device, "stx", p))
}
