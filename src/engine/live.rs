//! The live configuration: every file a command manages, read once.
//!
//! [`LiveConfig::read`] reads main.cf and master.cf of a config directory
//! (and, for the files a spec manages, their sources) as bytes, hashes and
//! parses each once; validation, planning, the candidate check and apply
//! all borrow it. A snapshot (GitOps) becomes a `LiveConfig` from bytes.
//! Nothing here decides what a missing or broken file means: main.cf is
//! required to plan, master.cf only when the spec manages services; the
//! consumers say so (see [`LiveConfig::main_cf`]).

use crate::io::hash::sha256_hex;
use crate::io::index::{IndexInfo, Perms};
use crate::postfix::maincf::{MainCf, MainCfError};
use crate::postfix::mastercf::{MasterCf, MasterCfError};
use crate::postfix::table::{MapType, Syntax, Table};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A document postform reads: parsed from bytes, or a typed error.
pub trait Document: Sized {
    type Error: std::fmt::Display + std::fmt::Debug;
    fn parse_bytes(bytes: &[u8]) -> Result<Self, Self::Error>;
}

impl Document for MainCf {
    type Error = MainCfError;
    fn parse_bytes(bytes: &[u8]) -> Result<Self, MainCfError> {
        MainCf::parse(bytes)
    }
}

impl Document for MasterCf {
    type Error = MasterCfError;
    fn parse_bytes(bytes: &[u8]) -> Result<Self, MasterCfError> {
        MasterCf::parse(bytes)
    }
}

/// What one file looked like when it was read.
#[derive(Debug)]
pub enum FileState<D: Document> {
    /// No such file.
    Absent,
    /// It exists but could not be read (a directory, a FIFO, no permission).
    Unreadable(std::io::Error),
    /// Read; `doc` is the parse (or why Postfix would refuse it).
    Read {
        bytes: Vec<u8>,
        sha256: String,
        /// Shared: a fleet plan gives hosts with the same master.cf one
        /// parsed document.
        doc: Result<std::sync::Arc<D>, D::Error>,
    },
}

/// One file of the live configuration.
#[derive(Debug)]
pub struct LiveFile<D: Document> {
    pub path: PathBuf,
    pub state: FileState<D>,
}

/// A file's identity for "has it changed since?": its content hash, or
/// that it was absent or unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fingerprint {
    Absent,
    Unreadable,
    Sha256(String),
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fingerprint::Absent => f.write_str("absent"),
            Fingerprint::Unreadable => f.write_str("unreadable"),
            Fingerprint::Sha256(h) => f.write_str(h.get(..12).unwrap_or(h)),
        }
    }
}

impl<D: Document> LiveFile<D> {
    /// Read and parse `path` (a regular file or a symlink to one).
    pub fn read(path: PathBuf) -> Self {
        let state = match crate::io::read::read_regular(&path) {
            Ok(bytes) => Self::parsed(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileState::Absent,
            Err(e) => FileState::Unreadable(e),
        };
        LiveFile { path, state }
    }

    /// A file whose bytes are already known (a snapshot); `None`: absent.
    pub fn from_bytes(path: PathBuf, bytes: Option<Vec<u8>>) -> Self {
        let state = match bytes {
            Some(bytes) => Self::parsed(bytes),
            None => FileState::Absent,
        };
        LiveFile { path, state }
    }

    fn parsed(bytes: Vec<u8>) -> FileState<D> {
        FileState::Read {
            sha256: sha256_hex(&bytes),
            doc: D::parse_bytes(&bytes).map(std::sync::Arc::new),
            bytes,
        }
    }

    /// A file read and parsed elsewhere (a cache of parsed documents).
    pub fn from_parsed(
        path: PathBuf,
        bytes: Vec<u8>,
        doc: Result<std::sync::Arc<D>, D::Error>,
    ) -> Self {
        LiveFile {
            path,
            state: FileState::Read {
                sha256: sha256_hex(&bytes),
                doc,
                bytes,
            },
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        match &self.state {
            FileState::Absent => Fingerprint::Absent,
            FileState::Unreadable(_) => Fingerprint::Unreadable,
            FileState::Read { sha256, .. } => Fingerprint::Sha256(sha256.clone()),
        }
    }

    /// The file's permission bits, when it exists (one stat, for the
    /// warnings that depend on who can read it).
    pub fn mode(&self) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&self.path)
            .ok()
            .map(|m| m.permissions().mode())
    }

