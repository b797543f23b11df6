//! Readers: each sink reads the log from its own offset, seeing only durable records.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;

use super::error::WalError;
use super::format::{self, FrameHeader, HEADER_LEN};
use super::segment::segment_path;
use super::Shared;

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Its sequence number.
    pub offset: u64,
    /// Receive time of its batch, unix ms: lets a replay skip old records without decoding.
    pub timestamp_ms: u64,
    /// The bytes given to `append`.
    pub data: Bytes,
}

/// Records a reader asked for had already been deleted (retention or the size cap); it
/// continued at the oldest stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The offset the reader wanted.
    pub requested: u64,
    /// Where it continued.
    pub resumed_at: u64,
}

/// Open position inside one segment file.
struct Cursor {
    seg_first: u64,
    path: PathBuf,
    file: BufReader<File>,
    /// Byte position of the next frame.
    pos: u64,
    /// File length last seen (the active segment grows, so it is re-read when needed).
    len: u64,
    /// Records of the last frame not handed out yet (a frame can hold more than `max`).
    pending: VecDeque<WalRecord>,
}

/// Everything a blocking read needs, moved into `spawn_blocking` and back.
struct ReadState {
    shared: Arc<Shared>,
    next: u64,
    cursor: Option<Cursor>,
    gap: Option<Gap>,
}

/// Sequential reader from a starting offset. Reading from an offset that was deleted starts
/// at the oldest stored record, logs a warning and reports it through `take_gap`.
pub struct Reader {
    state: Option<ReadState>,
    durable: watch::Receiver<u64>,
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, from: u64) -> Reader {
        let durable = shared.durable.subscribe();
        Reader {
            state: Some(ReadState {
                shared,
                next: from,
                cursor: None,
                gap: None,
            }),
            durable,
        }
    }

    /// Offset of the next record this reader will return.
    pub fn position(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.next)
    }

    /// The most recent skip over deleted records, if any (cleared by this call).
    pub fn take_gap(&mut self) -> Option<Gap> {
        self.state.as_mut().and_then(|s| s.gap.take())
    }

    /// Up to `max` records, waiting until at least one durable record is available.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<WalRecord>, WalError> {
        loop {
            let end = *self.durable.borrow_and_update();
            if self.position() < end {
                let out = self.read(max, end).await?;
                if !out.is_empty() {
                    return Ok(out);
                }
            }
            self.durable.changed().await.map_err(|_| WalError::Closed)?;
        }
    }

    /// Up to `max` records already durable; empty if there are none (does not wait).
    pub async fn try_next_batch(&mut self, max: usize) -> Result<Vec<WalRecord>, WalError> {
        let end = *self.durable.borrow_and_update();
        if self.position() >= end {
            return Ok(Vec::new());
        }
        self.read(max, end).await
    }

    async fn read(&mut self, max: usize, end: u64) -> Result<Vec<WalRecord>, WalError> {
        let mut st = self.state.take().ok_or(WalError::Closed)?;
        let (st, res) = tokio::task::spawn_blocking(move || {
            let res = st.read_blocking(max.max(1), end);
            (st, res)
        })
        .await
        .map_err(|_| WalError::Closed)?;
        self.state = Some(st);
        res
    }
}

impl ReadState {
    fn read_blocking(&mut self, max: usize, end: u64) -> Result<Vec<WalRecord>, WalError> {
        let mut out = Vec::new();
        // Segment whose end of file we hit; seeing it again for the same offset is corruption.
        let mut exhausted: Option<u64> = None;
        while out.len() < max && self.next < end {
            if let Some(c) = self.cursor.as_mut() {
                while out.len() < max {
                    let Some(r) = c.pending.pop_front() else {
                        break;
                    };
                    if r.offset >= self.next {
                        self.next = r.offset + 1;
                        out.push(r);
                    }
                }
                if out.len() >= max || self.next >= end {
                    break;
                }
            }
            self.position_cursor()?;
            let Some(c) = self.cursor.as_mut() else { break };
            match read_frame(c)? {
                Some((header, records)) => {
                    exhausted = None;
                    for (i, data) in records.into_iter().enumerate() {
                        let offset = header.first_offset + i as u64;
                        if offset >= self.next {
                            c.pending.push_back(WalRecord {
                                offset,
                                timestamp_ms: header.timestamp_ms,
                                data,
                            });
                        }
                    }
                }
                None => {
                    if exhausted == Some(c.seg_first) {
                        return Err(WalError::Corrupt {
                            segment: c.path.clone(),
                            position: c.pos,
                            reason: "durable records missing from the segment",
                        });
                    }
                    exhausted = Some(c.seg_first);
                    // Move on: the next offset lives in a later segment.
                    self.cursor = None;
                }
            }
        }
        Ok(out)
    }

