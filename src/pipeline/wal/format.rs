//! On-disk frame format (pure: bytes in, bytes out; no files here).
//!
//! One append = one frame, so a batch is atomic: its single checksum covers every record in
//! it, and recovery keeps or drops the frame whole. Little-endian throughout.
//!
//! ```text
//! offset size field
//!  0     4    magic "TGW1" (format version 1)
//!  4     4    body_len: bytes after this 32-byte header
//!  8     4    crc: CRC-32C (iSCSI) over header bytes 4..8, then 12..32, then the body
//! 12     4    count: records in the frame (>= 1)
//! 16     8    first_offset: sequence number of the first record
//! 24     8    timestamp_ms: receive time, unix milliseconds (same for the whole batch)
//! 32     ..   body: count x (len u32, len bytes)
//! ```

use bytes::Bytes;
use crc::{Crc, Table, CRC_32_ISCSI};

/// Frame magic, also the format version: a future layout gets a new magic.
pub(crate) const MAGIC: [u8; 4] = *b"TGW1";
/// Fixed frame header size in bytes.
pub(crate) const HEADER_LEN: usize = 32;
/// Per-record length prefix inside the body.
pub(crate) const RECORD_PREFIX_LEN: usize = 4;

/// Slice-by-16 tables (16 KiB): every record is checksummed once when written and once per
/// consumer when read back, and the byte-at-a-time table made that a visible share of the
/// gateway's CPU under load.
const CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// Decoded fixed header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub body_len: u32,
    pub crc: u32,
    pub count: u32,
    pub first_offset: u64,
    pub timestamp_ms: u64,
}

impl FrameHeader {
    /// Total frame size on disk (header + body).
    pub fn frame_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.body_len)
    }

    /// Offset one past the last record of the frame.
    pub fn end_offset(&self) -> u64 {
        self.first_offset.saturating_add(u64::from(self.count))
    }
}

/// Why a header or body was rejected; recovery treats all of these as "tail ends here".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameFault {
    BadMagic,
    ZeroCount,
    BadChecksum,
    BadBody,
}

impl FrameFault {
    /// Short reason for logs and `WalError::Corrupt`.
    pub fn reason(self) -> &'static str {
        match self {
            FrameFault::BadMagic => "bad frame magic",
            FrameFault::ZeroCount => "frame with zero records",
            FrameFault::BadChecksum => "checksum mismatch",
            FrameFault::BadBody => "record lengths do not match the frame body",
        }
    }
}

/// Size of the body needed for `records` (without the header).
pub(crate) fn body_len(records: &[Bytes]) -> u64 {
    records
        .iter()
        .map(|r| RECORD_PREFIX_LEN as u64 + r.len() as u64)
        .sum()
}

