//! `postform import` reproduces main.cf: for every main.cf under
//! tests/fixtures (61 real-world files, Postfix's main.cf.dist, the
//! recorded semantics cases), importing it and planning the imported spec
//! against the same file is "No changes", with the default import and with
//! `--non-default-only`.
//!
//! Two kinds of file are held to a different, stated outcome:
//!
//! * a file Postfix itself refuses (missing `=`, a truncated `${`): import
//!   fails with the file and line, and writes nothing;
//! * a file that defines a parameter more than once: import warns, and the
//!   plan only removes the dead earlier definitions (kind `dedupe`, no
//!   reload); after applying it, planning again is "No changes".
//!
//! Every file runs with examples/postfix/master.cf (Debian's) beside it,
//! as the real-world files were checked with.

mod support;

use postform::postfix::maincf::MainCf;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Files in tests/fixtures whose syntax Postfix refuses (every Postfix
/// program dies reading them). real-world/invalid-maincf/039 is not here:
/// postconf rejects it only because a host name in inet_interfaces does
/// not resolve, so its round trip must hold like any other file's.
const REFUSED_BY_POSTFIX: [&str; 4] = [
    "postfix-semantics/cases/10-missing-equals-fatal/main.cf",
    "postfix-semantics/cases/15-truncated-macro-fatal/main.cf",
    "real-world/invalid-maincf/024/main.cf",
    "real-world/invalid-maincf/052/main.cf",
];

/// The real-world corpus size (tests/fixtures/real-world/maincf/SOURCES.tsv).
const REAL_WORLD_FILES: usize = 61;

fn fixtures() -> PathBuf {
    support::repo_root().join("tests").join("fixtures")
}

/// Every main.cf under tests/fixtures, relative to it, sorted.
fn main_cf_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "main.cf" || name.ends_with(".main.cf") || name == "main.cf.dist" {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&fixtures(), &mut paths);
    let mut rel: Vec<String> = paths
        .iter()
        .map(|p| p.strip_prefix(fixtures()).unwrap().display().to_string())
        .collect();
    rel.sort();
    rel
}

fn postform(args: &[&str]) -> Output {
    let mut cmd = Command::new(support::postform_bin());
    cmd.args(args).env("NO_COLOR", "1");
    support::run(&mut cmd)
}

/// Does the file define some parameter more than once?
fn has_duplicates(bytes: &[u8]) -> bool {
    MainCf::parse(bytes).is_ok_and(|d| d.entries().len() != d.effective().len())
}

/// Import `rel` (with `extra` flags), then plan the spec against the same
/// file; returns a description of what went wrong, if anything.
fn round_trip(rel: &str, extra: &[&str], master: &[u8]) -> Result<(), String> {
    let bytes = fs::read(fixtures().join(rel)).unwrap();
    let dir = support::scratch_config_dir(&bytes, Some(master));
    let d = dir.path().to_str().unwrap();
    let spec = dir.path().join("imported.yaml");
    let s = spec.to_str().unwrap();
    let mut args = vec!["import", "-c", d, "-o", s];
    args.extend(extra);
    let import = postform(&args);
    let fail = |what: &str, out: &Output| {
        Err(format!(
            "{rel} {extra:?}: {what}\n{}\n--- spec ---\n{}",
            support::describe(out),
            fs::read_to_string(&spec).unwrap_or_default()
        ))
    };
    if REFUSED_BY_POSTFIX.contains(&rel) {
        let err = support::stderr(&import);
        if import.status.code() != Some(1)
            || !err.contains(&format!("{d}/main.cf"))
            || spec.exists()
        {
            return fail(
                "import of a file Postfix refuses must fail, naming it",
                &import,
            );
        }
        return Ok(());
    }
    if !import.status.success() {
        return fail("import failed", &import);
    }
    let text = fs::read_to_string(&spec).unwrap();
    if !text.starts_with("# Imported by postform ") || !text.contains("(Postfix 3.") {
        return fail(
            "the imported spec lacks its header with the Postfix version",
            &import,
        );
    }
    let plan = postform(&["plan", s, "-c", d, "--detailed-exitcode", "--json"]);
    let json: serde_json::Value = match serde_json::from_slice(&plan.stdout) {
        Ok(v) => v,
        Err(_) => return fail("plan did not print JSON", &plan),
    };
    if fs::read(dir.path().join("main.cf")).unwrap() != bytes {
        return fail("plan changed main.cf", &plan);
    }
    // With or without duplicates: restating the live state is no change
    // (a satisfied parameter's dead definitions are left alone).
    if plan.status.code() != Some(0) || json["changed"] != false {
        return fail("expected No changes", &plan);
    }
    let text_plan = postform(&["plan", s, "-c", d]);
    if !support::stdout(&text_plan).starts_with("No changes.") {
        return fail("expected No changes", &text_plan);
    }
    if has_duplicates(&bytes) {
        // Import and plan say where the dead definitions are.
        if !support::stderr(&import)
            .contains("times in main.cf; the spec has the last (effective) value")
        {
            return fail("import did not warn about the duplicates", &import);
        }
        if !support::stderr(&text_plan).contains("the plan leaves the dead definition") {
            return fail("plan did not warn about the dead definitions", &text_plan);
        }
    }
    Ok(())
}

