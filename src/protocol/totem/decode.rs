//! Totem frame decoding: the checksum and the declared length first, then one function per
//! layout (four in the old generation's framing, three in the new one's).

use super::{encode, layout, NAME};
use crate::model::{Alarm, DeviceId, IoValue, Position, Record};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire::{self, KNOT_KMH};
use crate::protocol::{AckPlan, ChecksumPolicy, DecodeCtx, DecodeError, Decoded};
use bytes::Bytes;
use chrono::{DateTime, Utc};

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("totem", field, value)
}

/// Decodes one frame cut by the framer (a trailing CR LF is tolerated).
pub(super) fn decode(
    frame: &[u8],
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let s = std::str::from_utf8(frame)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or_else(|| bad("frame", &String::from_utf8_lossy(frame)))?
        .trim_end_matches(['\r', '\n']);
    if !s.starts_with("$$") || s.len() < 10 {
        return Err(bad("frame", s));
    }
    if s.as_bytes()[2] == b'0' {
        new_generation(s, ctx, policy)
    } else {
        old_generation(s, ctx, policy)
    }
}

/// The hex checksum `text` against `computed`, enforced under `Verify`.
fn verify(policy: ChecksumPolicy, text: &str, computed: u32) -> Result<(), DecodeError> {
    let expected = text
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
        .ok_or_else(|| bad("checksum", text))?;
    if policy == ChecksumPolicy::Verify && expected != computed {
        return Err(DecodeError::Checksum { expected, computed });
    }
    Ok(())
}

/// A declared length that is not the frame's is a malformed frame.
fn check_length(declared: Option<usize>, s: &str) -> Result<(), DecodeError> {
    match declared {
        Some(n) if n == s.len() => Ok(()),
        _ => Err(DecodeError::Invalid(format!(
            "totem: declared length {:?} but the frame has {} bytes",
            &s[2..6],
            s.len()
        ))),
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn int(field: &str, s: &str) -> Result<i64, DecodeError> {
    digits(s)
        .then(|| s.parse().ok())
        .flatten()
        .ok_or_else(|| bad(field, s))
}

fn hex(field: &str, s: &str) -> Result<i64, DecodeError> {
    (!s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| i64::from_str_radix(s, 16).ok())
        .flatten()
        .ok_or_else(|| bad(field, s))
}

fn float(field: &str, s: &str) -> Result<f64, DecodeError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && !s.starts_with(['+', '-']))
        .ok_or_else(|| bad(field, s))
}

/// Optional number: empty = 0.
fn float_or_zero(field: &str, s: &str) -> Result<f64, DecodeError> {
    if s.is_empty() {
        Ok(0.0)
    } else {
        float(field, s)
    }
}

/// `yymmdd` or `ddmmyy` (`dmy`) with `hhmmss` → UTC.
fn time(date: &str, clock: &str, dmy: bool) -> Result<DateTime<Utc>, DecodeError> {
    let both = format!("{date}{clock}");
    let d = both.as_bytes();
    if both.len() != 12 || !digits(&both) {
        return Err(bad("date/time", &both));
    }
    let two = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    let (y, mo, day) = if dmy {
        (two(4), two(2), two(0))
    } else {
        (two(0), two(2), two(4))
    };
    wire::utc(2000 + y as i32, mo, day, two(6), two(8), two(10))
        .ok_or_else(|| bad("date/time", &both))
}

fn coordinate(value: &str, hemi: &str, max: f64) -> Result<f64, DecodeError> {
    parse_ddmm(value, hemi, max).ok_or_else(|| bad("coordinate", &format!("{value}{hemi}")))
}

fn device(imei: &str) -> Result<DeviceId, DecodeError> {
    if !digits(imei) {
        return Err(bad("imei", imei));
    }
    Ok(DeviceId::new(imei)?)
}

fn bit(v: u32, i: u32) -> bool {
    v >> i & 1 == 1
}

fn add_alarm(p: &mut Position, a: Option<Alarm>) {
    if let Some(a) = a {
        if !p.alarms.contains(&a) {
            p.alarms.push(a);
        }
    }
}

fn io(p: &mut Position, key: &str, v: IoValue) {
    p.io.insert(key.into(), v);
}

