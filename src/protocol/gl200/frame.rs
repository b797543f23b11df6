//! Queclink framer: cuts `+RESP:…$` / `+BUFF:…$` / `+ACK:…$` reports off a TCP byte stream.
//!
//! A report starts with `+`, three or four upper-case letters and `:`, and ends at the first
//! `$` (the ASCII protocol never puts `$` inside a field). Bytes before a `+` (line breaks some
//! firmwares add after `$`, garbage) are skipped. A `+` followed by letters but no `:` is the
//! binary @Track variant, which trackgate does not decode: its start is skipped like garbage
//! and the framer resyncs on the next text report.

use super::super::wire::Cut;

/// Longest header (`+RESP:`) the framer looks at before deciding text vs binary.
const HEADER: usize = 6;

/// Text header check on the bytes after `+`: `Some(true)` text, `Some(false)` not a text
/// report, `None` undecided (too few bytes).
fn text_header(after_plus: &[u8]) -> Option<bool> {
    for (i, &b) in after_plus.iter().take(HEADER - 1).enumerate() {
        if b == b':' {
            return Some(i >= 3);
        }
        if !b.is_ascii_uppercase() {
            return Some(false);
        }
    }
    if after_plus.len() >= HEADER - 1 {
        Some(false)
    } else {
        None
    }
}

/// Decides where the next report in `buf` ends; never asks to keep more than `max_frame`
/// bytes. The `$` delimiter is consumed but not part of the frame, as Traccar's frame decoder
/// does.
pub fn cut_frame(buf: &[u8], max_frame: usize) -> Cut {
    match buf.iter().position(|&b| b == b'+') {
        Some(0) => {}
        Some(p) => return Cut::Skip(p),
        None if buf.is_empty() => return Cut::NeedMore,
        None => return Cut::Skip(buf.len()),
    }
    match text_header(&buf[1..]) {
        None => return Cut::NeedMore,
        Some(false) => return Cut::Skip(1),
        Some(true) => {}
    }
    let max_frame = max_frame.max(HEADER + 1);
    match buf.iter().position(|&b| b == b'$') {
        Some(i) if i < max_frame => Cut::FrameAndTerminator(i, 1),
        Some(_) => Cut::Skip(1),
        None if buf.len() >= max_frame => Cut::Skip(1),
        None => Cut::NeedMore,
    }
}
