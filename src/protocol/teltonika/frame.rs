//! TCP framer: cuts the IMEI handshake, AVL packets and `FF` keep-alives off the stream.
//!
//! The first byte tells the frames apart: `FF` is a keep-alive, `00 nn` (nn ≠ 0) an IMEI
//! handshake of nn digits, `00 00 00 00` the preamble of an AVL packet. Anything else is
//! garbage and is skipped up to the next `00` or `FF` byte, the only bytes a frame can start
//! with. Every check runs on the bytes already buffered, so garbage is dropped without waiting
//! for a length it claims.

use super::MAX_IMEI_LEN;
use crate::protocol::wire::Cut;

/// Preamble (4 zero bytes) plus the u32 data length.
pub const HEADER_LEN: usize = 8;
/// The u32 CRC field after N2.
pub const CRC_LEN: usize = 4;
/// Smallest data length (codec id, N1, N2) a real packet can declare.
pub const MIN_DATA_LEN: usize = 3;
/// The keep-alive byte some firmwares send on an idle link (no answer expected).
pub const KEEPALIVE: u8 = 0xFF;

/// Decides where the next frame in `buf` ends; frames longer than `max_frame` bytes are
/// skipped.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let Some(&first) = buf.first() else {
        return Cut::NeedMore;
    };
    if first == KEEPALIVE {
        return Cut::Frame(1);
    }
    if first != 0x00 {
        return resync(buf);
    }
    let Some(&second) = buf.get(1) else {
        return Cut::NeedMore;
    };
    if second != 0 {
        handshake(buf, second as usize, max_frame)
    } else {
        avl_packet(buf, max_frame)
    }
}

/// `00 nn` + nn ASCII digits.
fn handshake(buf: &[u8], imei_len: usize, max_frame: usize) -> Cut {
    let total = 2 + imei_len;
    if imei_len > MAX_IMEI_LEN || total > max_frame {
        return resync(buf);
    }
    let have = buf.len().min(total);
    if !buf[2..have].iter().all(u8::is_ascii_digit) {
        return resync(buf);
    }
    if buf.len() < total {
        return Cut::NeedMore;
    }
    Cut::Frame(total)
}

/// `00 00 00 00 | len u32 | len bytes | CRC u32`.
fn avl_packet(buf: &[u8], max_frame: usize) -> Cut {
    let have = buf.len().min(4);
    if buf[2..have].iter().any(|&b| b != 0) {
        return resync(buf);
    }
    if buf.len() < HEADER_LEN {
        return Cut::NeedMore;
    }
    let data_len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    if data_len < MIN_DATA_LEN {
        return resync(buf);
    }
    let total = data_len.saturating_add(HEADER_LEN + CRC_LEN);
    if total > max_frame {
        // The header is certainly not the start of a frame we will take; drop it and let the
        // next call scan the (unbuffered) body as garbage rather than wait for it.
        return Cut::Skip(HEADER_LEN);
    }
    if buf.len() < total {
        return Cut::NeedMore;
    }
    Cut::Frame(total)
}

/// Drops bytes up to the next possible frame start (`00` or `FF`) after the first byte.
fn resync(buf: &[u8]) -> Cut {
    let n = buf
        .iter()
        .skip(1)
        .position(|&b| b == 0x00 || b == KEEPALIVE)
        .map_or(buf.len(), |i| i + 1);
    Cut::Skip(n)
}