/// LAC and cell id (hex), kept when both are non-zero.
fn cell(p: &mut Position, lac: &str, cid: &str) -> Result<(), DecodeError> {
    let (lac, cid) = (hex("lac", lac)?, hex("cid", cid)?);
    if lac != 0 && cid != 0 {
        io(p, "lac", IoValue::Int(lac));
        io(p, "cid", IoValue::Int(cid));
    }
    Ok(())
}

fn answer(device: DeviceId, kind: &'static str, records: Vec<Record>, ack: String) -> Decoded {
    Decoded {
        kind: kind.into(),
        identity: Some(device),
        records,
        ack: AckPlan::ack(Bytes::from(ack)),
    }
}

// ---------------------------------------------------------------- new generation

/// `$$<LLLL><type><imei>|…<xor>`: answered `$$0014AA<serial><xor>`.
fn new_generation(
    s: &str,
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let n = s.len();
    verify(
        policy,
        &s[n - 2..],
        wire::xor(&s.as_bytes()[..n - 2]).into(),
    )?;
    check_length(digits(&s[2..6]).then(|| s[2..6].parse().ok()).flatten(), s)?;
    let kind = u8::try_from(hex("type", &s[6..8])?).map_err(|_| bad("type", &s[6..8]))?;
    let ack = encode::ack(&s[n - 6..n - 2]);
    let rest = &s[8..n - 2];
    let Some((imei, body)) = rest.split_once('|') else {
        // Type and IMEI only: the device checking in.
        return Ok(answer(device(rest)?, "heartbeat", vec![], ack));
    };
    let device = device(imei)?;
    match kind {
        0xE2 => driver_card(device, body, ctx, ack),
        0xE5 => obd(device, body, ctx, ack),
        _ if body.contains(',') => Ok(answer(device, "unknown", vec![], ack)),
        _ => status_report(device, kind, body, ctx, ack),
    }
}

/// Alarm of a new-generation frame type (`AA` = periodic report, no alarm).
fn type_alarm(kind: u8) -> Option<Alarm> {
    Some(match kind {
        0x01 => Alarm::Sos,
        0x02 => Alarm::Overspeed,
        0x04 => Alarm::GeofenceExit,
        0x05 => Alarm::GeofenceEnter,
        0x06 => Alarm::Tow,
        0x07 => Alarm::GnssFault,
        0x10 => Alarm::PowerCut,
        0x11 => Alarm::PowerOn,
        0x12 => Alarm::LowPower,
        0x13 => Alarm::LowBattery,
        0x40 => Alarm::Vibration,
        0x41 => Alarm::Idle,
        0x42 => Alarm::HarshAcceleration,
        0x43 => Alarm::HarshBraking,
        _ => return None,
    })
}

