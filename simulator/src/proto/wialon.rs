//! Wialon IPS 2.0 device: login `#L#2.0;<imei>;NA;<crc>` (answer `#AL#1`, `#AL#0` = refused),
//! one live fix per `#D#` packet (answer `#AD#1`), backlog as one `#B#` black box packet
//! (answer `#AB#<count stored>`; a short count means "resend"), ping `#P#` (answer `#AP#`).
//! Answers carry no serial: a device waits for one answer at a time, so the answer to the
//! packet in flight is matched by its type, as a real tracker does.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use trackgate::protocol::wialon::encode as enc;

/// Black box messages per packet: backlog flushes of this size stay far below the
/// gateway's default 4 KiB frame limit (a short message is ~70 bytes).
const MAX_BATCH: usize = 20;
/// Longest answer buffered without its `\r\n` before the stream is called garbage.
const MAX_REPLY: usize = 64;
/// Parameters every `#D#` carries (an odometer-like counter would need state; these are
/// what a powered truck tracker reports).
const PARAMS: &str = "pwr_ext:2:12.6,bat:1:100";

/// [`Frame::msg`]: which answer a packet waits for.
const MSG_LOGIN: u16 = 1;
const MSG_DATA: u16 = 2;
const MSG_BLACK_BOX: u16 = 3;
const MSG_PING: u16 = 4;

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(WialonDevice {
        imei: id.imei.clone(),
        serial: 0,
    }))
}

struct WialonDevice {
    imei: String,
    /// Local packet counter (the wire has none); lets the counters tell frames apart.
    serial: u32,
}

impl WialonDevice {
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

/// The fix as a Wialon tracker reports it: no validity flag on the wire, so an invalid fix
/// goes up with 0 satellites (the gateway reads < 3 as "no fix").
fn wire_fix(f: &Fix) -> Fix {
    Fix {
        satellites: if f.valid { f.satellites.max(3) } else { 0 },
        ..f.clone()
    }
}

impl SimProtocol for WialonDevice {
    fn device_id(&self) -> String {
        self.imei.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        let bytes = enc::login(&self.imei, None, true).to_vec();
        Ok(Some(self.frame(bytes, FrameKind::Login, 0, MSG_LOGIN)))
    }

    fn positions(&mut self, fixes: &[Fix], backlog: bool) -> Result<Frame, SimError> {
        match (fixes, backlog) {
            ([], _) => Err(SimError::Encode("wialon: a packet with no fix".into())),
            ([f], false) => {
                let bytes = enc::data(&wire_fix(f), PARAMS, true).to_vec();
                Ok(self.frame(bytes, FrameKind::Positions, 1, MSG_DATA))
            }
            (many, _) if many.len() > MAX_BATCH => Err(SimError::Encode(format!(
                "wialon black box carries at most {MAX_BATCH} fixes, got {}",
                many.len()
            ))),
            (many, _) => {
                let wire: Vec<Fix> = many.iter().map(wire_fix).collect();
                let bytes = enc::black_box(&wire, true).to_vec();
                Ok(self.frame(bytes, FrameKind::Positions, many.len(), MSG_BLACK_BOX))
            }
        }
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        let bytes = enc::ping().to_vec();
        Ok(Some(self.frame(bytes, FrameKind::Heartbeat, 0, MSG_PING)))
    }

    fn cut_reply(&self, _sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        if buf.first().is_some_and(|&b| b != b'#') {
            return Err(SimError::BadReply(format!(
                "wialon answer does not start with '#': {}",
                buf[..buf.len().min(32)].escape_ascii()
            )));
        }
        match buf.windows(2).position(|w| w == b"\r\n") {
            Some(end) => Ok(Some(buf.split_to(end + 2).to_vec())),
            None if buf.len() > MAX_REPLY => Err(SimError::BadReply(format!(
                "wialon answer without CR LF in {} bytes",
                buf.len()
            ))),
            None => Ok(None),
        }
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        let bad = || SimError::BadReply(format!("wialon answer {}", reply.escape_ascii()));
        let text = std::str::from_utf8(reply).map_err(|_| bad())?;
        let body = text
            .strip_prefix("#A")
            .and_then(|b| b.strip_suffix("\r\n"))
            .ok_or_else(bad)?;
        let (typ, value) = body.split_once('#').ok_or_else(bad)?;
        Ok(match (sent.msg, typ, value) {
            (MSG_LOGIN, "L", "1") | (MSG_DATA, "D", "1") | (MSG_PING, "P", "") => Answer::Acked,
            (MSG_LOGIN, "L", code) => {
                return Err(SimError::Refused(format!(
                    "imei {} refused (#AL#{code})",
                    self.imei
                )))
            }
            (MSG_BLACK_BOX, "B", n) => {
                let stored: usize = n.parse().map_err(|_| bad())?;
                if stored == sent.records {
                    Answer::Acked
                } else {
                    Answer::Retry(format!("#AB#{stored} of {}", sent.records))
                }
            }
            (MSG_DATA, "D", code) => Answer::Retry(format!("#AD#{code}")),
            _ => Answer::Unrelated,
        })
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
            hdop: 0.8,
            valid: true,
            ignition: true,
            odometer_m: 1000.0,
        }
    }

