//! TCP framer: `$$ | len u16 | …` where `len` counts the whole frame (header to `\r\n`).
//! Some firmwares send their OBD frames with the `@@` marker, so both start a frame.
//! Anything before a marker is skipped; a length that cannot hold the fixed fields, or above
//! `max_frame`, drops the `$` and resyncs.

use crate::protocol::wire::Cut;

/// `$$`, length, id, command.
pub const HEADER_LEN: usize = 13;
/// CRC and `\r\n`.
pub const TRAILER_LEN: usize = 4;

/// Decides where the next frame in `buf` ends.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    match buf {
        [] => Cut::NeedMore,
        [b'$' | b'@'] => Cut::NeedMore,
        [b'$', b'$', ..] | [b'@', b'@', ..] => match buf.get(2..4) {
            None => Cut::NeedMore,
            Some(len) => {
                let total = usize::from(u16::from_be_bytes([len[0], len[1]]));
                Cut::declared(buf, total, HEADER_LEN + TRAILER_LEN, max_frame)
            }
        },
        _ => Cut::skip_to_marker(buf, b"$@"),
    }
}
