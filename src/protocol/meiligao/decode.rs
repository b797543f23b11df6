//! Frame → records + ACK plan, one function per command family.

use super::frame::{HEADER_LEN, TRAILER_LEN};
use super::{encode, sentence, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Record};
use crate::protocol::wire::Reader;
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};

/// Command codes (device → server, and the server's answers).
pub mod cmd {
    pub const HEARTBEAT: u16 = 0x0001;
    pub const LOGIN: u16 = 0x5000;
    pub const LOGIN_RESPONSE: u16 = 0x4000;
    pub const POSITION: u16 = 0x9955;
    pub const POSITION_LOGGED: u16 = 0x9016;
    pub const ALARM: u16 = 0x9999;
    pub const RFID: u16 = 0x9966;
    pub const RETRANSMISSION: u16 = 0x6688;
    pub const OBD_RT: u16 = 0x9901;
    pub const OBD_RTA: u16 = 0x9902;
    pub const UPLOAD_PHOTO: u16 = 0x0800;
    pub const UPLOAD_PHOTO_RESPONSE: u16 = 0x8801;
    pub const DATA_PHOTO: u16 = 0x9988;
    pub const POSITION_IMAGE: u16 = 0x9977;
    pub const UPLOAD_COMPLETE: u16 = 0x0f80;
}

/// The device id: BCD digits up to the first F nibble; a 14-digit id is an IMEI without its
/// Luhn check digit, which is appended (installers register the 15-digit IMEI).
pub fn device_id(raw: &[u8; 7]) -> Result<DeviceId, DecodeError> {
    let mut s = String::with_capacity(15);
    'outer: for b in raw {
        for n in [b >> 4, b & 0x0f] {
            if n == 0x0f {
                break 'outer;
            }
            if n > 9 {
                return Err(DecodeError::Invalid(format!(
                    "meiligao id {}",
                    hex::encode(raw)
                )));
            }
            s.push(char::from(b'0' + n));
        }
    }
    if s.len() == 14 {
        s.push(luhn(&s));
    }
    Ok(DeviceId::new(s)?)
}

