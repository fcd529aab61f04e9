//! The candidate check: ask the real Postfix about the new main.cf before
//! the live one is touched.
//!
//! The candidate (with the live master.cf) goes into a scratch config
//! directory, which three Postfix tools then read:
//!
//! 1. `postconf -c DIR -n` reports unused and undefined parameters, macro
//!    errors and main.cf syntax errors (SPEC section 3).
//! 2. `postmap -c DIR -q x static:x` runs `mail_conf_read()`, i.e.
//!    `mail_params_init()`: Postfix's own validation of the global
//!    parameters (`bad numerical configuration`, unknown inet_protocols
//!    values, myhostname/mydomain syntax, inet_interfaces resolution,
//!    unknown mail_owner/setgid_group...). It is the same code that
//!    `postfix check` runs first, without the installation checks, the
//!    terminal (postfix logs only to syslog without one) or root; it takes
//!    milliseconds.
//! 3. As root, and only when the change touches a parameter the
//!    installation checks read (directories, mail_owner, setgid_group,
//!    the sendmail paths...), `postfix -c DIR check` under `script` with
//!    scratch queue and data directories: postfix-script's checks that
//!    the directories and programs exist. It costs about half a second
//!    (it forks some hundred processes), so it does not run for changes it
//!    cannot judge.
//!
//! Only problems the change introduces block: when the candidate has
//! problems, the same tool runs on the live file, and what it already
//! reports stays a warning. A clean candidate is never compared, so the
//! usual cost is one run of each tool.
//!
//! Nothing outside the scratch directories is written: the tools read
//! /etc/postfix only for `multi_instance_directories` and the
//! postfix-files lists, and the scratch directories are removed when the
//! check ends (they carry the prefix `postform-check-`; a run killed by
//! SIGKILL leaves its directory, and the next check removes it).

use crate::engine::service::{postconf_bin, postfix_bin};
use crate::io::programs::Programs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The real Postfix refuses (or warns about) the candidate.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    #[error("Postfix rejects the planned configuration; nothing was written:\n{}\n  hint: fix the spec; postform checked the candidate with {tool} in a scratch copy of the config directory", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Rejected { tool: String, problems: Vec<String> },
    #[error("the live configuration already fails {tool}, and Postfix stops at its first fatal error, so the planned change cannot be checked; nothing was written:\n{}\n  hint: fix that problem first (in the spec, or in the file), then apply again; --no-validate skips the check", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Masked { tool: String, problems: Vec<String> },
    #[error("cannot prepare the candidate check: {0}")]
    Scratch(#[from] std::io::Error),
}

/// Parameters whose change `postfix check` (postfix-script and
/// post-install) can judge beyond `mail_params_init`: where Postfix is
/// installed and who owns it.
pub const INSTALLATION_PARAMETERS: &[&str] = &[
    "command_directory",
    "config_directory",
    "daemon_directory",
    "data_directory",
    "html_directory",
    "import_environment",
    "mail_owner",
    "mailq_path",
    "manpage_directory",
    "meta_directory",
    "multi_instance_directories",
    "multi_instance_enable",
    "newaliases_path",
    "queue_directory",
    "readme_directory",
    "sample_directory",
    "sendmail_path",
    "setgid_group",
    "shlib_directory",
];

/// The files a check reads: main.cf and master.cf bytes.
#[derive(Debug, Clone, Copy)]
struct Files<'a> {
    main: &'a [u8],
    master: &'a [u8],
}

