//! GT06 downlink commands: the 0x80 "server sends command" frame and the device's answers
//! 0x15 (standard frame) / 0x21 (extended frame).
//!
//! ```text
//! 78 78 | LEN | 80 | CMDLEN | SERVER FLAG u32 | ASCII command | LANGUAGE u16 | SERIAL | CRC | 0D 0A
//! ```
//! `CMDLEN` counts the server flag and the command text (4 + text); `LANGUAGE` is 0x0002
//! (English) so the device answers in ASCII; the CRC is CRC-16/X-25 (CRC-ITU) over LEN..SERIAL
//! as in every GT06 frame. The device copies the server flag into its answer
//! (`78 78 LEN 15 LEN' FLAG text LANG SERIAL CRC 0D 0A`, or the extended 0x21 with an encoding
//! byte), which is how an answer finds its command: trackgate writes the command's queue
//! number as the flag. The command texts are the Concox ones (`DYD,000000#` cut the oil/power
//! circuit with the default password, `HFYD,000000#` restore it, `TIMER,<s>#` upload
//! interval, `RESET#` reboot, `WHERE#` position); see `protocol-docs/gt06.md`.

use super::super::command::{
    reply_text, Command, CommandCodec, CommandError, CommandType, Encoded, Link, Reply,
};
use super::super::ChecksumPolicy;
use super::decode::envelope;
use super::encode::frame_std;
use bytes::Bytes;

/// Protocol number of the server command.
pub const PROTO_COMMAND: u8 = 0x80;
/// Protocol number of the device's answer in a standard frame.
pub const PROTO_REPLY: u8 = 0x15;
/// Protocol number of the device's answer in an extended frame.
pub const PROTO_REPLY_EXT: u8 = 0x21;
/// The language word: 0x0001 Chinese, 0x0002 English.
pub const LANGUAGE_ENGLISH: u16 = 0x0002;
/// Longest command text: CMDLEN is one byte and the frame a standard one.
pub const MAX_TEXT: usize = 240;

/// The GT06 command codec.
pub struct Gt06Commands;

/// The codec instance the registry hands out.
pub static CODEC: Gt06Commands = Gt06Commands;

/// Every command type has an encoding here.
const SUPPORTED: &[CommandType] = CommandType::ALL;

/// The ASCII command for `cmd`.
pub fn text(cmd: &Command) -> Vec<u8> {
    match cmd {
        Command::EngineStop => b"DYD,000000#".to_vec(),
        Command::EngineResume => b"HFYD,000000#".to_vec(),
        Command::SetInterval { seconds } => format!("TIMER,{seconds}#").into_bytes(),
        Command::Reboot => b"RESET#".to_vec(),
        Command::PositionRequest => b"WHERE#".to_vec(),
        Command::CustomText(t) => t.as_bytes().to_vec(),
        Command::CustomHex(b) => b.clone(),
    }
}

/// The 0x80 frame carrying `command` with `server_flag`, frame serial `serial`.
pub fn command_frame(
    server_flag: u32,
    command: &[u8],
    serial: u16,
) -> Result<Vec<u8>, CommandError> {
    if command.is_empty() || command.len() > MAX_TEXT {
        return Err(CommandError::Invalid(format!(
            "gt06 command text of {} bytes: must be 1..={MAX_TEXT}",
            command.len()
        )));
    }
    let mut c = Vec::with_capacity(command.len() + 7);
    c.push((4 + command.len()) as u8);
    c.extend_from_slice(&server_flag.to_be_bytes());
    c.extend_from_slice(command);
    c.extend_from_slice(&LANGUAGE_ENGLISH.to_be_bytes());
    Ok(frame_std(PROTO_COMMAND, &c, serial))
}

