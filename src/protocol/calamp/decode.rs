//! Datagram → records + ACK plan: options header, message header, one function per report.

use super::{encode, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{Reader, WireError};
use crate::protocol::{AckPlan, DecodeCtx, DecodeError, Decoded};
use chrono::{DateTime, TimeZone, Utc};

/// LM Direct message types (the one list of them).
pub mod msg {
    pub const ACK: u8 = 1;
    pub const EVENT_REPORT: u8 = 2;
    pub const ID_REPORT: u8 = 3;
    pub const USER_DATA: u8 = 4;
    pub const LOCATE_REPORT: u8 = 8;
    pub const MINI_EVENT_REPORT: u8 = 10;
}

/// LM Direct service types.
pub mod service {
    pub const UNACKNOWLEDGED: u8 = 0;
    /// The unit resends the message until it gets the ACK.
    pub const ACKNOWLEDGED: u8 = 1;
    pub const RESPONSE: u8 = 2;
}

/// Fix status bits of the full reports.
mod fix_status {
    /// The fix is not valid.
    pub const INVALID: u8 = 0x08;
    /// Sent from the unit's log, not in real time.
    pub const HISTORIC: u8 = 0x20;
}

/// In a mini event report's status byte (low nibble: satellites), the bit Traccar reads as
/// "fix invalid".
const MINI_INVALID: u8 = 0x20;

/// Decodes one datagram; `device` is the peer's identity so far.
pub fn decode(
    dgram: &[u8],
    ctx: &DecodeCtx,
    device: Option<&DeviceId>,
) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(dgram);
    let mobile_id = options_header(&mut r)?;
    let id = match (&mobile_id, device) {
        (Some(m), _) => DeviceId::new(m.clone())?,
        (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(DecodeError::NotIdentified {
                msg: "calamp message without mobile ID".into(),
            })
        }
    };
    let service_type = r.u8("service type")?;
    let typ = r.u8("message type")?;
    let seq = r.u16("sequence number")?;
    let (kind, record): (&'static str, Record) = match typ {
        msg::EVENT_REPORT | msg::LOCATE_REPORT | msg::USER_DATA => {
            let p = full_report(&mut r, typ, &id, ctx)?;
            let kind = match typ {
                msg::EVENT_REPORT => "event report",
                msg::LOCATE_REPORT => "locate report",
                _ => "user data",
            };
            (kind, Record::Position(p))
        }
        msg::MINI_EVENT_REPORT => (
            "mini event report",
            Record::Position(mini_event(&mut r, &id, ctx)?),
        ),
        msg::ID_REPORT => (
            "id report",
            Record::Event(event(&id, ctx, EventKind::Login, r.rest())),
        ),
        other => {
            let name = format!("message type {other}");
            let e = event(&id, ctx, EventKind::Info { name }, r.rest());
            ("other", Record::Event(e))
        }
    };
    let ack = if service_type == service::ACKNOWLEDGED {
        AckPlan::ack(encode::ack(seq, typ))
    } else {
        AckPlan::default()
    };
    Ok(Decoded {
        kind: kind.into(),
        identity: mobile_id.map(|_| id),
        records: vec![record],
        ack,
    })
}

/// The options header, when bit 7 of the first byte says there is one: the mobile ID (hex
/// digits without the F padding), the other fields skipped after their length.
fn options_header(r: &mut Reader<'_>) -> Result<Option<String>, DecodeError> {
    if r.rest().first().is_none_or(|b| b & 0x80 == 0) {
        return Ok(None);
    }
    let options = r.u8("options")?;
    let mut mobile_id = None;
    for bit in 0..7 {
        if options & (1 << bit) == 0 {
            continue;
        }
        let n = r.u8("option length")?;
        let v = r.bytes(n.into(), "option value")?;
        if bit == 0 {
            let id = hex::encode(v);
            let id = id.trim_end_matches('f');
            if id.is_empty() {
                return Err(WireError::Bad {
                    offset: r.offset(),
                    field: "mobile id",
                    detail: "empty".into(),
                }
                .into());
            }
            mobile_id = Some(id.to_string());
        }
    }
    Ok(mobile_id)
}

fn unix(secs: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs.into(), 0)
        .single()
        .unwrap_or_default()
}

