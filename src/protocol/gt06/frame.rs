//! GT06 framer: cuts `78 78 … 0D 0A` / `79 79 … 0D 0A` frames off a TCP byte stream.
//!
//! `LEN` is trusted first, because `0D 0A` can occur inside binary content. Firmwares that
//! write a wrong `LEN` (0 on Wi-Fi frames, a cell count, off by one or two) are handled the
//! way Traccar's `Gt06FrameDecoder` handles them: `0D 0A` two bytes after the declared end is
//! accepted too, and once the declared length has arrived without a terminator there, the
//! frame ends at the first `0D 0A`. One deliberate difference: while fewer bytes than `LEN`
//! promises have arrived, an earlier `0D 0A` only ends the frame if the CRC over that
//! candidate is valid; Traccar cuts there unconditionally, which splits a well-formed frame
//! whose content happens to hold `0D 0A` when TCP delivers it in pieces.

use super::super::wire::Cut;
use super::crc16 as crc16_x25;

/// Shortest possible frame: marker(2) LEN(1) PROTO(1) SERIAL(2) CRC(2) 0D 0A.
const MIN_FRAME: usize = 10;

fn is_marker(b: u8) -> bool {
    b == 0x78 || b == 0x79
}

fn find_start(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| is_marker(w[0]) && w[0] == w[1])
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

fn ends_with_crlf(buf: &[u8], end: usize) -> bool {
    end >= 2 && buf.get(end - 2..end) == Some(b"\r\n".as_slice())
}

/// True when `buf[..end]` is a frame whose CRC-16/X-25 (over LEN..SERIAL) matches.
fn crc_ok(buf: &[u8], end: usize) -> bool {
    if end < MIN_FRAME {
        return false;
    }
    match (buf.get(2..end - 4), buf.get(end - 4..end - 2)) {
        (Some(body), Some(crc)) => crc16_x25(body).to_be_bytes() == [crc[0], crc[1]],
        _ => false,
    }
}

/// Decides where the next frame in `buf` ends. Never looks past `buf`, never asks to keep more
/// than `max_frame` bytes: a declared or scanned frame longer than that is skipped by dropping
/// its start marker, after which the next call resyncs on the following marker.
pub fn cut_frame(buf: &[u8], max_frame: usize) -> Cut {
    let start = match find_start(buf) {
        Some(0) => 0,
        Some(p) => return Cut::Skip(p),
        None => {
            // Keep a trailing lone marker byte: it may be the first half of the next header.
            let keep = usize::from(buf.last().is_some_and(|&b| is_marker(b)));
            return match buf.len() - keep {
                0 => Cut::NeedMore,
                n => Cut::Skip(n),
            };
        }
    };
    debug_assert_eq!(start, 0);
    let (header, declared) = if buf[0] == 0x78 {
        match buf.get(2) {
            Some(&len) => (3, usize::from(len) + 5),
            None => return Cut::NeedMore,
        }
    } else {
        match buf.get(2..4) {
            Some(l) => (4, usize::from(u16::from_be_bytes([l[0], l[1]])) + 6),
            None => return Cut::NeedMore,
        }
    };
    let max_frame = max_frame.max(MIN_FRAME);
    if declared > max_frame {
        return Cut::Skip(2);
    }
    if declared >= MIN_FRAME {
        if buf.len() < declared {
            // Not all promised bytes are here: accept an early end only if it checks out.
            if let Some(i) = find_crlf(buf, header + 1) {
                if crc_ok(buf, i + 2) {
                    return Cut::Frame(i + 2);
                }
            }
            return Cut::NeedMore;
        }
        if ends_with_crlf(buf, declared) {
            return Cut::Frame(declared);
        }
        if declared + 2 <= max_frame && ends_with_crlf(buf, declared + 2) {
            return Cut::Frame(declared + 2);
        }
        if buf.len() < declared + 2 && buf.get(declared..) == Some(b"\r".as_slice()) {
            // `LEN` may be two short and the last byte is the CR of its terminator.
            return Cut::NeedMore;
        }
    }
    match find_crlf(buf, header + 1) {
        Some(i) if i + 2 <= max_frame => Cut::Frame(i + 2),
        Some(_) => Cut::Skip(2),
        None if buf.len() >= max_frame => Cut::Skip(2),
        None => Cut::NeedMore,
    }
}
