//! Suntech text reports: dispatch by prefix to the legacy (`ST300STT;…`), personal
//! (`ST910;…`), ST4xx and universal (`STT;<id>;<mask>;…`) layouts, following the field
//! orders of the Suntech protocol documents as Traccar reads them.

use super::super::{AckPlan, DecodeCtx, DecodeError, Decoded};
use super::{decode_bin, Layout, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use chrono::{DateTime, NaiveDateTime, Utc};

/// A field cursor over one report that names the field it fails on.
pub(super) struct Fields<'a> {
    f: Vec<&'a str>,
    pub i: usize,
}

fn invalid(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

impl<'a> Fields<'a> {
    fn new(text: &'a str) -> Self {
        Fields {
            f: text.split(';').collect(),
            i: 0,
        }
    }
    fn left(&self) -> usize {
        self.f.len().saturating_sub(self.i)
    }
    fn next(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let v = self.f.get(self.i).copied().ok_or_else(|| {
            invalid(format!(
                "suntech report ends before {what} (field {})",
                self.i
            ))
        })?;
        self.i += 1;
        Ok(v)
    }
    fn skip(&mut self, n: usize) {
        self.i += n;
    }
    fn parse<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, DecodeError> {
        let i = self.i;
        let s = self.next(what)?;
        s.trim_start_matches('+')
            .parse()
            .map_err(|_| invalid(format!("suntech field {i} ({what}): {s:?}")))
    }
    fn time(&mut self) -> Result<DateTime<Utc>, DecodeError> {
        let d = self.next("date")?;
        let t = self.next("time")?;
        NaiveDateTime::parse_from_str(&format!("{d}{t}"), "%Y%m%d%H:%M:%S")
            .map(|n| n.and_utc())
            .map_err(|_| invalid(format!("suntech date/time {d:?} {t:?}")))
    }
}

fn finish(kind: String, device: DeviceId, records: Vec<Record>) -> Decoded {
    Decoded {
        kind: kind.into(),
        identity: Some(device),
        records,
        // Suntech devices expect no answer (Traccar sends none).
        ack: AckPlan::default(),
    }
}

/// Decodes one report cut by the framer.
pub(super) fn decode_frame(
    frame: &[u8],
    ctx: &DecodeCtx,
    layout: &Layout,
) -> Result<Decoded, DecodeError> {
    if frame.get(1) == Some(&0) {
        return decode_bin::decode(frame, ctx);
    }
    // UEX data blocks may be binary; every field trackgate reads is ASCII.
    let owned = String::from_utf8_lossy(frame);
    let text = owned.trim_end_matches(['\r', '\n']);
    let mut f = Fields::new(text);
    let prefix = f.next("prefix")?;
    if prefix == "CRR" {
        return Err(invalid("suntech crash report (CRR) is not decoded"));
    }
    if prefix.len() < 5 {
        return universal(prefix, &mut f, ctx);
    }
    if !prefix.is_ascii() {
        return Err(invalid(format!("suntech prefix {prefix:?} is not ASCII")));
    }
    let (model, kind) = prefix.split_at(5.min(prefix.len()));
    if kind == "HTE" {
        let device = DeviceId::new(f.next("id")?)?;
        let mut e = DeviceEvent::new(
            device.clone(),
            NAME,
            ctx.now,
            EventKind::Info {
                name: "travel".into(),
            },
        );
        if let Some(d) = f.f.last().filter(|s| !s.is_empty()) {
            e.attributes
                .insert("driver_id".into(), IoValue::Text(d.to_string()));
        }
        return Ok(finish("HTE".into(), device, vec![Record::Event(e)]));
    }
    if model.starts_with("ST9") {
        return st9(&mut f, ctx, layout);
    }
    match kind {
        "ALV" => {
            let device = DeviceId::new(f.next("id")?)?;
            Ok(finish("keep-alive".into(), device, vec![]))
        }
        "CMD" => {
            f.skip(1);
            let device = DeviceId::new(f.next("id")?)?;
            let text = f.f[f.i.min(f.f.len())..].join(";");
            let e = DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::CommandResult { text },
            );
            Ok(finish(
                "command reply".into(),
                device,
                vec![Record::Event(e)],
            ))
        }
        _ if model.starts_with("ST4") => st4(kind, &mut f, ctx),
        _ => legacy(model, kind, &mut f, ctx, layout),
    }
}

