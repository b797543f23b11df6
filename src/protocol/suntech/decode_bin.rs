//! Suntech binary universal reports: `81` (status) / `82` (alert), length u16, 5-byte id
//! (written as hex, e.g. `0520001338`), mask u24, then the fields whose mask bit is set,
//! big-endian (field widths from the Suntech universal protocol as Traccar reads them).

use super::super::wire::Reader;
use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::decode::alert;
use super::NAME;
use crate::model::{DeviceId, IoValue, Position, Record};

/// A signed-magnitude coordinate: bit 31 is the sign, the rest 1e-6 degrees.
fn coord(v: u32) -> f64 {
    let m = f64::from(v & 0x7FFF_FFFF) / 1e6;
    if v & 0x8000_0000 != 0 {
        -m
    } else {
        m
    }
}

/// Decodes one binary report.
pub(super) fn decode(frame: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(frame);
    let kind = r.u8("type")?;
    if kind != 0x81 && kind != 0x82 {
        return Err(DecodeError::Invalid(format!(
            "suntech binary report type {kind:#04x} is not decoded"
        )));
    }
    r.skip(2, "length")?;
    let device = DeviceId::new(hex::encode(r.bytes(5, "device id")?))?;
    let mask = r.u24("mask")?;
    let bit = |n: u32| mask & (1 << n) != 0;
    if bit(1) {
        r.skip(1, "model")?;
    }
    if bit(2) {
        r.skip(3, "firmware")?;
    }
    let archive = bit(3) && r.u8("archive")? == 0;
    if !(bit(4) && bit(5)) {
        return Err(DecodeError::Invalid(
            "suntech binary report without date and time".into(),
        ));
    }
    let d = r.array::<6>("date and time")?;
    let time = super::super::wire::utc(
        2000 + i32::from(d[0]),
        d[1].into(),
        d[2].into(),
        d[3].into(),
        d[4].into(),
        d[5].into(),
    )
    .ok_or_else(|| DecodeError::Invalid(format!("suntech binary time {}", hex::encode(d))))?;
    for (n, len, what) in [(6, 4, "cell"), (7, 2, "mcc"), (8, 2, "mnc"), (9, 2, "lac")] {
        if bit(n) {
            r.skip(len, what)?;
        }
    }
    let rssi = if bit(10) { Some(r.u8("rssi")?) } else { None };
    let lat = if bit(11) {
        coord(r.u32("latitude")?)
    } else {
        0.0
    };
    let lon = if bit(12) {
        coord(r.u32("longitude")?)
    } else {
        0.0
    };
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, false);
    p.historical = archive;
    if let Some(v) = rssi {
        p.io.insert("rssi".into(), IoValue::Int(v.into()));
    }
    if bit(13) {
        p.speed_kmh = f64::from(r.u16("speed")?) / 100.0;
    }
    if bit(14) {
        p.course = f64::from(r.u16("course")?) / 100.0;
    }
    if bit(15) {
        p.satellites = r.u8("satellites")?;
    }
    if bit(16) {
        p.valid = r.u8("fix")? > 0;
    }
    if bit(17) {
        let input = r.u8("input")?;
        p.ignition = Some(input & 1 != 0);
        p.io.insert("input".into(), IoValue::Int(input.into()));
    }
    if bit(18) {
        p.io.insert("output".into(), IoValue::Int(r.u8("output")?.into()));
    }
    let mut alert_id = 0;
    if bit(19) {
        alert_id = r.u8("alert id")?;
        if kind == 0x82 {
            p.alarms.extend(alert(alert_id.into()));
        }
    }
    if bit(20) {
        r.skip(2, "alert modifier")?;
    }
    if bit(21) && alert_id == 59 {
        p.io.insert(
            "driver_id".into(),
            IoValue::Text(hex::encode(r.bytes(8, "driver id")?)),
        );
    }
    Ok(Decoded {
        kind: format!("binary {kind:#04x}").into(),
        identity: Some(device),
        records: vec![Record::Position(p)],
        ack: AckPlan::default(),
    })
}