#[test]
fn the_fixtures_are_all_there() {
    let files = main_cf_files();
    let real = files
        .iter()
        .filter(|f| f.starts_with("real-world/maincf/"))
        .count();
    assert_eq!(real, REAL_WORLD_FILES, "{files:#?}");
    let sources = fs::read_to_string(fixtures().join("real-world/maincf/SOURCES.tsv")).unwrap();
    assert_eq!(sources.lines().count(), REAL_WORLD_FILES);
    for line in sources.lines() {
        let id = line.split('\t').next().unwrap();
        assert!(
            files.contains(&format!("real-world/maincf/{id}/main.cf")),
            "SOURCES.tsv names {id}, which is missing"
        );
    }
    for refused in REFUSED_BY_POSTFIX {
        assert!(files.iter().any(|f| f == refused), "{refused} is missing");
    }
    assert!(files.len() > REAL_WORLD_FILES + 10, "{files:#?}");
}

#[test]
fn import_then_plan_is_no_changes_for_every_fixture() {
    if support::postconf().is_none() {
        // The catalog (defaults for --non-default-only) and the oracle
        // that accepted these files are the real Postfix.
        return;
    }
    let master = fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap();
    let files = main_cf_files();
    let modes: [&[&str]; 2] = [&[], &["--non-default-only"]];
    // Two workers: the machine has two cores and each case runs the binary.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<&String>> = (0..2)
            .map(|k| files.iter().skip(k).step_by(2).collect())
            .collect();
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let master = &master;
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for rel in chunk {
                        for mode in modes {
                            if let Err(e) = round_trip(rel, mode, master) {
                                failed.push(e);
                            }
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} round trips failed:\n\n{}",
        failures.len(),
        files.len() * 2,
        failures.join("\n\n")
    );
}

#[test]
fn import_writes_the_full_form_with_yaml_lists_and_every_service() {
    if support::postconf().is_none() {
        return;
    }
    let dir = support::scratch_config_dir(
        b"mynetworks = 127.0.0.0/8,\n    [::1]/128\ninet_protocols = ipv4\nbiff = no\n",
        Some(b"smtp inet n - y - - smtpd\n  -o smtpd_client_restrictions=permit_mynetworks,reject\npickup unix n - y 60 1 pickup\n127.0.0.1:10025 inet n - n - 10 smtpd -o { smtpd_banner = filter return }\n"),
    );
    let d = dir.path().to_str().unwrap();
    let out = postform(&["import", "-c", d, "--non-default-only"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let text = support::stdout(&out);
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    // biff = no differs from the default (yes); lists are YAML lists;
    // every service with every field, its arguments and options.
    assert_eq!(
        body,
        [
            "main:",
            "  biff: no",
            "  inet_protocols: ipv4",
            "  mynetworks:",
            "  - 127.0.0.0/8",
            "  - '[::1]/128'",
            "master:",
            "  smtp/inet:",
            "    private: n",
            "    unpriv: '-'",
            "    chroot: y",
            "    wakeup: '-'",
            "    maxproc: '-'",
            "    command: smtpd",
            "    args: []",
            "    options:",
            "      smtpd_client_restrictions:",
            "      - permit_mynetworks",
            "      - reject",
            "  pickup/unix:",
            "    private: n",
            "    unpriv: '-'",
            "    chroot: y",
            "    wakeup: 60",
            "    maxproc: 1",
            "    command: pickup",
            "    args: []",
            "  127.0.0.1:10025/inet:",
            "    private: n",
            "    unpriv: '-'",
            "    chroot: n",
            "    wakeup: '-'",
            "    maxproc: 10",
            "    command: smtpd",
            "    args: []",
            "    options:",
            "      smtpd_banner: filter return",
        ],
        "{text}"
    );
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(
        header[0].starts_with(&format!(
            "# Imported by postform {} from {d}/main.cf and master.cf (Postfix 3.",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
}

#[test]
fn import_without_master_cf_writes_the_short_form() {
    if support::postconf().is_none() {
        return;
    }
    let dir = support::scratch_config_dir(b"inet_protocols = ipv4\nbiff = no\n", None);
    let d = dir.path().to_str().unwrap();
    let out = postform(&["import", "-c", d, "--non-default-only"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let text = support::stdout(&out);
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(body, ["biff: no", "inet_protocols: ipv4"], "{text}");
    assert!(
        support::stderr(&out).contains("master.cf"),
        "the missing master.cf is not mentioned: {}",
        support::describe(&out)
    );
}
