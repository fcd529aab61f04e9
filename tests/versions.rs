//! Every Postfix version: the same spec validated against the catalogs of
//! Postfix 3.5, 3.7, 3.10 (and 3.11) with each version's outcome; the
//! version chosen by `--postfix-version`, the host's postconf and the
//! spec's `postfix_version`; a GitOps repository whose hosts run different
//! Postfix versions (`tests/fixtures/gitops-versions/`, see its README);
//! `schema --postfix-version`; a saved plan keeps its version.
//!
//! The commands run the real binary with `NO_COLOR=1`. Where the machine's
//! own Postfix matters (the host's version beats the spec's), the test
//! needs `postconf` (Debian's 3.7.11); elsewhere `--postfix-version` or
//! the repository's snapshots decide, whatever is installed.

mod support;

use support::{code, postform};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// stderr without the warning that says the machine's own Postfix differs
/// from `--postfix-version` (present only where Postfix is installed),
/// and whether it was there.
fn stderr_without_host_note(out: &Output) -> (String, bool) {
    let text = support::stderr(out);
    let mut noted = false;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let note = l.starts_with("warning: checking against Postfix ")
                && l.contains(" as --postfix-version says, but this host runs Postfix ");
            noted |= note;
            !note
        })
        .collect();
    let mut s = kept.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    (s, noted)
}

/// The spec every version is asked about. Line numbers matter below.
const SPEC: &str = "\
main:
  smtp_tlsrpt_enable: true
  postscreen_denylist_action: drop
  smtpd_per_record_deadline: true
  smtpd_forbid_bare_newline: note
  smtp_tls_protocols: \">=TLSv1.2\"
  milter_default_action: shutdown
  tls_legacy_public_key_fingerprints: false
";

/// A temp dir with `spec.yaml` (SPEC) and `postfix/` (Debian's main.cf and
/// master.cf from examples/postfix).
fn spec_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("spec.yaml"), SPEC).unwrap();
    let cfg = tmp.path().join("postfix");
    fs::create_dir(&cfg).unwrap();
    for f in ["main.cf", "master.cf"] {
        fs::copy(
            support::repo_root().join("examples/postfix").join(f),
            cfg.join(f),
        )
        .unwrap();
    }
    tmp
}

fn validate_for(dir: &Path, version: &str) -> Output {
    postform(
        dir,
        &[
            "validate",
            "--postfix-version",
            version,
            "spec.yaml",
            "-c",
            "postfix",
        ],
    )
}

