//! GT06 message families that carry a GNSS fix: the classic GPS(+LBS)(+status) frames
//! (0x10–0x12, 0x16, 0x1A, 0x1E, 0x22, 0x26, 0x27, 0x2D, 0x31, 0x32, 0x37, 0xA0, 0xA3, 0xA4),
//! the X1 frame 0x34, the SR411-mini 0x24 and the JC100 alarm 0x95, plus the GPS/LBS/status
//! block readers shared with `decode_ext.rs` and `decode_lbs.rs`.

use super::super::AckPlan;
use super::super::{wire::Reader, DecodeCtx, DecodeError};
use super::decode::{event, Msg, Out};
use super::NAME;
use crate::model::{Alarm, DeviceId, EventKind, IoValue, Position, Record};
use chrono::{DateTime, Utc};

/// Reads the 6-byte binary date-time (YY−2000 MM DD hh mm ss), UTC as sent.
pub(super) fn read_time(r: &mut Reader) -> Result<DateTime<Utc>, DecodeError> {
    let at = r.offset();
    let t = r.array::<6>("date-time")?;
    civil_utc(t).ok_or_else(|| {
        DecodeError::Wire(super::super::wire::WireError::Bad {
            offset: at,
            field: "date-time",
            detail: format!("{} is not a calendar time", hex::encode(t)),
        })
    })
}

/// `[YY−2000, MM, DD, hh, mm, ss]` → UTC, `None` unless it is a real date and time.
/// Computed directly (days-from-civil) rather than through chrono's calendar validation,
/// which was a tenth of the per-frame cost; test `civil_time_matches_chrono` pins it.
pub(super) fn civil_utc(t: [u8; 6]) -> Option<DateTime<Utc>> {
    let [yy, mo, d, h, mi, s] = t;
    let y = 2000 + i64::from(yy);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > month_days || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    // Howard Hinnant's days_from_civil, years ≥ 2000 so no negative eras.
    let (y, m) = if mo <= 2 {
        (y - 1, i64::from(mo) + 9)
    } else {
        (y, i64::from(mo) - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    DateTime::from_timestamp(secs, 0)
}

/// The GPS block, converted: degrees signed by the hemisphere bits, km/h, UTC.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gps {
    pub time: DateTime<Utc>,
    pub satellites: u8,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: f64,
    pub course: f64,
    pub valid: bool,
    /// From course/status bits 14 (present) and 15 (on), set by some models.
    pub ignition: Option<bool>,
}

/// Latitude/longitude + course/status word → signed degrees, course, validity, ignition.
/// Bit 10 set = NORTH (clear → negate latitude); bit 11 set = WEST; bit 12 = GNSS fixed.
pub(super) fn apply_flags(gps: &mut Gps, lat: u32, lon: u32, flags: u16) {
    let mut la = f64::from(lat) / 1_800_000.0;
    let mut lo = f64::from(lon) / 1_800_000.0;
    if flags & (1 << 10) == 0 {
        la = -la;
    }
    if flags & (1 << 11) != 0 {
        lo = -lo;
    }
    gps.lat = la;
    gps.lon = lo;
    gps.course = f64::from(flags & 0x03FF);
    gps.valid = flags & (1 << 12) != 0;
    gps.ignition = (flags & (1 << 14) != 0).then_some(flags & (1 << 15) != 0);
}

/// Reads the GPS block: time(6) [info(1): length nibble + satellites nibble] lat(4) lon(4)
/// [speed(1)] course/status(2).
fn read_gps(r: &mut Reader, has_sats: bool, has_speed: bool) -> Result<Gps, DecodeError> {
    let time = read_time(r)?;
    let satellites = if has_sats {
        r.u8("gps info")? & 0x0F
    } else {
        0
    };
    let lat = r.u32("latitude")?;
    let lon = r.u32("longitude")?;
    let speed_kmh = if has_speed {
        f64::from(r.u8("speed")?)
    } else {
        0.0
    };
    let flags = r.u16("course/status")?;
    let mut gps = Gps {
        time,
        satellites,
        lat: 0.0,
        lon: 0.0,
        speed_kmh,
        course: 0.0,
        valid: false,
        ignition: None,
    };
    apply_flags(&mut gps, lat, lon, flags);
    Ok(gps)
}

/// A position of `device` from a converted GPS block (one `DeviceId` clone per fix).
pub(super) fn position(device: &DeviceId, gps: &Gps, ctx: &DecodeCtx) -> Position {
    let mut p = Position::new(
        device.clone(),
        NAME,
        gps.time,
        ctx.now,
        gps.lat,
        gps.lon,
        gps.valid,
    );
    p.speed_kmh = gps.speed_kmh;
    p.course = gps.course;
    p.satellites = gps.satellites;
    p.ignition = gps.ignition;
    p
}

/// Alarm byte of the status block (Traccar's `decodeAlarm` table, plus 0x19 = low battery
/// seen on GK310-family 0x27/0xA4 frames).
pub(super) fn alarm_code(code: u8) -> Option<Alarm> {
    Some(match code {
        0x01 => Alarm::Sos,
        0x02 => Alarm::PowerCut,
        0x03 | 0x09 => Alarm::Vibration,
        0x04 => Alarm::GeofenceEnter,
        0x05 => Alarm::GeofenceExit,
        0x06 => Alarm::Overspeed,
        0x0E | 0x0F | 0x19 => Alarm::LowBattery,
        0x11 => Alarm::PowerOff,
        0x13 => Alarm::Tamper,
        0x14 => Alarm::Door,
        0x23 => Alarm::FallDown,
        0x29 => Alarm::HarshAcceleration,
        0x2A | 0x2B => Alarm::HarshCornering,
        0x2C => Alarm::Collision,
        0x30 => Alarm::HarshBraking,
        _ => return None,
    })
}

/// Alarm encoded in bits 3–5 of the terminal-information byte. `vxt01`: the VXT01 variant
/// uses value 7 for overspeed instead of removal.
fn info_alarm(info: u8, vxt01: bool) -> Option<Alarm> {
    Some(match (info >> 3) & 0x07 {
        1 => Alarm::Vibration,
        2 => Alarm::PowerCut,
        3 => Alarm::LowBattery,
        4 => Alarm::Sos,
        6 => Alarm::General,
        7 if vxt01 => Alarm::Overspeed,
        7 => Alarm::Tamper,
        _ => return None,
    })
}

/// Shape of the LBS (serving cell) block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lbs {
    None,
    /// MCC(2) MNC(1, 2 if MCC bit 15) LAC(2) CID(3).
    Short,
    /// A length byte, then the short block; the length says how much to skip.
    ShortLen,
    /// 4G: MCC(2) MNC(1/2) LAC(4) CID(8).
    Long,
    /// A length byte, then the 4G block.
    LongLen,
    /// 0x11: MCC(2) MNC(2) LAC(2) CID(4).
    Six,
}

