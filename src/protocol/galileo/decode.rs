//! Frame → records + ACK plan: main packets, photo parts, Iridium SBD messages.

use super::frame::{self, ARCHIVE_BIT, CRC_LEN, HEADER_LEN};
use super::tags::{self, COMMAND_TEXT, COORDINATES, EXTENDED, IMEI, TIME, USER_DATA_ARRAY};
use super::{encode, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{Reader, WireError};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use chrono::{DateTime, TimeZone, Utc};

/// One record of a packet: the tags between two repeats of a tag id.
#[derive(Default)]
struct Draft<'a> {
    seen: [u64; 4],
    time: Option<u32>,
    coords: Option<(u8, i32, i32)>,
    text: Option<String>,
    tags: Vec<(u8, &'a [u8])>,
}

impl Draft<'_> {
    /// Marks `tag` seen; false when it was already seen (a new record starts with it).
    fn first_sight(&mut self, tag: u8) -> bool {
        let (word, bit) = (usize::from(tag / 64), tag % 64);
        let fresh = self.seen[word] & (1 << bit) == 0;
        self.seen[word] |= 1 << bit;
        fresh
    }
}

/// What a tag walk found: the IMEI if a tag carried it, and the records.
struct Walk<'a> {
    imei: Option<&'a [u8]>,
    records: Vec<Draft<'a>>,
}

/// Decodes one frame cut by [`frame::cut`]; `device` is the connection's identity so far.
pub fn decode(
    f: &[u8],
    ctx: &DecodeCtx,
    checksum: ChecksumPolicy,
    device: Option<&DeviceId>,
) -> Result<Decoded, DecodeError> {
    if f.len() >= 6 && frame::is_iridium(f) {
        return iridium(f, ctx);
    }
    let body = checked_body(f, checksum)?;
    let crc = [f[f.len() - 2], f[f.len() - 1]];
    match f[0] {
        frame::MAIN => {
            let archive = u16::from_le_bytes([f[1], f[2]]) & ARCHIVE_BIT != 0;
            main_packet(body, ctx, device, archive, crc)
        }
        frame::PHOTO => photo(body, device, crc),
        other => Err(DecodeError::Invalid(format!(
            "galileo packet type {other:#04x} is not decoded (compressed packets: see protocol-docs/galileo.md)"
        ))),
    }
}

/// Checks the length field against the frame and the CRC-16/MODBUS, returns the body.
fn checked_body(f: &[u8], checksum: ChecksumPolicy) -> Result<&[u8], DecodeError> {
    if f.len() < HEADER_LEN + CRC_LEN {
        return Err(DecodeError::Invalid(format!(
            "galileo frame of {} bytes is shorter than header and CRC",
            f.len()
        )));
    }
    let declared = usize::from(u16::from_le_bytes([f[1], f[2]]) & !ARCHIVE_BIT);
    if declared + HEADER_LEN + CRC_LEN != f.len() {
        return Err(DecodeError::Invalid(format!(
            "galileo length field says {declared} body bytes, the frame holds {}",
            f.len() - HEADER_LEN - CRC_LEN
        )));
    }
    let at = f.len() - CRC_LEN;
    let expected = u16::from_le_bytes([f[at], f[at + 1]]);
    let computed = encode::crc(&f[..at]);
    if expected != computed && checksum == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    Ok(&f[HEADER_LEN..at])
}

