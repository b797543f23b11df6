//! H02 device (Sinotrack `*HQ` text dialect): no login (every sentence names the device),
//! positions `*HQ,<id>,V1,…#` one per frame, heartbeat `*HQ,<id>,HTBT,<battery>#`.
//!
//! Replies, as the gateway sends them (`src/protocol/h02/decode.rs`): `V1` is answered with
//! `*HQ,<id>,V4,V1,<yyyyMMddHHmmss>#` once the fix is durable, and the heartbeat is echoed as
//! `*HQ,<id>,HTBT#`. So unlike other H02 sentences (answered only with `ack = true`), every
//! frame this device sends has a reply and every fix is ACKed. Replies carry no serial: a
//! reply matches the waiting frame by device id and type, which is all a real H02 can do.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use trackgate::protocol::h02::encode as enc;

/// Largest reply we buffer without seeing its closing `#` before calling the stream garbage
/// (the V4 reply for a 15-digit id is 36 bytes).
const MAX_REPLY: usize = 256;
/// Status word: no alarm (active-low bits all 1); bit 10 set = ignition on.
const STATUS_IGNITION_ON: u32 = 0xFFFF_FFFF;
/// Status word: no alarm, ignition off (bit 10 clear).
const STATUS_IGNITION_OFF: u32 = 0xFFFF_FBFF;
/// Battery percentage reported in heartbeats (trucks are powered).
const BATTERY: u8 = 100;

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(H02Device {
        id: id.imei.clone(),
        serial: 0,
    }))
}

struct H02Device {
    /// The id field of every sentence: the 15-digit IMEI, as the `*HQ` clones send it.
    id: String,
    /// Local frame counter (the wire has none); lets the counters tell frames apart.
    serial: u32,
}

/// Message codes stored in [`Frame::msg`]: which reply type a frame waits for.
const MSG_V1: u16 = 1;
const MSG_HTBT: u16 = 2;

impl H02Device {
    fn frame(&mut self, bytes: Vec<u8>, kind: FrameKind, records: usize, msg: u16) -> Frame {
        self.serial = self.serial.wrapping_add(1);
        Frame {
            bytes,
            kind,
            records,
            serial: self.serial,
            msg,
        }
    }
}

impl SimProtocol for H02Device {
    fn device_id(&self) -> String {
        self.id.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        Ok(None)
    }

    fn positions(&mut self, fixes: &[Fix], _backlog: bool) -> Result<Frame, SimError> {
        // H02 has no backlog flag: buffered fixes go up as ordinary V1 sentences, oldest first.
        let [f] = fixes else {
            return Err(SimError::Encode(format!(
                "h02 carries one fix per frame, got {}",
                fixes.len()
            )));
        };
        let status = if f.ignition {
            STATUS_IGNITION_ON
        } else {
            STATUS_IGNITION_OFF
        };
        let bytes = enc::v1(&self.id, f, status).to_vec();
        Ok(self.frame(bytes, FrameKind::Positions, 1, MSG_V1))
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        let bytes = enc::heartbeat(&self.id, BATTERY).to_vec();
        Ok(Some(self.frame(bytes, FrameKind::Heartbeat, 0, MSG_HTBT)))
    }

    fn cut_reply(&self, _sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        // Tolerate line breaks between replies (some servers add CR LF).
        let skip = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let _ = buf.split_to(skip);
        if buf.is_empty() {
            return Ok(None);
        }
        if buf[0] != b'*' {
            return Err(SimError::BadReply(format!(
                "h02 reply does not start with '*': {:?}",
                printable(&buf[..buf.len().min(32)])
            )));
        }
        match buf.iter().position(|&b| b == b'#') {
            Some(end) => Ok(Some(buf.split_to(end + 1).to_vec())),
            None if buf.len() > MAX_REPLY => Err(SimError::BadReply(format!(
                "h02 reply without '#' in {} bytes",
                buf.len()
            ))),
            None => Ok(None),
        }
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        let r = parse_reply(reply)?;
        if r.id != self.id {
            return Ok(Answer::Unrelated);
        }
        let answers = match sent.msg {
            MSG_V1 => r.typ == "V4" && r.args.first() == Some(&"V1"),
            MSG_HTBT => r.typ == "HTBT" && r.args.is_empty(),
            _ => false,
        };
        Ok(if answers {
            Answer::Acked
        } else {
            Answer::Unrelated
        })
    }
}

/// A server sentence `*<maker>,<id>,<type>[,<args>…]#`.
#[derive(Debug, PartialEq)]
struct Reply<'a> {
    id: &'a str,
    typ: &'a str,
    args: Vec<&'a str>,
}

