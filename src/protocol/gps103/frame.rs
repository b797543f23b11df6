//! Coban framer: a sentence ends at `;`, LF or `*` (the delimiter stays in the frame, so
//! the decoder can tell the `*`-terminated alternative format apart). Delimiters and CR with
//! nothing before them (the CR LF some firmwares add after `;`) are skipped. A sentence with
//! no delimiter within `max_frame` bytes is dropped whole.

use super::super::FrameResult;
use bytes::BytesMut;

fn is_delimiter(b: u8) -> bool {
    matches!(b, b';' | b'\n' | b'*')
}

/// Cuts the next sentence off `buf`.
pub(super) fn next_frame(buf: &mut BytesMut, max_frame: usize) -> FrameResult {
    let lead = buf
        .iter()
        .take_while(|&&b| is_delimiter(b) || b == b'\r')
        .count();
    if lead > 0 {
        let _ = buf.split_to(lead);
        return FrameResult::Skipped(lead);
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit].iter().position(|&b| is_delimiter(b)) {
        Some(i) => FrameResult::Frame(buf.split_to(i + 1).freeze()),
        None if buf.len() >= max_frame.max(1) => {
            let n = buf.len();
            let _ = buf.split_to(n);
            FrameResult::Skipped(n)
        }
        None => FrameResult::NeedMore,
    }
}