/// Alert ids of `ALT` reports (Suntech alert table as Traccar maps it; 42 is the panic
/// button of the universal protocol).
pub(super) fn alert(id: u32) -> Option<Alarm> {
    Some(match id {
        1 => Alarm::Overspeed,
        5 => Alarm::GeofenceExit,
        6 => Alarm::GeofenceEnter,
        14 => Alarm::LowBattery,
        15 => Alarm::Vibration,
        16 => Alarm::Collision,
        40 => Alarm::PowerOn,
        41 => Alarm::PowerCut,
        42 => Alarm::Sos,
        46 => Alarm::HarshAcceleration,
        47 => Alarm::HarshBraking,
        50 => Alarm::Jamming,
        _ => return None,
    })
}

/// Emergency ids of `EMG` reports.
fn emergency(id: u32) -> Option<Alarm> {
    Some(match id {
        1 => Alarm::Sos,
        3 => Alarm::PowerCut,
        5 | 6 => Alarm::Door,
        7 => Alarm::Movement,
        8 => Alarm::Vibration,
        _ => return None,
    })
}

fn coords(f: &mut Fields) -> Result<(f64, f64), DecodeError> {
    Ok((f.parse("latitude")?, f.parse("longitude")?))
}

/// `ST910;<Location|Emergency|Alert>;<id>;[<sw>;]<date>;<time>;[<cell>;]<lat>;<lon>;<speed>;
/// <course>;<fix>;[<odometer>;]…`
fn st9(f: &mut Fields, ctx: &DecodeCtx, layout: &Layout) -> Result<Decoded, DecodeError> {
    let kind = f.next("type")?;
    let device = DeviceId::new(f.next("id")?)?;
    if !matches!(kind, "Location" | "Emergency" | "Alert") {
        return Ok(finish(format!("ST910 {kind}"), device, vec![]));
    }
    if kind != "Alert" || !layout.st910_extended {
        f.skip(1); // firmware version
    }
    let time = f.time()?;
    if layout.st910_extended {
        f.skip(1); // cell
    }
    let (lat, lon) = coords(f)?;
    let speed: f64 = f.parse("speed")?;
    let course: f64 = f.parse("course")?;
    let valid = f.next("fix")? == "1";
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, valid);
    p.speed_kmh = speed;
    p.course = course;
    if kind != "Location" {
        p.alarms.push(Alarm::General);
    }
    if layout.st910_extended {
        p.odometer_m = f.parse::<f64>("odometer").ok();
    }
    Ok(finish(
        format!("ST910 {kind}"),
        device,
        vec![Record::Position(p)],
    ))
}

/// `ST4xxSTT;<id>;<sw>;<model>;` seven cells, battery, mode, index, status, [collab,]
/// date, time, lat, lon, speed, course, sats, fix.
fn st4(kind: &str, f: &mut Fields, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let device = DeviceId::new(f.next("id")?)?;
    if kind != "STT" && kind != "ALT" {
        return Ok(finish(format!("ST4 {kind}"), device, vec![]));
    }
    f.skip(2); // firmware, model
    f.skip(7 * 6); // seven cells: cid, mcc, mnc, rssi/lac, lac/rssi, timing advance
    let battery: f64 = f.parse("battery")?;
    let archive = f.next("mode")? == "0";
    f.skip(2); // index, status
    if f.f.get(f.i).is_some_and(|s| s.len() == 3) {
        f.skip(1); // collaborative network
    }
    let time = f.time()?;
    let (lat, lon) = coords(f)?;
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, false);
    p.speed_kmh = f.parse("speed")?;
    p.course = f.parse("course")?;
    p.satellites = f.parse::<u32>("satellites")?.min(255) as u8;
    p.valid = f.next("fix")? == "1";
    p.battery_v = Some(battery);
    p.historical = archive;
    Ok(finish(
        format!("ST4 {kind}"),
        device,
        vec![Record::Position(p)],
    ))
}