/// Which blocks follow the GPS block for each GPS-family protocol number.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub lbs: Lbs,
    pub status: bool,
    /// ACC / upload mode / re-upload trailer (0x22 family).
    pub trailer: bool,
}

/// The layout of a GPS-family protocol number, `None` for other numbers.
pub(super) fn layout(proto: u8) -> Option<Layout> {
    let (lbs, status, trailer) = match proto {
        0x10 | 0x1A | 0x1E => (Lbs::None, false, false),
        0x11 => (Lbs::Six, false, false),
        0x12 | 0x31 => (Lbs::Short, false, false),
        0x22 | 0x2D | 0x37 => (Lbs::Short, false, true),
        0x16 | 0x26 | 0x27 | 0x32 => (Lbs::ShortLen, true, false),
        0xA0 => (Lbs::Long, false, true),
        0xA3 | 0xA4 => (Lbs::LongLen, true, false),
        _ => return None,
    };
    Some(Layout {
        lbs,
        status,
        trailer,
    })
}

/// Serving cell read from an LBS block; stored only on fixes that are not valid (the only
/// case where it adds location information) to keep valid fixes allocation-light.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CellId {
    pub mcc: u16,
    pub mnc: u16,
    pub lac: u32,
    pub cid: u64,
}

impl CellId {
    /// Adds `mcc`, `mnc`, `lac`, `cid` to an attribute map.
    pub fn store(&self, io: &mut std::collections::BTreeMap<String, IoValue>) {
        io.insert("mcc".into(), IoValue::Int(self.mcc.into()));
        io.insert("mnc".into(), IoValue::Int(self.mnc.into()));
        io.insert("lac".into(), IoValue::Int(self.lac.into()));
        io.insert("cid".into(), IoValue::Int(self.cid as i64));
    }
}

