//! The committed JSON Schema (`schemas/spec.schema.json`) is current, and a
//! JSON Schema validator accepts every example spec with it and rejects
//! every file in `tests/fixtures/invalid-specs/`.

mod support;

use std::path::{Path, PathBuf};

fn schema_path() -> PathBuf {
    support::repo_root()
        .join("schemas")
        .join("spec.schema.json")
}

/// `postform schema` output.
fn generated() -> String {
    let out = support::run(std::process::Command::new(support::postform_bin()).arg("schema"));
    assert!(out.status.success(), "{}", support::describe(&out));
    support::stdout(&out)
}

fn committed_schema() -> serde_json::Value {
    let text = std::fs::read_to_string(schema_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n  regenerate it: cargo run -q -- schema > schemas/spec.schema.json",
            schema_path().display()
        )
    });
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&committed_schema()).expect("the schema is a valid JSON Schema")
}

/// A spec file as JSON, the way an editor's YAML language server sees it.
fn yaml_as_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    support::yaml::to_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every spec file under `dir`: YAML files, except tooling that lives
/// beside the specs in the examples (CI workflows under hidden directories
/// such as `.github/`, and Ansible playbooks, whose top level is a list).
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.expect("dir entry").path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if p.is_dir() {
                if !hidden {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") && !is_playbook(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_playbook(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    matches!(
        support::yaml::to_json(&text),
        Ok(serde_json::Value::Array(_))
    )
}

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(schema_path()).unwrap_or_default();
    let fresh = generated();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one file is a prefix of the other".to_string(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "schemas/spec.schema.json is stale ({first}; committed {} bytes, generated {} bytes).\n  \
             Regenerate it with: cargo run -q -- schema > schemas/spec.schema.json",
            committed.len(),
            fresh.len()
        );
    }
}

#[test]
fn schema_accepts_every_example_spec() {
    let v = validator();
    let files = yaml_files(&support::repo_root().join("examples"));
    assert!(files.len() >= 2, "no example specs found: {files:?}");
    let mut failures = Vec::new();
    for f in &files {
        let doc = yaml_as_json(f);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{}:\n    {}", f.display(), errors.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "the schema rejects example specs:\n{}",
        failures.join("\n")
    );
}

