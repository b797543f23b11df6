//! The data directory holds secrets at rest (webhook signing secrets, API token hashes) and
//! every device's history, so only the gateway's user may read it: the directory is 0700 and
//! its files 0600.
//!
//! Two parts: [`restrict_umask`] (called by `trackgate serve` before anything is created) makes
//! every file and directory the process creates private from the start, and
//! [`make_private`] tightens a data directory that already exists (an installation from before
//! this rule, or a directory created by an installer with the default mode).

use std::io;
use std::path::Path;

/// Sets the process umask to 077: files are created 0600, directories 0700. Call once at
/// start, before any thread creates files (the umask is process-wide).
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Makes `dir` private without touching what is not trackgate's: the directory and its
/// subdirectory `wal/` lose every group and other permission (0700 for a directory
/// trackgate created), and so do the files directly in `dir` and below `wal/` (0600). The
/// owner's bits are kept, so a `storage.dir` pointed at a directory that holds other things
/// loses nothing but outside access; anything else below it is unreachable for other users
/// once `dir` is 0700. Symbolic links are left alone. Returns how many entries changed.
pub fn make_private(dir: &Path) -> io::Result<usize> {
    #[cfg(unix)]
    {
        tighten(dir, true)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(0)
    }
}

/// Subdirectories of the data directory that are trackgate's own and tightened throughout.
#[cfg(unix)]
const OWN_SUBDIRS: &[&str] = &["wal"];

#[cfg(unix)]
fn tighten(dir: &Path, top: bool) -> io::Result<usize> {
    let mut changed = usize::from(restrict(dir)?);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let own = OWN_SUBDIRS.iter().any(|d| entry.file_name() == *d);
        if kind.is_dir() && (own || !top) {
            changed += tighten(&entry.path(), false)?;
        } else if kind.is_file() {
            changed += usize::from(restrict(&entry.path())?);
        }
    }
    Ok(changed)
}

/// Clears the group and other permission bits; true if any was set.
#[cfg(unix)]
fn restrict(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))?;
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
        std::fs::create_dir_all(d.join("backup/old")).unwrap();
        std::fs::write(d.join("outputs.sqlite"), b"x").unwrap();
        std::fs::write(d.join("wal/00000001.seg"), b"x").unwrap();
        std::fs::write(d.join("backup/old/notes"), b"x").unwrap();
        for p in [&d, &d.join("wal"), &d.join("backup")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(
            d.join("backup/old/notes"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        for f in ["outputs.sqlite", "wal/00000001.seg"] {
            std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(make_private(&d).unwrap(), 4);
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("wal")), 0o700);
        assert_eq!(mode(&d.join("outputs.sqlite")), 0o600);
        assert_eq!(mode(&d.join("wal/00000001.seg")), 0o600);
        // Not trackgate's: left as it was (unreachable for others through `d` anyway).
        assert_eq!(mode(&d.join("backup")), 0o755);
        assert_eq!(mode(&d.join("backup/old/notes")), 0o644);
        assert_eq!(make_private(&d).unwrap(), 0);
    }
}
