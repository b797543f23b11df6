//! TCP framer: `len u16 | len bytes | CRC u16`.
//!
//! Ruptela frames have no start marker, so a declared length that cannot be a frame (shorter
//! than IMEI + command, or above `max_frame`) is taken as garbage: one byte is dropped and the
//! next byte is tried as a length. Checks run on the two length bytes alone, so garbage never
//! makes the framer wait for a body it claims.

use crate::protocol::wire::Cut;

/// The u16 length prefix.
pub const LEN_FIELD: usize = 2;
/// The u16 CRC after the body.
pub const CRC_LEN: usize = 2;
/// Smallest body a device frame can declare: IMEI u64 + command byte.
pub const MIN_BODY: usize = 9;

/// Decides where the next frame in `buf` ends; frames longer than `max_frame` bytes are
/// skipped.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    if buf.len() < LEN_FIELD {
        return Cut::NeedMore;
    }
    let body = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    let total = LEN_FIELD + body + CRC_LEN;
    if body < MIN_BODY {
        return Cut::Skip(1);
    }
    Cut::declared(buf, total, 0, max_frame)
}
