//! Locks, each with a time limit and a message that names who holds it.
//!
//! * [`DirLock`]: postform's own exclusive `flock` on the config
//!   directory: one postform apply at a time per config directory.
//! * [`EditLock`]: Postfix's own edit lock. `postconf -e`, `-M`, `-X`
//!   (util/edit_file.c) create `FILE.tmp` beside the file they edit, take
//!   an exclusive `flock` on it, check it is still the file at that name,
//!   write the new content into it and rename it over the file. postform
//!   takes the same lock the same way before it re-checks the file and
//!   writes it, so a concurrent `postconf -e` waits for postform (and then
//!   edits postform's result) or postform waits for it (and then finds the
//!   file changed since the plan): no write of either is lost.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable: seconds to wait for a lock (default
/// [`DEFAULT_LOCK_TIMEOUT`]).
pub const LOCK_TIMEOUT_ENV: &str = "POSTFORM_LOCK_TIMEOUT";

/// How long postform waits for a lock another process holds.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// `O_NOFOLLOW`: a lock file planted as a symlink is never followed.
#[cfg(target_os = "linux")]
const O_NOFOLLOW: i32 = 0o400000;
#[cfg(not(target_os = "linux"))]
const O_NOFOLLOW: i32 = 0;

/// The lock timeout: [`LOCK_TIMEOUT_ENV`] or the default.
pub fn lock_timeout() -> Duration {
    std::env::var(LOCK_TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or(DEFAULT_LOCK_TIMEOUT, Duration::from_secs)
}

/// A lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}: cannot lock: {source}{}", path.display(), super::atomic::write_hint(source))]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: still locked after {seconds} s{}; nothing was changed", path.display(), holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    Timeout {
        path: PathBuf,
        seconds: u64,
        /// "pid N (command line)" when /proc/locks tells.
        holder: Option<String>,
    },
    #[error("{}: is a symlink or not a regular file; refusing to use it as a lock file", path.display())]
    NotRegular { path: PathBuf },
}

