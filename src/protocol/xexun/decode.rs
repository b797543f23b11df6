//! Xexun report decoding: the optional full-form prefix, the RMC sentence (checksum
//! verified), the signal and status fields, the IMEI, and the full-form tail.

use super::NAME;
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire::{self, KNOT_KMH};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("xexun", field, value)
}

/// Decodes one report.
pub(super) fn decode(
    frame: &[u8],
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let text = String::from_utf8_lossy(frame);
    let line = text.trim();
    let imei_at = line
        .find("imei:")
        .ok_or_else(|| bad("report (no imei:)", line))?;
    let imei = line[imei_at + 5..]
        .split(',')
        .next()
        .unwrap_or_default()
        .trim();
    let device = DeviceId::new(imei)?;
    let tail: Vec<&str> = line[imei_at..].split(',').skip(1).collect();
    let Some(rmc_at) = line.find("RMC,").filter(|&i| i >= 2) else {
        // No RMC at all: a cell-only report (`,<phone>,,L,, imei:…`).
        return Ok(report(event(&device, line, ctx), device));
    };
    let start = rmc_at - 2;
    // `get`: the two bytes before `RMC,` may sit inside a replaced (non-UTF-8) character.
    let full_prefix = line
        .get(..start)
        .ok_or_else(|| bad("RMC (damaged prefix)", line))?;
    let star = line
        .get(start..imei_at)
        .ok_or_else(|| bad("RMC (after imei:)", line))?
        .find('*')
        .map(|i| start + i)
        .ok_or_else(|| bad("RMC (no checksum)", line))?;
    let cs = line
        .get(star + 1..star + 3)
        .ok_or_else(|| bad("checksum", line))?;
    let expected = u8::from_str_radix(cs, 16).map_err(|_| bad("checksum", cs))?;
    let computed = wire::xor(&line.as_bytes()[start..star]);
    if policy == ChecksumPolicy::Verify && expected != computed {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let rmc: Vec<&str> = line[start..star].split(',').collect();
    // After the checksum: `,<F|L>,[<status>,]…` up to the imei.
    let between: Vec<&str> = line
        .get(star + 3..imei_at)
        .ok_or_else(|| bad("checksum (runs into imei:)", line))?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut p = match position(&device, &rmc, ctx)? {
        Some(p) => p,
        None => return Ok(report(event(&device, line, ctx), device)),
    };
    if let Some(signal) = between.first() {
        p.io.insert("signal".into(), IoValue::Text(signal.to_string()));
    }
    if let Some(status) = between.get(1) {
        apply_status(&mut p, status);
    }
    if !full_prefix.is_empty() {
        full(&mut p, full_prefix, &tail);
    }
    Ok(report(Record::Position(p), device))
}

fn report(record: Record, device: DeviceId) -> Decoded {
    Decoded {
        kind: "report".into(),
        identity: Some(device),
        records: vec![record],
        ack: AckPlan::default(),
    }
}

/// A report without a usable fix: kept as an `info report` event.
fn event(device: &DeviceId, line: &str, ctx: &DecodeCtx) -> Record {
    let mut e = DeviceEvent::new(
        device.clone(),
        NAME,
        ctx.now,
        EventKind::Info {
            name: "report".into(),
        },
    );
    if line.contains(",L,") {
        e.attributes
            .insert("signal".into(), IoValue::Text("L".into()));
    }
    Record::Event(e)
}

fn two(d: &[u8], i: usize) -> u32 {
    u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0')
}

/// Degrees-minutes (`5303.4150`; one firmware sends `10.2368` = 0°10.2368′); an empty
/// hemisphere counts as north/east (as some firmwares leave it out).
fn coordinate(value: &str, hemi: &str, max: f64) -> Result<f64, DecodeError> {
    let hemi = match hemi {
        "" if max > 90.0 => "E",
        "" => "N",
        h => h,
    };
    parse_ddmm(value, hemi, max).ok_or_else(|| bad("coordinate", &format!("{value},{hemi}")))
}

/// The RMC fields; `None` when time or date is empty (no fix to store).
fn position(
    device: &DeviceId,
    f: &[&str],
    ctx: &DecodeCtx,
) -> Result<Option<Position>, DecodeError> {
    let get = |i: usize| f.get(i).copied().unwrap_or_default().trim();
    let (t, date) = (get(1).split('.').next().unwrap_or_default(), get(9));
    if t.is_empty() || date.is_empty() {
        return Ok(None);
    }
    let (tb, db) = (t.as_bytes(), date.as_bytes());
    let six = |b: &[u8]| b.len() == 6 && b.iter().all(u8::is_ascii_digit);
    if !six(tb) || !six(db) {
        return Err(bad("time/date", &format!("{t},{date}")));
    }
    let time = wire::utc(
        2000 + two(db, 4) as i32,
        two(db, 2),
        two(db, 0),
        two(tb, 0),
        two(tb, 2),
        two(tb, 4),
    )
    .ok_or_else(|| bad("time/date", &format!("{t},{date}")))?;
    let valid = match get(2) {
        "A" => true,
        "V" => false,
        other => return Err(bad("validity", other)),
    };
    let lat = coordinate(get(3), get(4), 90.0)?;
    let lon = coordinate(get(5), get(6), 180.0)?;
    let num = |i: usize, field: &str| -> Result<f64, DecodeError> {
        match get(i) {
            "" => Ok(0.0),
            s => s
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(field, s)),
        }
    };
    let mut p = Position::new(device.clone(), NAME, time, ctx.now, lat, lon, valid);
    p.speed_kmh = num(7, "speed")? * KNOT_KMH;
    p.course = num(8, "course")?;
    Ok(Some(p))
}

/// The status field: ignition changes and alarms (Traccar's table); kept in `io.event`.
fn apply_status(p: &mut Position, status: &str) {
    match status.to_ascii_lowercase().as_str() {
        "acc on" | "accstart" => p.ignition = Some(true),
        "acc off" | "accstop" => p.ignition = Some(false),
        "help me!" | "help me" => p.alarms.push(Alarm::Sos),
        "low battery" => p.alarms.push(Alarm::LowBattery),
        "move!" | "moved!" => p.alarms.push(Alarm::Movement),
        _ => {}
    }
    p.io.insert("event".into(), IoValue::Text(status.to_string()));
}

/// Full form: serial and phone before the RMC; satellites, altitude and `F|L:<volts>V`
/// after the imei.
fn full(p: &mut Position, prefix: &str, tail: &[&str]) {
    let mut pre = prefix.split(',');
    for key in ["serial", "phone"] {
        if let Some(v) = pre.next().map(str::trim).filter(|v| !v.is_empty()) {
            p.io.insert(key.into(), IoValue::Text(v.to_string()));
        }
    }
    p.satellites = tail
        .first()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if let Some(alt) = tail.get(1).and_then(|s| s.trim().parse::<f64>().ok()) {
        p.altitude_m = alt;
    }
    let volts = tail.get(2).and_then(|s| {
        let v = s.trim().get(2..)?;
        v[..v.find('V')?].parse::<f64>().ok()
    });
    p.power_v = volts;
}
