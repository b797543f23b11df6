//! Coban (gps103) device: log-on `##,imei:<imei>,A;` answered `LOAD`, heartbeat `<imei>;`
//! answered `ON`, positions `imei:<imei>,tracker,…;` one per sentence.
//!
//! Positions get **no reply** (neither from a Coban server nor from the gateway), so a
//! real device writes them and moves on. The session loop does the same
//! ([`SimProtocol::expects_reply`] is false for them): such fixes count as sent but
//! unconfirmed, never as ACKed; only the gateway's API can confirm them.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use trackgate::protocol::gps103::encode as enc;

/// The report keyword of a periodic fix (any other keyword is an event or alarm).
const KEYWORD: &str = "tracker";

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(Gps103Device {
        imei: id.imei.clone(),
        serial: 0,
    }))
}

struct Gps103Device {
    imei: String,
    /// Local frame counter (the wire has none); lets the counters tell frames apart.
    serial: u32,
}

impl Gps103Device {
    fn frame(&mut self, bytes: Vec<u8>, kind: FrameKind, records: usize) -> Frame {
        self.serial = self.serial.wrapping_add(1);
        Frame {
            bytes,
            kind,
            records,
            serial: self.serial,
            msg: 0,
        }
    }
}

/// The reply a frame of `kind` waits for (`None`: positions are not answered).
fn expected(kind: FrameKind) -> Option<&'static [u8]> {
    match kind {
        FrameKind::Login => Some(enc::LOAD),
        FrameKind::Heartbeat => Some(enc::ON),
        FrameKind::Positions => None,
    }
}

impl SimProtocol for Gps103Device {
    fn device_id(&self) -> String {
        self.imei.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        let bytes = enc::login(&self.imei).to_vec();
        Ok(Some(self.frame(bytes, FrameKind::Login, 0)))
    }

    fn positions(&mut self, fixes: &[Fix], _backlog: bool) -> Result<Frame, SimError> {
        // Coban sentences have no backlog flag: buffered fixes go up as ordinary reports.
        let [f] = fixes else {
            return Err(SimError::Encode(format!(
                "gps103 carries one fix per sentence, got {}",
                fixes.len()
            )));
        };
        // The simulated trucks keep their clocks on UTC; the gateway folds any offset.
        let bytes = enc::position(&self.imei, KEYWORD, f, 0).to_vec();
        Ok(self.frame(bytes, FrameKind::Positions, 1))
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        let bytes = enc::heartbeat(&self.imei).to_vec();
        Ok(Some(self.frame(bytes, FrameKind::Heartbeat, 0)))
    }

    fn cut_reply(&self, sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        // `LOAD` and `ON` have no delimiter: the reply is known by what was sent. A server
        // that adds CR LF after them is tolerated.
        let skip = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let _ = buf.split_to(skip);
        let Some(want) = expected(sent.kind) else {
            return Err(SimError::BadReply(format!(
                "gps103 server wrote {:?} where no reply exists",
                buf.escape_ascii().to_string()
            )));
        };
        let n = buf.len().min(want.len());
        if buf[..n] != want[..n] {
            return Err(SimError::BadReply(format!(
                "gps103 expected {:?}, got {:?}",
                want.escape_ascii().to_string(),
                buf[..buf.len().min(32)].escape_ascii().to_string()
            )));
        }
        if n < want.len() {
            return Ok(None);
        }
        Ok(Some(buf.split_to(n).to_vec()))
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        match expected(sent.kind) {
            Some(want) if reply == want => Ok(Answer::Acked),
            _ => Err(SimError::BadReply(format!(
                "gps103 reply {:?} to a {:?} frame",
                reply.escape_ascii().to_string(),
                sent.kind
            ))),
        }
    }

    fn expects_reply(&self, frame: &Frame) -> bool {
        expected(frame.kind).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn device() -> Box<dyn SimProtocol> {
        build(&Identity {
            imei: "350000000000014".into(),
            index: 0,
        })
        .expect("device")
    }

    #[test]
    fn sentences_are_exact() {
        let mut d = device();
        let login = d.login().expect("ok").expect("frame");
        assert_eq!(login.bytes, b"##,imei:350000000000014,A;");
        let hb = d.heartbeat().expect("ok").expect("frame");
        assert_eq!(hb.bytes, b"350000000000014;");
        let f = Fix {
            time: Utc
                .with_ymd_and_hms(2026, 11, 27, 23, 59, 57)
                .single()
                .expect("time"),
            lat: -33.868_8,
            lon: 151.209_3,
            speed_kmh: 18.52,
            course: 271.5,
            altitude_m: 20.0,
            satellites: 8,
            hdop: 0.0,
            valid: true,
            ignition: true,
            odometer_m: 0.0,
        };
        let p = d.positions(&[f], false).expect("frame");
        // -33.8688° = 33° 52.1280' S; 151.2093° = 151° 12.5580' E; 18.52 km/h = 10 kn.
        assert_eq!(
            String::from_utf8(p.bytes.clone()).expect("ascii"),
            "imei:350000000000014,tracker,2611272359,,F,235957.000,A,3352.1280,S,15112.5580,E,10.00,271.50;"
        );
        assert!(!d.expects_reply(&p), "positions are not answered");
        assert!(d.expects_reply(&login) && d.expects_reply(&hb));
    }

    #[test]
    fn load_and_on_are_cut_by_what_was_sent() {
        let mut d = device();
        let login = d.login().expect("ok").expect("frame");
        let hb = d.heartbeat().expect("ok").expect("frame");
        let mut buf = BytesMut::from(&b"LO"[..]);
        assert_eq!(d.cut_reply(&login, &mut buf).expect("ok"), None);
        buf.extend_from_slice(b"ADON");
        let r = d.cut_reply(&login, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&login, &r).expect("ok"), Answer::Acked);
        let r = d.cut_reply(&hb, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&hb, &r).expect("ok"), Answer::Acked);
        // `ON` is not the log-on reply; anything else is garbage.
        assert!(d.check_reply(&login, b"ON").is_err());
        let mut buf = BytesMut::from(&b"**,imei:1,E;"[..]);
        assert!(d.cut_reply(&login, &mut buf).is_err());
    }
}