/// Check the candidate main.cf and master.cf (`after_*`) against the live
/// ones (`before_*`). Returns warnings (pre-existing problems, or a note
/// that a check could not run).
pub fn check(
    config_dir: &Path,
    before_main: &[u8],
    after_main: &[u8],
    before_master: &[u8],
    after_master: &[u8],
) -> Result<Vec<String>, CandidateError> {
    let _ = config_dir;
    let programs = Programs::get();
    if programs.postconf.is_none() {
        return Ok(vec![
            "postconf not found: the candidate check with the real Postfix was skipped".into(),
        ]);
    }
    let before = Files {
        main: before_main,
        master: before_master,
    };
    let after = Files {
        main: after_main,
        master: after_master,
    };
    let mut warnings = Vec::new();
    compare(&mut warnings, "`postconf -n`", before, after, |f| {
        postconf_problems(f.main, f.master)
    })?;
    match &programs.postmap {
        Some(postmap) => compare(
            &mut warnings,
            "Postfix's own parameter checks (`postmap -q`)",
            before,
            after,
            |f| parameter_problems(postmap, f.main, f.master),
        )?,
        None => warnings.push(
            "postmap not found: Postfix's own parameter checks of the candidate were skipped"
                .into(),
        ),
    }
    // Where Postfix is installed, checked on this host (the scratch
    // `postfix check` below uses substitute queue and data directories).
    let installation = installation_problems(before_main, after_main);
    if !installation.is_empty() {
        return Err(CandidateError::Rejected {
            tool: "the installation paths on this host".into(),
            problems: installation,
        });
    }
    if is_root() && programs.postfix.is_some() && installation_changed(before_main, after_main) {
        if programs.script.is_none() {
            warnings.push(
                "`script` (util-linux) not found: the candidate check with `postfix check` was skipped"
                    .into(),
            );
        } else {
            // postfix runs $daemon_directory/postfix-script: always the
            // live one, never a program the candidate names (its
            // daemon_directory was checked above without running it).
            let live_daemon_directory = crate::postfix::maincf::MainCf::parse(before_main)
                .ok()
                .and_then(|d| {
                    d.get("daemon_directory")
                        .map(|e| e.value_str().trim().to_string())
                })
                .or_else(|| {
                    crate::catalog::Catalog::host()
                        .get("daemon_directory")
                        .map(|p| p.default.to_string())
                });
            compare(&mut warnings, "`postfix check`", before, after, |f| {
                postfix_check_problems(f.main, f.master, live_daemon_directory.as_deref())
            })?;
        }
    }
    Ok(warnings)
}