fn parse_reply(r: &[u8]) -> Result<Reply<'_>, SimError> {
    let bad = |why: &str| SimError::BadReply(format!("h02 {why}: {:?}", printable(r)));
    let s = std::str::from_utf8(r).map_err(|_| bad("reply is not ASCII"))?;
    let body = s
        .strip_prefix('*')
        .and_then(|b| b.strip_suffix('#'))
        .ok_or_else(|| bad("reply is not *…#"))?;
    let mut f = body.split(',');
    let (Some(_maker), Some(id), Some(typ)) = (f.next(), f.next(), f.next()) else {
        return Err(bad("reply lacks maker, id or type"));
    };
    if typ.is_empty() {
        return Err(bad("reply without a type"));
    }
    Ok(Reply {
        id,
        typ,
        args: f.collect(),
    })
}

/// Bytes for an error message: ASCII as is, anything else escaped.
fn printable(b: &[u8]) -> String {
    b.escape_ascii().to_string()
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

    fn fix() -> Fix {
        Fix {
            time: Utc
                .with_ymd_and_hms(2026, 11, 27, 5, 30, 12)
                .single()
                .expect("time"),
            lat: 47.376_9,
            lon: -8.541_7,
            speed_kmh: 92.6,
            course: 359.6,
            altitude_m: 410.0,
            satellites: 9,
            hdop: 0.0,
            valid: true,
            ignition: true,
            odometer_m: 1000.0,
        }
    }

    #[test]
    fn v1_sentence_is_exact() {
        let mut d = device();
        let f = d.positions(&[fix()], false).expect("frame");
        // 47.3769° = 47° 22.6140'; 8.5417° = 8° 32.5020' W; 92.6 km/h = 50.00 kn;
        // course 359.6 rounds to 360 → 0.
        assert_eq!(
            String::from_utf8(f.bytes.clone()).expect("ascii"),
            "*HQ,350000000000014,V1,053012,A,4722.6140,N,00832.5020,W,50.00,0,271126,FFFFFFFF#"
        );
        assert_eq!((f.kind, f.records), (FrameKind::Positions, 1));
        assert!(d.positions(&[fix(), fix()], true).is_err(), "one per frame");
        assert!(d.login().expect("ok").is_none(), "h02 has no login");
    }

    #[test]
    fn v1_is_acked_by_the_v4_reply_and_heartbeat_by_its_echo() {
        let mut d = device();
        let v1 = d.positions(&[fix()], false).expect("frame");
        let hb = d.heartbeat().expect("ok").expect("frame");
        assert_eq!(hb.bytes, b"*HQ,350000000000014,HTBT,100#");
        // Two replies glued together, split across reads.
        let mut buf = BytesMut::from(&b"*HQ,350000000000014,V4,V1,20261127053013#\r\n*HQ,3500"[..]);
        let r1 = d.cut_reply(&v1, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&v1, &r1).expect("ok"), Answer::Acked);
        assert_eq!(d.cut_reply(&hb, &mut buf).expect("ok"), None, "need more");
        buf.extend_from_slice(b"00000000014,HTBT#");
        let r2 = d.cut_reply(&hb, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&hb, &r2).expect("ok"), Answer::Acked);
        // The heartbeat echo does not ACK a position, nor another device's V4.
        assert_eq!(d.check_reply(&v1, &r2).expect("ok"), Answer::Unrelated);
        let other = b"*HQ,350000000000022,V4,V1,20261127053013#";
        assert_eq!(d.check_reply(&v1, other).expect("ok"), Answer::Unrelated);
        // R12 (sent for other sentences with `ack = true`) is not the V1 reply.
        let r12 = b"*HQ,350000000000014,R12,053013#";
        assert_eq!(d.check_reply(&v1, r12).expect("ok"), Answer::Unrelated);
    }

    #[test]
    fn garbage_replies_are_errors_not_panics() {
        let mut d = device();
        let v1 = d.positions(&[fix()], false).expect("frame");
        let mut buf = BytesMut::from(&b"LOAD"[..]);
        assert!(d.cut_reply(&v1, &mut buf).is_err());
        let mut buf = BytesMut::from(&[b'*'; MAX_REPLY + 1][..]);
        assert!(d.cut_reply(&v1, &mut buf).is_err(), "no '#' within the cap");
        for r in [&b"*HQ#"[..], b"*HQ,1,#", b"HQ,1,V4#", b"*\xff,1,V4#", b""] {
            assert!(d.check_reply(&v1, r).is_err(), "{r:?}");
        }
    }
}
