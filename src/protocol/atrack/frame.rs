//! TCP framer. Four kinds of frame, told apart by their first bytes:
//!
//! - `FE 02 | unit id u64 | seq u16`: keep-alive, 12 bytes.
//! - `@P,XXXX,` (4 hex digits): text, `@P,CRC,LEN,…` where `LEN` counts the bytes from the
//!   comma after it to the `\r`; the `\n` after it belongs to the frame too.
//! - any other `@P` / `@R`: binary, `prefix | CRC u16 | len u16 | len bytes`.
//! - `$…\r\n`: a command answer (`$INFO=…`, `$OK`), cut after the line end.
//!
//! Anything else is skipped up to the next `@`, `$` or `FE`. A declared frame above
//! `max_frame` is skipped without waiting for it.

use crate::protocol::wire::Cut;

/// Keep-alive marker and length.
pub const KEEPALIVE: [u8; 2] = [0xfe, 0x02];
pub const KEEPALIVE_LEN: usize = 12;
/// Binary header: prefix, CRC, length.
pub const BINARY_HEADER: usize = 6;
/// Sequence id and unit id: the least a binary length can count.
pub const MIN_BINARY_LEN: usize = 10;
/// Longest text header before the length's closing comma (`@P,XXXX,NNNNNN,`).
const MAX_TEXT_HEADER: usize = 16;

/// Whether `f` (a whole frame, or at least its first 8 bytes) is a text report: `@P,` then
/// the 4 hex digits of the CRC and a comma. A binary CRC can start with `,` (0x2C) too, so
/// the third byte alone does not tell. Frames with another prefix and a comma third (seen
/// in captures) are text as well.
pub fn is_text(f: &[u8]) -> bool {
    match f {
        [b'@', b'P', b',', crc @ ..] if crc.len() >= 5 => {
            crc[..4].iter().all(u8::is_ascii_hexdigit) && crc[4] == b','
        }
        [b'@', ..] => false,
        [_, _, b',', ..] => true,
        _ => false,
    }
}

/// Decides where the next frame in `buf` ends.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    match buf {
        [] | [_] => Cut::NeedMore,
        [0xfe, 0x02, ..] => Cut::whole(buf, KEEPALIVE_LEN),
        [b'@', b'P', b',', ..] if buf.len() < 8 => Cut::NeedMore,
        [b'@', b'P', ..] if is_text(buf) => text(buf, max_frame),
        [b'@', b'P' | b'R', ..] => binary(buf, max_frame),
        [b'$', ..] => line(buf, max_frame),
        _ => resync(buf),
    }
}

fn binary(buf: &[u8], max_frame: usize) -> Cut {
    if buf.len() < BINARY_HEADER {
        return Cut::NeedMore;
    }
    let len = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    if len < MIN_BINARY_LEN {
        return resync(buf);
    }
    if BINARY_HEADER + len > max_frame {
        return Cut::Skip(1);
    }
    Cut::whole(buf, BINARY_HEADER + len)
}

fn text(buf: &[u8], max_frame: usize) -> Cut {
    let head = &buf[..buf.len().min(MAX_TEXT_HEADER)];
    let commas: Vec<usize> = head
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b',')
        .map(|(i, _)| i)
        .take(3)
        .collect();
    let (start, end) = match commas[..] {
        [_, a, b] => (a + 1, b),
        _ if buf.len() < MAX_TEXT_HEADER => return Cut::NeedMore,
        _ => return resync(buf),
    };
    let digits = &buf[start..end];
    let Some(len) = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(digits).ok()?.parse::<usize>().ok())
        .flatten()
    else {
        return resync(buf);
    };
    let total = end + len;
    if total == 0 || total > max_frame {
        return Cut::Skip(1);
    }
    if buf.len() < total {
        return Cut::NeedMore;
    }
    if buf[total - 1] != b'\r' {
        return Cut::Frame(total);
    }
    // The length ends at the `\r`; the `\n` after it belongs to the frame too.
    match buf.get(total) {
        Some(b'\n') => Cut::Frame(total + 1),
        None if total < max_frame => Cut::NeedMore,
        _ => Cut::Frame(total),
    }
}

fn line(buf: &[u8], max_frame: usize) -> Cut {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) if i + 2 <= max_frame => Cut::Frame(i + 2),
        Some(_) => Cut::Skip(1),
        None if buf.len() >= max_frame => Cut::Skip(1),
        None => Cut::NeedMore,
    }
}

fn resync(buf: &[u8]) -> Cut {
    let n = buf
        .iter()
        .skip(1)
        .position(|b| matches!(b, b'@' | b'$' | 0xfe))
        .map_or(buf.len(), |i| i + 1);
    Cut::Skip(n)
}
