//! JT/T 808 terminal (2013 or 2019 header). Session: register 0x0100 → 0x8100 {serial, result,
//! auth code} (only once; the code is kept, as terminals keep it in flash), then authenticate
//! 0x0102 → 0x8001 on every connection. Positions 0x0200, backlog 0x0704 (type 1, blind-area
//! back-fill), heartbeat 0x0002; each answered by 0x8001 {reply serial, reply id, result}.

use super::gt06::hex;
use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use chrono::FixedOffset;
use trackgate::protocol::jt808::encode::{self as enc, LocationReport, Registration, Terminal};
use trackgate::protocol::jt808::frame::{cut, unescape};
use trackgate::protocol::jt808::msg;
use trackgate::protocol::wire::xor;
use trackgate::protocol::FrameResult;

/// Reports per 0x0704 batch: 25 × 30 bytes stays under the 1023-byte body limit.
const MAX_BATCH: usize = 25;
/// Largest reply frame we accept (0x8100 with a long auth code is the biggest).
const MAX_REPLY: usize = 1024;
/// The standard's clock: terminals write BCD local time in GMT+8.
const TZ_SECS: i32 = 8 * 3600;

pub(super) fn build_2013(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    // A 2013 phone is 12 BCD digits: the IMEI's last 12 stand in for the SIM number.
    let phone = id.imei[id.imei.len().saturating_sub(12)..].to_string();
    let term = Terminal::v2013(&phone).map_err(|e| SimError::Config(e.to_string()))?;
    Ok(Box::new(Jt808Device::new(id, phone, term)))
}

pub(super) fn build_2019(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    // 2019 phones are 20 digits, zero-padded on the left, and the id keeps the padding.
    let phone = format!("{:0>20}", id.imei);
    let term = Terminal::v2019(&id.imei, 1).map_err(|e| SimError::Config(e.to_string()))?;
    Ok(Box::new(Jt808Device::new(id, phone, term)))
}

struct Jt808Device {
    imei: String,
    /// Phone digits as the gateway reports them.
    phone: String,
    term: Terminal,
    serial: u16,
    auth_code: Option<String>,
    tz: FixedOffset,
}

impl Jt808Device {
    fn new(id: &Identity, phone: String, term: Terminal) -> Jt808Device {
        Jt808Device {
            imei: id.imei.clone(),
            phone,
            term,
            serial: 0,
            auth_code: None,
            // East of UTC by 8 h always fits FixedOffset.
            tz: FixedOffset::east_opt(TZ_SECS).unwrap_or_else(|| chrono::Utc.fix()),
        }
    }

    fn next_serial(&mut self) -> u16 {
        let s = self.serial;
        self.serial = self.serial.wrapping_add(1);
        s
    }

    fn frame(&self, bytes: Vec<u8>, kind: FrameKind, records: usize, id: u16, s: u16) -> Frame {
        Frame {
            bytes,
            kind,
            records,
            serial: s.into(),
            msg: id,
        }
    }

    fn auth(&mut self) -> Result<Frame, SimError> {
        let code = self.auth_code.clone().unwrap_or_default();
        let s = self.next_serial();
        let b = enc::auth(&self.term, s, &code, &self.imei, "SIM-1.0").map_err(enc_err)?;
        Ok(self.frame(b, FrameKind::Login, 0, msg::AUTH, s))
    }

    fn report(&self, f: &Fix) -> LocationReport {
        // Status: bit 0 ACC, bit 1 positioned; the encoder sets the south/west bits.
        let status = u32::from(f.ignition) | (u32::from(f.valid) << 1);
        LocationReport {
            alarm: 0,
            status,
            lat: f.lat,
            lon: f.lon,
            altitude: f.altitude_m.round().clamp(-32768.0, 32767.0) as i16,
            speed_kmh: f.speed_kmh,
            course: f.course_whole(),
            time: f.time,
            tz: self.tz,
            // 0x01 mileage (1/10 km), 0x30 signal strength, 0x31 satellites.
            items: vec![
                (
                    0x01,
                    ((f.odometer_m / 100.0).round().clamp(0.0, u32::MAX as f64) as u32)
                        .to_be_bytes()
                        .to_vec(),
                ),
                (0x30, vec![25]),
                (0x31, vec![f.satellites]),
            ],
        }
    }
}

use chrono::Offset;

fn enc_err(e: enc::EncodeError) -> SimError {
    SimError::Encode(e.to_string())
}

/// A parsed platform message: id, serial, phone and body (unescaped, checksum verified).
pub(crate) struct Reply {
    pub id: u16,
    pub phone: Vec<u8>,
    /// The platform's serial number of the message.
    pub serial: u16,
    pub body: Vec<u8>,
}

