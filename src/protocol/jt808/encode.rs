//! Encoders: the platform's replies (ACKs) and every terminal uplink frame we decode (for the
//! simulator and round-trip tests). Build order is the standard's: header + body → XOR →
//! escape → wrap in `7E`.

use super::frame::{escape_into, FLAG};
use super::msg;
use crate::protocol::wire::{digits_to_bcd, xor};
use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

/// Largest body one frame can carry: the body-attribute length field has 10 bits.
pub const MAX_BODY: usize = 0x03ff;

/// Why a frame could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Bodies above [`MAX_BODY`] must be sub-packaged, which these encoders do not do.
    #[error("body of message {msg_id:#06x} is {len} bytes, more than {MAX_BODY}")]
    BodyTooLong {
        /// The message being encoded.
        msg_id: u16,
        /// Its body length, bytes.
        len: usize,
    },
    /// The phone number is not 1–12 (2013) or 1–20 (2019) decimal digits.
    #[error("terminal phone {0:?} is not a valid BCD number for this header version")]
    Phone(String),
}

/// Who a frame is from/to, as it appears in the header: replies echo the terminal's own
/// header shape (2013 vs 2019, raw phone bytes) so the terminal recognises them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminal {
    /// The phone field exactly as on the wire: 6 bytes (2013) or 10 bytes (2019).
    pub phone: Vec<u8>,
    /// `Some(protocol version)` for a 2019 header (body-attribute bit 14 set).
    pub version: Option<u8>,
}

impl Terminal {
    /// A 2013 terminal from its phone digits (left-padded with zeros to 12).
    pub fn v2013(phone: &str) -> Result<Self, EncodeError> {
        Self::from_digits(phone, 6, None)
    }

    /// A 2019 terminal from its phone digits (left-padded with zeros to 20).
    pub fn v2019(phone: &str, version: u8) -> Result<Self, EncodeError> {
        Self::from_digits(phone, 10, Some(version))
    }

    fn from_digits(phone: &str, bytes: usize, version: Option<u8>) -> Result<Self, EncodeError> {
        let width = bytes * 2;
        if phone.is_empty() || phone.len() > width {
            return Err(EncodeError::Phone(phone.to_string()));
        }
        let padded = format!("{phone:0>width$}");
        let phone_bcd = digits_to_bcd(&padded).ok_or_else(|| EncodeError::Phone(phone.into()))?;
        Ok(Terminal {
            phone: phone_bcd,
            version,
        })
    }
}

/// The serial-number field: a WORD normally, one byte in the 0x5501/0x5502/0x4401 dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serial {
    /// The standard WORD serial.
    Word(u16),
    /// The one-byte serial of the e-lock dialect (0x5501/0x5502/0x4401).
    Byte(u8),
}

/// Builds one complete escaped frame.
pub fn frame(
    msg_id: u16,
    term: &Terminal,
    serial: Serial,
    body: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    if body.len() > MAX_BODY {
        return Err(EncodeError::BodyTooLong {
            msg_id,
            len: body.len(),
        });
    }
    let mut raw = Vec::with_capacity(body.len() + 24);
    raw.extend_from_slice(&msg_id.to_be_bytes());
    let mut attr = body.len() as u16;
    if term.version.is_some() {
        attr |= 1 << 14;
    }
    raw.extend_from_slice(&attr.to_be_bytes());
    if let Some(v) = term.version {
        raw.push(v);
    }
    raw.extend_from_slice(&term.phone);
    match serial {
        Serial::Word(s) => raw.extend_from_slice(&s.to_be_bytes()),
        Serial::Byte(s) => raw.push(s),
    }
    raw.extend_from_slice(body);
    raw.push(xor(&raw));
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.push(FLAG);
    escape_into(&raw, &mut out);
    out.push(FLAG);
    Ok(out)
}

/// Result codes of 0x8001 (platform general response).
pub mod result {
    /// Success / acknowledged.
    pub const OK: u8 = 0;
    /// Failure: our answer to an auth or report from a device that is not admitted.
    pub const FAIL: u8 = 1;
    /// 0x8100 result "terminal already registered": a terminal whose code has authenticated
    /// registers again (it must keep using that code).
    pub const REGISTER_TERMINAL_TAKEN: u8 = 3;
    /// 0x8100 result "no such terminal in the database": our refusal of a registration.
    pub const REGISTER_NO_SUCH_TERMINAL: u8 = 4;
}