/// Run one tool on the candidate; when it reports problems, also on the
/// live files: problems already there become warnings, new ones an error.
fn compare(
    warnings: &mut Vec<String>,
    tool: &str,
    before: Files<'_>,
    after: Files<'_>,
    run: impl Fn(Files<'_>) -> Result<Vec<String>, std::io::Error>,
) -> Result<(), CandidateError> {
    let new = run(after)?;
    if new.is_empty() {
        return Ok(());
    }
    let old = run(before)?;
    let mut introduced = Vec::new();
    let mut masking = Vec::new();
    for p in new {
        if old.contains(&p) {
            // Postfix stops at its first fatal error: one the live files
            // already have hides whatever else the candidate gets wrong.
            if p.starts_with("fatal") {
                masking.push(p);
            } else {
                warnings.push(format!("already in the live configuration: {p}"));
            }
        } else {
            introduced.push(p);
        }
    }
    if introduced.is_empty() && !masking.is_empty() {
        return Err(CandidateError::Masked {
            tool: tool.into(),
            problems: masking,
        });
    }
    if introduced.is_empty() {
        Ok(())
    } else {
        Err(CandidateError::Rejected {
            tool: tool.into(),
            problems: introduced,
        })
    }
}

/// Problems `postconf -n` reports for main.cf bytes: warnings about
/// parameters and macros, and fatal errors.
pub fn postconf_problems(main_cf: &[u8], master_cf: &[u8]) -> Result<Vec<String>, std::io::Error> {
    let dir = scratch(main_cf, master_cf, None)?;
    let out = run(Command::new(postconf_bin())
        .arg("-c")
        .arg(dir.path())
        .arg("-n"))?;
    let mut problems = messages(&String::from_utf8_lossy(&out.stderr), dir.path());
    if !out.status.success() && problems.iter().all(|p| !p.starts_with("fatal")) {
        problems.push(format!("fatal: postconf exited with {}", out.status));
    }
    Ok(problems)
}

/// Problems Postfix's `mail_params_init()` reports for main.cf bytes,
/// through `postmap -c DIR -q x static:x` (any Postfix program would do;
/// postmap needs no daemon, no terminal and no privileges, and the
/// `static:` table opens no file).
pub fn parameter_problems(
    postmap: &Path,
    main_cf: &[u8],
    master_cf: &[u8],
) -> Result<Vec<String>, std::io::Error> {
    let dir = scratch(main_cf, master_cf, None)?;
    let out = run(Command::new(postmap)
        .arg("-c")
        .arg(dir.path())
        .args(["-q", "x", "static:x"]))?;
    let mut problems: Vec<String> = messages(&String::from_utf8_lossy(&out.stderr), dir.path())
        .into_iter()
        .filter(|p| p.starts_with("fatal"))
        .collect();
    if !out.status.success() && problems.is_empty() {
        problems.push(format!("fatal: postmap exited with {}", out.status));
    }
    Ok(problems)
}

/// Problems `postfix check` reports (root only): `mail_params_init()` plus
/// postfix-script's installation checks. Run under `script` because
/// without a terminal postfix logs only to syslog.
fn postfix_check_problems(
    main_cf: &[u8],
    master_cf: &[u8],
    daemon_directory: Option<&str>,
) -> Result<Vec<String>, std::io::Error> {
    let base = scratch_dir()?;
    let spool = base.path().join("spool");
    let data = base.path().join("data");
    std::fs::create_dir_all(&spool)?;
    std::fs::create_dir_all(&data)?;
    // postfix-script warns (to syslog too) about a data directory not
    // owned by mail_owner; give it to that user when it exists.
    if let Some(uid) = mail_owner_uid(main_cf) {
        let _ = std::os::unix::fs::chown(&data, Some(uid), None);
    }
    let dir = scratch(main_cf, master_cf, Some((&spool, &data, daemon_directory)))?;
    let cmd = format!(
        "{} -c {} check",
        shell_quote(&postfix_bin()),
        shell_quote(&dir.path().display().to_string())
    );
    let out = run(Command::new("script").args(["-qec", &cmd, "/dev/null"]))?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let mut problems: Vec<String> = messages(&text, dir.path())
        .into_iter()
        .filter(|p| p.starts_with("fatal") || p.contains("error"))
        .collect();
    if !out.status.success() && problems.is_empty() {
        problems.push(format!("fatal: postfix check exited with {}", out.status));
    }
    Ok(problems)
}

/// Installation parameters whose new value names a directory or program
/// this host lacks: `queue_directory: /nonexistent/spool` makes every
/// Postfix command fail with "chdir(...): No such file or directory".
/// Only changed values are judged; values with `$` references are left
/// to Postfix's own checks.
fn installation_problems(before: &[u8], after: &[u8]) -> Vec<String> {
    use crate::postfix::maincf::MainCf;
    let (Ok(b), Ok(a)) = (MainCf::parse(before), MainCf::parse(after)) else {
        return Vec::new();
    };
    let value = |d: &MainCf, n: &str| d.get(n).map(|e| e.value_str().trim().to_string());
    let mut out = Vec::new();
    for name in INSTALLATION_PARAMETERS {
        let new = value(&a, name);
        if new == value(&b, name) {
            continue;
        }
        let Some(v) = new.filter(|v| !v.is_empty() && !v.contains('$')) else {
            continue;
        };
        let path = Path::new(&v);
        let problem = match *name {
            "queue_directory" | "data_directory" | "meta_directory" | "shlib_directory" => {
                (!path.is_dir()).then(|| "no such directory".to_string())
            }
            "daemon_directory" => {
                if !path.is_dir() {
                    Some("no such directory".to_string())
                } else {
                    ["master", "postfix-script"]
                        .iter()
                        .find(|p| !path.join(p).is_file())
                        .map(|p| format!("it has no {p}: not a Postfix daemon directory"))
                }
            }
            "command_directory" => {
                if !path.is_dir() {
                    Some("no such directory".to_string())
                } else {
                    (!path.join("postconf").is_file())
                        .then(|| "it has no postconf: not Postfix's command directory".to_string())
                }
            }
            "sendmail_path" | "newaliases_path" | "mailq_path" => {
                (!path.is_file()).then(|| "no such file".to_string())
            }
            "html_directory" | "manpage_directory" | "readme_directory" | "sample_directory" => {
                (v != "no" && !path.is_dir()).then(|| "no such directory (or no)".to_string())
            }
            _ => None,
        };
        if let Some(why) = problem {
            out.push(format!("{name} = {v}: {why} on this host"));
        }
    }
    out
}

/// Whether the effective value of an [`INSTALLATION_PARAMETERS`] entry
/// differs (or a file cannot be parsed, to be safe).
fn installation_changed(before: &[u8], after: &[u8]) -> bool {
    use crate::postfix::maincf::MainCf;
    let (Ok(b), Ok(a)) = (MainCf::parse(before), MainCf::parse(after)) else {
        return true;
    };
    let value = |d: &MainCf, n: &str| d.get(n).map(|e| e.value_str().trim().to_string());
    INSTALLATION_PARAMETERS
        .iter()
        .any(|n| value(&b, n) != value(&a, n))
}

/// Run a Postfix tool on a scratch directory with the time limit; a tool
/// that hangs is an error of the check (nothing is written).
fn run(cmd: &mut Command) -> Result<std::process::Output, std::io::Error> {
    crate::io::process::output(cmd, crate::io::process::timeout())
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Pull `warning:`/`fatal:` messages out of Postfix output, with the
/// scratch directory's path replaced by `main.cf` wording.
fn messages(text: &str, dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let msg = match line.find("warning: ").or_else(|| line.find("fatal: ")) {
            Some(i) => &line[i..],
            None => continue,
        };
        let msg = msg
            .replace(&format!("{dir}/"), "")
            .replace(&dir, "config dir");
        // postconf prints `warning: ... ` lines twice for hot files; the
        // scratch files are backdated, but de-duplicate anyway.
        let relevant = msg.starts_with("fatal")
            || msg.contains("unused parameter")
            || msg.contains("undefined parameter")
            || msg.contains("read-only parameter")
            || msg.contains("macro")
            || msg.contains("missing '}'")
            || msg.contains("unknown");
        if relevant && !out.contains(&msg) {
            out.push(msg);
        }
    }
    out
}

fn scratch(
    main_cf: &[u8],
    master_cf: &[u8],
    dirs: Option<(&PathBuf, &PathBuf, Option<&str>)>,
) -> Result<Scratch, std::io::Error> {
    let dir = scratch_dir()?;
    let mut main = main_cf.to_vec();
    if let Some((spool, data, daemon_directory)) = dirs {
        if !main.is_empty() && !main.ends_with(b"\n") {
            main.push(b'\n');
        }
        main.extend_from_slice(
            format!(
                "queue_directory = {}\ndata_directory = {}\n",
                spool.display(),
                data.display()
            )
            .as_bytes(),
        );
        if let Some(d) = daemon_directory {
            main.extend_from_slice(format!("daemon_directory = {d}\n").as_bytes());
        }
    }
    // Backdated: Postfix programs wait for a config file modified within
    // the last second to settle, and postconf repeats its warnings.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for (name, bytes) in [("main.cf", &main[..]), ("master.cf", master_cf)] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(old)?;
    }
    Ok(dir)
}