/// Legacy SA200/ST2xx/ST3xx/ST5xx/ST6xx reports.
fn legacy(
    model: &str,
    kind: &str,
    f: &mut Fields,
    ctx: &DecodeCtx,
    layout: &Layout,
) -> Result<Decoded, DecodeError> {
    let device = DeviceId::new(f.next("id")?)?;
    if !matches!(kind, "STT" | "EMG" | "EVT" | "ALT" | "UEX") {
        return Ok(finish(format!("{model} {kind}"), device, vec![]));
    }
    if model.starts_with("ST3") || model == "ST500" || model == "ST600" {
        f.skip(1); // model
    }
    f.skip(1); // firmware
    let time = f.time()?;
    if model != "ST500" {
        f.skip(1); // cell id
        if model == "ST600" {
            f.skip(4); // mcc, mnc, lac, rx level
        }
    }
    let (lat, lon) = coords(f)?;
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, false);
    p.speed_kmh = f.parse("speed")?;
    p.course = f.parse("course")?;
    p.satellites = f.parse::<u32>("satellites")?.min(255) as u8;
    p.valid = f.next("fix")? == "1";
    p.odometer_m = Some(f.parse("odometer")?);
    p.power_v = Some(f.parse("power")?);
    let io = f.next("io")?;
    let b = io.as_bytes();
    if b.len() >= 6 {
        p.ignition = Some(b[0] == b'1');
        for (k, &c) in ["in1", "in2", "in3", "out1", "out2"].iter().zip(&b[1..6]) {
            p.io.insert((*k).into(), IoValue::Bool(c == b'1'));
        }
    }
    match kind {
        "STT" => {
            p.io.insert("status".into(), IoValue::Int(f.parse("mode")?));
            p.io.insert("index".into(), IoValue::Int(f.parse("message number")?));
        }
        "EMG" => p.alarms.extend(emergency(f.parse("emergency id")?)),
        "EVT" => drop(p.io.insert("event".into(), IoValue::Int(f.parse("event id")?))),
        "ALT" => p.alarms.extend(alert(f.parse("alert id")?)),
        _ => uex(&mut p, f)?,
    }
    if layout.hbm {
        hbm_tail(&mut p, f, layout);
    }
    Ok(finish(
        format!("{model} {kind}"),
        device,
        vec![Record::Position(p)],
    ))
}

/// `UEX` user data: `<length>;<data>` where data is `;`-separated `key=value` items, a
/// `CabAVL` fuel message, or a `GTSL|…|driver id|…` reader record.
fn uex(p: &mut Position, f: &mut Fields) -> Result<(), DecodeError> {
    let mut remaining: i64 = f.parse("data length")?;
    let mut total_fuel = 0.0;
    while remaining > 0 && f.left() > 0 {
        let item = f.next("data")?;
        remaining -= item.len() as i64 + 1;
        let item = item.trim_end_matches(['\r', '\n']);
        if item.starts_with("CabAVL") {
            let d: Vec<&str> = item.split(',').collect();
            for (k, idx) in [("fuel1", 2), ("fuel2", 3)] {
                if let Some(v) = d
                    .get(idx)
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|v| *v > 0.0)
                {
                    total_fuel += v;
                    p.io.insert(k.into(), IoValue::Float(v));
                }
            }
        } else if item.starts_with("GTSL") {
            if let Some(id) = item.split('|').nth(4) {
                p.io.insert("driver_id".into(), IoValue::Text(id.to_string()));
            }
        } else if let Some((k, v)) = item.split_once('=') {
            let v = v.trim();
            let v = v.split('.').next().unwrap_or(v);
            let Ok(n) = i64::from_str_radix(v, 16) else {
                continue;
            };
            let kb = k.as_bytes();
            match (kb.first(), kb.get(2)) {
                (Some(b't'), Some(&c)) => {
                    drop(p.io.insert(format!("temp{}", c as char), IoValue::Int(n)))
                }
                (Some(b'N'), Some(&c)) => {
                    total_fuel += n as f64;
                    p.io.insert(format!("fuel{}", c as char), IoValue::Int(n));
                }
                (Some(b'Q'), _) => drop(p.io.insert("driving_quality".into(), IoValue::Int(n))),
                _ => {}
            }
        }
    }
    if total_fuel > 0.0 {
        p.io.insert("fuel".into(), IoValue::Float(total_fuel));
    }
    f.skip(1); // checksum
    Ok(())
}