/// `<status 8 hex><yymmddhhmmss><middle><hdop dd.d><km 7><lat><lon>[<temp 4>]<serial 4>`.
fn status_report(
    device: DeviceId,
    kind: u8,
    body: &str,
    ctx: &DecodeCtx,
    ack: String,
) -> Result<Decoded, DecodeError> {
    let short = || bad("status report length", body);
    let mut end = body.len().checked_sub(4).ok_or_else(short)?;
    let hemi = |i: usize| matches!(body.as_bytes().get(i), Some(b'E' | b'W'));
    if !hemi(end.wrapping_sub(1)) {
        // A 4-digit field after the longitude (a temperature of unknown scale, skipped).
        end = end
            .checked_sub(4)
            .filter(|&e| hemi(e.wrapping_sub(1)))
            .ok_or_else(short)?;
    }
    if end < 20 + 32 {
        return Err(short());
    }
    let lon = &body[end - 11..end];
    let lat = &body[end - 21..end - 11];
    let odometer = &body[end - 28..end - 21];
    let hdop = &body[end - 32..end - 28];
    let status = u32::try_from(hex("status", &body[..8])?).map_err(|_| short())?;
    let t = time(&body[8..14], &body[14..20], false)?;
    let m = layout::middle(&body[20..end - 32]).ok_or_else(|| bad("field layout", body))?;
    // With a second temperature the fix flag moves from bit 14 to bit 12.
    let valid = bit(status, if m.temps.len() == 2 { 12 } else { 14 });
    let mut p = Position::new(
        device.clone(),
        NAME,
        t,
        ctx.now,
        coordinate(&lat[..9], &lat[9..], 90.0)?,
        coordinate(&lon[..10], &lon[10..], 180.0)?,
        valid,
    );
    add_alarm(&mut p, type_alarm(kind));
    for (b, alarm) in [
        (31, Alarm::Sos),
        (29, Alarm::Overspeed),
        (27, Alarm::GeofenceExit),
        (26, Alarm::GeofenceEnter),
        (25, Alarm::GnssFault),
    ] {
        add_alarm(&mut p, bit(status, b).then_some(alarm));
    }
    p.ignition = Some(bit(status, 30));
    io(&mut p, "charge", IoValue::Bool(bit(status, 28)));
    for (i, b) in [(1, 23), (2, 22), (3, 21)] {
        io(&mut p, &format!("out{i}"), IoValue::Bool(bit(status, b)));
    }
    io(&mut p, "status", IoValue::Int(status.into()));
    let battery = int("battery", m.battery)? as f64;
    match m.power {
        Some(power) => {
            p.battery_v = Some(battery / 10.0);
            p.power_v = Some(int("power", power)? as f64);
        }
        None => p.battery_v = Some(battery / 100.0),
    }
    for (i, a) in m.adc.iter().enumerate() {
        io(
            &mut p,
            &format!("adc{}", i + 1),
            IoValue::Int(int("adc", a)?),
        );
    }
    for (i, t) in m.temps.iter().enumerate() {
        io(
            &mut p,
            &format!("temp{}", i + 1),
            IoValue::Int(int("temperature", t)?),
        );
    }
    cell(&mut p, m.lac, m.cid)?;
    if let Some((mnc, mcc)) = m.operator {
        io(&mut p, "mnc", IoValue::Int(int("mnc", mnc)?));
        io(&mut p, "mcc", IoValue::Int(int("mcc", mcc)?));
    }
    p.satellites = u8::try_from(int("satellites", m.satellites)?).unwrap_or(u8::MAX);
    io(&mut p, "rssi", IoValue::Int(int("rssi", m.rssi)?));
    p.course = int("course", m.course)? as f64;
    p.speed_kmh = int("speed", m.speed)? as f64;
    io(&mut p, "hdop", IoValue::Float(float("hdop", hdop)?));
    p.odometer_m = Some(int("odometer", odometer)? as f64 * 1000.0);
    Ok(answer(device, "status", vec![Record::Position(p)], ack))
}

/// `<yymmddhhmmss>,<lon>,<lat>,…|`: the comma forms start alike.
fn comma_head<'a>(
    device: &DeviceId,
    body: &'a str,
    ctx: &DecodeCtx,
    at_least: usize,
) -> Result<(Position, Vec<&'a str>), DecodeError> {
    let body = body.strip_suffix('|').unwrap_or(body);
    let f: Vec<&str> = body.split(',').collect();
    if f.len() < at_least || f[0].len() != 12 {
        return Err(bad("comma report", body));
    }
    let t = time(&f[0][..6], &f[0][6..], false)?;
    let signed = |field: &str, s: &str, max: f64| {
        float(field, s.strip_prefix('-').unwrap_or(s))
            .ok()
            .filter(|v| *v <= max)
            .map(|v| if s.starts_with('-') { -v } else { v })
            .ok_or_else(|| bad(field, s))
    };
    let lon = signed("longitude", f[1], 180.0)?;
    let lat = signed("latitude", f[2], 90.0)?;
    Ok((
        Position::new(device.clone(), NAME, t, ctx.now, lat, lon, true),
        f,
    ))
}

/// Type `E2`: a driver card read, `<time>,<lon>,<lat>,<rfid>|`.
fn driver_card(
    device: DeviceId,
    body: &str,
    ctx: &DecodeCtx,
    ack: String,
) -> Result<Decoded, DecodeError> {
    let (mut p, f) = comma_head(&device, body, ctx, 4)?;
    io(&mut p, "driver_id", IoValue::Text(f[3..].join(",")));
    Ok(answer(
        device,
        "driver card",
        vec![Record::Position(p)],
        ack,
    ))
}

