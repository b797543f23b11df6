//! GT06 device: login 0x01, locations 0x22 (GT06N, even fleet indexes; backlog flagged as
//! re-upload) or 0x12 (classic, odd indexes), heartbeat 0x13. Every frame waits for the
//! standard ACK `78 78 05 PROTO SERIAL CRC 0D 0A`, matched on protocol number and serial.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use trackgate::protocol::gt06::encode::{self as enc, Cell, Status};
use trackgate::protocol::wire::crc16_x25;

const LOGIN: u8 = 0x01;
const LOCATION_12: u8 = 0x12;
const LOCATION_22: u8 = 0x22;
const HEARTBEAT: u8 = 0x13;
/// Largest reply we buffer before calling the stream garbage.
const MAX_REPLY: usize = 1024;

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(Gt06Device {
        imei: id.imei.clone(),
        gt06n: id.index.is_multiple_of(2),
        serial: 0,
        cell: Cell {
            mcc: 228,
            mnc: 1,
            lac: 0x1000 + (id.index as u16 % 0x1000),
            cid: 0x10_0000 + id.index as u32,
        },
    }))
}

struct Gt06Device {
    imei: String,
    /// GT06N/CRX firmware (0x22 locations with the re-upload flag) vs classic 0x12.
    gt06n: bool,
    serial: u16,
    cell: Cell,
}

impl Gt06Device {
    fn next_serial(&mut self) -> u16 {
        // Devices count from 1 and wrap; 0 is never sent by the firmwares we mimic.
        self.serial = self.serial.checked_add(1).unwrap_or(1);
        self.serial
    }
}

fn frame(bytes: Vec<u8>, kind: FrameKind, records: usize, proto: u8, serial: u16) -> Frame {
    Frame {
        bytes,
        kind,
        records,
        serial: serial.into(),
        msg: proto.into(),
    }
}

impl SimProtocol for Gt06Device {
    fn device_id(&self) -> String {
        self.imei.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        let s = self.next_serial();
        let bytes = enc::login(&self.imei, s)
            .ok_or_else(|| SimError::Encode(format!("imei {:?} is not 15 digits", self.imei)))?;
        Ok(Some(frame(bytes, FrameKind::Login, 0, LOGIN, s)))
    }

    fn positions(&mut self, fixes: &[Fix], backlog: bool) -> Result<Frame, SimError> {
        let [f] = fixes else {
            return Err(SimError::Encode(format!(
                "gt06 carries one fix per frame, got {}",
                fixes.len()
            )));
        };
        let s = self.next_serial();
        let (bytes, proto) = if self.gt06n {
            (
                enc::location_22(f, &self.cell, 0, backlog, true, s),
                LOCATION_22,
            )
        } else {
            (enc::location_12(f, &self.cell, s), LOCATION_12)
        };
        Ok(frame(bytes, FrameKind::Positions, 1, proto, s))
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        let s = self.next_serial();
        let status = Status {
            info: 0x40, // GPS tracking on, ACC off (parked)
            level: 6,
            gsm: 4,
            alarm: 0,
            language: 2,
        };
        Ok(Some(frame(
            enc::heartbeat_13(&status, s),
            FrameKind::Heartbeat,
            0,
            HEARTBEAT,
            s,
        )))
    }

    fn cut_reply(&self, _sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        // Server replies are well-formed frames, so LEN is trusted (unlike device uplinks).
        let total = match (buf.first(), buf.get(1), buf.get(2), buf.get(3)) {
            (Some(0x78), Some(0x78), Some(&len), _) => usize::from(len) + 5,
            (Some(0x79), Some(0x79), Some(&hi), Some(&lo)) => {
                usize::from(u16::from_be_bytes([hi, lo])) + 6
            }
            (Some(0x78) | None, None, ..) | (Some(0x78), Some(0x78), None, _) => return Ok(None),
            (Some(0x79), Some(0x79) | None, ..) => return Ok(None),
            _ => {
                return Err(SimError::BadReply(format!(
                    "gt06 reply does not start with 78 78 / 79 79: {}",
                    hex(&buf[..buf.len().min(16)])
                )))
            }
        };
        if total > MAX_REPLY {
            return Err(SimError::BadReply(format!("gt06 reply of {total} bytes")));
        }
        if buf.len() < total {
            return Ok(None);
        }
        Ok(Some(buf.split_to(total).to_vec()))
    }

