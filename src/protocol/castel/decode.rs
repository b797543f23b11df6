//! Frame → records + ACK plan: the header, then the SC (versions 3 and 4), CC (other
//! versions) or MPIP (`$$`) message families.

use super::{encode, NAME};
use crate::model::{Alarm, DeviceEvent, DeviceId, EventKind, IoValue, Position, Record};
use crate::protocol::wire::{self, Reader};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::{BufMut, BytesMut};

/// SC message types (device → server, and the answers).
pub mod sc {
    pub const LOGIN: u16 = 0x1001;
    pub const LOGIN_RESPONSE: u16 = 0x9001;
    pub const LOGOUT: u16 = 0x1002;
    pub const HEARTBEAT: u16 = 0x1003;
    pub const HEARTBEAT_RESPONSE: u16 = 0x9003;
    pub const GPS: u16 = 0x4001;
    pub const ALARM: u16 = 0x4007;
    pub const GPS_SLEEP: u16 = 0x4009;
    pub const FUEL: u16 = 0x400e;
    pub const AGPS_REQUEST: u16 = 0x5101;
    pub const DTCS_PASSENGER: u16 = 0x4006;
    pub const DTCS_COMMERCIAL: u16 = 0x400b;
    pub const QUERY_RESPONSE: u16 = 0xa002;
    pub const CURRENT_LOCATION: u16 = 0xb001;
}

/// CC message types.
pub mod cc {
    pub const LOGIN: u16 = 0x4001;
    pub const LOGIN_RESPONSE: u16 = 0x8001;
    pub const HEARTBEAT: u16 = 0x4206;
    pub const HEARTBEAT_RESPONSE: u16 = 0x8206;
}

/// The parsed header.
pub struct Head<'a> {
    pub version: Option<u8>,
    pub raw_id: [u8; 20],
    pub id: DeviceId,
    pub typ: u16,
    pub content: &'a [u8],
}

/// Decodes one frame cut by `frame::cut`.
pub fn decode(f: &[u8], ctx: &DecodeCtx, checksum: ChecksumPolicy) -> Result<Decoded, DecodeError> {
    let h = head(f, checksum)?;
    let mut r = Reader::new(h.content);
    let mut out = match h.version {
        None => super::cc::mpip(&h, &mut r, ctx)?,
        Some(3 | 4) => sc(&h, &mut r, ctx)?,
        Some(_) => super::cc::cc(&h, &mut r, ctx)?,
    };
    out.identity = Some(h.id);
    Ok(out)
}

fn head(f: &[u8], checksum: ChecksumPolicy) -> Result<Head<'_>, DecodeError> {
    let version = match f {
        [b'@', b'@', ..] => true,
        [b'$', b'$', ..] => false,
        _ => return Err(DecodeError::Invalid("castel frame without @@ or $$".into())),
    };
    let fixed = 4 + usize::from(version) + 22 + 4;
    if f.len() < fixed {
        return Err(DecodeError::Invalid(format!(
            "castel frame of {} bytes",
            f.len()
        )));
    }
    let at = f.len() - 4;
    if checksum == ChecksumPolicy::Verify {
        // Both integrity checks go with the policy: `ignore` is for units (and captures) whose
        // CRC or length is off; a stream frame was cut by its length anyway.
        let expected = u16::from_le_bytes([f[at], f[at + 1]]);
        let computed = wire::crc16_x25(&f[..at]);
        if expected != computed {
            return Err(DecodeError::Checksum {
                expected: expected.into(),
                computed: computed.into(),
            });
        }
        let declared = usize::from(u16::from_le_bytes([f[2], f[3]]));
        if declared != f.len() {
            return Err(DecodeError::Invalid(format!(
                "castel length field says {declared} bytes, the frame holds {}",
                f.len()
            )));
        }
    }
    let mut r = Reader::new(&f[4..at]);
    let version = if version {
        Some(r.u8("version")?)
    } else {
        None
    };
    let raw_id = r.array::<20>("id")?;
    let text: String = String::from_utf8_lossy(&raw_id)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string();
    let id = DeviceId::new(text)?;
    let typ = r.u16("type")?;
    Ok(Head {
        version,
        raw_id,
        id,
        typ,
        content: r.rest(),
    })
}

