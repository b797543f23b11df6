//! Coban framer: a sentence ends at `;`, LF or `*` (the delimiter stays in the frame, so
//! the decoder can tell the `*`-terminated alternative format apart). Delimiters and CR with
//! nothing before them (the CR LF some firmwares add after `;`) are skipped. A sentence with
//! no delimiter within `max_frame` bytes is dropped whole.

use super::super::wire::Cut;

fn is_delimiter(b: u8) -> bool {
    matches!(b, b';' | b'\n' | b'*')
}

/// Decides where the next sentence in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let lead = buf
        .iter()
        .take_while(|&&b| is_delimiter(b) || b == b'\r')
        .count();
    if lead > 0 {
        return Cut::Skip(lead);
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit].iter().position(|&b| is_delimiter(b)) {
        Some(i) => Cut::Frame(i + 1),
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}
