//! The text format: `@P,CRC,LEN,seq,unit id,record\r\n[record\r\n…]`. `CRC` is the
//! CRC-16/ARC (4 hex digits) of everything after its comma; `LEN` counts from the comma after
//! it to the `\r`. Records are the binary record's fields as decimal text, one line each.
//! Text reports get no answer (ATrack's text mode has none that we could source; Traccar
//! sends none either).

use super::decode::{unit_id, Ctx};
use super::{custom, encode, NAME};
use crate::model::{DeviceId, IoValue, Position, Record};
use crate::protocol::{wire, AckPlan, ChecksumPolicy, DecodeError, Decoded};
use chrono::{DateTime, TimeZone, Utc};

/// The fixed fields of a record line before the custom data.
const FIXED_FIELDS: usize = 17;

fn invalid(what: impl Into<String>) -> DecodeError {
    DecodeError::Invalid(what.into())
}

/// Decodes a text report.
pub fn decode(f: &[u8], c: &Ctx<'_>) -> Result<Decoded, DecodeError> {
    let text = std::str::from_utf8(f).map_err(|e| invalid(format!("atrack text: {e}")))?;
    let mut head = text.splitn(6, ',');
    let _prefix = head.next();
    let crc = head.next().unwrap_or_default();
    let len = head.next().unwrap_or_default();
    let _seq = head.next();
    let unit = head.next().unwrap_or_default();
    let body = head
        .next()
        .ok_or_else(|| invalid("atrack text without records"))?;
    if c.checksum == ChecksumPolicy::Verify {
        check_integrity(f, crc, len)?;
    }
    let raw: u64 = unit
        .parse()
        .map_err(|_| invalid(format!("atrack unit id {unit:?}")))?;
    let id = unit_id(raw)?;
    let mut out = vec![];
    for line in body.split("\r\n") {
        let line = line.trim_end_matches(['\r', '\n']);
        if !line.is_empty() {
            out.push(Record::Position(record(line, &id, c)?));
        }
    }
    Ok(Decoded {
        kind: "text report".into(),
        identity: Some(id),
        records: out,
        ack: AckPlan::default(),
    })
}

/// The CRC field against the CRC of the bytes after it, and the length field against the
/// frame (a stream frame was cut by it; a datagram was not).
fn check_integrity(f: &[u8], crc: &str, len: &str) -> Result<(), DecodeError> {
    let expected =
        u16::from_str_radix(crc, 16).map_err(|_| invalid(format!("atrack CRC {crc:?}")))?;
    let crc_end = 3 + crc.len();
    let computed = encode::crc(&f[crc_end.min(f.len())..]);
    if computed != expected {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let declared: usize = len
        .parse()
        .map_err(|_| invalid(format!("atrack length {len:?}")))?;
    let from = crc_end + 1 + len.len();
    let have = f.len().saturating_sub(from);
    if have != declared && have != declared + 1 {
        return Err(invalid(format!(
            "atrack length field says {declared} bytes, the frame holds {have}"
        )));
    }
    Ok(())
}

fn time(s: &str) -> Result<DateTime<Utc>, DecodeError> {
    let bad = || invalid(format!("atrack time {s:?}"));
    if s.len() == 14 {
        let n = |a: usize, b: usize| {
            s.get(a..b)
                .and_then(|x| x.parse::<u32>().ok())
                .ok_or_else(bad)
        };
        let y = n(0, 4)?;
        return wire::utc(
            y as i32,
            n(4, 6)?,
            n(6, 8)?,
            n(8, 10)?,
            n(10, 12)?,
            n(12, 14)?,
        )
        .ok_or_else(bad);
    }
    let secs: i64 = s.parse().map_err(|_| bad())?;
    Utc.timestamp_opt(secs, 0).single().ok_or_else(bad)
}

/// One record line: `gps time, rtc time, send time, lon ×1e-6, lat ×1e-6, course, report id,
/// odometer ×0.1 km, HDOP ×0.1, inputs, speed km/h, outputs, analog mV, driver id, temp1 ×0.1,
/// temp2 ×0.1, text message[, custom data]`.
fn record(line: &str, id: &DeviceId, c: &Ctx<'_>) -> Result<Position, DecodeError> {
    let v: Vec<&str> = line.splitn(FIXED_FIELDS + 1, ',').collect();
    if v.len() < FIXED_FIELDS {
        return Err(invalid(format!("atrack record of {} fields", v.len())));
    }
    let int = |i: usize| -> Result<i64, DecodeError> {
        v[i].trim()
            .parse()
            .map_err(|_| invalid(format!("atrack field {i}: {:?}", v[i])))
    };
    let mut p = Position::new(
        id.clone(),
        NAME,
        time(v[0])?,
        c.ctx.now,
        int(4)? as f64 / 1e6,
        int(3)? as f64 / 1e6,
        true,
    );
    p.course = int(5)? as f64;
    p.io.insert("event".into(), IoValue::Int(int(6)?));
    let odo: f64 = v[7]
        .parse()
        .map_err(|_| invalid(format!("atrack odometer {:?}", v[7])))?;
    p.odometer_m = Some(odo * 100.0);
    p.io.insert("hdop".into(), IoValue::Float(int(8)? as f64 / 10.0));
    let inputs = int(9)?;
    p.io.insert("input".into(), IoValue::Int(inputs));
    p.ignition = Some(inputs & 1 != 0);
    p.speed_kmh = int(10)? as f64;
    p.io.insert("output".into(), IoValue::Int(int(11)?));
    p.io.insert("adc1".into(), IoValue::Int(int(12)?));
    if !v[13].is_empty() {
        p.io.insert("driver_id".into(), IoValue::Text(v[13].into()));
    }
    p.io.insert("temp1".into(), IoValue::Float(int(14)? as f64 / 10.0));
    p.io.insert("temp2".into(), IoValue::Float(int(15)? as f64 / 10.0));
    let msg = v[16].trim_matches(|ch: char| ch == '\u{1a}' || ch.is_whitespace());
    if !msg.is_empty() {
        p.io.insert("message".into(), IoValue::Text(msg.into()));
    }
    if let Some(data) = v.get(FIXED_FIELDS) {
        let values: Vec<&str> = data.split(',').collect();
        if data.starts_with("%CI") {
            custom::read_text(&values[1..], values[0].trim_start_matches("%CI"), &mut p);
        } else if let Some(form) = &c.settings.form {
            custom::read_text(&values, form, &mut p);
        }
    }
    Ok(p)
}