/// One fix (19 bytes): `day, month, year-2000, hour, minute, second | lat u32 LE ×3.6e6 | lon
/// u32 LE ×3.6e6 | speed u16 LE cm/s | course u16 LE ×0.1° | flags` (bit 0 east, bit 1 north,
/// bits 2–3 fix, bits 4–7 satellites).
pub fn position(
    r: &mut Reader<'_>,
    id: &DeviceId,
    ctx: &DecodeCtx,
) -> Result<Position, DecodeError> {
    let at = r.offset();
    let [d, mo, y, h, mi, s] = r.array::<6>("date and time")?;
    let time = wire::utc(
        2000 + i32::from(y),
        mo.into(),
        d.into(),
        h.into(),
        mi.into(),
        s.into(),
    )
    .ok_or_else(|| {
        DecodeError::Wire(wire::WireError::Bad {
            offset: at,
            field: "date and time",
            detail: format!("{d}.{mo}.{y} {h}:{mi}:{s}"),
        })
    })?;
    let lat = f64::from(u32::from_le_bytes(r.array("latitude")?)) / 3_600_000.0;
    let lon = f64::from(u32::from_le_bytes(r.array("longitude")?)) / 3_600_000.0;
    let speed = u16::from_le_bytes(r.array("speed")?);
    let course = u16::from_le_bytes(r.array("course")?);
    let flags = r.u8("flags")?;
    let mut p = Position::new(
        id.clone(),
        NAME,
        time,
        ctx.now,
        if flags & 0x02 != 0 { lat } else { -lat },
        if flags & 0x01 != 0 { lon } else { -lon },
        flags & 0x0c != 0,
    );
    p.speed_kmh = f64::from(speed) * 0.036;
    p.course = f64::from(course) / 10.0;
    p.satellites = flags >> 4;
    Ok(p)
}

/// The SC statistics block: what it says about the vehicle.
struct Stat {
    odometer: u32,
    trip: u32,
    fuel: u32,
    state: u32,
}

impl Stat {
    fn read(r: &mut Reader<'_>) -> Result<Stat, DecodeError> {
        r.skip(8, "acc-on and utc times")?;
        let odometer = u32::from_le_bytes(r.array("odometer")?);
        let trip = u32::from_le_bytes(r.array("trip odometer")?);
        let fuel = u32::from_le_bytes(r.array("fuel consumption")?);
        r.skip(2, "current fuel consumption")?;
        let state = u32::from_le_bytes(r.array("state")?);
        r.skip(8, "reserved")?;
        Ok(Stat {
            odometer,
            trip,
            fuel,
            state,
        })
    }

    fn ignition(&self) -> bool {
        self.state & (1 << 18) != 0
    }

    fn apply(&self, p: &mut Position) {
        p.odometer_m = Some(f64::from(self.odometer));
        p.ignition = Some(self.ignition());
        p.io.insert("trip_m".into(), IoValue::Int(self.trip.into()));
        p.io.insert("fuel_consumption".into(), IoValue::Int(self.fuel.into()));
        p.io.insert("status".into(), IoValue::Int(self.state.into()));
    }

    fn attributes(&self, e: &mut DeviceEvent) {
        e.attributes
            .insert("odometer".into(), IoValue::Int(self.odometer.into()));
        e.attributes
            .insert("ignition".into(), IoValue::Bool(self.ignition()));
        e.attributes
            .insert("status".into(), IoValue::Int(self.state.into()));
    }
}

/// SC alarm codes with a meaning in the model.
fn alarm(code: u8) -> Option<Alarm> {
    Some(match code {
        0x01 => Alarm::Overspeed,
        0x02 => Alarm::LowPower,
        0x04 => Alarm::HarshAcceleration,
        0x05 => Alarm::HarshBraking,
        0x07 => Alarm::Tow,
        0x09 => Alarm::PowerOn,
        0x0c => Alarm::HarshCornering,
        0x0e => Alarm::PowerOff,
        _ => return None,
    })
}

/// An answer frame of the same version and id.
pub fn answer(h: &Head<'_>, typ: u16, content: &[u8]) -> AckPlan {
    AckPlan::ack(encode::frame(
        h.version.or(Some(0xff)),
        &h.raw_id,
        typ,
        content,
    ))
}

