//! T55 sentence decoding: the id prefix, the NMEA checksum, then dispatch on the sentence
//! name to the id lines here and the fix parsers in `nmea`.

use super::nmea::{self, bad, NmeaFix};
use super::{encode, T55Decoder, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Record};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;

/// Decodes one sentence cut by the framer, or one UDP datagram (`udp`: never answered).
pub(super) fn decode(
    d: &mut T55Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
    udp: bool,
) -> Result<Decoded, DecodeError> {
    let text = String::from_utf8_lossy(frame);
    let (prefix, sentence) = split_prefix(text.trim());
    let prefixed = prefix.map(DeviceId::new).transpose()?;
    let (body, tail) = checksum(d.checksum, sentence)?;
    let f: Vec<&str> = body.split(',').collect();
    let name = f[0];
    let out = match name {
        "$GPRMC" | "$GNRMC" => rmc(d, &f, tail, prefixed, ctx, udp)?,
        "$GPGGA" | "$GNGGA" => fix(d, "gga", nmea::gga(&f, ctx.now)?, prefixed, ctx)?,
        "$GPGLL" | "$GNGLL" => fix(d, "gll", nmea::gll(&f, ctx.now)?, prefixed, ctx)?,
        "$GPRMA" => fix(d, "rma", nmea::rma(&f, ctx.now)?, prefixed, ctx)?,
        "$PUBX" => fix(d, "pubx", nmea::pubx(&f, ctx.now)?, prefixed, ctx)?,
        "$TRCCR" => fix(d, "trccr", nmea::trccr(&f)?, prefixed, ctx)?,
        "QZE" => {
            let id = DeviceId::new(f.get(1).copied().unwrap_or_default())?;
            fix(d, "qze", nmea::qze(&f)?, Some(id), ctx)?
        }
        "$GPTXT" if f.get(1) == Some(&"NET") => network(&f, ctx)?,
        "$GPFID" => {
            let id = DeviceId::new(f.get(1).copied().unwrap_or_default())?;
            match d.state.held.take() {
                Some(held) => fix(d, "rmc (held)", held, Some(id), ctx)?,
                None => id_line(id),
            }
        }
        "$PGID" | "$PSIWMDID" | "$DEVID" | "$PCPTI" | "$CONNECT" => {
            id_line(DeviceId::new(f.get(1).copied().unwrap_or_default())?)
        }
        _ => other_id_line(body)?,
    };
    d.remember(&out);
    Ok(out)
}

/// `<id>$…`, `<id>,$…` and `<n>/<id>/$…` → (id, sentence).
fn split_prefix(line: &str) -> (Option<&str>, &str) {
    let Some(at) = line.find('$').filter(|&i| i > 0) else {
        return (None, line);
    };
    let mut id = line[..at].trim().trim_end_matches(',');
    if let Some(inner) = id.strip_suffix('/') {
        id = inner.rsplit('/').next().unwrap_or(inner);
    }
    ((!id.is_empty()).then_some(id), &line[at..])
}

/// Splits `$…*hh[,tail]` into the body before `*` and the tail after the checksum field,
/// verifying the checksum (XOR of the bytes between `$` and `*`) when the field is hex.
fn checksum(policy: ChecksumPolicy, s: &str) -> Result<(&str, &str), DecodeError> {
    let Some(star) = s.find('*').filter(|_| s.starts_with('$')) else {
        return Ok((s, ""));
    };
    let after = &s[star + 1..];
    let (field, tail) = after.split_once(',').unwrap_or((after, ""));
    let field = field.trim();
    if (1..=2).contains(&field.len()) {
        if let Ok(expected) = u8::from_str_radix(field, 16) {
            let computed = crate::protocol::wire::xor(&s.as_bytes()[1..star]);
            if policy == ChecksumPolicy::Verify && expected != computed {
                return Err(DecodeError::Checksum {
                    expected: expected.into(),
                    computed: computed.into(),
                });
            }
        }
    }
    Ok((&s[..star], tail))
}

fn id_line(id: DeviceId) -> Decoded {
    Decoded {
        kind: "id".into(),
        identity: Some(id),
        records: vec![],
        ack: AckPlan::default(),
    }
}

/// `$IMEI=<id>`, `IMEI <id>` and a bare id of digits and capital hex letters.
fn other_id_line(s: &str) -> Result<Decoded, DecodeError> {
    let id = if let Some(id) = s.strip_prefix("$IMEI=") {
        id
    } else if let Some(id) = s.strip_prefix("IMEI ") {
        id
    } else if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        s
    } else {
        return Err(bad("sentence", s));
    };
    Ok(id_line(DeviceId::new(id.trim())?))
}

/// A fix for the device named in the sentence (`named`) or, failing that, the connection's.
fn fix(
    d: &T55Decoder,
    kind: &'static str,
    fix: NmeaFix,
    named: Option<DeviceId>,
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let device = named
        .clone()
        .or_else(|| d.device.clone())
        .ok_or_else(|| DecodeError::NotIdentified { msg: kind.into() })?;
    Ok(Decoded {
        kind: kind.into(),
        identity: named,
        records: vec![Record::Position(fix.position(device, ctx.now))],
        ack: AckPlan::default(),
    })
}

/// RMC: answered `OK1` over TCP with the `ack` option; held when no device is known yet.
fn rmc(
    d: &mut T55Decoder,
    f: &[&str],
    tail: &str,
    prefixed: Option<DeviceId>,
    ctx: &DecodeCtx,
    udp: bool,
) -> Result<Decoded, DecodeError> {
    let mut parsed = nmea::rmc(f)?;
    let tail: Vec<&str> = tail.split(',').collect();
    let named = match nmea::rmc_tail(&mut parsed, &tail) {
        Some(imei) => Some(DeviceId::new(imei)?),
        None => prefixed,
    };
    let mut out = if named.is_none() && d.device.is_none() {
        d.state.held = Some(parsed);
        Decoded {
            kind: "rmc (held until an id line)".into(),
            ..Decoded::default()
        }
    } else {
        fix(d, "rmc", parsed, named, ctx)?
    };
    if d.state.ack && !udp {
        out.ack = AckPlan::ack(Bytes::from_static(encode::RMC_ACK));
    }
    Ok(out)
}

/// `$GPTXT,NET,<id>,<operator>,<rssi>,<mcc> <mnc>`: a `network` event.
fn network(f: &[&str], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let id = DeviceId::new(f.get(2).copied().unwrap_or_default())?;
    let mut e = DeviceEvent::new(
        id.clone(),
        NAME,
        ctx.now,
        EventKind::Info {
            name: "network".into(),
        },
    );
    let a = &mut e.attributes;
    if let Some(op) = f.get(3) {
        a.insert("operator".into(), IoValue::Text(op.to_string()));
    }
    if let Some(rssi) = f.get(4).and_then(|s| s.trim().parse::<i64>().ok()) {
        a.insert("rssi".into(), IoValue::Int(rssi));
    }
    let mut cell = f.get(5).copied().unwrap_or_default().split_whitespace();
    for key in ["mcc", "mnc"] {
        if let Some(v) = cell.next().and_then(|s| s.parse::<i64>().ok()) {
            a.insert(key.into(), IoValue::Int(v));
        }
    }
    Ok(Decoded {
        kind: "network".into(),
        identity: Some(id),
        records: vec![Record::Event(e)],
        ack: AckPlan::default(),
    })
}
