//! TCP framer: `gg | type u8 | len u16 | len bytes` packets, and `EL | len u16 | …` wrapped
//! ones (the UDP form, which some units also send over TCP). Bytes before a marker are
//! skipped; a length too short for the sequence number, or a frame above `max_frame`, drops
//! the first byte and resyncs.

use crate::protocol::wire::Cut;

/// `gg` packet header: marker, type, length.
pub const PACKET_HEADER: usize = 5;
/// `EL` header: marker, length, checksum, IMEI[8].
pub const EL_HEADER: usize = 14;

/// Decides where the next frame in `buf` ends.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let (fixed, min_len) = match buf {
        [] | [b'g'] | [b'E'] => return Cut::NeedMore,
        [b'g', b'g', ..] => (PACKET_HEADER, 2),
        [b'E', b'L', ..] => (4, EL_HEADER - 4 + PACKET_HEADER + 2),
        _ => {
            let n = buf
                .iter()
                .skip(1)
                .position(|&b| b == b'g' || b == b'E')
                .map_or(buf.len(), |i| i + 1);
            return Cut::Skip(n);
        }
    };
    let at = fixed - 2;
    if buf.len() < fixed {
        return Cut::NeedMore;
    }
    let len = usize::from(u16::from_be_bytes([buf[at], buf[at + 1]]));
    let total = fixed + len;
    if len < min_len {
        return Cut::Skip(1);
    }
    Cut::declared(buf, total, 0, max_frame)
}
