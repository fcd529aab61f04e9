//! The candidate check with the real Postfix (src/candidate.rs): mistakes
//! that postform's own (Rust-side) validation lets through, and that the
//! real postconf / Postfix parameter code / `postfix check` catch before
//! main.cf is touched. Also: the scratch directories do not leak, the live
//! Postfix installation is not touched, and how long the check takes.

mod support;

use postform::catalog::Catalog;
use postform::engine::candidate::{self, CandidateError};
use postform::engine::spec::Spec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// A copy of examples/postfix in a scratch dir.
fn config_dir() -> tempfile::TempDir {
    let example = support::repo_root().join("examples").join("postfix");
    let main = std::fs::read(example.join("main.cf")).expect("example main.cf");
    let master = std::fs::read(example.join("master.cf")).expect("example master.cf");
    support::scratch_config_dir(&main, Some(&master))
}

struct Mistake {
    spec: &'static str,
    /// The tool of the candidate check that catches it, as the error names it.
    tool: &'static str,
    /// The one problem it reports, exactly.
    problem: &'static str,
    /// Caught only by `postfix check`, which needs root.
    root_only: bool,
}

/// Each verified by hand with the real tools (Postfix 3.7.11, Debian).
const MISTAKES: &[Mistake] = &[
    // postform accepts any `$name` (Postfix expands it later) and does not
    // know which names are defined; postconf does.
    Mistake {
        spec: "message_size_limit: $undefined_param_xyz\n",
        tool: "`postconf -n`",
        problem: "warning: main.cf: undefined parameter: undefined_param_xyz",
        root_only: false,
    },
    // A value behind `$name` is not type-checked by postform; Postfix's
    // mail_params_init() expands it and refuses it.
    Mistake {
        spec: "inet_protocols: $my_protocols\nmy_protocols: ipv5\n",
        tool: "Postfix's own parameter checks (`postmap -q`)",
        problem: "fatal: unknown inet_protocols value \"ipv5\" in \"ipv5\"",
        root_only: false,
    },
    // Host names are resolved by Postfix at startup.
    Mistake {
        spec: "inet_interfaces: no-such-host.invalid\n",
        tool: "Postfix's own parameter checks (`postmap -q`)",
        problem: "fatal: config variable inet_interfaces: host not found: no-such-host.invalid",
        root_only: false,
    },
    // Host name syntax (valid_hostname) is Postfix's business.
    Mistake {
        spec: "myhostname: bad..name\n",
        tool: "Postfix's own parameter checks (`postmap -q`)",
        problem: "fatal: file main.cf: parameter myhostname: bad parameter value: bad..name",
        root_only: false,
    },
    // Per-parameter minimums are not in the catalog.
    Mistake {
        spec: "default_process_limit: 0\n",
        tool: "Postfix's own parameter checks (`postmap -q`)",
        problem: "fatal: invalid default_process_limit parameter value 0 < 1",
        root_only: false,
    },
    // Users and groups exist or not on the host.
    Mistake {
        spec: "mail_owner: nosuchuser\n",
        tool: "Postfix's own parameter checks (`postmap -q`)",
        problem: "fatal: file main.cf: parameter mail_owner: unknown user name value: nosuchuser",
        root_only: false,
    },
    // Installation paths: checked on this host before `postfix check`
    // (which, as root, runs on substitute queue and data directories).
    Mistake {
        spec: "daemon_directory: /nonexistent-postform-test\n",
        tool: "the installation paths on this host",
        problem: "daemon_directory = /nonexistent-postform-test: no such directory on this host",
        root_only: false,
    },
];

fn postform(dir: &Path, args: &[&str], tmpdir: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(support::postform_bin());
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    if let Some(t) = tmpdir {
        cmd.env("TMPDIR", t);
    }
    support::run(&mut cmd)
}

