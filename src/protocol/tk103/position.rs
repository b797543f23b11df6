//! TK103 fix parsing: the packed fixed form and the comma form.
//!
//! The fixed form has no separators, so the speed field's width is found the way Traccar's
//! pattern finds it: the widest run (5 down to 1 chars of digits, spaces and `.`) after which
//! a 6-digit time and a course/status block still parse.

use super::super::DecodeError;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// What a fixed- or comma-form fix carries.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Fix {
    pub time: DateTime<Utc>,
    pub valid: bool,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: f64,
    pub course: f64,
    pub status: Option<Status>,
    pub temperature: Option<f64>,
}

/// The status block after the course: `<charge 0|1><ignition 0|1><io x3><fuel xxx>L<odo hex>`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Status {
    /// Traccar reads `0` as "charging".
    pub charge: bool,
    pub ignition: bool,
    pub io: String,
    pub fuel: i64,
    pub odometer: u64,
}

fn bad(field: &str, value: &str) -> DecodeError {
    DecodeError::bad_field("tk103", field, value)
}

fn two(s: &[u8], i: usize) -> u32 {
    u32::from(s[i] - b'0') * 10 + u32::from(s[i + 1] - b'0')
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Date (`yymmdd` when `year_first`, else `ddmmyy`) and `hhmmss` → UTC.
pub(super) fn datetime(
    date: &str,
    time: &str,
    year_first: bool,
) -> Result<DateTime<Utc>, DecodeError> {
    let (d, t) = (date.as_bytes(), time.as_bytes());
    if d.len() != 6 || t.len() != 6 || !digits(date) || !digits(time) {
        return Err(bad("date/time", &format!("{date} {time}")));
    }
    let (y, m, day) = if year_first {
        (two(d, 0), two(d, 2), two(d, 4))
    } else {
        (two(d, 4), two(d, 2), two(d, 0))
    };
    let date_v =
        NaiveDate::from_ymd_opt(2000 + y as i32, m, day).ok_or_else(|| bad("date", date))?;
    let time_v = NaiveTime::from_hms_opt(two(t, 0), two(t, 2), two(t, 4))
        .ok_or_else(|| bad("time", time))?;
    Ok(date_v.and_time(time_v).and_utc())
}

/// `(d*)(dd.d+)` + hemisphere letter → signed degrees. Leading spaces are allowed.
fn coordinate(num: &str, hemi: u8) -> Result<f64, DecodeError> {
    let sign = match hemi {
        b'N' | b'E' => 1.0,
        b'S' | b'W' => -1.0,
        _ => return Err(bad("hemisphere", &(hemi as char).to_string())),
    };
    let t = num.trim_start();
    let (ip, fp) = t.split_once('.').ok_or_else(|| bad("coordinate", num))?;
    if ip.len() < 2 || !ip.bytes().all(|b| b.is_ascii_digit()) || !digits(fp) {
        return Err(bad("coordinate", num));
    }
    let (d, m) = ip.split_at(ip.len() - 2);
    let deg: f64 = if d.is_empty() {
        0.0
    } else {
        d.parse().map_err(|_| bad("coordinate", num))?
    };
    let min: f64 = format!("{m}.{fp}")
        .parse()
        .map_err(|_| bad("coordinate", num))?;
    if min >= 60.0 || deg > 180.0 {
        return Err(bad("coordinate", num));
    }
    Ok(sign * (deg + min / 60.0))
}

/// Splits `s` at the first N/S (or E/W) letter: (number, hemisphere, rest).
fn take_coordinate<'a>(s: &'a str, hemis: &[u8]) -> Result<(f64, &'a str), DecodeError> {
    let i = s
        .bytes()
        .position(|b| hemis.contains(&b))
        .ok_or_else(|| bad("coordinate", s))?;
    let v = coordinate(&s[..i], s.as_bytes()[i])?;
    let rest = &s[i + 1..];
    Ok((v, rest.strip_prefix(',').unwrap_or(rest)))
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// `[01][01] x x x xxx L x+` at the start of `s`.
fn status(s: &str) -> Option<(Status, &str)> {
    let b = s.as_bytes();
    if b.len() < 10 || !matches!(b[0], b'0' | b'1') || !matches!(b[1], b'0' | b'1') {
        return None;
    }
    if !b[2..8].iter().all(|&c| is_hex(c)) || b[8] != b'L' {
        return None;
    }
    let odo_len = b[9..].iter().take_while(|&&c| is_hex(c)).count();
    if odo_len == 0 {
        return None;
    }
    let st = Status {
        charge: b[0] == b'0',
        ignition: b[1] == b'1',
        io: s[2..5].to_string(),
        fuel: i64::from_str_radix(&s[5..8], 16).ok()?,
        odometer: u64::from_str_radix(&s[9..9 + odo_len.min(16)], 16).ok()?,
    };
    Some((st, &s[9 + odo_len..]))
}

/// After speed: `hhmmss`, optional comma, then course + status (6-char course, or 2 digits)
/// or a bare `d+.d+` course. Returns (time, course, status, rest).
fn after_speed(s: &str) -> Option<(&str, f64, Option<Status>, &str)> {
    let time = s.get(..6).filter(|t| digits(t))?;
    let r = &s[6..];
    let r = r.strip_prefix(',').unwrap_or(r);
    for w in [6usize, 2] {
        if let Some(c) = r.get(..w) {
            let ok = if w == 6 {
                c.bytes()
                    .all(|b| b.is_ascii_digit() || b == b' ' || b == b'.')
            } else {
                digits(c)
            };
            if ok {
                let after = &r[w..];
                let after = after.strip_prefix(',').unwrap_or(after);
                if let Some((st, rest)) = status(after) {
                    let course = c.trim().parse().unwrap_or(0.0);
                    return Some((time, course, Some(st), rest));
                }
            }
        }
    }
    let n = r
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let c = &r[..n];
    let (a, b) = c.split_once('.')?;
    if !digits(a) || !digits(b) {
        return None;
    }
    Some((time, c.parse().ok()?, None, &r[n..]))
}

/// A `[+-]ddd.d` temperature at the very end of the frame body.
fn temperature(rest: &str) -> Option<f64> {
    let t = rest.get(rest.len().checked_sub(6)?..)?;
    let b = t.as_bytes();
    (matches!(b[0], b'+' | b'-')
        && t.get(1..4).is_some_and(digits)
        && b[4] == b'.'
        && b[5].is_ascii_digit())
    .then(|| t.parse().ok())
    .flatten()
}

/// The fixed form after date digits: `A|V` `,`? lat `N|S` `,`? lon `E|W` `,`? speed time course….
/// `date` is `yymmdd` here (`ddmmyy` for the comma form, parsed by [`comma`]).
pub(super) fn packed(date: &str, s: &str, year_first: bool) -> Result<Fix, DecodeError> {
    let valid = match s.as_bytes().first() {
        Some(b'A') => true,
        Some(b'V') => false,
        _ => return Err(bad("validity", s.get(..1).unwrap_or_default())),
    };
    let s = &s[1..];
    let s = s.strip_prefix(',').unwrap_or(s);
    let (lat, s) = take_coordinate(s, b"NS")?;
    let (lon, s) = take_coordinate(s, b"EW")?;
    for w in (1..=5).rev() {
        let Some(sp) = s.get(..w) else { continue };
        if !sp
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'.')
        {
            continue;
        }
        let mut rest = &s[w..];
        // `(?:d*,)?` after the speed: extra digits closed by a comma.
        if let Some(c) = rest.find(',') {
            if rest[..c].bytes().all(|b| b.is_ascii_digit()) {
                if let Some(r) = after_speed(&rest[c + 1..]) {
                    return finish(date, year_first, valid, lat, lon, sp, r);
                }
            }
        }
        if let Some(r) = after_speed(rest) {
            rest = r.3;
            return finish(date, year_first, valid, lat, lon, sp, (r.0, r.1, r.2, rest));
        }
    }
    Err(bad("speed/time/course", s))
}

fn finish(
    date: &str,
    year_first: bool,
    valid: bool,
    lat: f64,
    lon: f64,
    speed: &str,
    (time, course, status, rest): (&str, f64, Option<Status>, &str),
) -> Result<Fix, DecodeError> {
    Ok(Fix {
        time: datetime(date, time, year_first)?,
        valid,
        lat,
        lon,
        speed_kmh: speed.trim().parse().unwrap_or(0.0),
        course,
        status,
        temperature: temperature(rest),
    })
}

/// The comma form's fields after the command: `ddmmyy,A,lat N,lon E,speed,hhmmss,course,…`.
pub(super) fn comma(rest: &str) -> Result<Fix, DecodeError> {
    let (date, s) = rest.split_once(',').ok_or_else(|| bad("date", rest))?;
    packed(date, s, false)
}