    /// Put the cursor on the segment holding `next` (the last one starting at or before
    /// it), first skipping over deleted ranges. After the end of a segment `next` equals the
    /// following segment's first offset, so the same lookup moves the reader on.
    fn position_cursor(&mut self) -> Result<(), WalError> {
        // An open cursor is dropped at its end of file, so while it exists it holds `next`:
        // keep reading it even if its segment was deleted meanwhile (the handle stays valid).
        if self.cursor.is_some() {
            return Ok(());
        }
        // A segment can be deleted between the lookup and the open; retry a few times.
        for _attempt in 0..4 {
            let target = {
                let st = self.shared.lock_state();
                let oldest = st.segments.first().map_or(0, |s| s.first_offset);
                if self.next < oldest {
                    let gap = Gap {
                        requested: self.next,
                        resumed_at: oldest,
                    };
                    tracing::warn!(
                        requested = gap.requested,
                        resumed_at = gap.resumed_at,
                        "wal reader skipped deleted records"
                    );
                    self.gap = Some(gap);
                    self.next = oldest;
                }
                let idx = st.segments.partition_point(|s| s.first_offset <= self.next);
                idx.checked_sub(1)
                    .and_then(|i| st.segments.get(i))
                    .map(|s| s.first_offset)
            };
            let Some(seg_first) = target else {
                return Ok(());
            };
            if self
                .cursor
                .as_ref()
                .is_some_and(|c| c.seg_first == seg_first)
            {
                return Ok(());
            }
            let path = segment_path(&self.shared.dir, seg_first);
            match File::open(&path) {
                Ok(f) => {
                    let len = f
                        .metadata()
                        .map_err(|e| WalError::io("stat segment", &path, e))?
                        .len();
                    self.cursor = Some(Cursor {
                        seg_first,
                        path,
                        file: BufReader::with_capacity(1 << 16, f),
                        pos: 0,
                        len,
                        pending: VecDeque::new(),
                    });
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(WalError::io("open segment", &path, e)),
            }
        }
        Ok(())
    }
}

/// Read the next frame of a cursor; `None` at a clean end of file.
fn read_frame(c: &mut Cursor) -> Result<Option<(FrameHeader, Vec<Bytes>)>, WalError> {
    let corrupt = |c: &Cursor, reason| WalError::Corrupt {
        segment: c.path.clone(),
        position: c.pos,
        reason,
    };
    if c.pos + HEADER_LEN as u64 > c.len {
        c.len = c
            .file
            .get_ref()
            .metadata()
            .map_err(|e| WalError::io("stat segment", &c.path, e))?
            .len();
        if c.pos >= c.len {
            return Ok(None);
        }
    }
    let mut h = [0u8; HEADER_LEN];
    read_exact(c, &mut h)?;
    let header = format::decode_header(&h).map_err(|f| corrupt(c, f.reason()))?;
    let frame_len = header.frame_len();
    if c.pos + frame_len > c.len {
        c.len = c
            .file
            .get_ref()
            .metadata()
            .map_err(|e| WalError::io("stat segment", &c.path, e))?
            .len();
        // Also bounds the allocation below by the real file size.
        if c.pos + frame_len > c.len {
            return Err(corrupt(c, "frame runs past the end of the segment"));
        }
    }
    let mut body = vec![0u8; header.body_len as usize];
    read_exact(c, &mut body)?;
    let records =
        format::decode_body(&h, &header, Bytes::from(body)).map_err(|f| corrupt(c, f.reason()))?;
    c.pos += frame_len;
    Ok(Some((header, records)))
}

fn read_exact(c: &mut Cursor, buf: &mut [u8]) -> Result<(), WalError> {
    c.file
        .read_exact(buf)
        .map_err(|e| WalError::io("read segment", &c.path, e))
}
