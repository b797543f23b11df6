//! Watch frame decoding: header (maker, id, optional index, length), command dispatch,
//! position content and the replies.

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::{encode, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use chrono::NaiveDateTime;

/// The envelope of one frame.
struct Header<'a> {
    maker: &'a str,
    id: &'a str,
    index: Option<&'a str>,
    /// Bytes between the length field's `*` and the final `]`.
    content: &'a [u8],
}

fn invalid(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

fn is_hex4(s: &[u8]) -> bool {
    s.len() == 4 && s.iter().all(u8::is_ascii_hexdigit)
}

fn ascii<'a>(b: &'a [u8], what: &str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(b).map_err(|_| invalid(format!("watch {what} is not ASCII")))
}

fn header(frame: &[u8]) -> Result<Header<'_>, DecodeError> {
    let inner = frame
        .strip_prefix(b"[")
        .and_then(|f| f.strip_suffix(b"]"))
        .ok_or_else(|| invalid("watch frame is not [ … ]"))?;
    let mut it = inner.splitn(3, |&b| b == b'*');
    let maker = ascii(it.next().unwrap_or_default(), "maker")?;
    let id = ascii(
        it.next().ok_or_else(|| invalid("watch frame without id"))?,
        "id",
    )?;
    let rest = it
        .next()
        .ok_or_else(|| invalid("watch frame without length"))?;
    // Indexed variant: `<index 4 hex>*<len 4 hex>*content`.
    let (index, rest) = if rest.len() >= 10
        && is_hex4(&rest[..4])
        && rest[4] == b'*'
        && is_hex4(&rest[5..9])
        && rest[9] == b'*'
    {
        (Some(ascii(&rest[..4], "index")?), &rest[5..])
    } else {
        (None, rest)
    };
    if rest.len() < 5 || !is_hex4(&rest[..4]) || rest[4] != b'*' {
        return Err(invalid("watch frame without a 4-hex-digit length"));
    }
    if maker.len() != 2 {
        return Err(invalid(format!(
            "watch maker {maker:?} is not 2 characters"
        )));
    }
    Ok(Header {
        maker,
        id,
        index,
        content: &rest[5..],
    })
}

/// The alarm a terminal status word raises (the first set bit in the protocol's priority
/// order, as Traccar's `decodeAlarm`).
fn alarm(status: u32) -> Option<Alarm> {
    let bit = |n: u32| status & (1 << n) != 0;
    Some(if bit(0) {
        Alarm::LowBattery
    } else if bit(1) {
        Alarm::GeofenceExit
    } else if bit(2) {
        Alarm::GeofenceEnter
    } else if bit(14) {
        Alarm::PowerCut
    } else if bit(16) {
        Alarm::Sos
    } else if bit(17) {
        Alarm::LowBattery
    } else if bit(18) {
        Alarm::GeofenceExit
    } else if bit(19) {
        Alarm::GeofenceEnter
    } else if bit(20) {
        Alarm::Tamper
    } else if bit(21) || bit(22) {
        Alarm::FallDown
    } else {
        return None;
    })
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse().ok().filter(|v: &f64| v.is_finite())
}

/// `<ddMMyy>,<HHmmss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<speed km/h>,<course>,<alt>,<sats>,
/// <gsm>,<battery %>,<steps>,<rolls>,<status hex>,…cells/Wi-Fi…`
fn position(device: &DeviceId, args: &str, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let f: Vec<&str> = args.split(',').collect();
    if f.len() < 7 {
        return Err(invalid(format!(
            "watch position has {} fields, fewer than 7",
            f.len()
        )));
    }
    // Two-digit years are 20yy: these devices postdate 2000 (chrono's %y would read 70–99
    // as 19yy).
    let time = (f[0].len() == 6 && f[0].bytes().all(|c| c.is_ascii_digit()))
        .then(|| format!("{}20{}{}", &f[0][..4], &f[0][4..], f[1]))
        .and_then(|s| NaiveDateTime::parse_from_str(&s, "%d%m%Y%H%M%S").ok())
        .map(|n| n.and_utc())
        .ok_or_else(|| invalid(format!("watch date/time {:?} {:?}", f[0], f[1])))?;
    let coord = |v: &str, hem: &str, neg: &str, what: &str| -> Result<f64, DecodeError> {
        let x = num(v).ok_or_else(|| invalid(format!("watch {what} {v:?}")))?;
        Ok(if hem == neg { -x.abs() } else { x })
    };
    let lat = coord(f[3], f[4], "S", "latitude")?;
    let lon = coord(f[5], f[6], "W", "longitude")?;
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, f[2] == "A");
    let get = |i: usize| f.get(i).and_then(|s| num(s));
    p.speed_kmh = get(7).unwrap_or(0.0);
    p.course = get(8).unwrap_or(0.0);
    p.altitude_m = get(9).unwrap_or(0.0);
    p.satellites = get(10).map_or(0, |v| v.clamp(0.0, 255.0) as u8);
    if let Some(v) = get(11) {
        p.io.insert("rssi".into(), IoValue::Int(v as i64));
    }
    if let Some(v) = get(12) {
        p.io.insert("battery_level".into(), IoValue::Int(v as i64));
    }
    if let Some(v) = get(13) {
        p.io.insert("steps".into(), IoValue::Int(v as i64));
    }
    if let Some(s) = f
        .get(15)
        .and_then(|s| u32::from_str_radix(s.trim(), 16).ok())
    {
        p.io.insert("status".into(), IoValue::Int(s.into()));
        p.alarms.extend(alarm(s));
    }
    Ok(p)
}

