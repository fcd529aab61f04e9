//! CLI snapshot cases: `tests/cli-cases/<NN-name>/`, one folder per case.
//!
//! A case folder holds:
//!
//! * `in/`: the starting files (a config dir such as `in/postfix/main.cf` +
//!   `master.cf`, spec files, saved plans...).
//! * `cmd`: one line, the `postform` arguments (split on whitespace; `'...'`
//!   and `"..."` quote); or several such lines run in turn, where a line
//!   `sh SCRIPT` runs SCRIPT with the shell (a step between two commands).
//!   With several lines the outputs are concatenated, each after a
//!   `$ LINE` header, and the status is the last command's. The command runs with its working directory set to
//!   a temporary copy of `in/` (`$DIR`), so paths in it are relative:
//!   `plan spec.yaml -c postfix`.
//! * `out/`: the expected tree of `$DIR` after the command, every file
//!   (a file the command left alone is in `out/` unchanged; a file it
//!   created, such as a backup or a saved plan, is there too).
//! * `stdout`, `stderr`: the expected output; `status`: the exit code.
//!
//! How a case runs: `in/` is copied to a fresh temp dir, every file made
//! mode 0644 and backdated a few seconds; the binary runs with a clean
//! environment (`PATH` with the sbin directories, `NO_COLOR=1`, `LC_ALL=C`,
//! `HOME=$DIR`) and stdin from /dev/null (not a terminal). In the output and
//! in file contents the temp dir's path becomes `$DIR`, and backup file
//! names `main.cf.postform-backup-<UTC time>` become
//! `main.cf.postform-backup-TIMESTAMP`. Besides the snapshots every case
//! checks one invariant: a file whose bytes did not change keeps its mtime
//! (postform never rewrites what it does not change).
//!
//! Apply cases use `--service none`: no daemon is involved (the real daemon
//! is tests/e2e_daemon.rs). The outputs depend on the installed Postfix
//! (its parameter catalog and the candidate check), so the cases need
//! `postconf`; without it they skip loudly (fail under
//! `POSTFORM_REQUIRE_REAL=1`).
//!
//! Environment:
//!
//! * `POSTFORM_CASE=substr`: run only the cases whose folder name contains
//!   `substr`.
//! * `POSTFORM_BLESS=1`: instead of comparing, rewrite `stdout`, `stderr`,
//!   `status` and `out/` from what the binary does now. Review the result
//!   with `git diff tests/cli-cases` before committing: a blessed snapshot
//!   is a claim that the output is right.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

const BLESS_ENV: &str = "POSTFORM_BLESS";
const FILTER_ENV: &str = "POSTFORM_CASE";
/// The issue asks for at least this many cases; fewer means some were lost.
const MIN_CASES: usize = 25;
const BACKUP_MARK: &str = ".postform-backup-";

fn cases_dir() -> PathBuf {
    support::repo_root().join("tests").join("cli-cases")
}

fn blessing() -> bool {
    matches!(
        std::env::var(BLESS_ENV).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// What a case produced (or is expected to produce).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    stdout: String,
    stderr: String,
    status: String,
    /// Relative path -> bytes.
    tree: BTreeMap<String, Vec<u8>>,
}

/// Split a `cmd` line into arguments: whitespace separates, single and
/// double quotes group (no escapes, no expansion).
fn split_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_arg = true;
            }
            None if c.is_whitespace() => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            None => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    assert!(quote.is_none(), "unterminated quote in cmd: {line}");
    if in_arg {
        args.push(cur);
    }
    args
}

/// Copy `from` into `to` recursively (files and directories only).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if ty.is_file() {
            let bytes = fs::read(entry.path()).unwrap();
            support::write_backdated(&dest, &bytes);
        } else {
            panic!(
                "{}: only files and directories are allowed in a case's in/",
                entry.path().display()
            );
        }
    }
}

