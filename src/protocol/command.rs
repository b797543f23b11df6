//! Downlink commands, sans-IO: what a command is, and the per-protocol codec that turns one
//! into the bytes a device understands and recognises the device's answer.
//!
//! Why a separate codec and not a field of [`super::Decoded`]: a command is written by the
//! I/O shell (`crate::commands::courier`) at a moment it chooses (after the ACK of a frame
//! from the device), and the answer must be matched to a stored command, which is I/O. The
//! protocol decoders still decode the answer frames like any other (ACK them as their spec
//! says, keep the text as a `command_result` event); [`CommandCodec::reply`] only reads the
//! same frame again to say "this answers a command, with this tag and text". Nothing here
//! touches sockets, clocks or stores.
//!
//! A protocol that has commands returns its codec from [`super::Protocol::commands`]; the
//! registry stays the only list of protocols.

use bytes::Bytes;

/// The kinds of command the API accepts. Each protocol supports a subset
/// ([`CommandCodec::supported`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommandType {
    /// Cut the fuel pump / starter relay (immobilise the vehicle).
    EngineStop,
    /// Undo [`CommandType::EngineStop`].
    EngineResume,
    /// Change the reporting interval (`params.seconds`).
    SetInterval,
    /// Restart the device.
    Reboot,
    /// Ask for the current position now.
    PositionRequest,
    /// Vendor command given as text (`params.text`) or raw bytes (`params.hex`).
    Custom,
}

impl CommandType {
    /// Every type, in the order of the API documentation.
    pub const ALL: &'static [CommandType] = &[
        CommandType::EngineStop,
        CommandType::EngineResume,
        CommandType::SetInterval,
        CommandType::Reboot,
        CommandType::PositionRequest,
        CommandType::Custom,
    ];

    /// The API name (`engine_stop`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CommandType::EngineStop => "engine_stop",
            CommandType::EngineResume => "engine_resume",
            CommandType::SetInterval => "set_interval",
            CommandType::Reboot => "reboot",
            CommandType::PositionRequest => "position_request",
            CommandType::Custom => "custom",
        }
    }

    /// The type named `s` in the API.
    pub fn parse(s: &str) -> Option<CommandType> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for CommandType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One command with its parameters, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    EngineStop,
    EngineResume,
    /// Reporting interval, seconds (≥ 1).
    SetInterval {
        seconds: u32,
    },
    Reboot,
    PositionRequest,
    /// A vendor command as text, sent as the protocol's text command.
    CustomText(String),
    /// A vendor command as bytes: the payload of the protocol's command message (GT06 0x80
    /// command content, Teltonika codec 12 payload, JT/T 808 raw frame body is not offered:
    /// see the protocol's `command.rs`).
    CustomHex(Vec<u8>),
}

impl Command {
    /// The command's type.
    pub fn kind(&self) -> CommandType {
        match self {
            Command::EngineStop => CommandType::EngineStop,
            Command::EngineResume => CommandType::EngineResume,
            Command::SetInterval { .. } => CommandType::SetInterval,
            Command::Reboot => CommandType::Reboot,
            Command::PositionRequest => CommandType::PositionRequest,
            Command::CustomText(_) | Command::CustomHex(_) => CommandType::Custom,
        }
    }
}

/// What the encoder may use from the connection: the device's id, the frame the device just
/// sent (JT/T 808 answers in the shape of the terminal's own header), a number the shell
/// chose for this command (unique per device while the command is outstanding), which
/// becomes the server flag / serial the device echoes in its answer, and the time.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// The device's id as its connection identified it (text protocols repeat it).
    pub device: &'a str,
    /// The last frame received from the device, as cut by the framer.
    pub frame: &'a [u8],
    /// The command's number (the queue's row number).
    pub number: u32,
    /// The time the command is written (protocols that stamp commands, H02); the codec
    /// reads no clock.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// One command ready for the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The complete frame(s) to write.
    pub bytes: Bytes,
    /// What the device echoes in its answer (server flag, serial), when the protocol has
    /// such a field; `None`: answers are matched to the oldest command sent.
    pub tag: Option<u32>,
}

/// A device's answer to a command, read from one of its frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The tag of the command answered, when the answer carries one.
    pub tag: Option<u32>,
    /// False when the device says the command failed or is unsupported.
    pub ok: bool,
    /// The answer as text (the device's text, or a description of a binary result).
    pub text: String,
    /// The answer's payload bytes as sent.
    pub bytes: Vec<u8>,
}

/// Why a command cannot be encoded for a device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The protocol has no encoding for this command type.
    #[error("{protocol} does not support {kind}")]
    Unsupported {
        protocol: &'static str,
        kind: CommandType,
    },
    /// The parameters do not fit the protocol's message (too long, out of range).
    #[error("{0}")]
    Invalid(String),
}

