//! Frame → records + ACK plan: the `EL` wrapper, then each `gg` packet by type.

use super::{encode, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::Reader;
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};

/// Packet types (device → server; the server answers with the same type).
pub mod msg {
    pub const LOGIN: u8 = 0x01;
    pub const GPS: u8 = 0x02;
    pub const HEARTBEAT: u8 = 0x03;
    pub const ALARM: u8 = 0x04;
    pub const STATE: u8 = 0x05;
    pub const SMS: u8 = 0x06;
    pub const OBD: u8 = 0x07;
    pub const DOWNLINK: u8 = 0x80;
    pub const DATA: u8 = 0x81;
    pub const NORMAL: u8 = 0x12;
    pub const WARNING: u8 = 0x14;
    pub const REPORT: u8 = 0x15;
    pub const OBD_CODE: u8 = 0x19;
}

/// Coordinates are in 1/1,800,000 degree (1/30,000 of an arc-minute).
const COORD_SCALE: f64 = 1_800_000.0;

/// Everything a decode needs besides the frame.
pub struct Ctx<'a> {
    pub ctx: &'a DecodeCtx,
    pub checksum: ChecksumPolicy,
    pub device: Option<&'a DeviceId>,
    /// Answers go back `EL`-wrapped (UDP) rather than as bare packets (TCP).
    pub datagram: bool,
}

/// Decodes one frame: an `EL` wrapper of packets or one bare `gg` packet.
pub fn decode(f: &[u8], c: &Ctx<'_>) -> Result<Decoded, DecodeError> {
    let mut out = Decoded::default();
    let (imei, packets) = if f.starts_with(b"EL") {
        let (imei, packets) = unwrap(f, c.checksum)?;
        (Some(imei), packets)
    } else {
        (None, f)
    };
    let mut device = match imei {
        Some(i) => Some(imei_id(&i)?),
        None => c.device.cloned(),
    };
    if imei.is_some() {
        out.identity = device.clone();
    }
    let mut r = Reader::new(packets);
    let mut answers = Vec::new();
    let mut kinds = Vec::new();
    while r.remaining() > 0 {
        let marker = r.array::<2>("marker")?;
        if &marker != b"gg" {
            return Err(r.bad("marker", hex::encode(marker)).into());
        }
        let typ = r.u8("type")?;
        let len = usize::from(r.u16("length")?);
        let body = r.bytes(len, "packet")?;
        let mut p = Reader::new(body);
        let seq = p.u16("sequence")?;
        if typ == msg::LOGIN {
            let raw = p.array::<8>("imei")?;
            let id = imei_id(&raw)?;
            out.identity = Some(id.clone());
            device = Some(id);
        }
        let id = device.clone().ok_or_else(|| DecodeError::NotIdentified {
            msg: format!("eelink packet {typ:#04x}"),
        })?;
        if typ != msg::GPS && typ != msg::DATA {
            answers.extend_from_slice(&answer(typ, seq, c.ctx.now));
        }
        kinds.push(format!("{typ:#04x}"));
        out.records.extend(packet(typ, &mut p, &id, c.ctx)?);
    }
    out.kind = format!("packets {}", kinds.join(",")).into();
    if !answers.is_empty() {
        let bytes = match (c.datagram, imei) {
            (true, Some(i)) => encode::wrap(&i, &answers),
            _ => Bytes::from(answers),
        };
        out.ack = AckPlan::ack(bytes);
    }
    Ok(out)
}

/// `EL | len u16 | checksum u16 | IMEI[8] | packets`; checks length and checksum.
fn unwrap(f: &[u8], checksum: ChecksumPolicy) -> Result<([u8; 8], &[u8]), DecodeError> {
    let mut r = Reader::new(f);
    r.skip(2, "EL")?;
    let len = usize::from(r.u16("length")?);
    if len != r.remaining() {
        return Err(DecodeError::Invalid(format!(
            "eelink length field says {len} bytes, the frame holds {}",
            r.remaining()
        )));
    }
    let expected = r.u16("checksum")?;
    let computed = encode::checksum(r.rest());
    if expected != computed && checksum == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let imei = r.array::<8>("imei")?;
    Ok((imei, r.rest()))
}

