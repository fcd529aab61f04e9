//! The one way postform writes a file.
//!
//! Same-directory temp file (created 0600), write, fsync, copy the old
//! file's mode, owner and group, rename over the target, fsync the
//! directory. A symlinked main.cf stays a symlink: the write goes to the
//! link's target (postconf -e replaces the link with a regular file).
//! A reader sees the old bytes or the new bytes, never a mix, and a crash
//! at any point leaves one of the two (tests/crash_safety.rs kills apply
//! hundreds of times to show it).
//!
//! A writer holds an exclusive `flock` on its temp file from just after
//! creating it until the rename, and [`clean_stale_temps`] removes only
//! temp files nobody holds: the lock dies with its process, so leftovers
//! of a killed run are swept while a temp file still being written (by a
//! `plan -o` into the config directory, say, which does not take the
//! directory lock) is left alone.

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

/// Why a write could not happen, as a hint after the error (empty when
/// there is nothing to add).
pub fn write_hint(e: &io::Error) -> &'static str {
    hint(e)
}

fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        // EPERM as root: the file or directory is immutable or
        // append-only (chattr +i / +a); EACCES: not allowed to write.
        io::ErrorKind::PermissionDenied if e.raw_os_error() == Some(1) => {
            "; the file or its directory may be immutable or append-only (lsattr shows the i or a flag; chattr -i/-a clears it)"
        }
        io::ErrorKind::PermissionDenied => {
            "; run as a user who may write the config directory (usually root)"
        }
        io::ErrorKind::ResourceBusy => {
            "; the file is a mount point (a bind mount, e.g. a container's ConfigMap): it cannot be replaced by rename; mount its directory instead, or manage the file where it comes from"
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

/// Atomically replace `path` (or its symlink target) with `bytes`. A new
/// file gets mode 0644; an existing one keeps its mode, owner and group.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with_mode(path, bytes, 0o644)
}

/// [`write_atomic`], with `new_mode` for a file that does not exist yet.
pub fn write_atomic_with_mode(path: &Path, bytes: &[u8], new_mode: u32) -> Result<(), WriteError> {
    write_atomic_impl(path, bytes, NewFile::Mode(new_mode))
}

/// [`write_atomic`] for a copy of another file (a backup of main.cf): a
/// new file gets the mode, owner and group of `like` before it appears
/// under its name, so it is never more readable than the original, not
/// even for a moment. (Only root can give a file away; otherwise the
/// owner is the caller.)
pub fn write_atomic_like(path: &Path, bytes: &[u8], like: &fs::Metadata) -> Result<(), WriteError> {
    write_atomic_impl(path, bytes, NewFile::Like(like))
}

/// Mode (and owner) of a file that does not exist yet.
enum NewFile<'a> {
    Mode(u32),
    Like(&'a fs::Metadata),
}

fn write_atomic_impl(path: &Path, bytes: &[u8], new: NewFile<'_>) -> Result<(), WriteError> {
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
    let mut tmp =
        locked_temp_file(&dir).map_err(err("cannot create a temporary file in the directory"))?;
    // Whose mode and owner the file gets; else the mode of a new file.
    let (keep, new_mode) = match (&old, new) {
        (Some(m), _) => (Some(m), 0),
        (None, NewFile::Like(m)) => (Some(m), 0),
        (None, NewFile::Mode(mode)) => (None, mode),
    };
    fill(tmp.as_file_mut(), bytes, keep, new_mode).map_err(|(action, e)| err(action)(e))?;
    if old.is_some() {
        copy_xattrs(&target, tmp.as_file());
    }
    // The lock stays held through the rename (the file handle returned by
    // persist keeps it) so a sweeper never sees an unlocked temp file of a
    // live writer.
    let _renamed = tmp
        .persist(&target)
        .map_err(|e| err("cannot rename the temporary file over the target")(e.error))?;
    sync_dir(&dir).map_err(err("replaced the file, but cannot fsync its directory"))?;
    Ok(())
}

/// Atomically write a private file (mode 0600, the caller's owner) at
/// `path` as named: no symlink is followed (a symlink at `path` is
/// replaced by the file, never written through), and an existing file's
/// mode is not kept. For files postform creates for the user (saved
/// plans), which must never land anywhere else.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |action: &'static str| {
        move |source: io::Error| WriteError {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp =
        locked_temp_file(dir).map_err(err("cannot create a temporary file in the directory"))?;
    fill(tmp.as_file_mut(), bytes, None, 0o600).map_err(|(action, e)| err(action)(e))?;
    let _renamed = tmp
        .persist(path)
        .map_err(|e| err("cannot rename the temporary file over the target")(e.error))?;
    sync_dir(dir).map_err(err("wrote the file, but cannot fsync its directory"))?;
    Ok(())
}

