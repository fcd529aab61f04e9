//! GitOps: the example repository (`examples/gitops/`) validated, planned
//! for the whole fleet against its snapshots, applied in pull mode, and
//! round-tripped through `postform import`.
//!
//! The commands run the real binary with `NO_COLOR=1`, from a working
//! directory chosen so that the paths in messages are short and stable
//! (`examples/gitops/...` from the repository root, `repo/...` from a temp
//! dir holding a copy).

mod support;

use support::{code, postform};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const HOSTS: [&str; 5] = [
    "legacy.example.com",
    "mx1.example.com",
    "mx2.example.com",
    "relay1.example.com",
    "relay2.example.com",
];

fn example_repo() -> PathBuf {
    support::repo_root().join("examples").join("gitops")
}

/// Resolve `.` and `..` in a path without the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
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

/// A temp dir holding a copy of the example repository as `repo/`.
fn repo_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&example_repo(), &tmp.path().join("repo"));
    tmp
}

/// Replace exactly one occurrence of `from` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{}: expected one {from:?}",
        path.display()
    );
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The host's snapshot as a config dir: `snapshots/<host>/` as it is, or
/// `snapshots/<host>.json` (from `postform show --json`) written out.
fn snapshot_as_config_dir(repo: &Path, host: &str) -> tempfile::TempDir {
    let dir = repo.join("snapshots").join(host);
    if dir.is_dir() {
        let master = fs::read(dir.join("master.cf")).ok();
        return support::scratch_config_dir(
            &fs::read(dir.join("main.cf")).unwrap(),
            master.as_deref(),
        );
    }
    let json: serde_json::Value = serde_json::from_slice(
        &fs::read(repo.join("snapshots").join(format!("{host}.json"))).unwrap(),
    )
    .unwrap();
    support::scratch_config_dir(
        json["main_cf"].as_str().unwrap().as_bytes(),
        json["master_cf"].as_str().map(str::as_bytes),
    )
}