/// A protocol's command encoder and answer recogniser. Pure.
pub trait CommandCodec: Send + Sync {
    /// The command types this protocol encodes.
    fn supported(&self) -> &'static [CommandType];
    /// The bytes for `cmd` on the connection described by `link`.
    fn encode(&self, cmd: &Command, link: &Link<'_>) -> Result<Encoded, CommandError>;
    /// `Some` when `frame` (a frame the device sent, as cut by the framer, whose decode
    /// succeeded) answers a command.
    fn reply(&self, frame: &[u8]) -> Option<Reply>;
    /// Whether the encoded commands are also right as UDP datagrams (and the answers arrive
    /// in datagrams `reply` reads). False by default: the binary protocols wrap their UDP
    /// messages differently.
    fn udp(&self) -> bool {
        false
    }
}

/// Text for an answer's payload: printable ASCII (with CR/LF/TAB) trimmed, else hex.
pub fn reply_text(payload: &[u8]) -> String {
    let printable = payload
        .iter()
        .all(|&c| (0x20..0x7F).contains(&c) || matches!(c, b'\r' | b'\n' | b'\t' | 0));
    if printable {
        String::from_utf8_lossy(payload)
            .trim_matches(|c: char| c.is_whitespace() || c == '\0')
            .to_string()
    } else {
        hex::encode(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for t in CommandType::ALL {
            assert_eq!(CommandType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(CommandType::parse("launch_missiles"), None);
        assert_eq!(
            Command::SetInterval { seconds: 30 }.kind(),
            CommandType::SetInterval
        );
        assert_eq!(Command::CustomHex(vec![1]).kind(), CommandType::Custom);
    }

    /// One command of every type (custom as text and as bytes).
    fn one_of_each() -> Vec<Command> {
        vec![
            Command::EngineStop,
            Command::EngineResume,
            Command::SetInterval { seconds: 30 },
            Command::Reboot,
            Command::PositionRequest,
            Command::CustomText("STATUS#".into()),
            Command::CustomHex(vec![0x01, 0x02]),
        ]
    }

    /// For every protocol with a codec: each supported type encodes on a connection whose
    /// last frame is one of the protocol's identifying fixture frames, each unsupported type
    /// is refused, and `reply` — which reads every accepted frame a device sends — returns
    /// without panicking on every fixture frame and every prefix of it. Fails when a codec's
    /// protocol has no identifying fixture, so it cannot pass empty.
    #[test]
    fn every_codec_encodes_its_types_and_reads_any_frame_safely() {
        use super::super::{test_util, DecoderOptions, REGISTRY};
        let ctx = test_util::ctx();
        let mut codecs = 0;
        for p in REGISTRY.iter() {
            let Some(codec) = p.commands() else { continue };
            codecs += 1;
            let mut identified = 0;
            for raw in test_util::fixtures(p.name(), "tcp") {
                let mut d = p.new_decoder(&DecoderOptions::default()).expect("decoder");
                for f in test_util::frames(d.as_mut(), &raw, raw.len()) {
                    for n in 0..=f.len() {
                        let _ = codec.reply(&f[..n]);
                    }
                    let Ok(out) = d.decode(&f, &ctx) else {
                        continue;
                    };
                    let Some(id) = out.identity else { continue };
                    identified += 1;
                    for cmd in one_of_each() {
                        let link = Link {
                            device: id.as_str(),
                            frame: &f,
                            number: 7,
                            now: ctx.now,
                        };
                        let r = codec.encode(&cmd, &link);
                        if codec.supported().contains(&cmd.kind()) {
                            let e = r.unwrap_or_else(|e| panic!("{}: {cmd:?}: {e}", p.name()));
                            assert!(!e.bytes.is_empty(), "{}", p.name());
                        } else {
                            assert!(r.is_err(), "{}: {cmd:?} is not supported", p.name());
                        }
                    }
                }
            }
            assert!(identified > 0, "{}: no identifying fixture", p.name());
        }
        assert!(codecs >= 4, "gt06, teltonika, jt808, h02");
    }

    proptest::proptest! {
        /// `reply` never panics on arbitrary bytes, for every codec.
        #[test]
        fn reply_never_panics(bytes in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..64)) {
            for p in super::super::REGISTRY.iter() {
                if let Some(c) = p.commands() {
                    let _ = c.reply(&bytes);
                }
            }
        }
    }

    #[test]
    fn reply_text_keeps_text_and_hexes_binary() {
        assert_eq!(reply_text(b"DYD=Success!\r\n"), "DYD=Success!");
        assert_eq!(reply_text(&[0x01, 0xFF]), "01ff");
    }
}
