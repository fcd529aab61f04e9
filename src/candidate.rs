//! The candidate check: ask the real Postfix about the new main.cf before
//! the live one is touched.
//!
//! The candidate (with the live master.cf) goes into a scratch config
//! directory; `postconf -c DIR -n` reports unused and undefined parameters
//! and macro errors, and, when running as root, `postfix -c DIR check` (with
//! scratch queue and data directories) runs Postfix's own parameter
//! validation, which catches what postconf does not (bad numbers, bad
//! inet_protocols values, unresolvable inet_interfaces...).
//!
//! Only problems the change introduces block: the same check runs on the
//! live file, and what it already reports stays a warning.

use crate::service::{postconf_bin, postfix_bin};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The real Postfix refuses (or warns about) the candidate.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    #[error("Postfix rejects the planned main.cf; nothing was written:\n{}\n  hint: fix the spec; postform checked the candidate with `{tool}` in a scratch copy of the config directory", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Rejected { tool: String, problems: Vec<String> },
    #[error("cannot prepare the candidate check: {0}")]
    Scratch(#[from] std::io::Error),
}

/// Check `after` against `before` (both main.cf bytes) with the config
/// dir's master.cf. Returns warnings (pre-existing problems, or a note that
/// the check could not run).
pub fn check(
    config_dir: &Path,
    before: &[u8],
    after: &[u8],
) -> Result<Vec<String>, CandidateError> {
    if which(&postconf_bin()).is_none() {
        return Ok(vec![
            "postconf not found: the candidate check with the real Postfix was skipped".into(),
        ]);
    }
    let master = std::fs::read(config_dir.join("master.cf")).unwrap_or_default();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let old = postconf_problems(before, &master)?;
    let new = postconf_problems(after, &master)?;
    for p in new.iter() {
        if old.contains(p) {
            warnings.push(format!("already in the live main.cf: {p}"));
        } else {
            problems.push(p.clone());
        }
    }
    if !problems.is_empty() {
        return Err(CandidateError::Rejected {
            tool: "postconf -n".into(),
            problems,
        });
    }
    if is_root() && which(&postfix_bin()).is_some() && which("script").is_some() {
        let old = postfix_check_problems(before, &master)?;
        let new = postfix_check_problems(after, &master)?;
        let problems: Vec<String> = new.into_iter().filter(|p| !old.contains(p)).collect();
        if !problems.is_empty() {
            return Err(CandidateError::Rejected {
                tool: "postfix check".into(),
                problems,
            });
        }
    }
    Ok(warnings)
}

/// Problems `postconf -n` reports for main.cf bytes: warnings about
/// parameters and macros, and fatal errors.
pub fn postconf_problems(main_cf: &[u8], master_cf: &[u8]) -> Result<Vec<String>, std::io::Error> {
    let dir = scratch(main_cf, master_cf, None)?;
    let out = Command::new(postconf_bin())
        .arg("-c")
        .arg(dir.path())
        .arg("-n")
        .stdin(std::process::Stdio::null())
        .output()?;
    let mut problems = messages(&String::from_utf8_lossy(&out.stderr), dir.path());
    if !out.status.success() && problems.iter().all(|p| !p.starts_with("fatal")) {
        problems.push(format!("fatal: postconf exited with {}", out.status));
    }
    Ok(problems)
}

/// Problems `postfix check` reports (root only): Postfix's own validation
/// of global parameters. Run under `script` because without a terminal
/// postfix logs only to syslog.
fn postfix_check_problems(main_cf: &[u8], master_cf: &[u8]) -> Result<Vec<String>, std::io::Error> {
    let base = tempfile::tempdir()?;
    let spool = base.path().join("spool");
    let data = base.path().join("data");
    std::fs::create_dir_all(&spool)?;
    std::fs::create_dir_all(&data)?;
    let dir = scratch(main_cf, master_cf, Some((&spool, &data)))?;
    let cmd = format!(
        "{} -c {} check",
        postfix_bin(),
        shell_quote(&dir.path().display().to_string())
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()?;
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
    dirs: Option<(&PathBuf, &PathBuf)>,
) -> Result<tempfile::TempDir, std::io::Error> {
    let dir = tempfile::tempdir()?;
    let mut main = main_cf.to_vec();
    if let Some((spool, data)) = dirs {
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
    }
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

/// Find a program on PATH (or an absolute path that exists).
pub fn which(prog: &str) -> Option<PathBuf> {
    let p = Path::new(prog);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(prog))
            .find(|c| c.is_file())
    })
}