/// Unescapes and checks a platform frame (XOR, delimiters, header shape).
pub(crate) fn parse_reply(wire: &[u8]) -> Result<Reply, SimError> {
    let bad = |why: String| SimError::BadReply(format!("jt808 {why}: {}", hex(wire)));
    let f = unescape(wire).map_err(|e| bad(e.to_string()))?;
    if f.len() < 15 || f[0] != 0x7e || f[f.len() - 1] != 0x7e {
        return Err(bad("not a 7e frame".into()));
    }
    let inner = &f[1..f.len() - 2];
    if xor(inner) != f[f.len() - 2] {
        return Err(bad("checksum mismatch".into()));
    }
    let id = u16::from_be_bytes([inner[0], inner[1]]);
    let attr = u16::from_be_bytes([inner[2], inner[3]]);
    let (phone_at, phone_len) = if attr & (1 << 14) != 0 {
        (5, 10)
    } else {
        (4, 6)
    };
    let body_at = phone_at + phone_len + 2;
    let body_len = usize::from(attr & 0x03ff);
    if inner.len() != body_at + body_len {
        return Err(bad(format!(
            "body length {body_len} disagrees with the frame"
        )));
    }
    Ok(Reply {
        id,
        phone: inner[phone_at..phone_at + phone_len].to_vec(),
        serial: u16::from_be_bytes([inner[body_at - 2], inner[body_at - 1]]),
        body: inner[body_at..].to_vec(),
    })
}

impl SimProtocol for Jt808Device {
    fn device_id(&self) -> String {
        self.phone.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        if self.auth_code.is_some() {
            return self.auth().map(Some);
        }
        let reg = Registration {
            province: 44,
            city: 300,
            maker: "SIMTG".into(),
            model: "TG-808".into(),
            terminal_id: self.imei[self.imei.len().saturating_sub(7)..].into(),
            plate_color: 1,
            plate: format!("粤B{}", &self.imei[self.imei.len().saturating_sub(5)..]),
        };
        let s = self.next_serial();
        let b = enc::register(&self.term, s, &reg).map_err(enc_err)?;
        Ok(Some(self.frame(b, FrameKind::Login, 0, msg::REGISTER, s)))
    }

    fn positions(&mut self, fixes: &[Fix], backlog: bool) -> Result<Frame, SimError> {
        let s = self.next_serial();
        if let ([f], false) = (fixes, backlog) {
            let b = enc::location(&self.term, s, &self.report(f)).map_err(enc_err)?;
            return Ok(self.frame(b, FrameKind::Positions, 1, msg::LOCATION, s));
        }
        let reports: Vec<LocationReport> = fixes.iter().map(|f| self.report(f)).collect();
        let b = enc::location_batch(&self.term, s, backlog, &reports).map_err(enc_err)?;
        Ok(self.frame(b, FrameKind::Positions, fixes.len(), msg::LOCATION_BATCH, s))
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        let s = self.next_serial();
        let b = enc::heartbeat(&self.term, s).map_err(enc_err)?;
        Ok(Some(self.frame(
            b,
            FrameKind::Heartbeat,
            0,
            msg::HEARTBEAT,
            s,
        )))
    }

    fn cut_reply(&self, _sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        loop {
            match cut(buf, MAX_REPLY).apply(buf) {
                FrameResult::NeedMore => return Ok(None),
                FrameResult::Frame(f) => return Ok(Some(f.to_vec())),
                FrameResult::Skipped(_) => continue,
                FrameResult::Fatal(e) => return Err(SimError::BadReply(e.to_string())),
            }
        }
    }