/// Walks the tags of `body`; a repeated tag id starts a new record.
fn walk(body: &[u8]) -> Result<Walk<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let mut w = Walk {
        imei: None,
        records: vec![Draft::default()],
    };
    while r.remaining() > 0 {
        let at = r.offset();
        let tag = r.u8("tag")?;
        if !w.records.last_mut().is_some_and(|d| d.first_sight(tag)) {
            let mut d = Draft::default();
            d.first_sight(tag);
            w.records.push(d);
        }
        let Some(d) = w.records.last_mut() else {
            continue;
        };
        match tag {
            IMEI => w.imei = Some(r.bytes(tags::IMEI_LEN, "imei")?),
            TIME => d.time = Some(u32::from_le_bytes(r.array("time")?)),
            COORDINATES => {
                let flags = r.u8("coordinate flags")?;
                let lat = i32::from_le_bytes(r.array("latitude")?);
                let lon = i32::from_le_bytes(r.array("longitude")?);
                d.coords = Some((flags, lat, lon));
            }
            COMMAND_TEXT | USER_DATA_ARRAY => {
                let n = r.u8("tag length")?;
                let v = r.bytes(n.into(), "tag value")?;
                if tag == COMMAND_TEXT {
                    d.text = Some(String::from_utf8_lossy(v).into_owned());
                } else {
                    d.tags.push((tag, v));
                }
            }
            EXTENDED => {
                let n = u16::from_le_bytes(r.array("extended tags length")?);
                d.tags.push((tag, r.bytes(n.into(), "extended tags")?));
            }
            _ => {
                let n = tags::fixed_len(tag).ok_or(WireError::Bad {
                    offset: at,
                    field: "tag",
                    detail: format!("unknown tag {tag:#04x}: its length is not known"),
                })?;
                d.tags.push((tag, r.bytes(n, "tag value")?));
            }
        }
    }
    Ok(w)
}

fn device_of(imei: Option<&[u8]>, device: Option<&DeviceId>) -> Result<DeviceId, DecodeError> {
    match (imei, device) {
        (Some(i), _) => Ok(DeviceId::new(String::from_utf8_lossy(i).into_owned())?),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(DecodeError::NotIdentified {
            msg: "galileo packet without IMEI tag".into(),
        }),
    }
}

fn unix(secs: u32) -> Result<DateTime<Utc>, DecodeError> {
    Utc.timestamp_opt(secs.into(), 0)
        .single()
        .ok_or_else(|| DecodeError::Invalid(format!("time {secs} is not a time")))
}

/// Main packet: records of tags. Answered `02 | CRC` once durable.
fn main_packet(
    body: &[u8],
    ctx: &DecodeCtx,
    device: Option<&DeviceId>,
    archive: bool,
    crc: [u8; 2],
) -> Result<Decoded, DecodeError> {
    let w = walk(body)?;
    let id = device_of(w.imei, device)?;
    let mut out = Vec::with_capacity(w.records.len());
    for d in &w.records {
        if let Some(rec) = record(d, &id, ctx, archive)? {
            out.push(rec);
        }
    }
    if out.is_empty() && w.imei.is_some() {
        out.push(Record::Event(DeviceEvent::new(
            id.clone(),
            NAME,
            ctx.now,
            EventKind::Login,
        )));
    }
    Ok(Decoded {
        kind: if w.imei.is_some() && out.len() == 1 && matches!(out[0], Record::Event(_)) {
            "head packet"
        } else {
            "main packet"
        }
        .into(),
        identity: w.imei.map(|_| id),
        records: out,
        ack: AckPlan::ack(encode::ack(encode::MAIN_ACK, crc)),
    })
}

/// One record: a position when it has coordinates and a time, a command reply when it
/// carries reply text, else the values kept as an event.
fn record(
    d: &Draft<'_>,
    id: &DeviceId,
    ctx: &DecodeCtx,
    archive: bool,
) -> Result<Option<Record>, DecodeError> {
    let head_only = d.tags.iter().all(|(t, _)| tags::HEAD.contains(t));
    if head_only && d.time.is_none() && d.coords.is_none() && d.text.is_none() {
        // The head packet (versions, IMEI, device number): the identity, not a record.
        return Ok(None);
    }
    let time = d.time.map(unix).transpose()?;
    if let (Some(time), Some((flags, lat, lon))) = (time, d.coords) {
        let mut p = Position::new(
            id.clone(),
            NAME,
            time,
            ctx.now,
            f64::from(lat) / 1e6,
            f64::from(lon) / 1e6,
            flags & 0xf0 == 0,
        );
        p.satellites = flags & 0x0f;
        p.historical = archive;
        for (tag, v) in &d.tags {
            tags::apply(&mut p, *tag, v);
        }
        return Ok(Some(Record::Position(p)));
    }
    // Values without a fix (or a reply): kept on an event, through a scratch position so
    // the tag meanings live in one place.
    let mut scratch = Position::new(id.clone(), NAME, ctx.now, ctx.now, 0.0, 0.0, false);
    for (tag, v) in &d.tags {
        tags::apply(&mut scratch, *tag, v);
    }
    let kind = match &d.text {
        Some(text) => EventKind::CommandResult { text: text.clone() },
        None => EventKind::Info {
            name: "record without coordinates".into(),
        },
    };
    let mut e = DeviceEvent::new(id.clone(), NAME, time.unwrap_or(ctx.now), kind);
    e.attributes = scratch.io;
    if let Some(v) = scratch.power_v {
        e.attributes.insert("power".into(), IoValue::Float(v));
    }
    if let Some(v) = scratch.battery_v {
        e.attributes.insert("battery".into(), IoValue::Float(v));
    }
    Ok(Some(Record::Event(e)))
}