#[test]
fn the_example_repository_follows_the_convention() {
    let repo = example_repo();
    let mut hosts: Vec<String> = fs::read_dir(repo.join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    hosts.sort();
    let expected: Vec<String> = HOSTS.iter().map(|h| format!("{h}.yaml")).collect();
    assert_eq!(hosts, expected);
    assert!(repo.join("defaults.yaml").is_file());
    let groups = fs::read_dir(repo.join("groups")).unwrap().count();
    assert!(groups >= 3, "several groups, found {groups}");
    // Every spec file points editors at the schema, by a relative path
    // that really leads to schemas/spec.schema.json.
    let mut specs = vec![repo.join("defaults.yaml")];
    for dir in ["hosts", "groups"] {
        for e in fs::read_dir(repo.join(dir)).unwrap() {
            specs.push(e.unwrap().path());
        }
    }
    for spec in &specs {
        let text = fs::read_to_string(spec).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: no $schema line: {first:?}", spec.display()));
        let target = normalize(&spec.parent().unwrap().join(rel));
        assert_eq!(
            target,
            support::repo_root().join("schemas/spec.schema.json"),
            "{}: $schema {rel:?} does not lead to schemas/spec.schema.json",
            spec.display()
        );
    }
    // Snapshots for every host: a directory, or show --json output.
    for h in HOSTS {
        let snap = repo.join("snapshots");
        assert!(
            snap.join(h).join("main.cf").is_file() && snap.join(h).join("master.cf").is_file()
                || snap.join(format!("{h}.json")).is_file(),
            "no snapshot of {h}"
        );
    }
    // One host is the short form (no layers), the others layer.
    let legacy = fs::read_to_string(repo.join("hosts/legacy.example.com.yaml")).unwrap();
    assert!(
        legacy
            .lines()
            .all(|l| !l.starts_with("extends:") && !l.starts_with("main:")),
        "{legacy}"
    );
    let mx2 = fs::read_to_string(repo.join("hosts/mx2.example.com.yaml")).unwrap();
    assert!(mx2.contains("extends: [../defaults.yaml, ../groups/mx.yaml, ../groups/dovecot.yaml]"));
}

#[test]
fn validate_passes_on_the_example_repository() {
    let out = postform(&support::repo_root(), &["validate", "examples/gitops"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert_eq!(
        support::stdout(&out),
        "examples/gitops: 10 spec file(s), 5 host(s): valid.\n"
    );
    assert_eq!(support::stderr(&out), "", "no warnings expected");
}

#[test]
fn validate_uses_each_hosts_snapshot_master_cf() {
    // dovecot_destination_recipient_limit exists only because mx2's
    // master.cf defines a `dovecot` pipe service. Without that service
    // it is an unknown parameter.
    let tmp = repo_copy();
    let master = tmp.path().join("repo/snapshots/mx2.example.com/master.cf");
    let text = fs::read_to_string(&master).unwrap();
    fs::write(&master, text.replace("dovecot   unix", "dovecotx  unix")).unwrap();
    // The snapshot's main.cf already sets it, so restating it is the live
    // state: a warning, not an error.
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains(
            "already in the live main.cf: unknown parameter `dovecot_destination_recipient_limit`"
        ),
        "{}",
        support::describe(&out)
    );
    // Without it in main.cf, the spec introduces the parameter: an error.
    let main = tmp.path().join("repo/snapshots/mx2.example.com/main.cf");
    let text = fs::read_to_string(&main).unwrap();
    fs::write(
        &main,
        text.replace("dovecot_destination_recipient_limit = 1\n", ""),
    )
    .unwrap();
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains(
            "repo/groups/dovecot.yaml:8:3: unknown parameter `dovecot_destination_recipient_limit`"
        ),
        "{err}"
    );
    assert!(err.contains("  used by: mx2.example.com\n"), "{err}");
}

#[test]
fn a_broken_copy_fails_with_every_error_listed() {
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    // Six mistakes in five files: a bad enum value in defaults.yaml, a
    // typo in a group, a structural mistake in another group, a float and
    // a bad value in one host (the value is still checked although the
    // float stops that host's spec from loading), broken YAML in another.
    edit(
        &repo.join("defaults.yaml"),
        "  smtp_tls_security_level: may\n",
        "  smtp_tls_security_level: maybe\n",
    );
    edit(
        &repo.join("groups/mx.yaml"),
        "  smtpd_helo_required: true\n",
        "  smtpd_helo_requried: true\n",
    );
    let eu = repo.join("groups/eu.yaml");
    fs::write(&eu, fs::read_to_string(&eu).unwrap() + "purge: maybe\n").unwrap();
    edit(
        &repo.join("hosts/relay1.example.com.yaml"),
        "  myhostname: relay1.example.com\n",
        "  myhostname: relay1.example.com\n  message_size_limit: 1.5\n  inet_protocols: ipv5\n",
    );
    edit(
        &repo.join("hosts/relay2.example.com.yaml"),
        "  relayhost: null # removes the group's smarthost\n",
        "  relayhost: [oops\n",
    );
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    assert_eq!(support::stdout(&out), "");
    let expected = "\
repo/defaults.yaml:13:3: smtp_tls_security_level: invalid value \"maybe\": expected one of: none, may, encrypt, dane, dane-only, fingerprint, verify, secure
  hint: see https://www.postfix.org/postconf.5.html#smtp_tls_security_level
  used by: mx1.example.com, mx2.example.com
repo/groups/eu.yaml:7:1: `purge` must be true or false, found a string
  hint: purge: true (remove parameters the spec does not name) or purge: false
  used by: mx1.example.com
repo/groups/mx.yaml:11:3: unknown parameter `smtpd_helo_requried`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")
  hint: did you mean `smtpd_helo_required`? If `smtpd_helo_requried` is your own parameter, use it as $smtpd_helo_requried in another value or list it under custom_parameters
  used by: mx1.example.com, mx2.example.com
repo/hosts/relay1.example.com.yaml:5:3: message_size_limit: expected a string, yes/no, an integer or a list, found the number 1.5; if you mean the text, quote it (\"1.5\") so that YAML keeps it as written
  hint: a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove
repo/hosts/relay1.example.com.yaml:6:3: inet_protocols: invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6
  hint: see https://www.postfix.org/postconf.5.html#inet_protocols
repo/hosts/relay2.example.com.yaml:7:24: invalid YAML: illegal placement of ':' indicator
  hint: the `[` at line 6 column 14 is not closed: check for a missing `]` or a missing comma
6 error(s).
";
    assert_eq!(support::stderr(&out), expected);
}

#[test]
fn the_fleet_plan_of_the_example_repository() {
    let out = postform(
        &support::repo_root(),
        &[
            "plan",
            "--repo",
            "examples/gitops",
            "--all",
            "--snapshots",
            "examples/gitops/snapshots",
        ],
    );
    assert_eq!(
        code(&out),
        2,
        "some hosts change: exit 2\n{}",
        support::describe(&out)
    );
    // The relay role removes inbound TLS on purpose and says so.
    assert_eq!(
        support::stderr(&out),
        "warning: relay1.example.com: allowed by the spec: policy tls_downgrade: smtpd_tls_security_level (main.cf:29): lowered from may to none\n"
    );
    let expected = "\
HOST                POSTFIX  ADD  CHANGE  REMOVE  SERVICE  ERRORS
legacy.example.com  3.7.11     0       0       0  none          0
mx1.example.com     3.7.11     0       0       0  none          0
mx2.example.com     3.7.11     0       1       0  reload        0
relay1.example.com  3.7.11     6       5       4  restart       0
relay2.example.com  3.7.11     0       1       0  restart       0

Fleet: 5 hosts: 3 to change, 2 unchanged, 0 with errors. Changes: 6 to add, 7 to change, 4 to remove. Service actions: 2 restart, 1 reload.
";
    assert_eq!(support::stdout(&out), expected);
    // --snapshots defaults to REPO/snapshots.
    let again = postform(
        &support::repo_root(),
        &["plan", "--repo", "examples/gitops", "--all"],
    );
    assert_eq!(support::stdout(&again), expected);
    // Parallelism does not change the output.
    let serial = postform(
        &support::repo_root(),
        &["plan", "--repo", "examples/gitops", "--all", "-j", "1"],
    );
    assert_eq!(support::stdout(&serial), expected);
}

#[test]
fn the_fleet_plan_json_shape() {
    let out = postform(
        &support::repo_root(),
        &["plan", "--repo", "examples/gitops", "--all", "--json"],
    );
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "format_version",
            "hosts",
            "orphan_snapshots",
            "repo",
            "snapshots",
            "totals"
        ]
    );
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["repo"], "examples/gitops");
    assert_eq!(v["snapshots"], "examples/gitops/snapshots");
    assert_eq!(v["orphan_snapshots"], serde_json::json!([]));
    assert_eq!(
        v["totals"],
        serde_json::json!({
            "hosts": 5, "changed": 3, "unchanged": 2, "failed": 0,
            "add": 6, "change": 7, "remove": 4, "restart": 2, "reload": 1
        })
    );
    let hosts = v["hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, HOSTS);
    for h in hosts {
        let mut expected = vec![
            "changed",
            "changes",
            "errors",
            "findings",
            "host",
            "postfix_version",
            "service_action",
            "snapshot",
            "spec",
            "summary",
            "warnings",
        ];
        if h["changed"] == true {
            expected.push("diff");
            expected.sort();
        }
        assert_eq!(keys(h), expected, "{h}");
    }
    // No host names a version: each is checked against this machine's
    // catalog (its postconf -d, else the built-in Debian 3.7.11 one).
    for h in hosts {
        assert_eq!(h["postfix_version"]["version"], "3.7.11", "{h}");
        let source = if support::postconf().is_some() {
            "host"
        } else {
            "default"
        };
        assert_eq!(h["postfix_version"]["source"], source, "{h}");
    }
    let mx2 = &hosts[2];
    assert_eq!(mx2["spec"], "examples/gitops/hosts/mx2.example.com.yaml");
    assert_eq!(mx2["snapshot"], "examples/gitops/snapshots/mx2.example.com");
    assert_eq!(mx2["service_action"], "reload");
    assert_eq!(
        mx2["changes"],
        serde_json::json!([{
            "resource": "parameter", "name": "message_size_limit", "kind": "change",
            "before": "10240000", "after": "52428800",
            "action": "reload", "line": 46, "removed_duplicates": 0
        }])
    );
    let diff = mx2["diff"].as_str().unwrap();
    assert!(
        diff.contains("-message_size_limit = 10240000\n+message_size_limit = 52428800\n"),
        "{diff}"
    );
    // The short-form legacy host was captured with `postform show --json`.
    assert_eq!(
        hosts[0]["snapshot"],
        "examples/gitops/snapshots/legacy.example.com.json"
    );
    assert_eq!(hosts[0]["changed"], false);
    let relay1 = &hosts[3];
    assert_eq!(relay1["service_action"], "restart");
    assert_eq!(
        relay1["summary"],
        serde_json::json!({"add": 6, "change": 5, "remove": 4})
    );
    let inet = relay1["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "inet_protocols")
        .unwrap();
    assert_eq!(inet["action"], "restart");
    assert_eq!(inet["after"], "ipv4");
}

#[test]
fn fleet_plan_exit_codes_and_per_host_errors() {
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    // Drop the drifted hosts: everything left already matches -> exit 0.
    for h in [
        "mx2.example.com",
        "relay1.example.com",
        "relay2.example.com",
    ] {
        fs::remove_file(repo.join("hosts").join(format!("{h}.yaml"))).unwrap();
    }
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("Fleet: 2 hosts: 0 to change, 2 unchanged, 0 with errors.")
    );
    // The removed hosts' snapshots are orphans now: a warning, not an error.
    assert!(
        support::stderr(&out)
            .contains("warning: repo/snapshots: a snapshot of mx2.example.com, but the repository has no hosts/mx2.example.com.yaml"),
        "{}",
        support::describe(&out)
    );
    // A host without a snapshot, and one with an invalid spec: errors in
    // their rows, listed below the table; the others are still planned.
    fs::write(
        repo.join("hosts/new.example.com.yaml"),
        "inet_protocols: ipv4\n",
    )
    .unwrap();
    fs::write(
        repo.join("hosts/bad.example.com.yaml"),
        "inet_protocol: ipv4\n",
    )
    .unwrap();
    fs::create_dir_all(repo.join("snapshots/bad.example.com")).unwrap();
    fs::copy(
        repo.join("snapshots/mx1.example.com/main.cf"),
        repo.join("snapshots/bad.example.com/main.cf"),
    )
    .unwrap();
    fs::copy(
        repo.join("snapshots/mx1.example.com/master.cf"),
        repo.join("snapshots/bad.example.com/master.cf"),
    )
    .unwrap();
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let expected = "\
HOST                POSTFIX  ADD  CHANGE  REMOVE  SERVICE  ERRORS
bad.example.com     3.7.11     -       -       -  -             1
legacy.example.com  3.7.11     0       0       0  none          0
mx1.example.com     3.7.11     0       0       0  none          0
new.example.com     3.7.11     -       -       -  -             1

Fleet: 4 hosts: 0 to change, 2 unchanged, 2 with errors. Changes: 0 to add, 0 to change, 0 to remove. Service actions: 0 restart, 0 reload.

Errors:
  bad.example.com: repo/hosts/bad.example.com.yaml:1:1: unknown parameter `inet_protocol`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")
      hint: did you mean `inet_protocols`? If `inet_protocol` is your own parameter, use it as $inet_protocol in another value or list it under custom_parameters
  new.example.com: no snapshot of new.example.com under repo/snapshots
      hint: capture it: copy the host's /etc/postfix/main.cf and master.cf into repo/snapshots/new.example.com/ (docs/gitops.md shows an Ansible fetch), or save `postform show --json` as repo/snapshots/new.example.com.json
";
    assert_eq!(support::stdout(&out), expected);
}