/// postform's exclusive lock on a config directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Lock `dir`, waiting at most `timeout` for another holder.
    pub fn acquire(dir: &Path, timeout: Duration) -> Result<DirLock, LockError> {
        let file = File::open(dir).map_err(|source| LockError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        wait_for(&file, dir, timeout)?;
        Ok(DirLock { _file: file })
    }

    /// Lock `dir` unless somebody holds it (`None` when somebody still does
    /// after a moment: [`try_lock_briefly`]).
    pub fn try_acquire(dir: &Path) -> Result<Option<DirLock>, LockError> {
        let file = File::open(dir).map_err(|source| LockError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        match try_lock_briefly(&file) {
            Ok(true) => Ok(Some(DirLock { _file: file })),
            Ok(false) => Ok(None),
            Err(source) => Err(LockError::Open {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }
}

/// Whether the open `file` is still the one at `path` (same device and
/// inode): a sweeper, or a postconf done with its `.tmp` file, may have
/// removed or renamed it since it was opened.
pub fn still_at(file: &File, path: &Path) -> std::io::Result<bool> {
    let ours = file.metadata()?;
    Ok(std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.ino() == ours.ino() && m.dev() == ours.dev()))
}

/// How long [`try_lock_briefly`] keeps trying.
const BRIEFLY: Duration = Duration::from_millis(300);

/// Try to lock `file`, for a moment. A lock of a process that was just
/// killed can outlive it by a few milliseconds: a child it was starting
/// (between fork and exec) holds copies of its descriptors, locks
/// included, until the exec closes them. `Ok(false)` when the lock is
/// still held after [`BRIEFLY`] (a live holder: an apply in progress, a
/// postconf editing).
pub fn try_lock_briefly(file: &File) -> std::io::Result<bool> {
    let deadline = Instant::now() + BRIEFLY;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Ok(false)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Postfix's edit lock on `file` (see the module docs): the open, locked
/// `file.tmp`. Dropping it without [`EditLock::commit_into`] removes the
/// `.tmp` file (while still holding the lock, so a waiting postconf sees
/// it gone and makes its own).
#[derive(Debug)]
pub struct EditLock {
    file: Option<File>,
    /// `FILE.tmp`.
    pub tmp: PathBuf,
}

impl EditLock {
    /// Take the lock on `file` (in its directory as named, not through a
    /// symlink: postconf locks `DIR/main.cf.tmp` whatever main.cf is).
    pub fn acquire(file: &Path, timeout: Duration) -> Result<EditLock, LockError> {
        let mut name = file.as_os_str().to_owned();
        name.push(".tmp");
        let tmp = PathBuf::from(name);
        let deadline = Instant::now() + timeout;
        loop {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .custom_flags(O_NOFOLLOW)
                .open(&tmp)
                .map_err(|source| match source.raw_os_error() {
                    // ELOOP: a symlink was planted at FILE.tmp.
                    Some(40) => LockError::NotRegular { path: tmp.clone() },
                    _ => LockError::Open {
                        path: tmp.clone(),
                        source,
                    },
                })?;
            let meta = f.metadata().map_err(|source| LockError::Open {
                path: tmp.clone(),
                source,
            })?;
            if !meta.is_file() {
                return Err(LockError::NotRegular { path: tmp });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            wait_for(&f, &tmp, left)?;
            // Still the file at that name? (postconf renames or removes
            // it when done; then make a new one, as postconf does.)
            let here = still_at(&f, &tmp).map_err(|source| LockError::Open {
                path: tmp.clone(),
                source,
            })?;
            if here {
                return Ok(EditLock { file: Some(f), tmp });
            }
            if Instant::now() >= deadline {
                return Err(LockError::Timeout {
                    path: tmp,
                    seconds: timeout.as_secs(),
                    holder: None,
                });
            }
        }
    }

    /// The locked `.tmp` file, for writing the new content into it.
    pub fn file(&self) -> &File {
        // Present until commit_into or drop.
        self.file.as_ref().expect("edit lock file present")
    }

    /// Rename the `.tmp` file (holding the new content) over `target`,
    /// still holding the lock, then release it.
    pub fn commit_into(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, target)?;
        self.file.take();
        Ok(())
    }
}

impl Drop for EditLock {
    fn drop(&mut self) {
        if self.file.is_some() {
            // Still locked: nobody else uses the name now.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Wait until `file` is exclusively locked, at most `timeout`. The wait
/// is a real blocking `flock` (other tools see postform queued on the
/// lock), on a second descriptor of the same open file in a helper
/// thread; on timeout the helper is abandoned and, should it get the lock
/// later, releases it at once.
fn wait_for(file: &File, path: &Path, timeout: Duration) -> Result<(), LockError> {
    let open_err = |source| LockError::Open {
        path: path.to_path_buf(),
        source,
    };
    match file.try_lock() {
        Ok(()) => return Ok(()),
        Err(std::fs::TryLockError::Error(source)) => return Err(open_err(source)),
        Err(std::fs::TryLockError::WouldBlock) => {}
    }
    let waiter = file.try_clone().map_err(open_err)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let abandoned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gave_up = abandoned.clone();
    std::thread::spawn(move || {
        let got = waiter.lock();
        if gave_up.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = waiter.unlock();
            return;
        }
        let _ = tx.send(got);
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(open_err(source)),
        Err(_) => {
            abandoned.store(true, std::sync::atomic::Ordering::SeqCst);
            // The lock may have been taken between the timeout and the
            // flag: then the helper's send fails and it unlocks; a lock
            // already sent is released here.
            if let Ok(Ok(())) = rx.try_recv() {
                let _ = file.unlock();
            }
            Err(LockError::Timeout {
                path: path.to_path_buf(),
                seconds: timeout.as_secs(),
                holder: file.metadata().ok().and_then(|m| holder_of(&m)),
            })
        }
    }
}

/// "pid N (cmdline)" of a process holding a flock on the file, from
/// /proc/locks (`1: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<ino> 0 EOF`).
fn holder_of(meta: &std::fs::Metadata) -> Option<String> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let dev = meta.dev();
    // Linux's new_encode_dev: major in bits 8..20 and 32.., minor in the rest.
    let (major, minor) = ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let want = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let me = std::process::id().to_string();
    locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (pid, id) = (f.get(4)?, f.get(5)?);
        if *id != want || *pid == me {
            return None;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .split('\0')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        Some(if cmd.is_empty() {
            format!("pid {pid}")
        } else {
            format!("pid {pid} ({cmd})")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_dir_lock_times_out_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let mut holder = std::process::Command::new("flock")
            .arg(dir.path())
            .args(["sleep", "5"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let e = DirLock::acquire(dir.path(), Duration::from_millis(300)).unwrap_err();
        let _ = holder.kill();
        let _ = holder.wait();
        let text = e.to_string();
        assert!(text.contains("still locked after"), "{text}");
        assert!(text.contains("pid "), "the holder is named: {text}");
        assert!(DirLock::acquire(dir.path(), Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn the_edit_lock_is_postfix_s_tmp_file() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main.cf");
        std::fs::write(&main, b"a = b\n").unwrap();
        let lock = EditLock::acquire(&main, Duration::from_secs(1)).unwrap();
        assert!(dir.path().join("main.cf.tmp").exists());
        // A second taker waits, then gives up.
        let e = EditLock::acquire(&main, Duration::from_millis(200)).unwrap_err();
        assert!(e.to_string().contains("still locked"), "{e}");
        use std::io::Write;
        lock.file().write_all(b"a = c\n").unwrap();
        lock.commit_into(&main).unwrap();
        assert_eq!(std::fs::read(&main).unwrap(), b"a = c\n");
        assert!(!dir.path().join("main.cf.tmp").exists());
        // Dropped without commit: the .tmp file goes.
        drop(EditLock::acquire(&main, Duration::from_secs(1)).unwrap());
        assert!(!dir.path().join("main.cf.tmp").exists());
    }

    #[test]
    fn a_planted_symlink_is_never_a_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("main.cf.tmp")).unwrap();
        let e = EditLock::acquire(&dir.path().join("main.cf"), Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, LockError::NotRegular { .. }), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }
}