/// Photo part: `part u8 | JPEG bytes`. Acknowledged (`07 | CRC`) so the device goes on;
/// trackgate has no media store, so the image is not kept (see protocol-docs/galileo.md).
fn photo(body: &[u8], device: Option<&DeviceId>, crc: [u8; 2]) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(body);
    let _part = r.u8("photo part")?;
    if device.is_none() {
        return Err(DecodeError::NotIdentified {
            msg: "galileo photo part".into(),
        });
    }
    Ok(Decoded {
        kind: "photo part".into(),
        ack: AckPlan::ack(encode::ack(frame::PHOTO, crc)),
        ..Decoded::default()
    })
}

/// Iridium SBD (DirectIP) message: `01 | len u16 BE | IE…`, each IE `id u8 | len u16 BE |
/// value`: 0x01 MO header (CDR u32, IMEI 15, status, MOMSN u16, MTMSN u16, time u32), 0x03
/// location (flags, lat deg u8 + thousandths of minutes u16, lon likewise, CEP u32), 0x02
/// payload (Galileosky tags, uncompressed). Unanswered: the gateway expects nothing.
fn iridium(f: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(f);
    r.skip(1, "protocol revision")?;
    let declared = usize::from(r.u16("length")?);
    if declared != r.remaining() {
        return Err(DecodeError::Invalid(format!(
            "iridium length field says {declared} bytes, the frame holds {}",
            r.remaining()
        )));
    }
    let (mut imei, mut time, mut fix, mut payload) = (None, None, None, None);
    while r.remaining() > 0 {
        let ie = r.u8("IE id")?;
        let n = usize::from(r.u16("IE length")?);
        let mut v = Reader::new(r.bytes(n, "IE value")?);
        match ie {
            0x01 => {
                v.skip(4, "CDR reference")?;
                imei = Some(v.bytes(15, "imei")?);
                v.skip(5, "session status, MOMSN, MTMSN")?;
                time = Some(v.u32("session time")?);
            }
            0x03 => {
                let flags = v.u8("location flags")?;
                let lat =
                    f64::from(v.u8("lat degrees")?) + f64::from(v.u16("lat minutes")?) / 60000.0;
                let lon =
                    f64::from(v.u8("lon degrees")?) + f64::from(v.u16("lon minutes")?) / 60000.0;
                let lat = if flags & 0x02 != 0 { -lat } else { lat };
                let lon = if flags & 0x01 != 0 { -lon } else { lon };
                fix = Some((lat, lon));
            }
            0x02 => payload = Some(v.rest()),
            _ => {}
        }
    }
    let id = device_of(imei, None)?;
    let time = unix(
        time.ok_or_else(|| DecodeError::Invalid("iridium message without MO header".into()))?,
    )?;
    let (lat, lon) = fix.unwrap_or((0.0, 0.0));
    let mut p = Position::new(id.clone(), NAME, time, ctx.now, lat, lon, fix.is_some());
    if let Some(body) = payload {
        // The device's own fix, when the payload has one, beats the gateway's estimate.
        for d in walk(body)?.records {
            if let Some(t) = d.time {
                p.fix_time = unix(t)?;
            }
            if let Some((flags, lat, lon)) = d.coords {
                p.lat = f64::from(lat) / 1e6;
                p.lon = f64::from(lon) / 1e6;
                p.valid = flags & 0xf0 == 0;
                p.satellites = flags & 0x0f;
            }
            for (tag, v) in &d.tags {
                tags::apply(&mut p, *tag, v);
            }
        }
    }
    Ok(Decoded {
        kind: "iridium sbd".into(),
        identity: Some(id),
        records: vec![Record::Position(p)],
        ack: AckPlan::default(),
    })
}