impl CommandCodec for Gt06Commands {
    fn supported(&self) -> &'static [CommandType] {
        SUPPORTED
    }

    fn encode(&self, cmd: &Command, link: &Link<'_>) -> Result<Encoded, CommandError> {
        let bytes = command_frame(link.number, &text(cmd), link.number as u16)?;
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            tag: Some(link.number),
        })
    }

    fn reply(&self, frame: &[u8]) -> Option<Reply> {
        // Called on every frame: look at the protocol number before checking the CRC again.
        let answer = match frame.get(..2)? {
            [0x78, 0x78] => *frame.get(3)? == PROTO_REPLY,
            [0x79, 0x79] => *frame.get(4)? == PROTO_REPLY_EXT,
            _ => false,
        };
        if !answer {
            return None;
        }
        let msg = envelope(frame, ChecksumPolicy::Verify).ok()?;
        let (flag, payload) = match (msg.extended, msg.proto) {
            (false, PROTO_REPLY) => {
                let len = usize::from(*msg.content.first()?);
                let flag = msg.content.get(1..5)?;
                let text = msg.content.get(5..1 + len.max(4))?;
                (flag, text)
            }
            (true, PROTO_REPLY_EXT) => {
                let flag = msg.content.get(..4)?;
                let encoding = *msg.content.get(4)?;
                let raw = msg.content.get(5..)?;
                if encoding != 1 {
                    // UTF-16BE text (Chinese answers): keep the bytes, decode the text.
                    let units = raw
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]));
                    let text: String = char::decode_utf16(units)
                        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                        .collect();
                    return Some(Reply {
                        tag: Some(u32::from_be_bytes(flag.try_into().ok()?)),
                        ok: true,
                        text,
                        bytes: raw.to_vec(),
                    });
                }
                (flag, raw)
            }
            _ => return None,
        };
        Some(Reply {
            tag: Some(u32::from_be_bytes(flag.try_into().ok()?)),
            ok: true,
            text: reply_text(payload),
            bytes: payload.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::string_15;
    use super::*;

    fn link(number: u32) -> Link<'static> {
        Link {
            device: "864717003283581",
            frame: &[],
            number,
            now: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// Every byte of the engine-stop frame, annotated. The CRC is CRC-16/X-25 over
    /// `17 80 0F 00000001 "DYD,000000#" 0002 0001` (LEN 0x17 = 23: proto 1, content 18, serial 2, CRC 2), checked against a separate Python CRC-16/X-25 loop and the shared
    /// `wire::crc16_x25`.
    #[test]
    fn engine_stop_frame_is_byte_exact() {
        let enc = CODEC.encode(&Command::EngineStop, &link(1)).unwrap();
        let mut want = vec![0x78, 0x78, 0x17, 0x80, 0x0F, 0x00, 0x00, 0x00, 0x01];
        want.extend_from_slice(b"DYD,000000#");
        want.extend_from_slice(&[0x00, 0x02, 0x00, 0x01]);
        let crc = crate::protocol::wire::crc16_x25(&want[2..]);
        want.extend_from_slice(&crc.to_be_bytes());
        want.extend_from_slice(b"\r\n");
        assert_eq!(hex::encode(&enc.bytes), hex::encode(&want));
        assert_eq!(
            hex::encode(&enc.bytes),
            "787817800f000000014459442c3030303030302300020001503f0d0a"
        );
        assert_eq!(enc.tag, Some(1));
    }

    #[test]
    fn command_texts_are_the_concox_ones() {
        let t = |c: Command| String::from_utf8(text(&c)).unwrap();
        assert_eq!(t(Command::EngineResume), "HFYD,000000#");
        assert_eq!(t(Command::SetInterval { seconds: 30 }), "TIMER,30#");
        assert_eq!(t(Command::Reboot), "RESET#");
        assert_eq!(t(Command::PositionRequest), "WHERE#");
        assert_eq!(t(Command::CustomText("STATUS#".into())), "STATUS#");
        let f = CODEC
            .encode(&Command::SetInterval { seconds: 30 }, &link(0x0102_0304))
            .unwrap();
        // LEN = 1 proto + 1 cmdlen + 4 flag + 9 text + 2 language + 2 serial + 2 CRC.
        assert_eq!(f.bytes[2], 21);
        assert_eq!(&f.bytes[5..9], &[1, 2, 3, 4]);
        assert_eq!(&f.bytes[9..18], b"TIMER,30#");
    }

    #[test]
    fn oversized_or_empty_commands_are_refused() {
        let long = Command::CustomText("X".repeat(MAX_TEXT + 1));
        assert!(CODEC.encode(&long, &link(1)).is_err());
        assert!(CODEC.encode(&Command::CustomHex(vec![]), &link(1)).is_err());
    }

    #[test]
    fn the_0x15_answer_names_its_command() {
        let frame = string_15(7, "DYD=Success!", 9);
        let r = CODEC.reply(&frame).unwrap();
        assert_eq!(r.tag, Some(7));
        assert_eq!(r.text, "DYD=Success!");
        assert!(r.ok);
        // A position frame or a corrupted answer is no answer.
        let mut bad = frame.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert_eq!(CODEC.reply(&bad), None);
        assert_eq!(CODEC.reply(&super::super::encode::ack(0x13, 1)), None);
    }

    #[test]
    fn the_0x21_answer_in_ascii_and_utf16() {
        let mut c = vec![0, 0, 0, 5, 1];
        c.extend_from_slice(b"Relay OK");
        let frame = super::super::encode::frame_ext(PROTO_REPLY_EXT, &c, 3);
        let r = CODEC.reply(&frame).unwrap();
        assert_eq!((r.tag, r.text.as_str()), (Some(5), "Relay OK"));
        let mut c = vec![0, 0, 0, 6, 2];
        c.extend_from_slice(&[0x62, 0x10, 0x52, 0x9F]); // 成功 ("success")
        let frame = super::super::encode::frame_ext(PROTO_REPLY_EXT, &c, 3);
        let r = CODEC.reply(&frame).unwrap();
        assert_eq!((r.tag, r.text.as_str()), (Some(6), "成功"));
    }
}