    /// The bytes, when the file was read.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.state {
            FileState::Read { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// The shared parsed document, when the file was read and parses.
    pub fn doc_arc(&self) -> Option<std::sync::Arc<D>> {
        match &self.state {
            FileState::Read { doc: Ok(d), .. } => Some(d.clone()),
            _ => None,
        }
    }

    /// The parsed document, when the file was read and parses.
    pub fn doc(&self) -> Option<&D> {
        match &self.state {
            FileState::Read { doc: Ok(d), .. } => Some(d),
            _ => None,
        }
    }
}

/// Every file of one config directory that postform reads, read once.
#[derive(Debug)]
pub struct LiveConfig {
    /// The config directory as given (`-c DIR`).
    pub dir: PathBuf,
    pub main: LiveFile<MainCf>,
    pub master: LiveFile<MasterCf>,
    /// The lookup tables (and the alias file) a spec manages, once
    /// [`LiveConfig::read_tables`] read them; `None` before (and for
    /// snapshots, which hold main.cf and master.cf only).
    pub tables: Option<Vec<LiveTable>>,
}

/// A lookup table file a spec manages, as found.
#[derive(Debug)]
pub struct LiveTable {
    /// The source file (absolute).
    pub path: PathBuf,
    pub kind: MapType,
    pub syntax: Syntax,
    pub source: TableSource,
    /// The index beside it, for indexed types.
    pub index: Option<IndexInfo>,
    /// Does the index hold the source's entries? Asked of the real
    /// postmap/postalias (`-s`, or `-q -` for cdb) when the index is
    /// current and every key is ASCII (Postfix may fold other keys in ways
    /// postform does not); `None` when not asked.
    pub index_matches: Option<bool>,
}

/// A table source file as found.
#[derive(Debug)]
pub enum TableSource {
    Absent,
    /// It exists but could not be read.
    Unreadable(std::io::Error),
    Read {
        table: Table,
        sha256: String,
        perms: Perms,
        modified: Option<std::time::SystemTime>,
    },
}

/// A table to read: where, and how its lines are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedTable {
    pub path: PathBuf,
    pub kind: MapType,
    pub syntax: Syntax,
}

impl LiveTable {
    /// Read `wanted` (and look at its index), asking postmap/postalias
    /// with `-c config_dir` what the index holds.
    pub fn read(wanted: &WantedTable, config_dir: &Path) -> LiveTable {
        let path = wanted.path.clone();
        let source = match crate::io::read::open_regular(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TableSource::Absent,
            Err(e) => TableSource::Unreadable(e),
            Ok((file, _)) => {
                let meta = file.metadata();
                match (crate::io::read::read_regular(&path), meta) {
                    (Ok(bytes), Ok(meta)) => TableSource::Read {
                        sha256: sha256_hex(&bytes),
                        table: Table::parse(wanted.syntax, &bytes),
                        perms: Perms::of(&meta),
                        modified: meta.modified().ok(),
                    },
                    (Err(e), _) | (_, Err(e)) => TableSource::Unreadable(e),
                }
            }
        };
        let index = wanted.kind.index_suffix().map(|suffix| {
            let modified = match &source {
                TableSource::Read { modified, .. } => *modified,
                _ => None,
            };
            crate::io::index::inspect(&path, suffix, modified)
        });
        let index_matches = match (&source, &index) {
            (TableSource::Read { table, .. }, Some(info))
                if info.state == crate::io::index::IndexState::Current =>
            {
                index_holds(wanted, table, config_dir)
            }
            _ => None,
        };
        LiveTable {
            path,
            kind: wanted.kind,
            syntax: wanted.syntax,
            source,
            index,
            index_matches,
        }
    }

