//! Totem framer: a frame starts with `$$` and its header says how long it is, `$$` included:
//! four decimal digits when the third byte is `0` (new generation), otherwise two hex
//! digits. Bytes before `$$` (the CR LF some firmwares send after a frame) are skipped; a
//! length that is not digits, shorter than the header or longer than `max_frame` is a false
//! start (one byte dropped, resync on the next `$`).

use super::super::wire::Cut;

/// Shortest possible frame: `$$`, the length, a type or an IMEI digit, a checksum.
const MIN_FRAME: usize = 10;

/// Decides where the next frame in `buf` ends.
pub(super) fn cut(buf: &[u8], max_frame: usize) -> Cut {
    match buf {
        [] | [b'$'] | [b'$', b'$', ..] => {}
        _ => return Cut::skip_to_marker(buf, b"$"),
    }
    let digits = if buf.get(2) == Some(&b'0') { 4 } else { 2 };
    let Some(field) = buf.get(2..2 + digits) else {
        return Cut::NeedMore;
    };
    let text = std::str::from_utf8(field).unwrap_or("");
    let total = if digits == 4 {
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<usize>().ok())
            .flatten()
    } else {
        text.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| usize::from_str_radix(text, 16).ok())
            .flatten()
    };
    match total {
        Some(total) => Cut::declared(buf, total, MIN_FRAME, max_frame),
        None => Cut::Skip(1),
    }
}
