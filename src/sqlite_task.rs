//! An embedded SQLite store shared by async code: one connection behind a mutex, each
//! operation run on tokio's blocking pool so a slow disk never stalls a runtime worker.
//! The output store and the command queue both work this way.

use rusqlite::Connection;
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

/// Runs `f` with the connection on the blocking pool.
pub async fn run<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = conn.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut c)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?
}
