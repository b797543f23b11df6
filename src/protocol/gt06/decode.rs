//! GT06 frame decoding: envelope (header, CRC, serial), identity, and dispatch by protocol
//! number to one function per message family. GPS-bearing families are in `decode_gps.rs`,
//! cell/Wi-Fi-only families in `decode_lbs.rs`; here are login, heartbeats, time/address
//! requests, command replies (0x15/0x21) and information frames (0x94/0x9B/0x8C).

use super::super::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use super::crc16 as crc16_x25;
use super::{decode_ext, decode_gps, decode_lbs, encode, Gt06Decoder, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Record};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One frame, split into its envelope fields. `content` lies between PROTO and SERIAL of the
/// frame as cut (not as `LEN` claims), so no read can leave the frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct Msg<'a> {
    pub proto: u8,
    /// `79 79` frame (2-byte LEN).
    pub extended: bool,
    /// The LEN field as sent: the variant heuristics key on it.
    pub len_field: usize,
    pub content: &'a [u8],
    /// Everything after PROTO up to `0D 0A`: for the Wi-Fi frames (0x17/0x69) whose senders
    /// often omit SERIAL and CRC; their parser is sequential and ignores a trailer.
    pub body: &'a [u8],
    pub serial: u16,
}

impl Msg<'_> {
    /// The standard ACK for this frame.
    pub fn ack(&self) -> AckPlan {
        AckPlan::ack(encode::ack(self.proto, self.serial))
    }
}

/// Splits and checks the envelope: markers, minimum size, `0D 0A`, CRC-16/X-25.
pub(super) fn envelope(frame: &[u8], policy: ChecksumPolicy) -> Result<Msg<'_>, DecodeError> {
    let extended = match frame.get(..2) {
        Some([0x78, 0x78]) => false,
        Some([0x79, 0x79]) => true,
        _ => {
            return Err(DecodeError::Invalid(format!(
                "gt06 frame does not start with 7878/7979: {}",
                hex::encode(&frame[..frame.len().min(4)])
            )))
        }
    };
    let header = if extended { 4 } else { 3 };
    // header + PROTO + SERIAL + CRC + 0D 0A
    let min = header + 1 + 6;
    if frame.len() < min {
        return Err(DecodeError::Invalid(format!(
            "gt06 frame of {} bytes is shorter than the minimum {min}",
            frame.len()
        )));
    }
    let n = frame.len();
    if &frame[n - 2..] != b"\r\n" {
        return Err(DecodeError::Invalid(
            "gt06 frame does not end with 0D 0A".into(),
        ));
    }
    let expected = u16::from_be_bytes([frame[n - 4], frame[n - 3]]);
    let computed = crc16_x25(&frame[2..n - 4]);
    if expected != computed && policy == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let len_field = if extended {
        usize::from(u16::from_be_bytes([frame[2], frame[3]]))
    } else {
        usize::from(frame[2])
    };
    Ok(Msg {
        proto: frame[header],
        extended,
        len_field,
        content: &frame[header + 1..n - 6],
        body: &frame[header + 1..n - 2],
        serial: u16::from_be_bytes([frame[n - 6], frame[n - 5]]),
    })
}

/// What a family decoder produces; `decode_frame` adds identity.
pub(super) struct Out {
    pub kind: &'static str,
    pub records: Vec<Record>,
    pub ack: AckPlan,
}

impl Out {
    pub fn new(kind: &'static str, records: Vec<Record>, ack: AckPlan) -> Self {
        Out { kind, records, ack }
    }
}

/// Decodes one frame cut by the framer.
pub(super) fn decode_frame(
    dec: &mut Gt06Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let msg = envelope(frame, dec.checksum)?;
    if !msg.extended && msg.proto == 0x01 {
        return login(dec, &msg);
    }
    let Some(device) = dec.device.as_ref() else {
        return Err(DecodeError::NotIdentified {
            msg: format!("0x{:02x}", msg.proto),
        });
    };
    let out = if msg.extended {
        extended(device, &msg, ctx)?
    } else {
        standard(device, &msg, ctx)?
    };
    Ok(Decoded {
        kind: out.kind.into(),
        identity: None,
        records: out.records,
        ack: out.ack,
    })
}