    /// The parsed source, when it was read.
    pub fn table(&self) -> Option<&Table> {
        match &self.source {
            TableSource::Read { table, .. } => Some(table),
            _ => None,
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        match &self.source {
            TableSource::Absent => Fingerprint::Absent,
            TableSource::Unreadable(_) => Fingerprint::Unreadable,
            TableSource::Read { sha256, .. } => Fingerprint::Sha256(sha256.clone()),
        }
    }
}

/// Does the index of `wanted` hold exactly `table`'s entries? `None` when
/// it cannot be told (no postmap, non-ASCII keys, an error).
fn index_holds(wanted: &WantedTable, table: &Table, config_dir: &Path) -> Option<bool> {
    use crate::io::index::{dump, query, Builder};
    let builder = match wanted.syntax {
        Syntax::Aliases => Builder::Postalias,
        _ => Builder::Postmap,
    };
    let entries = table.effective_entries();
    if entries.iter().any(|e| !e.ident.is_ascii()) {
        return None;
    }
    let type_name = wanted.kind.as_str();
    if wanted.kind == MapType::Cdb {
        // No sequence operation: ask for every key.
        let keys: Vec<&[u8]> = entries.iter().map(|e| e.ident.as_slice()).collect();
        let found = query(builder, config_dir, type_name, &wanted.path, &keys).ok()?;
        return Some(
            found
                .iter()
                .zip(&entries)
                .all(|(f, e)| f.as_deref() == Some(e.stored.as_slice())),
        );
    }
    let mut held = dump(builder, config_dir, type_name, &wanted.path).ok()?;
    let mut want: Vec<(Vec<u8>, Vec<u8>)> = entries
        .iter()
        .map(|e| (e.ident.clone(), e.stored.clone()))
        .collect();
    held.sort();
    want.sort();
    Some(held == want)
}

/// main.cf cannot be planned against.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{}: cannot read: {error}{}", path.display(), read_hint(path, error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: is a directory, expected the main.cf file\n  hint: point -c at the directory that holds main.cf", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}", parse_message(path, error))]
    Parse { path: PathBuf, error: MainCfError },
}

impl LiveConfig {
    /// Read `DIR/main.cf` and `DIR/master.cf`.
    pub fn read(dir: &Path) -> LiveConfig {
        LiveConfig {
            dir: dir.to_path_buf(),
            main: LiveFile::read(dir.join("main.cf")),
            master: LiveFile::read(dir.join("master.cf")),
            tables: None,
        }
    }

    /// A configuration of files read elsewhere.
    pub fn from_files(dir: &Path, main: LiveFile<MainCf>, master: LiveFile<MasterCf>) -> Self {
        LiveConfig {
            dir: dir.to_path_buf(),
            main,
            master,
            tables: None,
        }
    }

    /// A configuration whose files are already known (a GitOps snapshot):
    /// `main_path` is how main.cf is named in messages.
    pub fn from_bytes(
        dir: &Path,
        main_path: PathBuf,
        main: Option<Vec<u8>>,
        master: Option<Vec<u8>>,
    ) -> LiveConfig {
        LiveConfig {
            dir: dir.to_path_buf(),
            main: LiveFile::from_bytes(main_path, main),
            master: LiveFile::from_bytes(dir.join("master.cf"), master),
            tables: None,
        }
    }

    /// Read the tables `wanted` names (each once, in order).
    pub fn read_tables(&mut self, wanted: &[WantedTable]) {
        let mut tables: Vec<LiveTable> = Vec::with_capacity(wanted.len());
        for w in wanted {
            if !tables.iter().any(|t| t.path == w.path) {
                tables.push(LiveTable::read(w, &self.dir));
            }
        }
        self.tables = Some(tables);
    }

    /// The table at `path`, when it was read.
    pub fn table(&self, path: &Path) -> Option<&LiveTable> {
        self.tables.as_ref()?.iter().find(|t| t.path == path)
    }

    /// main.cf, read and parsed, or why it cannot be planned against.
    pub fn main_cf(&self) -> Result<(&[u8], &MainCf), LiveError> {
        let path = &self.main.path;
        match &self.main.state {
            FileState::Read {
                bytes, doc: Ok(d), ..
            } => Ok((bytes, d)),
            FileState::Read { doc: Err(e), .. } => Err(LiveError::Parse {
                path: path.clone(),
                error: e.clone(),
            }),
            FileState::Absent => Err(LiveError::Read {
                path: path.clone(),
                error: std::io::Error::from_raw_os_error(2),
            }),
            FileState::Unreadable(_) if path.is_dir() => {
                Err(LiveError::IsDirectory { path: path.clone() })
            }
            FileState::Unreadable(e) => Err(LiveError::Read {
                path: path.clone(),
                error: std::io::Error::new(e.kind(), e.to_string()),
            }),
        }
    }

