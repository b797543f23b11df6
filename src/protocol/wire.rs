//! Framing decisions, bounded reads, BCD, checksums and units: the helpers every protocol
//! shares.
//!
//! Every read checks the remaining length first and reports the offset it failed at, so a
//! truncated or lying frame becomes a [`WireError`] naming the field, never a panic. Every
//! framer is a pure function from the buffered bytes to a [`Cut`]; [`Cut::apply`] is the one
//! place that changes the connection buffer.

use super::FrameResult;
use bytes::{Buf, BytesMut};
use crc::{Crc, CRC_16_ARC, CRC_16_IBM_SDLC};

/// One knot in km/h (exact by definition). Coban, H02 and the OsmAnd query speak knots.
pub const KNOT_KMH: f64 = 1.852;

/// What a framer decided about the front of the connection buffer, as lengths. A framer
/// computes it from `&[u8]` without changing anything, which keeps it a pure function that
/// tests and fuzzers can call on any slice; [`Cut::apply`] then carries it out.
///
/// There is no fatal variant: no framer here ever gives up on a stream (garbage is skipped
/// and the framer resyncs). A protocol that needs one returns [`FrameResult::Fatal`] from
/// its own `frame`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Wait for more bytes; nothing is consumed.
    NeedMore,
    /// The first `n` bytes are one frame.
    Frame(usize),
    /// The first `n` bytes are one frame and the `t` bytes after them its terminator, which
    /// the decoder does not need (Queclink's `$`, Suntech's `\r`): `n + t` bytes are consumed,
    /// the frame comes out without them.
    FrameAndTerminator(usize, usize),
    /// Drop the first `n` bytes (garbage, an oversized frame, or its start marker), `n > 0`.
    Skip(usize),
}

impl Cut {
    /// Carries the decision out on the connection buffer: cuts the frame off (no copy: the
    /// frame shares `buf`'s allocation) or drops the skipped bytes. Always inlined: it runs
    /// once per frame and the decision is usually known at the call site.
    #[inline(always)]
    pub fn apply(self, buf: &mut BytesMut) -> FrameResult {
        match self {
            Cut::NeedMore => FrameResult::NeedMore,
            Cut::Frame(n) => FrameResult::Frame(buf.split_to(n).freeze()),
            Cut::FrameAndTerminator(n, t) => {
                let frame = buf.split_to(n).freeze();
                buf.advance(t);
                FrameResult::Frame(frame)
            }
            Cut::Skip(n) => {
                buf.advance(n);
                FrameResult::Skipped(n)
            }
        }
    }

    /// Bytes this decision consumes from the buffer (0 for [`Cut::NeedMore`]).
    pub fn consumed(self) -> usize {
        match self {
            Cut::NeedMore => 0,
            Cut::Frame(n) | Cut::Skip(n) => n,
            Cut::FrameAndTerminator(n, t) => n + t,
        }
    }

    /// A frame whose header says it is `total` bytes long: the frame once all of it is
    /// buffered, otherwise wait.
    pub fn whole(buf: &[u8], total: usize) -> Cut {
        if buf.len() < total {
            Cut::NeedMore
        } else {
            Cut::Frame(total)
        }
    }

    /// Like [`Cut::whole`], but a declared length shorter than the frame's fixed fields
    /// (`min`) or longer than `max_frame` is a false start: the first byte is dropped and the
    /// framer resyncs on the next marker.
    pub fn declared(buf: &[u8], total: usize, min: usize, max_frame: usize) -> Cut {
        if total < min || total > max_frame {
            Cut::Skip(1)
        } else {
            Cut::whole(buf, total)
        }
    }

    /// Garbage before a frame: drops everything up to the next byte (after the first) that
    /// is one of `markers`, or the whole buffer when none is.
    pub fn skip_to_marker(buf: &[u8], markers: &[u8]) -> Cut {
        let n = buf
            .iter()
            .skip(1)
            .position(|b| markers.contains(b))
            .map_or(buf.len(), |i| i + 1);
        Cut::Skip(n)
    }

    /// Line framers: CR and LF at the front are the ends of empty lines, skipped; `None`
    /// when the buffer starts with something else.
    pub fn skip_line_breaks(buf: &[u8]) -> Option<Cut> {
        match buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count()
        {
            0 => None,
            lead => Some(Cut::Skip(lead)),
        }
    }

    /// Everything buffered is garbage (message protocols reached through a stream listener):
    /// skip it all, or wait when nothing is buffered.
    pub fn skip_all(buf: &[u8]) -> Cut {
        match buf.len() {
            0 => Cut::NeedMore,
            n => Cut::Skip(n),
        }
    }
}

/// CRC-16/X-25 (a.k.a. CRC-ITU, `CRC_16_IBM_SDLC` in the `crc` crate): GT06.
pub const X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);
/// CRC-16/ARC (a.k.a. CRC-16/IBM): Teltonika.
pub const ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);

/// CRC-16/X-25 of `data`.
pub fn crc16_x25(data: &[u8]) -> u16 {
    X25.checksum(data)
}

