//! Authentication codes of devices whose protocol has them (JT/T 808): issued at
//! registration, checked at every authentication, kept durably in
//! `<storage.dir>/devices.sqlite3`.
//!
//! Why a table and not the log: a terminal registers once in its life and keeps its code in
//! flash for years, while the log forgets records after `storage.retention`. The codes are a
//! small keyed set that is read on every login and rarely written, like API tokens, so they
//! live in an embedded SQLite file (WAL journal, `synchronous = FULL`) next to the log and are
//! all held in memory: an authentication is a hash lookup, never a disk read.
//!
//! # The rules
//! - An unknown terminal that registers gets a fresh random code (16 characters of Crockford
//!   base32, 80 bits from the thread CSPRNG). It is on disk before the answer carrying it is
//!   written, so a restart never forgets a code a terminal holds.
//! - Registering again before the code was ever used (the answer got lost) gets the same code.
//! - Registering again once the code has authenticated is refused ("terminal already
//!   registered"): registration itself proves nothing (anyone can send the victim's phone
//!   number), so handing out the code again — or a new one — would give the terminal to
//!   whoever asks. The terminal keeps authenticating with the code it holds. A terminal that
//!   lost its code (replaced, factory reset) is released by deleting its row (see README).
//! - An authentication is accepted only with the stored code (constant-time comparison);
//!   a terminal that never registered has no code and is refused.
//! - At most [`MAX_UNUSED`] codes that never authenticated are kept; past it the oldest is
//!   forgotten, so a flood of registrations under made-up ids cannot grow the table forever.

use crate::model::DeviceId;
use rusqlite::{params, Connection};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// File name of the store inside `storage.dir`.
pub const FILE_NAME: &str = "devices.sqlite3";

/// Most issued codes that never authenticated.
pub const MAX_UNUSED: usize = 100_000;

/// Length of an issued code, characters.
pub const CODE_LEN: usize = 16;

/// Crockford's base32 alphabet: no I, L, O, U to misread when an installer types a code.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS auth_codes (
  device TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  code TEXT NOT NULL,
  issued_ms INTEGER NOT NULL,
  used_ms INTEGER
);";

/// Why the store failed (the frame that needed it is not answered; the device retries).
#[derive(Debug, thiserror::Error)]
pub enum CodesError {
    #[error("device code store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("device code store: {0}")]
    Task(String),
}

/// What a registration gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registered {
    /// The code to send the terminal (new, or the one issued before and never used).
    Issued(String),
    /// The terminal's code has authenticated before: registration is refused.
    Taken,
}

struct Entry {
    code: String,
    used: bool,
}

#[derive(Default)]
struct Table {
    codes: HashMap<DeviceId, Entry>,
    /// Ids whose code never authenticated, oldest first; entries that became used since are
    /// skipped lazily (and dropped when they outnumber the live ones).
    unused: VecDeque<DeviceId>,
    /// How many codes never authenticated.
    unused_live: usize,
}

impl Table {
    fn issue(&mut self, id: &DeviceId, code: String) {
        self.codes.insert(id.clone(), Entry { code, used: false });
        self.unused.push_back(id.clone());
        self.unused_live += 1;
    }

    fn mark_used(&mut self, id: &DeviceId) {
        if let Some(e) = self.codes.get_mut(id) {
            if !e.used {
                e.used = true;
                self.unused_live = self.unused_live.saturating_sub(1);
            }
        }
        if self.unused.len() > 2 * self.unused_live + 1024 {
            let codes = &self.codes;
            self.unused
                .retain(|d| codes.get(d).is_some_and(|e| !e.used));
        }
    }
}

