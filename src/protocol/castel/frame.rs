//! TCP framer: `@@ | len u16 LE | …` (SC and CC series) or `$$ | len u16 LE | …` (MPIP
//! series), where `len` counts the whole frame through its `\r\n`. Bytes before a marker are
//! skipped; a length too short for the fixed fields, or above `max_frame`, drops the first
//! byte and resyncs.

use crate::protocol::wire::Cut;

/// Marker, length, id[20], type, CRC, `\r\n` (no version byte): the least a frame holds.
pub const MIN_FRAME: usize = 2 + 2 + 20 + 2 + 2 + 2;

/// Decides where the next frame in `buf` ends.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    match buf {
        [] | [b'@'] | [b'$'] => Cut::NeedMore,
        [b'@', b'@', ..] | [b'$', b'$', ..] => match buf.get(2..4) {
            None => Cut::NeedMore,
            Some(len) => {
                let total = usize::from(u16::from_le_bytes([len[0], len[1]]));
                Cut::declared(buf, total, MIN_FRAME, max_frame)
            }
        },
        _ => Cut::skip_to_marker(buf, b"@$"),
    }
}
