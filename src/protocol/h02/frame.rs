//! H02 framer: text `*…#` and fixed-length binary `$…` / `X…` frames on one TCP stream.
//!
//! Text frames end at the first `#`; CR/LF right after it (already received) belong to the
//! frame. Binary frames have no length field and no terminator, so their length is a property
//! of the device: `message_length` when configured, else guessed per frame until confirmed:
//! 32, 42 or 45 bytes, whichever is followed by the start of the next frame (`$`, `*`, `X`);
//! such a boundary confirms the length and it is kept for the connection. Without a boundary,
//! a buffer of exactly 32 or 45 bytes is taken as one frame of that length (a device that sends
//! one frame and waits; Traccar's rule), and more than 45 bytes without a boundary as 32
//! (Traccar's default); neither is kept. Known limit: a 45-byte frame whose first 32 bytes
//! arrive alone is cut at 32 (the rest is then skipped as garbage) until the length has been
//! confirmed once; set `message_length = 45` for such fleets.

use super::super::wire::Cut;
use super::{BINARY_LONG, BINARY_LONG_ID, BINARY_SHORT};

fn is_start(b: u8) -> bool {
    matches!(b, b'*' | b'$' | b'X')
}

/// Binary length for the frame at the front of `buf`, and whether a following frame start
/// confirmed it; `None` = wait for more bytes.
fn detect_binary_len(buf: &[u8]) -> Option<(usize, bool)> {
    let n = buf.len();
    for l in [BINARY_SHORT, BINARY_LONG_ID, BINARY_LONG] {
        if buf.get(l).is_some_and(|&b| is_start(b)) {
            return Some((l, true));
        }
    }
    match n {
        BINARY_SHORT | BINARY_LONG => Some((n, false)),
        n if n > BINARY_LONG => Some((BINARY_SHORT, false)),
        _ => None,
    }
}

/// Decides where the next frame in `buf` ends. Never keeps more than `max_frame` bytes
/// waiting for a `#`: the `*` is then dropped and the next call resyncs on the following
/// start byte. A binary length confirmed by the frame after it is stored in `binary_len`.
pub(super) fn cut(buf: &[u8], max_frame: usize, binary_len: &mut Option<usize>) -> Cut {
    let Some(start) = buf.iter().position(|&b| is_start(b)) else {
        return Cut::skip_all(buf);
    };
    if start > 0 {
        return Cut::Skip(start);
    }
    let len = match buf[0] {
        b'*' => {
            let limit = buf.len().min(max_frame.max(2));
            match buf[..limit].iter().position(|&b| b == b'#') {
                Some(i) => {
                    let mut end = i + 1;
                    while end < buf.len() && matches!(buf[end], b'\r' | b'\n') {
                        end += 1;
                    }
                    end
                }
                None if buf.len() >= max_frame => return Cut::Skip(1),
                None => return Cut::NeedMore,
            }
        }
        b'$' => {
            let l = match *binary_len {
                Some(l) => l,
                None => match detect_binary_len(buf) {
                    Some((l, confirmed)) => {
                        if confirmed {
                            *binary_len = Some(l);
                        }
                        l
                    }
                    None => return Cut::NeedMore,
                },
            };
            if l > max_frame {
                return Cut::Skip(1);
            }
            l
        }
        _ => BINARY_SHORT,
    };
    if buf.len() < len {
        return Cut::NeedMore;
    }
    Cut::Frame(len)
}