/// The IMEI field: 16 hex digits, the first one a padding `0`.
fn imei_id(raw: &[u8; 8]) -> Result<DeviceId, DecodeError> {
    let h = hex::encode(raw);
    Ok(DeviceId::new(&h[1..])?)
}

/// The server's answer to a packet of `typ`: the same header and sequence; a login's answer
/// carries the server time (Unix s), protocol version 1 and an empty action mask.
pub fn answer(typ: u8, seq: u16, now: DateTime<Utc>) -> Vec<u8> {
    if typ == msg::LOGIN {
        let mut c = (now.timestamp().clamp(0, i64::from(u32::MAX)) as u32)
            .to_be_bytes()
            .to_vec();
        c.extend_from_slice(&[0x00, 0x01, 0x00]);
        encode::packet(typ, seq, &c)
    } else {
        encode::packet(typ, seq, &[])
    }
}

fn unix(secs: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs.into(), 0)
        .single()
        .unwrap_or_default()
}

fn alarm(code: u8) -> Option<Alarm> {
    Some(match code {
        0x01 => Alarm::PowerOff,
        0x02 => Alarm::Sos,
        0x03 => Alarm::LowBattery,
        0x04 => Alarm::Vibration,
        0x25 => Alarm::Tamper,
        0x82 => Alarm::Overspeed,
        0x83 => Alarm::GeofenceEnter,
        0x84 => Alarm::GeofenceExit,
        0x85 => Alarm::Collision,
        0x86 => Alarm::FallDown,
        _ => return None,
    })
}

/// The status word: bit 1 says whether bit 2 (ignition) is meaningful.
fn status(io: &mut std::collections::BTreeMap<String, IoValue>, s: u16) -> Option<bool> {
    io.insert("status".into(), IoValue::Int(s.into()));
    (s & 0x02 != 0).then_some(s & 0x04 != 0)
}

/// One packet's records.
fn packet(
    typ: u8,
    r: &mut Reader<'_>,
    id: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Vec<Record>, DecodeError> {
    let event = |kind: EventKind| DeviceEvent::new(id.clone(), NAME, ctx.now, kind);
    Ok(match typ {
        msg::LOGIN => {
            r.skip(r.remaining(), "login tail")?;
            vec![Record::Event(event(EventKind::Login))]
        }
        msg::GPS | msg::ALARM | msg::STATE | msg::SMS => {
            vec![Record::Position(old(typ, r, id, ctx)?)]
        }
        msg::NORMAL..=msg::OBD_CODE => new(typ, r, id, ctx)?,
        msg::HEARTBEAT | msg::OBD
            if r.remaining() == 2 || (typ == msg::OBD && r.remaining() == 4) =>
        {
            let mut e = event(EventKind::Heartbeat);
            let s = r.u16("status")?;
            if let Some(ign) = status(&mut e.attributes, s) {
                e.attributes.insert("ignition".into(), IoValue::Bool(ign));
            }
            r.skip(r.remaining(), "tail")?;
            vec![Record::Event(e)]
        }
        msg::HEARTBEAT => vec![Record::Event(event(EventKind::Heartbeat))],
        msg::DOWNLINK => {
            r.skip(5, "command type and uid")?;
            let text = String::from_utf8_lossy(r.rest()).trim().to_string();
            match where_answer(&text, id, ctx) {
                Some(p) => vec![Record::Position(p)],
                None => vec![Record::Event(event(EventKind::CommandResult { text }))],
            }
        }
        other => {
            let mut e = event(EventKind::Info {
                name: format!("packet {other:#04x}"),
            });
            e.attributes
                .insert("payload".into(), IoValue::Text(hex::encode(r.rest())));
            vec![Record::Event(e)]
        }
    })
}

/// The answer to a `WHERE#` command: `Lat:N31.83955,Lon:W82.61346,Course:0.00,Speed:0.00km/h,
/// DateTime:2017-12-02 11:29:43` (separators `,` or newlines; `Date Time` with a space on
/// some firmwares). Speed km/h.
fn where_answer(text: &str, id: &DeviceId, ctx: &DecodeCtx) -> Option<Position> {
    let field = |name: &str| -> Option<&str> {
        let at = text.find(name)? + name.len();
        let rest = &text[at..];
        let end = rest.find([',', '\n']).unwrap_or(rest.len());
        Some(rest[..end].trim())
    };
    let signed = |v: &str, neg: char| -> Option<f64> {
        let (h, n) = v.split_at(v.char_indices().nth(1)?.0);
        let x: f64 = n.parse().ok()?;
        Some(if h.starts_with(neg) { -x } else { x })
    };
    let lat = signed(field("Lat:")?, 'S')?;
    let lon = signed(field("Lon:")?, 'W')?;
    let dt = field("DateTime:").or_else(|| field("Date Time:"))?;
    let time = chrono::NaiveDateTime::parse_from_str(dt, "%Y-%m-%d %H:%M:%S")
        .ok()?
        .and_utc();
    let mut p = Position::new(id.clone(), NAME, time, ctx.now, lat, lon, true);
    p.course = field("Course:").and_then(|v| v.parse().ok()).unwrap_or(0.0);
    p.speed_kmh = field("Speed:")
        .map(|v| v.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '/'))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Some(p)
}

