//! The console's records in the outputs store: exception acknowledgements and customer
//! tracking links, each saying who did what and when (audit-friendly: rows are never
//! updated except to record a revocation, and never deleted by the console).
//!
//! An *exception* is a `firing` alert in the event history. It is *current* while no later
//! event of the same exception key (type, device, shipment, stop) exists — a `resolved`
//! event or an escalation to the next tier supersedes it — and *open* while current and not
//! acknowledged.

use super::store::{Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

/// Tables and the index the queries below need (all additive, created on open).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS acks (
  event_id TEXT PRIMARY KEY,
  by TEXT NOT NULL,
  note TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shares (
  id TEXT PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE,
  shipment TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  revoked_ms INTEGER,
  revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS shares_shipment ON shares(shipment);
CREATE INDEX IF NOT EXISTS events_key ON events(type, device, seq);
";

/// An acknowledgement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ack {
    /// Token name of who acknowledged (`anonymous` without access control).
    pub by: String,
    pub note: String,
    /// Unix ms.
    pub at_ms: i64,
}

/// One exception as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct ExceptionRow {
    /// Store order; the paging cursor (`before`).
    pub seq: i64,
    /// The alert JSON (as `/api/events` shows it).
    pub body: String,
    /// No later event of the same exception exists.
    pub current: bool,
    pub ack: Option<Ack>,
}

/// Filters of the exception list (newest first).
#[derive(Clone, Debug, Default)]
pub struct ExceptionQuery {
    /// Only current, unacknowledged exceptions.
    pub open_only: bool,
    pub kind: Option<String>,
    pub shipment: Option<String>,
    pub device: Option<String>,
    /// Only this customer's exceptions (a customer's token).
    pub customer: Option<String>,
    /// Paging: only rows with `seq < before`.
    pub before: Option<i64>,
    pub limit: usize,
}

/// What an acknowledgement did.
#[derive(Clone, Debug, PartialEq)]
pub enum AckOutcome {
    Acked(Ack),
    /// It was acknowledged before (by this one).
    Already(Ack),
    NoSuchEvent,
    /// The event is not an exception (its state, e.g. `resolved` or `info`).
    NotAnException(String),
}

/// A customer tracking link (its token is never stored, only its SHA-256).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    /// Public id, used to list and revoke it.
    pub id: String,
    pub shipment: String,
    pub created_ms: i64,
    pub created_by: String,
    pub expires_ms: i64,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<String>,
}

impl Share {
    /// Whether the link opens at `now_ms`.
    pub fn valid_at(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && now_ms < self.expires_ms
    }
}

/// The firing alerts with whether each is current, filtered (`?1` type, `?2` shipment,
/// `?3` device, `?4` before), joined with their acknowledgement.
const EXCEPTIONS: &str = "
WITH x AS (
  SELECT e.seq, e.id, e.body,
    NOT EXISTS (SELECT 1 FROM events l
                WHERE l.type = e.type AND l.device = e.device AND l.seq > e.seq
                  AND l.shipment IS e.shipment
                  AND json_extract(l.body, '$.stop') IS json_extract(e.body, '$.stop')) AS cur
  FROM events e
  WHERE json_extract(e.body, '$.state') = 'firing'
    AND (?1 IS NULL OR e.type = ?1) AND (?2 IS NULL OR e.shipment = ?2)
    AND (?3 IS NULL OR e.device = ?3) AND e.seq < ?4
    AND (?6 IS NULL OR e.customer = ?6)
)
SELECT x.seq, x.body, x.cur, a.by, a.note, a.at_ms FROM x LEFT JOIN acks a ON a.event_id = x.id
WHERE (?5 = 0 OR (a.event_id IS NULL AND x.cur))";

/// The link whose `column` (`id` or `token_sha256`: a fixed name, never input) is `value`.
fn share_where(c: &Connection, column: &str, value: String) -> Result<Option<Share>, StoreError> {
    Ok(c.query_row(
        &format!("SELECT {SHARE_COLUMNS} FROM shares WHERE {column} = ?1"),
        [value],
        share_of,
    )
    .optional()?)
}

