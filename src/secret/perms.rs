//! The data directory holds secrets at rest (webhook signing secrets, API token hashes) and
//! every device's history, so only the gateway's user may read it: the directory is 0700 and
//! its files 0600.
//!
//! Two parts: [`restrict_umask`] (called by `trackgate serve` before anything is created) makes
//! every file and directory the process creates private from the start, and
//! [`make_private`] tightens a directory that already exists (an installation from before
//! this rule, or a directory created by an installer with the default mode).

use std::io;
use std::path::Path;

/// Mode of the data directory and of the directories in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Sets the process umask to 077: files are created 0600, directories 0700. Call once at
/// start, before any thread creates files (the umask is process-wide).
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Makes `dir` 0700 and everything below it private (directories 0700, files 0600). Symbolic
/// links are left alone (their mode means nothing, and their targets are not ours to change).
/// Returns how many entries were changed.
pub fn make_private(dir: &Path) -> io::Result<usize> {
    #[cfg(unix)]
    {
        tighten(dir, 0)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(0)
    }
}

/// Depth cap of the walk: the data directory is two levels deep (`wal/`); a deeper tree is
/// not ours.
#[cfg(unix)]
const MAX_DEPTH: usize = 4;

#[cfg(unix)]
fn tighten(dir: &Path, depth: usize) -> io::Result<usize> {
    let mut changed = usize::from(set_mode(dir, DIR_MODE)?);
    if depth >= MAX_DEPTH {
        return Ok(changed);
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            changed += tighten(&entry.path(), depth + 1)?;
        } else if kind.is_file() {
            changed += usize::from(set_mode(&entry.path(), FILE_MODE)?);
        }
    }
    Ok(changed)
}

/// Sets the permission bits to `mode` when they differ; true if changed.
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.permissions().mode() & 0o7777 == mode {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn tightens_the_tree_and_is_idempotent() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("data");
        std::fs::create_dir_all(d.join("wal")).unwrap();
        std::fs::write(d.join("outputs.sqlite"), b"x").unwrap();
        std::fs::write(d.join("wal/00000001.seg"), b"x").unwrap();
        for p in [&d, &d.join("wal")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for f in ["outputs.sqlite", "wal/00000001.seg"] {
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(make_private(&d).unwrap(), 4);
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("wal")), 0o700);
        assert_eq!(mode(&d.join("outputs.sqlite")), 0o600);
        assert_eq!(mode(&d.join("wal/00000001.seg")), 0o600);
        assert_eq!(make_private(&d).unwrap(), 0);
    }
}
