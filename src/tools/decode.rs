//! `trackgate decode`: the installer's debugging tool.
//!
//! Installers paste a device's hex log and want to know why the device "shows nothing". Each
//! input line is one chunk of wire bytes as received (hex by default; raw text with `--text`,
//! where `\r`, `\n`, `\\` and `\xHH` escapes stand for those bytes), all lines one device
//! session in order. The chunks go through the same framer and decoder the server runs, and
//! every input line prints one JSON line:
//! `{"frames": [{"type", "positions": [...], "events": [...], "ack": "<hex>"|null,
//! "error": null|"..."}], "error": null|"<first problem, naming the byte offset or field>"}`.

use crate::model::Record;
use crate::protocol::{DecodeCtx, Decoded, Decoder, DecoderOptions, FrameResult, Protocol};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::io::{BufRead, Write};

/// How input lines are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Hex digits; spaces, colons and a leading `0x` are ignored.
    Hex,
    /// Text with `\r`, `\n`, `\\`, `\xHH` escapes.
    Text,
}

/// A decode session over one device's byte stream (or datagrams).
pub struct DecodeSession {
    decoder: Box<dyn Decoder>,
    buf: BytesMut,
    datagrams: bool,
    offset: usize,
}

impl DecodeSession {
    /// A session for `protocol`; `datagrams` makes each line one UDP datagram.
    pub fn new(
        protocol: &dyn Protocol,
        opts: &DecoderOptions,
        datagrams: bool,
    ) -> Result<Self, crate::protocol::OptionsError> {
        Ok(DecodeSession {
            decoder: protocol.new_decoder(opts)?,
            buf: BytesMut::new(),
            datagrams,
            offset: 0,
        })
    }

    /// Feeds one input line and returns its JSON result.
    pub fn feed_line(&mut self, line: &str, format: InputFormat, now: DateTime<Utc>) -> Value {
        let bytes = match format {
            InputFormat::Hex => parse_hex(line),
            InputFormat::Text => Ok(unescape_text(line)),
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return json!({ "frames": [], "error": e }),
        };
        self.feed(&bytes, now)
    }

    /// Feeds raw bytes and returns the JSON result.
    pub fn feed(&mut self, bytes: &[u8], now: DateTime<Utc>) -> Value {
        let ctx = DecodeCtx { now };
        let mut frames = Vec::new();
        let mut first_error: Option<String> = None;
        if self.datagrams {
            frames.push(frame_json(
                self.decoder.decode_datagram(bytes, &ctx),
                &mut first_error,
            ));
            return json!({ "frames": frames, "error": first_error });
        }
        self.buf.extend_from_slice(bytes);
        loop {
            let start = self.offset;
            match self.decoder.frame(&mut self.buf) {
                FrameResult::NeedMore => break,
                FrameResult::Frame(f) => {
                    self.offset += f.len();
                    let r = self.decoder.decode(&f, &ctx);
                    let mut fe = None;
                    let mut j = frame_json(r, &mut fe);
                    if let Some(e) = fe {
                        let msg = format!("frame at stream byte {start}: {e}");
                        j["error"] = json!(msg);
                        first_error.get_or_insert(msg);
                    }
                    frames.push(j);
                }
                FrameResult::Skipped(n) => {
                    self.offset += n;
                    first_error.get_or_insert(format!(
                        "skipped {n} bytes of garbage at stream byte {start} (no frame start there)"
                    ));
                    if n == 0 {
                        break;
                    }
                }
                FrameResult::Fatal(e) => {
                    first_error.get_or_insert(format!("stream unrecoverable at byte {start}: {e}"));
                    self.buf.clear();
                    break;
                }
            }
        }
        if first_error.is_none() && frames.is_empty() && !self.buf.is_empty() {
            first_error = Some(format!(
                "incomplete frame: {} bytes buffered, waiting for the rest",
                self.buf.len()
            ));
        }
        json!({ "frames": frames, "error": first_error })
    }
}

fn frame_json(r: Result<Decoded, crate::protocol::DecodeError>, err: &mut Option<String>) -> Value {
    match r {
        Ok(d) => {
            let mut positions = Vec::new();
            let mut events = Vec::new();
            for rec in &d.records {
                match rec {
                    Record::Position(p) => positions.push(p.to_json()),
                    Record::Event(e) => events.push(serde_json::to_value(e).unwrap_or(Value::Null)),
                    // Decoders produce positions and events only; derived records come from
                    // tracking.
                    Record::Eta(_) | Record::Alert(_) | Record::Audit(_) => {}
                }
            }
            json!({
                "type": d.kind,
                "device": d.identity.as_ref().map(|i| i.to_string()),
                "positions": positions,
                "events": events,
                "ack": d.ack.accepted.as_ref().map(hex::encode),
                "error": null,
            })
        }
        Err(e) => {
            let msg = e.to_string();
            *err = Some(msg.clone());
            json!({ "type": null, "positions": [], "events": [], "ack": null, "error": msg })
        }
    }
}

/// Parses a hex line, naming the offending character's offset.
pub fn parse_hex(line: &str) -> Result<Vec<u8>, String> {
    let t = line.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let mut digits = Vec::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        match c {
            ' ' | ':' | '\t' | '-' => {}
            c if c.is_ascii_hexdigit() => digits.push(c as u8),
            other => {
                return Err(format!(
                "not hex: {other:?} at character {i} of the line (use --text for text protocols)"
            ))
            }
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!(
            "odd number of hex digits ({}): a byte is cut in half",
            digits.len()
        ));
    }
    hex::decode(&digits).map_err(|e| format!("not hex: {e}"))
}

/// Turns `\r`, `\n`, `\t`, `\\`, `\xHH` escapes into bytes; other text is taken as ISO-8859-1
/// (one char per byte, as captured logs are).
pub fn unescape_text(line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let cp = c as u32;
            if cp < 256 {
                out.push(cp as u8);
            } else {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&h, 16) {
                    Ok(b) if h.len() == 2 => out.push(b),
                    _ => {
                        out.extend_from_slice(b"\\x");
                        out.extend_from_slice(h.as_bytes());
                    }
                }
            }
            Some(o) => {
                out.push(b'\\');
                let mut b = [0u8; 4];
                out.extend_from_slice(o.encode_utf8(&mut b).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

/// Runs the tool over `input`, writing one JSON line per input line.
pub fn run(
    session: &mut DecodeSession,
    format: InputFormat,
    input: impl BufRead,
    mut out: impl Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let v = session.feed_line(&line, format, Utc::now());
        writeln!(out, "{v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_name_the_offset() {
        assert_eq!(parse_hex("78 78 0d").unwrap(), vec![0x78, 0x78, 0x0d]);
        assert!(parse_hex("78zz").unwrap_err().contains("character 2"));
        assert!(parse_hex("787").unwrap_err().contains("odd"));
    }

    #[test]
    fn text_escapes() {
        assert_eq!(unescape_text(r"ab\r\n\x7e\\"), b"ab\r\n\x7e\\".to_vec());
    }
}
