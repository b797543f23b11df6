//! Stream framing: `7E … 7E` binary frames (escaped) and `( … )` text frames of some clones.
//!
//! The framer returns the frame exactly as on the wire, delimiters and escapes included;
//! [`unescape`] turns it into the logical frame the decoder parses. Keeping the two apart lets
//! the framer stay a pure byte scanner (no allocation except the cut) and lets tests replay
//! Traccar's already-unescaped vectors straight into the decoder.

use crate::protocol::wire::Cut;
use crate::protocol::DecodeError;

/// Start and end delimiter of a binary frame.
pub const FLAG: u8 = 0x7e;
/// Escape byte: `7D 02` stands for `7E`, `7D 01` for `7D`.
pub const ESCAPE: u8 = 0x7d;
/// Start of a text frame (`(740190311185,1,001,ELOCK,3,529439)`), sent by some e-lock clones.
const TEXT_START: u8 = b'(';
/// End of a text frame.
const TEXT_END: u8 = b')';

/// Decides where the next frame in `buf` ends. `max_frame` bounds how far we scan for the
/// end delimiter.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let Some(&first) = buf.first() else {
        return Cut::NeedMore;
    };
    match first {
        FLAG => cut_binary(buf, max_frame),
        TEXT_START => cut_text(buf, max_frame),
        // Garbage before a start marker: drop it all up to (excluding) the next marker.
        _ => Cut::Skip(next_marker(buf, 1).unwrap_or(buf.len())),
    }
}

fn next_marker(buf: &[u8], from: usize) -> Option<usize> {
    buf.iter()
        .skip(from)
        .position(|&b| b == FLAG || b == TEXT_START)
        .map(|p| p + from)
}

fn cut_binary(buf: &[u8], max_frame: usize) -> Cut {
    match buf.iter().skip(1).position(|&b| b == FLAG).map(|p| p + 1) {
        // `7E 7E`: the first is the end flag of a frame we lost; the second starts the next.
        Some(1) => Cut::Skip(1),
        Some(end) if end < max_frame => Cut::Frame(end + 1),
        // Oversized: drop it including its end flag and resync on what follows.
        Some(end) => Cut::Skip(end + 1),
        // No end flag within the limit: everything buffered belongs to an oversized frame (it
        // holds no other 7E). Its end flag will later pair up as `7E 7E` and resync.
        None if buf.len() >= max_frame => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}

fn cut_text(buf: &[u8], max_frame: usize) -> Cut {
    let mut skip = None;
    for (i, &b) in buf.iter().enumerate().skip(1) {
        if i >= max_frame {
            // The frame would exceed the limit: drop the `(`, resync on what follows.
            skip = Some(1);
            break;
        }
        if b == TEXT_END {
            return Cut::Frame(i + 1);
        }
        if b == FLAG || b == TEXT_START {
            // A new start marker before `)`: what we held was garbage.
            skip = Some(i);
            break;
        }
        if !(0x20..0x7f).contains(&b) {
            // Binary bytes: this `(` was garbage, not a text frame.
            skip = Some(i + 1);
            break;
        }
    }
    if skip.is_none() && buf.len() >= max_frame {
        // Still no `)` and the frame would need at least one byte more than the limit.
        skip = Some(1);
    }
    match skip {
        Some(n) => Cut::Skip(n),
        None => Cut::NeedMore,
    }
}

/// Removes the escapes of a binary frame (delimiters kept). `7D` followed by anything but
/// `01`/`02`, or at the very end, means the frame is corrupt.
pub fn unescape(frame: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(frame.len());
    let mut it = frame.iter().enumerate();
    while let Some((i, &b)) = it.next() {
        if b != ESCAPE {
            out.push(b);
            continue;
        }
        match it.next() {
            Some((_, 0x01)) => out.push(ESCAPE),
            Some((_, 0x02)) => out.push(FLAG),
            other => {
                return Err(DecodeError::Invalid(format!(
                    "bad escape at byte {i}: 7d {}",
                    other.map_or("<end>".to_string(), |(_, b)| format!("{b:02x}"))
                )))
            }
        }
    }
    Ok(out)
}

/// Escapes `data` (header, body and checksum) into `out`.
pub fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    for &b in data {
        match b {
            FLAG => out.extend_from_slice(&[ESCAPE, 0x02]),
            ESCAPE => out.extend_from_slice(&[ESCAPE, 0x01]),
            _ => out.push(b),
        }
    }
}
