//! Lookup table files on disk: building indexes with the real `postmap` /
//! `postalias`, reading what an index holds, telling whether an index is
//! out of step with its source, and which table types this Postfix has.
//!
//! # Building without a gap
//!
//! `postmap hash:FILE` rebuilds `FILE.db` *in place*: a reader between its
//! truncation and the last record sees a missing or partial table, and a
//! build killed half way destroys the table (Postfix's DATABASE_README
//! says so). postform never builds in place. [`stage_source`] writes the
//! new source to a locked temp file beside the real one
//! (`.postform-tmp-XXXXXX`, with the final mode, owner and group);
//! [`build_index`] runs `postmap -o -c DIR TYPE:/dir/.postform-tmp-XXXXXX`,
//! which writes `.postform-tmp-XXXXXX.db` (`.lmdb`, `.cdb`; the index holds
//! no file name, so it can be renamed), gives it its mode, owner and group
//! and fsyncs it. The caller (a transaction, see `transaction.rs`) renames
//! the index, then the source, over the real names. Temp files a killed
//! run leaves are swept by [`super::atomic::clean_stale_temps`] (they are
//! flocked while in use).
//!
//! `-o` keeps root privileges: postmap would otherwise switch to the
//! source owner's uid, which may not write the directory; the index gets
//! its owner afterwards, from the caller.
//!
//! This layer knows type *names* and index suffixes only; which types are
//! indexed is [`crate::postfix::table::MapType`]'s business.

use super::atomic::locked_temp_file;
use super::hash::sha256_hex;
use super::process::{self, ProcessError};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Which program builds and reads an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `postmap`: `key value` sources.
    Postmap,
    /// `postalias`: aliases(5) sources (never build those with postmap).
    Postalias,
}

impl Builder {
    pub fn name(self) -> &'static str {
        match self {
            Builder::Postmap => "postmap",
            Builder::Postalias => "postalias",
        }
    }

    fn program(self) -> Result<PathBuf, IndexError> {
        let p = super::programs::Programs::get();
        let found = match self {
            Builder::Postmap => p.postmap.clone(),
            Builder::Postalias => p.postalias.clone(),
        };
        found.ok_or(IndexError::NotInstalled(self.name()))
    }
}

