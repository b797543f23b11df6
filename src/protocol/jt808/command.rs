//! JT/T 808 downlink commands and the terminal's answers.
//!
//! | type | message | body |
//! |---|---|---|
//! | `engine_stop` / `engine_resume` | 0x8105 terminal control | command word `F0` / `F1` (vendor words, as Traccar sends them; the standard words 1–7 have no oil-cut) |
//! | `reboot` | 0x8105 terminal control | command word `04` (terminal reset, JT/T 808-2013 table 8105) |
//! | `set_interval` | 0x8103 set parameters | count `01`, id `00000029` (default reporting interval, s), length `04`, DWORD seconds |
//! | `position_request` | 0x8201 position query | empty |
//! | `custom` | 0x8300 text message | flag `01`, text in GBK (`hex`: the bytes as given) |
//!
//! Every command is a complete frame in the shape of the terminal's own header (2013 or
//! 2019, its phone field as sent), built from the last frame it sent, with the command's
//! number as the platform serial; build order and escaping are the module's
//! (`encode::frame`). The terminal answers 0x8105/0x8103/0x8300 with 0x0001 general response
//! {reply serial, reply id, result 0 ok / 1 fail / 2 bad message / 3 unsupported} and 0x8201
//! with 0x0201 {reply serial, location}; 0x0104 (parameter query answer) also starts with the
//! reply serial. The reply serial is the tag that finds the command.

use super::super::command::{
    reply_text, Command, CommandCodec, CommandError, CommandType, Encoded, Link, Reply,
};
use super::super::ChecksumPolicy;
use super::decode::split;
use super::encode::{frame, Serial};
use super::frame::unescape;
use super::msg;
use bytes::Bytes;

/// Terminal control.
pub const TERMINAL_CONTROL: u16 = 0x8105;
/// Set terminal parameters.
pub const SET_PARAMETERS: u16 = 0x8103;
/// Position query.
pub const POSITION_QUERY: u16 = 0x8201;
/// Text message dispatch.
pub const TEXT_MESSAGE: u16 = 0x8300;
/// Parameter id of the default reporting interval (seconds, DWORD).
pub const PARAM_REPORT_INTERVAL: u32 = 0x0029;
/// 0x8105 command word: terminal reset.
pub const CONTROL_RESET: u8 = 0x04;
/// 0x8105 vendor command word: cut the oil/power circuit.
pub const CONTROL_OIL_CUT: u8 = 0xF0;
/// 0x8105 vendor command word: restore the oil/power circuit.
pub const CONTROL_OIL_RESTORE: u8 = 0xF1;
/// 0x8300 flag: emergency (the flag byte Traccar sends).
pub const TEXT_FLAG: u8 = 0x01;

/// The JT/T 808 command codec.
pub struct Jt808Commands;

/// The codec instance the registry hands out.
pub static CODEC: Jt808Commands = Jt808Commands;

/// Every command type has an encoding here.
const SUPPORTED: &[CommandType] = CommandType::ALL;

/// Message id and body for `cmd`.
pub fn message(cmd: &Command) -> (u16, Vec<u8>) {
    match cmd {
        Command::EngineStop => (TERMINAL_CONTROL, vec![CONTROL_OIL_CUT]),
        Command::EngineResume => (TERMINAL_CONTROL, vec![CONTROL_OIL_RESTORE]),
        Command::Reboot => (TERMINAL_CONTROL, vec![CONTROL_RESET]),
        Command::SetInterval { seconds } => {
            let mut b = vec![1];
            b.extend_from_slice(&PARAM_REPORT_INTERVAL.to_be_bytes());
            b.push(4);
            b.extend_from_slice(&seconds.to_be_bytes());
            (SET_PARAMETERS, b)
        }
        Command::PositionRequest => (POSITION_QUERY, Vec::new()),
        Command::CustomText(t) => {
            let (gbk, _, _) = encoding_rs::GBK.encode(t);
            let mut b = vec![TEXT_FLAG];
            b.extend_from_slice(&gbk);
            (TEXT_MESSAGE, b)
        }
        Command::CustomHex(bytes) => {
            let mut b = vec![TEXT_FLAG];
            b.extend_from_slice(bytes);
            (TEXT_MESSAGE, b)
        }
    }
}