#[test]
fn import_then_plan_on_each_example_host_is_no_changes() {
    if support::postconf().is_none() {
        return;
    }
    let repo = example_repo();
    for host in HOSTS {
        for mode in [&[][..], &["--non-default-only"][..]] {
            let dir = snapshot_as_config_dir(&repo, host);
            let spec = dir.path().join("imported.yaml");
            let d = dir.path().to_str().unwrap();
            let mut args = vec!["import", "-c", d, "-o", spec.to_str().unwrap()];
            args.extend(mode);
            let out = postform(dir.path(), &args);
            assert_eq!(
                code(&out),
                0,
                "{host} {mode:?}: {}",
                support::describe(&out)
            );
            let before = fs::read(dir.path().join("main.cf")).unwrap();
            let out = postform(
                dir.path(),
                &[
                    "plan",
                    spec.to_str().unwrap(),
                    "-c",
                    d,
                    "--detailed-exitcode",
                ],
            );
            assert_eq!(
                code(&out),
                0,
                "{host} {mode:?}: {}",
                support::describe(&out)
            );
            assert!(
                support::stdout(&out).starts_with("No changes."),
                "{host} {mode:?}: {}",
                support::describe(&out)
            );
            assert_eq!(fs::read(dir.path().join("main.cf")).unwrap(), before);
        }
    }
}