/// The SC family (versions 3 and 4).
fn sc(h: &Head<'_>, r: &mut Reader<'_>, ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let id = &h.id;
    let event = |kind: EventKind| DeviceEvent::new(id.clone(), NAME, ctx.now, kind);
    let mut out = Decoded {
        kind: format!("sc {:#06x}", h.typ).into(),
        ..Decoded::default()
    };
    match h.typ {
        sc::HEARTBEAT => {
            out.records.push(Record::Event(event(EventKind::Heartbeat)));
            out.ack = answer(h, sc::HEARTBEAT_RESPONSE, &[]);
        }
        sc::LOGIN | sc::LOGOUT | sc::GPS | sc::ALARM | sc::CURRENT_LOCATION | sc::FUEL => {
            match h.typ {
                sc::GPS => r.skip(1, "historical flag")?,
                sc::ALARM => r.skip(4, "alarm")?,
                sc::CURRENT_LOCATION => r.skip(2, "index")?,
                _ => {}
            }
            let stat = Stat::read(r)?;
            let count = r.u8("position count")?;
            let mut ps = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let mut p = position(r, id, ctx)?;
                stat.apply(&mut p);
                ps.push(p);
            }
            let mut alarms = vec![];
            if h.typ == sc::ALARM {
                for _ in 0..r.u8("alarm count")? {
                    if r.u8("alarm flag")? != 0 {
                        let code = r.u8("alarm code")?;
                        r.skip(4, "alarm description and threshold")?;
                        alarms.push(code);
                    }
                }
            } else if h.typ == sc::FUEL {
                for p in &mut ps {
                    p.io.insert(
                        "adc1".into(),
                        IoValue::Int(u16::from_le_bytes(r.array("fuel")?).into()),
                    );
                }
            }
            for p in &mut ps {
                for &c in &alarms {
                    p.io.insert("alarm_code".into(), IoValue::Int(c.into()));
                    p.alarms.extend(alarm(c));
                    match c {
                        0x16 => p.ignition = Some(true),
                        0x17 => p.ignition = Some(false),
                        _ => {}
                    }
                }
            }
            if ps.is_empty() {
                for c in alarms {
                    if let Some(a) = alarm(c) {
                        out.records
                            .push(Record::Event(event(EventKind::Alarm { alarm: a })));
                    }
                }
            }
            match h.typ {
                sc::LOGIN => {
                    let mut e = event(EventKind::Login);
                    stat.attributes(&mut e);
                    out.records.push(Record::Event(e));
                    let mut c = BytesMut::with_capacity(10);
                    c.put_u32_le(0xffff_ffff);
                    c.put_u16_le(0);
                    c.put_u32_le(ctx.now.timestamp().clamp(0, i64::from(u32::MAX)) as u32);
                    out.ack = answer(h, sc::LOGIN_RESPONSE, &c);
                }
                sc::LOGOUT => out.records.push(Record::Event(event(EventKind::Logout))),
                _ => {}
            }
            out.records.extend(ps.into_iter().map(Record::Position));
        }
        sc::GPS_SLEEP => {
            r.skip(4, "device time")?;
            out.records.push(Record::Position(position(r, id, ctx)?));
        }
        sc::AGPS_REQUEST => out.records.push(Record::Position(position(r, id, ctx)?)),
        sc::DTCS_PASSENGER | sc::DTCS_COMMERCIAL => {
            let stat = Stat::read(r)?;
            r.skip(1, "flag")?;
            let n = r.u8("dtc count")?;
            let codes = r.bytes(usize::from(n) * 2, "dtcs")?;
            let mut e = event(EventKind::Info {
                name: "dtcs".into(),
            });
            stat.attributes(&mut e);
            e.attributes
                .insert("dtcs".into(), IoValue::Text(dtcs(codes)));
            out.records.push(Record::Event(e));
        }
        sc::QUERY_RESPONSE => {
            r.skip(4, "index and counts")?;
            for _ in 0..r.u8("failure count")? {
                r.skip(2, "tag")?;
            }
            let mut texts = vec![];
            for _ in 0..r.u8("success count")? {
                r.skip(2, "tag")?;
                let n = u16::from_le_bytes(r.array("result length")?);
                texts.push(String::from_utf8_lossy(r.bytes(n.into(), "result")?).into_owned());
            }
            out.records
                .push(Record::Event(event(EventKind::CommandResult {
                    text: texts.join(";"),
                })));
        }
        // PID data, g-sensor, supported PIDs, OBD data, cell (0x4002–0x4005, 0x4008) and
        // anything newer: the statistics when they are there, the rest kept raw.
        other => {
            let mut e = event(EventKind::Info {
                name: format!("sc {other:#06x}"),
            });
            let rest = r.rest();
            if let Ok(stat) = Stat::read(r) {
                stat.attributes(&mut e);
            }
            e.attributes
                .insert("payload".into(), IoValue::Text(hex::encode(rest)));
            out.records.push(Record::Event(e));
        }
    }
    Ok(out)
}

/// Diagnostic trouble codes, u16 LE each: the top two bits pick P/C/B/U, the rest are the
/// four digits (`51 13` → `P1351`). Space-separated.
fn dtcs(codes: &[u8]) -> String {
    codes
        .chunks_exact(2)
        .map(|c| {
            let v = u16::from_le_bytes([c[0], c[1]]);
            let letter = ['P', 'C', 'B', 'U'][usize::from(v >> 14)];
            format!("{letter}{:04X}", v & 0x3fff)
        })
        .collect::<Vec<_>>()
        .join(" ")
}