#[test]
fn example_specs_name_the_schema_for_editors() {
    let root = support::repo_root();
    let schema = schema_path();
    let mut missing = Vec::new();
    for f in yaml_files(&root.join("examples")) {
        let text = std::fs::read_to_string(&f).expect("read example");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("# yaml-language-server: $schema="));
        match line {
            None => missing.push(format!(
                "{}: no `# yaml-language-server: $schema=` line",
                f.display()
            )),
            Some(rel) => {
                let target = f.parent().expect("parent").join(rel.trim());
                let ok = std::fs::canonicalize(&target)
                    .is_ok_and(|t| std::fs::canonicalize(&schema).is_ok_and(|s| s == t));
                if !ok {
                    missing.push(format!(
                        "{}: $schema={} does not point at schemas/spec.schema.json",
                        f.display(),
                        rel.trim()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn schema_rejects_every_invalid_spec() {
    let v = validator();
    let dir = support::repo_root()
        .join("tests")
        .join("fixtures")
        .join("invalid-specs");
    let files = yaml_files(&dir);
    assert!(
        files.len() >= 10,
        "expected at least 10 invalid specs in {}, found {}",
        dir.display(),
        files.len()
    );
    let accepted: Vec<String> = files
        .iter()
        .filter(|f| v.is_valid(&yaml_as_json(f)))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        accepted.is_empty(),
        "the schema accepts invalid specs:\n{}",
        accepted.join("\n")
    );
}

/// Each invalid fixture is invalid for postform too: the schema and the
/// loader/validator agree (the fixtures are not just schema trivia).
#[test]
fn postform_rejects_every_invalid_spec_too() {
    let dir = support::repo_root()
        .join("tests")
        .join("fixtures")
        .join("invalid-specs");
    let config = support::repo_root().join("examples").join("postfix");
    for f in yaml_files(&dir) {
        let out = support::run(
            std::process::Command::new(support::postform_bin())
                .arg("validate")
                .arg(&f)
                .arg("-c")
                .arg(&config),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "postform validate accepts {}:\n{}",
            f.display(),
            support::describe(&out)
        );
    }
}

/// Spot checks of what the schema says about single values, through the
/// validator (each would be a silent editor bug if wrong).
#[test]
fn schema_value_rules() {
    let v = validator();
    let ok = |y: &str| v.is_valid(&support::yaml::to_json(y).unwrap());
    for good in [
        "inet_protocols: ipv4",
        "inet_protocols: 'ipv4, ipv6'",
        "inet_protocols: [ipv4, ipv6]",
        "biff: false",
        "biff: 'NO'",
        "message_size_limit: 10240000",
        "message_size_limit: '$other'",
        "queue_run_delay: 5m",
        "queue_run_delay: 300",
        "smtpd_tls_security_level: encrypt",
        "smtp_tls_security_level: dane-only",
        "smtp_tls_mandatory_protocols: '>=TLSv1.2'",
        "smtp_tls_protocols: ['!SSLv2', '!SSLv3']",
        "compatibility_level: '3.6'",
        "relay_destination_concurrency_limit: 5",
        "dovecot_time_limit: 1h",
        "mynetworks: [127.0.0.0/8, '[::1]/128']",
        "relayhost: null",
        "main: {myhostname: a.example}\npurge: true\nservice: {restart: [systemctl, restart, postfix]}",
        "extends: base.yaml",
        "extends: null\nmain: null",
        // (A user-defined parameter under `main` is flagged by the schema,
        // which cannot see custom_parameters or $name references; see
        // src/schema.rs.)
        "custom_parameters: [my_checks]\nmain: {smtpd_restriction_classes: my_checks}",
        "",
        "master: {smtp/inet: {chroot: n}}\nmain: {biff: false}",
        "purge: true\nallow: []",
    ] {
        assert!(ok(good), "the schema rejects a valid spec: {good:?}");
    }
    for bad in [
        "inet_protocols: ipv5",
        "inet_protocols: [ipv4, ipv5]",
        "inet_protocols: []",
        "biff: maybe",
        "biff: [yes]",
        "message_size_limit: 10MB",
        "message_size_limit: true",
        "queue_run_delay: 5x",
        "queue_run_delay: -5",
        "smtpd_tls_security_level: verify",
        "smtp_tls_mandatory_protocols: TLSv1.4",
        "compatibility_level: latest",
        "relay_destination_concurrency_limit: lots",
        "myhostnam: a.example",
        "process_id: 5",
        "myhostname: \"a\\nb\"",
        "myhostname: \"a\\0b\"",
        "myhostname: '#a'",
        "message_size_limit: \"$x\\ny\"",
        "mynetworks: ['127.0.0.1, 10.0.0.0/8']",
        "mynetworks: ['']",
        "main: {biff: false}\nbogus: 1",
        "purge: maybe",
        "purge: null",
        "service: sometimes",
        "service: {reload: postfix reload}",
        "custom_parameters: [my-checks]",
        "- biff",
        "just text",
        "main: {biff: false}\nmasters: {}",
    ] {
        assert!(!ok(bad), "the schema accepts an invalid spec: {bad:?}");
    }
}

/// Valid specs of every new section: the schema accepts each, and
/// postform loads each (they are not just schema trivia).
const VALID_SECTIONS: &[&str] = &[
    "master:\n  submission/inet:\n    private: n\n    unpriv: true\n    chroot: '-'\n    wakeup: 60\n    maxproc: '-'\n    command: smtpd\n    options:\n      syslog_name: postfix/submission\n      smtpd_sasl_auth_enable: true\n      smtpd_client_restrictions: [permit_sasl_authenticated, reject]\n      milter_macro_daemon_name: null\n  smtps/inet: null",
    "master:\n  pickup/unix: {wakeup: '60?', maxproc: 1}\n  127.0.0.1:10025/inet: {command: smtpd}\n  '[::1]:10025/inet': {private: no}\n  x/unix-dgram: {}",
    "master: null",
    "maps:\n  /etc/postfix/sasl_passwd:\n    type: hash\n    secret: true\n    mode: '0600'\n    owner: root\n    group: 0\n    entries:\n      '[smtp.example.com]:587': {env: POSTFORM_SCHEMA_TEST_SECRET}\n  access:\n    type: cidr\n    entries: {10.0.0.0/8: OK, 192.0.2.1: REJECT}\n  /etc/postfix/old: null",
    "maps:\n  /etc/postfix/virtual_regexp:\n    type: regexp\n    mode: 644\n    entries: {'/^a@/': b}",
    "master:\n  maildrop/unix:\n    unpriv: false\n    chroot: false\n    command: pipe\n    args: [flags=DRhu, user=vmail, 'argv=/usr/bin/maildrop -d ${recipient}', -oi]",
    "aliases:\n  postmaster: root\n  team: [alice, bob]\n  old: null",
    "allow: [open_relay, auth_plaintext]",
    "allow: open_relay",
    "postfix_version: '3.10'",
    "postfix_version: '3.7.11'\nmain: {biff: false}",
];

#[test]
fn new_sections_valid_examples() {
    // Read by this test only (a secret reference must resolve to load).
    std::env::set_var("POSTFORM_SCHEMA_TEST_SECRET", "user:password");
    let v = validator();
    for good in VALID_SECTIONS {
        let doc = support::yaml::to_json(good).unwrap();
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "the schema rejects {good:?}: {errors:?}");
        postform::engine::spec::Spec::from_yaml_str(good, "good.yaml")
            .unwrap_or_else(|e| panic!("postform refuses {good:?}:\n{e}"));
    }
}

/// Invalid specs of every new section: refused by the schema and by
/// postform.
#[test]
fn new_sections_invalid_examples() {
    let v = validator();
    for bad in [
        "master:\n  smtp: {command: smtpd}",
        "master:\n  smtp/tcp: {command: smtpd}",
        "master:\n  /inet: {command: smtpd}",
        "master:\n  smtp/inet: smtpd",
        "master:\n  smtp/inet: {comand: smtpd}",
        "master:\n  smtp/inet: {chroot: maybe}",
        "master:\n  smtp/inet: {private: 1}",
        "master:\n  smtp/inet: {wakeup: soon}",
        "master:\n  smtp/inet: {wakeup: -5}",
        "master:\n  smtp/inet: {maxproc: lots}",
        "master:\n  smtp/inet: {command: smtpd -v}",
        "master:\n  smtp/inet: {args: -v}",
        "master:\n  smtp/inet: {args: [-o, x=y]}",
        "master:\n  smtp/inet: {args: [-v]}",
        "master:\n  smtp/inet: {options: {syslog-name: x}}",
        "master:\n  smtp/inet: {options: [syslog_name]}",
        "master: [smtp/inet]",
        "maps:\n  /x: {entries: {a: b}}",
        "maps:\n  /x: {type: mysql}",
        "maps:\n  /x: {type: hash, entries: [a, b]}",
        "maps:\n  /x: {type: hash, mode: rw-------}",
        "maps:\n  /x: {type: hash, mode: '0800'}",
        "maps:\n  /x: {type: hash, secret: 'yes'}",
        "maps:\n  /x: {type: hash, owner: 'a b'}",
        "maps:\n  /x: {type: hash, colour: red}",
        "maps:\n  /x: {type: hash, entries: {a: {vault: b}}}",
        "maps:\n  /x: {type: hash, entries: {a: {env: 'A B'}}}",
        "maps:\n  hash:/x: {type: hash}",
        "maps:\n  /x y: {type: hash}",
        "maps: /x",
        "aliases:\n  'a b': root",
        "aliases:\n  postmaster: []",
        "aliases:\n  postmaster: {to: root}",
        "aliases: [postmaster]",
        "allow: ['open relay']",
        "allow: {open_relay: true}",
        "postfix_version: 3.10",
        "postfix_version: 3",
        "postfix_version: 'latest'",
    ] {
        let doc = support::yaml::to_json(bad).unwrap();
        assert!(
            !v.is_valid(&doc),
            "the schema accepts an invalid spec: {bad:?}"
        );
        assert!(
            postform::engine::spec::Spec::from_yaml_str(bad, "bad.yaml").is_err(),
            "postform loads an invalid spec: {bad:?}"
        );
    }
}
