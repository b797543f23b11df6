//! GT06 families without a GNSS fix: Wi-Fi scans (0x17, 0x69, 0xF3), multi-cell LBS reports
//! (0x18, 0x24, 0x28, 0x2C, 0x2E, 0x33, 0xA1, 0xA2) and LBS + status alarms (0x19, 0xA5,
//! 0xA7). They become info events (cells / access points kept as text for a later geolocation
//! step) or alarm events.

use super::super::{wire::Reader, AckPlan, DecodeCtx, DecodeError};
use super::decode::{event, Msg, Out};
use super::decode_gps::{alarm_code, read_lbs, read_time, Lbs};
use super::encode;
use crate::model::{DeviceId, EventKind, IoValue, Record};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// Six BCD bytes YY MM DD hh mm ss (Wi-Fi frames use BCD, unlike the GPS block).
fn bcd_time(t: &[u8; 6]) -> Option<DateTime<Utc>> {
    let d: Vec<u8> = t
        .iter()
        .map(|&b| super::super::wire::bcd_byte(b))
        .collect::<Option<_>>()?;
    super::super::wire::utc(
        2000 + i32::from(d[0]),
        d[1].into(),
        d[2].into(),
        d[3].into(),
        d[4].into(),
        d[5].into(),
    )
}

fn mac(b: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Wi-Fi scan. 0x17/0x69: BCD time(6), N × (MAC 6, RSSI 1) where N is the LEN byte, cell
/// count(1), MCC(2), MNC(1), cells × (LAC 2, CI 2, RSSI 1); answered with the CRC-less
/// time echo. 0xF3: BCD time(6), count(1), count × (2 unknown bytes, MAC 6); unanswered.
pub(super) fn wifi(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.body);
    let raw_time = r.array::<6>("wifi time")?;
    let time = bcd_time(&raw_time).unwrap_or(ctx.now);
    let mut wifi = String::new();
    let mut cells = String::new();
    let ack = if msg.proto == 0xF3 {
        let n = r.u8("wifi count")?;
        for _ in 0..n {
            r.skip(2, "wifi prefix")?;
            push_sep(&mut wifi);
            wifi.push_str(&mac(r.bytes(6, "wifi mac")?));
        }
        AckPlan::default()
    } else {
        for _ in 0..msg.len_field {
            let m = mac(r.bytes(6, "wifi mac")?);
            let rssi = r.u8("wifi rssi")?;
            push_sep(&mut wifi);
            let _ = write!(wifi, "{m},-{rssi}");
        }
        let n = r.u8("cell count")?;
        let mcc = r.u16("mcc")?;
        let mnc = r.u8("mnc")?;
        for _ in 0..n {
            let lac = r.u16("lac")?;
            let ci = r.u16("cid")?;
            let rssi = r.u8("cell rssi")?;
            push_sep(&mut cells);
            let _ = write!(cells, "{mcc},{mnc},{lac},{ci},-{rssi}");
        }
        AckPlan::ack(encode::wifi_reply(msg.proto, raw_time))
    };
    let mut e = event(
        device,
        time,
        EventKind::Info {
            name: "wifi".into(),
        },
    );
    insert_text(&mut e.attributes, "wifi", wifi);
    insert_text(&mut e.attributes, "cells", cells);
    let kind = match msg.proto {
        0x17 => "wifi 0x17",
        0x69 => "wifi 0x69",
        _ => "wifi 0xf3",
    };
    Ok(Out::new(kind, vec![Record::Event(e)], ack))
}

fn push_sep(s: &mut String) {
    if !s.is_empty() {
        s.push(';');
    }
}

fn insert_text(attrs: &mut std::collections::BTreeMap<String, IoValue>, key: &str, value: String) {
    if !value.is_empty() {
        attrs.insert(key.into(), IoValue::Text(value));
    }
}

