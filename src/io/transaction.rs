//! One transaction over several files: all of them replaced, or none.
//!
//! The caller holds the config directory's [`super::lock::DirLock`] and,
//! for main.cf and master.cf, Postfix's [`EditLock`]s. Then:
//!
//! 1. [`Transaction::stage`]: each new content is written and fsynced to a
//!    temporary file beside its target (for a file under an edit lock, the
//!    locked `FILE.tmp` itself, exactly as postconf does);
//! 2. [`Transaction::commit`]: the old content of each target is saved in
//!    the config directory (a hard link: the same inode, mode and owner;
//!    a copy across file systems), the journal is written, the staged
//!    files are renamed over their targets in the order they were staged,
//!    the directories are fsynced, and the journal is marked committed;
//! 3. [`Committed::finish`] drops the saved contents and the journal, or
//!    [`Committed::rollback`] renames every saved content back.
//!
//! [`recover`] is what any later command runs first under the directory
//! lock: a journal that is not committed is undone (every file whose
//! content is the new one gets its saved content back), a committed one
//! is finished. Files someone else changed since are left alone and
//! named. Leftover staged files and saved contents without a journal are
//! removed.

use super::atomic::{self, fill, sync_dir};
use super::hash::sha256_hex;
use super::journal::{Journal, JournalEntry, JournalError, JournalState, SAVED_PREFIX};
use super::lock::EditLock;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// A step of the transaction failed. Unless stated otherwise in the
/// message, no target was changed.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error("{}: {action}: {source}{}", path.display(), crate::io::atomic::write_hint(source))]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

fn io_err<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> TxnError + 'a {
    move |source| TxnError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// One staged file.
#[derive(Debug)]
struct Staged {
    /// The real file replaced (symlinks resolved).
    target: PathBuf,
    /// Where the new content is.
    staged: PathBuf,
    /// Holds the staged file's lock until the rename.
    holder: Holder,
    before: Option<String>,
    after: String,
}

#[derive(Debug)]
enum Holder {
    /// Postfix's edit lock; the content is in its `.tmp` file.
    Edit(EditLock),
    /// postform's own locked temp file in the target's directory (and,
    /// for a symlinked target, the edit lock on the name, held too).
    Temp(File, Option<EditLock>),
    /// Nothing is staged: the target is removed.
    Remove,
}

/// Files staged for one commit.
#[derive(Debug)]
pub struct Transaction {
    /// The config directory: journal and saved contents live there.
    dir: PathBuf,
    note: String,
    staged: Vec<Staged>,
}

/// A commit whose renames are done: finish it or roll it back.
#[derive(Debug)]
pub struct Committed {
    dir: PathBuf,
    journal: Journal,
}

impl Transaction {
    /// A transaction whose journal lives in `dir` (the config directory);
    /// `note` says what it is for when a crash leaves it to [`recover`].
    pub fn new(dir: &Path, note: String) -> Transaction {
        Transaction {
            dir: dir.to_path_buf(),
            note,
            staged: Vec::new(),
        }
    }