/// Old-protocol reports: `time u32 | lat i32 | lon i32 | speed u8 km/h | course u16 | mcc u16
/// | mnc u16 | lac u16 | cell u24 | flags u8 (bit 0 valid)`, then per type: GPS `[status
/// u16 [battery mV u16 | rssi u16 | adc1 u16 | adc2 u16]]`, alarm `code u8`, state `type u8
/// [time u32 [status u16]]`.
fn old(
    typ: u8,
    r: &mut Reader<'_>,
    id: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let time = unix(r.u32("time")?);
    let lat = f64::from(r.i32("latitude")?) / COORD_SCALE;
    let lon = f64::from(r.i32("longitude")?) / COORD_SCALE;
    let mut p = Position::new(id.clone(), NAME, time, ctx.now, lat, lon, false);
    p.speed_kmh = f64::from(r.u8("speed")?);
    p.course = f64::from(r.u16("course")?);
    r.skip(9, "cell")?;
    p.valid = r.u8("flags")? & 0x01 != 0;
    match typ {
        msg::GPS if r.remaining() >= 2 => {
            let s = r.u16("status")?;
            p.ignition = status(&mut p.io, s);
            if r.remaining() >= 8 {
                p.battery_v = Some(f64::from(r.u16("battery")?) / 1000.0);
                p.io.insert("rssi".into(), IoValue::Int(r.u16("rssi")?.into()));
                p.io.insert("adc1".into(), IoValue::Int(r.u16("adc1")?.into()));
                p.io.insert("adc2".into(), IoValue::Int(r.u16("adc2")?.into()));
            }
        }
        msg::ALARM => {
            let code = r.u8("alarm")?;
            p.io.insert("alarm_code".into(), IoValue::Int(code.into()));
            p.alarms.extend(alarm(code));
        }
        msg::STATE => {
            let kind = r.u8("state type")?;
            p.io.insert("event".into(), IoValue::Int(kind.into()));
            if (1..=3).contains(&kind) && r.remaining() >= 4 {
                r.skip(4, "device time")?;
                if r.remaining() >= 2 {
                    let s = r.u16("status")?;
                    p.ignition = status(&mut p.io, s);
                }
            }
        }
        _ => {}
    }
    r.skip(r.remaining(), "tail")?;
    Ok(p)
}