/// Multi-cell LBS (0x18, 0x24, 0x28, 0x2C, 0x2E, 0x33, 0xA1, 0xA2): time(6), MCC(2), MNC(1/2),
/// 7 cells (6 for 0x33) of LAC(2|4) CI(3|8) RSSI(1), timing advance(1), then for
/// 0x18/0x2C/0x33/0xA2 a Wi-Fi list: count(1) × (MAC 6, RSSI 1). `wanway` (0x24 with LEN
/// 0x31, Wanway S20): the timing advance comes first and the cell count is a byte.
pub(super) fn multi_cell(device: &DeviceId, msg: &Msg, wanway: bool) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let time = read_time(&mut r)?;
    if wanway {
        r.skip(1, "timing advance")?;
    }
    let mcc = r.u16("mcc")?;
    let mnc: u16 = if mcc & 0x8000 != 0 {
        r.u16("mnc")?
    } else {
        r.u8("mnc")?.into()
    };
    let mcc = mcc & 0x7FFF;
    let long = matches!(msg.proto, 0xA1 | 0xA2 | 0x33);
    let count = if wanway {
        r.u8("cell count")?
    } else if msg.proto == 0x33 {
        6
    } else {
        7
    };
    let mut cells = String::new();
    for _ in 0..count {
        let (lac, ci) = if long {
            (u64::from(r.u32("lac")?), r.u64("cid")?)
        } else {
            (u64::from(r.u16("lac")?), u64::from(r.u24("cid")?))
        };
        let rssi = r.u8("cell rssi")?;
        if lac > 0 {
            push_sep(&mut cells);
            let _ = write!(cells, "{mcc},{mnc},{lac},{ci},-{rssi}");
        }
    }
    if !wanway {
        r.skip(1, "timing advance")?;
    }
    let mut wifi = String::new();
    if matches!(msg.proto, 0x18 | 0x2C | 0x33 | 0xA2) {
        let n = r.u8("wifi count")?;
        for _ in 0..n {
            let m = mac(r.bytes(6, "wifi mac")?);
            let rssi = r.u8("wifi rssi")?;
            push_sep(&mut wifi);
            let _ = write!(wifi, "{m},-{rssi}");
        }
    }
    let mut e = event(device, time, EventKind::Info { name: "lbs".into() });
    insert_text(&mut e.attributes, "cells", cells);
    insert_text(&mut e.attributes, "wifi", wifi);
    Ok(Out::new("multi-lbs", vec![Record::Event(e)], msg.ack()))
}

/// LBS + status without GPS: 0x19 (short cell block), 0xA5 (4G cell block) — info(1),
/// voltage level(1), GSM(1), alarm(1) … — and 0xA7 (4G cell + address request data, no
/// status). An alarm code or alarm bits make an alarm event; otherwise an info event.
pub(super) fn lbs_status(
    device: &DeviceId,
    msg: &Msg,
    ctx: &DecodeCtx,
) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let kind = if msg.proto == 0x19 {
        Lbs::Short
    } else {
        Lbs::Long
    };
    let cell = read_lbs(&mut r, kind)?;
    let mut alarm = None;
    let mut attrs = std::collections::BTreeMap::new();
    if msg.proto != 0xA7 {
        let info = r.u8("terminal info")?;
        let level = r.u8("voltage level")?;
        let gsm = r.u8("gsm signal")?;
        let code = r.u8("alarm")?;
        attrs.insert("status".into(), IoValue::Int(info.into()));
        attrs.insert(
            "battery_level".into(),
            IoValue::Int(i64::from(level) * 100 / 6),
        );
        attrs.insert("rssi".into(), IoValue::Int(gsm.into()));
        alarm = alarm_code(code);
    }
    if let Some(c) = cell {
        c.store(&mut attrs);
    }
    let kind = match alarm {
        Some(a) => EventKind::Alarm { alarm: a },
        None => EventKind::Info { name: "lbs".into() },
    };
    let mut e = event(device, ctx.now, kind);
    e.attributes = attrs;
    let label = match msg.proto {
        0x19 => "lbs status 0x19",
        0xA5 => "lbs alarm 0xa5",
        _ => "lbs address 0xa7",
    };
    Ok(Out::new(label, vec![Record::Event(e)], msg.ack()))
}
