//! `trackgate devices import FILE.csv` / `trackgate devices export`: the device registry
//! ([`crate::registry`]) from and to CSV, on the registry file under `storage.dir`.
//!
//! Safe while `serve` runs on the same directory: SQLite serialises the writers, and the
//! server picks an import up within [`crate::registry::WATCH_EVERY`] (no restart).
//! An import reads and checks the whole file first, then writes every row in one
//! transaction: a bad row (named by its line) leaves the registry as it was.

use crate::registry::{csv, Imported, Registry};
use std::io::Write;
use std::path::Path;

/// Why a command failed; `bad_input` errors are the file's fault (exit code 2).
#[derive(Debug)]
pub struct ToolError {
    pub message: String,
    pub bad_input: bool,
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn failed(message: String) -> ToolError {
    ToolError {
        message,
        bad_input: false,
    }
}

fn open(storage_dir: &Path) -> Result<Registry, ToolError> {
    std::fs::create_dir_all(storage_dir)
        .map_err(|e| failed(format!("{}: {e}", storage_dir.display())))?;
    Registry::open(storage_dir).map_err(|e| failed(e.to_string()))
}

/// Imports `file` into the registry under `storage_dir`.
pub fn import(storage_dir: &Path, file: &Path) -> Result<Imported, ToolError> {
    let bad = |message: String| ToolError {
        message: format!("{}: {message}", file.display()),
        bad_input: true,
    };
    let f = std::fs::File::open(file).map_err(|e| bad(e.to_string()))?;
    let rows = csv::parse(std::io::BufReader::new(f)).map_err(|e| bad(e.to_string()))?;
    let reg = open(storage_dir)?;
    reg.import(rows).map_err(|e| match e {
        crate::registry::RegistryError::Line { .. } => bad(e.to_string()),
        other => failed(other.to_string()),
    })
}

/// Writes every registered device as CSV (header first, id order) to `out`.
pub fn export(storage_dir: &Path, out: impl Write) -> Result<usize, ToolError> {
    let reg = open(storage_dir)?;
    let devices = reg.devices(&Default::default(), |_| true);
    csv::write(out, &devices).map_err(|e| failed(e.to_string()))?;
    Ok(devices.len())
}
