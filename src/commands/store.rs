//! The durable command queue: one SQLite file, `<storage.dir>/commands.sqlite3`, in the
//! pattern of `outputs/store.rs` (one connection behind a mutex, work on the blocking pool,
//! `synchronous = FULL`, the schema only grows).
//!
//! A row's `status` moves only forward:
//! ```text
//! queued ──▶ sent ──▶ acknowledged | failed
//!   │          └────▶ expired            (no answer before expires_ms)
//!   ├──▶ expired                          (not delivered before expires_ms)
//!   ├──▶ failed                           (could not be encoded for the device)
//!   └──▶ cancelled                        (DELETE while still queued)
//! ```
//! Every transition is one `UPDATE … WHERE status = <the expected one>`, so a cancel racing a
//! delivery, or two connections of one device, can never move a row twice. The row number
//! (`seq`, never reused: AUTOINCREMENT) is the API id and the number the protocols put in
//! the command (GT06 server flag, JT/T 808 serial).

use crate::protocol::command::Reply;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub use crate::sqlite_task::StoreError;

/// Where a command is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Sent,
    Acknowledged,
    Failed,
    Expired,
    Cancelled,
}

impl Status {
    /// The name stored and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Acknowledged => "acknowledged",
            Status::Failed => "failed",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "queued" => Status::Queued,
            "sent" => Status::Sent,
            "acknowledged" => Status::Acknowledged,
            "expired" => Status::Expired,
            "cancelled" => Status::Cancelled,
            _ => Status::Failed,
        }
    }
}

/// A command as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandRow {
    /// Row number: the API id and the number encoded into the command.
    pub seq: i64,
    pub device: String,
    pub protocol: String,
    /// API type name (`engine_stop`, …).
    pub kind: String,
    /// The request's `params`, JSON text.
    pub params: String,
    pub status: Status,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub sent_ms: Option<i64>,
    /// When it reached a final status.
    pub done_ms: Option<i64>,
    /// What the device echoes (server flag, serial), set when sent.
    pub tag: Option<i64>,
    /// The device's answer as text.
    pub answer: Option<String>,
    /// The device's answer payload, hex.
    pub answer_hex: Option<String>,
    /// Why it failed (encoding error, or the device's refusal).
    pub error: Option<String>,
    /// Who asked (the token's name).
    pub requested_by: String,
    /// The customer of the token that asked, if tenant-bound.
    pub customer: Option<String>,
}

/// What the API inserts.
#[derive(Clone, Debug)]
pub struct NewCommand {
    pub device: String,
    pub protocol: String,
    pub kind: String,
    pub params: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub requested_by: String,
    pub customer: Option<String>,
}

/// The result of a cancel.
#[derive(Debug, PartialEq)]
pub enum Cancel {
    /// No such command.
    NotFound,
    /// Cancelled; the row as it is now.
    Cancelled(CommandRow),
    /// Too late: the command is in this status.
    NotQueued(CommandRow),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS commands (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL,
  protocol TEXT NOT NULL,
  type TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  sent_ms INTEGER,
  done_ms INTEGER,
  tag INTEGER,
  answer TEXT,
  answer_hex TEXT,
  error TEXT,
  requested_by TEXT NOT NULL,
  customer TEXT
);
CREATE INDEX IF NOT EXISTS commands_device ON commands(device, status, seq);
CREATE INDEX IF NOT EXISTS commands_expiry ON commands(status, expires_ms);
";

const COLUMNS: &str = "seq, device, protocol, type, params, status, created_ms, expires_ms, \
    sent_ms, done_ms, tag, answer, answer_hex, error, requested_by, customer";

fn row(r: &Row<'_>) -> rusqlite::Result<CommandRow> {
    Ok(CommandRow {
        seq: r.get(0)?,
        device: r.get(1)?,
        protocol: r.get(2)?,
        kind: r.get(3)?,
        params: r.get(4)?,
        status: Status::parse(&r.get::<_, String>(5)?),
        created_ms: r.get(6)?,
        expires_ms: r.get(7)?,
        sent_ms: r.get(8)?,
        done_ms: r.get(9)?,
        tag: r.get(10)?,
        answer: r.get(11)?,
        answer_hex: r.get(12)?,
        error: r.get(13)?,
        requested_by: r.get(14)?,
        customer: r.get(15)?,
    })
}

fn get(c: &Connection, seq: i64) -> rusqlite::Result<Option<CommandRow>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM commands WHERE seq = ?1"),
        [seq],
        row,
    )
    .optional()
}

/// Queued or sent commands whose time is up become `expired`.
fn expire(c: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE commands SET status = 'expired', done_ms = ?1 \
         WHERE status IN ('queued', 'sent') AND expires_ms <= ?1",
        [now_ms],
    )
}

/// Handle to the queue file; cheap to clone.
#[derive(Clone)]
pub struct CommandStore {
    conn: Arc<Mutex<Connection>>,
}

