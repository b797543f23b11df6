//! Suntech framer: text reports end at `\r`; binary universal reports (`81`/`82`, and the
//! `02`/`03` forms) carry a 16-bit length.
//!
//! A `UEX` report embeds a user data block that ends with `\r\n` and is followed by more
//! `;` fields, so inside a `UEX` report a `\r\n;` is data, and the report ends at the first
//! `\r` after it. A `\r` not followed by `\n` always ends a report, so a device waiting for nothing after
//! its report never stalls the framer (a `UEX` report whose `\r` arrives last waits for one
//! more byte only until its data block has been seen).

use super::super::wire::Cut;

/// Start byte and extra bytes (beyond the length field's count) of the binary forms.
fn binary_extra(first: u8) -> Option<usize> {
    match first {
        0x81 | 0x82 => Some(3),
        0x02 | 0x03 => Some(4),
        _ => None,
    }
}

/// A text report starts with an upper-case letter (`ST300STT`, `STT`, `SA200`, `ALT` …).
fn text_start(b: u8) -> bool {
    b.is_ascii_uppercase()
}

/// Decides where the next report in `buf` ends; never asks to keep more than `max_frame`
/// bytes.
pub fn cut_frame(buf: &[u8], max_frame: usize) -> Cut {
    let Some(&first) = buf.first() else {
        return Cut::NeedMore;
    };
    let max_frame = max_frame.max(8);
    if let Some(extra) = binary_extra(first) {
        match buf.get(1..3) {
            None => return Cut::NeedMore,
            Some([0, _]) => {
                let total = usize::from(u16::from_be_bytes([buf[1], buf[2]])) + extra;
                return Cut::declared(buf, total, 0, max_frame);
            }
            Some(_) => return Cut::Skip(1),
        }
    }
    if !text_start(first) {
        let n = buf
            .iter()
            .position(|&b| text_start(b) || binary_extra(b).is_some())
            .unwrap_or(buf.len());
        return Cut::Skip(n.max(1));
    }
    let head_end = buf.iter().position(|&b| b == b';').unwrap_or(buf.len());
    let uex = buf[..head_end].ends_with(b"UEX");
    let mut from = 0;
    if uex {
        if let Some(p) = buf.windows(3).position(|w| w == b"\r\n;") {
            from = p + 3;
        }
    }
    let mut i = from;
    while let Some(p) = buf[i..].iter().position(|&b| b == b'\r') {
        let at = i + p;
        if at + 1 > max_frame {
            return Cut::Skip(1);
        }
        if uex && from == 0 {
            match buf.get(at + 1) {
                // A text data block ends with `\r\n`: this `\r` may be its start, so wait
                // for the byte after it. Binary data blocks carry no `\r\n`.
                None if buf[..at].iter().all(|b| (0x20..0x7f).contains(b)) => return Cut::NeedMore,
                None => {}
                Some(b'\n') => match buf.get(at + 2) {
                    None => return Cut::NeedMore,
                    Some(b';') => {
                        i = at + 3;
                        continue;
                    }
                    Some(_) => {}
                },
                Some(_) => {}
            }
        }
        return Cut::FrameAndTerminator(at, 1);
    }
    if buf.len() >= max_frame {
        Cut::Skip(1)
    } else {
        Cut::NeedMore
    }
}
