//! Meitrack envelope (`$$`, flag, length, IMEI, command, checksum) and the text position
//! report (`AAA` / `AFF`). Binary batches (`CCC` / `CCE`) are in `decode_bin.rs`.

use super::super::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use super::{decode_bin, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};

/// One frame split into its envelope fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Msg<'a> {
    pub flag: u8,
    pub imei: &'a str,
    pub cmd: &'a str,
    /// Bytes after `<cmd>,` up to (not including) `*XX`.
    pub data: &'a [u8],
}

/// Low byte of the sum of `bytes`: the Meitrack checksum (over `$$` … `*`).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b))
}

/// Splits and checks the envelope. Accepts a frame with or without its final `\r\n`.
pub(super) fn envelope(frame: &[u8], policy: ChecksumPolicy) -> Result<Msg<'_>, DecodeError> {
    let bad = |what: &str| DecodeError::Invalid(format!("meitrack frame: {what}"));
    let f = frame.strip_suffix(b"\r\n").unwrap_or(frame);
    if !f.starts_with(b"$$") || f.len() < 8 {
        return Err(bad("does not start with $$ or is too short"));
    }
    let star = f.len() - 3;
    if f[star] != b'*' {
        return Err(bad("does not end with *XX"));
    }
    let expected = std::str::from_utf8(&f[star + 1..])
        .ok()
        .and_then(|s| u8::from_str_radix(s, 16).ok())
        .ok_or_else(|| bad("checksum is not two hex digits"))?;
    let computed = checksum(&f[..=star]);
    if expected != computed && policy == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let body = &f[3..star];
    let mut parts = body.splitn(4, |&b| b == b',');
    let _len = parts.next();
    let imei = parts
        .next()
        .and_then(|s| std::str::from_utf8(s).ok())
        .ok_or_else(|| bad("no IMEI"))?;
    let cmd_raw = parts.next().ok_or_else(|| bad("no command"))?;
    let cmd = std::str::from_utf8(cmd_raw).map_err(|_| bad("command is not ASCII"))?;
    Ok(Msg {
        flag: f[2],
        imei,
        cmd,
        data: parts.next().unwrap_or_default(),
    })
}

/// Decodes one frame cut by the framer (or one UDP datagram).
pub(super) fn decode_frame(
    frame: &[u8],
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let msg = envelope(frame, policy)?;
    let device = DeviceId::new(msg.imei)?;
    let (kind, records, ack) = match msg.cmd {
        "AAA" | "AFF" => {
            let text = std::str::from_utf8(msg.data)
                .map_err(|_| DecodeError::Invalid("meitrack AAA data is not ASCII".into()))?;
            let p = aaa(&device, text, ctx)?;
            (
                msg.cmd.to_string(),
                vec![Record::Position(p)],
                AckPlan::default(),
            )
        }
        "CCC" => {
            let ps = decode_bin::ccc(&device, msg.data, ctx)?;
            let ack = AckPlan::ack(super::encode::ccc_ack(msg.flag, msg.imei, ps.len()));
            (
                "CCC".into(),
                ps.into_iter().map(Record::Position).collect(),
                ack,
            )
        }
        "CCE" => {
            let ps = decode_bin::cce(&device, msg.data, ctx)?;
            (
                "CCE".into(),
                ps.into_iter().map(Record::Position).collect(),
                AckPlan::default(),
            )
        }
        // Photo chunks: trackgate does not assemble photos.
        "D00" => ("photo".into(), vec![], AckPlan::default()),
        cmd => {
            // The device's answer to a server command (`D03,OK`, `D82,0` …).
            let data = String::from_utf8_lossy(msg.data);
            let text = if data.is_empty() {
                cmd.to_string()
            } else {
                format!("{cmd},{data}")
            };
            let e = DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::CommandResult { text },
            );
            (
                format!("reply {cmd}"),
                vec![Record::Event(e)],
                AckPlan::default(),
            )
        }
    };
    Ok(Decoded {
        kind: kind.into(),
        identity: Some(device),
        records,
        ack,
    })
}