const ADDED_3_10: &str = "spec.yaml:2:3: `smtp_tlsrpt_enable` was added in Postfix 3.10; this host runs Postfix {V}, which would ignore it (\"unused parameter\")
  hint: remove it for hosts older than Postfix 3.10, or upgrade the host first (and say postfix_version: \"3.10\" or later)
";
const NOTE_3_9: &str = "spec.yaml:5:3: smtpd_forbid_bare_newline: invalid value \"note\": expected one of: normalize, yes, reject, no
  hint: `note` is valid from Postfix 3.9 on; this host runs Postfix {V}; see https://www.postfix.org/postconf.5.html#smtpd_forbid_bare_newline
";
const RENAMED_3_7: &str = "warning: spec.yaml:4:3: `smtpd_per_record_deadline` was renamed to `smtpd_per_request_deadline` in Postfix 3.7; Postfix {V} still accepts the old name
  hint: write `smtpd_per_request_deadline` instead
";

#[test]
fn the_same_spec_against_postfix_3_5_3_7_3_10_and_3_11() {
    let tmp = spec_dir();
    let host_runs_3_7 = support::find_program("postconf").is_some();

    // 3.5: the 3.10 name, the 3.6 new name of a postscreen option, the 3.9
    // value, the 3.6 protocol bounds and the 3.7.20 milter action are all
    // refused, each saying which version has it.
    let out = validate_for(tmp.path(), "3.5");
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let (stderr, noted) = stderr_without_host_note(&out);
    assert_eq!(noted, host_runs_3_7, "{}", support::describe(&out));
    let expected = ADDED_3_10.replace("{V}", "3.5")
        + "spec.yaml:3:3: `postscreen_denylist_action` was added in Postfix 3.6 as the new name of `postscreen_blacklist_action`; this host runs Postfix 3.5, which knows only `postscreen_blacklist_action`
  hint: write `postscreen_blacklist_action` for Postfix 3.5 (Postfix 3.6 and later accept it too, as a legacy name)
"
        + &NOTE_3_9.replace("{V}", "3.5")
        + "spec.yaml:6:3: smtp_tls_protocols: invalid TLS protocol \">=TLSv1.2\" in \">=TLSv1.2\": expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude) (>=/<= bounds need Postfix 3.6 or later)
  hint: `>=TLSv1.2` is valid from Postfix 3.6 on; this host runs Postfix 3.5; see https://www.postfix.org/postconf.5.html#smtp_tls_protocols
spec.yaml:7:3: milter_default_action: invalid value \"shutdown\": expected one of: accept, reject, tempfail, quarantine
  hint: `shutdown` is valid from a Postfix 3.7 patch release on (3.7.22 accepts it); this host runs Postfix 3.5; see https://www.postfix.org/postconf.5.html#milter_default_action
5 error(s).
";
    assert_eq!(stderr, expected);

    // 3.7: the new postscreen name, the bounds and `shutdown` (3.7 is its
    // newest patch release) are fine. (The old deadline name is a warning,
    // which validate shows when a spec has no errors: 3.10 below.)
    let out = validate_for(tmp.path(), "3.7");
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let (stderr, noted) = stderr_without_host_note(&out);
    assert!(!noted, "3.7 agrees with Debian's 3.7.11");
    let expected =
        ADDED_3_10.replace("{V}", "3.7") + &NOTE_3_9.replace("{V}", "3.7") + "2 error(s).\n";
    assert_eq!(stderr, expected);

    // A 3.7 patch release before 3.7.20 does not have `shutdown`.
    let out = validate_for(tmp.path(), "3.7.11");
    let (stderr, _) = stderr_without_host_note(&out);
    assert!(
        stderr.contains("  hint: `shutdown` is valid in later Postfix 3.7 releases (3.7.22 accepts it); this host runs Postfix 3.7.11;"),
        "{stderr}"
    );
    assert!(stderr.ends_with("3 error(s).\n"), "{stderr}");

    // 3.10: valid; the renamed name is still a warning.
    let out = validate_for(tmp.path(), "3.10");
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let (stderr, noted) = stderr_without_host_note(&out);
    assert_eq!(noted, host_runs_3_7);
    assert_eq!(stderr, RENAMED_3_7.replace("{V}", "3.10"));
    assert_eq!(support::stdout(&out), "1 spec file(s) valid.\n");

    // 3.11 removed tls_legacy_public_key_fingerprints.
    let out = validate_for(tmp.path(), "3.11");
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let (stderr, _) = stderr_without_host_note(&out);
    assert_eq!(
        stderr,
        "spec.yaml:8:3: `tls_legacy_public_key_fingerprints` was removed in Postfix 3.11; this host runs Postfix 3.11, which would ignore it (\"unused parameter\")
  hint: remove it from the spec (or set it to null to remove it from main.cf)
1 error(s).
"
    );

    // A series postform has no table for: the nearest, and a warning.
    let out = validate_for(tmp.path(), "3.12");
    assert!(
        support::stderr(&out).contains("warning: Postfix 3.12 is newer than the newest series postform knows (3.4-3.11); its parameters are checked against Postfix 3.11.6, so a parameter added after 3.11 is reported as unknown\n"),
        "{}",
        support::describe(&out)
    );
    // A version that is not one is a usage error.
    let out = validate_for(tmp.path(), "3.x");
    assert_eq!(code(&out), 1);
    assert!(
        support::stderr(&out).contains("invalid Postfix version \"3.x\""),
        "{}",
        support::describe(&out)
    );
}

/// On this machine its own Postfix (postconf -d) wins over the spec's
/// postfix_version, with a warning at the spec's line; --postfix-version
/// wins over both.
#[test]
fn the_hosts_postfix_wins_over_the_spec_with_a_warning() {
    if support::postconf().is_none() {
        return;
    }
    let tmp = spec_dir();
    fs::write(
        tmp.path().join("spec.yaml"),
        "postfix_version: \"3.10\"\nmain:\n  smtp_tlsrpt_enable: true\n",
    )
    .unwrap();
    let out = postform(tmp.path(), &["plan", "spec.yaml", "-c", "postfix"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let host =
        support::run(Command::new(support::postconf().unwrap()).args(["-dh", "mail_version"]));
    let host = support::stdout(&host).trim().to_string();
    assert_eq!(
        support::stderr(&out),
        format!("warning: spec.yaml:1:1: the spec says postfix_version \"3.10\", but this host runs Postfix {host}; checking against {host}
  hint: correct postfix_version (or remove it and let the host say), or upgrade the host's Postfix first
Error: spec.yaml:3:3: `smtp_tlsrpt_enable` was added in Postfix 3.10; this host runs Postfix {host}, which would ignore it (\"unused parameter\")
  hint: remove it for hosts older than Postfix 3.10, or upgrade the host first (and say postfix_version: \"3.10\" or later)
")
    );
    // --postfix-version wins over the host (offline validation for
    // another fleet), and says that the machine differs.
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "spec.yaml",
            "-c",
            "postfix",
            "--postfix-version",
            "3.10",
        ],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains(&format!(
            "warning: checking against Postfix 3.10 as --postfix-version says, but this host runs Postfix {host}\n"
        )),
        "{}",
        support::describe(&out)
    );
    assert!(
        support::stdout(&out).contains("\n+smtp_tlsrpt_enable = yes\n"),
        "{}",
        support::describe(&out)
    );
}

/// Without a usable postconf on the machine, the spec's postfix_version
/// chooses the catalog (said in a warning). `POSTFORM_POSTCONF` names the
/// postconf postform runs; a path that does not exist stands for a
/// machine whose postconf cannot run.
#[test]
fn without_the_hosts_postfix_the_spec_says_the_version() {
    let tmp = spec_dir();
    fs::write(
        tmp.path().join("spec.yaml"),
        "postfix_version: \"3.10\"\nmain:\n  smtp_tlsrpt_enable: true\n",
    )
    .unwrap();
    let run = |spec: &str| {
        let mut cmd = Command::new(support::postform_bin());
        cmd.current_dir(tmp.path())
            .args(["validate", spec, "-c", "postfix"])
            .env("NO_COLOR", "1")
            .env("POSTFORM_POSTCONF", "/nonexistent/postconf");
        support::run(&mut cmd)
    };
    let out = run("spec.yaml");
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert_eq!(
        support::stderr(&out),
        "warning: cannot read this host's Postfix parameters (cannot run /nonexistent/postconf: No such file or directory (os error 2)); using Postfix 3.10 (the spec's postfix_version)\n"
    );
    // The same spec for 3.7 (a group could say so): refused.
    fs::write(
        tmp.path().join("old.yaml"),
        "postfix_version: \"3.7\"\nmain:\n  smtp_tlsrpt_enable: true\n",
    )
    .unwrap();
    let out = run("old.yaml");
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("old.yaml:3:3: `smtp_tlsrpt_enable` was added in Postfix 3.10; this host runs Postfix 3.7, "),
        "{}",
        support::describe(&out)
    );
}

/// A plan saved with --postfix-version is re-derived with that version by
/// `apply PLANFILE`, and the version shows in the plan's spec of truth.
#[test]
fn a_saved_plan_keeps_its_postfix_version() {
    let tmp = spec_dir();
    fs::write(
        tmp.path().join("spec.yaml"),
        "main:\n  smtpd_forbid_bare_newline: note\n",
    )
    .unwrap();
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "spec.yaml",
            "-c",
            "postfix",
            "--postfix-version",
            "3.10",
            "-o",
            "tfplan",
        ],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("tfplan")).unwrap()).unwrap();
    assert_eq!(saved["postfix_version"], "3.10");
    // The same spec planned for 3.7 is refused.
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "spec.yaml",
            "-c",
            "postfix",
            "--postfix-version",
            "3.7",
        ],
    );
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("`note` is valid from Postfix 3.9 on"),
        "{}",
        support::describe(&out)
    );
    // Without the recorded version the host's rules (Debian's 3.7.11, or
    // the built-in ones) would refuse `note`; with it, the re-derived plan
    // is the saved one.
    let out = postform(
        tmp.path(),
        &["apply", "tfplan", "--auto-approve", "--service", "none"],
    );
    if support::postconf().is_none() {
        // The candidate check needs the real postconf.
        return;
    }
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let main = fs::read_to_string(tmp.path().join("postfix/main.cf")).unwrap();
    assert!(
        main.ends_with("smtpd_forbid_bare_newline = note\n"),
        "{main}"
    );
}

