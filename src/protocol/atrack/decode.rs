//! Frame → records + ACK plan: keep-alive, binary and text position reports, photo parts,
//! command answers.

use super::custom::{self, read_str};
use super::frame::{self, BINARY_HEADER, KEEPALIVE, KEEPALIVE_LEN};
use super::{encode, Settings, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{self, Reader};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};

/// Everything a decode needs besides the frame.
pub struct Ctx<'a> {
    pub ctx: &'a DecodeCtx,
    pub checksum: ChecksumPolicy,
    pub settings: &'a Settings,
    pub device: Option<&'a DeviceId>,
}

/// Decodes one frame cut by `frame::cut` (or one UDP datagram).
pub fn decode(f: &[u8], c: &Ctx<'_>) -> Result<Decoded, DecodeError> {
    match f {
        [0xfe, 0x02, ..] => keepalive(f),
        [b'$', ..] => answer(f, c),
        _ if frame::is_text(f) => super::text::decode(f, c),
        [b'@', b'P' | b'R', ..] => binary(f, c),
        _ => Err(DecodeError::Invalid("not an atrack frame".into())),
    }
}

/// Keep-alive `FE 02 | unit id | seq`: echoed as it came; it names the unit.
fn keepalive(f: &[u8]) -> Result<Decoded, DecodeError> {
    if f.len() != KEEPALIVE_LEN {
        return Err(DecodeError::Invalid(format!(
            "atrack keep-alive of {} bytes, not {KEEPALIVE_LEN}",
            f.len()
        )));
    }
    let id =
        unit_id(u64::from_be_bytes(f[2..10].try_into().map_err(|_| {
            DecodeError::Invalid("keep-alive unit id".into())
        })?))?;
    debug_assert_eq!(f[..2], KEEPALIVE);
    Ok(Decoded {
        kind: "keep-alive".into(),
        identity: Some(id),
        records: vec![],
        ack: AckPlan::ack(Bytes::copy_from_slice(f)),
    })
}

pub fn unit_id(raw: u64) -> Result<DeviceId, DecodeError> {
    Ok(DeviceId::new(raw.to_string())?)
}

/// Binary `@P`/`@R | CRC u16 | len u16 | seq u16 | unit id u64 | data`, CRC-16/ARC over
/// everything after the CRC. Answered `FE 02 | unit id | seq` once durable.
fn binary(f: &[u8], c: &Ctx<'_>) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(f);
    let prefix = r.u8("prefix")?;
    let kind = r.u8("prefix")?;
    let _ = prefix;
    let expected = r.u16("crc")?;
    let len = usize::from(r.u16("length")?);
    if len != r.remaining() {
        return Err(DecodeError::Invalid(format!(
            "atrack length field says {len} bytes, the frame holds {}",
            r.remaining()
        )));
    }
    let computed = encode::crc(&f[4..]);
    if computed != expected && c.checksum == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let seq = r.u16("sequence id")?;
    let raw = r.u64("unit id")?;
    let id = unit_id(raw)?;
    let ack = AckPlan::ack(encode::ack(raw, seq));
    debug_assert!(f.len() >= BINARY_HEADER);
    if kind == b'R' {
        // Photo part: `time u32 | index u8 | count u8 | len u16 | JPEG bytes`. Answered so
        // the unit goes on; not stored (no media store).
        r.skip(6, "photo header")?;
        let n = usize::from(r.u16("photo part length")?);
        r.skip(n, "photo part")?;
        return Ok(Decoded {
            kind: "photo part".into(),
            identity: Some(id),
            records: vec![],
            ack,
        });
    }
    let mut out = vec![];
    while r.remaining() > 0 {
        out.push(Record::Position(binary_record(&mut r, &id, c)?));
    }
    Ok(Decoded {
        kind: "binary report".into(),
        identity: Some(id),
        records: out,
        ack,
    })
}

fn unix(secs: i64) -> Result<DateTime<Utc>, DecodeError> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .ok_or_else(|| DecodeError::Invalid(format!("time {secs} is not a time")))
}

/// The record times: three u32 Unix times (GPS, RTC, send), or three 7-byte calendar times
/// (`year u16 | month | day | hour | minute | second`) on units set to long dates. A long
/// date starts with a year (2000–2099 = 0x07D0–0x0833), which no u32 time of those years
/// does (they start 0x386D–0xF486), so the layout is read off the bytes.
fn record_time(r: &mut Reader<'_>) -> Result<DateTime<Utc>, DecodeError> {
    let year = u16::from_be_bytes([
        *r.rest().first().unwrap_or(&0),
        *r.rest().get(1).unwrap_or(&0),
    ]);
    if (2000..2100).contains(&year) {
        let at = r.offset();
        let y = r.u16("year")?;
        let [mo, d, h, mi, s] = r.array::<5>("date")?;
        r.skip(14, "rtc and send times")?;
        return wire::utc(y.into(), mo.into(), d.into(), h.into(), mi.into(), s.into()).ok_or_else(
            || {
                DecodeError::Wire(wire::WireError::Bad {
                    offset: at,
                    field: "long date",
                    detail: format!("{y}-{mo}-{d} {h}:{mi}:{s}"),
                })
            },
        );
    }
    let t = unix(r.u32("gps time")?.into())?;
    r.skip(8, "rtc and send times")?;
    Ok(t)
}