/// The optional legacy tail: hour meter (minutes), backup battery, archive flag, [3 ADC],
/// [RPM], driver id + "valid" flag, [3 temperatures].
fn hbm_tail(p: &mut Position, f: &mut Fields, layout: &Layout) {
    let next = |f: &mut Fields| -> Option<String> { f.next("tail").ok().map(str::to_string) };
    if let Some(h) = next(f).and_then(|s| s.parse::<i64>().ok()) {
        p.io.insert("hours".into(), IoValue::Int(h * 60_000));
    }
    if let Some(b) = next(f).and_then(|s| s.parse::<f64>().ok()) {
        p.battery_v = Some(b);
    }
    if next(f).as_deref() == Some("0") {
        p.historical = true;
    }
    if layout.adc {
        for i in 1..=3 {
            if let Some(v) = next(f).and_then(|s| s.parse::<f64>().ok()) {
                p.io.insert(format!("adc{i}"), IoValue::Float(v));
            }
        }
    }
    if layout.rpm {
        if let Some(v) = next(f).and_then(|s| s.parse::<i64>().ok()) {
            p.io.insert("rpm".into(), IoValue::Int(v));
        }
    }
    if f.left() >= 2 {
        let id = next(f).unwrap_or_default();
        if next(f).as_deref() == Some("1") && !id.is_empty() {
            p.io.insert("driver_id".into(), IoValue::Text(id));
        }
    }
    if layout.temp {
        for i in 1..=3 {
            let Some(t) = next(f) else { break };
            let v = t.split_once(':').map_or(t.as_str(), |(_, v)| v);
            if let Ok(v) = v.parse::<f64>() {
                p.io.insert(format!("temp{i}"), IoValue::Float(v));
            }
        }
    }
}

/// Universal protocol: `<type>;<id>;<mask hex>;` then the fields whose mask bit is set.
fn universal(kind: &str, f: &mut Fields, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let device = DeviceId::new(f.next("id")?)?;
    match kind {
        "ALV" => return Ok(finish("keep-alive".into(), device, vec![])),
        "RES" => {
            let text = f.f[f.i.min(f.f.len())..].join(";");
            let e = DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::CommandResult { text },
            );
            return Ok(finish(
                "command reply".into(),
                device,
                vec![Record::Event(e)],
            ));
        }
        "STT" | "ALT" | "BLE" | "UEX" => {}
        _ => return Ok(finish(kind.to_string(), device, vec![])),
    }
    let mask: u32 = if kind == "BLE" {
        0b1_1000_0011_0110
    } else {
        let m = f.next("mask")?;
        u32::from_str_radix(m, 16).map_err(|_| invalid(format!("suntech mask {m:?}")))?
    };
    let bit = |n: u32| mask & (1 << n) != 0;
    if bit(1) {
        f.skip(1); // model
    }
    if bit(2) {
        f.skip(1); // firmware
    }
    let archive = bit(3) && f.next("archive")? == "0";
    if !(bit(4) && bit(5)) {
        return Err(invalid("suntech universal report without date and time"));
    }
    let time = f.time()?;
    for n in 6..=10 {
        if bit(n) {
            f.skip(1); // cell id, mcc, mnc, lac, rssi
        }
    }
    let lat = if bit(11) { f.parse("latitude")? } else { 0.0 };
    let lon = if bit(12) { f.parse("longitude")? } else { 0.0 };
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, kind == "BLE");
    p.historical = archive;
    if kind != "BLE" {
        if bit(13) {
            p.speed_kmh = f.parse("speed")?;
        }
        if bit(14) {
            p.course = f.parse("course")?;
        }
        if bit(15) {
            p.satellites = f.parse::<u32>("satellites")?.min(255) as u8;
        }
        if bit(16) {
            p.valid = f.next("fix")? == "1";
        }
        if bit(17) {
            let i: i64 = f.parse("input")?;
            p.io.insert("input".into(), IoValue::Int(i));
            // IN_STATE bit 0 is the ignition input.
            p.ignition = Some(i % 10 == 1);
        }
        if bit(18) {
            p.io.insert("output".into(), IoValue::Int(f.parse("output")?));
        }
        if kind == "ALT" && bit(19) {
            let id: u32 = f.parse("alert id")?;
            p.io.insert("alert_id".into(), IoValue::Int(id.into()));
            p.alarms.extend(alert(id));
        } else if kind == "UEX" {
            uex(&mut p, f)?;
        } else if kind == "STT" {
            for (n, k) in [(19, "mode"), (20, "reason"), (21, "index")] {
                if bit(n) {
                    p.io.insert(k.into(), IoValue::Int(f.parse(k)?));
                }
            }
        }
    }
    Ok(finish(kind.to_string(), device, vec![Record::Position(p)]))
}