/// Type `E5`: OBD values, `<time>,<lon>,<lat>,<obd version>,<odometer>,<fuel used>,<fuel
/// consumption>,<power mV>,<rpm>,<speed>,<intake flow>,<intake pressure>,<coolant °C>,
/// <intake °C>,<engine load>,<throttle>,<fuel level>,|`.
fn obd(device: DeviceId, body: &str, ctx: &DecodeCtx, ack: String) -> Result<Decoded, DecodeError> {
    let (mut p, f) = comma_head(&device, body, ctx, 17)?;
    let value = |i: usize| int("obd value", f[i]);
    io(&mut p, "obd_odometer", IoValue::Int(value(4)?));
    io(&mut p, "fuel_used", IoValue::Int(value(5)?));
    io(&mut p, "fuel_consumption", IoValue::Int(value(6)?));
    p.power_v = Some(value(7)? as f64 / 1000.0);
    io(&mut p, "rpm", IoValue::Int(value(8)?));
    p.speed_kmh = value(9)? as f64;
    io(&mut p, "obd_speed", IoValue::Int(value(9)?));
    for (i, key) in [
        (12, "coolant_temp"),
        (13, "intake_temp"),
        (14, "engine_load"),
        (15, "throttle"),
        (16, "fuel_level"),
    ] {
        io(&mut p, key, IoValue::Int(value(i)?));
    }
    Ok(answer(device, "obd", vec![Record::Position(p)], ack))
}

// ---------------------------------------------------------------- old generation

/// `$$<LL><imei>|…<crc 4 hex>`: answered `ACK OK`.
fn old_generation(
    s: &str,
    ctx: &DecodeCtx,
    policy: ChecksumPolicy,
) -> Result<Decoded, DecodeError> {
    let n = s.len();
    verify(
        policy,
        &s[n - 4..],
        encode::MODBUS.checksum(&s.as_bytes()[..n - 4]).into(),
    )?;
    let declared = s[2..4]
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| usize::from_str_radix(&s[2..4], 16).ok())
        .flatten();
    if declared != Some(n) {
        return Err(DecodeError::Invalid(format!(
            "totem: declared length {:?} but the frame has {n} bytes",
            &s[2..4]
        )));
    }
    let (imei, body) = s[4..n - 4].split_once('|').ok_or_else(|| bad("frame", s))?;
    let device = device(imei)?;
    let ack = encode::ACK_OK.to_string();
    if body.len() < 2 || !body.is_char_boundary(2) {
        return Err(bad("report", body));
    }
    let (alarm, rest) = body.split_at(2);
    let p = if rest.starts_with("$GPRMC,") {
        rmc_report(&device, rest, ctx)?
    } else if rest.contains('|') {
        pipe_report(&device, rest, ctx)?
    } else {
        Some(fixed_report(&device, rest, ctx)?)
    };
    let Some(mut p) = p else {
        // No fix yet (an all-zero date): nothing to store, but the device wants its answer.
        return Ok(answer(device, "no fix", vec![], ack));
    };
    if let Ok(code) = hex("alarm", alarm) {
        add_alarm(&mut p, old_alarm(code));
    }
    Ok(answer(device, "report", vec![Record::Position(p)], ack))
}

/// Alarm field of the old generation (`AA` = periodic report).
fn old_alarm(code: i64) -> Option<Alarm> {
    Some(match code {
        0x01 => Alarm::Sos,
        0x10 => Alarm::LowBattery,
        0x11 => Alarm::Overspeed,
        0x42 => Alarm::GeofenceExit,
        0x43 => Alarm::GeofenceEnter,
        _ => return None,
    })
}

/// `<c><battery 0.01 V><power 0.01 V>` (1 + 3 + 4 digits).
fn charge_battery_power(p: &mut Position, s: &str) -> Result<(), DecodeError> {
    if s.len() != 8 || !digits(s) {
        return Err(bad("battery", s));
    }
    io(p, "charge", IoValue::Bool(&s[..1] == "1"));
    p.battery_v = Some(int("battery", &s[1..4])? as f64 / 100.0);
    p.power_v = Some(int("power", &s[4..])? as f64 / 100.0);
    Ok(())
}