    /// Stage `bytes` as the new content of `target` (named as in the
    /// config directory; a symlink is followed and the link kept). `lock`
    /// is Postfix's edit lock on `target`, when it has one: the content
    /// goes into its `.tmp` file. A new file gets `new_mode`; an existing
    /// one keeps its mode, owner and group. `before`: the SHA-256 of the
    /// target's current content, as the caller checked it (`None`: the
    /// file does not exist).
    pub fn stage(
        &mut self,
        target: &Path,
        bytes: &[u8],
        before: Option<&str>,
        lock: Option<EditLock>,
        new_mode: u32,
    ) -> Result<(), TxnError> {
        let link = fs::symlink_metadata(target)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let real = atomic::resolve(target).map_err(|e| TxnError::Io {
            path: e.path,
            action: e.action,
            source: e.source,
        })?;
        let old = match fs::metadata(&real) {
            Ok(m) if !m.is_file() => {
                return Err(TxnError::Io {
                    path: real,
                    action: "not a regular file",
                    source: std::io::Error::other("refusing to replace it"),
                })
            }
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&real, "cannot read file metadata")(e)),
        };
        let before = before.map(str::to_string);
        let (staged, holder) = match lock {
            Some(lock) if !link => {
                let mut f = lock
                    .file()
                    .try_clone()
                    .map_err(io_err(&lock.tmp, "cannot write"))?;
                fill(&mut f, bytes, old.as_ref(), new_mode)
                    .map_err(|(action, e)| io_err(&lock.tmp, action)(e))?;
                if old.is_some() {
                    atomic::copy_xattrs(&real, &f);
                }
                (lock.tmp.clone(), Holder::Edit(lock))
            }
            lock => {
                let dir = real
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let tmp = atomic::locked_temp_file(dir)
                    .map_err(io_err(dir, "cannot create a temporary file"))?;
                let (file, path) = tmp.keep().map_err(|e| TxnError::Io {
                    path: dir.to_path_buf(),
                    action: "cannot keep a temporary file",
                    source: e.error,
                })?;
                let mut f = file;
                fill(&mut f, bytes, old.as_ref(), new_mode)
                    .map_err(|(action, e)| io_err(&path, action)(e))?;
                if old.is_some() {
                    atomic::copy_xattrs(&real, &f);
                }
                (path, Holder::Temp(f, lock))
            }
        };
        self.staged.push(Staged {
            target: real,
            staged,
            holder,
            before,
            after: sha256_hex(bytes),
        });
        Ok(())
    }

    /// Stage a file written elsewhere (a table source, or the index
    /// postmap built from it): `staged` beside `target` (the real file,
    /// symlinks resolved by the caller), held locked by `file` until the
    /// rename; `after` is the SHA-256 of its content.
    pub fn adopt(
        &mut self,
        target: &Path,
        staged: PathBuf,
        file: File,
        before: Option<&str>,
        after: String,
    ) {
        self.staged.push(Staged {
            target: target.to_path_buf(),
            staged,
            holder: Holder::Temp(file, None),
            before: before.map(str::to_string),
            after,
        });
    }

    /// Stage the removal of `target` (whose content has SHA-256 `before`):
    /// its content is saved like any replaced file, then it is unlinked.
    pub fn stage_removal(&mut self, target: &Path, before: &str) {
        self.staged.push(Staged {
            target: target.to_path_buf(),
            staged: PathBuf::new(),
            holder: Holder::Remove,
            before: Some(before.to_string()),
            after: String::new(),
        });
    }

    /// Save the old contents, write the journal, rename every staged file
    /// over its target (in staging order), mark the journal committed.
    /// On an error before the first rename nothing is changed; after it,
    /// every replaced file is put back before the error is returned.
    pub fn commit(mut self) -> Result<Committed, TxnError> {
        let mut entries = Vec::new();
        for (i, s) in self.staged.iter().enumerate() {
            let saved = match s.before {
                Some(_) => Some(self.save(&s.target, i)?),
                None => None,
            };
            entries.push(JournalEntry {
                target: s.target.clone(),
                staged: s.staged.clone(),
                saved,
                before: s.before.clone(),
                after: s.after.clone(),
                removed: matches!(s.holder, Holder::Remove),
            });
        }
        sync_dir(&self.dir).map_err(io_err(&self.dir, "cannot fsync"))?;
        let mut journal = Journal::new(std::mem::take(&mut self.note), entries);
        if let Err(e) = journal.write(&self.dir) {
            remove_saved(&journal);
            return Err(e.into());
        }
        let staged = std::mem::take(&mut self.staged);
        for (i, s) in staged.into_iter().enumerate() {
            let renamed = match s.holder {
                Holder::Edit(lock) => lock.commit_into(&s.target),
                Holder::Temp(_file, _lock) => fs::rename(&s.staged, &s.target),
                Holder::Remove => match fs::remove_file(&s.target) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            let renamed =
                renamed.and_then(|()| sync_dir(s.target.parent().unwrap_or(Path::new("."))));
            if let Err(source) = renamed {
                // Put back what was replaced; the journal says how.
                journal.state = JournalState::RollingBack;
                let _ = journal.write(&self.dir);
                let _ = undo(&journal.entries[..i]);
                let _ = Journal::remove(&self.dir);
                remove_saved(&journal);
                return Err(TxnError::Io {
                    path: s.target,
                    action: "cannot rename the new content into place (every file was put back)",
                    source,
                });
            }
        }
        journal.state = JournalState::Committed;
        journal.write(&self.dir)?;
        Ok(Committed {
            dir: self.dir.clone(),
            journal,
        })
    }

    /// Save `target`'s current content as `.postform-saved-N-NAME` in the
    /// config directory: a hard link (same inode, so same mode, owner and
    /// bytes), else a copy with the same mode and owner.
    fn save(&self, target: &Path, i: usize) -> Result<PathBuf, TxnError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let saved = self.dir.join(format!("{SAVED_PREFIX}{i}-{name}"));
        let _ = fs::remove_file(&saved);
        if fs::hard_link(target, &saved).is_err() {
            let bytes = super::read::read_regular(target).map_err(io_err(target, "cannot read"))?;
            let meta = fs::metadata(target).map_err(io_err(target, "cannot read file metadata"))?;
            atomic::write_atomic_like(&saved, &bytes, &meta).map_err(|e| TxnError::Io {
                path: e.path,
                action: e.action,
                source: e.source,
            })?;
        }
        Ok(saved)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Not committed: drop the staged files (edit locks remove their
        // own .tmp file when dropped).
        for s in self.staged.drain(..) {
            if matches!(s.holder, Holder::Temp(..)) {
                let _ = fs::remove_file(&s.staged);
            }
        }
    }
}

