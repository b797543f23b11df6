//! Watch framer: cuts `[…]` frames off a TCP byte stream and undoes the `7D xx` escaping.
//!
//! The declared length (content bytes after unescaping) is trusted first, because text
//! content is not escaped and may hold `]` (Wi-Fi names such as `[LG_Wall-Mount A/C]`).
//! Many firmwares get the length wrong by a few bytes (Traccar's captures are off by up to
//! nine), so when the byte it points at is not `]` the frame ends at the first `]` that ends
//! the bytes received so far or is followed by the next `[` or a line break (devices write
//! one frame at a time). A frame with a wrong length is thus never kept waiting; the one
//! case cut wrongly is a TCP segment ending exactly after a `]` inside a Wi-Fi name whose
//! frame also misstates its length. The frame handed to the decoder is unescaped:
//! `7D 01..05` → `}` `[` `]` `,` `*`.

use super::super::wire::Cut;
use super::super::FrameResult;
use bytes::{Bytes, BytesMut};

/// Decides where the next frame in `buf` ends; never asks to keep more than `max_frame`
/// bytes.
pub fn cut_frame(buf: &[u8], max_frame: usize) -> Cut {
    match buf.iter().position(|&b| b == b'[') {
        Some(0) => {}
        Some(p) => return Cut::Skip(p),
        None if buf.is_empty() => return Cut::NeedMore,
        None => return Cut::Skip(buf.len()),
    }
    let max_frame = max_frame.max(4);
    let first_close = buf.iter().position(|&b| b == b']');
    let declared = declared_end(buf);
    if let Some(end) = declared {
        if end < max_frame && buf.get(end) == Some(&b']') {
            return Cut::Frame(end + 1);
        }
    }
    // A `]` that ends what has arrived, or is followed by the next frame or a line break.
    let closing = buf.iter().enumerate().position(|(i, &b)| {
        b == b']' && matches!(buf.get(i + 1), None | Some(b'[' | b'\r' | b'\n'))
    });
    match (closing, first_close) {
        (Some(i), _) if i < max_frame => Cut::Frame(i + 1),
        (_, Some(i)) if i >= max_frame => Cut::Skip(1),
        _ if buf.len() >= max_frame => Cut::Skip(1),
        _ => Cut::NeedMore,
    }
}

/// Index of the `]` the header's length field points at (raw, escaped bytes counted as
/// one), or `None` when the header is not complete or not well-formed.
fn declared_end(buf: &[u8]) -> Option<usize> {
    // `[` maker(2) `*` id `*` [index(4) `*`] len(4) `*`
    let is_hex4 = |s: &[u8]| s.len() == 4 && s.iter().all(u8::is_ascii_hexdigit);
    if buf.get(3) != Some(&b'*') {
        return None;
    }
    let id_end = 4 + buf.get(4..)?.iter().take(64).position(|&b| b == b'*')?;
    let mut p = id_end + 1;
    if is_hex4(buf.get(p..p + 4)?)
        && buf.get(p + 4) == Some(&b'*')
        && buf.get(p + 9) == Some(&b'*')
        && is_hex4(buf.get(p + 5..p + 9)?)
    {
        p += 5;
    }
    let len_field = buf.get(p..p + 4)?;
    if !is_hex4(len_field) || buf.get(p + 4) != Some(&b'*') {
        return None;
    }
    let len = usize::from_str_radix(std::str::from_utf8(len_field).ok()?, 16).ok()?;
    let mut raw = p + 5;
    let mut n = 0;
    while n < len {
        raw += if buf.get(raw) == Some(&0x7D)
            && buf.get(raw + 1).is_some_and(|b| (1..=5).contains(b))
        {
            2
        } else {
            1
        };
        n += 1;
    }
    Some(raw)
}

/// Undoes the `7D xx` escaping of binary content. A `7D` followed by anything else is kept.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let mapped = match (b, raw.get(i + 1)) {
            (0x7D, Some(1)) => Some(b'}'),
            (0x7D, Some(2)) => Some(b'['),
            (0x7D, Some(3)) => Some(b']'),
            (0x7D, Some(4)) => Some(b','),
            (0x7D, Some(5)) => Some(b'*'),
            _ => None,
        };
        match mapped {
            Some(m) => {
                out.push(m);
                i += 2;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// [`cut_frame`] applied to the connection buffer; the frame comes out unescaped (a copy
/// only when it holds an escape).
pub(super) fn next_frame(buf: &mut BytesMut, max_frame: usize) -> FrameResult {
    match cut_frame(buf, max_frame).apply(buf) {
        FrameResult::Frame(raw) if raw.contains(&0x7D) => {
            FrameResult::Frame(Bytes::from(unescape(&raw)))
        }
        other => other,
    }
}
