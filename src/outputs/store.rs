//! The embedded store of live outputs (SQLite under `storage.dir`): the event history behind
//! `GET /api/events`, webhook subscriptions, the delivery outbox and its attempt log (the
//! console's acknowledgements and tracking links: `console.rs`).
//!
//! One file, one connection behind a mutex: every statement is small and indexed, so callers
//! hold the lock for microseconds; async callers go through [`Store::run`], which moves the
//! work to the blocking pool so a slow disk never stalls a runtime worker.
//! `synchronous = FULL`: the log offset of the `webhooks` consumer is committed only after
//! the outbox rows are written, so they must survive a power cut, not only a crash.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store task failed: {0}")]
    Task(String),
    #[error("store lock poisoned")]
    Poisoned,
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

/// One event (an alert) as kept for the history and the webhook body.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Insertion order, the paging cursor of `/api/events`.
    pub seq: i64,
    /// The webhook body (also the `/api/events` item), JSON text.
    pub body: String,
}

/// A customer's subscription.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Never shown by the API (only used to sign).
    #[serde(skip)]
    pub secret: String,
    /// Event types to send; `None`: every type.
    pub events: Option<Vec<String>>,
    pub device: Option<String>,
    pub shipment: Option<String>,
    /// Creation time, unix ms.
    pub created_ms: i64,
}

impl Subscription {
    /// Whether the event with these attributes goes to this subscription (no filter: all).
    pub fn matches(&self, kind: &str, device: &str, shipment: Option<&str>) -> bool {
        self.events
            .as_ref()
            .is_none_or(|t| t.iter().any(|t| t == kind))
            && self.device.as_deref().is_none_or(|d| d == device)
            && self.shipment.as_deref().is_none_or(|s| Some(s) == shipment)
    }
}

/// Delivery state of an outbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Delivered,
    Dead,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivered => "delivered",
            Status::Dead => "dead",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "delivered" => Status::Delivered,
            "dead" => Status::Dead,
            _ => Status::Pending,
        }
    }
}

/// An outbox row due for an attempt, with what the attempt needs.
#[derive(Clone, Debug)]
pub struct Due {
    pub seq: i64,
    pub event_id: String,
    pub attempts: u32,
    pub created_ms: i64,
    pub url: String,
    pub secret: String,
    pub body: String,
}

/// One attempt, as listed by `GET /api/webhooks/{id}/deliveries`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attempt {
    /// Start of the attempt, unix ms.
    pub at_ms: i64,
    /// HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Transport error or a (truncated) non-2xx response body.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// One event's delivery to one subscription.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub event_id: String,
    pub status: Status,
    pub attempts: u32,
    /// Queued at, unix ms (the retry budget counts from here).
    pub created_ms: i64,
    /// Next attempt, unix ms (pending only).
    pub next_attempt_ms: Option<i64>,
    /// Delivered or dead-lettered at, unix ms.
    pub done_ms: Option<i64>,
    pub last_error: Option<String>,
    pub history: Vec<Attempt>,
}

/// Filters of `GET /api/events`.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Events at or after this time, unix ms.
    pub since_ms: Option<i64>,
    pub kind: Option<String>,
    pub device: Option<String>,
    pub shipment: Option<String>,
    /// Paging cursor: only rows with `seq > after`.
    pub after: Option<i64>,
    pub limit: usize,
}

/// What the consumer inserts per alert.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: String,
    pub kind: String,
    pub device: String,
    pub shipment: Option<String>,
    pub time_ms: i64,
    /// Ordering key: deliveries with the same key to one subscription go out in order.
    pub order_key: String,
    pub body: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  device TEXT NOT NULL,
  shipment TEXT,
  time_ms INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events(time_ms);
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT,
  device TEXT,
  shipment TEXT,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sub_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  order_key TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  next_ms INTEGER NOT NULL,
  done_ms INTEGER,
  last_error TEXT,
  UNIQUE(sub_id, event_id)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_ms);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox(sub_id, order_key, status, seq);