impl Committed {
    /// The transaction is over: drop the saved contents and the journal.
    pub fn finish(self) -> std::io::Result<()> {
        remove_saved(&self.journal);
        Journal::remove(&self.dir)
    }

    /// Put every file back as it was, then drop the journal. Returns the
    /// files that could not be put back (changed by someone else since),
    /// with why.
    pub fn rollback(mut self) -> Result<Vec<String>, TxnError> {
        self.journal.state = JournalState::RollingBack;
        self.journal.write(&self.dir)?;
        let problems = undo(&self.journal.entries);
        remove_saved(&self.journal);
        Journal::remove(&self.dir).map_err(io_err(&self.dir, "cannot remove the journal"))?;
        Ok(problems)
    }
}

/// Put back the old content of `entries` (in reverse order) where the new
/// content is in place. Returns what could not be put back.
fn undo(entries: &[JournalEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    for e in entries.iter().rev() {
        let current = super::read::read_regular(&e.target)
            .ok()
            .map(|b| sha256_hex(&b));
        let done = if e.removed {
            current.is_none() && fs::symlink_metadata(&e.target).is_err()
        } else {
            current.as_deref() == Some(e.after.as_str())
        };
        if !done {
            if current != e.before {
                problems.push(format!(
                    "{}: changed by someone else since; left as it is",
                    e.target.display()
                ));
            }
            continue;
        }
        let restored = match &e.saved {
            Some(saved) => restore(saved, &e.target),
            None => fs::remove_file(&e.target),
        };
        match restored.and_then(|()| sync_dir(e.target.parent().unwrap_or(Path::new(".")))) {
            Ok(()) => {}
            Err(err) => problems.push(format!("{}: cannot put back: {err}", e.target.display())),
        }
    }
    problems
}

/// Move a saved content back over its target (a copy across file systems).
fn restore(saved: &Path, target: &Path) -> std::io::Result<()> {
    match fs::rename(saved, target) {
        Err(e) if e.raw_os_error() == Some(18) => {
            // EXDEV: the saved copy is on the config dir's file system.
            let bytes = super::read::read_regular(saved)?;
            let meta = fs::metadata(saved)?;
            atomic::write_atomic_like(target, &bytes, &meta).map_err(|e| e.source)?;
            fs::remove_file(saved)
        }
        other => other,
    }
}

fn remove_saved(journal: &Journal) {
    for e in &journal.entries {
        if let Some(saved) = &e.saved {
            let _ = fs::remove_file(saved);
        }
    }
}

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// An interrupted commit was undone: these files have their old
    /// content back; `problems` could not be put back.
    Undone {
        files: Vec<PathBuf>,
        problems: Vec<String>,
        note: String,
    },
    /// An interrupted commit had replaced every file: it was finished.
    Finished { files: Vec<PathBuf>, note: String },
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |files: &[PathBuf]| {
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Recovery::Undone {
                files,
                problems,
                note,
            } => {
                write!(
                    f,
                    "an interrupted postform run ({note}) was undone: {} {} the old content again",
                    if files.is_empty() {
                        "no file".to_string()
                    } else {
                        names(files)
                    },
                    if files.len() == 1 { "has" } else { "have" }
                )?;
                for p in problems {
                    write!(f, "; {p}")?;
                }
                Ok(())
            }
            Recovery::Finished { files, note } => write!(
                f,
                "an interrupted postform run ({note}) had written {}; it was finished, but its reload or restart may not have run: check Postfix",
                names(files)
            ),
        }
    }
}

