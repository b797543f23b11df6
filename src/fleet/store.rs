//! SQLite store of geofences and of each device's fleet-event state,
//! `<storage.dir>/fleet.sqlite`.
//!
//! Device state is saved after each log batch's events are durable in the log and before the
//! consumer's offset commits. A crash in between replays the batch against the older state:
//! the same fixes from the same state give the same event ids, which the outputs deduplicate.
//!
//! # Migrations
//! Tables are created if missing; the schema only grows (new columns would be added with
//! `ALTER TABLE … ADD COLUMN` at open, as in `outputs::store`).

use super::detect::DeviceState;
use super::geofence::Geofence;
use crate::model::DeviceId;
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// File name of the store inside `storage.dir`.
pub const FILE_NAME: &str = "fleet.sqlite";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("fleet store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("fleet store {path}: row {key:?} is unreadable: {source}")]
    Corrupt {
        path: PathBuf,
        key: String,
        source: serde_json::Error,
    },
    #[error("fleet store: cannot encode: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS geofences (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

impl Store {
    /// Opens (creating) `<dir>/fleet.sqlite`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE_NAME);
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let _ = std::fs::create_dir_all(dir);
        let conn = Connection::open(&path).map_err(wrap)?;
        // FULL sync: state must be on disk before the log offset commits.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(wrap)?;
        conn.execute_batch(SCHEMA).map_err(wrap)?;
        conn.execute_batch(super::report_store::SCHEMA)
            .map_err(wrap)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_ms', ?1)",
            params![chrono::Utc::now().timestamp_millis().to_string()],
        )
        .map_err(wrap)?;
        Ok(Store { conn, path })
    }

    /// When the store was first created: fixes received before it only warm the device
    /// states up (see [`super::detect::Detector::quiet_before`]).
    pub fn created(&self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        let ms: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'created_ms'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.sql(e))?;
        Ok(ms
            .parse::<i64>()
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .unwrap_or_default())
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn rows(&self, query: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self.conn.prepare(query).map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<(String, String)>, _>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    fn corrupt(&self, key: &str, source: serde_json::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            key: key.to_string(),
            source,
        }
    }

    /// Every geofence.
    pub fn geofences(&self) -> Result<Vec<Geofence>, StoreError> {
        self.rows("SELECT id, body FROM geofences ORDER BY id")?
            .into_iter()
            .map(|(id, body)| serde_json::from_str(&body).map_err(|e| self.corrupt(&id, e)))
            .collect()
    }

    /// Every device's saved state.
    pub fn device_states(&self) -> Result<HashMap<DeviceId, DeviceState>, StoreError> {
        let mut out = HashMap::new();
        for (dev, body) in self.rows("SELECT device, state FROM device_state")? {
            let Ok(id) = DeviceId::new(dev.clone()) else {
                continue; // only valid ids are ever saved
            };
            let st = serde_json::from_str(&body).map_err(|e| self.corrupt(&dev, e))?;
            out.insert(id, st);
        }
        Ok(out)
    }

    /// Creates or replaces a geofence.
    pub fn put(&self, g: &Geofence) -> Result<(), StoreError> {
        let body = serde_json::to_string(g)?;
        self.conn
            .execute(
                "INSERT INTO geofences (id, body) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                params![g.id, body],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Deletes a geofence; whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM geofences WHERE id = ?1", params![id])
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    /// Saves device states in one transaction.
    pub fn save_states(&mut self, states: &[(DeviceId, DeviceState)]) -> Result<(), StoreError> {
        self.save(states, &[])
    }

    /// The connection, for the report queries ([`super::report_store`]).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Saves device states and the report rows they finished, in one transaction.
    pub fn save(
        &mut self,
        states: &[(DeviceId, DeviceState)],
        report_rows: &[(DeviceId, super::trips::Row)],
    ) -> Result<(), StoreError> {
        let rows = states
            .iter()
            .map(|(d, s)| Ok((d.as_str().to_string(), serde_json::to_string(s)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO device_state (device, state) VALUES (?1, ?2)
                     ON CONFLICT(device) DO UPDATE SET state = excluded.state",
                )
                .map_err(wrap)?;
            for (d, s) in &rows {
                st.execute(params![d, s]).map_err(wrap)?;
            }
        }
        super::report_store::write(&tx, report_rows).map_err(wrap)?;
        tx.commit().map_err(wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::geofence::{Area, Circle};

    #[test]
    fn geofences_and_states_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let g = Geofence {
            id: "g1".into(),
            name: "Depot".into(),
            area: Area::Circle(Circle {
                lat: 1.0,
                lon: 2.0,
                radius_m: 3.0,
            }),
            devices: vec![DeviceId::new("7").unwrap()],
            customer: Some("acme".into()),
            speed_limit_kmh: Some(30.0),
        };
        let dev = DeviceId::new("356307042441013").unwrap();
        let st = DeviceState {
            ignition: Some(true),
            ..DeviceState::default()
        };
        {
            let mut s = Store::open(dir.path()).unwrap();
            s.put(&g).unwrap();
            s.put(&Geofence {
                id: "g2".into(),
                ..g.clone()
            })
            .unwrap();
            assert!(s.delete("g2").unwrap() && !s.delete("g2").unwrap());
            s.save_states(&[(dev.clone(), st.clone())]).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let created = s.created().unwrap();
        assert!((chrono::Utc::now() - created).num_seconds() < 60);
        assert_eq!(Store::open(dir.path()).unwrap().created().unwrap(), created);
        assert_eq!(s.geofences().unwrap(), vec![g]);
        assert_eq!(s.device_states().unwrap().get(&dev), Some(&st));
    }
}
