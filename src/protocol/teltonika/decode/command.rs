//! Codec 12 / 13: the device's replies to GPRS commands (and camera announcements).
//!
//! ```text
//! codec 12: type u8 | size u32 | payload          (type 0x06 = response, 0x0D = camera)
//! codec 13: type u8 | size u32 | timestamp u32 s | payload (size − 4 bytes)
//! ```
//! A printable payload is kept as trimmed text, anything else as lowercase hex. The server
//! sends nothing back for either codec.

use super::{hex, PROTOCOL};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Record};
use crate::protocol::wire::Reader;
use crate::protocol::{DecodeCtx, DecodeError};
use chrono::DateTime;

/// Codec 12 message type of the camera (photo transfer) messages.
const TYPE_CAMERA: u8 = 0x0D;

/// One codec 12 command: a `CommandResult` event, or an `Info { name: "camera" }` event.
pub(super) fn codec12(
    r: &mut Reader<'_>,
    device: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Record, DecodeError> {
    let kind = r.u8("command type")?;
    let size = r.u32("command size")? as usize;
    let payload = r.bytes(size, "command payload")?;
    if kind == TYPE_CAMERA {
        // Photo announcements and chunks: the download dialogue (server requests each chunk)
        // is not implemented, so record that the device has a photo, not the bytes.
        let mut e = DeviceEvent::new(
            device.clone(),
            PROTOCOL,
            ctx.now,
            EventKind::Info {
                name: "camera".into(),
            },
        );
        let mut p = Reader::new(payload);
        if let Ok(subtype) = p.u8("camera subtype") {
            e.attributes
                .insert("subtype".into(), IoValue::Int(subtype.into()));
        }
        if let Ok(photo) = p.u32("photo id") {
            e.attributes
                .insert("photo_id".into(), IoValue::Int(photo.into()));
        }
        e.attributes
            .insert("payload_len".into(), IoValue::Int(size as i64));
        return Ok(Record::Event(e));
    }
    let mut e = DeviceEvent::new(
        device.clone(),
        PROTOCOL,
        ctx.now,
        EventKind::CommandResult {
            text: payload_text(payload),
        },
    );
    e.attributes
        .insert("type".into(), IoValue::Int(kind.into()));
    Ok(Record::Event(e))
}

/// One codec 13 command: a `CommandResult` event at the device's timestamp.
pub(super) fn codec13(r: &mut Reader<'_>, device: &DeviceId) -> Result<Record, DecodeError> {
    let kind = r.u8("command type")?;
    let size = r.u32("command size")? as usize;
    let Some(text_len) = size.checked_sub(4) else {
        return Err(r
            .bad("command size", format!("{size} < 4 (timestamp)"))
            .into());
    };
    let ts = r.u32("command timestamp")?;
    let time = DateTime::from_timestamp(i64::from(ts), 0)
        .ok_or_else(|| r.bad("command timestamp", format!("{ts} s")))?;
    let payload = r.bytes(text_len, "command payload")?;
    let text = payload_text(payload);
    let mut e = DeviceEvent::new(
        device.clone(),
        PROTOCOL,
        time,
        EventKind::CommandResult { text: text.clone() },
    );
    e.attributes
        .insert("type".into(), IoValue::Int(kind.into()));
    // Tachograph driver card reports ("GTSL|…|<card id>|…"): field 4 is the driver id.
    if text.starts_with("GTSL") {
        if let Some(id) = text.split('|').nth(4) {
            e.attributes
                .insert("driver_unique_id".into(), IoValue::Text(id.to_string()));
        }
    }
    Ok(Record::Event(e))
}

/// Printable ASCII (plus CR/LF) as trimmed text, anything else as hex.
fn payload_text(payload: &[u8]) -> String {
    let printable = payload
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\r' || b == b'\n');
    if printable {
        String::from_utf8_lossy(payload).trim().to_string()
    } else {
        hex(payload)
    }
}