#[test]
fn pull_mode_plans_and_applies_this_hosts_spec() {
    if support::postconf().is_none() {
        return;
    }
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    // Drift on relay2: inet_protocols went back to `all` -> exit 2, restart.
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "--repo",
            "repo",
            "--host",
            "relay2.example.com",
            "-c",
            "repo/snapshots/relay2.example.com",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    let stdout = support::stdout(&out);
    assert!(
        stdout.contains("~ inet_protocols  \"all\" -> \"ipv4\""),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("Plan: 0 to add, 1 to change, 0 to remove. Service action: restart.\n"),
        "{stdout}"
    );
    // Apply mx2's spec (its snapshot has drifted) to a scratch copy.
    let live = support::scratch_config_dir(
        &fs::read(repo.join("snapshots/mx2.example.com/main.cf")).unwrap(),
        Some(&fs::read(repo.join("snapshots/mx2.example.com/master.cf")).unwrap()),
    );
    let d = live.path().to_str().unwrap();
    let out = postform(
        tmp.path(),
        &[
            "apply",
            "--repo",
            "repo",
            "--host",
            "mx2.example.com",
            "-c",
            d,
            "--auto-approve",
            "--service",
            "none",
        ],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let main_cf = fs::read_to_string(live.path().join("main.cf")).unwrap();
    assert!(
        main_cf.contains("\nmessage_size_limit = 52428800\n"),
        "{main_cf}"
    );
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "--repo",
            "repo",
            "--host",
            "mx2.example.com",
            "-c",
            d,
            "--detailed-exitcode",
        ],
    );
    assert_eq!(
        code(&out),
        0,
        "converged: no drift\n{}",
        support::describe(&out)
    );
}