/// CRC-16/ARC of `data`.
pub fn crc16_arc(data: &[u8]) -> u16 {
    ARC.checksum(data)
}

/// XOR of every byte (JT/T 808 check code).
pub fn xor(data: &[u8]) -> u8 {
    data.iter().fold(0, |a, b| a ^ b)
}

/// A read ran past the end of the frame, or a field holds an impossible value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated at byte {offset}: {field} needs {need} bytes, {have} left")]
    Truncated {
        offset: usize,
        field: &'static str,
        need: usize,
        have: usize,
    },
    #[error("bad {field} at byte {offset}: {detail}")]
    Bad {
        offset: usize,
        field: &'static str,
        detail: String,
    },
}

/// A big-endian cursor over one frame that never reads past its end.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current offset from the start of the buffer.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Reads `n` bytes for `field`.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated {
                offset: self.pos,
                field,
                need: n,
                have: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Skips `n` bytes of `field`.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), WireError> {
        self.bytes(n, field).map(|_| ())
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let s = self.bytes(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    pub fn u24(&mut self, field: &'static str) -> Result<u32, WireError> {
        let a = self.array::<3>(field)?;
        Ok(u32::from_be_bytes([0, a[0], a[1], a[2]]))
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    pub fn i16(&mut self, field: &'static str) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }
    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }
    pub fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// An error for `field` at the current offset.
    pub fn bad(&self, field: &'static str, detail: impl Into<String>) -> WireError {
        WireError::Bad {
            offset: self.pos,
            field,
            detail: detail.into(),
        }
    }
}

/// Decodes packed BCD into its decimal digits (`[0x08, 0x64]` → `"0864"`); `None` if a nibble
/// is above 9.
pub fn bcd_digits(bytes: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0f);
        if hi > 9 || lo > 9 {
            return None;
        }
        s.push((b'0' + hi) as char);
        s.push((b'0' + lo) as char);
    }
    Some(s)
}

/// The value of one BCD byte (`0x59` → 59); `None` if not BCD.
pub fn bcd_byte(b: u8) -> Option<u8> {
    let (hi, lo) = (b >> 4, b & 0x0f);
    (hi <= 9 && lo <= 9).then_some(hi * 10 + lo)
}

/// Encodes decimal digits as packed BCD, left-padding with a `0` digit when the count is odd.
pub fn digits_to_bcd(digits: &str) -> Option<Vec<u8>> {
    let mut d: Vec<u8> = Vec::with_capacity(digits.len() + 1);
    if digits.len() % 2 == 1 {
        d.push(0);
    }
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        d.push(c - b'0');
    }
    Some(d.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// Builds a UTC time from calendar fields, `None` if they are not a real date/time.
pub fn utc(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(year, month, day, hour, min, sec)
        .single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_values() {
        assert_eq!(crc16_x25(b"123456789"), 0x906E);
        assert_eq!(crc16_arc(b"123456789"), 0xBB3D);
    }

    #[test]
    fn reader_reports_field_and_offset() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        let e = r.u16("serial").unwrap_err();
        assert_eq!(
            e,
            WireError::Truncated {
                offset: 2,
                field: "serial",
                need: 2,
                have: 1
            }
        );
        assert!(e.to_string().contains("serial"));
    }

    #[test]
    fn declared_lengths_wait_cut_or_resync() {
        let buf = [0u8; 10];
        assert_eq!(Cut::whole(&buf, 11), Cut::NeedMore);
        assert_eq!(Cut::whole(&buf, 10), Cut::Frame(10));
        assert_eq!(Cut::declared(&buf, 4, 5, 100), Cut::Skip(1));
        assert_eq!(Cut::declared(&buf, 101, 5, 100), Cut::Skip(1));
        assert_eq!(Cut::declared(&buf, 8, 5, 100), Cut::Frame(8));
        assert_eq!(Cut::declared(&buf, 12, 5, 100), Cut::NeedMore);
    }

    #[test]
    fn garbage_and_empty_lines_are_skipped() {
        assert_eq!(Cut::skip_to_marker(b"xx$y@", b"@$"), Cut::Skip(2));
        assert_eq!(Cut::skip_to_marker(b"@x@", b"@"), Cut::Skip(2));
        assert_eq!(Cut::skip_to_marker(b"xyz", b"@"), Cut::Skip(3));
        assert_eq!(Cut::skip_line_breaks(b"\r\n\nA"), Some(Cut::Skip(3)));
        assert_eq!(Cut::skip_line_breaks(b"A\r\n"), None);
        assert_eq!(Cut::skip_line_breaks(b""), None);
    }

    #[test]
    fn bcd_round_trip() {
        assert_eq!(bcd_digits(&[0x08, 0x64, 0x71]).unwrap(), "086471");
        assert_eq!(bcd_digits(&[0x1a]), None);
        assert_eq!(digits_to_bcd("12345").unwrap(), vec![0x01, 0x23, 0x45]);
        assert_eq!(bcd_byte(0x59), Some(59));
    }
}
