//! Laipac sentence decoding: the checksum, then one function per sentence.

use super::{encode, LaipacDecoder, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire::{self, KNOT_KMH};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("laipac", field, value)
}

/// Decodes one sentence cut by the framer.
pub(super) fn decode(
    d: &mut LaipacDecoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let text = String::from_utf8_lossy(frame);
    let s = text.trim();
    let (body, cs) = checked(d.checksum, s)?;
    let f: Vec<&str> = body.split(',').collect();
    let id = || DeviceId::new(f.get(1).copied().unwrap_or_default());
    let out = match f[0] {
        "AVRMC" => avrmc(d, &f, cs, ctx)?,
        // Keep-alive: the device expects its sentence back.
        "ECHK" => Decoded {
            kind: "keep-alive".into(),
            identity: Some(id()?),
            records: vec![],
            ack: AckPlan::ack(Bytes::from(format!("{s}\r\n"))),
        },
        "AVSYS" => Decoded {
            kind: "system".into(),
            identity: Some(id()?),
            ..Decoded::default()
        },
        "EAVSYS" => eavsys(&f, id()?, ctx),
        other => return Err(bad("sentence", other)),
    };
    d.remember(&out);
    Ok(out)
}

/// `$<body>*hh` → (body, hh), the checksum (XOR of `body`) verified under `Verify`.
fn checked(policy: ChecksumPolicy, s: &str) -> Result<(&str, &str), DecodeError> {
    let rest = s
        .strip_prefix('$')
        .ok_or_else(|| bad("sentence start", s))?;
    let (body, cs) = rest.rsplit_once('*').ok_or_else(|| bad("checksum", s))?;
    let expected = (cs.len() == 2)
        .then(|| u8::from_str_radix(cs, 16).ok())
        .flatten()
        .ok_or_else(|| bad("checksum", cs))?;
    let computed = wire::xor(body.as_bytes());
    if policy == ChecksumPolicy::Verify && expected != computed {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    Ok((body, cs))
}

fn two(d: &[u8], i: usize) -> u32 {
    u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0')
}

fn six(s: &str) -> Result<&[u8], DecodeError> {
    let b = s.as_bytes();
    (b.len() == 6 && b.iter().all(u8::is_ascii_digit))
        .then_some(b)
        .ok_or_else(|| bad("date/time", s))
}

/// `ddmm.mmmm` / `dddmm.mmmm` signed by the hemisphere.
fn coordinate(value: &str, hemi: &str, max: f64) -> Result<f64, DecodeError> {
    parse_ddmm(value, hemi, max).ok_or_else(|| bad("coordinate", &format!("{value},{hemi}")))
}

fn number(field: &str, s: &str) -> Result<f64, DecodeError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(field, s))
}

/// Event code → alarm (the codes of the Laipac S911 protocol as Traccar maps them).
fn alarm(event: &str) -> Option<Alarm> {
    Some(match event {
        "Z" => Alarm::LowBattery,
        "Y" => Alarm::Tow,
        "X" => Alarm::GeofenceEnter,
        "T" => Alarm::Tamper,
        "H" => Alarm::PowerOff,
        "8" => Alarm::Vibration,
        "7" | "4" => Alarm::GeofenceExit,
        "6" => Alarm::Overspeed,
        "5" => Alarm::PowerCut,
        "3" => Alarm::Sos,
        _ => return None,
    })
}