#[test]
fn a_missing_host_is_a_clear_error_listing_the_known_hosts() {
    let out = postform(
        &support::repo_root(),
        &[
            "plan",
            "--repo",
            "examples/gitops",
            "--host",
            "nope.example.com",
        ],
    );
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    assert_eq!(
        support::stderr(&out),
        "Error: examples/gitops: no spec for host \"nope.example.com\" (expected examples/gitops/hosts/nope.example.com.yaml)\n  hint: known hosts: legacy.example.com, mx1.example.com, mx2.example.com, relay1.example.com, relay2.example.com; pass --host NAME\n"
    );
    // A repository without hosts/ is not a repository.
    let tmp = tempfile::tempdir().unwrap();
    let out = postform(tmp.path(), &["plan", "--repo", ".", "--all"]);
    assert_eq!(code(&out), 1);
    assert!(
        support::stderr(&out).starts_with("Error: .: not a postform repository: no hosts/ folder"),
        "{}",
        support::describe(&out)
    );
}

#[test]
fn a_fqdn_finds_a_host_file_named_by_its_short_name() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("hosts")).unwrap();
    fs::write(repo.join("hosts/mail.yaml"), "biff: false\n").unwrap();
    let live = support::scratch_config_dir(b"biff = no\n", None);
    let out = postform(
        tmp.path(),
        &[
            "plan",
            "--repo",
            "repo",
            "--host",
            "mail.example.com",
            "-c",
            live.path().to_str().unwrap(),
            "--no-validate",
        ],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stdout(&out).starts_with("No changes."),
        "{}",
        support::describe(&out)
    );
}

