//! TK103 framer: `(` … `)`, where a `)` between two `$` signs is text (command results like
//! `$Software version: (V2.0)$`) and does not end the frame. Bytes before `(` are skipped; a
//! frame not closed within `max_frame` bytes loses its `(` and the stream resyncs on the next.

use super::super::wire::Cut;

/// Length of the frame at the start of `buf` (which begins with `(`), if complete.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut in_text = false;
    for (i, &b) in buf.iter().enumerate().skip(1) {
        match b {
            b'$' => in_text = !in_text,
            b')' if !in_text => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Decides where the next frame in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let Some(start) = buf.iter().position(|&b| b == b'(') else {
        return Cut::skip_all(buf);
    };
    if start > 0 {
        return Cut::Skip(start);
    }
    let limit = buf.len().min(max_frame.max(2));
    match frame_len(&buf[..limit]) {
        Some(n) => Cut::Frame(n),
        None if buf.len() >= max_frame => Cut::Skip(1),
        None => Cut::NeedMore,
    }
}
