//! Teltonika downlink commands: Codec 12 GPRS commands over TCP.
//!
//! ```text
//! 00000000 | len u32 | 0C | 01 | 05 | size u32 | ASCII command | 01 | CRC u32
//! ```
//! `len` counts 0C..the second quantity byte, the CRC is CRC-16/IBM (ARC) over the same bytes
//! (the existing `encode::codec12_command`). The device answers with a codec 12 packet of
//! type 0x06 whose payload is the answer text; the answer carries no reference to the
//! command, so it is matched to the oldest command sent on that device. The command texts
//! are the FMB ones: `setdigout 1` / `setdigout 0` (DOUT1 drives the immobiliser relay),
//! `cpureset`, `getgps`. `set_interval` is not offered: the period is a set of
//! model-specific parameters (`setparam <id>:<value>`), send it as `custom`.

use super::super::command::{
    reply_text, Command, CommandCodec, CommandError, CommandType, Encoded, Link, Reply,
};
use super::encode::{codec12_command_bytes, TYPE_RESPONSE};
use super::Codec;
use bytes::Bytes;

/// The Teltonika command codec.
pub struct TeltonikaCommands;

/// The codec instance the registry hands out.
pub static CODEC: TeltonikaCommands = TeltonikaCommands;

/// Longest command accepted: the FMB firmware documents commands up to 255 characters.
pub const MAX_COMMAND: usize = 255;

const SUPPORTED: &[CommandType] = &[
    CommandType::EngineStop,
    CommandType::EngineResume,
    CommandType::Reboot,
    CommandType::PositionRequest,
    CommandType::Custom,
];

/// The command text (or raw payload) for `cmd`; `None` for types Teltonika does not have.
pub fn payload(cmd: &Command) -> Option<Vec<u8>> {
    Some(match cmd {
        Command::EngineStop => b"setdigout 1".to_vec(),
        Command::EngineResume => b"setdigout 0".to_vec(),
        Command::Reboot => b"cpureset".to_vec(),
        Command::PositionRequest => b"getgps".to_vec(),
        Command::CustomText(t) => t.as_bytes().to_vec(),
        Command::CustomHex(b) => b.clone(),
        Command::SetInterval { .. } => return None,
    })
}

impl CommandCodec for TeltonikaCommands {
    fn supported(&self) -> &'static [CommandType] {
        SUPPORTED
    }

    fn encode(&self, cmd: &Command, _link: &Link<'_>) -> Result<Encoded, CommandError> {
        let p = payload(cmd).ok_or(CommandError::Unsupported {
            protocol: super::NAME,
            kind: cmd.kind(),
        })?;
        if p.is_empty() || p.len() > MAX_COMMAND {
            return Err(CommandError::Invalid(format!(
                "teltonika command of {} bytes: must be 1..={MAX_COMMAND}",
                p.len()
            )));
        }
        Ok(Encoded {
            bytes: Bytes::from(codec12_command_bytes(&p)),
            tag: None,
        })
    }

    fn reply(&self, frame: &[u8]) -> Option<Reply> {
        // 00000000 | len | codec | N1 | type | size | payload | N2 | CRC
        if frame.get(..4)? != [0, 0, 0, 0] || *frame.get(8)? != Codec::C12.id() {
            return None;
        }
        if *frame.get(10)? != TYPE_RESPONSE {
            return None;
        }
        let size = u32::from_be_bytes(frame.get(11..15)?.try_into().ok()?) as usize;
        let payload = frame.get(15..15usize.checked_add(size)?)?;
        Some(Reply {
            tag: None,
            ok: true,
            text: reply_text(payload),
            bytes: payload.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::codec12_response;
    use super::*;

    fn link() -> Link<'static> {
        Link {
            device: "356307042441013",
            frame: &[],
            number: 1,
            now: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// `setdigout 1` as a codec 12 packet, byte by byte. The CRC was computed apart
    /// (CRC-16/ARC of `0C 01 05 0000000B "setdigout 1" 01`, a Python loop
    /// with poly 0xA001 reflected, init 0).
    #[test]
    fn engine_stop_is_codec12_setdigout_1() {
        let enc = CODEC.encode(&Command::EngineStop, &link()).unwrap();
        assert_eq!(
            hex::encode(&enc.bytes),
            "00000000000000130c01050000000b7365746469676f7574203101000087a2"
        );
        assert_eq!(enc.tag, None);
    }

    /// The wiki's own `getinfo` example is what the shared encoder produced before; the
    /// command codec must keep producing it for custom text.
    #[test]
    fn custom_text_matches_the_wiki_getinfo_example() {
        let enc = CODEC
            .encode(&Command::CustomText("getinfo".into()), &link())
            .unwrap();
        assert_eq!(
            hex::encode(&enc.bytes),
            "000000000000000f0c010500000007676574696e666f0100004312"
        );
    }

    /// Traccar's encoder test vectors (`TeltonikaProtocolEncoderTest`): its custom text
    /// ends in CR LF, its hex form is the raw payload — both reproduced byte for byte.
    #[test]
    fn custom_matches_traccars_vectors() {
        let text = CODEC
            .encode(&Command::CustomText("setdigout 11\r\n".into()), &link())
            .unwrap();
        assert_eq!(
            hex::encode_upper(&text.bytes),
            "00000000000000160C01050000000E7365746469676F75742031310D0A010000E258"
        );
        let raw = CODEC
            .encode(
                &Command::CustomHex(hex::decode("03030000000185E8").unwrap()),
                &link(),
            )
            .unwrap();
        assert_eq!(
            hex::encode(&raw.bytes),
            "00000000000000100c01050000000803030000000185e8010000da8b"
        );
    }

    #[test]
    fn texts_and_unsupported_interval() {
        let p = |c: Command| String::from_utf8(payload(&c).unwrap()).unwrap();
        assert_eq!(p(Command::EngineResume), "setdigout 0");
        assert_eq!(p(Command::Reboot), "cpureset");
        assert_eq!(p(Command::PositionRequest), "getgps");
        let e = CODEC
            .encode(&Command::SetInterval { seconds: 60 }, &link())
            .unwrap_err();
        assert!(e.to_string().contains("teltonika"), "{e}");
        assert!(CODEC
            .encode(&Command::CustomText(String::new()), &link())
            .is_err());
    }

    #[test]
    fn the_codec12_response_is_an_answer() {
        let r = CODEC
            .reply(&codec12_response(b"DOUT1:1 Timeout:INFINITY"))
            .unwrap();
        assert_eq!(r.text, "DOUT1:1 Timeout:INFINITY");
        assert_eq!(r.tag, None);
        // Our own command (type 0x05) and an AVL packet are not answers.
        let cmd = CODEC.encode(&Command::Reboot, &link()).unwrap();
        assert_eq!(CODEC.reply(&cmd.bytes), None);
        assert_eq!(CODEC.reply(&[0, 0, 0, 0, 0, 0, 0, 9, 8, 1]), None);
    }
}