impl CommandCodec for Jt808Commands {
    fn supported(&self) -> &'static [CommandType] {
        SUPPORTED
    }

    fn encode(&self, cmd: &Command, link: &Link<'_>) -> Result<Encoded, CommandError> {
        let raw = unescape(link.frame)
            .map_err(|e| CommandError::Invalid(format!("jt808 terminal header: {e}")))?;
        let (header, _) = split(&raw, ChecksumPolicy::Ignore)
            .map_err(|e| CommandError::Invalid(format!("jt808 terminal header: {e}")))?;
        let (id, body) = message(cmd);
        let serial = link.number as u16;
        let bytes = frame(id, &header.terminal(), Serial::Word(serial), &body)
            .map_err(|e| CommandError::Invalid(e.to_string()))?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            tag: Some(serial.into()),
        })
    }

    fn reply(&self, frame: &[u8]) -> Option<Reply> {
        // The message id sits right after the opening 7E; ids 0x0001/0x0201/0x0104 contain
        // no byte that needs escaping, so most frames are passed over without unescaping.
        let id = u16::from_be_bytes([*frame.get(1)?, *frame.get(2)?]);
        if !matches!(
            id,
            msg::TERMINAL_RESPONSE | msg::LOCATION_QUERY_RESPONSE | msg::PARAMETERS
        ) {
            return None;
        }
        let raw = unescape(frame).ok()?;
        let (_, body) = split(&raw, ChecksumPolicy::Verify).ok()?;
        let serial = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
        let (ok, text) = if id == msg::TERMINAL_RESPONSE {
            let answered = u16::from_be_bytes([*body.get(2)?, *body.get(3)?]);
            let result = *body.get(4)?;
            let word = match result {
                0 => "ok",
                1 => "failed",
                2 => "bad message",
                3 => "unsupported",
                _ => "unknown result",
            };
            (
                result == 0,
                format!("{answered:#06x} result {result} ({word})"),
            )
        } else if id == msg::LOCATION_QUERY_RESPONSE {
            (true, "position".to_string())
        } else {
            (true, reply_text(&body[2..]))
        };
        Some(Reply {
            tag: Some(serial.into()),
            ok,
            text,
            bytes: body.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::{self, Terminal};
    use super::*;

    /// A 2013 heartbeat from terminal 012345678901, the frame the command answers.
    fn heartbeat() -> Vec<u8> {
        encode::heartbeat(&Terminal::v2013("012345678901").unwrap(), 7).unwrap()
    }

    fn link(frame: &[u8], number: u32) -> Link<'_> {
        Link {
            device: "012345678901",
            frame,
            number,
            now: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// `7E | 8105 | 0001 | 012345678901 | 0005 | F0 | XOR | 7E`, XOR computed by hand:
    /// 81^05^00^01^01^23^45^67^89^01^00^05^F0 = 0xF8.
    #[test]
    fn engine_stop_is_terminal_control_f0() {
        let hb = heartbeat();
        let enc = CODEC.encode(&Command::EngineStop, &link(&hb, 5)).unwrap();
        assert_eq!(hex::encode(&enc.bytes), "7e810500010123456789010005f0f87e");
        assert_eq!(enc.tag, Some(5));
    }

    #[test]
    fn set_interval_is_parameter_0x0029() {
        let hb = heartbeat();
        let enc = CODEC
            .encode(&Command::SetInterval { seconds: 30 }, &link(&hb, 0x0102))
            .unwrap();
        let raw = unescape(&enc.bytes).unwrap();
        let (h, body) = split(&raw, ChecksumPolicy::Verify).unwrap();
        assert_eq!((h.msg_id, h.serial), (0x8103, 0x0102));
        assert_eq!(hex::encode(body), "0100000029040000001e");
    }

    #[test]
    fn reboot_query_and_text_bodies() {
        let body = |c: Command| {
            let (id, b) = message(&c);
            format!("{id:04x}:{}", hex::encode(b))
        };
        assert_eq!(body(Command::Reboot), "8105:04");
        assert_eq!(body(Command::EngineResume), "8105:f1");
        assert_eq!(body(Command::PositionRequest), "8201:");
        assert_eq!(
            body(Command::CustomText("RELAY,1#".into())),
            "8300:0152454c41592c3123"
        );
        // GBK: 中 = D6 D0.
        assert_eq!(body(Command::CustomText("中".into())), "8300:01d6d0");
    }

    /// A command whose serial needs escaping (0x7E) is escaped like any frame.
    #[test]
    fn serial_7e_is_escaped() {
        let hb = heartbeat();
        let enc = CODEC.encode(&Command::Reboot, &link(&hb, 0x7E)).unwrap();
        assert_eq!(&enc.bytes[11..14], &[0x00, 0x7D, 0x02]);
        assert_eq!(enc.tag, Some(0x7E));
    }

    /// The 2019 header shape (version byte, 10-byte phone) is kept.
    #[test]
    fn answers_a_2019_terminal_in_its_own_header() {
        let hb =
            encode::heartbeat(&Terminal::v2019("12345678901234567890", 1).unwrap(), 1).unwrap();
        let enc = CODEC.encode(&Command::Reboot, &link(&hb, 3)).unwrap();
        let raw = unescape(&enc.bytes).unwrap();
        let (h, body) = split(&raw, ChecksumPolicy::Verify).unwrap();
        assert_eq!(h.version, Some(1));
        assert_eq!(hex::encode(&h.phone), "12345678901234567890");
        assert_eq!(body, &[CONTROL_RESET]);
    }

    #[test]
    fn general_response_and_location_answer() {
        let term = Terminal::v2013("012345678901").unwrap();
        // 0x0001 {reply serial 5, reply id 8105, result 0}
        let ok = frame(0x0001, &term, Serial::Word(9), &[0, 5, 0x81, 0x05, 0]).unwrap();
        let r = CODEC.reply(&ok).unwrap();
        assert_eq!((r.tag, r.ok), (Some(5), true));
        assert_eq!(r.text, "0x8105 result 0 (ok)");
        let unsupported = frame(0x0001, &term, Serial::Word(9), &[0, 6, 0x83, 0, 3]).unwrap();
        let r = CODEC.reply(&unsupported).unwrap();
        assert_eq!((r.tag, r.ok), (Some(6), false));
        let mut body = vec![0, 8];
        body.extend_from_slice(&[0; 28]);
        let pos = frame(0x0201, &term, Serial::Word(9), &body).unwrap();
        assert_eq!(CODEC.reply(&pos).unwrap().tag, Some(8));
        // A heartbeat answers nothing.
        assert_eq!(CODEC.reply(&heartbeat()), None);
    }

    /// The answers are decoded, not counted as bad frames, and (being responses) get no
    /// 0x8001 of their own.
    #[test]
    fn the_decoder_accepts_the_answers_without_answering_them() {
        use crate::protocol::{test_util, DecoderOptions, Protocol};
        let term = Terminal::v2013("012345678901").unwrap();
        let opts = DecoderOptions::default();
        for (id, body) in [
            (0x0001, vec![0, 5, 0x81, 0x05, 0]),
            (0x0104, vec![0, 5, 1, 0, 0, 0, 0x29, 4, 0, 0, 0, 30]),
        ] {
            let f = frame(id, &term, Serial::Word(9), &body).unwrap();
            let mut d = super::super::Jt808.new_decoder(&opts).unwrap();
            let out = d.decode(&f, &test_util::ctx()).unwrap();
            assert_eq!(out.ack.accepted, None, "{id:#06x}: {}", out.kind);
            assert!(CODEC.reply(&f).is_some());
        }
    }
}
