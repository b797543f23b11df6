//! TK103 framer: `(` … `)`, where a `)` between two `$` signs is text (command results like
//! `$Software version: (V2.0)$`) and does not end the frame. Bytes before `(` are skipped; a
//! frame not closed within `max_frame` bytes loses its `(` and the stream resyncs on the next.

use super::super::FrameResult;
use bytes::BytesMut;

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

/// Cuts the next frame off `buf`.
pub(super) fn next_frame(buf: &mut BytesMut, max_frame: usize) -> FrameResult {
    let Some(start) = buf.iter().position(|&b| b == b'(') else {
        let n = buf.len();
        if n == 0 {
            return FrameResult::NeedMore;
        }
        let _ = buf.split_to(n);
        return FrameResult::Skipped(n);
    };
    if start > 0 {
        let _ = buf.split_to(start);
        return FrameResult::Skipped(start);
    }
    let limit = buf.len().min(max_frame.max(2));
    match frame_len(&buf[..limit]) {
        Some(n) => FrameResult::Frame(buf.split_to(n).freeze()),
        None if buf.len() >= max_frame => {
            let _ = buf.split_to(1);
            FrameResult::Skipped(1)
        }
        None => FrameResult::NeedMore,
    }
}