/// A health reading (`heart`, `bphrt`, `oxygen`, `btemp2` …) as an event with attributes.
fn health(device: &DeviceId, cmd: &str, args: &str, ctx: &DecodeCtx) -> DeviceEvent {
    let v: Vec<&str> = args.split(',').collect();
    let mut e = DeviceEvent::new(
        device.clone(),
        NAME,
        ctx.now,
        EventKind::Info {
            name: cmd.to_ascii_lowercase(),
        },
    );
    let mut put = |k: &str, s: Option<&&str>| {
        if let Some(x) = s.and_then(|s| num(s)) {
            e.attributes.insert(k.into(), IoValue::Float(x));
        }
    };
    match cmd.to_ascii_lowercase().as_str() {
        "temp" => put("temp1", v.first()),
        "btemp2" if v.first().and_then(|s| num(s)).is_some_and(|x| x > 0.0) => {
            put("temp1", v.get(1))
        }
        "oxygen" => put("blood_oxygen", v.get(1)),
        "bphrt" | "blood" => {
            put("pressure_high", v.first());
            put("pressure_low", v.get(1));
            put("heart_rate", v.get(2));
        }
        "pulse" | "heart" => put("heart_rate", v.first()),
        _ => {}
    }
    e
}

/// Decodes one (unescaped) frame.
pub(super) fn decode_frame(frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let h = header(frame)?;
    let device = DeviceId::new(h.id)?;
    let comma = h
        .content
        .iter()
        .position(|&b| b == b',')
        .unwrap_or(h.content.len());
    let cmd = std::str::from_utf8(&h.content[..comma])
        .map_err(|_| invalid("watch command is not ASCII"))?;
    let args_raw = h.content.get(comma + 1..).unwrap_or_default();
    let reply = |c: &str| AckPlan::ack(encode::reply(h.maker, h.id, h.index, c));
    let mut records = vec![];
    let mut ack = AckPlan::default();
    let text = || {
        std::str::from_utf8(args_raw)
            .map_err(|_| invalid(format!("watch {cmd} arguments are not ASCII")))
    };
    match cmd {
        "LK" => ack = reply("LK"),
        "INIT" => ack = reply("INIT,1"),
        "TKQ" | "TKQ2" => ack = reply(cmd),
        _ if cmd.starts_with("UD") || cmd.starts_with("AL") || cmd.starts_with("WT") => {
            let mut p = position(&device, text()?, ctx)?;
            if cmd.starts_with("AL") {
                if p.alarms.is_empty() {
                    p.alarms.push(Alarm::General);
                }
                ack = reply("AL");
            }
            // UD2 is the blind-spot backfill: fixes stored while the watch had no network.
            p.historical = cmd == "UD2";
            records.push(Record::Position(p));
        }
        _ if !args_raw.is_empty()
            && [
                "pulse", "heart", "blood", "bphrt", "temp", "btemp2", "oxygen",
            ]
            .contains(&cmd.to_ascii_lowercase().as_str()) =>
        {
            records.push(Record::Event(health(&device, cmd, text()?, ctx)));
        }
        // Voice/image uploads and everything else: identified, not stored, not answered.
        _ => {}
    }
    Ok(Decoded {
        kind: cmd.to_string().into(),
        identity: Some(device),
        records,
        ack,
    })
}