/// Prefix of the scratch directories in TMPDIR.
const SCRATCH_PREFIX: &str = "postform-check-";
/// Prefix of the scratch directories of versions before the lock: never
/// locked, so removed only when old.
const UNLOCKED_PREFIX: &str = "postform-candidate-";
/// Age after which an [`UNLOCKED_PREFIX`] directory is surely left over.
const UNLOCKED_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A private scratch directory (mode 0700) in TMPDIR, removed when
/// dropped. While it exists the directory itself is flocked, so that a
/// later run can tell it from the directory of a run that was killed
/// (SIGKILL runs no destructor) and remove only the latter.
#[derive(Debug)]
struct Scratch {
    path: PathBuf,
    _lock: std::fs::File,
}

impl Scratch {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Create and lock a scratch directory, after sweeping what dead runs
/// left. A sweep of another run may remove the new directory in the
/// moment before it is locked: then it is no longer at its path, and a
/// new one is made.
fn scratch_dir() -> Result<Scratch, std::io::Error> {
    let tmp = std::env::temp_dir();
    for _ in 0..16 {
        let dir = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(&tmp)?;
        let path = dir.keep();
        // Another run's sweep may remove the directory before it is
        // locked: then make a new one.
        let lock = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        lock.lock()?;
        if crate::io::lock::still_at(&lock, &path)? {
            sweep_stale_scratch_dirs(&tmp, lock.metadata()?.uid());
            return Ok(Scratch { path, _lock: lock });
        }
    }
    Err(std::io::Error::other(
        "cannot create a scratch directory: removed by another process every time",
    ))
}

/// Remove the scratch directories of dead runs in `tmp`: owned by `uid`,
/// named `SCRATCH_PREFIX`... and not locked (a live run holds its
/// directory's lock), or named `UNLOCKED_PREFIX`... (an older version,
/// which took no lock) and older than `UNLOCKED_MAX_AGE`. Returns how
/// many were removed.
pub fn sweep_stale_scratch_dirs(tmp: &Path, uid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let locked_kind = name.starts_with(SCRATCH_PREFIX);
        if !locked_kind && !name.starts_with(UNLOCKED_PREFIX) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != uid {
            continue;
        }
        // Held while removing; released when the handle closes.
        let Ok(dir) = std::fs::File::open(&path) else {
            continue;
        };
        let dead = if locked_kind {
            dir.try_lock().is_ok()
        } else {
            meta.modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > UNLOCKED_MAX_AGE)
        };
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The uid of the candidate's mail_owner (default `postfix`), from
/// /etc/passwd.
fn mail_owner_uid(main_cf: &[u8]) -> Option<u32> {
    let owner = crate::postfix::maincf::MainCf::parse(main_cf)
        .ok()
        .and_then(|d| {
            d.get("mail_owner")
                .map(|e| e.value_str().trim().to_string())
        })
        .filter(|v| !v.is_empty() && !v.contains('$'))
        .unwrap_or_else(|| "postfix".to_string());
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == owner).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective uid.
    tempfile::tempfile()
        .and_then(|f| f.metadata())
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_parameters_are_compared_effectively() {
        let a = b"myhostname = a\ndaemon_directory = /usr/lib/postfix/sbin\n";
        let b = b"myhostname = b\ndaemon_directory = /usr/lib/postfix/sbin\n";
        assert!(!installation_changed(a, b));
        let c = b"myhostname = b\ndaemon_directory = /opt/postfix\n";
        assert!(installation_changed(a, c));
        assert!(installation_changed(
            b"x = 1\n",
            b"x = 1\nmail_owner = mail\n"
        ));
    }

