//! The audit trail's table in the output store: one row per [`AuditEntry`] read from the
//! log, in log order (`seq`), pruned with the rest of the store after `storage.retention`.

use super::store::{Store, StoreError};
use crate::model::AuditEntry;
use rusqlite::params;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  time_ms INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time_ms);
";

impl Store {
    /// Appends audit entries (the outputs consumer, in log order); an entry already stored
    /// (a replay after a crash) is ignored.
    pub async fn insert_audit(&self, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
        self.run(move |c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO audit (id, time_ms, body) VALUES (?1, ?2, ?3)",
                )?;
                for e in &entries {
                    let body = serde_json::to_string(e).unwrap_or_default();
                    st.execute(params![e.id, e.time.timestamp_millis(), body])?;
                }
            }
            Ok(tx.commit()?)
        })
        .await
    }

    /// Up to `limit` entries after `seq` (oldest first), with their paging cursor.
    pub async fn audit(
        &self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
        self.run(move |c| {
            let mut st = c.prepare_cached(
                "SELECT seq, body FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after.unwrap_or(0), limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, body) = row?;
                if let Ok(e) = serde_json::from_str(&body) {
                    out.push((seq, e));
                }
            }
            Ok(out)
        })
        .await
    }
}