    /// master.cf's services when it was read and parses, else why not (for
    /// a warning: service-derived parameter names are then unknown).
    pub fn master_cf(&self) -> Result<&MasterCf, String> {
        match &self.master.state {
            FileState::Read { doc: Ok(m), .. } => Ok(m),
            FileState::Read { doc: Err(e), .. } => Err(e.to_string()),
            FileState::Absent => Err("not found".into()),
            FileState::Unreadable(e) => Err(crate::io::read::unread_reason(e)),
        }
    }

    /// The fingerprints of `dir`'s files now, read without parsing them
    /// (apply's re-check under the locks), in [`LiveConfig::fingerprints`]
    /// order.
    pub fn current_fingerprints(dir: &Path) -> Vec<(PathBuf, Fingerprint)> {
        ["main.cf", "master.cf"]
            .into_iter()
            .map(|name| {
                let path = dir.join(name);
                let f = match crate::io::read::read_regular(&path) {
                    Ok(bytes) => Fingerprint::Sha256(sha256_hex(&bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Fingerprint::Absent,
                    Err(_) => Fingerprint::Unreadable,
                };
                (path, f)
            })
            .collect()
    }

    /// Every file read, with its fingerprint, in a fixed order (main.cf,
    /// master.cf, the table sources).
    pub fn fingerprints(&self) -> Vec<(PathBuf, Fingerprint)> {
        let mut out = vec![
            (self.main.path.clone(), self.main.fingerprint()),
            (self.master.path.clone(), self.master.fingerprint()),
        ];
        for t in self.tables.iter().flatten() {
            out.push((t.path.clone(), t.fingerprint()));
        }
        out
    }

    /// The fingerprint of the file at `path` now, read without parsing it.
    pub fn current_fingerprint(path: &Path) -> Fingerprint {
        match crate::io::read::read_regular(path) {
            Ok(bytes) => Fingerprint::Sha256(sha256_hex(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Fingerprint::Absent,
            Err(_) => Fingerprint::Unreadable,
        }
    }
}

fn read_hint(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Ok(target) = std::fs::read_link(path) {
                return format!(
                    "\n  hint: {} is a dangling symlink: its target {} does not exist; fix the link (postform writes through it, it never creates the target)",
                    path.display(),
                    target.display()
                );
            }
            match dir {
                Some(d) if !d.is_dir() => format!(
                    "\n  hint: the config directory {} does not exist; pass -c DIR (default /etc/postfix), the directory that holds Postfix's main.cf",
                    d.display()
                ),
                _ => "\n  hint: -c DIR (default /etc/postfix) must be the directory that holds Postfix's main.cf".into(),
            }
        }
        std::io::ErrorKind::PermissionDenied => {
            "\n  hint: run as a user who may read it (usually root)".into()
        }
        _ => String::new(),
    }
}

/// `FILE:LINE:COLUMN: what` for a main.cf Postfix itself would refuse.
fn parse_message(path: &Path, error: &MainCfError) -> String {
    let file = path.display();
    let hint = "\n  hint: Postfix itself refuses this file (every line must be `name = value`; a value continued on the next line starts with whitespace, a comment with #). Fix the line; postform does not edit a file Postfix cannot read";
    match error {
        MainCfError::MissingEquals {
            line,
            at_line,
            column,
            text,
        } => {
            let within = if at_line == line {
                String::new()
            } else {
                format!(" (in the entry that starts at line {line})")
            };
            format!("{file}:{at_line}:{column}: missing '=' after the parameter name{within}: \"{text}\"{hint}")
        }
        MainCfError::MissingName { line, column, text } => {
            format!("{file}:{line}:{column}: missing parameter name before '=': \"{text}\"{hint}")
        }
    }
}