#[test]
fn candidate_check_catches_what_rust_validation_lets_through() {
    if support::postconf().is_none() {
        return;
    }
    let root = support::is_root();
    let mut caught = 0;
    for m in MISTAKES {
        if m.root_only && !root {
            support::skip_or_fail(&format!(
                "`postfix check` needs root; cannot show that it catches {:?}",
                m.spec
            ));
            continue;
        }
        let cfg = config_dir();
        let catalog = Catalog::host();
        let spec = Spec::from_yaml_str(m.spec, "spec.yaml").expect("the spec loads");
        // 1. postform's own validation accepts it.
        let live = postform::engine::live::LiveConfig::read(cfg.path());
        let mut warnings = Vec::new();
        postform::engine::validate::validate(&spec, &live, &catalog, true, &mut warnings)
            .unwrap_or_else(|e| panic!("Rust-side validation refuses {:?} already:\n{e}", m.spec));
        // 2. The real Postfix refuses the candidate.
        let plan = postform::engine::plan::plan(&spec, &live, &catalog).expect("plan");
        let main = &plan.files[0];
        let master = live.master.bytes().expect("master.cf");
        match candidate::check(cfg.path(), &main.before, &main.after, master, master) {
            Err(CandidateError::Rejected { tool, problems }) => {
                assert_eq!(tool, m.tool, "{}", m.spec);
                assert_eq!(problems, [m.problem], "{}", m.spec);
            }
            other => panic!(
                "the candidate check lets {:?} through: {other:?} (validation warnings: {warnings:?})",
                m.spec
            ),
        }
        // 3. End to end: apply refuses, says why, and main.cf is untouched.
        let work = tempfile::tempdir().expect("tempdir");
        std::fs::write(work.path().join("spec.yaml"), m.spec).expect("spec");
        let main_cf = cfg.path().join("main.cf");
        let (bytes, mtime) = (
            std::fs::read(&main_cf).expect("main.cf"),
            std::fs::metadata(&main_cf)
                .and_then(|m| m.modified())
                .expect("mtime"),
        );
        let cfg_arg = cfg.path().display().to_string();
        let out = postform(
            work.path(),
            &[
                "apply",
                "spec.yaml",
                "-c",
                &cfg_arg,
                "--auto-approve",
                "--service",
                "none",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
        let expected = format!(
            "Error: Postfix rejects the planned configuration; nothing was written:\n  - {}\n  hint: fix the spec; postform checked the candidate with {} in a scratch copy of the config directory\n",
            m.problem, m.tool
        );
        assert!(
            support::stderr(&out).ends_with(&expected),
            "expected stderr to end with:\n{expected}\n{}",
            support::describe(&out)
        );
        assert_eq!(std::fs::read(&main_cf).expect("main.cf"), bytes);
        assert_eq!(
            std::fs::metadata(&main_cf)
                .and_then(|m| m.modified())
                .expect("mtime"),
            mtime
        );
        caught += 1;
    }
    assert!(caught >= 3, "only {caught} mistakes shown");
}

/// What the live file already has stays a warning at each stage; a fatal
/// error the live file already has refuses the change (issue 16 M7:
/// Postfix stops at its first fatal error, which would hide the
/// candidate's own).
#[test]
fn candidate_problems_already_in_the_live_file_are_warnings() {
    if support::postconf().is_none() {
        return;
    }
    let cfg = config_dir();
    let live = std::fs::read_to_string(cfg.path().join("main.cf")).expect("main.cf");
    let before = format!("{live}smtp_helo_name = $undefined_helo\n");
    let after = before.replace(
        "myhostname = mail.example.com",
        "myhostname = relay.example.com",
    );
    assert_ne!(before, after);
    let master = std::fs::read(cfg.path().join("master.cf")).expect("master.cf");
    let warnings = candidate::check(
        cfg.path(),
        before.as_bytes(),
        after.as_bytes(),
        &master,
        &master,
    )
    .expect("only old problems: no error");
    assert_eq!(
        warnings,
        ["already in the live configuration: warning: main.cf: undefined parameter: undefined_helo"]
    );
}

/// M7: the review's case. The live main.cf already fails (mail_owner
/// names no user); the spec adds a fatal of its own (an inet_interfaces
/// address this host does not have). The old fatal would hide the new
/// one, so the change is refused, naming the live problem.
#[test]
fn m7_a_fatal_error_already_in_the_live_file_refuses_the_change() {
    if support::postconf().is_none() {
        return;
    }
    let cfg = config_dir();
    let live = std::fs::read_to_string(cfg.path().join("main.cf")).expect("main.cf");
    let before = format!("{live}mail_owner = nosuchuser\n");
    let after = format!("{before}inet_interfaces = [::1]\ninet_protocols = ipv4\n");
    let master = std::fs::read(cfg.path().join("master.cf")).expect("master.cf");
    let err = candidate::check(
        cfg.path(),
        before.as_bytes(),
        after.as_bytes(),
        &master,
        &master,
    )
    .expect_err("a live fatal must refuse");
    let text = err.to_string();
    assert!(
        text.contains("the live configuration already fails"),
        "{text}"
    );
    assert!(text.contains("nosuchuser"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
}

/// `postfix check` reports only on a terminal (postfix.c calls
/// msg_vstream_init only if isatty(2)); under `script -qec` it does.
#[test]
fn postfix_check_speaks_only_under_script() {
    if support::postfix().is_none() {
        return;
    }
    if !support::is_root() {
        support::skip_or_fail("`postfix check` needs root");
        return;
    }
    if support::find_program("script").is_none() {
        support::skip_or_fail("`script` (util-linux) is not installed");
        return;
    }
    let base = tempfile::tempdir().expect("tempdir");
    let (spool, data) = (base.path().join("spool"), base.path().join("data"));
    std::fs::create_dir(&spool).expect("spool");
    std::fs::create_dir(&data).expect("data");
    let main = format!(
        "message_size_limit = abc\nqueue_directory = {}\ndata_directory = {}\n",
        spool.display(),
        data.display()
    );
    let cfg = support::scratch_config_dir(main.as_bytes(), Some(b""));
    let postfix = support::find_program("postfix").expect("postfix");
    let plain = support::run(
        Command::new(&postfix)
            .arg("-c")
            .arg(cfg.path())
            .arg("check"),
    );
    assert!(!plain.status.success());
    assert!(
        !support::stderr(&plain).contains("bad numerical configuration"),
        "postfix printed its message without a terminal; `script` may not be needed any more:\n{}",
        support::describe(&plain)
    );
    let cmd = format!("{} -c {} check", postfix.display(), cfg.path().display());
    let tty = support::run(Command::new("script").args(["-qec", &cmd, "/dev/null"]));
    assert!(!tty.status.success(), "{}", support::describe(&tty));
    assert!(
        support::stdout(&tty)
            .contains("fatal: bad numerical configuration: message_size_limit = abc"),
        "{}",
        support::describe(&tty)
    );
}

/// Files and directories under `dir` (recursively, not following
/// symlinks) with their length and mtime.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (meta.len(), meta.modified().ok()));
        }
    }
    out
}

fn system_postfix_running() -> bool {
    support::find_program("postfix")
        .is_some_and(|p| support::run(Command::new(p).arg("status")).status.success())
}

/// The candidate check works in private scratch dirs that are removed,
/// and touches neither /etc/postfix nor the live queue.
#[test]
fn scratch_dirs_are_removed_and_the_live_postfix_is_untouched() {
    if support::postconf().is_none() {
        return;
    }
    let watch: Vec<PathBuf> = vec![
        PathBuf::from("/etc/postfix"),
        PathBuf::from("/var/spool/postfix"),
    ];
    // A running Postfix changes its queue by itself; then only the
    // configuration is compared.
    let watch: Vec<PathBuf> = if system_postfix_running() {
        watch[..1].to_vec()
    } else {
        watch
    };
    let before: Vec<_> = watch.iter().map(|d| tree(d)).collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let cfg = config_dir();
    let cfg_arg = cfg.path().display().to_string();
    let apply = |spec: &str| {
        std::fs::write(work.path().join("spec.yaml"), spec).expect("spec");
        postform(
            work.path(),
            &[
                "apply",
                "spec.yaml",
                "-c",
                &cfg_arg,
                "--auto-approve",
                "--service",
                "none",
            ],
            Some(tmp.path()),
        )
    };
    // Accepted; refused by postconf; refused by the parameter checks; and
    // (as root) a change that runs `postfix check` in scratch queue/data
    // directories.
    let runs = [
        ("myhostname: relay.example.com\n", Some(0)),
        ("message_size_limit: $undefined_param_xyz\n", Some(1)),
        ("default_process_limit: 0\n", Some(1)),
        ("daemon_directory: /usr/lib/postfix/sbin/\n", Some(0)),
    ];
    for (spec, code) in runs {
        let out = apply(spec);
        assert_eq!(
            out.status.code(),
            code,
            "{spec}\n{}",
            support::describe(&out)
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("read TMPDIR")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            left.is_empty(),
            "{spec}: scratch files left in TMPDIR: {left:?}"
        );
    }
    let after: Vec<_> = watch.iter().map(|d| tree(d)).collect();
    for ((dir, b), a) in watch.iter().zip(&before).zip(&after) {
        let changed: Vec<_> = b
            .keys()
            .chain(a.keys())
            .filter(|k| b.get(*k) != a.get(*k))
            .collect();
        assert!(changed.is_empty(), "{} changed: {changed:?}", dir.display());
    }
}

/// How long the candidate check takes (it runs on every apply). Prints
/// the numbers (`cargo test --test candidate -- --nocapture timing`); the
/// bound only catches a check that hangs.
#[test]
fn timing_of_the_candidate_check() {
    if support::postconf().is_none() {
        return;
    }
    let cfg = config_dir();
    let before = std::fs::read(cfg.path().join("main.cf")).expect("main.cf");
    let master = std::fs::read(cfg.path().join("master.cf")).expect("master.cf");
    let text = String::from_utf8(before.clone()).expect("utf-8");
    let measure = |after: &str| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                let r = candidate::check(cfg.path(), &before, after.as_bytes(), &master, &master);
                let d = t.elapsed();
                assert!(r.is_ok(), "{after}: {r:?}");
                d
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let common = measure(&text.replace(
        "myhostname = mail.example.com",
        "myhostname = relay.example.com",
    ));
    eprintln!("candidate check, ordinary change: median {common:?} (postconf -n + postmap -q)");
    assert!(common < Duration::from_secs(10), "{common:?}");
    if support::is_root() {
        let install = measure(&format!(
            "{text}daemon_directory = /usr/lib/postfix/sbin/\n"
        ));
        eprintln!(
            "candidate check, installation parameter changed: median {install:?} (+ postfix check)"
        );
        assert!(install < Duration::from_secs(30), "{install:?}");
    }
}
