//! Joins sub-packaged messages (body attribute bit 13) back into one body.
//!
//! One message at a time per connection, as terminals send them: a package of another message
//! (id, total or phone differs) abandons the one in progress. Every package is ACKed with
//! 0x8001 by the caller; the joined body is decoded when the last missing package arrives.
//!
//! Bounded three ways, each an option of `[protocols.jt808.options]`: packages per message
//! (`reassembly_max_packages`), bytes per message — and so per connection —
//! (`reassembly_max_bytes`), and bytes held by every connection of the process together
//! (`reassembly_total_bytes`), so ten thousand connections each holding a maximal half
//! message cannot exhaust memory. The total is one process-wide counter ([`HELD`]): a
//! process serves one JT/T 808 listener configuration. Bytes are given back when a message
//! completes, is abandoned or refused, and when the connection's decoder is dropped.

use super::decode::Header;
use crate::protocol::DecodeError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Default most packages one message may declare. Photos and blind-area batches rarely need
/// more than a few dozen.
pub const MAX_PACKAGES: u16 = 256;
/// Default most bytes one reassembled message may hold (sum of its package bodies).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Default most bytes all connections may hold in partial messages together.
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

/// Bytes held in partial messages by every JT/T 808 connection of the process.
pub static HELD: AtomicUsize = AtomicUsize::new(0);

/// The three ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Packages one message may declare.
    pub max_packages: u16,
    /// Bytes one message (one connection) may hold.
    pub max_bytes: usize,
    /// Bytes all connections may hold together.
    pub total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packages: MAX_PACKAGES,
            max_bytes: MAX_MESSAGE_BYTES,
            total_bytes: MAX_TOTAL_BYTES,
        }
    }
}

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
    limits: Limits,
    /// The shared counter this connection's bytes are taken from ([`HELD`] except in tests).
    held: &'static AtomicUsize,
}

impl Reassembly {
    /// Reassembly within `limits`, counted in [`HELD`].
    pub fn new(limits: Limits) -> Self {
        Self::with_counter(limits, &HELD)
    }

    /// Reassembly counted in `held` (tests use their own counter).
    pub fn with_counter(limits: Limits, held: &'static AtomicUsize) -> Self {
        Reassembly {
            pending: None,
            limits,
            held,
        }
    }

    /// Takes `n` more bytes from the shared budget, if it has them.
    fn take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                h.checked_add(n).filter(|t| *t <= self.limits.total_bytes)
            })
            .is_ok()
    }

    /// Drops the message in progress, giving its bytes back.
    fn abandon(&mut self) {
        if let Some(p) = self.pending.take() {
            self.held.fetch_sub(p.bytes, Ordering::AcqRel);
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
        let max = self.limits.max_packages;
        if total == 0 || total > max || index == 0 || index > total {
            return Err(DecodeError::Invalid(format!(
                "package {index}/{total} of message {:#06x} (at most {max} packages)",
                h.msg_id
            )));
        }
        let same = self
            .pending
            .as_ref()
            .is_some_and(|p| p.msg_id == h.msg_id && p.total == total && p.phone == h.phone);
        if !same {
            self.abandon();
            self.pending = Some(Pending {
                msg_id: h.msg_id,
                phone: h.phone.clone(),
                total,
                parts: BTreeMap::new(),
                bytes: 0,
            });
        }
        let replaced = self
            .pending
            .as_ref()
            .and_then(|p| p.parts.get(&index))
            .map_or(0, Vec::len);
        let bytes = self.pending.as_ref().map_or(0, |p| p.bytes) - replaced + body.len();
        if bytes > self.limits.max_bytes {
            self.abandon();
            return Err(DecodeError::Invalid(format!(
                "sub-packaged message {:#06x} exceeds {} bytes ({bytes}; reassembly_max_bytes)",
                h.msg_id, self.limits.max_bytes
            )));
        }
        if !self.take(body.len()) {
            self.abandon();
            return Err(DecodeError::Invalid(format!(
                "sub-packaged message {:#06x} refused: partial messages of all connections hold \
                 {} of {} bytes (reassembly_total_bytes)",
                h.msg_id,
                self.held.load(Ordering::Acquire),
                self.limits.total_bytes
            )));
        }
        let Some(p) = self.pending.as_mut() else {
            return Ok(None);
        };
        p.parts.insert(index, body.to_vec());
        self.held.fetch_sub(replaced, Ordering::AcqRel);
        p.bytes = bytes;
        if p.parts.len() < usize::from(total) {
            return Ok(None);
        }
        let joined = self.pending.take().map(|p| {
            self.held.fetch_sub(p.bytes, Ordering::AcqRel);
            p.parts.into_values().flatten().collect()
        });
        Ok(joined)
    }
}