/// The I/O word as a string of bits (`100000001000`, most significant first).
fn io_bits(s: &str) -> Result<u32, DecodeError> {
    (!s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b == b'0' || b == b'1'))
        .then(|| u32::from_str_radix(s, 2).ok())
        .flatten()
        .ok_or_else(|| bad("io status", s))
}

/// `$GPRMC,…*hh|<pdop>|<hdop>|<vdop>|<io>|<battery time>|<c><bat><power>|[<adc>|]<lac cid>|
/// <temp>|<km>|<serial>|…`; `None` when the RMC date is zero (no fix yet).
fn rmc_report(
    device: &DeviceId,
    rest: &str,
    ctx: &DecodeCtx,
) -> Result<Option<Position>, DecodeError> {
    let (rmc, tail) = rest[7..].split_once('*').ok_or_else(|| bad("RMC", rest))?;
    let r: Vec<&str> = rmc.split(',').collect();
    if r.len() < 9 || r[0].len() < 6 || !r[0].is_char_boundary(6) {
        return Err(bad("RMC", rmc));
    }
    if r[8] == "000000" {
        return Ok(None);
    }
    let t = time(r[8], &r[0][..6], true)?;
    let valid = match r[1] {
        "A" => true,
        "V" => false,
        other => return Err(bad("validity", other)),
    };
    let mut p = Position::new(
        device.clone(),
        NAME,
        t,
        ctx.now,
        coordinate(r[2], r[3], 90.0)?,
        coordinate(r[4], r[5], 180.0)?,
        valid,
    );
    p.speed_kmh = float_or_zero("speed", r[6])? * KNOT_KMH;
    p.course = float_or_zero("course", r[7])?;
    let f: Vec<&str> = tail.split('|').collect();
    // The odometer is the first field with a decimal point after the battery field; the
    // lac/cid and temperature come right before it, an ADC field before them when present.
    let o = (7..f.len())
        .find(|&i| f[i].contains('.'))
        .filter(|&o| o >= 9 && o + 1 < f.len())
        .ok_or_else(|| bad("RMC report fields", tail))?;
    for (i, key) in [(1, "pdop"), (2, "hdop"), (3, "vdop")] {
        io(&mut p, key, IoValue::Float(float(key, f[i])?));
    }
    let status = io_bits(f[4])?;
    io(&mut p, "status", IoValue::Int(status.into()));
    add_alarm(&mut p, bit(status, 0).then_some(Alarm::Sos));
    for (key, b) in [
        ("in3", 4),
        ("in4", 5),
        ("in1", 6),
        ("in2", 7),
        ("out1", 8),
        ("out2", 9),
    ] {
        io(&mut p, key, IoValue::Bool(bit(status, b)));
    }
    charge_battery_power(&mut p, f[6])?;
    if o == 10 {
        io(&mut p, "adc1", IoValue::Int(int("adc", f[7])?));
    }
    let lc = f[o - 2];
    if lc.len() < 8 || !lc.is_char_boundary(lc.len() - 8) {
        return Err(bad("lac/cid", lc));
    }
    let lc = &lc[lc.len() - 8..];
    cell(&mut p, &lc[..4], &lc[4..])?;
    io(&mut p, "temp1", IoValue::Int(int("temperature", f[o - 1])?));
    p.odometer_m = Some(float("odometer", f[o])? * 1000.0);
    Ok(Some(p))
}