/// Append one encoded frame to `out`. The caller has checked that the body fits in `u32`
/// (the writer rejects larger batches before getting here).
pub(crate) fn encode_frame(
    out: &mut Vec<u8>,
    first_offset: u64,
    timestamp_ms: u64,
    records: &[Bytes],
) {
    let body = body_len(records);
    let body_u32 = u32::try_from(body).unwrap_or(u32::MAX);
    let count = u32::try_from(records.len()).unwrap_or(u32::MAX);
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body_u32.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // crc, patched below
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&first_offset.to_le_bytes());
    out.extend_from_slice(&timestamp_ms.to_le_bytes());
    for r in records {
        let len = u32::try_from(r.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(r);
    }
    let mut d = CRC32C.digest();
    d.update(&out[start + 4..start + 8]);
    d.update(&out[start + 12..]);
    let crc = d.finalize();
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Parse the fixed header. The checksum is verified later, with the body.
pub(crate) fn decode_header(h: &[u8; HEADER_LEN]) -> Result<FrameHeader, FrameFault> {
    if h[0..4] != MAGIC {
        return Err(FrameFault::BadMagic);
    }
    let header = FrameHeader {
        body_len: le_u32(&h[4..8]),
        crc: le_u32(&h[8..12]),
        count: le_u32(&h[12..16]),
        first_offset: le_u64(&h[16..24]),
        timestamp_ms: le_u64(&h[24..32]),
    };
    if header.count == 0 {
        return Err(FrameFault::ZeroCount);
    }
    Ok(header)
}

/// Verify the checksum of header + body without splitting the records (recovery scan).
pub(crate) fn verify(
    h: &[u8; HEADER_LEN],
    header: &FrameHeader,
    body: &[u8],
) -> Result<(), FrameFault> {
    let mut d = CRC32C.digest();
    d.update(&h[4..8]);
    d.update(&h[12..]);
    d.update(body);
    if d.finalize() != header.crc {
        return Err(FrameFault::BadChecksum);
    }
    Ok(())
}

/// Verify and split a body into its records (zero-copy slices of `body`).
pub(crate) fn decode_body(
    h: &[u8; HEADER_LEN],
    header: &FrameHeader,
    body: Bytes,
) -> Result<Vec<Bytes>, FrameFault> {
    verify(h, header, &body)?;
    let count = header.count as usize;
    // A count larger than the body can hold is corrupt; also bounds the allocation below.
    if count > body.len() / RECORD_PREFIX_LEN {
        return Err(FrameFault::BadBody);
    }
    let mut records = Vec::with_capacity(count);
    let mut pos = 0usize;
    for _ in 0..count {
        let prefix = body
            .get(pos..pos + RECORD_PREFIX_LEN)
            .ok_or(FrameFault::BadBody)?;
        let len = le_u32(prefix) as usize;
        let start = pos + RECORD_PREFIX_LEN;
        let end = start.checked_add(len).ok_or(FrameFault::BadBody)?;
        if end > body.len() {
            return Err(FrameFault::BadBody);
        }
        records.push(body.slice(start..end));
        pos = end;
    }
    if pos != body.len() {
        return Err(FrameFault::BadBody);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(buf: &[u8]) -> ([u8; HEADER_LEN], Bytes) {
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&buf[..HEADER_LEN]);
        (h, Bytes::copy_from_slice(&buf[HEADER_LEN..]))
    }

    #[test]
    fn crc32c_check_value() {
        // Catalogue check value of CRC-32C: guards against picking the wrong polynomial.
        assert_eq!(CRC32C.checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn golden_frame_layout() {
        let mut buf = Vec::new();
        encode_frame(
            &mut buf,
            7,
            0x0102_0304_0506_0708,
            &[Bytes::from_static(b"ab")],
        );
        assert_eq!(buf.len(), HEADER_LEN + 4 + 2);
        assert_eq!(&buf[0..4], b"TGW1");
        assert_eq!(&buf[4..8], &[6, 0, 0, 0]);
        assert_eq!(&buf[12..16], &[1, 0, 0, 0]);
        assert_eq!(&buf[16..24], &[7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&buf[24..32], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&buf[32..], &[2, 0, 0, 0, b'a', b'b']);
        let mut covered = buf[4..8].to_vec();
        covered.extend_from_slice(&buf[12..]);
        let crc = CRC32C.checksum(&covered);
        assert_eq!(&buf[8..12], &crc.to_le_bytes());
    }

    #[test]
    fn round_trip_and_every_flipped_bit_is_caught() {
        let recs = vec![
            Bytes::from_static(b"hello"),
            Bytes::new(),
            Bytes::from_static(b"xyz"),
        ];
        let mut buf = Vec::new();
        encode_frame(&mut buf, 42, 1_700_000_000_000, &recs);
        let (h, body) = split(&buf);
        let header = decode_header(&h).unwrap();
        assert_eq!(header.first_offset, 42);
        assert_eq!(header.end_offset(), 45);
        assert_eq!(header.frame_len(), buf.len() as u64);
        assert_eq!(decode_body(&h, &header, body).unwrap(), recs);

        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let (h, body) = split(&bad);
            let ok = decode_header(&h).and_then(|hd| decode_body(&h, &hd, body));
            assert!(ok.is_err(), "flip of bit {bit} not detected");
        }
    }
}