impl Drop for Reassembly {
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(msg_id: u16) -> Header {
        Header {
            msg_id,
            attr: 1 << 13,
            version: None,
            phone: vec![1, 2, 3, 4, 5, 6],
            serial: 1,
            package: None,
        }
    }

    #[test]
    fn per_message_limits_and_the_bytes_are_given_back() {
        static C: AtomicUsize = AtomicUsize::new(0);
        let limits = Limits {
            max_packages: 3,
            max_bytes: 10,
            total_bytes: 1000,
        };
        let mut r = Reassembly::with_counter(limits, &C);
        let h = header(0x0704);
        assert!(
            r.push(&h, 4, 1, b"x").is_err(),
            "more packages than allowed"
        );
        assert_eq!(r.push(&h, 2, 1, b"abcd").unwrap(), None);
        assert_eq!(C.load(Ordering::Acquire), 4);
        // The same package again replaces, it does not add.
        assert_eq!(r.push(&h, 2, 1, b"abc").unwrap(), None);
        assert_eq!(C.load(Ordering::Acquire), 3);
        assert_eq!(r.push(&h, 2, 2, b"de").unwrap(), Some(b"abcde".to_vec()));
        assert_eq!(C.load(Ordering::Acquire), 0, "complete: given back");
        assert_eq!(r.push(&h, 3, 1, b"123456").unwrap(), None);
        assert!(r.push(&h, 3, 2, b"78901").is_err(), "11 bytes > 10");
        assert_eq!(C.load(Ordering::Acquire), 0, "refused: given back");
        assert_eq!(r.push(&h, 3, 1, b"12").unwrap(), None);
        // Another message abandons the first.
        assert_eq!(r.push(&header(0x0900), 2, 1, b"z").unwrap(), None);
        assert_eq!(C.load(Ordering::Acquire), 1);
        drop(r);
        assert_eq!(
            C.load(Ordering::Acquire),
            0,
            "dropped connection: given back"
        );
    }

    #[test]
    fn all_connections_share_the_total() {
        static C: AtomicUsize = AtomicUsize::new(0);
        let limits = Limits {
            max_packages: 8,
            max_bytes: 100,
            total_bytes: 150,
        };
        let h = header(0x0704);
        let mut a = Reassembly::with_counter(limits, &C);
        let mut b = Reassembly::with_counter(limits, &C);
        assert_eq!(a.push(&h, 2, 1, &[0; 100]).unwrap(), None);
        let e = b.push(&h, 2, 1, &[0; 60]).unwrap_err();
        assert!(e.to_string().contains("reassembly_total_bytes"), "{e}");
        assert_eq!(
            b.push(&h, 2, 1, &[0; 50]).unwrap(),
            None,
            "what is left fits"
        );
        drop(a);
        assert_eq!(C.load(Ordering::Acquire), 50);
        assert_eq!(
            b.push(&h, 2, 2, &[1; 50]).unwrap().map(|v| v.len()),
            Some(100)
        );
        assert_eq!(C.load(Ordering::Acquire), 0);
    }
}