impl CommandStore {
    /// Opens (creating) the queue at `path`.
    pub fn open(path: &Path) -> Result<CommandStore, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(CommandStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        crate::sqlite_task::run(&self.conn, f).await
    }

    /// Queues a command unless the device already has `max_open` queued or sent ones;
    /// `Ok(None)` then.
    pub async fn insert(
        &self,
        cmd: NewCommand,
        max_open: usize,
    ) -> Result<Option<CommandRow>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            expire(&tx, cmd.created_ms)?;
            let open: i64 = tx.query_row(
                "SELECT COUNT(*) FROM commands WHERE device = ?1 AND status IN ('queued', 'sent')",
                [&cmd.device],
                |r| r.get(0),
            )?;
            if open >= max_open as i64 {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO commands (device, protocol, type, params, status, created_ms, \
                 expires_ms, requested_by, customer) \
                 VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8)",
                params![
                    cmd.device,
                    cmd.protocol,
                    cmd.kind,
                    cmd.params,
                    cmd.created_ms,
                    cmd.expires_ms,
                    cmd.requested_by,
                    cmd.customer
                ],
            )?;
            let seq = tx.last_insert_rowid();
            let r = get(&tx, seq)?;
            tx.commit()?;
            Ok(r)
        })
        .await
    }

    /// One command, with expiry applied as of `now_ms`.
    pub async fn get(&self, seq: i64, now_ms: i64) -> Result<Option<CommandRow>, StoreError> {
        self.run(move |c| {
            expire(c, now_ms)?;
            Ok(get(c, seq)?)
        })
        .await
    }

    /// A device's commands in queue order after row `after`, at most `limit` + 1 (the extra
    /// one tells the caller that more follow).
    pub async fn list(
        &self,
        device: String,
        after: i64,
        limit: usize,
        now_ms: i64,
    ) -> Result<Vec<CommandRow>, StoreError> {
        self.run(move |c| {
            expire(c, now_ms)?;
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM commands WHERE device = ?1 AND seq > ?2 \
                 ORDER BY seq LIMIT ?3"
            ))?;
            let rows = st
                .query_map(params![device, after, (limit + 1) as i64], row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Cancels a command that is still queued.
    pub async fn cancel(&self, seq: i64, now_ms: i64) -> Result<Cancel, StoreError> {
        self.run(move |c| {
            expire(c, now_ms)?;
            let changed = c.execute(
                "UPDATE commands SET status = 'cancelled', done_ms = ?2 \
                 WHERE seq = ?1 AND status = 'queued'",
                params![seq, now_ms],
            )?;
            Ok(match get(c, seq)? {
                None => Cancel::NotFound,
                Some(r) if changed == 1 => Cancel::Cancelled(r),
                Some(r) => Cancel::NotQueued(r),
            })
        })
        .await
    }

    /// The device's queued commands in order, after expiring the stale ones.
    pub async fn due(&self, device: String, now_ms: i64) -> Result<Vec<CommandRow>, StoreError> {
        self.run(move |c| {
            expire(c, now_ms)?;
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM commands WHERE device = ?1 AND status = 'queued' \
                 ORDER BY seq"
            ))?;
            let rows = st
                .query_map([device], row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Devices with queued commands (to know whom to look up after a restart).
    pub async fn queued_devices(&self) -> Result<Vec<String>, StoreError> {
        self.run(|c| {
            let mut st =
                c.prepare("SELECT DISTINCT device FROM commands WHERE status = 'queued'")?;
            let rows = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// `queued → sent`; false when the row left `queued` meanwhile (cancelled).
    pub async fn mark_sent(
        &self,
        seq: i64,
        tag: Option<u32>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE commands SET status = 'sent', sent_ms = ?2, tag = ?3 \
                 WHERE seq = ?1 AND status = 'queued'",
                params![seq, now_ms, tag.map(i64::from)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// `queued → failed` with the reason (the command cannot be encoded for the device).
    pub async fn mark_failed(
        &self,
        seq: i64,
        error: String,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.execute(
                "UPDATE commands SET status = 'failed', done_ms = ?2, error = ?3 \
                 WHERE seq = ?1 AND status = 'queued'",
                params![seq, now_ms, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Records the device's answer on the command it answers: the sent command with the
    /// answer's tag, else (no tag, or no such command) the device's oldest sent one.
    /// `sent → acknowledged` (or `failed` when the device refused). `None`: nothing was
    /// waiting for an answer.
    pub async fn answer(
        &self,
        device: String,
        reply: Reply,
        now_ms: i64,
    ) -> Result<Option<CommandRow>, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let by_tag = match reply.tag {
                Some(t) => tx
                    .query_row(
                        "SELECT seq FROM commands WHERE device = ?1 AND status = 'sent' \
                         AND tag = ?2 ORDER BY seq LIMIT 1",
                        params![device, i64::from(t)],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()?,
                None => None,
            };
            let seq = match by_tag {
                Some(s) => Some(s),
                None => tx
                    .query_row(
                        "SELECT seq FROM commands WHERE device = ?1 AND status = 'sent' \
                         ORDER BY seq LIMIT 1",
                        [&device],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()?,
            };
            let Some(seq) = seq else {
                return Ok(None);
            };
            let (status, error) = if reply.ok {
                ("acknowledged", None)
            } else {
                ("failed", Some(format!("device answered: {}", reply.text)))
            };
            tx.execute(
                "UPDATE commands SET status = ?2, done_ms = ?3, answer = ?4, answer_hex = ?5, \
                 error = ?6 WHERE seq = ?1 AND status = 'sent'",
                params![
                    seq,
                    status,
                    now_ms,
                    reply.text,
                    hex::encode(&reply.bytes),
                    error
                ],
            )?;
            let r = get(&tx, seq)?;
            tx.commit()?;
            Ok(r)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(device: &str, created_ms: i64) -> NewCommand {
        NewCommand {
            device: device.into(),
            protocol: "gt06".into(),
            kind: "reboot".into(),
            params: "{}".into(),
            created_ms,
            expires_ms: created_ms + 1000,
            requested_by: "ops".into(),
            customer: None,
        }
    }

    fn reply(tag: Option<u32>, ok: bool, text: &str) -> Reply {
        Reply {
            tag,
            ok,
            text: text.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn life_cycle_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commands.sqlite3");
        let s = CommandStore::open(&path).unwrap();
        let a = s.insert(new("dev1", 0), 10).await.unwrap().unwrap();
        let b = s.insert(new("dev1", 1), 10).await.unwrap().unwrap();
        assert_eq!(a.status, Status::Queued);
        assert!(b.seq > a.seq);
        drop(s);
        // Reopened: both still queued, in order, and the device is known to have some.
        let s = CommandStore::open(&path).unwrap();
        assert_eq!(s.queued_devices().await.unwrap(), vec!["dev1".to_string()]);
        let due = s.due("dev1".into(), 2).await.unwrap();
        assert_eq!(
            due.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [a.seq, b.seq]
        );
        assert!(s.mark_sent(a.seq, Some(77), 3).await.unwrap());
        assert!(s.mark_sent(b.seq, Some(78), 3).await.unwrap());
        // Sending twice is refused: the row is no longer queued.
        assert!(!s.mark_sent(a.seq, Some(77), 3).await.unwrap());
        // The tag picks the second one although the first is older.
        let r = s
            .answer("dev1".into(), reply(Some(78), true, "OK"), 4)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.seq, r.status), (b.seq, Status::Acknowledged));
        assert_eq!(r.answer.as_deref(), Some("OK"));
        assert_eq!(r.answer_hex.as_deref(), Some("4f4b"));
        // No tag: the oldest sent one; a refusal makes it failed.
        let r = s
            .answer("dev1".into(), reply(None, false, "unsupported"), 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.seq, r.status), (a.seq, Status::Failed));
        assert_eq!(r.error.as_deref(), Some("device answered: unsupported"));
        // Nothing left waiting.
        assert_eq!(
            s.answer("dev1".into(), reply(None, true, "x"), 6)
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn cancel_expiry_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let s = CommandStore::open(&dir.path().join("c.sqlite3")).unwrap();
        let a = s.insert(new("d", 0), 2).await.unwrap().unwrap();
        let b = s.insert(new("d", 0), 2).await.unwrap().unwrap();
        // At most two open commands per device here.
        assert_eq!(s.insert(new("d", 0), 2).await.unwrap(), None);
        match s.cancel(a.seq, 10).await.unwrap() {
            Cancel::Cancelled(r) => assert_eq!(r.status, Status::Cancelled),
            other => panic!("{other:?}"),
        }
        assert!(s.mark_sent(b.seq, None, 10).await.unwrap());
        match s.cancel(b.seq, 11).await.unwrap() {
            Cancel::NotQueued(r) => assert_eq!(r.status, Status::Sent),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.cancel(999, 11).await.unwrap(), Cancel::NotFound);
        // Cancelling twice: the second finds it no longer queued.
        match s.cancel(a.seq, 12).await.unwrap() {
            Cancel::NotQueued(r) => assert_eq!(r.status, Status::Cancelled),
            other => panic!("{other:?}"),
        }
        // Past expires_ms (created + 1000) a sent command without an answer expires.
        let r = s.get(b.seq, 1000).await.unwrap().unwrap();
        assert_eq!((r.status, r.done_ms), (Status::Expired, Some(1000)));
        let c = s.insert(new("d", 2000), 2).await.unwrap().unwrap();
        assert!(s.due("d".into(), 3000).await.unwrap().is_empty());
        assert_eq!(
            s.get(c.seq, 3000).await.unwrap().unwrap().status,
            Status::Expired
        );
        let page = s.list("d".into(), 0, 2, 3000).await.unwrap();
        assert_eq!(page.len(), 3, "two and the one telling more follow");
        let rest = s.list("d".into(), page[1].seq, 2, 3000).await.unwrap();
        assert_eq!(rest.iter().map(|r| r.seq).collect::<Vec<_>>(), [c.seq]);
    }
}
