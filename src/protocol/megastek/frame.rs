//! Megastek framer. A report that starts with four digits declares its length (`0137$MGV…`,
//! the four digits not counted) and is cut by it. Any other report is a line: it ends at CR
//! or LF, or at `!` (the `$MGV` end mark; kept in the frame when CR LF follows it right away,
//! as Traccar's framer keeps it). CR/LF with nothing before them are skipped; a line without
//! an end within `max_frame` bytes is dropped.

use super::super::wire::Cut;

/// Shortest length-prefixed report worth waiting for.
const MIN_FRAME: usize = 10;

/// Decides where the next report in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    if let Some(skip) = Cut::skip_line_breaks(buf) {
        return skip;
    }
    if buf.first().is_some_and(u8::is_ascii_digit) {
        let Some(len) = buf.get(..4) else {
            return Cut::NeedMore;
        };
        if len.iter().all(u8::is_ascii_digit) {
            let n = len
                .iter()
                .fold(0usize, |a, &d| a * 10 + usize::from(d - b'0'));
            return Cut::declared(buf, 4 + n, MIN_FRAME, max_frame);
        }
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit]
        .iter()
        .position(|&b| matches!(b, b'\r' | b'\n' | b'!'))
    {
        Some(0) => Cut::Skip(1),
        Some(i) if buf[i] == b'!' && matches!(buf.get(i + 1), Some(b'\r' | b'\n')) => {
            Cut::FrameAndTerminator(i + 1, 1)
        }
        Some(i) => Cut::FrameAndTerminator(i, 1),
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}
