//! Header parsing, checksum, identity and the dispatch to one function per message family.
//! Also the small families (session messages, command results, driver identity ...).

use super::encode::{self, result, Terminal};
use super::{auth, location, location2, msg, transparent, Jt808Decoder, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{bcd_byte, bcd_digits, utc, xor, Reader, WireError};
use crate::protocol::{AckPlan, ChecksumPolicy, Credential, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Body-attribute bit 13: the message is split into packages.
const ATTR_PACKAGED: u16 = 1 << 13;
/// Body-attribute bit 14: 2019 header (protocol-version byte, 10-byte phone).
const ATTR_V2019: u16 = 1 << 14;
/// Body-attribute bit 15: in the 0x5501/0x5502 e-lock dialect, "reply with 0x4401".
const ATTR_WANTS_REPLY: u16 = 1 << 15;

/// The parsed message header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Message id (see [`super::msg`]).
    pub msg_id: u16,
    /// Raw body attributes (length, encryption, packaging, version flag).
    pub attr: u16,
    /// Protocol version, present in 2019 headers only.
    pub version: Option<u8>,
    /// Phone field as on the wire (6 or 10 bytes).
    pub phone: Vec<u8>,
    /// The terminal's serial number (one byte in the 0x5501/0x5502 dialect).
    pub serial: u16,
    /// `(total, index)` when sub-packaged.
    pub package: Option<(u16, u16)>,
}

impl Header {
    /// The terminal address replies must carry.
    pub fn terminal(&self) -> Terminal {
        Terminal {
            phone: self.phone.clone(),
            version: self.version,
        }
    }
}

/// Checks delimiters and XOR of an unescaped frame, parses its header, returns the body.
pub fn split(frame: &[u8], policy: ChecksumPolicy) -> Result<(Header, &[u8]), DecodeError> {
    // 7E + 12-byte header + XOR + 7E is the shortest frame.
    if frame.len() < 15 {
        return Err(WireError::Truncated {
            offset: 0,
            field: "frame",
            need: 15,
            have: frame.len(),
        }
        .into());
    }
    let (first, last) = (frame[0], frame[frame.len() - 1]);
    if first != super::frame::FLAG || last != super::frame::FLAG {
        return Err(DecodeError::Invalid(format!(
            "frame must start and end with 7e, has {first:02x} … {last:02x}"
        )));
    }
    let inner = &frame[1..frame.len() - 2];
    let expected = frame[frame.len() - 2];
    let computed = xor(inner);
    if expected != computed && policy == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let mut r = Reader::new(inner);
    let msg_id = r.u16("message id")?;
    let attr = r.u16("body attributes")?;
    let version = if attr & ATTR_V2019 != 0 {
        Some(r.u8("protocol version")?)
    } else {
        None
    };
    let phone = r
        .bytes(if version.is_some() { 10 } else { 6 }, "terminal phone")?
        .to_vec();
    let serial = if matches!(msg_id, msg::LOCATION_2 | msg::LOCATION_2_BLIND) {
        r.u8("serial")?.into()
    } else {
        r.u16("serial")?
    };
    let package = if attr & ATTR_PACKAGED != 0 {
        let total = r.u16("package total")?;
        let index = r.u16("package index")?;
        Some((total, index))
    } else {
        None
    };
    // The body is what is left, not the declared length: Traccar-captured frames exist whose
    // length field disagrees with their content (see protocol-docs/jt808.md).
    let body = r.rest();
    Ok((
        Header {
            msg_id,
            attr,
            version,
            phone,
            serial,
            package,
        },
        body,
    ))
}

/// The device id from the phone field: its BCD digits exactly as sent (leading zeros kept).
/// Some trackers put a binary IMEI there instead (not BCD); like Traccar we then read the
/// first 6 bytes as a 48-bit number and append its Luhn digit.
pub fn device_id(phone: &[u8]) -> Result<DeviceId, DecodeError> {
    if let Some(d) = bcd_digits(phone) {
        return Ok(DeviceId::new(d)?);
    }
    let mut n: u64 = 0;
    for b in phone.iter().take(6) {
        n = (n << 8) | u64::from(*b);
    }
    Ok(DeviceId::new(format!("{n}{}", luhn(n)))?)
}

/// Luhn check digit of `n`.
fn luhn(n: u64) -> u64 {
    let mut sum = 0;
    for (i, c) in n.to_string().bytes().rev().enumerate() {
        let mut d = u64::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

/// What each family needs to build records.
pub(super) struct Env<'a> {
    pub device: &'a DeviceId,
    pub now: DateTime<Utc>,
    pub tz: FixedOffset,
}

impl Env<'_> {
    /// A position with the required fields.
    pub fn position(&self, fix: DateTime<Utc>, lat: f64, lon: f64, valid: bool) -> Position {
        Position::new(self.device.clone(), NAME, fix, self.now, lat, lon, valid)
    }

    /// An event with attributes.
    pub fn event(
        &self,
        time: Option<DateTime<Utc>>,
        kind: EventKind,
        attributes: BTreeMap<String, IoValue>,
    ) -> Record {
        let mut e = DeviceEvent::new(self.device.clone(), NAME, time.unwrap_or(self.now), kind);
        e.attributes = attributes;
        Record::Event(e)
    }

    /// Reads BCD[6] YYMMDDhhmmss in the device zone; `None` when it is no real date (all
    /// zeros before the first fix, non-BCD nibbles).
    pub fn time(&self, r: &mut Reader) -> Result<Option<DateTime<Utc>>, WireError> {
        let b = r.array::<6>("time")?;
        let mut v = [0u32; 6];
        for (o, x) in v.iter_mut().zip(b) {
            match bcd_byte(x) {
                Some(d) => *o = d.into(),
                None => return Ok(None),
            }
        }
        let local = utc(2000 + v[0] as i32, v[1], v[2], v[3], v[4], v[5]);
        Ok(local.map(|t| t - Duration::seconds(self.tz.local_minus_utc().into())))
    }
}

/// How a message is answered.
enum Reply {
    /// 0x8001 {serial, id, 0}; refused: result 1.
    General,
    /// 0x8100 {serial, 0, auth code}; refused: result 4 (no such terminal); with
    /// `require_auth` the accepted answer comes from the session (see `Credential`).
    Register,
    /// 0x4401 when attribute bit 15 asks for it.
    General2,
    /// 0x8109 with the receive time.
    TimeSync,
    /// No answer.
    None,
}

/// Decodes one unescaped frame (see [`Jt808Decoder::decode_unescaped`]).
pub(super) fn decode_unescaped(
    d: &mut Jt808Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let (h, body) = split(frame, d.checksum)?;
    let device = device_id(&h.phone)?;
    d.device = Some(device.clone());
    let joined;
    let body: &[u8] = match h.package {
        None => body,
        Some((total, index)) => match d.state.reassembly.push(&h, total, index, body)? {
            Some(full) => {
                joined = full;
                &joined
            }
            None => {
                let ack = ack(d, &h, Reply::General, ctx)?;
                return Ok(Decoded {
                    kind: format!("package {index}/{total} of {:#06x}", h.msg_id).into(),
                    identity: Some(device),
                    records: Vec::new(),
                    ack,
                });
            }
        },
    };
    let env = Env {
        device: &device,
        now: ctx.now,
        tz: d.state.tz,
    };
    let (label, records, reply): (&str, Vec<Record>, Reply) = match h.msg_id {
        msg::REGISTER => ("register", Vec::new(), Reply::Register),
        msg::AUTH => {
            if d.state.require_auth {
                d.state.credential = Some(Credential::Authenticate {
                    code: Bytes::copy_from_slice(auth::auth_code(body, h.version.is_some())),
                });
            }
            ("auth", Vec::new(), Reply::General)
        }
        msg::HEARTBEAT => ("heartbeat", heartbeat(&env, body), Reply::General),
        msg::LOGOUT => ("logout", Vec::new(), Reply::General),
        msg::HEARTBEAT_2 | msg::PHOTO | msg::TIMEZONE_SYNC => {
            ("session", Vec::new(), Reply::General)
        }
        msg::LOCATION => (
            "location",
            one(location::report(&env, body)?),
            Reply::General,
        ),
        msg::LOCATION_QUERY_RESPONSE => {
            let b = body.get(2..).unwrap_or_default();
            (
                "location query response",
                one(location::report(&env, b)?),
                Reply::None,
            )
        }
        msg::LOCATION_BATCH_2 if body.len() == 7 => {
            ("battery", battery_report(&env, body)?, Reply::General)
        }
        msg::LOCATION_BATCH | msg::LOCATION_BATCH_2 => (
            "location batch",
            location::batch(&env, body, h.msg_id)?,
            Reply::General,
        ),
        msg::LOCATION_2 | msg::LOCATION_2_BLIND => {
            let reply = if h.attr & ATTR_WANTS_REPLY != 0 {
                Reply::General2
            } else {
                Reply::None
            };
            (
                "lock location",
                one(location2::report(&env, body, h.msg_id)?),
                reply,
            )
        }
        msg::TRANSPARENT => (
            "transparent",
            transparent::decode(&env, body)?,
            Reply::General,
        ),
        msg::COMMAND_RESULT => ("command result", command_result(&env, body)?, Reply::None),
        msg::TEXT_RESPONSE => ("text response", text_response(&env, body)?, Reply::None),
        msg::TEXT_REPORT => ("text report", text_report(&env, body)?, Reply::General),
        msg::DRIVER_IDENTITY => ("driver identity", driver_identity(&env, body)?, Reply::None),
        msg::ACCELERATION => ("acceleration", acceleration(&env, body)?, Reply::None),
        msg::TIME_SYNC => ("time sync", Vec::new(), Reply::TimeSync),
        msg::ATTRIBUTES => ("attributes", attributes(&env, body)?, Reply::General),
        msg::TERMINAL_RESPONSE => ("terminal response", Vec::new(), Reply::None),
        // The answer to a parameter query (0x8104): a response gets no response.
        msg::PARAMETERS => ("parameters response", Vec::new(), Reply::None),
        // Unknown ids still identify the terminal; the standard wants a general response so
        // the device does not retransmit.
        _ => ("unknown", Vec::new(), Reply::General),
    };
    let ack = ack(d, &h, reply, ctx)?;
    Ok(Decoded {
        kind: kind_label(label, h.msg_id),
        identity: Some(device),
        records,
        ack,
    })
}

/// `"<label> 0x<id>"`; the messages every terminal sends all day are static strings, so the
/// hot path does not allocate a label per frame.
pub(super) fn kind_label(label: &'static str, msg_id: u16) -> Cow<'static, str> {
    match (label, msg_id) {
        ("location", 0x0200) => Cow::Borrowed("location 0x0200"),
        ("heartbeat", 0x0002) => Cow::Borrowed("heartbeat 0x0002"),
        ("location batch", 0x0704) => Cow::Borrowed("location batch 0x0704"),
        _ => Cow::Owned(format!("{label} {msg_id:#06x}")),
    }
}

fn one(p: Position) -> Vec<Record> {
    vec![Record::Position(p)]
}

fn ack(
    d: &mut Jt808Decoder,
    h: &Header,
    reply: Reply,
    ctx: &DecodeCtx,
) -> Result<AckPlan, DecodeError> {
    let term = h.terminal();
    let bad = |e: encode::EncodeError| DecodeError::Invalid(e.to_string());
    Ok(match reply {
        Reply::None => AckPlan::default(),
        Reply::General => {
            let s = d.next_serial();
            AckPlan {
                accepted: Some(
                    encode::general_response(&term, s, h.serial, h.msg_id, result::OK)
                        .map_err(bad)?
                        .into(),
                ),
                refused: Some(
                    encode::general_response(&term, s, h.serial, h.msg_id, result::FAIL)
                        .map_err(bad)?
                        .into(),
                ),
            }
        }
        Reply::Register => {
            let s = d.next_serial();
            let accepted = if d.state.require_auth {
                // The code comes from the session's store: the accepted answer is built by
                // the credential's `reply` once the session knows it.
                d.state.credential = Some(auth::register_credential(term.clone(), s, h.serial));
                None
            } else {
                // `require_auth = false`: the trusting answer of older gateways, the device
                // id as the code (never checked).
                let code = device_id(&h.phone)?;
                Some(
                    encode::register_response(
                        &term,
                        s,
                        h.serial,
                        result::OK,
                        code.as_str().as_bytes(),
                    )
                    .map_err(bad)?
                    .into(),
                )
            };
            let refused = encode::register_response(
                &term,
                s,
                h.serial,
                result::REGISTER_NO_SUCH_TERMINAL,
                &[],
            )
            .map_err(bad)?;
            AckPlan {
                accepted,
                refused: Some(refused.into()),
            }
        }
        Reply::General2 => {
            let s = d.next_serial() as u8;
            AckPlan::ack(encode::general_response_2(&term, s, h.msg_id, result::OK).map_err(bad)?)
        }
        Reply::TimeSync => {
            let s = d.next_serial();
            AckPlan::ack(encode::time_sync_response(&term, s, ctx.now).map_err(bad)?)
        }
    })
}

/// Text frames `(id,1,001,TYPE,…)` of e-lock clones: `BASE,2` asks for the time (answered
/// with the frame, `TIME` replaced by UTC `yyyyMMddHHmmss`); anything else is a command result.
pub(super) fn text(
    d: &mut Jt808Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    let sentence = String::from_utf8_lossy(frame).into_owned();
    if sentence.contains("BASE,2") {
        let reply = sentence.replace("TIME", &ctx.now.format("%Y%m%d%H%M%S").to_string());
        return Ok(Decoded {
            kind: "text time request".into(),
            identity: None,
            records: Vec::new(),
            ack: AckPlan::ack(Bytes::from(reply.into_bytes())),
        });
    }
    let Some(device) = d.device.clone() else {
        return Err(DecodeError::NotIdentified {
            msg: "text result".into(),
        });
    };
    let env = Env {
        device: &device,
        now: ctx.now,
        tz: d.state.tz,
    };
    Ok(Decoded {
        kind: "text result".into(),
        identity: None,
        records: vec![env.event(
            None,
            EventKind::CommandResult { text: sentence },
            BTreeMap::new(),
        )],
        ack: AckPlan::default(),
    })
}

/// 0x0002: empty normally; some trackers append battery level, RSSI and a status byte.
fn heartbeat(env: &Env, body: &[u8]) -> Vec<Record> {
    match body {
        [battery, rssi, status, ..] => {
            let attrs = BTreeMap::from([
                ("battery_level".to_string(), IoValue::Int((*battery).into())),
                ("rssi".to_string(), IoValue::Int((*rssi).into())),
                ("status".to_string(), IoValue::Int((*status).into())),
            ]);
            vec![env.event(
                None,
                EventKind::Info {
                    name: "heartbeat".into(),
                },
                attrs,
            )]
        }
        _ => Vec::new(),
    }
}

/// 0x0210 with a 7-byte body: battery level + time.
fn battery_report(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let level = r.u8("battery level")?;
    let time = env.time(&mut r)?;
    let attrs = BTreeMap::from([("battery_level".to_string(), IoValue::Int(level.into()))]);
    Ok(vec![env.event(
        time,
        EventKind::Info {
            name: "battery".into(),
        },
        attrs,
    )])
}

/// 0x0701: result text, DWORD length + ASCII.
fn command_result(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let len = r.u32("result length")? as usize;
    let text = String::from_utf8_lossy(r.bytes(len.min(r.remaining()), "result")?).into_owned();
    Ok(vec![env.event(
        None,
        EventKind::CommandResult { text },
        BTreeMap::new(),
    )])
}

/// 0x1300: reply serial WORD + UTF-16BE text.
fn text_response(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    r.u16("reply serial")?;
    let units: Vec<u16> = r
        .rest()
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16_lossy(&units).trim().to_string();
    Ok(vec![env.event(
        None,
        EventKind::CommandResult { text },
        BTreeMap::new(),
    )])
}

/// 0x6006: encoding byte + GBK text.
fn text_report(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    r.u8("encoding")?;
    let text = gbk(r.rest());
    Ok(vec![env.event(
        None,
        EventKind::CommandResult { text },
        BTreeMap::new(),
    )])
}

/// GBK text (the standard's STRING type), NULs and padding trimmed.
pub(super) fn gbk(b: &[u8]) -> String {
    let (s, _, _) = encoding_rs::GBK.decode(b);
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// 0x0702 driver identity: card status, time, IC result, name, qualification code, agency,
/// validity.
fn driver_identity(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let mut a = BTreeMap::new();
    a.insert(
        "card_status".to_string(),
        IoValue::Int(r.u8("card status")?.into()),
    );
    let time = env.time(&mut r)?;
    a.insert(
        "card_result".to_string(),
        IoValue::Int(r.u8("card result")?.into()),
    );
    let n = r.u8("driver name length")?.into();
    a.insert(
        "driver".to_string(),
        IoValue::Text(gbk(r.bytes(n, "driver name")?)),
    );
    a.insert(
        "card_code".to_string(),
        IoValue::Text(gbk(r.bytes(20, "qualification code")?)),
    );
    let n = r.u8("agency length")?.into();
    a.insert(
        "card_agency".to_string(),
        IoValue::Text(gbk(r.bytes(n, "agency")?)),
    );
    a.insert(
        "card_validity".to_string(),
        IoValue::Text(hex::encode(r.bytes(4, "validity")?)),
    );
    Ok(vec![env.event(
        time,
        EventKind::Info {
            name: "driver_identity".into(),
        },
        a,
    )])
}

/// 0x2070: {time BCD[6], x, y, z sign-magnitude WORDs} samples, kept as a JSON-ish string.
fn acceleration(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    let mut samples = Vec::new();
    while r.remaining() >= 12 {
        r.skip(6, "sample time")?;
        let mut v = [0i32; 3];
        for x in v.iter_mut() {
            let w = r.u16("acceleration")?;
            let m = i32::from(w & 0x7fff);
            *x = if w & 0x8000 != 0 { -m } else { m };
        }
        samples.push(format!("[{},{},{}]", v[0], v[1], v[2]));
    }
    let a = BTreeMap::from([(
        "g_sensor".to_string(),
        IoValue::Text(format!("[{}]", samples.join(","))),
    )]);
    Ok(vec![env.event(
        None,
        EventKind::Info {
            name: "acceleration".into(),
        },
        a,
    )])
}

/// 0x0107 terminal attributes: type, maker, model, id, then the ICCID (BCD[10]).
fn attributes(env: &Env, body: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader::new(body);
    r.skip(2 + 5 + 20 + 7, "terminal type/maker/model/id")?;
    let iccid = hex::encode(r.bytes(10, "iccid")?);
    let a = BTreeMap::from([("iccid".to_string(), IoValue::Text(iccid))]);
    Ok(vec![env.event(
        None,
        EventKind::Info {
            name: "attributes".into(),
        },
        a,
    )])
}

/// Shared by families: a text attribute from ASCII bytes, trimmed of every control
/// character and space at both ends (vendors pad with NULs, CR LF or a stray length byte).
pub(super) fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_matches(|c: char| c <= ' ')
        .to_string()
}
