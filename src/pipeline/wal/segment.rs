//! Segment files: naming, listing, the recovery scan of the tail, and the deletion plan.
//!
//! A segment is `<first_offset:020>.wal`, a plain sequence of frames (see `format`). Only the
//! last segment is ever written; a segment is fsynced before the next one is created, so on
//! open only the last one can hold a torn or corrupt tail and only it is scanned in full.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use super::error::WalError;
use super::format::{self, FrameHeader, HEADER_LEN};

/// File-name suffix of segments (anything else in the directory is ignored).
pub(crate) const SEGMENT_SUFFIX: &str = ".wal";

/// What the log knows about one segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    /// Offset of its first record (from the file name).
    pub first_offset: u64,
    /// Bytes of valid frames in it.
    pub bytes: u64,
    /// Upper bound of the receive time of its newest record (unix ms; 0 if empty). Exact for
    /// segments sealed by this process; on open, a sealed segment takes the first timestamp of
    /// the next one, which can only make retention keep it a little longer.
    pub newest_ts: u64,
}

/// Path of the segment starting at `first_offset`.
pub(crate) fn segment_path(dir: &Path, first_offset: u64) -> PathBuf {
    dir.join(format!("{first_offset:020}{SEGMENT_SUFFIX}"))
}

/// Segment start offsets found in `dir`, ascending.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let rd = std::fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(first) = stem.parse::<u64>() {
                out.push(first);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Read exactly `buf.len()` bytes; `Ok(false)` on a clean or partial end of file.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Receive time of the first frame of a segment, if it has a readable one.
pub(crate) fn first_timestamp(path: &Path) -> Result<Option<u64>, WalError> {
    let mut f = File::open(path).map_err(|e| WalError::io("open segment", path, e))?;
    let mut h = [0u8; HEADER_LEN];
    let whole = read_full(&mut f, &mut h).map_err(|e| WalError::io("read segment", path, e))?;
    if !whole {
        return Ok(None);
    }
    Ok(format::decode_header(&h).ok().map(|hd| hd.timestamp_ms))
}

/// Result of scanning the last segment on open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailScan {
    /// Bytes of valid frames; the file is truncated to this.
    pub valid_len: u64,
    /// Offset after the last valid record (the file's first offset if it has none).
    pub next_offset: u64,
    /// Receive time of the first and newest valid frames (0 if none).
    pub first_ts: u64,
    pub newest_ts: u64,
    /// Bytes after `valid_len` that were dropped, and why (None if the tail was clean).
    pub dropped: Option<(u64, &'static str)>,
}

/// Scan every frame of `path`, verifying checksums and offset continuity, and stop at the
/// first frame that is torn (file ends inside it) or corrupt. Reads at most one frame body
/// into memory at a time, and never more than the file still holds.
pub(crate) fn scan_tail(path: &Path, first_offset: u64) -> Result<TailScan, WalError> {
    let file = File::open(path).map_err(|e| WalError::io("open segment", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| WalError::io("stat segment", path, e))?
        .len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut scan = TailScan {
        valid_len: 0,
        next_offset: first_offset,
        first_ts: 0,
        newest_ts: 0,
        dropped: None,
    };
    let mut body = Vec::new();
    let fault = loop {
        if scan.valid_len == file_len {
            break None;
        }
        let mut h = [0u8; HEADER_LEN];
        if !read_full(&mut r, &mut h).map_err(|e| WalError::io("read segment", path, e))? {
            break Some("torn frame header");
        }
        let header: FrameHeader = match format::decode_header(&h) {
            Ok(hd) => hd,
            Err(f) => break Some(f.reason()),
        };
        if header.first_offset != scan.next_offset {
            break Some("frame offset breaks the sequence");
        }
        if scan.valid_len + header.frame_len() > file_len {
            break Some("torn frame body");
        }
        body.resize(header.body_len as usize, 0);
        if !read_full(&mut r, &mut body).map_err(|e| WalError::io("read segment", path, e))? {
            break Some("torn frame body");
        }
        if let Err(f) = format::verify(&h, &header, &body) {
            break Some(f.reason());
        }
        if scan.valid_len == 0 {
            scan.first_ts = header.timestamp_ms;
        }
        scan.newest_ts = scan.newest_ts.max(header.timestamp_ms);
        scan.valid_len += header.frame_len();
        scan.next_offset = header.end_offset();
    };
    if let Some(reason) = fault {
        scan.dropped = Some((file_len - scan.valid_len, reason));
    }
    Ok(scan)
}

/// Inputs of one deletion decision, all in memory so the rule is testable without files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GcInput {
    /// Lowest committed offset over registered consumers; `None` when none is registered.
    pub consumers_min: Option<u64>,
    /// Current time, unix ms (injected).
    pub now_ms: u64,
    /// `WalOptions::retention` in ms.
    pub retention_ms: u64,
    /// Bytes held by all segments.
    pub total_bytes: u64,
    /// `WalOptions::max_total_bytes`.
    pub cap_bytes: u64,
    /// Bytes the caller is about to write (0 for a periodic sweep).
    pub needed_bytes: u64,
}