/// The alarm an event code stands for (Meitrack GPRS protocol event table, as Traccar maps it).
pub(super) fn alarm(event: u32) -> Option<Alarm> {
    Some(match event {
        1 => Alarm::Sos,
        17 => Alarm::LowBattery,
        18 => Alarm::LowPower,
        19 => Alarm::Overspeed,
        20 => Alarm::GeofenceEnter,
        21 => Alarm::GeofenceExit,
        22 => Alarm::PowerOn,
        23 => Alarm::PowerCut,
        36 => Alarm::Tow,
        44 => Alarm::Jamming,
        78 => Alarm::Collision,
        90 | 91 => Alarm::HarshCornering,
        129 => Alarm::HarshBraking,
        130 => Alarm::HarshAcceleration,
        135 => Alarm::Fatigue,
        _ => return None,
    })
}

fn num<T: std::str::FromStr>(f: &[&str], i: usize, what: &str) -> Result<T, DecodeError> {
    let s = f.get(i).copied().unwrap_or("");
    s.trim()
        .parse()
        .map_err(|_| DecodeError::Invalid(format!("meitrack AAA field {i} ({what}): {s:?}")))
}

/// A voltage written either as decimal volts (`12.35`) or as hex centivolts (`0573`).
fn volts(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else if s.contains('.') {
        s.parse().ok()
    } else {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| f64::from(v) / 100.0)
    }
}

/// `AAA,<event>,<lat>,<lon>,<yyMMddHHmmss>,<A|V>,<sats>,<gsm>,<speed km/h>,<course>,<hdop>,
/// <alt>,<odometer m>,<runtime s>,<mcc|mnc|lac|cid>,<io hex>,<ad1|ad2|ad3|battery|power>,…`
/// (`AFF` puts one more number before the event).
fn aaa(device: &DeviceId, text: &str, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let mut f: Vec<&str> = text.split(',').collect();
    if f.len() > 2 && !f[1].contains('.') && f[2].contains('.') {
        f.remove(0);
    }
    if f.len() < 14 {
        return Err(DecodeError::Invalid(format!(
            "meitrack AAA has {} fields, fewer than 14",
            f.len()
        )));
    }
    let event: u32 = num(&f, 0, "event")?;
    let lat: f64 = num(&f, 1, "latitude")?;
    let lon: f64 = num(&f, 2, "longitude")?;
    let t = f[3];
    let time = (t.len() == 12 && t.bytes().all(|c| c.is_ascii_digit()))
        .then(|| {
            let n = |i: usize| t[i..i + 2].parse::<u32>().ok();
            super::super::wire::utc(
                2000 + i32::try_from(n(0)?).ok()?,
                n(2)?,
                n(4)?,
                n(6)?,
                n(8)?,
                n(10)?,
            )
        })
        .flatten()
        .ok_or_else(|| DecodeError::Invalid(format!("meitrack AAA time {t:?}")))?;
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, f[4] == "A");
    p.satellites = num::<u32>(&f, 5, "satellites")?.min(255) as u8;
    p.io.insert("rssi".into(), IoValue::Int(num(&f, 6, "gsm signal")?));
    p.speed_kmh = num(&f, 7, "speed")?;
    p.course = num(&f, 8, "course")?;
    if let Ok(h) = num::<f64>(&f, 9, "hdop") {
        p.io.insert("hdop".into(), IoValue::Float(h));
    }
    p.altitude_m = num(&f, 10, "altitude")?;
    p.odometer_m = Some(num(&f, 11, "odometer")?);
    p.io.insert("event".into(), IoValue::Int(i64::from(event)));
    if let Some(a) = alarm(event) {
        p.alarms.push(a);
    }
    if let Some(io) = f.get(14).filter(|s| s.len() == 4 && s.is_ascii()) {
        if let (Ok(i), Ok(o)) = (
            u8::from_str_radix(&io[..2], 16),
            u8::from_str_radix(&io[2..], 16),
        ) {
            p.io.insert("input".into(), IoValue::Int(i64::from(i)));
            p.io.insert("output".into(), IoValue::Int(i64::from(o)));
        }
    }
    if let Some(ad) = f.get(15) {
        let a: Vec<&str> = ad.split('|').collect();
        if a.len() >= 5 && a[0].contains('.') {
            // Decimal form: battery|power|rtc|mcu|gps volts.
            p.battery_v = volts(a[0]);
            p.power_v = volts(a[1]);
        } else if a.len() >= 5 {
            p.battery_v = volts(a[3]);
            p.power_v = volts(a[4]);
        }
    }
    Ok(p)
}
