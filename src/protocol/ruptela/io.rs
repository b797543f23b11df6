//! IO parameter ids with a meaning of their own; every other id is kept raw as `io_<id>`.
//!
//! Ids and scales are Ruptela's "FM IO parameter" list as installers see it (and as Traccar
//! reads them): facts about the devices, converted once here to the model's units.

use crate::model::{Alarm, IoValue, Position};

/// Two u64 halves of an ASCII driver id arrive as separate parameters; they are joined in
/// [`finish`] (CAN driver 126/127, tachograph driver 155/156).
const DRIVER_PAIRS: [(u16, u16); 2] = [(126, 127), (155, 156)];

fn unsigned(v: &[u8]) -> u64 {
    v.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

fn signed(v: &[u8]) -> i64 {
    let u = unsigned(v);
    let bits = (v.len() * 8) as u32;
    if bits == 0 || bits >= 64 {
        return u as i64;
    }
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// Applies one IO value (big-endian, 1/2/4/8 bytes) to the position.
pub fn apply_param(p: &mut Position, id: u16, v: &[u8]) {
    let u = unsigned(v);
    let flag = |p: &mut Position, a: Alarm, on: bool| {
        if on && !p.alarms.contains(&a) {
            p.alarms.push(a);
        }
    };
    match id {
        29 => p.power_v = Some(u as f64 * 0.001),
        30 => p.battery_v = Some(u as f64 * 0.001),
        32 => {
            p.io.insert("device_temp".into(), IoValue::Int(signed(v)));
        }
        34 => {
            p.io.insert("driver_unique_id".into(), IoValue::Text(hex::encode(v)));
        }
        65 => p.odometer_m = Some(u as f64),
        88 => flag(p, Alarm::Jamming, u > 0),
        134 => flag(p, Alarm::HarshBraking, u > 0),
        136 => flag(p, Alarm::HarshAcceleration, u > 0),
        251 | 409 => p.ignition = Some(u > 0),
        410 => flag(p, Alarm::Tow, u > 0),
        411 => flag(p, Alarm::Collision, u > 0),
        415 => flag(p, Alarm::GnssFault, u == 0),
        758 => flag(p, Alarm::Tamper, u == 1),
        _ => {
            p.io.insert(format!("io_{id}"), IoValue::Int(u as i64));
        }
    }
}

/// Joins split driver ids into `driver_unique_id` (ASCII of the two u64 halves).
pub fn finish(p: &mut Position) {
    for (a, b) in DRIVER_PAIRS {
        let (ka, kb) = (format!("io_{a}"), format!("io_{b}"));
        if let (Some(IoValue::Int(x)), Some(IoValue::Int(y))) = (p.io.get(&ka), p.io.get(&kb)) {
            let mut bytes = (*x as u64).to_be_bytes().to_vec();
            bytes.extend_from_slice(&(*y as u64).to_be_bytes());
            let text: String = String::from_utf8_lossy(&bytes)
                .trim_matches(char::from(0))
                .to_string();
            p.io.remove(&ka);
            p.io.remove(&kb);
            p.io.insert("driver_unique_id".into(), IoValue::Text(text));
        }
    }
}