/// `<ddmmyyhhmmss>|A|lat|N|lon|E|<knots>|<course>|<hdop>|<io>|<c><bat dd><power dd>|<adc>|
/// <lac><cid>|<temp>|<km>|<serial>|`; `None` when the date/time is all zeros (no fix yet).
fn pipe_report(
    device: &DeviceId,
    rest: &str,
    ctx: &DecodeCtx,
) -> Result<Option<Position>, DecodeError> {
    let f: Vec<&str> = rest.split('|').collect();
    if f[0].bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    if f.len() < 16 || f[0].len() != 12 {
        return Err(bad("report fields", rest));
    }
    let t = time(&f[0][..6], &f[0][6..], true)?;
    let valid = match f[1] {
        "A" => true,
        "V" => false,
        other => return Err(bad("validity", other)),
    };
    let mut p = Position::new(
        device.clone(),
        NAME,
        t,
        ctx.now,
        coordinate(f[2], f[3], 90.0)?,
        coordinate(f[4], f[5], 180.0)?,
        valid,
    );
    p.speed_kmh = float_or_zero("speed", f[6])? * KNOT_KMH;
    p.course = float_or_zero("course", f[7])?;
    io(&mut p, "hdop", IoValue::Float(float("hdop", f[8])?));
    let status = io_bits(f[9])?;
    io(&mut p, "status", IoValue::Int(status.into()));
    io(&mut p, "antenna", IoValue::Bool(bit(status, 0)));
    io(&mut p, "charge", IoValue::Bool(bit(status, 1)));
    for i in 1..=6 {
        io(&mut p, &format!("in{i}"), IoValue::Bool(bit(status, 1 + i)));
    }
    for i in 1..=4 {
        io(
            &mut p,
            &format!("out{i}"),
            IoValue::Bool(bit(status, 7 + i)),
        );
    }
    let cbp = f[10];
    if cbp.len() != 5 || !digits(cbp) {
        return Err(bad("battery", cbp));
    }
    p.battery_v = Some(int("battery", &cbp[1..3])? as f64 / 10.0);
    p.power_v = Some(int("power", &cbp[3..])? as f64);
    io(&mut p, "adc1", IoValue::Int(int("adc", f[11])?));
    if f[12].len() != 8 {
        return Err(bad("lac/cid", f[12]));
    }
    cell(&mut p, &f[12][..4], &f[12][4..])?;
    io(&mut p, "temp1", IoValue::Int(int("temperature", f[13])?));
    p.odometer_m = Some(float("odometer", f[14])? * 1000.0);
    Ok(Some(p))
}

/// The old generation's separator-free layout, fixed widths (see the module doc).
fn fixed_report(device: &DeviceId, rest: &str, ctx: &DecodeCtx) -> Result<Position, DecodeError> {
    const WIDTHS: [usize; 21] = [
        6, 6, 4, 1, 2, 2, 4, 4, 3, 3, 4, 4, 1, 2, 3, 3, 4, 7, 10, 11, 4,
    ];
    if rest.len() != WIDTHS.iter().sum::<usize>() {
        return Err(bad("report length", rest));
    }
    let mut at = 0;
    let f: Vec<&str> = WIDTHS
        .iter()
        .map(|w| {
            at += w;
            &rest[at - w..at]
        })
        .collect();
    let valid = match f[12] {
        "A" => true,
        "V" => false,
        other => return Err(bad("validity", other)),
    };
    let (lat, lon) = (f[18], f[19]);
    let mut p = Position::new(
        device.clone(),
        NAME,
        time(f[0], f[1], true)?,
        ctx.now,
        coordinate(&lat[..9], &lat[9..], 90.0)?,
        coordinate(&lon[..10], &lon[10..], 180.0)?,
        valid,
    );
    io(&mut p, "io1", IoValue::Int(hex("io", f[2])?));
    io(&mut p, "charge", IoValue::Bool(f[3] == "1"));
    p.battery_v = Some(int("battery", f[4])? as f64 / 10.0);
    p.power_v = Some(int("power", f[5])? as f64);
    io(&mut p, "adc1", IoValue::Int(int("adc", f[6])?));
    io(&mut p, "adc2", IoValue::Int(int("adc", f[7])?));
    io(&mut p, "temp1", IoValue::Int(int("temperature", f[8])?));
    io(&mut p, "temp2", IoValue::Int(int("temperature", f[9])?));
    cell(&mut p, f[10], f[11])?;
    p.satellites = u8::try_from(int("satellites", f[13])?).unwrap_or(u8::MAX);
    p.course = int("course", f[14])? as f64;
    p.speed_kmh = int("speed", f[15])? as f64 * KNOT_KMH;
    io(&mut p, "pdop", IoValue::Float(float("pdop", f[16])?));
    p.odometer_m = Some(int("odometer", f[17])? as f64 * 1000.0);
    Ok(p)
}
