//! The log seam: how everything downstream of the durable stage *reads* the log.
//!
//! Writers go through [`DurableStage`]; readers — the log consumers (live state, tracking,
//! InfluxDB, outputs, MQTT publisher), the SSE stream and `replay` — go through
//! [`DurableLog`] and [`LogReader`], so a second backend (a replicated log) changes no
//! consumer. A position in the log is a [`Cursor`]: opaque and ordered, handed to HTTP
//! clients as the SSE `id` / `Last-Event-ID`. For the local write-ahead log it is the record
//! offset; a replicated backend would use its own sequence.

use super::records;
use super::DurableStage;
use crate::model::Record;
use bytes::Bytes;
use futures::future::BoxFuture;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// An ordered position in the log: the record at it, or the next one to be written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(transparent)]
pub struct Cursor(u64);

impl Cursor {
    /// The position with backend value `v` (the local log's record offset).
    pub const fn new(v: u64) -> Self {
        Cursor(v)
    }

    /// The backend value (for persisting and for lag arithmetic).
    pub const fn value(self) -> u64 {
        self.0
    }

    /// The position right after this one.
    pub const fn next(self) -> Self {
        Cursor(self.0.saturating_add(1))
    }

    /// Records between `self` and a later `end` (0 when `end` is not later).
    pub fn distance_to(self, end: Cursor) -> u64 {
        end.0.saturating_sub(self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Cursor {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(Cursor)
    }
}

/// One stored record as read back: where it is, when it was received, its encoded bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its position.
    pub cursor: Cursor,
    /// Receive time of its batch, unix ms (lets a replay skip old records without decoding).
    pub received_ms: u64,
    /// The encoded record (see [`records`]).
    pub data: Bytes,
}

impl LogEntry {
    /// The record's kind (`position`, `event`, `eta`, `alert`) without decoding it.
    pub fn kind(&self) -> Option<&str> {
        records::record_kind(&self.data)
    }

    /// The record.
    pub fn decode(&self) -> Result<Record, records::DecodeError> {
        records::decode_record(&self.data)
    }
}

/// Records a reader asked for were already deleted (retention or the size cap); it
/// continued at the oldest stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Where the reader wanted to read.
    pub requested: Cursor,
    /// Where it continued.
    pub resumed_at: Cursor,
}

/// Why the log could not be read or a consumer position not be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("the log is closed")]
    Closed,
    #[error("log: {0}")]
    Backend(String),
}

/// A sequential reader that sees only durable records.
pub trait LogReader: Send {
    /// The position of the next record this reader returns.
    fn position(&self) -> Cursor;
    /// Up to `max` records, waiting until at least one is durable. Cancel-safe only between
    /// calls: a future dropped half-way may lose the reader's place, so race it only against
    /// shutdown.
    fn next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>>;
    /// Up to `max` records already durable; empty when there are none (does not wait).
    fn try_next_batch(&mut self, max: usize) -> BoxFuture<'_, Result<Vec<LogEntry>, LogError>>;
    /// The most recent skip over deleted records, if any (cleared by this call).
    fn take_gap(&mut self) -> Option<Gap>;
}

/// A durable log that can be read back by named consumers, each from its own committed
/// position (at-least-once: a consumer that stops between its work and its commit sees that
/// batch again).
pub trait DurableLog: DurableStage {
    /// A reader starting at `from` (a deleted position continues at the oldest, with a gap).
    fn reader(&self, from: Cursor) -> Box<dyn LogReader>;
    /// The position after the last durable record.
    fn end(&self) -> Cursor;
    /// The oldest position still stored.
    fn oldest(&self) -> Cursor;
    /// Registers consumer `name` (idempotent) and returns where it continues: its committed
    /// position, or the oldest stored one for a new consumer.
    fn register_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Cursor, LogError>>;
    /// Persists that consumer `name` processed everything before `next`.
    fn commit<'a>(&'a self, name: &'a str, next: Cursor) -> BoxFuture<'a, Result<(), LogError>>;
    /// Forgets consumer `name` (a sink removed from the config) so it no longer holds data.
    fn unregister_consumer<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), LogError>>;
    /// The committed position of consumer `name`, if registered.
    fn committed(&self, name: &str) -> Option<Cursor>;
}

/// The log as the gateway shares it.
pub type SharedLog = Arc<dyn DurableLog>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_orders_parses_and_prints_as_its_value() {
        let c: Cursor = " 41 ".parse().unwrap();
        assert_eq!(c, Cursor::new(41));
        assert_eq!(c.next().to_string(), "42");
        assert!(c < c.next());
        assert_eq!(c.distance_to(Cursor::new(50)), 9);
        assert_eq!(Cursor::new(50).distance_to(c), 0);
        assert!("x".parse::<Cursor>().is_err());
        assert_eq!(Cursor::new(u64::MAX).next(), Cursor::new(u64::MAX));
    }
}
