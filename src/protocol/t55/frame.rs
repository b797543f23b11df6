//! T55 framer: one sentence per line, ended by LF or CR (CR LF, LF CR and bare CR all occur);
//! the terminator is dropped. Line breaks with nothing before them are skipped; a line
//! without a terminator within `max_frame` bytes is dropped.

use super::super::wire::Cut;

fn is_break(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Decides where the next sentence in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let lead = buf.iter().take_while(|&&b| is_break(b)).count();
    if lead > 0 {
        return Cut::Skip(lead);
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit].iter().position(|&b| is_break(b)) {
        Some(i) => Cut::FrameAndTerminator(i, 1),
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}