/// How many of the oldest segments may be deleted. `segs` is ascending and its last entry is
/// the active segment, which is never deleted. Deletion is a contiguous prefix so the log
/// stays one range of offsets. A sealed segment goes when it is consumed (every consumer
/// committed past its last record; vacuously true with no consumer) and either older than
/// retention or needed to make room under the cap.
pub(crate) fn plan_gc(segs: &[SegmentMeta], input: GcInput) -> usize {
    let mut total = input.total_bytes;
    let mut n = 0;
    for pair in segs.windows(2) {
        let (seg, next) = (&pair[0], &pair[1]);
        let consumed = match input.consumers_min {
            None => true,
            Some(m) => m >= next.first_offset,
        };
        let expired = seg.newest_ts.saturating_add(input.retention_ms) <= input.now_ms;
        let over_cap = total.saturating_add(input.needed_bytes) > input.cap_bytes;
        if !(consumed && (expired || over_cap)) {
            break;
        }
        total = total.saturating_sub(seg.bytes);
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(first: u64, bytes: u64, ts: u64) -> SegmentMeta {
        SegmentMeta {
            first_offset: first,
            bytes,
            newest_ts: ts,
        }
    }

    fn input(min: Option<u64>, now: u64, total: u64, needed: u64) -> GcInput {
        GcInput {
            consumers_min: min,
            now_ms: now,
            retention_ms: 1_000,
            total_bytes: total,
            cap_bytes: 300,
            needed_bytes: needed,
        }
    }

    #[test]
    fn retention_without_consumers() {
        let segs = [seg(0, 100, 1_000), seg(10, 100, 2_000), seg(20, 50, 3_000)];
        assert_eq!(plan_gc(&segs, input(None, 1_999, 250, 0)), 0);
        assert_eq!(plan_gc(&segs, input(None, 2_000, 250, 0)), 1);
        // The active segment is never deleted, however old.
        assert_eq!(plan_gc(&segs, input(None, 99_000, 250, 0)), 2);
    }

    #[test]
    fn consumers_pin_segments_even_when_expired() {
        let segs = [seg(0, 100, 1_000), seg(10, 100, 2_000), seg(20, 50, 3_000)];
        assert_eq!(plan_gc(&segs, input(Some(9), 99_000, 250, 0)), 0);
        assert_eq!(plan_gc(&segs, input(Some(10), 99_000, 250, 0)), 1);
        assert_eq!(plan_gc(&segs, input(Some(25), 99_000, 250, 0)), 2);
    }

    #[test]
    fn cap_pressure_deletes_consumed_segments_early() {
        let segs = [seg(0, 100, 1_000), seg(10, 100, 2_000), seg(20, 50, 3_000)];
        // Not expired (now = 1_500), consumed, and 250 + 100 > 300: the first must go.
        assert_eq!(plan_gc(&segs, input(Some(20), 1_500, 250, 100)), 1);
        // Needs both sealed segments gone: 250 - 100 + 160 > 300.
        assert_eq!(plan_gc(&segs, input(Some(20), 1_500, 250, 160)), 2);
        // Not consumed: pressure alone deletes nothing.
        assert_eq!(plan_gc(&segs, input(Some(5), 1_500, 250, 160)), 0);
    }
}