    #[test]
    fn packets_are_exact() {
        let mut d = device();
        let login = d.login().expect("ok").expect("frame");
        assert_eq!(login.bytes, b"#L#2.0;350000000000014;NA;3672\r\n");
        let f = d.positions(&[fix()], false).expect("frame");
        // 47.3769° = 47° 22.6140' N; 8.5417° = 8° 32.5020' W; km/h as is; 359.6 → 0.
        let body = "271126;053012;4722.6140;N;00832.5020;W;92.60;0;410.0;9;0.8;1;0;NA;NA;pwr_ext:2:12.6,bat:1:100;";
        let crc = trackgate::protocol::wire::crc16_arc(body.as_bytes());
        assert_eq!(
            String::from_utf8(f.bytes.clone()).expect("ascii"),
            format!("#D#{body}{crc:04X}\r\n")
        );
        let b = d.positions(&[fix(), fix()], true).expect("frame");
        assert!(b.bytes.starts_with(b"#B#271126;053012;"), "{:?}", b.bytes);
        assert_eq!((b.kind, b.records), (FrameKind::Positions, 2));
        let hb = d.heartbeat().expect("ok").expect("frame");
        assert_eq!(hb.bytes, b"#P#\r\n");
    }

    #[test]
    fn answers_match_their_packet_and_short_counts_retry() {
        let mut d = device();
        let login = d.login().expect("ok").expect("frame");
        let data = d.positions(&[fix()], false).expect("frame");
        let bb = d.positions(&[fix(), fix()], true).expect("frame");
        let mut buf = BytesMut::from(&b"#AL#1\r\n#AD#1\r\n#AB#"[..]);
        let r = d.cut_reply(&login, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&login, &r).expect("ok"), Answer::Acked);
        let r = d.cut_reply(&data, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&data, &r).expect("ok"), Answer::Acked);
        assert_eq!(d.check_reply(&bb, &r).expect("ok"), Answer::Unrelated);
        assert_eq!(d.cut_reply(&bb, &mut buf).expect("ok"), None, "need more");
        buf.extend_from_slice(b"2\r\n");
        let r = d.cut_reply(&bb, &mut buf).expect("ok").expect("reply");
        assert_eq!(d.check_reply(&bb, &r).expect("ok"), Answer::Acked);
        assert!(matches!(
            d.check_reply(&bb, b"#AB#1\r\n").expect("ok"),
            Answer::Retry(_)
        ));
        assert!(matches!(
            d.check_reply(&login, b"#AL#0\r\n"),
            Err(SimError::Refused(_))
        ));
    }

    #[test]
    fn garbage_answers_are_errors_not_panics() {
        let mut d = device();
        let data = d.positions(&[fix()], false).expect("frame");
        let mut buf = BytesMut::from(&b"LOAD"[..]);
        assert!(d.cut_reply(&data, &mut buf).is_err());
        let mut buf = BytesMut::from(&[b'#'; MAX_REPLY + 1][..]);
        assert!(
            d.cut_reply(&data, &mut buf).is_err(),
            "no CR LF within the cap"
        );
        for r in [
            &b"#AD\r\n"[..],
            b"AD#1\r\n",
            b"#AB#x\r\n",
            b"#A\xff#1\r\n",
            b"",
        ] {
            let sent = if r.starts_with(b"#AB") {
                d.positions(&[fix(), fix()], true).expect("frame")
            } else {
                data.clone()
            };
            assert!(d.check_reply(&sent, r).is_err(), "{r:?}");
        }
    }
}
