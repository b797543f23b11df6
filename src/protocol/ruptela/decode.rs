//! Frame → records + ACK plan, one function per message family.

use super::encode::{self, ACK_DTC, ACK_RECORDS, NACK_RECORDS};
use super::io::apply_param;
use super::{frame, NAME};
use crate::model::{DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{self, Reader};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};

/// Command codes of device → server frames (one enum-like table, the only place they live).
pub mod cmd {
    pub const RECORDS: u8 = 1;
    pub const DEVICE_CONFIGURATION: u8 = 2;
    pub const DEVICE_VERSION: u8 = 3;
    pub const FIRMWARE_UPDATE: u8 = 4;
    pub const SMS_VIA_GPRS_RESPONSE: u8 = 7;
    pub const DTCS: u8 = 9;
    pub const IDENTIFICATION: u8 = 15;
    pub const HEARTBEAT: u8 = 16;
    pub const SET_IO: u8 = 17;
    pub const EXTENDED_RECORDS: u8 = 68;
}

/// Decodes one frame cut by [`frame::cut`] (or handed over whole by a test).
///
/// The length field is not re-checked: the framer cut by it, and captured frames whose
/// length was edited by hand still carry a CRC over everything between it and the CRC.
pub fn decode(
    frame: &[u8],
    ctx: &DecodeCtx,
    checksum: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    if frame.len() < frame::LEN_FIELD + frame::MIN_BODY + frame::CRC_LEN {
        return Err(DecodeError::Invalid(format!(
            "ruptela frame of {} bytes is shorter than the {} byte minimum",
            frame.len(),
            frame::LEN_FIELD + frame::MIN_BODY + frame::CRC_LEN
        )));
    }
    let body = &frame[frame::LEN_FIELD..frame.len() - frame::CRC_LEN];
    let crc_at = frame.len() - frame::CRC_LEN;
    let expected = u16::from_be_bytes([frame[crc_at], frame[crc_at + 1]]);
    let computed = encode::crc(body);
    if expected != computed && checksum == ChecksumPolicy::Verify {
        return Err(DecodeError::Checksum {
            expected: expected.into(),
            computed: computed.into(),
        });
    }
    let mut r = Reader::new(body);
    let imei = r.u64("imei")?;
    let device = DeviceId::new(format!("{imei:015}"))?;
    let command = r.u8("command")?;
    let mut out = match command {
        cmd::RECORDS | cmd::EXTENDED_RECORDS => {
            let mut d = records(&mut r, ctx, &device, command == cmd::EXTENDED_RECORDS)?;
            d.ack = AckPlan {
                accepted: Some(Bytes::from_static(&ACK_RECORDS)),
                refused: Some(Bytes::from_static(&NACK_RECORDS)),
            };
            d
        }
        cmd::DTCS => {
            let mut d = dtcs(&mut r, ctx, &device)?;
            d.ack = AckPlan::ack(Bytes::from_static(&ACK_DTC));
            d
        }
        cmd::IDENTIFICATION | cmd::HEARTBEAT => {
            let kind = if command == cmd::HEARTBEAT {
                EventKind::Heartbeat
            } else {
                EventKind::Login
            };
            Decoded {
                kind: if command == cmd::HEARTBEAT {
                    "heartbeat"
                } else {
                    "identification"
                }
                .into(),
                records: vec![Record::Event(DeviceEvent::new(
                    device.clone(),
                    NAME,
                    ctx.now,
                    kind,
                ))],
                ack: AckPlan::ack(encode::server_frame(command, &[1])),
                ..Decoded::default()
            }
        }
        cmd::DEVICE_CONFIGURATION
        | cmd::DEVICE_VERSION
        | cmd::FIRMWARE_UPDATE
        | cmd::SMS_VIA_GPRS_RESPONSE => {
            let text = String::from_utf8_lossy(r.rest()).trim().to_string();
            command_result(&device, ctx, command, text)
        }
        cmd::SET_IO => {
            let status = r.u8("set io status")?;
            command_result(&device, ctx, command, status.to_string())
        }
        other => {
            // Photo chunks (37) only arrive after a server request trackgate never sends;
            // any other command is kept as an event so nothing a device says is lost silently.
            let mut e = DeviceEvent::new(
                device.clone(),
                NAME,
                ctx.now,
                EventKind::Info {
                    name: format!("command {other}"),
                },
            );
            e.attributes
                .insert("payload".into(), IoValue::Text(hex::encode(r.rest())));
            Decoded {
                kind: format!("command {other}").into(),
                records: vec![Record::Event(e)],
                ..Decoded::default()
            }
        }
    };
    out.identity = Some(device);
    Ok(out)
}

fn command_result(device: &DeviceId, ctx: &DecodeCtx, command: u8, text: String) -> Decoded {
    let mut e = DeviceEvent::new(
        device.clone(),
        NAME,
        ctx.now,
        EventKind::CommandResult { text },
    );
    e.attributes
        .insert("command".into(), IoValue::Int(command.into()));
    Decoded {
        kind: format!("command reply {command}").into(),
        records: vec![Record::Event(e)],
        ..Decoded::default()
    }
}

