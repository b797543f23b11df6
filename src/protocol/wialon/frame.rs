//! Wialon IPS framer: a packet is one line ended by `\r\n` (a bare `\n` is accepted too);
//! the terminator is dropped. CR/LF with nothing before them are skipped. A line without a
//! terminator within `max_frame` bytes is dropped whole.
//!
//! The one exception is the image packet `#I#<size>;…\r\n` followed by `<size>` bytes of
//! binary JPEG: its header is cut like any line and the binary body is then skipped by
//! count (`binary_left`, kept per connection), so bytes of a picture are never read as a
//! text packet. trackgate stores no images (see `protocol-docs/wialon.md`).

use super::super::wire::Cut;

/// Decides where the next packet in `buf` ends; `binary_left` is the image body still to
/// skip, set when an image header is cut.
pub(super) fn cut(buf: &[u8], max_frame: usize, binary_left: &mut usize) -> Cut {
    if *binary_left > 0 {
        if buf.is_empty() {
            return Cut::NeedMore;
        }
        let n = (*binary_left).min(buf.len());
        *binary_left -= n;
        return Cut::Skip(n);
    }
    if let Some(skip) = Cut::skip_line_breaks(buf) {
        return skip;
    }
    let limit = buf.len().min(max_frame.max(1));
    match buf[..limit].iter().position(|&b| b == b'\n') {
        Some(i) => {
            let (n, t) = if buf[i - 1] == b'\r' {
                (i - 1, 2)
            } else {
                (i, 1)
            };
            *binary_left = image_size(&buf[..n]);
            Cut::FrameAndTerminator(n, t)
        }
        None if buf.len() >= max_frame.max(1) => Cut::Skip(buf.len()),
        None => Cut::NeedMore,
    }
}

/// The binary body length an image header `#I#<size>;…` announces (0 for any other line).
fn image_size(line: &[u8]) -> usize {
    let Some(rest) = line.strip_prefix(b"#I#") else {
        return 0;
    };
    let digits = rest.split(|&b| b == b';').next().unwrap_or_default();
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