/// One binary record: times, `lon i32 ×1e-6 | lat i32 ×1e-6 | course u16 | report id u8 |
/// odometer u32 ×0.1 km | HDOP u16 ×0.1 | inputs u8 | speed u16 km/h | outputs u8 | analog
/// u16 mV | driver id string | temp1 i16 ×0.1 | temp2 i16 ×0.1 | text message string`, then
/// the custom fields when the unit sends a form (`%CI…` string) or one is configured.
fn binary_record(r: &mut Reader<'_>, id: &DeviceId, c: &Ctx<'_>) -> Result<Position, DecodeError> {
    let time = record_time(r)?;
    let lon = r.i32("longitude")?;
    let lat = r.i32("latitude")?;
    let mut p = Position::new(
        id.clone(),
        NAME,
        time,
        c.ctx.now,
        f64::from(lat) / 1e6,
        f64::from(lon) / 1e6,
        true,
    );
    p.course = f64::from(r.u16("course")?);
    p.io.insert("event".into(), IoValue::Int(r.u8("report id")?.into()));
    p.odometer_m = Some(f64::from(r.u32("odometer")?) * 100.0);
    p.io.insert(
        "hdop".into(),
        IoValue::Float(f64::from(r.u16("hdop")?) / 10.0),
    );
    let inputs = r.u8("inputs")?;
    p.io.insert("input".into(), IoValue::Int(inputs.into()));
    p.ignition = Some(inputs & 1 != 0);
    p.speed_kmh = f64::from(r.u16("speed")?);
    p.io.insert("output".into(), IoValue::Int(r.u8("outputs")?.into()));
    p.io.insert("adc1".into(), IoValue::Int(r.u16("analog")?.into()));
    let driver = read_str(r, "driver id")?;
    if !driver.is_empty() {
        let d = String::from_utf8_lossy(driver).into_owned();
        p.io.insert("driver_id".into(), IoValue::Text(d));
    }
    for k in ["temp1", "temp2"] {
        let t = r.i16("temperature")?;
        p.io.insert(k.into(), IoValue::Float(f64::from(t) / 10.0));
    }
    let msg = read_str(r, "text message")?;
    if !msg.is_empty() {
        let m = String::from_utf8_lossy(msg).into_owned();
        p.io.insert("message".into(), IoValue::Text(m));
    }
    if r.rest().starts_with(b"%CI") {
        // The form names itself first (`%CI`); the fields follow it.
        let form = String::from_utf8_lossy(read_str(r, "form")?).into_owned();
        custom::read_binary(r, form.trim().trim_start_matches("%CI"), &mut p)?;
    } else if let Some(form) = &c.settings.form {
        custom::read_binary(r, form, &mut p)?;
    }
    Ok(p)
}

/// `$INFO=unit,model,firmware,imei,imsi,iccid,power,battery,sats,gsm,rssi,…` (names the unit)
/// or any other `$…` answer to a command (`$OK`), kept as the command's result.
fn answer(f: &[u8], c: &Ctx<'_>) -> Result<Decoded, DecodeError> {
    let text = String::from_utf8_lossy(f).trim().to_string();
    if let Some(info) = text.strip_prefix("$INFO=") {
        let v: Vec<&str> = info.split(',').collect();
        if v.len() < 11 || v[0].is_empty() || !v[0].bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::Invalid(format!(
                "atrack $INFO with {} fields",
                v.len()
            )));
        }
        let id = DeviceId::new(v[0])?;
        let mut e = DeviceEvent::new(
            id.clone(),
            NAME,
            c.ctx.now,
            EventKind::Info {
                name: "info".into(),
            },
        );
        e.attributes
            .insert("model".into(), IoValue::Text(v[1].into()));
        e.attributes
            .insert("version_fw".into(), IoValue::Text(v[2].into()));
        for (k, i, div) in [
            ("power", 6, 10.0),
            ("battery", 7, 10.0),
            ("sat", 8, 1.0),
            ("rssi", 10, 1.0),
        ] {
            if let Ok(n) = v[i].parse::<i64>() {
                e.attributes
                    .insert(k.into(), IoValue::Float(n as f64 / div));
            }
        }
        return Ok(Decoded {
            kind: "info".into(),
            identity: Some(id),
            records: vec![Record::Event(e)],
            ack: AckPlan::default(),
        });
    }
    let id = c
        .device
        .ok_or_else(|| DecodeError::NotIdentified { msg: text.clone() })?;
    let e = DeviceEvent::new(
        id.clone(),
        NAME,
        c.ctx.now,
        EventKind::CommandResult { text },
    );
    Ok(Decoded {
        kind: "command answer".into(),
        records: vec![Record::Event(e)],
        ..Decoded::default()
    })
}