fn unix(secs: u32, field: &'static str, offset: usize) -> Result<DateTime<Utc>, DecodeError> {
    Utc.timestamp_opt(secs.into(), 0).single().ok_or_else(|| {
        DecodeError::Wire(wire::WireError::Bad {
            offset,
            field,
            detail: format!("{secs} is not a time"),
        })
    })
}

/// Commands 1 and 68: `left u8 | count u8 | record…`.
fn records(
    r: &mut Reader<'_>,
    ctx: &DecodeCtx,
    device: &DeviceId,
    extended: bool,
) -> Result<Decoded, DecodeError> {
    let _left = r.u8("records left")?;
    let count = r.u8("record count")?;
    let mut out: Vec<Record> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let at = r.offset();
        let time = unix(r.u32("timestamp")?, "timestamp", at)?;
        let _ts_ext = r.u8("timestamp extension")?;
        // Extended records may be split in parts (high nibble: parts, low nibble: this
        // part's index); parts after the first add IO values to the record before them.
        let merge_into_previous = if extended {
            let ext = r.u8("record extension")?;
            let (parts, current) = (ext >> 4, ext & 0x0f);
            current > 0 && current <= parts
        } else {
            false
        };
        let _priority = r.u8("priority")?;
        let lon = r.i32("longitude")?;
        let lat = r.i32("latitude")?;
        let alt = r.u16("altitude")?;
        let course = r.u16("course")?;
        let sats = r.u8("satellites")?;
        let speed = r.u16("speed")?;
        let hdop = r.u8("hdop")?;
        let event = if extended {
            r.u16("event id")?
        } else {
            r.u8("event id")?.into()
        };
        let mut p = Position::new(
            device.clone(),
            NAME,
            time,
            ctx.now,
            f64::from(lat) / 1e7,
            f64::from(lon) / 1e7,
            true,
        );
        p.altitude_m = f64::from(alt) / 10.0;
        p.course = f64::from(course) / 100.0;
        p.satellites = sats;
        p.speed_kmh = f64::from(speed);
        p.io.insert("hdop".into(), IoValue::Float(f64::from(hdop) / 10.0));
        p.io.insert("event".into(), IoValue::Int(event.into()));
        // i32::MIN marks "no fix in this record"; the fix fields after it are then filler
        // (0xFF...), so none of them is kept.
        if lon == i32::MIN || lat == i32::MIN {
            p.valid = false;
            p.lat = 0.0;
            p.lon = 0.0;
            p.altitude_m = 0.0;
            p.course = 0.0;
            p.satellites = 0;
            p.speed_kmh = 0.0;
            p.io.remove("hdop");
        }
        for width in [1usize, 2, 4, 8] {
            let n = r.u8("io count")?;
            for _ in 0..n {
                let id = if extended {
                    r.u16("io id")?
                } else {
                    r.u8("io id")?.into()
                };
                let value = r.bytes(width, "io value")?;
                apply_param(&mut p, id, value);
            }
        }
        super::io::finish(&mut p);
        match (merge_into_previous, out.last_mut()) {
            (true, Some(Record::Position(prev))) => {
                prev.io.extend(p.io);
                prev.alarms.extend(p.alarms);
                prev.ignition = p.ignition.or(prev.ignition);
                prev.odometer_m = p.odometer_m.or(prev.odometer_m);
                prev.power_v = p.power_v.or(prev.power_v);
                prev.battery_v = p.battery_v.or(prev.battery_v);
            }
            _ => out.push(Record::Position(p)),
        }
    }
    Ok(Decoded {
        kind: if extended {
            "extended records"
        } else {
            "records"
        }
        .into(),
        records: out,
        ..Decoded::default()
    })
}

/// Command 9: diagnostic trouble codes, each with the place it was raised.
fn dtcs(r: &mut Reader<'_>, ctx: &DecodeCtx, device: &DeviceId) -> Result<Decoded, DecodeError> {
    let count = r.u8("dtc count")?;
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let _reserved = r.u8("reserved")?;
        let at = r.offset();
        let time = unix(r.u32("timestamp")?, "timestamp", at)?;
        let lon = r.i32("longitude")?;
        let lat = r.i32("latitude")?;
        let archive = r.u8("archive flag")?;
        let code = r.bytes(5, "dtc code")?;
        let mut p = Position::new(
            device.clone(),
            NAME,
            time,
            ctx.now,
            f64::from(lat) / 1e7,
            f64::from(lon) / 1e7,
            true,
        );
        p.historical = archive == 2;
        p.io.insert(
            "dtcs".into(),
            IoValue::Text(String::from_utf8_lossy(code).into_owned()),
        );
        out.push(Record::Position(p));
    }
    Ok(Decoded {
        kind: "dtcs".into(),
        records: out,
        ..Decoded::default()
    })
}
