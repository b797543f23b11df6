//! TCP framer: `header u8 | length u16 LE | body | CRC u16 LE`, or an Iridium SBD message.
//!
//! The header byte tells the packets apart: `0x01` main packet, `0x07` photo part, `0x08`
//! compressed packet. A main packet whose bytes 3..6 are `01 00 1C` is instead an Iridium SBD
//! (DirectIP) message relayed by the satellite gateway: `01 | length u16 BE | IEs…`, no CRC.
//! The top bit of the Galileosky length is the archive flag, not part of the length. Anything
//! else is garbage, skipped up to the next byte that can start a packet. Checks run on the
//! buffered bytes alone, so garbage never makes the framer wait for a body it claims.

use crate::protocol::wire::Cut;

/// Main packet (head or data), the only kind that carries the IMEI.
pub const MAIN: u8 = 0x01;
/// Photo part.
pub const PHOTO: u8 = 0x07;
/// Compressed packet (minimal data set + tag list).
pub const COMPRESSED: u8 = 0x08;
/// Header byte + length.
pub const HEADER_LEN: usize = 3;
/// The CRC after the body.
pub const CRC_LEN: usize = 2;
/// The bit of the length field that marks archive (backlog) records.
pub const ARCHIVE_BIT: u16 = 0x8000;
/// Bytes 3..6 of an Iridium SBD message: the MO header IE (id 1, length 28).
pub const IRIDIUM_MO_HEADER: [u8; 3] = [0x01, 0x00, 0x1c];

/// Whether `buf` (at least 6 bytes) starts an Iridium SBD message rather than a main packet.
pub fn is_iridium(buf: &[u8]) -> bool {
    buf.first() == Some(&MAIN) && buf.get(3..6) == Some(&IRIDIUM_MO_HEADER[..])
}

/// Decides where the next frame in `buf` ends; frames longer than `max_frame` are skipped.
pub fn cut(buf: &[u8], max_frame: usize) -> Cut {
    let Some(&first) = buf.first() else {
        return Cut::NeedMore;
    };
    if ![MAIN, PHOTO, COMPRESSED].contains(&first) {
        return resync(buf);
    }
    if buf.len() < HEADER_LEN {
        return Cut::NeedMore;
    }
    if buf[1] == 0 && buf[2] & 0x7f == 0 {
        // Zero length (either byte order): no packet is empty.
        return resync(buf);
    }
    let total = if first == MAIN && buf.len() < 6 {
        // Cannot tell an Iridium message from a main packet yet.
        return Cut::NeedMore;
    } else if is_iridium(buf) {
        HEADER_LEN + u16::from_be_bytes([buf[1], buf[2]]) as usize
    } else {
        let len = u16::from_le_bytes([buf[1], buf[2]]) & !ARCHIVE_BIT;
        HEADER_LEN + len as usize + CRC_LEN
    };
    Cut::declared(buf, total, 0, max_frame)
}

/// Drops bytes up to the next possible packet start after the first byte.
fn resync(buf: &[u8]) -> Cut {
    let n = buf
        .iter()
        .skip(1)
        .position(|b| [MAIN, PHOTO, COMPRESSED].contains(b))
        .map_or(buf.len(), |i| i + 1);
    Cut::Skip(n)
}