CREATE TABLE IF NOT EXISTS attempts (
  outbox_seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_row ON attempts(outbox_seq);
CREATE TABLE IF NOT EXISTS mqtt_last (
  key TEXT PRIMARY KEY,
  fix_ms INTEGER NOT NULL
);
";

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(super::audit::SCHEMA)?;
        conn.execute_batch(super::console::SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Inserts events (ignoring ids already stored: replays after a crash) and, in the same
    /// transaction, one outbox row per matching subscription. Returns how many outbox rows
    /// were added.
    pub async fn insert_events(
        &self,
        events: Vec<NewEvent>,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let subs = load_subscriptions(&tx)?;
            let mut queued = 0;
            {
                let mut ins_ev = tx.prepare_cached(
                    "INSERT OR IGNORE INTO events (id, type, device, shipment, time_ms, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut ins_out = tx.prepare_cached(
                    "INSERT OR IGNORE INTO outbox (sub_id, event_id, order_key, status, created_ms, next_ms)
                     VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
                )?;
                for e in &events {
                    ins_ev.execute(params![e.id, e.kind, e.device, e.shipment, e.time_ms, e.body])?;
                    for s in subs.iter().filter(|s| s.matches(&e.kind, &e.device, e.shipment.as_deref())) {
                        queued += ins_out.execute(params![s.id, e.id, e.order_key, now_ms])?;
                    }
                }
            }
            tx.commit()?;
            Ok(queued)
        })
        .await
    }

    /// Events matching `q`, oldest first.
    pub async fn events(&self, q: EventQuery) -> Result<Vec<EventRow>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body FROM events
                 WHERE seq > ?1 AND time_ms >= ?2
                   AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR device = ?4)
                   AND (?5 IS NULL OR shipment = ?5)
                 ORDER BY seq LIMIT ?6",
            )?;
            let rows = st
                .query_map(
                    params![
                        q.after.unwrap_or(0),
                        q.since_ms.unwrap_or(i64::MIN),
                        q.kind,
                        q.device,
                        q.shipment,
                        q.limit as i64
                    ],
                    |r| {
                        Ok(EventRow {
                            seq: r.get(0)?,
                            body: r.get(1)?,
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Stores a new subscription.
    pub async fn add_subscription(&self, s: Subscription) -> Result<(), StoreError> {
        self.run(move |c| {
            let events = s
                .events
                .as_ref()
                .map(|e| serde_json::to_string(e).unwrap_or_default());
            c.execute(
                "INSERT INTO subscriptions (id, url, secret, events, device, shipment, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.id,
                    s.url,
                    s.secret,
                    events,
                    s.device,
                    s.shipment,
                    s.created_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Every subscription, oldest first.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.run(|c| load_subscriptions(c)).await
    }

    /// One subscription.
    pub async fn subscription(&self, id: String) -> Result<Option<Subscription>, StoreError> {
        Ok(self.subscriptions().await?.into_iter().find(|s| s.id == id))
    }

    /// Deletes a subscription with its outbox and attempt log; false if it did not exist.
    pub async fn delete_subscription(&self, id: String) -> Result<bool, StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM attempts WHERE outbox_seq IN (SELECT seq FROM outbox WHERE sub_id = ?1)",
                [&id],
            )?;
            tx.execute("DELETE FROM outbox WHERE sub_id = ?1", [&id])?;
            let n = tx.execute("DELETE FROM subscriptions WHERE id = ?1", [&id])?;
            tx.commit()?;
            Ok(n > 0)
        })
        .await
    }

    /// Pending rows due at `now_ms` that are first in line for their (subscription, order
    /// key), oldest first, at most `limit`.
    pub async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Due>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT o.seq, o.event_id, o.attempts, o.created_ms, s.url, s.secret, e.body
                 FROM outbox o
                 JOIN subscriptions s ON s.id = o.sub_id
                 JOIN events e ON e.id = o.event_id
                 WHERE o.status = 'pending' AND o.next_ms <= ?1
                   AND NOT EXISTS (SELECT 1 FROM outbox p
                                   WHERE p.sub_id = o.sub_id AND p.order_key = o.order_key
                                     AND p.status = 'pending' AND p.seq < o.seq)
                 ORDER BY o.seq LIMIT ?2",
            )?;
            let rows = st
                .query_map(params![now_ms, limit as i64], |r| {
                    Ok(Due {
                        seq: r.get(0)?,
                        event_id: r.get(1)?,
                        attempts: r.get(2)?,
                        created_ms: r.get(3)?,
                        url: r.get(4)?,
                        secret: r.get(5)?,
                        body: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Earliest `next_ms` after `now_ms` of any pending row: when a waiting retry becomes
    /// due. (Rows already due but not sent are in flight or wait for a slot or for their
    /// predecessor, and an attempt ending wakes the dispatcher for those.)
    pub async fn next_due_ms(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT MIN(next_ms) FROM outbox WHERE status = 'pending' AND next_ms > ?1",
                [now_ms],
                |r| r.get::<_, Option<i64>>(0),
            )?)
        })
        .await
    }

    /// Records an attempt and the row's new state (`next_ms` for a retry).
    pub async fn record_attempt(
        &self,
        seq: i64,
        attempt: Attempt,
        status: Status,
        next_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            // An attempt's outcome lost to a power cut only means the event is sent again
            // (receivers de-duplicate by event id), so it skips the fsync that the
            // outbox rows themselves get (`synchronous = FULL` is restored below).
            c.pragma_update(None, "synchronous", "NORMAL")?;
            let r = record(c, seq, attempt, status, next_ms);
            c.pragma_update(None, "synchronous", "FULL")?;
            r
        })
        .await
    }

    /// Deliveries of a subscription with their attempts, newest first, at most `limit`.
    pub async fn deliveries(&self, sub: String, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, event_id, status, attempts, created_ms, next_ms, done_ms, last_error
                 FROM outbox WHERE sub_id = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let mut att = c.prepare_cached(
                "SELECT at_ms, status, error, duration_ms FROM attempts WHERE outbox_seq = ?1 ORDER BY rowid",
            )?;
            let rows: Vec<(i64, Delivery)> = st
                .query_map(params![sub, limit as i64], |r| {
                    let status = Status::parse(&r.get::<_, String>(2)?);
                    Ok((
                        r.get(0)?,
                        Delivery {
                            event_id: r.get(1)?,
                            status,
                            attempts: r.get(3)?,
                            created_ms: r.get(4)?,
                            next_attempt_ms: (status == Status::Pending).then_some(r.get(5)?),
                            done_ms: r.get(6)?,
                            last_error: r.get(7)?,
                            history: Vec::new(),
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, mut d) in rows {
                d.history = att
                    .query_map([seq], |r| {
                        Ok(Attempt {
                            at_ms: r.get(0)?,
                            status: r.get(1)?,
                            error: r.get(2)?,
                            duration_ms: r.get(3)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                out.push(d);
            }
            Ok(out)
        })
        .await
    }

    /// Re-queues a subscription's dead letters with a fresh retry budget; returns how many.
    pub async fn redrive(&self, sub: String, now_ms: i64) -> Result<usize, StoreError> {
        self.run(move |c| {
            Ok(c.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, created_ms = ?2, next_ms = ?2,
                        done_ms = NULL WHERE sub_id = ?1 AND status = 'dead'",
                params![sub, now_ms],
            )?)
        })
        .await
    }

    /// Count of rows per status (for metrics and tests).
    pub async fn outbox_counts(&self) -> Result<(u64, u64, u64), StoreError> {
        self.run(|c| {
            let n = |s: &str| -> Result<u64, rusqlite::Error> {
                let v: i64 =
                    c.query_row("SELECT COUNT(*) FROM outbox WHERE status = ?1", [s], |r| {
                        r.get(0)
                    })?;
                Ok(v.max(0) as u64)
            };
            Ok((n("pending")?, n("delivered")?, n("dead")?))
        })
        .await
    }

    /// The stored body of one event.
    pub async fn event_body(&self, id: String) -> Result<Option<String>, StoreError> {
        self.run(move |c| {
            Ok(
                c.query_row("SELECT body FROM events WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }
}

impl Store {
    /// Last published fix time (unix ms) per `device:<id>` / `shipment:<id>` (MQTT retained
    /// topics), so a restart never re-publishes an older position as current.
    pub async fn mqtt_last(&self) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        self.run(|c| {
            let mut st = c.prepare_cached("SELECT key, fix_ms FROM mqtt_last")?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Stores last published fix times (only ever moves forward).
    pub async fn set_mqtt_last(&self, rows: Vec<(String, i64)>) -> Result<(), StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO mqtt_last (key, fix_ms) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET fix_ms = MAX(fix_ms, excluded.fix_ms)",
                )?;
                for (k, v) in rows {
                    st.execute(params![k, v])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

impl Store {
    /// Deletes finished deliveries (and their attempts) done before `cutoff_ms`, and events
    /// older than `cutoff_ms` that no pending delivery still needs; returns (deliveries,
    /// events) deleted. Keeps the store bounded like the log (`storage.retention`).
    pub async fn prune(&self, cutoff_ms: i64) -> Result<(usize, usize), StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM attempts WHERE outbox_seq IN
                   (SELECT seq FROM outbox WHERE status != 'pending' AND done_ms < ?1)",
                [cutoff_ms],
            )?;
            let d = tx.execute(
                "DELETE FROM outbox WHERE status != 'pending' AND done_ms < ?1",
                [cutoff_ms],
            )?;
            let e = tx.execute(
                "DELETE FROM events WHERE time_ms < ?1
                   AND id NOT IN (SELECT event_id FROM outbox)",
                [cutoff_ms],
            )?;
            tx.execute("DELETE FROM audit WHERE time_ms < ?1", [cutoff_ms])?;
            tx.commit()?;
            Ok((d, e))
        })
        .await
    }
}

/// The body of [`Store::record_attempt`]: the attempt row and the outbox row's new state.
fn record(
    c: &mut Connection,
    seq: i64,
    attempt: Attempt,
    status: Status,
    next_ms: Option<i64>,
) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO attempts (outbox_seq, at_ms, status, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            seq,
            attempt.at_ms,
            attempt.status,
            attempt.error,
            attempt.duration_ms
        ],
    )?;
    let done = (status != Status::Pending).then_some(attempt.at_ms + attempt.duration_ms);
    tx.execute(
        "UPDATE outbox SET status = ?2, attempts = attempts + 1, next_ms = COALESCE(?3, next_ms),
                done_ms = ?4, last_error = ?5 WHERE seq = ?1",
        params![seq, status.as_str(), next_ms, done, attempt.error],
    )?;
    tx.commit()?;
    Ok(())
}

fn load_subscriptions(c: &Connection) -> Result<Vec<Subscription>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT id, url, secret, events, device, shipment, created_ms FROM subscriptions ORDER BY created_ms, id",
    )?;
    let rows = st
        .query_map([], |r| {
            let events: Option<String> = r.get(3)?;
            Ok(Subscription {
                id: r.get(0)?,
                url: r.get(1)?,
                secret: r.get(2)?,
                events: events.and_then(|e| serde_json::from_str(&e).ok()),
                device: r.get(4)?,
                shipment: r.get(5)?,
                created_ms: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
