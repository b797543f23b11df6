//! SQLite store of shipments (spec + tracking state) and learned data, under `storage.dir`.
//!
//! State is saved after each log batch, before the consumer's offset commits. A crash between
//! the two replays the batch against the saved state; the cleaner rejects fixes not newer
//! than the last clean one, so the replay changes nothing (and alert ids are deterministic).

use super::engine::Learned;
use super::shipment::ShipmentSpec;
use super::tracker::{TrackState, Tracker};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};

/// File name of the store inside `storage.dir`.
pub const FILE_NAME: &str = "tracking.sqlite3";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("tracking store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("tracking store {path}: shipment {id:?} has an unreadable row: {source}")]
    Corrupt {
        path: PathBuf,
        id: String,
        source: serde_json::Error,
    },
    #[error("tracking store: cannot encode state: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What a restart restores.
pub struct Loaded {
    /// Every shipment with its state.
    pub shipments: Vec<(ShipmentSpec, TrackState)>,
    /// Learned data, if saved.
    pub learned: Option<Learned>,
}

impl Store {
    /// Opens (creating) `<dir>/tracking.sqlite3`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE_NAME);
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let _ = std::fs::create_dir_all(dir);
        let conn = Connection::open(&path).map_err(wrap)?;
        // WAL journal + FULL sync: a saved state is on disk before the log offset commits;
        // the journal keeps that cheap enough for every batch.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS shipments (id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(wrap)?;
        Ok(Store { conn, path })
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads everything back.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, spec, state FROM shipments ORDER BY id")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut shipments = Vec::new();
        for row in rows {
            let (id, spec, state) = row.map_err(|e| self.sql(e))?;
            let corrupt = |source| StoreError::Corrupt {
                path: self.path.clone(),
                id: id.clone(),
                source,
            };
            let spec: ShipmentSpec = serde_json::from_str(&spec).map_err(corrupt)?;
            let state: TrackState = serde_json::from_str(&state).map_err(corrupt)?;
            shipments.push((spec, state));
        }
        let learned: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'learned'", [], |r| {
                r.get(0)
            })
            .map(Some)
            .or_else(|e| {
                if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| self.sql(e))?;
        let learned = match learned {
            Some(s) => Some(
                serde_json::from_str(&s).map_err(|source| StoreError::Corrupt {
                    path: self.path.clone(),
                    id: "(learned)".into(),
                    source,
                })?,
            ),
            None => None,
        };
        Ok(Loaded { shipments, learned })
    }

    /// Saves changed shipments and (optionally) learned data in one transaction.
    pub fn save(
        &mut self,
        trackers: &[&Tracker],
        learned: Option<&Learned>,
        removed: &std::collections::BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(trackers.len());
        for t in trackers {
            rows.push((
                t.spec.id.clone(),
                serde_json::to_string(&t.spec)?,
                serde_json::to_string(&t.state)?,
            ));
        }
        let learned = learned.map(serde_json::to_string).transpose()?;
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        for (id, spec, state) in &rows {
            tx.execute(
                "INSERT INTO shipments (id, spec, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, state = excluded.state",
                params![id, spec, state],
            )
            .map_err(wrap)?;
        }
        for id in removed {
            tx.execute("DELETE FROM shipments WHERE id = ?1", params![id])
                .map_err(wrap)?;
        }
        if let Some(l) = learned {
            tx.execute("INSERT INTO meta (key, value) VALUES ('learned', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![l])
                .map_err(wrap)?;
        }
        tx.commit().map_err(wrap)
    }
}
