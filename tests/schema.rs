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
    ] {
        assert!(!ok(bad), "the schema accepts an invalid spec: {bad:?}");
    }
}
