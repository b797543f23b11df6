//! H02 binary frames: `$`, device id, then packed BCD fields.
//!
//! ```text
//! $ | id 5 B BCD (10 digits; 8 B = 15-digit IMEI + pad in 42-byte frames)
//!   | hh mm ss | dd mm yy                                 BCD
//!   | lat: dd mm mm mm  (ddmm.mmmm)                       BCD, 4 B
//!   | battery 1 B
//!   | lon: dd dm mm mm mF  (dddmm.mmmm + flags nibble)    BCD, 5 B
//!   | speed sss (knots) + course ccc                       BCD, 3 B
//!   | status 4 B (active-low alarm bits) | tail (ignored)
//! flags: bit 1 = valid fix, bit 2 = north, bit 3 = east
//! ```

use super::super::{wire::Reader, AckPlan, DecodeCtx, DecodeError, Decoded};
use super::decode::{apply_status, identify, KNOT_KMH};
use super::{H02Decoder, BINARY_LONG_ID, BINARY_SHORT, NAME};
use crate::model::{IoValue, Position, Record};

/// Nibbles of `bytes`, high first; `None` if any is not a decimal digit.
fn digits(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        let (h, l) = (b >> 4, b & 0x0f);
        if h > 9 || l > 9 {
            return None;
        }
        out.extend([h, l]);
    }
    Some(out)
}

fn number(d: &[u8]) -> u32 {
    d.iter().fold(0, |a, &x| a * 10 + u32::from(x))
}

/// Battery byte → percent (Traccar's table: 1–3 and 4–6 are levels, up to 100 a percent,
/// 0xF1–0xF6 a level again); `None` when the value means nothing.
fn battery_level(v: u8) -> Option<i64> {
    let v = i64::from(v);
    match v {
        1..=3 => Some((v - 1) * 10),
        4..=6 => Some((v - 1) * 20),
        7..=100 => Some(v),
        0xF1..=0xF6 => Some(v - 0xF0),
        _ => None,
    }
}

/// Decodes one binary frame (any length ≥ 32; 42 bytes means an 8-byte id).
pub(super) fn decode(
    dec: &mut H02Decoder,
    frame: &[u8],
    ctx: &DecodeCtx,
) -> Result<Decoded, DecodeError> {
    if frame.len() < BINARY_SHORT {
        return Err(DecodeError::Invalid(format!(
            "h02 binary frame of {} bytes is shorter than {BINARY_SHORT}",
            frame.len()
        )));
    }
    let bad = |field: &str, b: &[u8]| {
        DecodeError::Invalid(format!("h02 binary {field} {} is not BCD", hex::encode(b)))
    };
    let mut r = Reader::new(frame);
    r.skip(1, "marker")?;
    let id = if frame.len() == BINARY_LONG_ID {
        let mut s = hex::encode(r.bytes(8, "id")?);
        s.truncate(15);
        s
    } else {
        hex::encode(r.bytes(5, "id")?)
    };
    let (device, identity) = identify(dec, &id, "binary")?;
    let t = r.bytes(6, "time and date")?;
    let td = digits(t).ok_or_else(|| bad("time", t))?;
    let fix_time = super::super::wire::utc(
        2000 + number(&td[10..12]) as i32,
        number(&td[8..10]),
        number(&td[6..8]),
        number(&td[0..2]),
        number(&td[2..4]),
        number(&td[4..6]),
    )
    .ok_or_else(|| {
        DecodeError::Invalid(format!("h02 binary date/time {} invalid", hex::encode(t)))
    })?;
    let la = r.bytes(4, "latitude")?;
    let lad = digits(la).ok_or_else(|| bad("latitude", la))?;
    let battery = r.u8("battery")?;
    let lo = r.bytes(5, "longitude")?;
    // The last nibble is the flags, not a digit.
    let flags = lo[4] & 0x0f;
    let mut lo_digits = lo.to_vec();
    lo_digits[4] &= 0xf0;
    let lod = digits(&lo_digits).ok_or_else(|| bad("longitude", lo))?;
    let sc = r.bytes(3, "speed and course")?;
    let scd = digits(sc).ok_or_else(|| bad("speed/course", sc))?;
    let status = r.u32("status")?;

    let minutes = |d: &[u8]| f64::from(number(d)) / 10_000.0;
    let mut lat = f64::from(number(&lad[0..2])) + minutes(&lad[2..8]) / 60.0;
    let mut lon = f64::from(number(&lod[0..3])) + minutes(&lod[3..9]) / 60.0;
    if flags & 0x04 == 0 {
        lat = -lat;
    }
    if flags & 0x08 == 0 {
        lon = -lon;
    }
    let mut p = Position::new(device, NAME, fix_time, ctx.now, lat, lon, flags & 0x02 != 0);
    p.speed_kmh = f64::from(number(&scd[0..3])) * KNOT_KMH;
    p.course = f64::from(number(&scd[3..6]));
    if let Some(b) = battery_level(battery) {
        p.io.insert("battery_level".into(), IoValue::Int(b));
    }
    apply_status(&mut p, status);
    Ok(Decoded {
        kind: "binary position".into(),
        identity,
        records: vec![Record::Position(p)],
        // Traccar answers no binary frame; no reply is documented for them.
        ack: AckPlan::default(),
    })
}