/// Mode, owner and group a file must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Perms {
    /// The permissions of an existing file.
    pub fn of(meta: &fs::Metadata) -> Perms {
        Perms {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

/// Building, reading or inspecting a table failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "{0} is not installed (Debian package postfix); postform builds table indexes with it"
    )]
    NotInstalled(&'static str),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("{}: {action}: {source}{}", path.display(), super::atomic::write_hint(source))]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed (exit {status}):\n{}", indent(stderr))]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn io_err<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl FnOnce(std::io::Error) -> IndexError + 'a {
    move |source| IndexError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// A new file waiting beside its target under a temp name, locked (so no
/// sweeper removes it) until it is renamed or dropped. Dropping it
/// removes the temp file unless [`Staged::keep`] took it over.
#[derive(Debug)]
pub struct Staged {
    /// The real file it replaces.
    pub target: PathBuf,
    /// Where it waits.
    pub path: PathBuf,
    /// SHA-256 of its content.
    pub sha256: String,
    file: File,
    guard: TempGuard,
}

impl Staged {
    /// Hand the temp file over (to a transaction, which renames or removes
    /// it): its path and the locked handle to hold until then.
    pub fn keep(self) -> (PathBuf, File) {
        let Staged {
            path,
            file,
            mut guard,
            ..
        } = self;
        guard.0 = None;
        (path, file)
    }
}

/// Removes a temp file when dropped, unless disarmed (`None`).
#[derive(Debug)]
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Write `bytes` as the new source of `target` into a locked temp file in
/// the same directory, fsynced, with `perms`.
pub fn stage_source(target: &Path, bytes: &[u8], perms: Perms) -> Result<Staged, IndexError> {
    let dir = parent(target);
    let tmp = locked_temp_file(dir).map_err(io_err(dir, "cannot create a temporary file"))?;
    let (mut file, path) = tmp.keep().map_err(|e| IndexError::Io {
        path: dir.to_path_buf(),
        action: "cannot keep a temporary file",
        source: e.error,
    })?;
    let guard = TempGuard(Some(path.clone()));
    file.write_all(bytes)
        .map_err(io_err(&path, "cannot write"))?;
    set_perms(&file, perms).map_err(io_err(&path, "cannot set mode and owner"))?;
    file.sync_all().map_err(io_err(&path, "cannot fsync"))?;
    Ok(Staged {
        target: target.to_path_buf(),
        path,
        sha256: sha256_hex(bytes),
        file,
        guard,
    })
}

/// Give an open file its mode, owner and group (owner first: chown clears
/// set-id bits).
pub fn set_perms(file: &File, perms: Perms) -> std::io::Result<()> {
    let meta = file.metadata()?;
    if meta.uid() != perms.uid || meta.gid() != perms.gid {
        fchown(file, Some(perms.uid), Some(perms.gid))?;
    }
    file.set_permissions(fs::Permissions::from_mode(perms.mode & 0o7777))
}

/// The index `postmap TYPE:source` writes: `source` + `suffix`.
pub fn index_path(source: &Path, suffix: &str) -> PathBuf {
    let mut s = source.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// A built index and what the builder warned about.
#[derive(Debug)]
pub struct BuiltIndex {
    pub index: Staged,
    /// The builder's warnings (its stderr lines, temp file names replaced
    /// by the real source's).
    pub warnings: Vec<String>,
}

/// Build the index of the staged source `source` (see the module docs):
/// `BUILDER -o -c CONFIG_DIR TYPE:TEMP`, then the index gets `perms`, is
/// fsynced and locked. The index replaces `source.target` + `suffix`.
pub fn build_index(
    builder: Builder,
    config_dir: &Path,
    type_name: &str,
    suffix: &str,
    source: &Staged,
    perms: Perms,
) -> Result<BuiltIndex, IndexError> {
    let program = builder.program()?;
    let temp_index = index_path(&source.path, suffix);
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-o")
        .arg("-c")
        .arg(&conf.dir)
        .arg(format!("{type_name}:{}", source.path.display()));
    // Whatever happens, the temp index is ours to remove.
    let guard = TempGuard(Some(temp_index.clone()));
    let out = process::output(&mut cmd, process::timeout())?;
    let stderr = String::from_utf8_lossy(&out.stderr).replace(
        &source.path.display().to_string(),
        &source.target.display().to_string(),
    );
    if !out.status.success() {
        return Err(IndexError::Failed {
            command: format!("{} {type_name}:{}", builder.name(), source.target.display()),
            status: out
                .status
                .code()
                .map_or_else(|| "by a signal".into(), |c| c.to_string()),
            stderr,
        });
    }
    let file = File::options()
        .read(true)
        .write(true)
        .open(&temp_index)
        .map_err(io_err(&temp_index, "cannot open the built index"))?;
    // Shared: Postfix's readers (the verification's `postmap -q`) take
    // shared locks on an index; a sweeper's exclusive try-lock fails.
    file.lock_shared()
        .map_err(io_err(&temp_index, "cannot lock the built index"))?;
    set_perms(&file, perms).map_err(io_err(&temp_index, "cannot set mode and owner"))?;
    file.sync_all()
        .map_err(io_err(&temp_index, "cannot fsync"))?;
    let bytes = super::read::read_regular(&temp_index)
        .map_err(io_err(&temp_index, "cannot read the built index"))?;
    Ok(BuiltIndex {
        index: Staged {
            target: index_path(&source.target, suffix),
            path: temp_index,
            sha256: sha256_hex(&bytes),
            file,
            guard,
        },
        warnings: stderr.lines().map(str::to_string).collect(),
    })
}

/// What postmap/postalias `-q -` finds for each of `keys` in
/// `TYPE:source` (looked up as Postfix looks them up: folded for indexed
/// and texthash tables).
pub fn query(
    builder: Builder,
    config_dir: &Path,
    type_name: &str,
    source: &Path,
    keys: &[&[u8]],
) -> Result<Vec<Option<Vec<u8>>>, IndexError> {
    let program = builder.program()?;
    let mut input = Vec::new();
    for k in keys {
        input.extend_from_slice(k);
        input.push(b'\n');
    }
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-c")
        .arg(&conf.dir)
        .arg("-q")
        .arg("-")
        .arg(format!("{type_name}:{}", source.display()));
    let out = process::output_with_input(&mut cmd, &input, process::timeout())?;
    // Exit 0: some key found; 1: none found, or a fatal error (stderr).
    let none_found = out.status.code() == Some(1) && out.stderr.is_empty();
    if !out.status.success() && !none_found {
        return Err(failed(builder, type_name, source, "-q -", &out));
    }
    // `KEY<TAB>VALUE` (postalias: `KEY:<TAB>VALUE`) per found key, in
    // query order, KEY as given.
    let sep: &[u8] = match builder {
        Builder::Postmap => b"\t",
        Builder::Postalias => b":\t",
    };
    let mut found = vec![None; keys.len()];
    let mut next = 0;
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        while next < keys.len() {
            let k = keys[next];
            next += 1;
            if line.len() >= k.len() + sep.len()
                && &line[..k.len()] == k
                && &line[k.len()..k.len() + sep.len()] == sep
            {
                found[next - 1] = Some(line[k.len() + sep.len()..].to_vec());
                break;
            }
        }
    }
    Ok(found)
}

/// (key, value) pairs as bytes.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Keys `postalias` adds to every alias index (ignored when comparing).
pub const ALIAS_EXTRA_KEYS: [&[u8]; 3] = [b"@", b"YP_LAST_MODIFIED", b"YP_MASTER_NAME"];

/// Every (key, value) an index holds, as `postmap -s` / `postalias -s`
/// prints them (keys as stored: folded). Not for cdb (no sequence
/// operation), regexp, pcre or cidr. Alias indexes without the keys
/// postalias adds ([`ALIAS_EXTRA_KEYS`]).
pub fn dump(
    builder: Builder,
    config_dir: &Path,
    type_name: &str,
    source: &Path,
) -> Result<Pairs, IndexError> {
    let program = builder.program()?;
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-c")
        .arg(&conf.dir)
        .arg("-s")
        .arg(format!("{type_name}:{}", source.display()));
    let out = process::output(&mut cmd, process::timeout())?;
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(failed(builder, type_name, source, "-s", &out));
    }
    let sep: &[u8] = match builder {
        Builder::Postmap => b"\t",
        Builder::Postalias => b":\t",
    };
    let mut entries = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let at = line
            .windows(sep.len())
            .position(|w| w == sep)
            .unwrap_or(line.len());
        let key = line[..at].to_vec();
        let value = line.get(at + sep.len()..).unwrap_or_default().to_vec();
        if builder == Builder::Postalias && ALIAS_EXTRA_KEYS.contains(&key.as_slice()) {
            continue;
        }
        entries.push((key, value));
    }
    Ok(entries)
}

