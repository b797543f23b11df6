//! Persisted consumer offsets: one small file per consumer under `<dir>/consumers/`.
//!
//! The file holds the decimal offset of the next record the consumer will read (everything
//! below it is processed), then a newline. It is replaced atomically: write a temp file,
//! fsync it, rename over the old one, fsync the directory — a crash leaves the old or the new
//! value, never a torn one.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::WalError;

const SUFFIX: &str = ".offset";
const TMP_SUFFIX: &str = ".offset.tmp";
/// Longest consumer name (it becomes a file name).
pub(crate) const MAX_NAME_LEN: usize = 64;

/// Consumer names become file names: keep them to a portable, unambiguous alphabet.
pub(crate) fn validate_name(name: &str) -> Result<(), WalError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(WalError::InvalidConsumerName(name.to_owned()))
    }
}

/// Directory holding the offset files.
pub(crate) fn consumers_dir(wal_dir: &Path) -> PathBuf {
    wal_dir.join("consumers")
}

fn offset_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{SUFFIX}"))
}

/// fsync a directory so a create/rename/unlink in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io("fsync directory", dir, e))
}

/// Load every consumer offset; stale temp files from a crash mid-commit are removed.
pub(crate) fn load(dir: &Path) -> Result<BTreeMap<String, u64>, WalError> {
    fs::create_dir_all(dir).map_err(|e| WalError::io("create directory", dir, e))?;
    let mut out = BTreeMap::new();
    let rd = fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if file.ends_with(TMP_SUFFIX) {
            fs::remove_file(&path).map_err(|e| WalError::io("remove temp offset", &path, e))?;
            continue;
        }
        let Some(name) = file.strip_suffix(SUFFIX) else {
            continue;
        };
        if validate_name(name).is_err() {
            continue;
        }
        let text = fs::read_to_string(&path).map_err(|e| WalError::io("read offset", &path, e))?;
        let offset = text.trim().parse::<u64>().map_err(|_| WalError::Corrupt {
            segment: path.clone(),
            position: 0,
            reason: "consumer offset file is not a decimal u64",
        })?;
        out.insert(name.to_owned(), offset);
    }
    Ok(out)
}

/// Atomically persist `offset` for `name` (blocking: call from a blocking context).
pub(crate) fn store(dir: &Path, name: &str, offset: u64) -> Result<(), WalError> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let dst = offset_path(dir, name);
    let mut f = File::create(&tmp).map_err(|e| WalError::io("create temp offset", &tmp, e))?;
    f.write_all(format!("{offset}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| WalError::io("write temp offset", &tmp, e))?;
    fs::rename(&tmp, &dst).map_err(|e| WalError::io("rename consumer offset", &dst, e))?;
    sync_dir(dir)
}

/// Remove a consumer's file (it no longer pins segments).
pub(crate) fn remove(dir: &Path, name: &str) -> Result<(), WalError> {
    let path = offset_path(dir, name);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::io("remove consumer offset", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("influx").is_ok());
        assert!(validate_name("mqtt-out_2").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("../etc").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn store_load_remove_and_stale_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = consumers_dir(tmp.path());
        assert!(load(&dir).unwrap().is_empty());
        store(&dir, "influx", 42).unwrap();
        store(&dir, "influx", 43).unwrap();
        store(&dir, "mqtt", 7).unwrap();
        fs::write(dir.join("webhook.offset.tmp"), "9").unwrap();
        let got = load(&dir).unwrap();
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![("influx".into(), 43), ("mqtt".into(), 7)]
        );
        assert!(!dir.join("webhook.offset.tmp").exists());
        remove(&dir, "mqtt").unwrap();
        assert_eq!(load(&dir).unwrap().len(), 1);
    }
}