/// `$AVRMC`: a fix, answered `$EAVACK` when its status letter is lower case, plus the
/// `$AVCFG` alarm answer for alarm events.
fn avrmc(d: &LaipacDecoder, f: &[&str], cs: &str, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    if f.len() < 17 {
        return Err(bad("AVRMC field count", &f.len().to_string()));
    }
    let device = DeviceId::new(f[1])?;
    let (t, date) = (six(f[2])?, six(f[10])?);
    let time = wire::utc(
        2000 + two(date, 4) as i32,
        two(date, 2),
        two(date, 0),
        two(t, 0),
        two(t, 2),
        two(t, 4),
    )
    .ok_or_else(|| bad("date/time", &format!("{},{}", f[10], f[2])))?;
    let status = f[3];
    let valid = match status {
        "A" | "a" | "R" | "r" | "P" | "p" => true,
        "V" | "v" => false,
        other => return Err(bad("status", other)),
    };
    let lat = coordinate(f[4], f[5], 90.0)?;
    let lon = coordinate(f[6], f[7], 180.0)?;
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, valid);
    p.speed_kmh = number("speed", f[8])? * KNOT_KMH;
    p.course = number("course", f[9])?;
    let event = f[11];
    p.alarms.extend(alarm(event));
    match event.as_bytes() {
        [c @ b'A'..=b'D'] => {
            let bits = c - b'A';
            p.io.insert("in1".into(), IoValue::Bool(bits & 1 != 0));
            p.io.insert("in2".into(), IoValue::Bool(bits & 2 != 0));
        }
        _ => {
            p.io.insert("event".into(), IoValue::Text(event.into()));
        }
    }
    // Battery: millivolts (`4076`) or volts (`3.727`).
    let battery = number("battery", f[12])?;
    p.battery_v = Some(if f[12].contains('.') {
        battery
    } else {
        battery / 1000.0
    });
    p.odometer_m = Some(number("mileage", f[13])? * 1000.0);
    p.io.insert("gps".into(), IoValue::Int(number("gps", f[14])? as i64));
    for (i, key) in [(15, "adc1"), (16, "adc2")] {
        p.io.insert(key.into(), IoValue::Float(number(key, f[i])? / 1000.0));
    }
    cell(&mut p, f.get(17).copied(), f.get(18).copied());
    let mut ack = String::new();
    if status.bytes().all(|b| b.is_ascii_lowercase()) {
        ack.push_str(&encode::eavack(event, cs));
    }
    if let Some(cfg) = encode::avcfg(event, &d.state.password) {
        ack.push_str(&cfg);
    }
    Ok(Decoded {
        kind: "avrmc".into(),
        identity: Some(device),
        records: vec![Record::Position(p)],
        ack: if ack.is_empty() {
            AckPlan::default()
        } else {
            AckPlan::ack(Bytes::from(ack))
        },
    })
}

/// `<lac 4 hex><cid 4 hex>,<mcc 3><mnc 3>` (`0,0` or absent: no network).
fn cell(p: &mut Position, lac_cid: Option<&str>, mcc_mnc: Option<&str>) {
    let (Some(lc), Some(mm)) = (lac_cid, mcc_mnc) else {
        return;
    };
    if lc.len() != 8 || mm.len() != 6 {
        return;
    }
    let (Ok(lac), Ok(cid)) = (
        i64::from_str_radix(&lc[..4], 16),
        i64::from_str_radix(&lc[4..], 16),
    ) else {
        return;
    };
    let (Ok(mcc), Ok(mnc)) = (mm[..3].parse::<i64>(), mm[3..].parse::<i64>()) else {
        return;
    };
    for (k, v) in [("lac", lac), ("cid", cid), ("mcc", mcc), ("mnc", mnc)] {
        p.io.insert(k.into(), IoValue::Int(v));
    }
}

/// `$EAVSYS,<id>,<iccid>,<phone>,<owner>,<firmware>`: a `system` event.
fn eavsys(f: &[&str], device: DeviceId, ctx: &DecodeCtx) -> Decoded {
    let mut e = DeviceEvent::new(
        device.clone(),
        NAME,
        ctx.now,
        EventKind::Info {
            name: "system".into(),
        },
    );
    for (i, key) in [(2, "iccid"), (3, "phone"), (5, "firmware")] {
        if let Some(v) = f.get(i).filter(|v| !v.is_empty()) {
            e.attributes
                .insert(key.into(), IoValue::Text(v.to_string()));
        }
    }
    Decoded {
        kind: "sim info".into(),
        identity: Some(device),
        records: vec![Record::Event(e)],
        ack: AckPlan::default(),
    }
}
