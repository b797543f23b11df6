//! The fix sentences of the T55 family, each parsed into one [`NmeaFix`] in trackgate units
//! (degrees, km/h, metres, UTC). One function per sentence family.

use crate::model::{DeviceId, IoValue, Position};
use crate::protocol::fix::parse_ddmm;
use crate::protocol::wire::{self, KNOT_KMH};
use crate::protocol::DecodeError;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::collections::BTreeMap;

/// A parsed fix, not yet bound to a device (an RMC may arrive before its id line).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NmeaFix {
    pub time: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub valid: bool,
    pub speed_kmh: f64,
    pub course: f64,
    pub altitude_m: f64,
    pub satellites: u8,
    pub ignition: Option<bool>,
    pub io: BTreeMap<String, IoValue>,
}

impl NmeaFix {
    pub fn position(self, device: DeviceId, now: DateTime<Utc>) -> Position {
        let mut p = Position::new(
            device,
            super::NAME,
            self.time,
            now,
            self.lat,
            self.lon,
            self.valid,
        );
        p.speed_kmh = self.speed_kmh;
        p.course = self.course;
        p.altitude_m = self.altitude_m;
        p.satellites = self.satellites;
        p.ignition = self.ignition;
        p.io = self.io;
        p
    }
}

pub(super) fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("t55", field, value)
}

fn get<'a>(f: &[&'a str], i: usize) -> &'a str {
    f.get(i).map_or("", |s| s.trim())
}

fn two(d: &[u8], i: usize) -> u32 {
    u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0')
}

fn digits(s: &str, n: usize) -> Option<&[u8]> {
    let b = s.as_bytes();
    (b.len() == n && b.iter().all(u8::is_ascii_digit)).then_some(b)
}

/// `hhmmss[.sss]` → (h, m, s).
fn hms(s: &str) -> Result<(u32, u32, u32), DecodeError> {
    let int = s.split('.').next().unwrap_or_default();
    let d = digits(int, 6).ok_or_else(|| bad("time", s))?;
    Ok((two(d, 0), two(d, 2), two(d, 4)))
}

/// `hhmmss` + `ddmmyy`, UTC.
fn date_time(time: &str, date: &str) -> Result<DateTime<Utc>, DecodeError> {
    let (h, m, s) = hms(time)?;
    let d = digits(date, 6).ok_or_else(|| bad("date", date))?;
    wire::utc(2000 + two(d, 4) as i32, two(d, 2), two(d, 0), h, m, s)
        .ok_or_else(|| bad("date", date))
}

/// A time of day without a date (GGA, GLL): on the UTC day that puts it nearest to `now`.
fn time_of_day(time: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, DecodeError> {
    let (h, m, s) = hms(time)?;
    let t = NaiveTime::from_hms_opt(h, m, s).ok_or_else(|| bad("time", time))?;
    let c = now.date_naive().and_time(t).and_utc();
    Ok(if c - now > Duration::hours(12) {
        c - Duration::days(1)
    } else if now - c > Duration::hours(12) {
        c + Duration::days(1)
    } else {
        c
    })
}

/// `(d)ddmm.mmmm` signed by the hemisphere letter.
fn coordinate(value: &str, hemi: &str, max: f64) -> Result<f64, DecodeError> {
    parse_ddmm(value, hemi, max).ok_or_else(|| bad("coordinate", &format!("{value},{hemi}")))
}

/// A signed decimal-degree coordinate within ±`max`.
fn decimal(value: &str, max: f64) -> Result<f64, DecodeError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.abs() <= max)
        .ok_or_else(|| bad("coordinate", value))
}

/// An optional number (empty → 0).
fn num(field: &str, s: &str) -> Result<f64, DecodeError> {
    if s.is_empty() {
        return Ok(0.0);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(field, s))
}

fn validity(s: &str) -> Result<bool, DecodeError> {
    match s {
        "A" => Ok(true),
        "V" => Ok(false),
        other => Err(bad("validity", other)),
    }
}

/// `$G?RMC,hhmmss,A,lat,N,lon,E,knots,course,ddmmyy,…` (`f` = the fields before `*`).
pub(super) fn rmc(f: &[&str]) -> Result<NmeaFix, DecodeError> {
    Ok(NmeaFix {
        time: date_time(get(f, 1), get(f, 9))?,
        valid: validity(get(f, 2))?,
        lat: coordinate(get(f, 3), get(f, 4), 90.0)?,
        lon: coordinate(get(f, 5), get(f, 6), 180.0)?,
        speed_kmh: num("speed", get(f, 7))? * KNOT_KMH,
        course: num("course", get(f, 8))?,
        ..NmeaFix::default()
    })
}

/// The tail some trackers append after an RMC's checksum: `,sats,imei,ignition,fuel,
/// battery[,io1,io2,…]`. Returns the IMEI it names.
pub(super) fn rmc_tail<'a>(fix: &mut NmeaFix, tail: &[&'a str]) -> Option<&'a str> {
    let imei = tail.get(1).copied().filter(|s| !s.is_empty())?;
    fix.satellites = get(tail, 0).parse().unwrap_or(0);
    fix.ignition = match get(tail, 2) {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    for (i, key) in [(3, "fuel_level"), (4, "battery_raw")] {
        if let Ok(v) = get(tail, i).parse::<i64>() {
            fix.io.insert(key.into(), IoValue::Int(v));
        }
    }
    for (n, v) in tail.iter().skip(5).enumerate() {
        fix.io
            .insert(format!("io{}", n + 1), IoValue::Text(v.trim().into()));
    }
    Some(imei)
}

