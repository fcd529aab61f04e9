//! The journal of a multi-file commit: `.postform-journal` in the config
//! directory, written (atomically, fsynced) before the first file is
//! replaced and marked committed after the last. It names, for each file,
//! where the new content was staged, where the old content was saved, and
//! the hashes of both, so that after a crash at any moment the next
//! postform command can put every file back (not committed) or finish
//! (committed). It never holds file contents: a table may be secret.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The journal's file name in the config directory.
pub const JOURNAL_NAME: &str = ".postform-journal";
/// Prefix of saved old contents in the config directory.
pub const SAVED_PREFIX: &str = ".postform-saved-";

const FORMAT: &str = "postform-journal";
const VERSION: u32 = 1;

/// How far the commit got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    /// Files may be replaced partly: undo (restore the saved contents).
    Staged,
    /// Every file is replaced: finish (drop the saved contents).
    Committed,
    /// A rollback was under way: undo.
    RollingBack,
}

/// One file of the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The file that is replaced (symlinks resolved: the real file).
    pub target: PathBuf,
    /// Where its new content waits until the rename.
    pub staged: PathBuf,
    /// The saved old content; `None` when the file did not exist.
    pub saved: Option<PathBuf>,
    /// SHA-256 of the old content (`None`: absent).
    pub before: Option<String>,
    /// SHA-256 of the new content (empty for a removal).
    pub after: String,
    /// The commit removes the file (a lookup table the spec removes):
    /// undo puts the saved content back when the file is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// A commit in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    format: String,
    version: u32,
    pub state: JournalState,
    /// The process that wrote it.
    pub pid: u32,
    /// What the commit was for, shown when it is recovered (e.g. "apply
    /// needing a restart").
    pub note: String,
    pub entries: Vec<JournalEntry>,
}

/// The journal is there but cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: cannot read the journal of an interrupted postform run: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a postform journal ({why}); move it away after checking main.cf and master.cf by hand", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error(transparent)]
    Write(#[from] super::atomic::WriteError),
}

impl Journal {
    pub fn new(note: String, entries: Vec<JournalEntry>) -> Journal {
        Journal {
            format: FORMAT.into(),
            version: VERSION,
            state: JournalState::Staged,
            pid: std::process::id(),
            note,
            entries,
        }
    }

    /// Where the journal of `dir` is.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(JOURNAL_NAME)
    }

    /// Write it (atomically, fsynced, mode 0600).
    pub fn write(&self, dir: &Path) -> Result<(), JournalError> {
        // Serializing plain data cannot fail.
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        super::atomic::write_atomic_with_mode(&Self::path_in(dir), text.as_bytes(), 0o600)?;
        Ok(())
    }

    /// The journal of `dir`, when there is one.
    pub fn read(dir: &Path) -> Result<Option<Journal>, JournalError> {
        let path = Self::path_in(dir);
        let bytes = match super::read::read_regular(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(JournalError::Read { path, source }),
        };
        let journal: Journal =
            serde_json::from_slice(&bytes).map_err(|e| JournalError::Invalid {
                path: path.clone(),
                why: e.to_string(),
            })?;
        if journal.format != FORMAT || journal.version != VERSION {
            return Err(JournalError::Invalid {
                path,
                why: format!("format {:?} version {}", journal.format, journal.version),
            });
        }
        Ok(Some(journal))
    }

    /// Remove the journal of `dir` (the commit is over) and make that
    /// durable.
    pub fn remove(dir: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(Self::path_in(dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        super::atomic::sync_dir(dir)
    }
}
