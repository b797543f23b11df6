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
        [b'$', b'$', ..] | [b'@', b'@', ..] => {
            if buf.len() < 4 {
                return Cut::NeedMore;
            }
            let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            if total < HEADER_LEN + TRAILER_LEN || total > max_frame {
                return Cut::Skip(1);
            }
            if buf.len() < total {
                Cut::NeedMore
            } else {
                Cut::Frame(total)
            }
        }
        _ => {
            let n = buf
                .iter()
                .skip(1)
                .position(|&b| b == b'$' || b == b'@')
                .map_or(buf.len(), |i| i + 1);
            Cut::Skip(n)
        }
    }
}
