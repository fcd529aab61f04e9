//! The one way postform writes a file.
//!
//! Same-directory temp file (created 0600), write, fsync, copy the old
//! file's mode, owner and group, rename over the target, fsync the
//! directory. A symlinked main.cf stays a symlink: the write goes to the
//! link's target (postconf -e replaces the link with a regular file).
//! A reader sees the old bytes or the new bytes, never a mix, and a crash
//! at any point leaves one of the two.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Prefix of postform's temp files, so leftovers of a killed run can be
/// recognised and cleaned.
pub const TEMP_PREFIX: &str = ".postform-tmp-";

/// A write failed; nothing was replaced.
#[derive(Debug, thiserror::Error)]
#[error("{}: {action}: {source}{}", path.display(), hint(source))]
pub struct WriteError {
    pub path: PathBuf,
    pub action: &'static str,
    #[source]
    pub source: io::Error,
}

fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            "; run as a user who may write the config directory (usually root)"
        }
        io::ErrorKind::ReadOnlyFilesystem => "; the file system is mounted read-only",
        io::ErrorKind::NotFound => "; check that the file and its directory exist",
        _ => "",
    }
}

/// Resolve symlinks so the write lands on the real file. A dangling link
/// is an error (writing would create a file somewhere unexpected).
pub fn resolve(path: &Path) -> Result<PathBuf, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|source| WriteError {
                path: path.to_path_buf(),
                action: "symlink target does not exist",
                source,
            })
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Atomically replace `path` (or its symlink target) with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let target = resolve(path)?;
    let err = |action: &'static str| {
        let target = target.clone();
        move |source: io::Error| WriteError {
            path: target,
            action,
            source,
        }
    };
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let old = match fs::metadata(&target) {
        Ok(m) if m.is_dir() => {
            return Err(WriteError {
                path: target.clone(),
                action: "is a directory",
                source: io::Error::other("expected a regular file"),
            })
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(err("cannot read file metadata")(e)),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(&dir)
        .map_err(err("cannot create a temporary file in the directory"))?;
    tmp.write_all(bytes).map_err(err("cannot write"))?;
    tmp.as_file().sync_all().map_err(err("cannot fsync"))?;
    let file: &File = tmp.as_file();
    match &old {
        Some(m) => {
            // Owner first: chown may clear setuid/setgid bits, the chmod
            // after it restores the exact mode.
            if let Err(e) = fchown(file, Some(m.uid()), Some(m.gid())) {
                // Only root may give a file away; an unprivileged user
                // editing its own file keeps its own ownership.
                if e.kind() != io::ErrorKind::PermissionDenied || m.uid() == current_uid(file) {
                    return Err(err("cannot keep the file's owner")(e));
                }
            }
            file.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))
                .map_err(err("cannot keep the file's mode"))?;
        }
        None => file
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(err("cannot set the file's mode"))?,
    }
    tmp.persist(&target)
        .map_err(|e| err("cannot rename the temporary file over the target")(e.error))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(err("cannot fsync the directory"))?;
    Ok(())
}

fn current_uid(f: &File) -> u32 {
    f.metadata().map(|m| m.uid()).unwrap_or(u32::MAX)
}

/// Remove temp files a killed postform left in `dir`. Returns how many.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeping_mode_and_symlink() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real.cf");
        fs::write(&real, b"old\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = d.path().join("main.cf");
        std::os::unix::fs::symlink("real.cf", &link).unwrap();
        write_atomic(&link, b"new\n").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new\n");
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(clean_stale_temps(d.path()), 0);
    }

    #[test]
    fn dangling_symlink_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("main.cf");
        std::os::unix::fs::symlink("nowhere.cf", &link).unwrap();
        let e = write_atomic(&link, b"x").unwrap_err();
        assert!(
            e.to_string().contains("symlink target does not exist"),
            "{e}"
        );
        assert!(!d.path().join("nowhere.cf").exists());
    }
}
