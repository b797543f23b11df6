//! H02 downlink commands: text lines `*HQ,<id>,<command>,<hhmmss UTC>,<params>#`, as Traccar's
//! encoder writes them, and the device's `V4` answer.
//!
//! | API type | line |
//! |---|---|
//! | `engine_stop` | `*HQ,<id>,S20,<hhmmss>,1,1#` (oil/power cut) |
//! | `engine_resume` | `*HQ,<id>,S20,<hhmmss>,1,0#` |
//! | `set_interval` | `*HQ,<id>,S71,<hhmmss>,22,<seconds>#` (upload interval) |
//! | `custom {text}` | the text as given (a complete `*HQ,…#` line); `{hex}`: the bytes |
//!
//! The device answers `*HQ,<id>,V4,<command>,<params…>,<time>,<position…>#`; the fields
//! between `V4` and the position's time are the answer (`S20,1,1`, or `S20,ERROR` when
//! refused). The answer names the command type, not the command, so it acknowledges the
//! device's oldest sent command.

use super::super::command::{
    Command, CommandCodec, CommandError, CommandType, Encoded, Link, Reply,
};
use bytes::Bytes;

/// The H02 command codec.
pub struct H02Commands;

/// The codec instance the registry hands out.
pub static CODEC: H02Commands = H02Commands;

const SUPPORTED: &[CommandType] = &[
    CommandType::EngineStop,
    CommandType::EngineResume,
    CommandType::SetInterval,
    CommandType::Custom,
];

/// `*HQ,<id>,<kind>,<hhmmss>,<params…>#`.
fn line(link: &Link<'_>, kind: &str, params: &[&str]) -> Vec<u8> {
    let mut s = format!("*HQ,{},{kind},{}", link.device, link.now.format("%H%M%S"));
    for p in params {
        s.push(',');
        s.push_str(p);
    }
    s.push('#');
    s.into_bytes()
}

impl CommandCodec for H02Commands {
    fn supported(&self) -> &'static [CommandType] {
        SUPPORTED
    }

    fn encode(&self, cmd: &Command, link: &Link<'_>) -> Result<Encoded, CommandError> {
        let bytes = match cmd {
            Command::EngineStop => line(link, "S20", &["1", "1"]),
            Command::EngineResume => line(link, "S20", &["1", "0"]),
            Command::SetInterval { seconds } => line(link, "S71", &["22", &seconds.to_string()]),
            Command::CustomText(t) => t.as_bytes().to_vec(),
            Command::CustomHex(b) => b.clone(),
            Command::Reboot | Command::PositionRequest => {
                return Err(CommandError::Unsupported {
                    protocol: super::NAME,
                    kind: cmd.kind(),
                })
            }
        };
        Ok(Encoded {
            bytes: Bytes::from(bytes),
            tag: None,
        })
    }

    /// H02 datagrams are the same text lines as the stream's frames.
    fn udp(&self) -> bool {
        true
    }

    fn reply(&self, frame: &[u8]) -> Option<Reply> {
        // Called on every frame: most are positions, passed over without parsing.
        if !frame.windows(4).any(|w| w == b",V4,") {
            return None;
        }
        let s = std::str::from_utf8(frame).ok()?;
        let body = s
            .trim_end_matches(['\r', '\n'])
            .strip_prefix('*')?
            .strip_suffix('#')?;
        let f: Vec<&str> = body.split(',').collect();
        if f.get(2) != Some(&"V4") {
            return None;
        }
        // The position starts one field before its validity flag (time, A/V, lat, N/S, lon,
        // E/W); without a position the answer runs to the end.
        let end = (4..f.len())
            .find(|&i| {
                matches!(f.get(i + 2), Some(&("N" | "S")))
                    && matches!(f.get(i + 4), Some(&("E" | "W")))
            })
            .map_or(f.len(), |v| v - 1);
        let text = f.get(3..end.max(3))?.join(",");
        Some(Reply {
            tag: None,
            ok: !text.to_ascii_uppercase().contains("ERROR"),
            bytes: text.as_bytes().to_vec(),
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn link() -> Link<'static> {
        Link {
            device: "4210051415",
            frame: &[],
            number: 1,
            now: chrono::Utc.with_ymd_and_hms(2026, 12, 4, 13, 5, 9).unwrap(),
        }
    }

    fn text(c: Command) -> String {
        String::from_utf8(CODEC.encode(&c, &link()).unwrap().bytes.to_vec()).unwrap()
    }

    #[test]
    fn command_lines() {
        assert_eq!(text(Command::EngineStop), "*HQ,4210051415,S20,130509,1,1#");
        assert_eq!(
            text(Command::EngineResume),
            "*HQ,4210051415,S20,130509,1,0#"
        );
        assert_eq!(
            text(Command::SetInterval { seconds: 30 }),
            "*HQ,4210051415,S71,130509,22,30#"
        );
        assert_eq!(
            text(Command::CustomText("*HQ,4210051415,R1,130509#".into())),
            "*HQ,4210051415,R1,130509#"
        );
        assert!(CODEC.encode(&Command::Reboot, &link()).is_err());
    }

    #[test]
    fn v4_answers() {
        let ok =
            b"*HQ,4210051415,V4,S20,1,1,130510,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#";
        let r = CODEC.reply(ok).unwrap();
        assert_eq!((r.text.as_str(), r.ok, r.tag), ("S20,1,1", true, None));
        // A captured refusal (tests/fixtures/h02): ERROR → failed.
        let refused =
            b"*TH,2020916012,V4,S20,ERROR,053019,A,2234.0284,N,11354.6072,E,000.00,000,250416,FFFFFBFF#";
        let r = CODEC.reply(refused).unwrap();
        assert_eq!((r.text.as_str(), r.ok), ("S20,ERROR", false));
        // The captured success, with the command's time echoed.
        let done = b"*TH,2020916012,V4,S20,DONE,130305,050316,A,2212.8745,N,11346.6574,E,14.28,028,220902,F7FFFBFF#";
        let r = CODEC.reply(done).unwrap();
        assert_eq!((r.text.as_str(), r.ok), ("S20,DONE,130305", true));
        assert_eq!(
            CODEC.reply(
                b"*HQ,4210051415,V1,130510,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#"
            ),
            None
        );
        assert_eq!(CODEC.reply(b"\x24\x42\x10"), None);
    }
}