fn ack_of(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<Ack>> {
    let by: Option<String> = r.get(at)?;
    Ok(match by {
        Some(by) => Some(Ack {
            by,
            note: r.get(at + 1)?,
            at_ms: r.get(at + 2)?,
        }),
        None => None,
    })
}

fn share_of(r: &Row<'_>) -> rusqlite::Result<Share> {
    Ok(Share {
        id: r.get(0)?,
        shipment: r.get(1)?,
        created_ms: r.get(2)?,
        created_by: r.get(3)?,
        expires_ms: r.get(4)?,
        revoked_ms: r.get(5)?,
        revoked_by: r.get(6)?,
    })
}

const SHARE_COLUMNS: &str =
    "id, shipment, created_ms, created_by, expires_ms, revoked_ms, revoked_by";

impl Store {
    /// Exceptions matching `q`, newest first, and how many are open in all (same type,
    /// shipment and device filters, ignoring paging).
    pub async fn exceptions(
        &self,
        q: ExceptionQuery,
    ) -> Result<(Vec<ExceptionRow>, u64), StoreError> {
        self.run(move |c| {
            let before = q.before.unwrap_or(i64::MAX);
            let mut st = c.prepare_cached(&format!("{EXCEPTIONS} ORDER BY x.seq DESC LIMIT ?7"))?;
            let rows = st
                .query_map(
                    params![
                        q.kind,
                        q.shipment,
                        q.device,
                        before,
                        q.open_only,
                        q.customer,
                        q.limit as i64
                    ],
                    |r| {
                        Ok(ExceptionRow {
                            seq: r.get(0)?,
                            body: r.get(1)?,
                            current: r.get(2)?,
                            ack: ack_of(r, 3)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            let open: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM ({EXCEPTIONS})"),
                params![q.kind, q.shipment, q.device, i64::MAX, true, q.customer],
                |r| r.get(0),
            )?;
            Ok((rows, open.max(0) as u64))
        })
        .await
    }

    /// Acknowledges exception `id` (once: a second acknowledgement reports the first).
    pub async fn ack(
        &self,
        id: String,
        by: String,
        note: String,
        at_ms: i64,
    ) -> Result<AckOutcome, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let state: Option<Option<String>> = tx
                .query_row(
                    "SELECT json_extract(body, '$.state') FROM events WHERE id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(state) = state else {
                return Ok(AckOutcome::NoSuchEvent);
            };
            if state.as_deref() != Some("firing") {
                return Ok(AckOutcome::NotAnException(state.unwrap_or_default()));
            }
            let before = tx
                .query_row(
                    "SELECT by, note, at_ms FROM acks WHERE event_id = ?1",
                    [&id],
                    |r| ack_of(r, 0),
                )
                .optional()?
                .flatten();
            if let Some(a) = before {
                return Ok(AckOutcome::Already(a));
            }
            tx.execute(
                "INSERT INTO acks (event_id, by, note, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![id, by, note, at_ms],
            )?;
            tx.commit()?;
            Ok(AckOutcome::Acked(Ack { by, note, at_ms }))
        })
        .await
    }

    /// Stores a new tracking link under the SHA-256 (hex) of its token.
    pub async fn add_share(&self, s: Share, token_sha256: String) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO shares (id, token_sha256, shipment, created_ms, created_by, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.id, token_sha256, s.shipment, s.created_ms, s.created_by, s.expires_ms],
            )?;
            Ok(())
        })
        .await
    }

    /// The link whose token hashes to `token_sha256` (valid or not).
    pub async fn share_by_token(&self, token_sha256: String) -> Result<Option<Share>, StoreError> {
        self.run(move |c| share_where(c, "token_sha256", token_sha256))
            .await
    }

    /// Link `id` (valid or not).
    pub async fn share(&self, id: String) -> Result<Option<Share>, StoreError> {
        self.run(move |c| share_where(c, "id", id)).await
    }

    /// A shipment's links, newest first.
    pub async fn shares_of(&self, shipment: String) -> Result<Vec<Share>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {SHARE_COLUMNS} FROM shares WHERE shipment = ?1 ORDER BY created_ms DESC, id"
            ))?;
            let rows = st.query_map([shipment], share_of)?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Revokes link `id` (recording who and when; a revoked link stays revoked). `None`
    /// when there is no such link.
    pub async fn revoke_share(
        &self,
        id: String,
        by: String,
        at_ms: i64,
    ) -> Result<Option<Share>, StoreError> {
        self.run(move |c| {
            c.execute(
                "UPDATE shares SET revoked_ms = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_ms IS NULL",
                params![id, at_ms, by],
            )?;
            share_where(c, "id", id)
        })
        .await
    }
}

#[cfg(test)]
#[path = "console_tests.rs"]
mod tests;
