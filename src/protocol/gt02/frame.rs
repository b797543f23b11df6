//! GT02 framer: `68 68`, a one-byte size, then `size` bytes and `0D 0A` — cut by the size
//! (5 bytes more than it says). Bytes before `68 68` are skipped; a size too small for the
//! fixed fields, or a frame over `max_frame`, is a false start (one byte dropped, resync on
//! the next `68`).

use super::super::wire::Cut;

/// Power, GSM, IMEI, index and type: the least a size can cover.
const MIN_SIZE: usize = 13;

/// Decides where the next frame in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    match buf {
        [] | [0x68] => Cut::NeedMore,
        [0x68, 0x68] => Cut::NeedMore,
        [0x68, 0x68, size, ..] => {
            Cut::declared(buf, usize::from(*size) + 5, MIN_SIZE + 5, max_frame)
        }
        _ => Cut::skip_to_marker(buf, &[0x68]),
    }
}
