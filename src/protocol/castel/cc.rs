//! The CC family (`@@` with a version other than 3 and 4) and the MPIP family (`$$`, no
//! version byte).

use super::decode::{answer, cc, position, Head};
use super::{encode, NAME};
use crate::model::{DeviceEvent, EventKind, IoValue, Position, Record};
use crate::protocol::wire::Reader;
use crate::protocol::{AckPlan, DecodeCtx, DecodeError, Decoded};

/// After a CC fix: `state u32 LE | battery u8 | odometer u32 LE m | geofence id, flags,
/// additional flags`.
fn cc_tail(r: &mut Reader<'_>, p: &mut Position) -> Result<(), DecodeError> {
    let state = u32::from_le_bytes(r.array("state")?);
    p.io.insert("status".into(), IoValue::Int(state.into()));
    p.io.insert(
        "battery_level".into(),
        IoValue::Int(r.u8("battery")?.into()),
    );
    p.odometer_m = Some(f64::from(u32::from_le_bytes(r.array("odometer")?)));
    r.skip(3, "geofence and flags")?;
    Ok(())
}

/// A message type without a decoder here: kept as an `info` event with the payload hex.
fn raw_event(h: &Head<'_>, r: &Reader<'_>, ctx: &DecodeCtx, name: String) -> Record {
    let mut e = DeviceEvent::new(h.id.clone(), NAME, ctx.now, EventKind::Info { name });
    e.attributes
        .insert("payload".into(), IoValue::Text(hex::encode(r.rest())));
    Record::Event(e)
}

/// CC: login 0x4001 (one fix, answered 0x8001) and heartbeat 0x4206 (history flag, count,
/// fixes with cell, answered 0x8206).
pub fn cc(h: &Head<'_>, r: &mut Reader<'_>, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let event =
        |kind: EventKind| Record::Event(DeviceEvent::new(h.id.clone(), NAME, ctx.now, kind));
    let mut out = Decoded {
        kind: format!("cc {:#06x}", h.typ).into(),
        ..Decoded::default()
    };
    match h.typ {
        cc::LOGIN => {
            let mut p = position(r, &h.id, ctx)?;
            cc_tail(r, &mut p)?;
            out.records = vec![event(EventKind::Login), Record::Position(p)];
            out.ack = answer(h, cc::LOGIN_RESPONSE, &[]);
        }
        cc::HEARTBEAT => {
            let history = r.u8("history flag")? == 1;
            for _ in 0..r.u8("count")? {
                let mut p = position(r, &h.id, ctx)?;
                cc_tail(r, &mut p)?;
                r.skip(4, "lac and cell id")?;
                p.historical = history;
                out.records.push(Record::Position(p));
            }
            out.records.push(event(EventKind::Heartbeat));
            out.ack = answer(h, cc::HEARTBEAT_RESPONSE, &[]);
        }
        other => out
            .records
            .push(raw_event(h, r, ctx, format!("cc {other:#06x}"))),
    }
    Ok(out)
}

/// MPIP: 0x4001 one fix (answered with the same type), 0x2001 `index u32 | time u32 | byte |
/// fix` (answered `@@ … 1001 | 00000000 | FF×8` without version byte), 0x4201/0x4202/0x4206
/// one fix, 0x4204 eight fixes each followed by 31 bytes.
pub fn mpip(h: &Head<'_>, r: &mut Reader<'_>, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let mut out = Decoded {
        kind: format!("mpip {:#06x}", h.typ).into(),
        ..Decoded::default()
    };
    match h.typ {
        0x4001 => {
            out.records.push(Record::Position(position(r, &h.id, ctx)?));
            out.ack = answer(h, 0x4001, &[]);
        }
        0x2001 => {
            r.skip(9, "index, time and flag")?;
            out.records.push(Record::Position(position(r, &h.id, ctx)?));
            let mut c = vec![0u8; 4];
            c.extend_from_slice(&[0xff; 8]);
            let f = encode::frame(None, &h.raw_id, 0x1001, &c);
            // The MPIP answer carries the `@@` marker although it has no version byte.
            let mut b = f.to_vec();
            b[0] = b'@';
            b[1] = b'@';
            let n = b.len() - 4;
            let crc = crate::protocol::wire::crc16_x25(&b[..n]);
            b[n..n + 2].copy_from_slice(&crc.to_le_bytes());
            out.ack = AckPlan::ack(b);
        }
        0x4201 | 0x4202 | 0x4206 => out.records.push(Record::Position(position(r, &h.id, ctx)?)),
        0x4204 => {
            for _ in 0..8 {
                out.records.push(Record::Position(position(r, &h.id, ctx)?));
                r.skip(31, "fix extras")?;
            }
        }
        other => out
            .records
            .push(raw_event(h, r, ctx, format!("mpip {other:#06x}"))),
    }
    Ok(out)
}