    /// A 0x80 command `78 78 LEN 80 CMDLEN FLAG(4) TEXT LANGUAGE(2) SERIAL CRC 0D 0A` is
    /// answered with 0x15 echoing the server flag and `<NAME>=Success!` (NAME = the text up
    /// to its first `,` or `#`), the form Concox firmwares answer `DYD,000000#` with.
    fn answer_command(&mut self, server: &[u8]) -> Option<Frame> {
        if server.get(..2)? != [0x78, 0x78] || *server.get(3)? != 0x80 {
            return None;
        }
        let content = server.get(4..server.len().checked_sub(6)?)?;
        let cmdlen = usize::from(*content.first()?);
        let flag = u32::from_be_bytes(content.get(1..5)?.try_into().ok()?);
        let text = content.get(5..1 + cmdlen.max(4))?;
        let name = text.split(|&b| b == b',' || b == b'#').next()?;
        let answer = format!("{}=Success!", String::from_utf8_lossy(name));
        let s = self.next_serial();
        Some(frame(
            enc::string_15(flag, &answer, s),
            FrameKind::Heartbeat,
            0,
            0x15,
            s,
        ))
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        let (proto, serial) = parse_ack(reply)?;
        if u16::from(proto) == sent.msg && u32::from(serial) == sent.serial {
            Ok(Answer::Acked)
        } else {
            Ok(Answer::Unrelated)
        }
    }
}

/// Parses a standard `78 78` reply: checks LEN, CRC and trailer, returns (protocol, serial).
pub(crate) fn parse_ack(r: &[u8]) -> Result<(u8, u16), SimError> {
    let bad = |why: &str| SimError::BadReply(format!("gt06 {why}: {}", hex(r)));
    if r.len() < 10 || r[0] != 0x78 || r[1] != 0x78 {
        return Err(bad("not a 78 78 frame"));
    }
    let len = usize::from(r[2]);
    if len + 5 != r.len() || !r.ends_with(b"\r\n") {
        return Err(bad("length or trailer wrong"));
    }
    let n = r.len();
    let crc = u16::from_be_bytes([r[n - 4], r[n - 3]]);
    if crc16_x25(&r[2..n - 4]) != crc {
        return Err(bad("CRC mismatch"));
    }
    Ok((r[3], u16::from_be_bytes([r[n - 6], r[n - 5]])))
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn parses_the_spec_login_ack() {
        // GT06N spec example: login ACK for serial 1.
        assert_eq!(
            parse_ack(&unhex("787805010001d9dc0d0a")).expect("valid"),
            (0x01, 1)
        );
        assert!(
            parse_ack(&unhex("787805010001d9dd0d0a")).is_err(),
            "bad CRC"
        );
        assert!(parse_ack(&unhex("787805010001d9dc0d")).is_err(), "short");
    }

    #[test]
    fn login_then_ack_matches_serial() {
        let mut d = build(&Identity {
            imei: "864717003283581".into(),
            index: 0,
        })
        .expect("device");
        let login = d.login().expect("ok").expect("frame");
        // Traccar's GT06 login capture for this IMEI, with serial 1 instead of 9.
        assert_eq!(hex(&login.bytes)[..24], *"78780d010864717003283581");
        let ack = unhex("787805010001d9dc0d0a");
        let mut buf = BytesMut::from(&ack[..]);
        let cut = d.cut_reply(&login, &mut buf).expect("ok").expect("frame");
        assert_eq!(d.check_reply(&login, &cut).expect("ok"), Answer::Acked);
        // The ACK of serial 9 is someone else's.
        let other = unhex("78780501000955940d0a");
        assert_eq!(
            d.check_reply(&login, &other).expect("ok"),
            Answer::Unrelated
        );
    }
}