fn standard(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let c = msg.content;
    Ok(match msg.proto {
        0x13 => heartbeat_13(device, msg, ctx),
        0x23 => Out::new("heartbeat 0x23", vec![], msg.ack()),
        0x8A => Out::new(
            "time request",
            vec![],
            AckPlan::ack(encode::time_reply(ctx.now)),
        ),
        0x2A => Out::new(
            "address request",
            vec![],
            AckPlan::ack(encode::address_reply()),
        ),
        0x15 => string_15(device, msg, ctx)?,
        0x94 => {
            // Short-form information frame: external power, centivolts (signed).
            let mut r = super::super::wire::Reader::new(c);
            let power = f64::from(r.i16("power")?) * 0.01;
            let mut e = event(
                device,
                ctx.now,
                EventKind::Info {
                    name: "power".into(),
                },
            );
            e.attributes.insert("power".into(), IoValue::Float(power));
            Out::new("info 0x94", vec![Record::Event(e)], AckPlan::default())
        }
        0x17 | 0x69 | 0xF3 => decode_lbs::wifi(device, msg, ctx)?,
        0x24 if msg.len_field == 0x2E => decode_gps::sr411(device, msg, ctx)?,
        0x24 if msg.len_field == 0x31 => decode_lbs::multi_cell(device, msg, true)?,
        0x28 | 0x2E | 0x24 | 0x18 | 0x2C | 0xA1 | 0xA2 | 0x33 => {
            decode_lbs::multi_cell(device, msg, false)?
        }
        0x19 if msg.len_field >= 0x17 => {
            // SPACE10X multi-cell report under the LBS-status number: nothing to store.
            Out::new("multi-lbs 0x19", vec![], msg.ack())
        }
        0x19 | 0xA5 | 0xA7 => decode_lbs::lbs_status(device, msg, ctx)?,
        0x34 => decode_gps::x1_gps(device, msg, ctx)?,
        0x95 => decode_gps::alarm_95(device, msg, ctx)?,
        p if decode_gps::layout(p).is_some() => decode_gps::gps_family(device, msg, ctx)?,
        // Server command echoes: never answered.
        0x80..=0x82 => Out::new("command echo", vec![], AckPlan::default()),
        // Photo-transfer announcement: trackgate does not fetch photos, so it neither asks
        // for the data nor acknowledges.
        0x35 => Out::new("photo info 0x35", vec![], AckPlan::default()),
        // Unknown standard frames are acknowledged (as Traccar does) so the device does not
        // reconnect, and stored nowhere.
        _ => Out::new("other", vec![], msg.ack()),
    })
}

fn extended(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    Ok(match msg.proto {
        0x21 => string_21(device, msg, ctx)?,
        0x94 => info_94(device, msg, ctx)?,
        0x9B => serial_9b(device, msg, ctx),
        0x8C => obd_8c(device, msg)?,
        0x32 | 0x33 => decode_ext::az735(device, msg, ctx)?,
        0x70 => decode_ext::modular(device, msg, ctx)?,
        0x41 => Out::new(
            "multimedia 0x41",
            vec![],
            AckPlan::ack(encode::ack_ext(msg.proto, msg.serial)),
        ),
        // Unknown extended frames get no answer (Traccar's rule).
        _ => Out::new("other extended", vec![], AckPlan::default()),
    })
}

/// Login 0x01: terminal id (8 BCD bytes, "0" + IMEI), type code, optional time-zone word.
fn login(dec: &mut Gt06Decoder, msg: &Msg) -> Result<Decoded, DecodeError> {
    let id = msg.content.get(..8).ok_or_else(|| {
        DecodeError::Invalid(format!(
            "gt06 login content is {} bytes, the terminal id needs 8",
            msg.content.len()
        ))
    })?;
    let digits = super::super::wire::bcd_digits(id).ok_or_else(|| {
        DecodeError::Invalid(format!(
            "gt06 login terminal id {} is not BCD",
            hex::encode(id)
        ))
    })?;
    // 16 digits; the first is padding. Traccar drops it too.
    let imei = DeviceId::new(&digits[1..])?;
    dec.device = Some(imei.clone());
    Ok(Decoded {
        kind: "login".into(),
        identity: Some(imei),
        records: vec![],
        ack: msg.ack(),
    })
}

/// Status 0x13: a heartbeat. No record (the shell tracks last-seen), except that a known
/// alarm code in its alarm byte becomes an alarm event, since that is the only report of it.
fn heartbeat_13(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Out {
    let alarm = if msg.content.len() == 5 {
        msg.content.get(3).copied().and_then(decode_gps::alarm_code)
    } else {
        None
    };
    let records = alarm
        .map(|a| {
            let mut e = event(device, ctx.now, EventKind::Alarm { alarm: a });
            if let Some(&info) = msg.content.first() {
                e.attributes
                    .insert("status".into(), IoValue::Int(info.into()));
            }
            vec![Record::Event(e)]
        })
        .unwrap_or_default();
    Out::new("heartbeat 0x13", records, msg.ack())
}

/// An event of `device` at `time`, with no attributes yet.
pub(super) fn event(device: &DeviceId, time: DateTime<Utc>, kind: EventKind) -> DeviceEvent {
    DeviceEvent::new(device.clone(), NAME, time, kind)
}

/// Printable-ASCII text of `b`, or `None` when it holds anything else.
fn ascii(b: &[u8]) -> Option<String> {
    b.iter()
        .all(|c| (0x20..0x7F).contains(c))
        .then(|| b.iter().map(|&c| c as char).collect())
}

/// Lossy ASCII: unprintable bytes become `?`, so a command reply is kept even if a clone
/// pads it oddly.
fn ascii_lossy(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7F).contains(&c) {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Command reply 0x15 (standard frame): length, server flag(4), ASCII text, [language 2].
fn string_15(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = super::super::wire::Reader::new(msg.content);
    let len = usize::from(r.u8("command length")?);
    if len < 4 {
        return Ok(Out::new("command reply 0x15", vec![], msg.ack()));
    }
    r.skip(4, "server flag")?;
    let text = r.bytes(len - 4, "command text")?;
    let text = ascii_lossy(text).trim_end_matches('\0').to_string();
    let mut attributes = BTreeMap::new();
    if let Some(iccid) = text.strip_prefix("<ICCID:") {
        let iccid: String = iccid.chars().take(20).collect();
        attributes.insert("iccid".into(), IoValue::Text(iccid));
    }
    let mut e = event(device, ctx.now, EventKind::CommandResult { text });
    e.attributes = attributes;
    Ok(Out::new(
        "command reply 0x15",
        vec![Record::Event(e)],
        msg.ack(),
    ))
}

/// Command reply 0x21 (extended frame): server flag(4), encoding (1 = ASCII, else
/// UTF-16BE), text. A "Current position!" reply carries a fix and becomes a position.
fn string_21(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = super::super::wire::Reader::new(msg.content);
    r.skip(4, "server flag")?;
    let encoding = r.u8("encoding")?;
    let raw = r.rest();
    let text = if encoding == 1 {
        ascii_lossy(raw)
    } else {
        let units = raw
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]));
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    if let Some(p) = decode_ext::text_position(device, &text, ctx) {
        return Ok(Out::new(
            "command reply 0x21 position",
            vec![Record::Position(p)],
            AckPlan::default(),
        ));
    }
    let e = event(device, ctx.now, EventKind::CommandResult { text });
    Ok(Out::new(
        "command reply 0x21",
        vec![Record::Event(e)],
        AckPlan::default(),
    ))
}

