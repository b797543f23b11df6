//! The embedded store of live outputs (SQLite under `storage.dir`): the event history behind
//! `GET /api/events`, webhook subscriptions, the delivery outbox and its attempt log (the
//! console's acknowledgements and tracking links: `console.rs`).
//!
//! One file, one connection behind a mutex: every statement is small and indexed, so callers
//! hold the lock for microseconds; async callers go through [`Store::run`], which moves the
//! work to the blocking pool so a slow disk never stalls a runtime worker.
//! `synchronous = FULL`: the log offset of the `webhooks` consumer is committed only after
//! the outbox rows are written, so they must survive a power cut, not only a crash.
//!
//! Subscriptions, the outbox and the attempt log are in [`super::outbox`].
//!
//! # Migrations
//! The schema only grows: tables are created if missing, and columns added after a table's
//! first release are listed in [`ADDED_COLUMNS`] and added with `ALTER TABLE … ADD COLUMN`
//! when an existing file lacks them (checked with `PRAGMA table_info` at every open, so a
//! store written by any earlier version opens and keeps its rows). Values a new column needs
//! for old rows are filled in the same step.

pub use super::outbox::{
    Attempt, Delivery, Due, Status, Subscription, SubscriptionRules, RESPONSE_EXCERPT_BYTES,
};

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

pub use crate::sqlite_task::StoreError;

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The rules new subscriptions must pass (see [`SubscriptionRules`]).
    pub(super) rules: Arc<RwLock<SubscriptionRules>>,
}

/// One event (an alert) as kept for the history and the webhook body.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Insertion order, the paging cursor of `/api/events`.
    pub seq: i64,
    /// The webhook body (also the `/api/events` item), JSON text.
    pub body: String,
}

/// Filters of `GET /api/events`.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Events at or after this time, unix ms.
    pub since_ms: Option<i64>,
    pub kind: Option<String>,
    pub device: Option<String>,
    pub shipment: Option<String>,
    /// Only this customer's events (a customer's token).
    pub customer: Option<String>,
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
    /// The customer the event belongs to (`Alert::customer`): only subscriptions of that
    /// customer, and untenanted ones, receive it.
    pub customer: Option<String>,
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

/// Columns added after their table's first release: (table, column, declaration).
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    // The event's customer, matched against a subscription's.
    ("events", "customer", "TEXT"),
    // A subscription made with a customer token receives only that customer's events.
    ("subscriptions", "customer", "TEXT"),
    // scheme://host:port of the URL: the unit of the per-endpoint in-flight limit.
    ("subscriptions", "endpoint", "TEXT"),
    // The secret being rotated out, still signed with until `secret_prev_until_ms`.
    ("subscriptions", "secret_prev", "TEXT"),
    ("subscriptions", "secret_prev_until_ms", "INTEGER"),
    // A receiver's answer: its length for everyone, its first bytes for admins.
    ("attempts", "response_bytes", "INTEGER"),
    ("attempts", "response", "TEXT"),
];

/// Brings a store of any earlier version up to date (see the module doc).
fn migrate(c: &Connection) -> Result<(), StoreError> {
    for (table, column, decl) in ADDED_COLUMNS {
        let mut st = c.prepare(&format!("PRAGMA table_info({table})"))?;
        let present = st
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|name| name == column);
        if !present {
            c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    c.execute_batch(
        "CREATE INDEX IF NOT EXISTS subscriptions_customer ON subscriptions(customer);
         CREATE INDEX IF NOT EXISTS events_customer ON events(customer, seq);",
    )?;
    // Subscriptions stored before endpoints existed.
    let old: Vec<(String, String)> = c
        .prepare("SELECT id, url FROM subscriptions WHERE endpoint IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, url) in old {
        c.execute(
            "UPDATE subscriptions SET endpoint = ?2 WHERE id = ?1",
            params![id, super::outbox::endpoint(&url)],
        )?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        conn.execute_batch(super::audit::SCHEMA)?;
        conn.execute_batch(super::console::SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            rules: Arc::default(),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        crate::sqlite_task::run(&self.conn, f).await
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
            let subs = super::outbox::load_subscriptions(&tx)?;
            let mut queued = 0;
            {
                let mut ins_ev = tx.prepare_cached(
                    "INSERT OR IGNORE INTO events (id, type, device, shipment, customer, time_ms, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                let mut ins_out = tx.prepare_cached(
                    "INSERT OR IGNORE INTO outbox (sub_id, event_id, order_key, status, created_ms, next_ms)
                     VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
                )?;
                for e in &events {
                    ins_ev.execute(params![e.id, e.kind, e.device, e.shipment, e.customer, e.time_ms, e.body])?;
                    for s in subs.iter().filter(|s| s.matches(e)) {
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
                   AND (?5 IS NULL OR shipment = ?5) AND (?6 IS NULL OR customer = ?6)
                 ORDER BY seq LIMIT ?7",
            )?;
            let rows = st
                .query_map(
                    params![
                        q.after.unwrap_or(0),
                        q.since_ms.unwrap_or(i64::MIN),
                        q.kind,
                        q.device,
                        q.shipment,
                        q.customer,
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

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