/// The durable table of codes plus its in-memory copy.
pub struct DeviceCodes {
    db: Option<Arc<Mutex<Connection>>>,
    path: PathBuf,
    table: Mutex<Table>,
    /// One write at a time, held across the disk write: two connections registering the same
    /// new id must not both issue a code.
    writer: tokio::sync::Mutex<()>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A fresh random code.
fn new_code() -> String {
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

impl DeviceCodes {
    /// Opens (creating) `<dir>/devices.sqlite3` and loads every code.
    pub fn open(dir: &Path) -> Result<Self, CodesError> {
        let path = dir.join(FILE_NAME);
        let wrap = |source| CodesError::Sqlite {
            path: path.clone(),
            source,
        };
        let _ = std::fs::create_dir_all(dir);
        let conn = Connection::open(&path).map_err(wrap)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .and_then(|_| conn.busy_timeout(std::time::Duration::from_secs(5)))
            .and_then(|_| conn.execute_batch(SCHEMA))
            .map_err(wrap)?;
        let mut table = Table::default();
        {
            let mut stmt = conn
                .prepare("SELECT device, code, used_ms FROM auth_codes ORDER BY issued_ms")
                .map_err(wrap)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?.is_some(),
                    ))
                })
                .map_err(wrap)?;
            for row in rows {
                let (device, code, used) = row.map_err(wrap)?;
                let Ok(id) = DeviceId::new(device) else {
                    continue;
                };
                table.issue(&id, code);
                if used {
                    table.mark_used(&id);
                }
            }
        }
        Ok(DeviceCodes {
            db: Some(Arc::new(Mutex::new(conn))),
            path,
            table: Mutex::new(table),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// A store that keeps nothing across restarts (unit tests).
    pub fn in_memory() -> Self {
        DeviceCodes {
            db: None,
            path: PathBuf::from(":memory:"),
            table: Mutex::new(Table::default()),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of codes held.
    pub fn len(&self) -> usize {
        self.table().codes.len()
    }

    /// True when no code is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs one statement on the blocking pool (nothing when in memory).
    async fn write(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), CodesError> {
        let Some(db) = self.db.clone() else {
            return Ok(());
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let c = db.lock().unwrap_or_else(|e| e.into_inner());
            f(&c).map_err(|source| CodesError::Sqlite { path, source })
        })
        .await
        .map_err(|e| CodesError::Task(e.to_string()))?
    }

    /// A registration of `id` (see the module doc for the rules).
    pub async fn register(
        &self,
        protocol: &'static str,
        id: &DeviceId,
    ) -> Result<Registered, CodesError> {
        let _w = self.writer.lock().await;
        if let Some(e) = self.table().codes.get(id) {
            return Ok(if e.used {
                Registered::Taken
            } else {
                Registered::Issued(e.code.clone())
            });
        }
        let code = new_code();
        let (dev, c) = (id.as_str().to_string(), code.clone());
        self.write(move |db| {
            db.execute(
                "INSERT OR REPLACE INTO auth_codes (device, protocol, code, issued_ms, used_ms)
                 VALUES (?1, ?2, ?3, ?4, NULL)",
                params![dev, protocol, c, now_ms()],
            )
            .map(|_| ())
        })
        .await?;
        let evict = {
            let mut t = self.table();
            t.issue(id, code.clone());
            oldest_unused_over_cap(&mut t)
        };
        if let Some(old) = evict {
            tracing::info!(device = %old, "device code store: oldest never-used code forgotten (more than {MAX_UNUSED})");
            let dev = old.as_str().to_string();
            self.write(move |db| {
                db.execute("DELETE FROM auth_codes WHERE device = ?1", params![dev])
                    .map(|_| ())
            })
            .await?;
        }
        Ok(Registered::Issued(code))
    }

    /// True when `presented` is `id`'s code. The first success marks the code used (on disk
    /// before it returns), which ends re-registration for that terminal.
    pub async fn authenticate(&self, id: &DeviceId, presented: &[u8]) -> Result<bool, CodesError> {
        let first_use = {
            let t = self.table();
            match t.codes.get(id) {
                Some(e) if bool::from(e.code.as_bytes().ct_eq(presented)) => !e.used,
                _ => return Ok(false),
            }
        };
        if first_use {
            let _w = self.writer.lock().await;
            let dev = id.as_str().to_string();
            self.write(move |db| {
                db.execute(
                    "UPDATE auth_codes SET used_ms = ?1 WHERE device = ?2",
                    params![now_ms(), dev],
                )
                .map(|_| ())
            })
            .await?;
            self.table().mark_used(id);
        }
        Ok(true)
    }
}

/// Pops the oldest never-used id once more than [`MAX_UNUSED`] are held, forgetting its code.
fn oldest_unused_over_cap(t: &mut Table) -> Option<DeviceId> {
    while t.unused_live > MAX_UNUSED {
        let id = t.unused.pop_front()?;
        if t.codes.get(&id).is_some_and(|e| !e.used) {
            t.codes.remove(&id);
            t.unused_live -= 1;
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DeviceId {
        DeviceId::new(s).unwrap()
    }

    #[tokio::test]
    async fn register_then_authenticate_and_the_rules_of_registering_again() {
        let c = DeviceCodes::in_memory();
        let a = id("013345678906");
        let Registered::Issued(code) = c.register("jt808", &a).await.unwrap() else {
            panic!("issued")
        };
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        // The answer got lost: the same code again.
        assert_eq!(
            c.register("jt808", &a).await.unwrap(),
            Registered::Issued(code.clone())
        );
        assert!(!c.authenticate(&a, b"013345678906").await.unwrap());
        assert!(!c.authenticate(&id("1"), code.as_bytes()).await.unwrap());
        assert!(c.authenticate(&a, code.as_bytes()).await.unwrap());
        assert!(c.authenticate(&a, code.as_bytes()).await.unwrap(), "again");
        assert_eq!(c.register("jt808", &a).await.unwrap(), Registered::Taken);
        // Two terminals never share a code.
        let Registered::Issued(other) = c.register("jt808", &id("2")).await.unwrap() else {
            panic!("issued")
        };
        assert_ne!(other, code);
    }

    #[tokio::test]
    async fn codes_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = id("00000866496077582164");
        let code = {
            let c = DeviceCodes::open(dir.path()).unwrap();
            let Registered::Issued(code) = c.register("jt808", &a).await.unwrap() else {
                panic!("issued")
            };
            assert!(c.authenticate(&a, code.as_bytes()).await.unwrap());
            code
        };
        let c = DeviceCodes::open(dir.path()).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c.authenticate(&a, code.as_bytes()).await.unwrap());
        assert!(!c.authenticate(&a, b"0000000000000000").await.unwrap());
        assert_eq!(
            c.register("jt808", &a).await.unwrap(),
            Registered::Taken,
            "used survives too"
        );
    }

    #[test]
    fn the_oldest_unused_code_goes_first_past_the_cap() {
        let mut t = Table::default();
        for i in 0..=MAX_UNUSED + 1 {
            t.issue(&id(&i.to_string()), String::new());
        }
        t.mark_used(&id("0"));
        // Id 0 became used: it is skipped, id 1 is the oldest unused.
        assert_eq!(oldest_unused_over_cap(&mut t), Some(id("1")));
        assert!(t.codes.contains_key(&id("0")) && !t.codes.contains_key(&id("1")));
        assert_eq!(oldest_unused_over_cap(&mut t), None);
    }
}