/// Information transfer 0x94 (extended): a sub-type byte, then sub-type-specific data.
/// Traccar sends no answer to these; neither do we.
fn info_94(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = super::super::wire::Reader::new(msg.content);
    let sub = r.u8("info sub-type")?;
    let mut attrs = BTreeMap::new();
    match sub {
        0x00 => {
            let v = f64::from(r.u16("external voltage")?) * 0.01;
            attrs.insert("adc1".into(), IoValue::Float(v));
        }
        0x05 => {
            let flags = r.u8("door status")?;
            attrs.insert("door".into(), IoValue::Bool(flags & 1 != 0));
            attrs.insert("io1".into(), IoValue::Bool(flags & 4 != 0));
        }
        0x0A => {
            r.skip(16, "imei and imsi")?;
            let iccid = hex::encode(r.bytes(10, "iccid")?).replace('f', "");
            attrs.insert("iccid".into(), IoValue::Text(iccid));
        }
        0x1B => {
            r.skip(2, "rfid header")?;
            let id = hex::encode(r.bytes(4, "rfid")?);
            attrs.insert("driver_id".into(), IoValue::Text(id));
        }
        _ => {
            let rest = r.rest();
            let v = match ascii(rest) {
                Some(t) if !t.is_empty() => IoValue::Text(t),
                _ => IoValue::Text(hex::encode(rest)),
            };
            attrs.insert("data".into(), v);
        }
    }
    let mut e = event(
        device,
        ctx.now,
        EventKind::Info {
            name: format!("info 0x{sub:02x}"),
        },
    );
    e.attributes = attrs;
    Ok(Out::new(
        "info 0x94",
        vec![Record::Event(e)],
        AckPlan::default(),
    ))
}

/// Serial pass-through 0x9B (extended): device type code, then the peripheral's bytes
/// (RFID reader, fuel sensor …) kept as text when printable (trailing CR LF dropped), else hex.
fn serial_9b(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Out {
    let data = msg.content.get(1..).unwrap_or_default();
    let trimmed = data.strip_suffix(b"\r\n").unwrap_or(data);
    let result = match ascii(trimmed) {
        Some(t) if !t.is_empty() => t,
        _ => hex::encode(data),
    };
    let mut e = event(
        device,
        ctx.now,
        EventKind::Info {
            name: "serial 0x9b".into(),
        },
    );
    e.attributes.insert("result".into(), IoValue::Text(result));
    Out::new("serial 0x9b", vec![Record::Event(e)], AckPlan::default())
}

/// OBD 0x8C (extended, FM08ABC): time(6), ignition(1), `key=value,…` ASCII, then 12 bytes
/// of trailer. Kept as an info event with the raw text and ignition.
fn obd_8c(device: &DeviceId, msg: &Msg) -> Result<Out, DecodeError> {
    let mut r = super::super::wire::Reader::new(msg.content);
    let time = decode_gps::read_time(&mut r)?;
    let ignition = r.u8("ignition")? > 0;
    let rest = r.rest();
    let text = rest
        .get(..rest.len().saturating_sub(12))
        .unwrap_or_default();
    let mut e = event(device, time, EventKind::Info { name: "obd".into() });
    e.attributes
        .insert("ignition".into(), IoValue::Bool(ignition));
    e.attributes
        .insert("obd".into(), IoValue::Text(ascii_lossy(text)));
    Ok(Out::new(
        "obd 0x8c",
        vec![Record::Event(e)],
        AckPlan::default(),
    ))
}
