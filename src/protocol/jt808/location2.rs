//! 0x5501 / 0x5502: the e-lock dialect (JT701-style padlocks) that reuses the JT600 binary
//! location block inside JT/T 808 framing, with a one-byte serial. 0x5502 carries blind-area
//! (stored) fixes: historical, and Traccar marks them invalid.
//!
//! Block: date BCD DDMMYY hhmmss (UTC), lat BCD 8 digits `DDMM.MMMM`, lon BCD 9 digits
//! `DDDMM.MMMM` whose last nibble shares a byte with the flags (bit 0 valid, bit 1 north,
//! bit 2 east), speed BCD 2 digits (knots, as Traccar reads it), course BYTE ×2; then RSSI,
//! satellites, odometer DWORD km, battery BYTE, cell id DWORD, LAC WORD, product, status WORD,
//! alarm WORD and {id, len, value} items.

use super::decode::Env;
use super::msg;
use crate::model::{Alarm, IoValue, Position};
use crate::protocol::wire::{bcd_byte, utc, Reader, WireError};
use crate::protocol::DecodeError;

/// Knots to km/h (exact by definition of the knot).
const KNOT_KMH: f64 = 1.852;

fn bcd(r: &mut Reader, field: &'static str) -> Result<u32, WireError> {
    let b = r.u8(field)?;
    bcd_byte(b)
        .map(u32::from)
        .ok_or_else(|| r.bad(field, format!("{b:02x} is not BCD")))
}

/// `DDMM.MMMM`-style BCD digits to degrees.
fn degrees(raw: u32) -> f64 {
    f64::from(raw / 1_000_000) + f64::from(raw % 1_000_000) / 10_000.0 / 60.0
}

/// Decodes one 0x5501/0x5502 body.
pub(super) fn report(env: &Env, body: &[u8], msg_id: u16) -> Result<Position, DecodeError> {
    let mut r = Reader::new(body);
    let (day, month, year) = (
        bcd(&mut r, "day")?,
        bcd(&mut r, "month")?,
        bcd(&mut r, "year")?,
    );
    let (h, m, s) = (
        bcd(&mut r, "hour")?,
        bcd(&mut r, "minute")?,
        bcd(&mut r, "second")?,
    );
    let time = utc(2000 + year as i32, month, day, h, m, s);
    let mut lat = 0u32;
    for _ in 0..4 {
        lat = lat * 100 + bcd(&mut r, "latitude")?;
    }
    let mut lon = 0u32;
    for _ in 0..4 {
        lon = lon * 100 + bcd(&mut r, "longitude")?;
    }
    let last = r.u8("longitude digit and flags")?;
    let (digit, flags) = (last >> 4, last & 0x0f);
    if digit > 9 {
        return Err(r.bad("longitude", "last digit is not BCD").into());
    }
    lon = lon * 10 + u32::from(digit);
    let lat = degrees(lat) * if flags & 2 != 0 { 1.0 } else { -1.0 };
    let lon = degrees(lon) * if flags & 4 != 0 { 1.0 } else { -1.0 };
    let blind = msg_id == msg::LOCATION_2_BLIND;
    let mut p = env.position(time.unwrap_or(env.now), lat, lon, !blind && time.is_some());
    p.historical = blind;
    p.speed_kmh = f64::from(bcd(&mut r, "speed")?) * KNOT_KMH;
    p.course = f64::from(r.u8("course")?) * 2.0;
    p.io.insert("rssi".into(), IoValue::Int(r.u8("rssi")?.into()));
    p.satellites = r.u8("satellites")?;
    p.odometer_m = Some(f64::from(r.u32("odometer")?) * 1000.0);
    match r.u8("battery")? {
        b @ 0..=100 => {
            p.io.insert("battery_level".into(), IoValue::Int(b.into()));
        }
        0xaa | 0xab => {
            p.io.insert("charge".into(), IoValue::Bool(true));
        }
        _ => {}
    }
    let cid = r.u32("cell id")?;
    let lac = r.u16("lac")?;
    if cid > 0 && lac > 0 {
        p.io.insert("cell_id".into(), IoValue::Int(cid.into()));
        p.io.insert("lac".into(), IoValue::Int(lac.into()));
    }
    let product = r.u8("product")?;
    let status = r.u16("status")?;
    let alarm = r.u16("alarm")?;
    let bits: &[(u16, Alarm)] = match product {
        1 | 2 => &[(0, Alarm::LowPower)],
        3 => &[
            (0, Alarm::Overspeed),
            (1, Alarm::LowPower),
            (2, Alarm::Vibration),
            (3, Alarm::LowBattery),
            (5, Alarm::GeofenceEnter),
            (6, Alarm::GeofenceExit),
        ],
        _ => &[],
    };
    for (bit, a) in bits {
        if alarm & (1 << bit) != 0 {
            p.alarms.push(*a);
        }
    }
    if product == 3 && status & (1 << 5) != 0 {
        p.io.insert("blocked".into(), IoValue::Bool(true));
    }
    p.io.insert("status".into(), IoValue::Int(status.into()));
    while r.remaining() >= 2 {
        let id = r.u8("item id")?;
        let len = usize::from(r.u8("item length")?);
        if len > r.remaining() {
            break;
        }
        let v = r.bytes(len, "item value")?;
        let mut e = Reader::new(v);
        let ok: Result<(), WireError> = (|| {
            match id {
                0x02 => p.altitude_m = e.i16("altitude")?.into(),
                0x10 => {
                    p.io.insert(
                        "wake_source".into(),
                        IoValue::Int(e.u8("wake source")?.into()),
                    );
                }
                0x0b => {
                    p.io.insert(
                        "lock_command".into(),
                        IoValue::Int(e.u8("lock command")?.into()),
                    );
                    if (5..=6).contains(&len) {
                        p.io.insert("lock_card".into(), IoValue::Int(e.u32("lock card")?.into()));
                    } else if len >= 7 {
                        let pw = super::decode::ascii(e.bytes(6, "lock password")?);
                        p.io.insert("lock_password".into(), IoValue::Text(pw));
                    }
                    if len % 2 == 0 {
                        p.io.insert(
                            "unlock_result".into(),
                            IoValue::Int(e.u8("unlock result")?.into()),
                        );
                    }
                }
                0x0c => {
                    let (x, y, z) = (e.i16("x")?, e.i16("y")?, e.i16("z")?);
                    p.io.insert("tilt".into(), IoValue::Text(format!("[{x},{y},{z}]")));
                }
                0xfc => {
                    p.io.insert("geofence".into(), IoValue::Int(e.u8("geofence")?.into()));
                }
                _ => {}
            }
            Ok(())
        })();
        if ok.is_err() {
            p.io.insert(format!("item_{id:02x}"), IoValue::Text(hex::encode(v)));
        }
    }
    Ok(p)
}