fn fixture_repo() -> PathBuf {
    support::repo_root().join("tests/fixtures/gitops-versions")
}

/// Copy a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Replace exactly one occurrence of `from` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{}: {from:?}",
        path.display()
    );
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

const RENAMED_WARNING: &str = "warning: mid.example.com: repo/hosts/mid.example.com.yaml:5:3: `smtpd_per_record_deadline` was renamed to `smtpd_per_request_deadline` in Postfix 3.7; Postfix 3.7 still accepts the old name
  hint: write `smtpd_per_request_deadline` instead
";

/// Three hosts, three Postfix versions: old (3.5 from its group), mid
/// (3.7 from defaults.yaml), new (3.10.4 from its snapshot; its group
/// says 3.10). Each host is valid for its own version, and the fleet plan
/// shows which version each was checked against.
#[test]
fn a_repository_whose_hosts_run_different_postfix_versions() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture_repo(), &tmp.path().join("repo"));
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert_eq!(
        support::stdout(&out),
        "repo: 6 spec file(s), 3 host(s): valid.\n  Postfix versions: 3.5 (old.example.com), 3.7 (mid.example.com), 3.10.4 (new.example.com)\n"
    );
    assert_eq!(support::stderr(&out), RENAMED_WARNING);

    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    assert_eq!(
        support::stdout(&out),
        "\
HOST             POSTFIX  ADD  CHANGE  REMOVE  SERVICE  ERRORS
mid.example.com  3.7        2       3       0  restart       0
new.example.com  3.10.4     3       3       0  restart       0
old.example.com  3.5        2       3       0  restart       0

Fleet: 3 hosts: 3 to change, 0 unchanged, 0 with errors. Changes: 7 to add, 9 to change, 0 to remove. Service actions: 3 restart, 0 reload.
"
    );
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let versions: Vec<(String, serde_json::Value)> = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                h["postfix_version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            (
                "mid.example.com".into(),
                serde_json::json!({"version": "3.7", "source": "spec"})
            ),
            (
                "new.example.com".into(),
                serde_json::json!({"version": "3.10.4", "source": "snapshot"})
            ),
            (
                "old.example.com".into(),
                serde_json::json!({"version": "3.5", "source": "spec"})
            ),
        ]
    );
    // The 3.10 host plans its 3.10 parameter; the 3.5 host its old name.
    let changes = |host: &str| -> Vec<String> {
        v["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == host)
            .unwrap()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["kind"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert!(changes("new.example.com").contains(&"add smtp_tlsrpt_enable".to_string()));
    assert!(changes("old.example.com").contains(&"add postscreen_blacklist_action".to_string()));
}

/// The same shared layer judged per host: a 3.10 parameter in
/// defaults.yaml is refused for the 3.5 and the 3.7 host (one error each,
/// naming the version), a 3.6 value for the 3.5 host only; a snapshot
/// that says the host still runs 3.7.11 beats its group's "3.10" (a
/// warning) and its 3.10 settings are refused. --postfix-version checks
/// every host against one version.
#[test]
fn a_shared_layer_is_judged_by_each_hosts_version() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_tree(&fixture_repo(), &repo);
    edit(
        &repo.join("defaults.yaml"),
        "  mynetworks: [127.0.0.0/8]\n",
        "  mynetworks: [127.0.0.0/8]\n  smtp_tlsrpt_enable: true\n  smtp_tls_protocols: \">=TLSv1.2\"\n",
    );
    edit(
        &repo.join("snapshots/new.example.com.json"),
        "\"postfix_version\": \"3.10.4\"",
        "\"postfix_version\": \"3.7.11\"",
    );
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let tlsrpt = |runs: &str, at: &str, host: &str| {
        format!("{at}: `smtp_tlsrpt_enable` was added in Postfix 3.10; this host runs Postfix {runs}, which would ignore it (\"unused parameter\")
  hint: remove it for hosts older than Postfix 3.10, or upgrade the host first (and say postfix_version: \"3.10\" or later)
  used by: {host}
")
    };
    let expected = RENAMED_WARNING.to_string()
        + "warning: new.example.com: repo/groups/modern.yaml:3:1: the spec says postfix_version \"3.10\", but the host's snapshot repo/snapshots/new.example.com.json says it runs Postfix 3.7.11; checking against 3.7.11
  hint: correct postfix_version (or remove it and let the host say), or upgrade the host's Postfix first
"
        + &tlsrpt("3.5", "repo/defaults.yaml:8:3", "old.example.com")
        + &tlsrpt("3.7", "repo/defaults.yaml:8:3", "mid.example.com")
        + "repo/defaults.yaml:9:3: smtp_tls_protocols: invalid TLS protocol \">=TLSv1.2\" in \">=TLSv1.2\": expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude) (>=/<= bounds need Postfix 3.6 or later)
  hint: `>=TLSv1.2` is valid from Postfix 3.6 on; this host runs Postfix 3.5; see https://www.postfix.org/postconf.5.html#smtp_tls_protocols
  used by: old.example.com
"
        + &tlsrpt("3.7.11", "repo/groups/modern.yaml:5:3", "new.example.com")
        + "repo/groups/modern.yaml:6:3: smtpd_forbid_bare_newline: invalid value \"note\": expected one of: normalize, yes, reject, no
  hint: `note` is valid from Postfix 3.9 on; this host runs Postfix 3.7.11; see https://www.postfix.org/postconf.5.html#smtpd_forbid_bare_newline
  used by: new.example.com
5 error(s).
";
    assert_eq!(support::stderr(&out), expected);

    // The fleet plan: every host fails, each with its own errors.
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let table = support::stdout(&out);
    assert!(
        table.starts_with(
            "\
HOST             POSTFIX  ADD  CHANGE  REMOVE  SERVICE  ERRORS
mid.example.com  3.7        -       -       -  -             1
new.example.com  3.7.11     -       -       -  -             2
old.example.com  3.5        -       -       -  -             2
"
        ),
        "{table}"
    );
    assert!(
        table.contains(
            "  old.example.com: repo/defaults.yaml:9:3: smtp_tls_protocols: invalid TLS protocol"
        ),
        "{table}"
    );

    // One version for every host, whatever their snapshots and specs say:
    // 3.10 has everything; old names are warnings.
    let out = postform(
        tmp.path(),
        &["validate", "repo", "--postfix-version", "3.10"],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert_eq!(
        support::stdout(&out),
        "repo: 6 spec file(s), 3 host(s): valid.\n"
    );
    let stderr = support::stderr(&out);
    for w in [
        "warning: new.example.com: checking against Postfix 3.10 as --postfix-version says, but the host's snapshot repo/snapshots/new.example.com.json says it runs Postfix 3.7.11\n",
        "warning: old.example.com: repo/groups/legacy.yaml:4:3: `postscreen_blacklist_action` was renamed to `postscreen_denylist_action` in Postfix 3.6; Postfix 3.10 still accepts the old name\n",
    ] {
        assert!(stderr.contains(w), "{w}\n{stderr}");
    }
}

/// `schema --postfix-version X` writes that version's schema: its
/// parameters and value rules, checked with a JSON Schema validator.
#[test]
fn schema_for_a_postfix_version() {
    let schema = |version: &str| -> jsonschema::Validator {
        let out = postform(
            &support::repo_root(),
            &["schema", "--postfix-version", version],
        );
        assert_eq!(code(&out), 0, "{}", support::describe(&out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(value["title"], format!("postform spec (Postfix {version})"));
        jsonschema::validator_for(&value).expect("a valid JSON Schema")
    };
    let (s35, s37, s310) = (schema("3.5"), schema("3.7"), schema("3.10"));
    let spec = |yaml: &str| support::yaml::to_json(yaml).unwrap();
    let tlsrpt = spec("main:\n  smtp_tlsrpt_enable: true\n");
    assert!(!s35.is_valid(&tlsrpt) && !s37.is_valid(&tlsrpt) && s310.is_valid(&tlsrpt));
    let bounds = spec("smtp_tls_protocols: \">=TLSv1.2\"\n");
    assert!(!s35.is_valid(&bounds) && s37.is_valid(&bounds) && s310.is_valid(&bounds));
    let note = spec("smtpd_forbid_bare_newline: note\n");
    assert!(!s35.is_valid(&note) && !s37.is_valid(&note) && s310.is_valid(&note));
    let old_name = spec("postscreen_blacklist_action: drop\n");
    assert!(s35.is_valid(&old_name) && !s310.is_valid(&old_name));
    // Without the flag: the built-in catalog's schema (the committed one,
    // tests/schema.rs): no 3.10 names; smtpd_forbid_bare_newline is free
    // text there (its keywords are versioned rules only).
    let out = postform(&support::repo_root(), &["schema"]);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["title"], "postform spec");
    let builtin = jsonschema::validator_for(&value).expect("a valid JSON Schema");
    assert!(!builtin.is_valid(&tlsrpt) && builtin.is_valid(&note) && builtin.is_valid(&bounds));
}