    #[test]
    fn messages_strip_the_scratch_dir() {
        let dir = Path::new("/tmp/postform-check-abc");
        let text = "postconf: warning: /tmp/postform-check-abc/main.cf: unused parameter: a=b\n\
                    postconf: warning: /tmp/postform-check-abc/main.cf: unused parameter: a=b\n\
                    postmap: fatal: bad numerical configuration: message_size_limit = 10m\n\
                    postconf: warning: something harmless\n";
        assert_eq!(
            messages(text, dir),
            [
                "warning: main.cf: unused parameter: a=b",
                "fatal: bad numerical configuration: message_size_limit = 10m"
            ]
        );
    }

    #[test]
    fn sweep_removes_only_the_scratch_dirs_of_dead_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let uid = std::fs::metadata(tmp.path()).unwrap().uid();
        let make = |name: &str| {
            let d = tmp.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("main.cf"), b"a = b\n").unwrap();
            d
        };
        let dead = make("postform-check-dead");
        let live = make("postform-check-live");
        let held = std::fs::File::open(&live).unwrap();
        held.lock().unwrap();
        let other = make("someone-elses-dir");
        // An older version's directory (no lock): only when an hour old.
        let older_version = make("postform-candidate-young");
        assert_eq!(sweep_stale_scratch_dirs(tmp.path(), uid), 1);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists() && older_version.exists());
        // Another user's directory is never touched.
        let dead_again = make("postform-check-dead2");
        assert_eq!(sweep_stale_scratch_dirs(tmp.path(), uid + 1), 0);
        assert!(dead_again.exists());
        drop(held);
        assert_eq!(sweep_stale_scratch_dirs(tmp.path(), uid), 2);
        assert!(!live.exists() && !dead_again.exists());
    }

    #[test]
    fn a_scratch_dir_is_locked_while_alive_and_removed_when_dropped() {
        let dir = scratch_dir().unwrap();
        let path = dir.path().to_path_buf();
        assert!(path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(SCRATCH_PREFIX));
        let lock = std::fs::File::open(&path).unwrap();
        assert!(lock.try_lock().is_err(), "a live scratch dir is locked");
        drop(lock);
        drop(dir);
        assert!(!path.exists());
    }
}