fn read_cell(r: &mut Reader, long: bool, six: bool) -> Result<CellId, DecodeError> {
    let mcc = r.u16("mcc")?;
    let mnc = if mcc & 0x8000 != 0 || six {
        r.u16("mnc")?
    } else {
        r.u8("mnc")?.into()
    };
    let (lac, cid) = if long {
        (r.u32("lac")?, r.u64("cid")?)
    } else if six {
        (r.u16("lac")?.into(), r.u32("cid")?.into())
    } else {
        (r.u16("lac")?.into(), r.u24("cid")?.into())
    };
    Ok(CellId {
        mcc: mcc & 0x7FFF,
        mnc,
        lac,
        cid,
    })
}

/// Reads an LBS block of `kind`. A length byte of 0 means "no cell" (the block is absent).
pub(super) fn read_lbs(r: &mut Reader, kind: Lbs) -> Result<Option<CellId>, DecodeError> {
    match kind {
        Lbs::None => Ok(None),
        Lbs::Short => read_cell(r, false, false).map(Some),
        Lbs::Long => read_cell(r, true, false).map(Some),
        Lbs::Six => read_cell(r, false, true).map(Some),
        Lbs::ShortLen | Lbs::LongLen => {
            let len = usize::from(r.u8("lbs length")?);
            if len == 0 {
                return Ok(None);
            }
            let start = r.offset();
            let cell = read_cell(r, kind == Lbs::LongLen, false)?;
            // The length counts itself; skip whatever the model appended to a 2G cell. The
            // 4G block is self-delimiting and GK310 0xA3 frames carry a bogus length there.
            let used = r.offset() - start + 1;
            if kind == Lbs::ShortLen && len > used {
                r.skip(len - used, "lbs extension")?;
            }
            Ok(Some(cell))
        }
    }
}

/// Status block: info(1), voltage level(1), GSM signal(1), alarm(1) [language …]. Some 0x16
/// firmwares send a 2-byte battery percentage instead of the level (6 bytes in all).
fn read_status(r: &mut Reader, msg: &Msg, p: &mut Position) -> Result<(), DecodeError> {
    let info = r.u8("terminal info")?;
    let wide = msg.proto == 0x16 && r.remaining() == 5;
    let level = if wide {
        i64::from(r.u16("battery level")?)
    } else {
        i64::from(r.u8("voltage level")?) * 100 / 6
    };
    let gsm = r.u8("gsm signal")?;
    let code = r.u8("alarm")?;
    p.ignition = Some(info & 0x02 != 0);
    p.io.insert("status".into(), IoValue::Int(info.into()));
    p.io.insert("battery_level".into(), IoValue::Int(level));
    p.io.insert("rssi".into(), IoValue::Int(gsm.into()));
    let vxt01 = msg.len_field == 0x24;
    if let Some(a) = alarm_code(code).or_else(|| info_alarm(info, vxt01)) {
        p.alarms.push(a);
    }
    Ok(())
}

/// The classic GPS family: GPS block, then LBS, status, model-specific extras.
pub(super) fn gps_family(
    device: &DeviceId,
    msg: &Msg,
    ctx: &DecodeCtx,
) -> Result<Out, DecodeError> {
    let Some(layout) = layout(msg.proto) else {
        return Err(DecodeError::Invalid(format!(
            "0x{:02x} is not a GPS frame",
            msg.proto
        )));
    };
    let mut r = Reader::new(msg.content);
    let gps = read_gps(&mut r, true, true)?;
    let mut p = position(device, &gps, ctx);
    let cell = read_lbs(&mut r, layout.lbs)?;
    if let (Some(cell), false) = (cell, p.valid) {
        cell.store(&mut p.io);
    }
    if layout.status {
        read_status(&mut r, msg, &mut p)?;
    }
    if msg.proto == 0x12 {
        variant_12(&mut r, msg, &mut p)?;
    }
    if layout.trailer && r.remaining() >= 3 {
        // The upload mode (report reason) is not stored: it would cost two allocations on
        // the hottest frame type for a value nothing downstream reads.
        let t = r.array::<3>("acc / upload mode / re-upload")?;
        p.ignition = Some(t[0] > 0);
        p.historical = t[2] > 0;
    }
    if msg.proto == 0x37 && r.remaining() >= 3 {
        module_37(&mut r, &mut p)?;
    }
    if r.remaining() == 4 {
        p.odometer_m = Some(f64::from(r.u32("mileage")?));
    }
    Ok(Out::new(
        kind_of(msg.proto),
        vec![Record::Position(p)],
        msg.ack(),
    ))
}