fn failed(
    builder: Builder,
    type_name: &str,
    source: &Path,
    what: &str,
    out: &std::process::Output,
) -> IndexError {
    IndexError::Failed {
        command: format!("{} {what} {type_name}:{}", builder.name(), source.display()),
        status: out
            .status
            .code()
            .map_or_else(|| "by a signal".into(), |c| c.to_string()),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Where an index stands next to its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexState {
    /// Present, not older than the source.
    Current,
    /// No index file.
    Missing,
    /// A zero-length index (postmap removes those; Postfix cannot read it).
    Empty,
    /// Modified before the source was: the source was edited since the
    /// last build (Postfix logs "database ... is older than source file").
    Older,
    /// Cannot be looked at (why).
    Unreadable(String),
}

/// An index file as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub path: PathBuf,
    pub state: IndexState,
    /// Mode, owner and group, when the index exists.
    pub perms: Option<Perms>,
    pub modified: Option<SystemTime>,
}

/// Look at `source` + `suffix` next to `source` (whose modification time,
/// when it exists, is `source_modified`).
pub fn inspect(source: &Path, suffix: &str, source_modified: Option<SystemTime>) -> IndexInfo {
    let path = index_path(source, suffix);
    let (state, perms, modified) = match fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (IndexState::Missing, None, None),
        Err(e) => (IndexState::Unreadable(e.to_string()), None, None),
        Ok(m) if !m.is_file() => (
            IndexState::Unreadable("not a regular file".into()),
            None,
            None,
        ),
        Ok(m) => {
            let modified = m.modified().ok();
            let state = if m.len() == 0 {
                IndexState::Empty
            } else if matches!((source_modified, modified), (Some(s), Some(i)) if s > i) {
                IndexState::Older
            } else {
                IndexState::Current
            };
            (state, Some(Perms::of(&m)), modified)
        }
    };
    IndexInfo {
        path,
        state,
        perms,
        modified,
    }
}