/// Whether [`recover`] has anything to do in `dir`: a journal, or what a
/// run killed before writing its journal leaves (staged files, saved
/// contents, main.cf/master.cf `.tmp` files), or a symlinked main.cf or
/// master.cf (its staged files are beside the link's target). One
/// directory listing; no lock needed.
pub fn may_need_recovery(dir: &Path) -> bool {
    let Ok(rd) = fs::read_dir(dir) else {
        return false;
    };
    rd.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == super::journal::JOURNAL_NAME
            || name.starts_with(SAVED_PREFIX)
            || name.starts_with(atomic::TEMP_PREFIX)
            || name == "main.cf.tmp"
            || name == "master.cf.tmp"
            || ((name == "main.cf" || name == "master.cf")
                && e.file_type().is_ok_and(|t| t.is_symlink()))
    })
}

/// Undo or finish an interrupted transaction of `dir`, and remove what an
/// interrupted run left (staged files nobody holds, saved contents without
/// a journal, Postfix `.tmp` files nobody holds). The caller holds the
/// directory lock. `None` when there was no journal.
pub fn recover(dir: &Path) -> Result<Option<Recovery>, TxnError> {
    let journal = Journal::read(dir)?;
    let outcome = match journal {
        None => None,
        Some(j) => {
            let files: Vec<PathBuf> = j.entries.iter().map(|e| e.target.clone()).collect();
            let recovery = match j.state {
                JournalState::Committed => Recovery::Finished {
                    files,
                    note: j.note.clone(),
                },
                JournalState::Staged | JournalState::RollingBack => {
                    let problems = undo(&j.entries);
                    Recovery::Undone {
                        files: j
                            .entries
                            .iter()
                            .filter(|e| {
                                super::read::read_regular(&e.target)
                                    .ok()
                                    .map(|b| sha256_hex(&b))
                                    == e.before
                            })
                            .map(|e| e.target.clone())
                            .collect(),
                        problems,
                        note: j.note.clone(),
                    }
                }
            };
            for e in &j.entries {
                // Staged files of the interrupted run (a Postfix .tmp
                // file is only removed when nobody holds it).
                remove_unlocked(&e.staged);
            }
            remove_saved(&j);
            Journal::remove(dir).map_err(io_err(dir, "cannot remove the journal"))?;
            Some(recovery)
        }
    };
    sweep(dir);
    Ok(outcome)
}