#[test]
fn the_example_ci_workflow_runs_what_it_says() {
    let repo = example_repo();
    let workflow = fs::read_to_string(repo.join(".github/workflows/postform.yml")).unwrap();
    let parsed = support::yaml::to_json(&workflow).unwrap();
    assert!(parsed["jobs"]["validate"].is_object() && parsed["jobs"]["fleet-plan"].is_object());
    for line in [
        "run: postform validate .",
        "postform plan --repo . --all --snapshots snapshots > fleet-plan.txt",
        "postform plan --repo . --all --snapshots snapshots --json > fleet-plan.json",
    ] {
        assert!(workflow.contains(line), "the workflow lost {line:?}");
    }
    // The same commands, from the example repository's root.
    let out = postform(&repo, &["validate", "."]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let out = postform(
        &repo,
        &["plan", "--repo", ".", "--all", "--snapshots", "snapshots"],
    );
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    let out = postform(
        &repo,
        &[
            "plan",
            "--repo",
            ".",
            "--all",
            "--snapshots",
            "snapshots",
            "--json",
        ],
    );
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"][2]["spec"], "hosts/mx2.example.com.yaml");
    // The capture playbook fetches both files into snapshots/<host>/.
    let playbook =
        support::yaml::to_json(&fs::read_to_string(repo.join("capture-snapshots.yml")).unwrap())
            .unwrap();
    let fetch = &playbook[0]["tasks"][0]["ansible.builtin.fetch"];
    assert_eq!(
        fetch["dest"].as_str(),
        Some("{{ playbook_dir }}/snapshots/{{ inventory_hostname }}/{{ item }}")
    );
    assert_eq!(fetch["flat"].as_bool(), Some(true));
}

/// The `ExecStart=` arguments of a unit, after the program.
fn exec_start_args(unit: &str) -> Vec<String> {
    let text =
        fs::read_to_string(support::repo_root().join("examples/systemd").join(unit)).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("{unit}: no ExecStart"));
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_pull_units_command_applies_the_hosts_spec() {
    if support::postconf().is_none() {
        return;
    }
    let args = exec_start_args("postform-pull.service");
    assert_eq!(
        args,
        [
            "apply",
            "--repo",
            "/srv/postfix-config",
            "--auto-approve",
            "--backup"
        ]
    );
    // Run exactly those flags against a copy, naming the host and config
    // dir (the unit takes them from `hostname -f` and /etc/postfix).
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    let live = support::scratch_config_dir(
        &fs::read(repo.join("snapshots/relay2.example.com/main.cf")).unwrap(),
        Some(&fs::read(repo.join("snapshots/relay2.example.com/master.cf")).unwrap()),
    );
    let mut argv: Vec<String> = args
        .iter()
        .map(|a| a.replace("/srv/postfix-config", repo.to_str().unwrap()))
        .collect();
    for extra in [
        "--host",
        "relay2.example.com",
        "-c",
        live.path().to_str().unwrap(),
        "--service",
        "none",
    ] {
        argv.push(extra.to_string());
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = postform(tmp.path(), &argv);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("Backup: "),
        "{}",
        support::describe(&out)
    );
    // The second run (the next timer tick) changes nothing.
    let out = postform(tmp.path(), &argv);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stdout(&out).starts_with("No changes."),
        "{}",
        support::describe(&out)
    );
}