/// The Luhn check digit of `digits`.
fn luhn(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Alarm codes of command 0x9999 with a meaning in the model.
fn alarm(code: u8) -> Option<Alarm> {
    Some(match code {
        0x01 => Alarm::Sos,
        0x10 => Alarm::LowBattery,
        0x11 => Alarm::Overspeed,
        0x12 => Alarm::Movement,
        0x13 => Alarm::GeofenceEnter,
        0x14 => Alarm::Collision,
        0x50 => Alarm::PowerOff,
        0x72 => Alarm::HarshBraking,
        0x73 => Alarm::HarshAcceleration,
        _ => return None,
    })
}

/// Decodes one frame cut by `frame::cut`.
pub fn decode(f: &[u8], ctx: &DecodeCtx, checksum: ChecksumPolicy) -> Result<Decoded, DecodeError> {
    if f.len() < HEADER_LEN + TRAILER_LEN || !(f.starts_with(b"$$") || f.starts_with(b"@@")) {
        return Err(DecodeError::Invalid(format!(
            "meiligao frame of {} bytes",
            f.len()
        )));
    }
    let at = f.len() - TRAILER_LEN;
    if checksum == ChecksumPolicy::Verify {
        // Both integrity checks go with the policy: `ignore` is for devices (and captures)
        // whose CRC or length field is wrong; a stream frame was cut by its length anyway.
        let expected = u16::from_be_bytes([f[at], f[at + 1]]);
        let computed = encode::crc(&f[..at]);
        if expected != computed {
            return Err(DecodeError::Checksum {
                expected: expected.into(),
                computed: computed.into(),
            });
        }
        let declared = usize::from(u16::from_be_bytes([f[2], f[3]]));
        if declared != f.len() {
            return Err(DecodeError::Invalid(format!(
                "meiligao length field says {declared} bytes, the frame holds {}",
                f.len()
            )));
        }
    }
    let mut raw = [0u8; 7];
    raw.copy_from_slice(&f[4..11]);
    let command = u16::from_be_bytes([f[11], f[12]]);
    let data = &f[HEADER_LEN..at];
    let id = device_id(&raw)?;
    let mut out = Decoded {
        kind: format!("command {command:#06x}").into(),
        identity: Some(id.clone()),
        ..Decoded::default()
    };
    let event = |kind: EventKind| Record::Event(DeviceEvent::new(id.clone(), NAME, ctx.now, kind));
    match command {
        cmd::LOGIN | cmd::HEARTBEAT => {
            let (answer, kind) = if command == cmd::LOGIN {
                (cmd::LOGIN_RESPONSE, EventKind::Login)
            } else {
                (cmd::HEARTBEAT, EventKind::Heartbeat)
            };
            out.records.push(event(kind));
            out.ack = AckPlan::ack(encode::frame(b'@', &raw, answer, &[0x01]));
        }
        cmd::POSITION | cmd::POSITION_LOGGED | cmd::ALARM | cmd::POSITION_IMAGE => {
            let mut r = Reader::new(data);
            let code = match command {
                // Some firmwares leave the alarm byte out: then the data starts with the six
                // digits of the time, where with it a code byte precedes them.
                cmd::ALARM if digits_at(data) == 6 && digits_at(&data[1..]) != 6 => None,
                cmd::ALARM => Some(r.u8("alarm code")?),
                cmd::POSITION_LOGGED => {
                    r.skip(6, "logged header")?;
                    None
                }
                cmd::POSITION_IMAGE => {
                    r.skip(2, "image index and type")?;
                    None
                }
                _ => None,
            };
            let mut p = sentence::regular(&String::from_utf8_lossy(r.rest()), &id, ctx)?;
            if let Some(c) = code {
                p.io.insert("alarm_code".into(), IoValue::Int(c.into()));
                p.alarms.extend(alarm(c));
            }
            p.historical = command == cmd::POSITION_LOGGED;
            out.records.push(Record::Position(p));
        }
        cmd::RFID => {
            let mut r = Reader::new(data);
            let mut cards = vec![];
            for _ in 0..15 {
                let card = r.u32("rfid card")?;
                if card != 0 {
                    cards.push(format!("{card:010}"));
                }
            }
            let mut p = sentence::rfid(&String::from_utf8_lossy(r.rest()), &id, ctx)?;
            if let Some(last) = cards.last() {
                p.io.insert("driver_id".into(), IoValue::Text(last.clone()));
            }
            out.records.push(Record::Position(p));
        }
        cmd::RETRANSMISSION => out.records = retransmission(data, &id, ctx)?,
        cmd::UPLOAD_PHOTO => {
            let index = *data
                .first()
                .ok_or_else(|| DecodeError::Invalid("photo index".into()))?;
            out.ack = AckPlan::ack(encode::frame(
                b'@',
                &raw,
                cmd::UPLOAD_PHOTO_RESPONSE,
                &[index],
            ));
        }
        cmd::UPLOAD_COMPLETE => {
            let index = *data
                .first()
                .ok_or_else(|| DecodeError::Invalid("photo index".into()))?;
            out.ack = AckPlan::ack(encode::frame(
                b'@',
                &raw,
                cmd::RETRANSMISSION,
                &[index, 0, 0],
            ));
        }
        // Photo data: no media store; the device is answered at upload start and end.
        cmd::DATA_PHOTO => {}
        cmd::OBD_RT | cmd::OBD_RTA => {
            let name = if command == cmd::OBD_RT {
                "obd"
            } else {
                "obd summary"
            };
            let mut e = DeviceEvent::new(
                id.clone(),
                NAME,
                ctx.now,
                EventKind::Info { name: name.into() },
            );
            let text = String::from_utf8_lossy(data);
            for (i, v) in text.split(',').enumerate() {
                let value = v
                    .trim()
                    .parse::<f64>()
                    .map_or_else(|_| IoValue::Text(v.into()), IoValue::Float);
                e.attributes.insert(format!("obd{i}"), value);
            }
            out.records.push(Record::Event(e));
        }
        other => {
            let mut e = DeviceEvent::new(
                id.clone(),
                NAME,
                ctx.now,
                EventKind::Info {
                    name: format!("command {other:#06x}"),
                },
            );
            e.attributes
                .insert("payload".into(), IoValue::Text(hex::encode(data)));
            out.records.push(Record::Event(e));
        }
    }
    Ok(out)
}

/// How many ASCII digits `b` starts with.
fn digits_at(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// 0x6688: `count u8 | {alarm u8, sentence}` with sentences separated by `\`.
fn retransmission(data: &[u8], id: &DeviceId, ctx: &DecodeCtx) -> Result<Vec<Record>, DecodeError> {
    let (&count, rest) = data
        .split_first()
        .ok_or_else(|| DecodeError::Invalid("meiligao retransmission without count".into()))?;
    let chunks: Vec<&[u8]> = rest
        .split(|&b| b == b'\\')
        .filter(|c| !c.is_empty())
        .collect();
    if chunks.len() != usize::from(count) {
        return Err(DecodeError::Invalid(format!(
            "meiligao retransmission says {count} records, holds {}",
            chunks.len()
        )));
    }
    chunks
        .iter()
        .map(|c| {
            let mut p = sentence::regular(&String::from_utf8_lossy(&c[1..]), id, ctx)?;
            p.historical = true;
            Ok(Record::Position(p))
        })
        .collect()
}
