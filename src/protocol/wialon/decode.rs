//! Wialon IPS packet decoding: split `[prefix]#type#message`, check the 2.0 CRC, then one
//! function per packet family (login, ping, data, black box, driver message).

use super::fields::{self, EXTENDED_FIELDS, SHORT_FIELDS};
use super::{encode, WialonDecoder};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Record};
use crate::protocol::{wire, AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;

fn invalid(what: String) -> DecodeError {
    DecodeError::Invalid(format!("wialon: {what}"))
}

/// Decodes one packet cut by the framer (or one UDP datagram).
pub(super) fn decode(
    d: &mut WialonDecoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let text = String::from_utf8_lossy(frame);
    let line = text.trim_end_matches(['\r', '\n']);
    let (prefix, rest) = line
        .split_once('#')
        .ok_or_else(|| invalid("no `#` packet type".into()))?;
    let (kind, data) = rest
        .split_once('#')
        .ok_or_else(|| invalid("no `#` after the packet type".into()))?;
    // UDP packets (and some TCP firmwares) name the device in front: `[2.0;]<imei>#…`.
    let prefixed = match prefix {
        "" => None,
        p => {
            let (version, id) = p.split_once(';').map_or((None, p), |(v, i)| (Some(v), i));
            if version.is_some() {
                d.state.v2 = true;
            }
            Some(DeviceId::new(id)?)
        }
    };
    let out = match kind {
        "L" => login(d, data)?,
        "P" => Decoded {
            kind: "ping".into(),
            identity: prefixed,
            records: vec![],
            ack: AckPlan::ack(Bytes::from_static(encode::PING_ACK)),
        },
        "SD" | "D" => data_packet(d, kind, data, prefixed, ctx)?,
        "B" => black_box(d, data, prefixed, ctx)?,
        "M" => driver_message(d, data, prefixed, ctx)?,
        "I" => return Err(invalid("image packets are not stored".into())),
        other => {
            return Err(invalid(format!(
                "unknown packet type {:?}",
                other.chars().take(8).collect::<String>()
            )))
        }
    };
    d.remember(&out);
    Ok(out)
}

/// Splits the 2.0 CRC off `body` at its last `sep` and checks it over everything before it
/// (the separator included); returns the body without it.
fn strip_crc(policy: ChecksumPolicy, body: &str, sep: char) -> Result<&str, DecodeError> {
    let at = body
        .rfind(sep)
        .ok_or_else(|| invalid("no CRC field".into()))?;
    let field = &body[at + 1..];
    let hex = field
        .strip_prefix("0x")
        .or_else(|| field.strip_prefix("0X"))
        .unwrap_or(field);
    if hex.is_empty() || hex.len() > 4 {
        return Err(invalid(format!("bad CRC field {field:?}")));
    }
    let expected =
        u16::from_str_radix(hex, 16).map_err(|_| invalid(format!("bad CRC {field:?}")))?;
    let computed = wire::crc16_arc(&body.as_bytes()[..=at]);
    if policy == ChecksumPolicy::Verify && expected != computed {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    Ok(&body[..at])
}

/// `#L#<imei>;<password>` (1.x) or `#L#<version>;<imei>;<password>;<crc>` (2.0). The
/// password is not checked: admission is `devices.allow` (refused → `#AL#0`).
fn login(d: &mut WialonDecoder, data: &str) -> Result<Decoded, DecodeError> {
    let first = data.split(';').next().unwrap_or_default();
    let imei = if first.contains('.') {
        let body = strip_crc(d.checksum, data, ';')?;
        let f: Vec<&str> = body.split(';').collect();
        if f.len() != 3 {
            return Err(invalid(format!(
                "2.0 login has {} fields, expected 4",
                f.len() + 1
            )));
        }
        d.state.v2 = true;
        f[1]
    } else {
        let f: Vec<&str> = data.split(';').collect();
        if f.len() > 2 {
            return Err(invalid(format!(
                "1.x login has {} fields, expected 2",
                f.len()
            )));
        }
        f[0]
    };
    Ok(Decoded {
        kind: "login".into(),
        identity: Some(DeviceId::new(imei)?),
        records: vec![],
        ack: AckPlan {
            accepted: Some(Bytes::from_static(encode::LOGIN_OK)),
            refused: Some(Bytes::from_static(encode::LOGIN_REFUSED)),
        },
    })
}

/// The device data packets are about: the one named in front, else the logged-in one.
fn device(
    d: &WialonDecoder,
    prefixed: &Option<DeviceId>,
    kind: &str,
) -> Result<DeviceId, DecodeError> {
    prefixed
        .clone()
        .or_else(|| d.device.clone())
        .ok_or_else(|| DecodeError::NotIdentified {
            msg: format!("#{kind}#"),
        })
}

/// `#SD#` (10 fields, 11 with the 2.0 CRC) and `#D#` (16, 17 with the CRC).
fn data_packet(
    d: &mut WialonDecoder,
    kind: &str,
    data: &str,
    prefixed: Option<DeviceId>,
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let device = device(d, &prefixed, kind)?;
    let (fields, ack) = if kind == "SD" {
        (SHORT_FIELDS, encode::SHORT_DATA_ACK)
    } else {
        (EXTENDED_FIELDS, encode::DATA_ACK)
    };
    let count = data.split(';').count();
    let body = if count == fields + 1 {
        strip_crc(d.checksum, data, ';')?
    } else {
        data
    };
    let f: Vec<&str> = body.split(';').collect();
    if f.len() != fields {
        return Err(invalid(format!(
            "#{kind}# has {count} fields, expected {fields} (or {} with a CRC)",
            fields + 1
        )));
    }
    let record = fields::record(&device, &f, false, ctx.now)?;
    Ok(Decoded {
        kind: if kind == "SD" { "short data" } else { "data" }.into(),
        identity: prefixed,
        records: vec![record],
        ack: AckPlan::ack(Bytes::from_static(ack)),
    })
}

/// `#B#msg|msg|…[|crc]`: stored backlog (historical). Messages that do not decode are
/// dropped; the answer counts the messages stored, as the spec asks, so the device knows.
fn black_box(
    d: &mut WialonDecoder,
    data: &str,
    prefixed: Option<DeviceId>,
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let device = device(d, &prefixed, "B")?;
    let last = data.rsplit('|').next().unwrap_or_default();
    let body = if data.contains('|') && !last.contains(';') {
        strip_crc(d.checksum, data, '|')?
    } else {
        data
    };
    let records: Vec<Record> = body
        .split('|')
        .filter(|m| !m.is_empty())
        .filter_map(|m| {
            let f: Vec<&str> = m.split(';').collect();
            fields::record(&device, &f, true, ctx.now).ok()
        })
        .collect();
    Ok(Decoded {
        kind: "black box".into(),
        identity: prefixed,
        ack: AckPlan::ack(encode::black_box_ack(records.len())),
        records,
    })
}

/// `#M#<text>[;crc]`: a text the driver typed, kept as a `driver_message` event.
fn driver_message(
    d: &mut WialonDecoder,
    data: &str,
    prefixed: Option<DeviceId>,
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let device = device(d, &prefixed, "M")?;
    let text = if d.state.v2 {
        strip_crc(d.checksum, data, ';')?
    } else {
        data
    };
    let mut e = DeviceEvent::new(
        device,
        super::NAME,
        ctx.now,
        EventKind::Info {
            name: "driver_message".into(),
        },
    );
    e.attributes
        .insert("text".into(), IoValue::Text(text.to_string()));
    Ok(Decoded {
        kind: "driver message".into(),
        identity: prefixed,
        records: vec![Record::Event(e)],
        ack: AckPlan::ack(Bytes::from_static(encode::MESSAGE_ACK)),
    })
}