#[test]
fn the_drift_script_writes_node_exporter_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = example_repo();
    // Stand in for `postform` on the host: this host is relay2, whose
    // snapshot drifted (inet_protocols = all).
    let wrapper = tmp.path().join("postform");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} \"$@\" --host relay2.example.com -c {}\n",
            support::postform_bin().display(),
            repo.join("snapshots/relay2.example.com").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let script = support::repo_root().join("examples/systemd/postform-drift");
    let run = |repo: &Path| {
        support::run(
            Command::new("sh")
                .arg(&script)
                .env("POSTFORM", &wrapper)
                .env("POSTFORM_REPO", repo)
                .env("TEXTFILE_DIR", tmp.path()),
        )
    };
    let out = run(&repo);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let prom = fs::read_to_string(tmp.path().join("postform.prom")).unwrap();
    assert!(prom.contains("\npostform_drift 1\n"), "{prom}");
    assert!(
        prom.contains("\npostform_drift_check_success 1\n"),
        "{prom}"
    );
    // A failing check (no repository) is not drift, and fails the unit.
    let out = run(&tmp.path().join("missing"));
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let prom = fs::read_to_string(tmp.path().join("postform.prom")).unwrap();
    assert!(
        prom.contains("\npostform_drift 0\n")
            && prom.contains("\npostform_drift_check_success 0\n"),
        "{prom}"
    );
}

#[test]
fn a_layer_reached_twice_is_a_warning() {
    // groups/mx.yaml extends defaults.yaml, and the host lists both: the
    // second application of defaults.yaml undoes mx.yaml's override.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("hosts")).unwrap();
    fs::create_dir_all(repo.join("groups")).unwrap();
    fs::write(
        repo.join("defaults.yaml"),
        "main:\n  smtpd_tls_security_level: none\n",
    )
    .unwrap();
    fs::write(
        repo.join("groups/mx.yaml"),
        "extends: [../defaults.yaml]\nmain:\n  smtpd_tls_security_level: may\n  smtpd_tls_chain_files: /etc/ssl/mx.pem\n",
    )
    .unwrap();
    fs::write(
        repo.join("hosts/mx.example.com.yaml"),
        "extends: [../groups/mx.yaml, ../defaults.yaml]\nmain:\n  myhostname: mx.example.com\n",
    )
    .unwrap();
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains(
            "warning: mx.example.com: repo/defaults.yaml is layered twice (reached through more than one `extends`); its second application overrides the layers in between"
        ),
        "{}",
        support::describe(&out)
    );
    // A layer no host uses is validated alone, with a warning.
    fs::write(
        repo.join("groups/unused.yaml"),
        "smtpd_tls_security_level: maybe\n",
    )
    .unwrap();
    let out = postform(tmp.path(), &["validate", "repo"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("warning: repo/groups/unused.yaml: no host uses this layer; validated without a master.cf or main.cf\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "repo/groups/unused.yaml:1:1: smtpd_tls_security_level: invalid value \"maybe\""
        ),
        "{err}"
    );
    assert!(err.ends_with("\n1 error(s).\n"), "{err}");
}

