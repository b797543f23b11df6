//! Joins sub-packaged messages (body attribute bit 13) back into one body.
//!
//! One message at a time per connection, as terminals send them: a package of another message
//! (id or total differs) abandons the one in progress. Every package is ACKed with 0x8001 by
//! the caller; the joined body is decoded when the last missing package arrives.

use super::decode::Header;
use crate::protocol::DecodeError;
use std::collections::BTreeMap;

/// Most packages one message may declare. JT/T 808 photos and blind-area batches rarely need
/// more than a few dozen; the cap bounds the bookkeeping a device can make us hold.
pub const MAX_PACKAGES: u16 = 256;
/// Most bytes one reassembled message may hold (sum of its package bodies).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

struct Pending {
    msg_id: u16,
    phone: Vec<u8>,
    total: u16,
    parts: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// The message being reassembled on one connection.
pub struct Reassembly {
    pending: Option<Pending>,
    max_bytes: usize,
}

impl Reassembly {
    /// `max_frame` is the per-frame cap; the joined message may be at most
    /// [`MAX_MESSAGE_BYTES`].
    pub fn new(max_frame: usize) -> Self {
        Reassembly {
            pending: None,
            max_bytes: MAX_MESSAGE_BYTES.max(max_frame),
        }
    }

    /// Adds package `index` of `total`; returns the whole body once every package is in.
    pub fn push(
        &mut self,
        h: &Header,
        total: u16,
        index: u16,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, DecodeError> {
        if total == 0 || total > MAX_PACKAGES || index == 0 || index > total {
            return Err(DecodeError::Invalid(format!(
                "package {index}/{total} of message {:#06x} (at most {MAX_PACKAGES} packages)",
                h.msg_id
            )));
        }
        let same = self
            .pending
            .as_ref()
            .is_some_and(|p| p.msg_id == h.msg_id && p.total == total && p.phone == h.phone);
        if !same {
            self.pending = Some(Pending {
                msg_id: h.msg_id,
                phone: h.phone.clone(),
                total,
                parts: BTreeMap::new(),
                bytes: 0,
            });
        }
        let Some(p) = self.pending.as_mut() else {
            return Ok(None);
        };
        if let Some(old) = p.parts.insert(index, body.to_vec()) {
            p.bytes -= old.len();
        }
        p.bytes += body.len();
        if p.bytes > self.max_bytes {
            let n = p.bytes;
            self.pending = None;
            return Err(DecodeError::Invalid(format!(
                "sub-packaged message {:#06x} exceeds {} bytes ({n})",
                h.msg_id, self.max_bytes
            )));
        }
        if p.parts.len() < usize::from(total) {
            return Ok(None);
        }
        let joined = self
            .pending
            .take()
            .map(|p| p.parts.into_values().flatten().collect());
        Ok(joined)
    }
}
