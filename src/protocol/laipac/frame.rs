//! Laipac framer: a sentence ends at CR LF (a bare LF or CR is accepted too); the terminator
//! is dropped, empty lines are skipped, and a line without a terminator within `max_frame`
//! bytes is dropped.

use super::super::wire::Cut;

/// Decides where the next sentence in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    if let Some(skip) = Cut::skip_line_breaks(buf) {
        return skip;
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit].iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) => Cut::FrameAndTerminator(i, 1),
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}