/// Every file under `root`: relative path -> (bytes, mtime).
fn read_tree(root: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (Vec<u8>, SystemTime)>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for entry in rd {
            let entry = entry.unwrap();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let bytes = fs::read(&path).unwrap_or_default();
                out.insert(rel, (bytes, meta.modified().unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `main.cf.postform-backup-20250101T000000Z` -> `...-TIMESTAMP`.
fn normalize_backup_names(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(BACKUP_MARK) {
        let after = i + BACKUP_MARK.len();
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let stamp: Vec<char> = tail.chars().take(16).collect();
        let is_stamp = stamp.len() == 16
            && stamp.iter().enumerate().all(|(k, c)| match k {
                8 => *c == 'T',
                15 => *c == 'Z',
                _ => c.is_ascii_digit(),
            });
        if is_stamp {
            out.push_str("TIMESTAMP");
            rest = &tail[16..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn normalize_text(s: &str, dirs: &[String]) -> String {
    let mut s = s.to_string();
    for d in dirs {
        s = s.replace(d.as_str(), "$DIR");
    }
    normalize_backup_names(&s)
}

fn normalize_bytes(b: &[u8], dirs: &[String]) -> Vec<u8> {
    // Only valid UTF-8 is rewritten; other files are compared as they are.
    match std::str::from_utf8(b) {
        Ok(s) => normalize_text(s, dirs).into_bytes(),
        Err(_) => b.to_vec(),
    }
}

/// Run one case; returns what it produced, plus invariant violations.
fn run_case(case: &Path) -> (Outcome, Vec<String>) {
    let cmd_line = fs::read_to_string(case.join("cmd"))
        .unwrap_or_else(|e| panic!("{}: cannot read cmd: {e}", case.display()));
    let lines: Vec<&str> = cmd_line.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "{}: cmd is empty", case.display());

    let tmp = tempfile::Builder::new()
        .prefix("postform-case-")
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path().to_path_buf();
    if case.join("in").is_dir() {
        copy_tree(&case.join("in"), &dir);
    }
    let before = read_tree(&dir);

    // Several lines: each runs in turn (a `sh ...` line through the shell,
    // for a step between two postform commands); the outputs are
    // concatenated, each command's after a `$ <line>` header, and the
    // status is the last command's.
    let many = lines.len() > 1;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut status = None;
    for line in &lines {
        let mut cmd = match line.strip_prefix("sh ") {
            Some(script) => {
                let mut c = Command::new("sh");
                c.args(["-c", script]);
                c
            }
            None => {
                let mut c = Command::new(support::postform_bin());
                c.args(split_args(line));
                c
            }
        };
        let out = cmd
            .current_dir(&dir)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("NO_COLOR", "1")
            .env("LC_ALL", "C")
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {line}: {e}"));
        if many {
            stdout.extend_from_slice(format!("$ {line}\n").as_bytes());
            stderr.extend_from_slice(format!("$ {line}\n").as_bytes());
        }
        stdout.extend_from_slice(&out.stdout);
        stderr.extend_from_slice(&out.stderr);
        status = Some(out.status);
    }
    let status = status.expect("at least one command");

    let mut dirs = vec![dir.display().to_string()];
    if let Ok(c) = fs::canonicalize(&dir) {
        let c = c.display().to_string();
        if !dirs.contains(&c) {
            dirs.insert(0, c);
        }
    }
    let after = read_tree(&dir);
    let mut problems = Vec::new();
    for (path, (bytes, mtime)) in &after {
        if let Some((old, old_mtime)) = before.get(path) {
            if old == bytes && old_mtime != mtime {
                problems.push(format!(
                    "{path}: content unchanged but mtime changed (the file was rewritten)"
                ));
            }
        }
    }
    let tree = after
        .into_iter()
        .map(|(p, (b, _))| (normalize_text(&p, &dirs), normalize_bytes(&b, &dirs)))
        .collect();
    let outcome = Outcome {
        stdout: normalize_text(&String::from_utf8_lossy(&stdout), &dirs),
        stderr: normalize_text(&String::from_utf8_lossy(&stderr), &dirs),
        status: status
            .code()
            .map_or_else(|| format!("signal: {status}"), |c| c.to_string()),
        tree,
    };
    (outcome, problems)
}

fn read_expected(case: &Path) -> Result<Outcome, String> {
    let read = |name: &str| {
        fs::read_to_string(case.join(name)).map_err(|e| {
            format!("missing expectation file `{name}` ({e}); create it with {BLESS_ENV}=1")
        })
    };
    let mut tree = BTreeMap::new();
    let out_dir = case.join("out");
    if out_dir.is_dir() {
        for (p, (b, _)) in read_tree(&out_dir) {
            tree.insert(p, b);
        }
    } else {
        return Err(format!(
            "missing `out/` (the expected files); create it with {BLESS_ENV}=1"
        ));
    }
    Ok(Outcome {
        stdout: read("stdout")?,
        stderr: read("stderr")?,
        status: read("status")?.trim().to_string(),
        tree,
    })
}

fn bless(case: &Path, got: &Outcome) {
    fs::write(case.join("stdout"), &got.stdout).unwrap();
    fs::write(case.join("stderr"), &got.stderr).unwrap();
    fs::write(case.join("status"), format!("{}\n", got.status)).unwrap();
    let out_dir = case.join("out");
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir).unwrap();
    }
    fs::create_dir_all(&out_dir).unwrap();
    for (p, b) in &got.tree {
        let dest = out_dir.join(p);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, b).unwrap();
    }
}

fn diff(label: &str, want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (expected)"), &format!("{label} (actual)"))
        .missing_newline_hint(true)
        .to_string()
}

/// Human-readable differences, empty when equal.
fn compare(want: &Outcome, got: &Outcome) -> Vec<String> {
    let mut d = Vec::new();
    if want.status != got.status {
        d.push(format!(
            "exit status: expected {}, got {}",
            want.status, got.status
        ));
    }
    if want.stdout != got.stdout {
        d.push(diff("stdout", &want.stdout, &got.stdout));
    }
    if want.stderr != got.stderr {
        d.push(diff("stderr", &want.stderr, &got.stderr));
    }
    for (p, b) in &want.tree {
        match got.tree.get(p) {
            None => d.push(format!(
                "out/{p}: expected file is missing after the command"
            )),
            Some(g) if g != b => d.push(diff(
                &format!("out/{p}"),
                &String::from_utf8_lossy(b),
                &String::from_utf8_lossy(g),
            )),
            Some(_) => {}
        }
    }
    for p in got.tree.keys().filter(|p| !want.tree.contains_key(*p)) {
        d.push(format!("{p}: unexpected file after the command"));
    }
    d
}

/// Every case folder is `NN-name` with a number of its own (docs and
/// notes refer to cases by number).
#[test]
fn case_numbers_are_unique() {
    let mut seen = std::collections::BTreeMap::new();
    for e in fs::read_dir(cases_dir()).expect("tests/cli-cases exists") {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let number: u32 = name
            .split_once('-')
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("case folder {name:?} is not NN-name"));
        if let Some(other) = seen.insert(number, name.clone()) {
            panic!("cases {other:?} and {name:?} share the number {number}");
        }
    }
}

#[test]
fn cli_cases() {
    if support::postconf().is_none() {
        return;
    }
    let filter = std::env::var(FILTER_ENV).unwrap_or_default();
    let mut cases: Vec<PathBuf> = fs::read_dir(cases_dir())
        .expect("tests/cli-cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    if filter.is_empty() {
        assert!(
            cases.len() >= MIN_CASES,
            "expected at least {MIN_CASES} case folders in {}, found {}",
            cases_dir().display(),
            cases.len()
        );
    }
    cases.retain(|c| c.file_name().unwrap().to_string_lossy().contains(&filter));
    assert!(!cases.is_empty(), "no case matches {FILTER_ENV}={filter:?}");

    // A few cases at a time: each run spawns postconf/postfix too.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4);
    let results: Vec<(PathBuf, Outcome, Vec<String>)> = std::thread::scope(|s| {
        let chunks: Vec<Vec<PathBuf>> = (0..threads)
            .map(|t| cases.iter().skip(t).step_by(threads).cloned().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|c| {
                            let (o, p) = run_case(&c);
                            (c, o, p)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread panicked"))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    });

    let mut failures = Vec::new();
    for (case, got, problems) in &results {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let mut report = problems.clone();
        if blessing() {
            bless(case, got);
        } else {
            match read_expected(case) {
                Ok(want) => report.extend(compare(&want, got)),
                Err(e) => report.push(e),
            }
        }
        if !report.is_empty() {
            failures.push(format!("=== case {name} ===\n{}", report.join("\n")));
        }
    }
    if blessing() {
        eprintln!(
            "{BLESS_ENV}=1: rewrote the expectations of {} case(s); review them with `git diff tests/cli-cases`",
            results.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} CLI case(s) failed:\n\n{}\n\nIf the new output is right, rerun with {BLESS_ENV}=1 and review the diff.",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
}

#[test]
fn split_args_quotes() {
    assert_eq!(
        split_args("plan 'a b.yaml' -c \"x y\"  --json"),
        vec!["plan", "a b.yaml", "-c", "x y", "--json"]
    );
    assert_eq!(split_args("show ''"), vec!["show", ""]);
}

#[test]
fn backup_names_are_normalized() {
    assert_eq!(
        normalize_backup_names("Backup: postfix/main.cf.postform-backup-20250102T030405Z."),
        "Backup: postfix/main.cf.postform-backup-TIMESTAMP."
    );
    assert_eq!(
        normalize_backup_names("main.cf.postform-backup-x"),
        "main.cf.postform-backup-x"
    );
}

/// A saved plan names its config dir absolutely: `plan -c postfix -o tfplan`
/// in one directory, `apply /that/dir/tfplan` from another (a cron job,
/// another shell) applies to the same main.cf.
#[test]
fn a_saved_plan_applies_from_another_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/postfix"),
        &work.join("postfix"),
    );
    fs::write(work.join("spec.yaml"), "inet_protocols: ipv4\n").unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        Command::new(support::postform_bin())
            .args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let planned = run(
        &work,
        &["plan", "spec.yaml", "-c", "postfix", "-o", "tfplan"],
    );
    assert!(planned.status.success(), "{}", support::describe(&planned));
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::create_dir(elsewhere.join("postfix")).unwrap();
    let plan_file = work.join("tfplan");
    let applied = run(
        &elsewhere,
        &[
            "apply",
            plan_file.to_str().unwrap(),
            "--auto-approve",
            "--service",
            "none",
        ],
    );
    assert!(applied.status.success(), "{}", support::describe(&applied));
    let main_cf = fs::read_to_string(work.join("postfix/main.cf")).unwrap();
    assert!(main_cf.contains("\ninet_protocols = ipv4\n"), "{main_cf}");
    assert_eq!(fs::read_dir(elsewhere.join("postfix")).unwrap().count(), 0);
}