/// Remove leftovers in `dir`: postform temp files and Postfix `.tmp`
/// files of main.cf/master.cf that nobody holds locked, and saved
/// contents (no journal refers to them any more).
fn sweep(dir: &Path) {
    atomic::clean_stale_temps(dir);
    for name in ["main.cf", "master.cf"] {
        remove_unlocked(&dir.join(format!("{name}.tmp")));
        // A symlinked file is staged beside its target.
        let path = dir.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            if let Some(target_dir) = fs::canonicalize(&path)
                .ok()
                .and_then(|t| t.parent().map(Path::to_path_buf))
            {
                if target_dir != dir {
                    atomic::clean_stale_temps(&target_dir);
                }
            }
        }
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().starts_with(SAVED_PREFIX) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Remove a regular file unless some process holds it locked (a live
/// postconf editing, a live postform writing). Held while removing.
fn remove_unlocked(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    let Ok(f) = File::open(path) else { return };
    if super::lock::try_lock_briefly(&f).unwrap_or(false) {
        // Still the file at that name? A postconf that held it may have
        // renamed it over main.cf meanwhile, and a new postconf made a
        // new FILE.tmp: that one is not ours to remove.
        if super::lock::still_at(&f, path).unwrap_or(false) {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("main.cf");
        let master = d.path().join("master.cf");
        fs::write(&main, b"old main\n").unwrap();
        fs::write(&master, b"old master\n").unwrap();
        (d, main, master)
    }

    fn sha_of(p: &Path) -> String {
        sha256_hex(&fs::read(p).unwrap())
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "main.cf" && n != "master.cf")
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_finish_replaces_every_file_and_leaves_nothing() {
        let (d, main, master) = setup();
        let mut t = Transaction::new(d.path(), "test".into());
        t.stage(
            &master,
            b"new master\n",
            Some(&sha_of(&master)),
            Some(EditLock::acquire(&master, Duration::from_secs(1)).unwrap()),
            0o644,
        )
        .unwrap();
        t.stage(
            &main,
            b"new main\n",
            Some(&sha_of(&main)),
            Some(EditLock::acquire(&main, Duration::from_secs(1)).unwrap()),
            0o644,
        )
        .unwrap();
        let c = t.commit().unwrap();
        assert_eq!(fs::read(&main).unwrap(), b"new main\n");
        assert_eq!(fs::read(&master).unwrap(), b"new master\n");
        c.finish().unwrap();
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
    }

    #[test]
    fn rollback_puts_every_file_back() {
        let (d, main, master) = setup();
        let mut t = Transaction::new(d.path(), "test".into());
        t.stage(
            &master,
            b"new master\n",
            Some(&sha_of(&master)),
            None,
            0o644,
        )
        .unwrap();
        t.stage(&main, b"new main\n", Some(&sha_of(&main)), None, 0o644)
            .unwrap();
        let c = t.commit().unwrap();
        assert_eq!(c.rollback().unwrap(), Vec::<String>::new());
        assert_eq!(fs::read(&main).unwrap(), b"old main\n");
        assert_eq!(fs::read(&master).unwrap(), b"old master\n");
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
    }

    #[test]
    fn an_uncommitted_journal_is_undone_and_a_committed_one_finished() {
        let (d, main, master) = setup();
        let mut t = Transaction::new(d.path(), "apply".into());
        t.stage(
            &master,
            b"new master\n",
            Some(&sha_of(&master)),
            None,
            0o644,
        )
        .unwrap();
        t.stage(&main, b"new main\n", Some(&sha_of(&main)), None, 0o644)
            .unwrap();
        let c = t.commit().unwrap();
        // As if killed after the first rename: the journal says staged.
        let mut j = c.journal.clone();
        j.state = JournalState::Staged;
        j.write(d.path()).unwrap();
        std::mem::forget(c);
        let r = recover(d.path()).unwrap().unwrap();
        assert!(matches!(r, Recovery::Undone { .. }), "{r}");
        assert_eq!(fs::read(&main).unwrap(), b"old main\n");
        assert_eq!(fs::read(&master).unwrap(), b"old master\n");
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
        // Committed: kept.
        let mut t = Transaction::new(d.path(), "apply".into());
        t.stage(&main, b"newer main\n", Some(&sha_of(&main)), None, 0o644)
            .unwrap();
        let c = t.commit().unwrap();
        std::mem::forget(c);
        let r = recover(d.path()).unwrap().unwrap();
        assert!(matches!(r, Recovery::Finished { .. }), "{r}");
        assert_eq!(fs::read(&main).unwrap(), b"newer main\n");
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
        assert_eq!(recover(d.path()).unwrap(), None);
    }

    #[test]
    fn leftovers_of_a_run_killed_before_its_journal_are_found_and_swept() {
        let (d, main, master) = setup();
        assert!(!may_need_recovery(d.path()));
        // Staged and saved, then killed before the journal was written.
        fs::write(d.path().join("master.cf.tmp"), b"new master\n").unwrap();
        fs::hard_link(&master, d.path().join(format!("{SAVED_PREFIX}0-master.cf"))).unwrap();
        assert!(may_need_recovery(d.path()));
        assert_eq!(recover(d.path()).unwrap(), None);
        assert_eq!(leftovers(d.path()), Vec::<String>::new());
        assert!(!may_need_recovery(d.path()));
        assert_eq!(fs::read(&main).unwrap(), b"old main\n");
        assert_eq!(fs::read(&master).unwrap(), b"old master\n");
    }

    #[test]
    fn a_symlinked_target_stays_a_link() {
        let (d, _main, _master) = setup();
        let real = d.path().join("real.cf");
        fs::write(&real, b"old\n").unwrap();
        let link = d.path().join("link.cf");
        std::os::unix::fs::symlink("real.cf", &link).unwrap();
        let mut t = Transaction::new(d.path(), "test".into());
        t.stage(
            &link,
            b"new\n",
            Some(&sha_of(&link)),
            Some(EditLock::acquire(&link, Duration::from_secs(1)).unwrap()),
            0o644,
        )
        .unwrap();
        t.commit().unwrap().finish().unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new\n");
        assert!(!d.path().join("link.cf.tmp").exists());
    }
}