/// The table types this Postfix lists (`postconf -c DIR -m`).
pub fn listed_types(config_dir: &Path) -> Result<Vec<String>, IndexError> {
    let program = super::programs::Programs::get()
        .postconf
        .clone()
        .ok_or(IndexError::NotInstalled("postconf"))?;
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-c").arg(&conf.dir).arg("-m");
    let out = process::output(&mut cmd, process::timeout())?;
    if !out.status.success() {
        return Err(IndexError::Failed {
            command: format!("postconf -c {} -m", config_dir.display()),
            status: out
                .status
                .code()
                .map_or_else(|| "by a signal".into(), |c| c.to_string()),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Can this Postfix open tables of `type_name`? See [`types_supported`].
pub fn type_supported(config_dir: &Path, type_name: &str) -> Result<bool, IndexError> {
    Ok(types_supported(config_dir, &[type_name])?[0])
}

/// Which of `types` this Postfix can open. `postconf -m` lists every type
/// its `dynamicmaps.cf` (and `dynamicmaps.cf.d/*`) names, even when the
/// plugin's library is missing (a package removed by hand): a listed
/// plugin type also needs its library in `shlib_directory` (asking
/// `postmap -q` instead would cost a second per type: Postfix sleeps
/// before a fatal exit).
pub fn types_supported(config_dir: &Path, types: &[&str]) -> Result<Vec<bool>, IndexError> {
    let listed = listed_types(config_dir)?;
    let dirs = postconf_h(config_dir, &["meta_directory", "shlib_directory"])?;
    let (meta, shlib) = match dirs.as_slice() {
        [m, s] => (PathBuf::from(m), PathBuf::from(s)),
        _ => (
            PathBuf::from("/etc/postfix"),
            PathBuf::from("/usr/lib/postfix"),
        ),
    };
    let plugins = dynamic_maps(&meta);
    Ok(types
        .iter()
        .map(|t| {
            listed.iter().any(|l| l == t)
                && plugins
                    .iter()
                    .find(|(name, _)| name == t)
                    .is_none_or(|(_, so)| shlib.join(so).is_file())
        })
        .collect())
}

/// `postconf -c DIR -h NAME...`, one value per name.
fn postconf_h(config_dir: &Path, names: &[&str]) -> Result<Vec<String>, IndexError> {
    let program = super::programs::Programs::get()
        .postconf
        .clone()
        .ok_or(IndexError::NotInstalled("postconf"))?;
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-c").arg(&conf.dir).arg("-h").args(names);
    let out = process::output(&mut cmd, process::timeout())?;
    if !out.status.success() {
        return Err(IndexError::Failed {
            command: format!(
                "postconf -c {} -h {}",
                config_dir.display(),
                names.join(" ")
            ),
            status: out
                .status
                .code()
                .map_or_else(|| "by a signal".into(), |c| c.to_string()),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect())
}

/// (type, library) of every plugin `META/dynamicmaps.cf` and
/// `META/dynamicmaps.cf.d/*` register (global/dynamicmaps.c).
fn dynamic_maps(meta: &Path) -> Vec<(String, String)> {
    let mut files = vec![meta.join("dynamicmaps.cf")];
    if let Ok(rd) = fs::read_dir(meta.join("dynamicmaps.cf.d")) {
        let mut more: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some(t), Some(so)) if !t.starts_with('#') => {
                    out.push((t.to_string(), so.to_string()))
                }
                _ => {}
            }
        }
    }
    out
}

/// Check a text table the way a Postfix process opens it: `postmap -q`
/// of a probe key on `TYPE:source`. Postfix reports a bad rule as a
/// warning and skips it (the exit status stays 0 or 1), so every stderr
/// line is a problem: returned as (line number when the message names
/// one, message with the temp name replaced by `shown`).
pub fn check_text_table(
    config_dir: &Path,
    type_name: &str,
    source: &Path,
    shown: &Path,
) -> Result<Vec<(Option<usize>, String)>, IndexError> {
    let program = Builder::Postmap.program()?;
    let conf = conf(config_dir);
    let mut cmd = Command::new(&program);
    cmd.arg("-c")
        .arg(&conf.dir)
        .arg("-q")
        .arg("postform-probe")
        .arg(format!("{type_name}:{}", source.display()));
    let out = process::output(&mut cmd, process::timeout())?;
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace(&source.display().to_string(), &shown.display().to_string());
    Ok(stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let message = l.strip_prefix("postmap: ").unwrap_or(l).to_string();
            (line_number(&message), message)
        })
        .collect())
}

/// `..., line N: ...` in a Postfix message.
fn line_number(message: &str) -> Option<usize> {
    let at = message.find(", line ")? + ", line ".len();
    let digits: String = message[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The config directory to give Postfix's programs with `-c`.
///
/// Every Postfix program reads main.cf with `dict_load_file_xt`, which
/// re-reads a file modified within the last second, pausing 0.3 s each
/// time: right after main.cf changed, each postmap or postconf run takes
/// up to 1.5 s. Then a copy of main.cf, one minute old, in a private
/// scratch directory serves instead (postmap and postconf read nothing
/// else from the config directory; a `meta_directory` or
/// `shlib_directory` given as `$config_directory/...` would then point
/// into the scratch directory, which is why the copy is used only when
/// main.cf is hot).
#[derive(Debug)]
struct Conf {
    dir: PathBuf,
    _scratch: Option<tempfile::TempDir>,
}

fn conf(config_dir: &Path) -> Conf {
    let main = config_dir.join("main.cf");
    let hot = fs::metadata(&main)
        .and_then(|m| m.modified())
        .is_ok_and(|t| {
            SystemTime::now()
                .duration_since(t)
                .map_or(true, |age| age < std::time::Duration::from_secs(3))
        });
    let cool = || -> std::io::Result<tempfile::TempDir> {
        let scratch = tempfile::Builder::new()
            .prefix("postform-conf-")
            .tempdir()?;
        let copy = scratch.path().join("main.cf");
        fs::write(&copy, super::read::read_regular(&main)?)?;
        File::options()
            .write(true)
            .open(&copy)?
            .set_modified(SystemTime::now() - std::time::Duration::from_secs(60))?;
        Ok(scratch)
    };
    match hot.then(cool) {
        Some(Ok(scratch)) => Conf {
            dir: scratch.path().to_path_buf(),
            _scratch: Some(scratch),
        },
        _ => Conf {
            dir: config_dir.to_path_buf(),
            _scratch: None,
        },
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_path_appends_the_suffix() {
        assert_eq!(
            index_path(Path::new("/etc/postfix/sasl_passwd"), ".db"),
            PathBuf::from("/etc/postfix/sasl_passwd.db")
        );
    }

    #[test]
    fn line_numbers_from_messages() {
        assert_eq!(
            line_number("warning: regexp map /x, line 12: Unmatched ["),
            Some(12)
        );
        assert_eq!(line_number("fatal: open /x: No such file"), None);
    }

    #[test]
    fn inspect_tells_missing_empty_older_current() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("t");
        fs::write(&src, b"a 1\n").unwrap();
        let src_time = fs::metadata(&src).unwrap().modified().ok();
        assert_eq!(inspect(&src, ".db", src_time).state, IndexState::Missing);
        let idx = d.path().join("t.db");
        fs::write(&idx, b"").unwrap();
        assert_eq!(inspect(&src, ".db", src_time).state, IndexState::Empty);
        fs::write(&idx, b"x").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&idx)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(inspect(&src, ".db", src_time).state, IndexState::Older);
        File::options()
            .write(true)
            .open(&idx)
            .unwrap()
            .set_modified(SystemTime::now() + std::time::Duration::from_secs(1))
            .unwrap();
        let info = inspect(&src, ".db", src_time);
        assert_eq!(info.state, IndexState::Current);
        assert!(info.perms.is_some());
    }

    #[test]
    fn a_dropped_stage_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("t");
        let me = fs::metadata(d.path()).unwrap();
        let perms = Perms {
            mode: 0o600,
            uid: me.uid(),
            gid: me.gid(),
        };
        let s = stage_source(&target, b"a 1\n", perms).unwrap();
        let path = s.path.clone();
        assert_eq!(fs::read(&path).unwrap(), b"a 1\n");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        drop(s);
        assert!(!path.exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