/// 0x8001 platform general response {reply serial, reply msg id, result}.
pub fn general_response(
    term: &Terminal,
    platform_serial: u16,
    reply_serial: u16,
    reply_id: u16,
    result: u8,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(5);
    body.extend_from_slice(&reply_serial.to_be_bytes());
    body.extend_from_slice(&reply_id.to_be_bytes());
    body.push(result);
    frame(
        msg::GENERAL_RESPONSE,
        term,
        Serial::Word(platform_serial),
        &body,
    )
}

/// 0x4401 short general response {reply msg id, result} with a one-byte serial: the reply of
/// the 0x5501/0x5502 dialect (e-locks) when the terminal asks for one (attribute bit 15).
pub fn general_response_2(
    term: &Terminal,
    platform_serial: u8,
    reply_id: u16,
    result: u8,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(3);
    body.extend_from_slice(&reply_id.to_be_bytes());
    body.push(result);
    frame(
        msg::GENERAL_RESPONSE_2,
        term,
        Serial::Byte(platform_serial),
        &body,
    )
}

/// 0x8100 register response {reply serial, result, auth code (only when result is 0)}.
pub fn register_response(
    term: &Terminal,
    platform_serial: u16,
    reply_serial: u16,
    result: u8,
    auth_code: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(3 + auth_code.len());
    body.extend_from_slice(&reply_serial.to_be_bytes());
    body.push(result);
    if result == result::OK {
        body.extend_from_slice(auth_code);
    }
    frame(
        msg::REGISTER_RESPONSE,
        term,
        Serial::Word(platform_serial),
        &body,
    )
}

/// 0x8109 time-sync response: UTC year WORD, month, day, hour, minute, second, result.
pub fn time_sync_response(
    term: &Terminal,
    platform_serial: u16,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::with_capacity(8);
    body.extend_from_slice(&(now.year().clamp(0, 0xffff) as u16).to_be_bytes());
    for v in [
        now.month(),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
    ] {
        body.push(v as u8);
    }
    body.push(result::OK);
    frame(
        msg::TIME_SYNC_RESPONSE,
        term,
        Serial::Word(platform_serial),
        &body,
    )
}

/// One 0x0200 location report as a terminal sends it (also the items of 0x0704).
#[derive(Clone, Debug, PartialEq)]
pub struct LocationReport {
    /// Alarm flag DWORD.
    pub alarm: u32,
    /// Status DWORD; bits 2 (south) and 3 (west) are set from the signs of `lat`/`lon`.
    pub status: u32,
    /// Degrees, south negative (resolution 1e-6).
    pub lat: f64,
    /// Degrees, west negative (resolution 1e-6).
    pub lon: f64,
    /// Metres.
    pub altitude: i16,
    /// km/h (resolution 0.1).
    pub speed_kmh: f64,
    /// Degrees 0–359.
    pub course: u16,
    /// Fix time, UTC; written as BCD local time in `tz`.
    pub time: DateTime<Utc>,
    /// Time zone the device writes its clock in (GMT+8 in the standard).
    pub tz: FixedOffset,
    /// Additional items {id, value}, written in order.
    pub items: Vec<(u8, Vec<u8>)>,
}

impl LocationReport {
    /// The 0x0200 body: 28-byte basic block plus additional items.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(28 + self.items.len() * 6);
        let mut status = self.status & !0b1100;
        if self.lat < 0.0 {
            status |= 1 << 2;
        }
        if self.lon < 0.0 {
            status |= 1 << 3;
        }
        b.extend_from_slice(&self.alarm.to_be_bytes());
        b.extend_from_slice(&status.to_be_bytes());
        b.extend_from_slice(&micro(self.lat).to_be_bytes());
        b.extend_from_slice(&micro(self.lon).to_be_bytes());
        b.extend_from_slice(&self.altitude.to_be_bytes());
        let speed = (self.speed_kmh * 10.0).round().clamp(0.0, 65535.0) as u16;
        b.extend_from_slice(&speed.to_be_bytes());
        b.extend_from_slice(&self.course.to_be_bytes());
        b.extend_from_slice(&bcd_time(self.time, self.tz));
        for (id, v) in &self.items {
            b.push(*id);
            b.push(v.len().min(255) as u8);
            b.extend_from_slice(&v[..v.len().min(255)]);
        }
        b
    }
}

fn micro(deg: f64) -> u32 {
    (deg.abs() * 1e6).round().clamp(0.0, u32::MAX as f64) as u32
}