fn kind_of(proto: u8) -> &'static str {
    match proto {
        0x10 => "location 0x10",
        0x11 => "location 0x11",
        0x12 => "location 0x12",
        0x16 => "alarm 0x16",
        0x1A => "location 0x1a",
        0x1E => "location 0x1e",
        0x22 => "location 0x22",
        0x26 => "alarm 0x26",
        0x27 => "alarm 0x27",
        0x2D => "location 0x2d",
        0x31 => "location 0x31",
        0x32 => "alarm 0x32",
        0x37 => "location 0x37",
        0xA0 => "location 0xa0",
        0xA3 => "fence 0xa3",
        0xA4 => "fence 0xa4",
        _ => "location",
    }
}

/// 0x12 dialects, told apart by LEN like Traccar's `decodeVariant`.
fn variant_12(r: &mut Reader, msg: &Msg, p: &mut Position) -> Result<(), DecodeError> {
    match msg.len_field {
        // VXT01: status(1) power(2, centivolts) rssi(1) alarm extension(1).
        0x24 if r.remaining() >= 5 => {
            let info = r.u8("terminal info")?;
            p.ignition = Some(info & 0x02 != 0);
            p.io.insert("status".into(), IoValue::Int(info.into()));
            p.power_v = Some(f64::from(r.u16("power")?) * 0.01);
            p.io.insert("rssi".into(), IoValue::Int(r.u8("rssi")?.into()));
            r.skip(1, "alarm extension")?;
            if let Some(a) = info_alarm(info, true) {
                p.alarms.push(a);
            }
        }
        // S5: status(1) power(2) rssi(1) alarm(1) oil(2) temperature(1, sign bit 7) odometer(4, ×10 m).
        0x2B if r.remaining() >= 12 => {
            let info = r.u8("terminal info")?;
            p.ignition = Some(info & 0x02 != 0);
            p.power_v = Some(f64::from(r.u16("power")?) * 0.01);
            p.io.insert("rssi".into(), IoValue::Int(r.u8("rssi")?.into()));
            if let Some(a) = alarm_code(r.u8("alarm")?).or_else(|| info_alarm(info, false)) {
                p.alarms.push(a);
            }
            p.io.insert("oil".into(), IoValue::Int(r.u16("oil")?.into()));
            let t = r.u8("temperature")?;
            let temp = if t & 0x80 != 0 {
                -i64::from(t & 0x7F)
            } else {
                i64::from(t)
            };
            p.io.insert("temp1".into(), IoValue::Int(temp));
            p.odometer_m = Some(f64::from(r.u32("odometer")?) * 10.0);
        }
        // GT06E with card reader: odometer(4) card-data length(1) ASCII data alarm(1) swiped(1).
        l if l >= 0x71 => {
            p.odometer_m = Some(f64::from(r.u32("odometer")?));
            let n = usize::from(r.u8("card data length")?);
            let data = r.bytes(n, "card data")?;
            let text: String = data.iter().map(|&c| c as char).collect();
            p.io.insert(
                "driver_license".into(),
                IoValue::Text(text.trim().to_string()),
            );
        }
        _ => {}
    }
    Ok(())
}

/// 0x37 extension module: id(2) length(1) value.
fn module_37(r: &mut Reader, p: &mut Position) -> Result<(), DecodeError> {
    let id = r.u16("module id")?;
    let len = usize::from(r.u8("module length")?);
    let v = r.bytes(len, "module value")?;
    let mut m = Reader::new(v);
    match id {
        0x0027 => p.power_v = Some(f64::from(m.u16("power")?) * 0.01),
        0x002E => p.odometer_m = Some(f64::from(m.u32("odometer")?)),
        0x003B => p.accuracy_m = Some(f64::from(m.u16("accuracy")?) * 0.01),
        _ => {}
    }
    Ok(())
}