#[test]
fn show_json_output_is_a_snapshot_the_fleet_plan_reads() {
    // Capture a host with `postform show --json`, store it as
    // snapshots/<host>.json, and plan: the spec already matches.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("hosts")).unwrap();
    fs::create_dir_all(repo.join("snapshots")).unwrap();
    // A service of its own in master.cf: dovecot_destination_recipient_limit
    // is valid only with this master.cf, which the JSON carries.
    let mut master = fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap();
    master.extend_from_slice(b"dovecot   unix  -       n       n       -       -       pipe\n  flags=DRhu user=vmail argv=/usr/lib/dovecot/dovecot-lda -d ${recipient}\n");
    let live = support::scratch_config_dir(
        b"# a comment\ndovecot_destination_recipient_limit = 1\ninet_protocols = ipv4\n",
        Some(&master),
    );
    let out = postform(
        tmp.path(),
        &["show", "--json", "-c", live.path().to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    fs::write(repo.join("snapshots/h.example.com.json"), &out.stdout).unwrap();
    fs::write(
        repo.join("hosts/h.example.com.yaml"),
        "inet_protocols: ipv4\ndovecot_destination_recipient_limit: 1\n",
    )
    .unwrap();
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(
        support::stdout(&out)
            .contains("h.example.com  3.7.11     0       0       0  none          0\n"),
        "{}",
        support::describe(&out)
    );
    // A change shows against the same snapshot.
    fs::write(
        repo.join("hosts/h.example.com.yaml"),
        "inet_protocols: all\n",
    )
    .unwrap();
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    assert!(
        support::stdout(&out)
            .contains("h.example.com  3.7.11     0       1       0  restart       0\n"),
        "{}",
        support::describe(&out)
    );
}

/// The `master:` section of a group is planned against each host's
/// master.cf snapshot: mx1's snapshot without the submission service
/// plans it as an addition (a reload), mx2's (which has it) is unchanged
/// by it.
#[test]
fn the_fleet_plan_covers_master_cf() {
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    edit(
        &repo.join("snapshots/mx1.example.com/master.cf"),
        "submission inet  n       -       -       -       -       smtpd\n    -o syslog_name=postfix/submission\n    -o smtpd_tls_security_level=encrypt\n    -o smtpd_sasl_auth_enable=yes\n    -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n",
        "",
    );
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all", "--json"]);
    assert_eq!(code(&out), 2, "{}", support::describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mx1 = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == "mx1.example.com")
        .unwrap();
    assert_eq!(mx1["service_action"], "reload", "{mx1:#}");
    assert_eq!(mx1["changes"].as_array().unwrap().len(), 1, "{mx1:#}");
    let change = &mx1["changes"][0];
    assert_eq!(change["resource"], "service", "{mx1:#}");
    assert_eq!(change["service"], "submission/inet", "{mx1:#}");
    assert_eq!(change["kind"], "add", "{mx1:#}");
    let diff = mx1["diff"].as_str().unwrap();
    assert!(
        diff.contains("+submission inet  n       -       -       -       -       smtpd\n+    -o syslog_name=postfix/submission\n"),
        "{diff}"
    );
    let all = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    let table = support::stdout(&all);
    assert!(
        table.contains("mx1.example.com     3.7.11     1       0       0  reload        0"),
        "{table}"
    );
    assert!(
        table.contains("mx2.example.com     3.7.11     0       1       0  reload        0"),
        "{table}"
    );
}

/// The safety policies judge each host's plan in the fleet plan as they
/// judge a local one: without the relay role's `allow: [tls_downgrade]`,
/// relay1 (whose snapshot has inbound TLS) is refused, named as a host
/// error, and the fleet plan fails.
#[test]
fn the_fleet_plan_applies_the_safety_policies() {
    let tmp = repo_copy();
    let repo = tmp.path().join("repo");
    edit(
        &repo.join("groups/relay.yaml"),
        "allow: [tls_downgrade]\n",
        "",
    );
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let text = support::stdout(&out) + &support::stderr(&out);
    assert!(
        text.contains("relay1.example.com  3.7.11     -       -       -  -             1"),
        "{text}"
    );
    assert!(
        text.contains("relay1.example.com: refused by policy tls_downgrade: smtpd_tls_security_level (main.cf:29): lowered from may to none"),
        "{text}"
    );
}
