//! GT02 frame decoding: the header, size and CR LF, the IMEI, then one branch per type.

use super::{encode, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{self, Reader};
use crate::protocol::{AckPlan, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;

fn bad(detail: String) -> DecodeError {
    DecodeError::Invalid(format!("gt02: {detail}"))
}

/// Decodes one frame cut by the framer.
pub(super) fn decode(frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let (head, tail) = (frame.get(..2), frame.get(frame.len().saturating_sub(2)..));
    if head != Some(&[0x68, 0x68][..]) || tail != Some(&b"\r\n"[..]) || frame.len() < 5 {
        return Err(bad("no 68 68 … 0D 0A frame".into()));
    }
    let size = usize::from(frame[2]);
    if size + 5 != frame.len() {
        return Err(bad(format!(
            "size {size} but the frame carries {} bytes",
            frame.len() - 5
        )));
    }
    let mut r = Reader::new(&frame[3..frame.len() - 2]);
    let power = r.u8("power")?;
    let gsm = r.u8("gsm")?;
    let imei = r.bytes(8, "imei")?;
    let imei = wire::bcd_digits(imei)
        .filter(|d| d.starts_with('0'))
        .ok_or_else(|| bad(format!("imei not BCD: {}", hex::encode(imei))))?;
    let device = DeviceId::new(&imei[1..])?;
    let index = r.u16("index")?;
    let kind = r.u8("type")?;
    let event = |kind: EventKind| DeviceEvent::new(device.clone(), NAME, ctx.now, kind);
    let (label, record, ack) = match kind {
        0x10 => ("data", Record::Position(data(&device, &mut r, ctx)?), None),
        0x1A => {
            let mut e = event(EventKind::Heartbeat);
            e.attributes
                .insert("power".into(), IoValue::Int(power.into()));
            e.attributes.insert("rssi".into(), IoValue::Int(gsm.into()));
            let ack = Bytes::from_static(&encode::HEARTBEAT_ACK);
            ("heartbeat", Record::Event(e), Some(ack))
        }
        0x1C => {
            let n = r.u8("response length")?;
            let text = String::from_utf8_lossy(r.bytes(n.into(), "response")?);
            let text = text.trim_end_matches(['\r', '\n']).to_string();
            (
                "response",
                Record::Event(event(EventKind::CommandResult { text })),
                None,
            )
        }
        other => return Err(bad(format!("unknown type {other:#04x}"))),
    };
    let mut out = Decoded {
        kind: label.into(),
        identity: Some(device),
        records: vec![record],
        ack: ack.map(AckPlan::ack).unwrap_or_default(),
    };
    if let Some(Record::Position(p)) = out.records.first_mut() {
        p.io.insert("index".into(), IoValue::Int(index.into()));
    }
    Ok(out)
}

/// Type `10`: date/time, coordinates in 1/30000 minute, km/h, course, flags.
fn data(device: &DeviceId, r: &mut Reader, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    let t = r.array::<6>("date/time")?;
    let time = wire::utc(
        2000 + i32::from(t[0]),
        t[1].into(),
        t[2].into(),
        t[3].into(),
        t[4].into(),
        t[5].into(),
    )
    .ok_or_else(|| bad(format!("date/time {}", hex::encode(t))))?;
    let lat = f64::from(r.u32("latitude")?) / (60.0 * 30000.0);
    let lon = f64::from(r.u32("longitude")?) / (60.0 * 30000.0);
    let speed = r.u8("speed")?;
    let course = r.u16("course")?;
    r.skip(3, "reserved")?;
    let flags = r.u32("flags")?;
    let lat = if flags & 2 != 0 { lat } else { -lat };
    let lon = if flags & 4 != 0 { lon } else { -lon };
    if lat.abs() > 90.0 || lon.abs() > 180.0 {
        return Err(bad(format!("coordinates {lat}, {lon}")));
    }
    let mut p = Position::new(
        device.clone(),
        NAME,
        time,
        ctx.now,
        lat,
        lon,
        flags & 1 != 0,
    );
    p.speed_kmh = speed.into();
    p.course = course.into();
    Ok(p)
}