/// Event (2), locate (8) and user data (4) reports share 36 bytes of fix and unit state:
/// `update time u32 | fix time u32 | lat i32 ×1e-7 | lon i32 ×1e-7 | altitude i32 cm | speed
/// u32 cm/s | heading i16 ° | satellites u8 | fix status u8 | carrier u16 | RSSI i16 dBm |
/// comm state u8 | HDOP u8 ×0.1 | inputs u8 | unit status u8`, then the type's own part.
fn full_report(
    r: &mut Reader<'_>,
    typ: u8,
    id: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let update = r.u32("update time")?;
    let fix_time = r.u32("time of fix")?;
    let lat = r.i32("latitude")?;
    let lon = r.i32("longitude")?;
    let alt = r.i32("altitude")?;
    let speed = r.u32("speed")?;
    let heading = r.i16("heading")?;
    let sats = r.u8("satellites")?;
    let status = r.u8("fix status")?;
    // A unit without any fix since power-up sends time of fix 0: the update time is then the
    // only time there is (and the fix is flagged invalid anyway).
    let time = unix(if fix_time != 0 { fix_time } else { update });
    let mut p = Position::new(
        id.clone(),
        NAME,
        time,
        ctx.now,
        f64::from(lat) / 1e7,
        f64::from(lon) / 1e7,
        status & fix_status::INVALID == 0,
    );
    p.altitude_m = f64::from(alt) / 100.0;
    p.speed_kmh = f64::from(speed) * 0.036;
    p.course = f64::from(heading).rem_euclid(360.0);
    p.satellites = sats;
    p.historical = status & fix_status::HISTORIC != 0;
    let int = |p: &mut Position, k: &str, v: i64| {
        p.io.insert(k.into(), IoValue::Int(v));
    };
    int(&mut p, "fix_status", status.into());
    int(&mut p, "carrier", r.u16("carrier")?.into());
    int(&mut p, "rssi", r.i16("rssi")?.into());
    int(&mut p, "comm_state", r.u8("comm state")?.into());
    let hdop = r.u8("hdop")?;
    p.io.insert("hdop".into(), IoValue::Float(f64::from(hdop) / 10.0));
    let inputs = r.u8("inputs")?;
    int(&mut p, "input", inputs.into());
    p.ignition = Some(inputs & 1 != 0);
    int(&mut p, "status", r.u8("unit status")?.into());
    match typ {
        msg::EVENT_REPORT => {
            int(&mut p, "event_index", r.u8("event index")?.into());
            int(&mut p, "event", r.u8("event code")?.into());
            accumulators(r, &mut p, true)?;
        }
        msg::LOCATE_REPORT => accumulators(r, &mut p, true)?,
        _ => {
            int(&mut p, "user_route", r.u8("user message route")?.into());
            int(&mut p, "user_id", r.u8("user message id")?.into());
            let n = r.u16("user message length")?;
            let text = r.bytes(n.into(), "user message")?;
            let text = String::from_utf8_lossy(text).trim().to_string();
            p.io.insert("user_data".into(), IoValue::Text(text));
        }
    }
    Ok(p)
}

/// Mini event report (10): `update time u32 | lat i32 | lon i32 | heading i16 | speed u8
/// km/h | status u8 (low nibble satellites) | comm state u8 | inputs u8 | event code u8`,
/// then the accumulators (no spare byte).
fn mini_event(r: &mut Reader<'_>, id: &DeviceId, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let time = unix(r.u32("update time")?);
    let lat = r.i32("latitude")?;
    let lon = r.i32("longitude")?;
    let heading = r.i16("heading")?;
    let speed = r.u8("speed")?;
    let status = r.u8("fix status and satellites")?;
    let mut p = Position::new(
        id.clone(),
        NAME,
        time,
        ctx.now,
        f64::from(lat) / 1e7,
        f64::from(lon) / 1e7,
        status & MINI_INVALID == 0,
    );
    p.course = f64::from(heading).rem_euclid(360.0);
    p.speed_kmh = f64::from(speed);
    p.satellites = status & 0x0f;
    p.io.insert(
        "comm_state".into(),
        IoValue::Int(r.u8("comm state")?.into()),
    );
    let inputs = r.u8("inputs")?;
    p.io.insert("input".into(), IoValue::Int(inputs.into()));
    p.ignition = Some(inputs & 1 != 0);
    p.io.insert("event".into(), IoValue::Int(r.u8("event code")?.into()));
    accumulators(r, &mut p, false)?;
    Ok(p)
}

/// `count u8 (bits 6-7: accumulator type, 0-5: count) | [spare u8] | [threshold u32, mask
/// u32 when type 1] | count × u32`. Checked against the datagram: what follows the header
/// must be whole accumulators, at most `count` of them. Fewer than declared is accepted (a
/// captured LMU event report declares 23 and carries 21; Traccar keeps those 21 too) and the
/// declared count is kept as `acc_declared`, so the shortfall is visible.
fn accumulators(r: &mut Reader<'_>, p: &mut Position, spare: bool) -> Result<(), DecodeError> {
    let head = r.u8("accumulator count")?;
    let (acc_type, count) = (head >> 6, usize::from(head & 0x3f));
    if spare {
        r.skip(1, "spare")?;
    }
    if acc_type == 1 {
        r.skip(8, "accumulator threshold and mask")?;
    }
    let present = r.remaining() / 4;
    if !r.remaining().is_multiple_of(4) || present > count {
        return Err(WireError::Bad {
            offset: r.offset(),
            field: "accumulator count",
            detail: format!(
                "{count} accumulators declared, {} bytes follow",
                r.remaining()
            ),
        }
        .into());
    }
    if present < count {
        p.io.insert("acc_declared".into(), IoValue::Int(count as i64));
    }
    for i in 0..present {
        let v = r.u32("accumulator")?;
        p.io.insert(format!("acc{i}"), IoValue::Int(v.into()));
    }
    Ok(())
}

fn event(id: &DeviceId, ctx: &DecodeCtx, kind: EventKind, rest: &[u8]) -> DeviceEvent {
    let mut e = DeviceEvent::new(id.clone(), NAME, ctx.now, kind);
    if !rest.is_empty() {
        e.attributes
            .insert("payload".into(), IoValue::Text(hex::encode(rest)));
    }
    e
}
