//! Xexun framer: a report is a line, but some firmwares put CR LF right after the RMC
//! checksum, inside the report. So a report ends at the first LF after its `imei:`; a CR
//! before that LF is dropped with it. CR/LF with nothing before them are skipped. Without an
//! `imei:` and a following LF within `max_frame` bytes the buffered bytes are dropped.
//! Known limit: a device that never ends its reports with a line break is not framed (its
//! bytes are dropped at `max_frame`); every captured stream has the line break.

use super::super::wire::Cut;

/// Decides where the next report in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    if let Some(skip) = Cut::skip_line_breaks(buf) {
        return skip;
    }
    let limit = buf.len().min(max_frame.max(1));
    let window = &buf[..limit];
    let end = window
        .windows(5)
        .position(|w| w == b"imei:")
        .and_then(|at| {
            window[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| at + i)
        });
    match end {
        Some(nl) => {
            let n = if nl > 0 && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            Cut::FrameAndTerminator(n, nl + 1 - n)
        }
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}
