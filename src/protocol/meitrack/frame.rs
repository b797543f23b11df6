//! Meitrack framer: cuts `$$<flag><len>,…*XX\r\n` frames off a TCP byte stream.
//!
//! `<len>` (decimal, from the comma through `\r\n`) is trusted first, since `CCC`/`CCE`/`D00`
//! frames carry binary data that may hold `\r\n`. Some firmwares write a text frame's length
//! off by one; for a frame that is printable ASCII, the first `*XX\r\n` after the header ends
//! it too (as the device's own text framing would).

use super::super::wire::Cut;

/// `$$`, flag, up to 5 length digits and the comma: where the comma must appear by.
const MAX_HEADER: usize = 9;
/// Shortest frame: `$$` flag digit `,` `*XX\r\n`.
const MIN_FRAME: usize = 10;

fn find_start(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"$$")
}

/// End (exclusive) of the first `*XX\r\n` at or after `from`, in a printable-ASCII prefix.
fn text_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 5 <= buf.len() {
        let b = buf[i];
        if b == b'*'
            && buf[i + 1].is_ascii_hexdigit()
            && buf[i + 2].is_ascii_hexdigit()
            && &buf[i + 3..i + 5] == b"\r\n"
        {
            return Some(i + 5);
        }
        if !(0x20..0x7f).contains(&b) {
            return None;
        }
        i += 1;
    }
    None
}

/// Decides where the next frame in `buf` ends; never asks to keep more than `max_frame`
/// bytes.
pub fn cut_frame(buf: &[u8], max_frame: usize) -> Cut {
    match find_start(buf) {
        Some(0) => {}
        Some(p) => return Cut::Skip(p),
        None => {
            let keep = usize::from(buf.last() == Some(&b'$'));
            return match buf.len() - keep {
                0 => Cut::NeedMore,
                n => Cut::Skip(n),
            };
        }
    }
    let Some(comma) = buf.iter().take(MAX_HEADER + 1).position(|&b| b == b',') else {
        return if buf.len() > MAX_HEADER {
            Cut::Skip(2)
        } else {
            Cut::NeedMore
        };
    };
    let digits = buf.get(3..comma).unwrap_or_default();
    let declared = match std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        Some(n) if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => comma + n,
        _ => return Cut::Skip(2),
    };
    let max_frame = max_frame.max(MIN_FRAME);
    if declared < MIN_FRAME {
        return Cut::Skip(2);
    }
    if declared <= max_frame && buf.len() >= declared && &buf[declared - 2..declared] == b"\r\n" {
        return Cut::Frame(declared);
    }
    if let Some(end) = text_end(buf, comma) {
        return if end <= max_frame {
            Cut::Frame(end)
        } else {
            Cut::Skip(2)
        };
    }
    if declared > max_frame || buf.len() >= declared || buf.len() >= max_frame {
        Cut::Skip(2)
    } else {
        Cut::NeedMore
    }
}