/// Write `bytes` into the open, empty-or-not `file` (truncated first),
/// fsync it, and give it the mode, owner and group of `like` (an existing
/// file it replaces), else `new_mode`. On error, what failed.
pub fn fill(
    file: &mut File,
    bytes: &[u8],
    like: Option<&fs::Metadata>,
    new_mode: u32,
) -> Result<(), (&'static str, io::Error)> {
    file.set_len(0).map_err(|e| ("cannot truncate", e))?;
    io::Seek::seek(file, io::SeekFrom::Start(0)).map_err(|e| ("cannot write", e))?;
    file.write_all(bytes).map_err(|e| ("cannot write", e))?;
    file.sync_all().map_err(|e| ("cannot fsync", e))?;
    match like {
        Some(m) => {
            // Owner first: chown may clear setuid/setgid bits, the chmod
            // after it restores the exact mode.
            if let Err(e) = fchown(&*file, Some(m.uid()), Some(m.gid())) {
                // Only root may give a file away; an unprivileged user
                // editing its own file keeps its own ownership.
                if e.kind() != io::ErrorKind::PermissionDenied || m.uid() == current_uid(file) {
                    return Err(("cannot keep the file's owner", e));
                }
            }
            file.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))
                .map_err(|e| ("cannot keep the file's mode", e))?;
        }
        None => file
            .set_permissions(fs::Permissions::from_mode(new_mode))
            .map_err(|e| ("cannot set the file's mode", e))?,
    }
    Ok(())
}

/// Carry the extended attributes of `from` (POSIX ACLs, SELinux labels,
/// `user.*` notes) over to `to`, the file that replaces it: a rename
/// would drop them, and with an ACL the access it granted. Best effort,
/// after [`fill`] (an ACL copied after the chmod keeps its mask): an
/// attribute this process may not set, or a file system without extended
/// attributes, is skipped. `from` is the resolved target (no symlink).
pub fn copy_xattrs(from: &Path, to: &File) {
    let Ok(names) = xattr::list(from) else {
        return;
    };
    for name in names {
        if let Ok(Some(value)) = xattr::get(from, &name) {
            let _ = xattr::FileExt::set_xattr(to, &name, &value);
        }
    }
}

/// fsync a directory, so that a rename in it is durable. A file system
/// that cannot fsync a directory (EINVAL) is not a failure.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Err(e)
        }
        _ => Ok(()),
    }
}

/// A new temp file in `dir`, exclusively flocked by this process. Retries
/// when a sweeper removed the file between its creation and the lock.
pub(crate) fn locked_temp_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    for _ in 0..16 {
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)?;
        tmp.as_file().lock()?;
        // Still the file at that name? (A sweeper may have locked and
        // unlinked it before we got the lock.)
        if super::lock::still_at(tmp.as_file(), tmp.path())? {
            return Ok(tmp);
        }
    }
    Err(io::Error::other(
        "temporary files keep disappearing (another process removes them)",
    ))
}

fn current_uid(f: &File) -> u32 {
    f.metadata().map(|m| m.uid()).unwrap_or(u32::MAX)
}

/// Remove temp files a killed postform left in `dir`: those no live
/// writer holds locked. Returns how many.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            // Hold the lock while unlinking: a writer that created the
            // file but has not locked it yet then finds it gone and makes
            // another one.
            let Ok(f) = File::open(e.path()) else {
                return false;
            };
            match f.try_lock() {
                Ok(()) => fs::remove_file(e.path()).is_ok(),
                Err(_) => false,
            }
        })
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
    fn sweep_skips_a_temp_file_a_live_writer_holds() {
        let d = tempfile::tempdir().unwrap();
        let live = locked_temp_file(d.path()).unwrap();
        let dead = d.path().join(format!("{TEMP_PREFIX}killed"));
        fs::write(&dead, b"partial").unwrap();
        assert_eq!(clean_stale_temps(d.path()), 1);
        assert!(!dead.exists());
        assert!(
            live.path().exists(),
            "a locked temp file must survive the sweep"
        );
        drop(live);
        assert_eq!(clean_stale_temps(d.path()), 0);
    }

    #[test]
    fn writes_while_another_process_sweeps() {
        // A writer and a sweeper in a loop: the writer never fails and the
        // sweeper never removes the target.
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("plan.json");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let failure = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    clean_stale_temps(d.path());
                }
            });
            let failure = (0..300).find_map(|i| {
                let body = format!("{i}\n").repeat(1000);
                match write_atomic(&target, body.as_bytes()) {
                    Err(e) => Some(format!("write {i}: {e}")),
                    Ok(()) if fs::read(&target).unwrap() != body.as_bytes() => {
                        Some(format!("write {i}: wrong content"))
                    }
                    Ok(()) => None,
                }
            });
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            failure
        });
        assert_eq!(failure, None);
        assert_eq!(clean_stale_temps(d.path()), 0);
    }

    #[test]
    fn a_new_file_like_another_gets_its_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("main.cf");
        fs::write(&original, b"a = b\n").unwrap();
        fs::set_permissions(&original, fs::Permissions::from_mode(0o640)).unwrap();
        let meta = fs::metadata(&original).unwrap();
        let copy = dir.path().join("main.cf.backup");
        write_atomic_like(&copy, b"a = b\n", &meta).unwrap();
        let m = fs::metadata(&copy).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (0o640, meta.uid(), meta.gid())
        );
        // An existing file keeps its own mode, not the reference's.
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic_like(&copy, b"c = d\n", &meta).unwrap();
        assert_eq!(fs::metadata(&copy).unwrap().mode() & 0o7777, 0o600);
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