    /// Terminal control 0x8105, set parameters 0x8103 and text 0x8300 are answered with the
    /// terminal general response 0x0001 {their serial, their id, result 0}; a position query
    /// 0x8201 is not answered (the simulator keeps no position between frames).
    fn answer_command(&mut self, server: &[u8]) -> Option<Frame> {
        const ANSWERED: [u16; 3] = [0x8105, 0x8103, 0x8300];
        let r = parse_reply(server).ok()?;
        if r.phone != self.term.phone || !ANSWERED.contains(&r.id) {
            return None;
        }
        let mut body = r.serial.to_be_bytes().to_vec();
        body.extend_from_slice(&r.id.to_be_bytes());
        body.push(0);
        let s = self.next_serial();
        let bytes = enc::frame(
            msg::TERMINAL_RESPONSE,
            &self.term,
            enc::Serial::Word(s),
            &body,
        )
        .ok()?;
        Some(self.frame(bytes, FrameKind::Heartbeat, 0, msg::TERMINAL_RESPONSE, s))
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        let r = parse_reply(reply)?;
        if r.phone != self.term.phone {
            return Err(SimError::BadReply(format!(
                "jt808 reply for phone {} sent to {}",
                hex(&r.phone),
                self.phone
            )));
        }
        let word = |i: usize| {
            r.body
                .get(i..i + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        match r.id {
            msg::REGISTER_RESPONSE if sent.msg == msg::REGISTER => {
                let (Some(serial), Some(&result)) = (word(0), r.body.get(2)) else {
                    return Err(SimError::BadReply("jt808 0x8100 body too short".into()));
                };
                if u32::from(serial) != sent.serial {
                    return Ok(Answer::Unrelated);
                }
                if result != 0 {
                    return Err(SimError::Refused(format!("registration result {result}")));
                }
                self.auth_code = Some(String::from_utf8_lossy(&r.body[3..]).into_owned());
                self.auth().map(Answer::Next)
            }
            msg::GENERAL_RESPONSE => {
                let (Some(serial), Some(id), Some(&result)) = (word(0), word(2), r.body.get(4))
                else {
                    return Err(SimError::BadReply("jt808 0x8001 body too short".into()));
                };
                if u32::from(serial) != sent.serial || id != sent.msg {
                    return Ok(Answer::Unrelated);
                }
                match (result, sent.kind) {
                    (0, _) => Ok(Answer::Acked),
                    (_, FrameKind::Login) => {
                        // A rejected code: register afresh on the next connection.
                        self.auth_code = None;
                        Err(SimError::Refused(format!("authentication result {result}")))
                    }
                    (r, _) => Ok(Answer::Retry(format!("0x8001 result {r}"))),
                }
            }
            _ => Ok(Answer::Unrelated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(v2019: bool) -> Box<dyn SimProtocol> {
        let id = Identity {
            imei: "864717003283581".into(),
            index: 0,
        };
        if v2019 {
            build_2019(&id).expect("device")
        } else {
            build_2013(&id).expect("device")
        }
    }

    #[test]
    fn register_auth_then_location_ack() {
        for v2019 in [false, true] {
            let mut d = device(v2019);
            let term = if v2019 {
                Terminal::v2019("864717003283581", 1).expect("phone")
            } else {
                Terminal::v2013("717003283581").expect("phone")
            };
            let reg = d.login().expect("ok").expect("register");
            assert_eq!((reg.msg, reg.serial), (msg::REGISTER, 0));
            let reply = enc::register_response(&term, 7, 0, 0, b"AUTH1").expect("encodes");
            let Answer::Next(auth) = d.check_reply(&reg, &reply).expect("ok") else {
                panic!("registration must continue with auth");
            };
            assert_eq!((auth.msg, auth.serial), (msg::AUTH, 1));
            let parsed = parse_reply(&auth.bytes).expect("own frame parses");
            let code_at = usize::from(v2019); // 2019 auth starts with the code length
            assert_eq!(&parsed.body[code_at..code_at + 5], b"AUTH1");
            let ok = enc::general_response(&term, 8, 1, msg::AUTH, 0).expect("encodes");
            assert_eq!(d.check_reply(&auth, &ok).expect("ok"), Answer::Acked);
            // Reconnect: authenticate straight away with the kept code.
            assert_eq!(d.login().expect("ok").expect("auth").msg, msg::AUTH);
        }
    }

    #[test]
    fn general_response_must_echo_serial_and_id() {
        let mut d = device(false);
        let term = Terminal::v2013("717003283581").expect("phone");
        let fix = Fix {
            time: chrono::Utc::now(),
            lat: -33.9,
            lon: 18.4,
            speed_kmh: 50.0,
            course: 90.0,
            altitude_m: 10.0,
            satellites: 8,
            hdop: 0.0,
            valid: true,
            ignition: true,
            odometer_m: 0.0,
        };
        let p = d
            .positions(std::slice::from_ref(&fix), false)
            .expect("frame");
        assert_eq!(p.msg, msg::LOCATION);
        let wrong_id = enc::general_response(&term, 1, 0, msg::HEARTBEAT, 0).expect("enc");
        assert_eq!(d.check_reply(&p, &wrong_id).expect("ok"), Answer::Unrelated);
        let right = enc::general_response(&term, 1, 0, msg::LOCATION, 0).expect("enc");
        assert_eq!(d.check_reply(&p, &right).expect("ok"), Answer::Acked);
        let failed = enc::general_response(&term, 1, 0, msg::LOCATION, 1).expect("enc");
        assert!(matches!(
            d.check_reply(&p, &failed).expect("ok"),
            Answer::Retry(_)
        ));
        let batch = d.positions(&[fix.clone(), fix], true).expect("frame");
        assert_eq!((batch.msg, batch.records), (msg::LOCATION_BATCH, 2));
        let mut corrupt = right.clone();
        let n = corrupt.len();
        corrupt[n - 2] ^= 0x01;
        assert!(d.check_reply(&p, &corrupt).is_err(), "bad checksum");
    }
}