/// New-protocol reports (0x12 normal, 0x14 warning, 0x15 report, 0x16–0x19): `time u32 |
/// flags u8`, then per set flag bit: 0 fix (`lat, lon i32 | altitude i16 | speed u16 km/h |
/// course u16 | satellites u8`), 1 cell with mcc/mnc (13 bytes), 2–3 cells (9), 4–6 Wi-Fi
/// (7), 7 LTE block; then warning `code u8`, report `type u8`, and for 0x12/0x14/0x15 the
/// status word (bit 0 fix valid). Without a fix the values are kept as an event.
fn new(
    typ: u8,
    r: &mut Reader<'_>,
    id: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Vec<Record>, DecodeError> {
    let time = unix(r.u32("time")?);
    let flags = r.u8("flags")?;
    let mut p = Position::new(id.clone(), NAME, time, ctx.now, 0.0, 0.0, false);
    let has_fix = flags & 0x01 != 0;
    if has_fix {
        p.lat = f64::from(r.i32("latitude")?) / COORD_SCALE;
        p.lon = f64::from(r.i32("longitude")?) / COORD_SCALE;
        p.altitude_m = f64::from(r.i16("altitude")?);
        p.speed_kmh = f64::from(r.u16("speed")?);
        p.course = f64::from(r.u16("course")?);
        p.satellites = r.u8("satellites")?;
        p.valid = true;
    }
    // Cell 1 `mcc u16 | mnc u16 | lac u16 | cid u32 | rssi u8`, cells 2–3 without mcc/mnc,
    // Wi-Fi `mac[6] | rssi i8`.
    for (bit, n) in [(1, 11usize), (2, 7), (3, 7), (4, 7), (5, 7), (6, 7)] {
        if flags & (1 << bit) != 0 {
            r.skip(n, "cell or wifi")?;
        }
    }
    if flags & 0x80 != 0 {
        r.skip(1, "radio access technology")?;
        let count = r.u8("lte counts")?;
        let (cells, wifi) = (usize::from(count & 0x07), usize::from((count >> 3) & 0x0f));
        if cells > 0 {
            // mcc, mnc, lac, tac u16 | cid u32 | ta, pci, earfcn u16 | rssi; then 5 bytes per
            // further cell.
            r.skip(19 + (cells - 1) * 5, "lte cells")?;
        }
        r.skip(wifi * 7, "lte wifi")?;
    }
    match typ {
        msg::WARNING => {
            let code = r.u8("alarm")?;
            p.io.insert("alarm_code".into(), IoValue::Int(code.into()));
            p.alarms.extend(alarm(code));
        }
        msg::REPORT => {
            let kind = r.u8("report type")?;
            p.io.insert("event".into(), IoValue::Int(kind.into()));
        }
        _ => {}
    }
    if matches!(typ, msg::NORMAL | msg::WARNING | msg::REPORT) {
        let s = r.u16("status")?;
        p.valid = has_fix && s & 0x01 != 0;
        p.ignition = status(&mut p.io, s);
    }
    // Normal reports may go on with `battery mV u16 | adc0, adc1 u16 | odometer u32 m | …`
    // as far as the firmware fills them.
    if typ == msg::NORMAL && r.remaining() >= 2 {
        p.battery_v = Some(f64::from(r.u16("battery")?) / 1000.0);
        if r.remaining() >= 4 {
            p.io.insert("adc0".into(), IoValue::Int(r.u16("adc0")?.into()));
            p.io.insert("adc1".into(), IoValue::Int(r.u16("adc1")?.into()));
        }
        if r.remaining() >= 4 {
            p.odometer_m = Some(f64::from(r.u32("odometer")?));
        }
    }
    r.skip(r.remaining(), "tail")?;
    if has_fix {
        return Ok(vec![Record::Position(p)]);
    }
    let mut e = DeviceEvent::new(
        id.clone(),
        NAME,
        time,
        EventKind::Info {
            name: format!("report {typ:#04x} without fix"),
        },
    );
    e.attributes = p.io;
    if let Some(i) = p.ignition {
        e.attributes.insert("ignition".into(), IoValue::Bool(i));
    }
    Ok(vec![Record::Event(e)])
}