/// BCD[6] YYMMDDhhmmss of `t` in the device's zone.
pub fn bcd_time(t: DateTime<Utc>, tz: FixedOffset) -> [u8; 6] {
    let l = t.with_timezone(&tz);
    let v = [
        l.year().rem_euclid(100) as u32,
        l.month(),
        l.day(),
        l.hour(),
        l.minute(),
        l.second(),
    ];
    v.map(|x| (((x / 10) << 4) | (x % 10)) as u8)
}

/// 0x0200 location report.
pub fn location(
    term: &Terminal,
    serial: u16,
    report: &LocationReport,
) -> Result<Vec<u8>, EncodeError> {
    frame(msg::LOCATION, term, Serial::Word(serial), &report.body())
}

/// 0x0704 batch upload; `blind_area` = type 1 (back-filled fixes from a coverage gap).
pub fn location_batch(
    term: &Terminal,
    serial: u16,
    blind_area: bool,
    reports: &[LocationReport],
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::new();
    body.extend_from_slice(&(reports.len().min(0xffff) as u16).to_be_bytes());
    body.push(u8::from(blind_area));
    for r in reports {
        let item = r.body();
        body.extend_from_slice(&(item.len().min(0xffff) as u16).to_be_bytes());
        body.extend_from_slice(&item);
    }
    frame(msg::LOCATION_BATCH, term, Serial::Word(serial), &body)
}

/// 0x0002 heartbeat (empty body).
pub fn heartbeat(term: &Terminal, serial: u16) -> Result<Vec<u8>, EncodeError> {
    frame(msg::HEARTBEAT, term, Serial::Word(serial), &[])
}

/// 0x0003 logout (empty body).
pub fn logout(term: &Terminal, serial: u16) -> Result<Vec<u8>, EncodeError> {
    frame(msg::LOGOUT, term, Serial::Word(serial), &[])
}

/// 0x0102 authentication. 2013: the code as the whole body; 2019: {len, code, IMEI[15],
/// software version[20]} (IMEI and version zero-padded/truncated to size).
pub fn auth(
    term: &Terminal,
    serial: u16,
    code: &str,
    imei: &str,
    sw_version: &str,
) -> Result<Vec<u8>, EncodeError> {
    let mut body = Vec::new();
    if term.version.is_some() {
        let c = &code.as_bytes()[..code.len().min(255)];
        body.push(c.len() as u8);
        body.extend_from_slice(c);
        body.extend_from_slice(&fixed(imei.as_bytes(), 15));
        body.extend_from_slice(&fixed(sw_version.as_bytes(), 20));
    } else {
        body.extend_from_slice(code.as_bytes());
    }
    frame(msg::AUTH, term, Serial::Word(serial), &body)
}

/// What a terminal tells the platform when it registers (0x0100).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Province id (GB/T 2260 first two digits).
    pub province: u16,
    /// City / county id (GB/T 2260 last four digits).
    pub city: u16,
    /// Manufacturer id: 5 bytes (2013) / 11 bytes (2019), zero-padded.
    pub maker: String,
    /// Terminal model: 20 bytes (2013) / 30 bytes (2019), zero-padded.
    pub model: String,
    /// Terminal id: 7 bytes (2013) / 30 bytes (2019), zero-padded.
    pub terminal_id: String,
    /// Licence-plate colour (0 = no plate, VIN used).
    pub plate_color: u8,
    /// Plate (GBK on the wire) or VIN.
    pub plate: String,
}

/// 0x0100 terminal registration.
pub fn register(term: &Terminal, serial: u16, reg: &Registration) -> Result<Vec<u8>, EncodeError> {
    let (m, t, i) = if term.version.is_some() {
        (11, 30, 30)
    } else {
        (5, 20, 7)
    };
    let mut body = Vec::new();
    body.extend_from_slice(&reg.province.to_be_bytes());
    body.extend_from_slice(&reg.city.to_be_bytes());
    body.extend_from_slice(&fixed(reg.maker.as_bytes(), m));
    body.extend_from_slice(&fixed(reg.model.as_bytes(), t));
    body.extend_from_slice(&fixed(reg.terminal_id.as_bytes(), i));
    body.push(reg.plate_color);
    let (plate, _, _) = encoding_rs::GBK.encode(&reg.plate);
    body.extend_from_slice(&plate);
    frame(msg::REGISTER, term, Serial::Word(serial), &body)
}

fn fixed(s: &[u8], n: usize) -> Vec<u8> {
    let mut v = s[..s.len().min(n)].to_vec();
    v.resize(n, 0);
    v
}