/// SR411-mini 0x24 (LEN 0x2E): GPS, LBS, ignition(1), power(2), battery(2), centivolts.
pub(super) fn sr411(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let gps = read_gps(&mut r, true, true)?;
    let mut p = position(device, &gps, ctx);
    if let (Some(cell), false) = (read_lbs(&mut r, Lbs::Short)?, p.valid) {
        cell.store(&mut p.io);
    }
    p.ignition = Some(r.u8("ignition")? > 0);
    p.power_v = Some(f64::from(r.u16("power")?) * 0.01);
    p.battery_v = Some(f64::from(r.u16("battery")?) * 0.01);
    Ok(Out::new(
        "location 0x24",
        vec![Record::Position(p)],
        msg.ack(),
    ))
}

/// X1 GPS 0x34: data/alarm(4), GPS, terminal info(2), odometer(4), cell (MCC 2, MNC 1,
/// LAC 2, CID 4), driver id(4), battery(2), power(2), port info(4), inputs(1), outputs(1),
/// then N analog inputs (N = port-info bits 20–23), centivolts. Not acknowledged (Traccar).
pub(super) fn x1_gps(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    r.skip(4, "data and alarm")?;
    let gps = read_gps(&mut r, true, true)?;
    let mut p = position(device, &gps, ctx);
    r.skip(2, "terminal info")?;
    p.odometer_m = Some(f64::from(r.u32("odometer")?));
    let cell = CellId {
        mcc: r.u16("mcc")?,
        mnc: r.u8("mnc")?.into(),
        lac: r.u16("lac")?.into(),
        cid: r.u32("cid")?.into(),
    };
    if !p.valid {
        cell.store(&mut p.io);
    }
    let driver = r.u32("driver id")?;
    if driver > 0 {
        p.io.insert("driver_id".into(), IoValue::Text(driver.to_string()));
    }
    p.battery_v = Some(f64::from(r.u16("battery")?) * 0.01);
    p.power_v = Some(f64::from(r.u16("power")?) * 0.01);
    let port = r.u32("port info")?;
    p.io.insert("input".into(), IoValue::Int(r.u8("inputs")?.into()));
    p.io.insert("output".into(), IoValue::Int(r.u8("outputs")?.into()));
    for i in 1..=((port >> 20) & 0x0F) {
        let v = f64::from(r.u16("adc")?) * 0.01;
        p.io.insert(format!("adc{i}"), IoValue::Float(v));
    }
    Ok(Out::new(
        "location 0x34",
        vec![Record::Position(p)],
        AckPlan::default(),
    ))
}

/// JC100 alarm 0x95. LEN > 12: time, lat, lon, course/status (no satellites, no speed) then
/// the alarm code → a position; otherwise time + alarm code → an alarm event.
pub(super) fn alarm_95(device: &DeviceId, msg: &Msg, ctx: &DecodeCtx) -> Result<Out, DecodeError> {
    let mut r = Reader::new(msg.content);
    let extended = msg.len_field > 12;
    if extended {
        let gps = read_gps(&mut r, false, false)?;
        let code = r.u8("alarm type")?;
        let mut p = position(device, &gps, ctx);
        p.alarms.push(alarm_95_code(code, true));
        Ok(Out::new("alarm 0x95", vec![Record::Position(p)], msg.ack()))
    } else {
        let time = read_time(&mut r)?;
        let code = r.u8("alarm type")?;
        let alarm = alarm_95_code(code, false);
        let e = event(device, time, EventKind::Alarm { alarm });
        Ok(Out::new("alarm 0x95", vec![Record::Event(e)], msg.ack()))
    }
}

fn alarm_95_code(code: u8, extended: bool) -> Alarm {
    match code {
        0x01 if extended => Alarm::Sos,
        0x80 => Alarm::Vibration,
        0x87 => Alarm::Overspeed,
        0x90 => Alarm::HarshAcceleration,
        0x91 => Alarm::HarshBraking,
        0x92 => Alarm::HarshCornering,
        0x93 => Alarm::Collision,
        _ => Alarm::General,
    }
}