/// `$G?GGA,hhmmss,lat,N,lon,E,quality,sats,hdop,altitude,M,…`.
pub(super) fn gga(f: &[&str], now: DateTime<Utc>) -> Result<NmeaFix, DecodeError> {
    let mut fix = NmeaFix {
        time: time_of_day(get(f, 1), now)?,
        lat: coordinate(get(f, 2), get(f, 3), 90.0)?,
        lon: coordinate(get(f, 4), get(f, 5), 180.0)?,
        valid: get(f, 6).parse::<u8>().is_ok_and(|q| q > 0),
        satellites: get(f, 7).parse().unwrap_or(0),
        altitude_m: num("altitude", get(f, 9))?,
        ..NmeaFix::default()
    };
    if let Ok(h) = get(f, 8).parse::<f64>() {
        fix.io.insert("hdop".into(), IoValue::Float(h));
    }
    Ok(fix)
}

/// `$G?GLL,lat,N,lon,E,hhmmss,A,…`.
pub(super) fn gll(f: &[&str], now: DateTime<Utc>) -> Result<NmeaFix, DecodeError> {
    Ok(NmeaFix {
        lat: coordinate(get(f, 1), get(f, 2), 90.0)?,
        lon: coordinate(get(f, 3), get(f, 4), 180.0)?,
        time: time_of_day(get(f, 5), now)?,
        valid: validity(get(f, 6))?,
        ..NmeaFix::default()
    })
}

/// `$GPRMA,A,lat,N,lon,E,,,knots,course,…`: no time on the wire → `now`.
pub(super) fn rma(f: &[&str], now: DateTime<Utc>) -> Result<NmeaFix, DecodeError> {
    Ok(NmeaFix {
        time: now,
        valid: validity(get(f, 1))?,
        lat: coordinate(get(f, 2), get(f, 3), 90.0)?,
        lon: coordinate(get(f, 4), get(f, 5), 180.0)?,
        speed_kmh: num("speed", get(f, 8))? * KNOT_KMH,
        course: num("course", get(f, 9))?,
        ..NmeaFix::default()
    })
}

/// u-blox `$PUBX,00,hhmmss.ss,lat,N,lon,E,alt,status,hacc,vacc,km/h,course,vvel,age,hdop,
/// vdop,tdop,sats,…`; status `NF` = no fix.
pub(super) fn pubx(f: &[&str], now: DateTime<Utc>) -> Result<NmeaFix, DecodeError> {
    if get(f, 1) != "00" {
        return Err(bad("PUBX message id", get(f, 1)));
    }
    let mut fix = NmeaFix {
        time: time_of_day(get(f, 2), now)?,
        lat: coordinate(get(f, 3), get(f, 4), 90.0)?,
        lon: coordinate(get(f, 5), get(f, 6), 180.0)?,
        altitude_m: num("altitude", get(f, 7))?,
        valid: !matches!(get(f, 8), "NF" | ""),
        speed_kmh: num("speed", get(f, 11))?,
        course: num("course", get(f, 12))?,
        satellites: get(f, 18).parse().unwrap_or(0),
        ..NmeaFix::default()
    };
    for (i, key) in [(9, "accuracy_h"), (15, "hdop"), (16, "vdop")] {
        if let Ok(v) = get(f, i).parse::<f64>() {
            fix.io.insert(key.into(), IoValue::Float(v));
        }
    }
    Ok(fix)
}

/// `$TRCCR,yyyyMMddhhmmss.sss,A,lat,lon,knots,course,altitude,battery,`: decimal degrees.
pub(super) fn trccr(f: &[&str]) -> Result<NmeaFix, DecodeError> {
    let stamp = get(f, 1).split('.').next().unwrap_or_default();
    let d = digits(stamp, 14).ok_or_else(|| bad("time", get(f, 1)))?;
    let year = (two(d, 0) * 100 + two(d, 2)) as i32;
    let time = wire::utc(
        year,
        two(d, 4),
        two(d, 6),
        two(d, 8),
        two(d, 10),
        two(d, 12),
    )
    .ok_or_else(|| bad("time", stamp))?;
    let mut fix = NmeaFix {
        time,
        valid: validity(get(f, 2))?,
        lat: decimal(get(f, 3), 90.0)?,
        lon: decimal(get(f, 4), 180.0)?,
        speed_kmh: num("speed", get(f, 5))? * KNOT_KMH,
        course: num("course", get(f, 6))?,
        altitude_m: num("altitude", get(f, 7))?,
        ..NmeaFix::default()
    };
    if let Ok(b) = get(f, 8).parse::<f64>() {
        fix.io.insert("battery_level".into(), IoValue::Float(b));
    }
    Ok(fix)
}

/// `QZE,<imei>,<event>,ddmmyyyy,hhmmss,lat,lon,km/h,course,A|V,ignition`.
pub(super) fn qze(f: &[&str]) -> Result<NmeaFix, DecodeError> {
    if f.len() < 11 {
        return Err(bad("QZE sentence", &f.join(",")));
    }
    let d = digits(get(f, 3), 8).ok_or_else(|| bad("date", get(f, 3)))?;
    let (h, m, s) = hms(get(f, 4))?;
    let year = (two(d, 4) * 100 + two(d, 6)) as i32;
    let time =
        wire::utc(year, two(d, 2), two(d, 0), h, m, s).ok_or_else(|| bad("date", get(f, 3)))?;
    let mut fix = NmeaFix {
        time,
        lat: decimal(get(f, 5), 90.0)?,
        lon: decimal(get(f, 6), 180.0)?,
        speed_kmh: num("speed", get(f, 7))?,
        course: num("course", get(f, 8))?,
        valid: validity(get(f, 9))?,
        ignition: Some(get(f, 10) == "1"),
        ..NmeaFix::default()
    };
    if let Ok(e) = get(f, 2).parse::<i64>() {
        fix.io.insert("event".into(), IoValue::Int(e));
    }
    Ok(fix)
}
