//! Bad specs never reach main.cf: a table of mistakes, each run through the
//! real `postform` binary as `validate`, `plan` and `apply` against a copy
//! of examples/postfix. Every row asserts the exact error text and its
//! file:line:column, exit code 1, and that main.cf is byte-identical with
//! its mtime untouched (and no file was added to the config dir).
//!
//! Also: a spec with five mistakes reports five errors at once; loading and
//! validation problems are reported together (library); problems the live
//! main.cf already has are warnings, only new ones block.

mod support;

use support::postform;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

struct Case {
    name: &'static str,
    /// spec.yaml (bytes: one row is not UTF-8).
    spec: &'static [u8],
    /// Other files beside spec.yaml (layers it extends).
    files: &'static [(&'static str, &'static [u8])],
    /// Every error, in order: (file:line:column, message).
    errors: &'static [(&'static str, &'static str)],
    /// The hint under the first error, exactly.
    hint: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Validate,
    Plan,
    Apply,
}

const VERBS: [Verb; 3] = [Verb::Validate, Verb::Plan, Verb::Apply];

impl Verb {
    fn args(self) -> Vec<&'static str> {
        match self {
            Verb::Validate => vec!["validate", "spec.yaml", "-c", "cfg"],
            Verb::Plan => vec!["plan", "spec.yaml", "-c", "cfg"],
            Verb::Apply => vec![
                "apply",
                "spec.yaml",
                "-c",
                "cfg",
                "--auto-approve",
                "--service",
                "none",
            ],
        }
    }
}

/// One reported error: location, message, hint (without `  hint: `).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reported {
    location: String,
    message: String,
    hint: Option<String>,
}

/// The errors in a command's stderr. `validate` prints them followed by
/// `N error(s).`; `plan`/`apply` print `Error: ` and then the same text.
/// Warnings (`warning: ...`) may come first.
fn parse_errors(verb: Verb, stderr: &str) -> Result<Vec<Reported>, String> {
    let mut lines: Vec<&str> = stderr
        .lines()
        .skip_while(|l| l.starts_with("warning: "))
        .collect();
    match verb {
        Verb::Validate => {
            let last = lines.pop().ok_or("empty stderr")?;
            let n: usize = last
                .strip_suffix(" error(s).")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("last line is not `N error(s).`: {last:?}"))?;
            let parsed = group(&lines)?;
            if parsed.len() != n {
                return Err(format!("says {n} error(s) but prints {}", parsed.len()));
            }
            Ok(parsed)
        }
        Verb::Plan | Verb::Apply => {
            let first = lines.first_mut().ok_or("empty stderr")?;
            *first = first
                .strip_prefix("Error: ")
                .ok_or_else(|| format!("first line does not start with `Error: `: {first:?}"))?;
            group(&lines)
        }
    }
}

fn group(lines: &[&str]) -> Result<Vec<Reported>, String> {
    let mut out: Vec<Reported> = Vec::new();
    for line in lines {
        if let Some(h) = line.strip_prefix("  hint: ") {
            let last = out.last_mut().ok_or("a hint before any error")?;
            last.hint = Some(h.to_string());
        } else if let Some(more) = line.strip_prefix("  ") {
            let last = out.last_mut().ok_or("an indented line before any error")?;
            match &mut last.hint {
                Some(h) => {
                    h.push('\n');
                    h.push_str(&format!("  {more}"));
                }
                None => return Err(format!("continuation line without a hint: {line:?}")),
            }
        } else {
            // file:line:column: message
            let mut parts = line.splitn(4, ':');
            let (file, l, c, rest) = (parts.next(), parts.next(), parts.next(), parts.next());
            let (Some(file), Some(l), Some(c), Some(rest)) = (file, l, c, rest) else {
                return Err(format!("not `file:line:column: message`: {line:?}"));
            };
            if l.parse::<usize>().is_err() || c.parse::<usize>().is_err() || !rest.starts_with(' ')
            {
                return Err(format!("not `file:line:column: message`: {line:?}"));
            }
            out.push(Reported {
                location: format!("{file}:{l}:{c}"),
                message: rest[1..].to_string(),
                hint: None,
            });
        }
    }
    Ok(out)
}

/// A scratch working dir: `cfg/` is a copy of examples/postfix.
fn workdir(spec: &[u8], files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("postform-bad-spec-")
        .tempdir()
        .expect("tempdir");
    let cfg = dir.path().join("cfg");
    std::fs::create_dir(&cfg).expect("mkdir cfg");
    let example = support::repo_root().join("examples").join("postfix");
    for name in ["main.cf", "master.cf"] {
        let bytes = std::fs::read(example.join(name)).expect("read example config");
        support::write_backdated(&cfg.join(name), &bytes);
    }
    std::fs::write(dir.path().join("spec.yaml"), spec).expect("write spec");
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write layer");
    }
    dir
}

/// Every file in a directory with its bytes and mtime.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    std::fs::read_dir(dir)
        .expect("read cfg dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = e.metadata().expect("metadata");
            (
                e.file_name().to_string_lossy().into_owned(),
                (
                    std::fs::read(e.path()).unwrap_or_default(),
                    meta.modified().expect("mtime"),
                ),
            )
        })
        .collect()
}

/// Run one row through one verb; the problems found, if any.
fn check_case(case: &Case, verb: Verb) -> Vec<String> {
    let mut problems = Vec::new();
    let dir = workdir(case.spec, case.files);
    let cfg = dir.path().join("cfg");
    let before = snapshot(&cfg);
    let out = postform(dir.path(), &verb.args());
    let stderr = support::stderr(&out);
    if out.status.code() != Some(1) {
        problems.push(format!("exit code {:?}, expected 1", out.status.code()));
    }
    match parse_errors(verb, &stderr) {
        Err(e) => problems.push(format!("cannot parse stderr: {e}")),
        Ok(reported) => {
            let got: Vec<(&str, &str)> = reported
                .iter()
                .map(|r| (r.location.as_str(), r.message.as_str()))
                .collect();
            if got != case.errors {
                problems.push(format!(
                    "errors differ\n      expected: {:#?}\n      got:      {got:#?}",
                    case.errors
                ));
            }
            if let Some(hint) = case.hint {
                let first = reported.first().and_then(|r| r.hint.as_deref());
                if first != Some(hint) {
                    problems.push(format!(
                        "hint differs\n      expected: {hint:?}\n      got:      {first:?}"
                    ));
                }
            }
        }
    }
    let after = snapshot(&cfg);
    if before != after {
        let changed: Vec<&String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        problems.push(format!(
            "the config dir changed (main.cf must stay byte-identical with its mtime): {changed:?}"
        ));
    }
    if !out.stdout.is_empty() && verb != Verb::Validate {
        problems.push(format!(
            "printed a plan for a bad spec:\n{}",
            support::stdout(&out)
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("stderr was:\n{stderr}"));
    }
    problems
}

#[test]
fn bad_specs_are_refused_with_exact_errors_and_main_cf_untouched() {
    assert!(CASES.len() >= 40, "only {} rows", CASES.len());
    let mut names = std::collections::HashSet::new();
    for c in CASES {
        assert!(names.insert(c.name), "duplicate row name {}", c.name);
        assert!(
            !c.errors.is_empty(),
            "{}: a row expects at least one error",
            c.name
        );
    }
    // Rows run in parallel (each in its own directory); failures are
    // collected so one run shows every broken row.
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = CASES.get(i) else { break };
                for verb in VERBS {
                    let problems = check_case(case, verb);
                    if !problems.is_empty() {
                        failures.lock().expect("lock").push(format!(
                            "row {} ({verb:?}):\n  {}",
                            case.name,
                            problems.join("\n  ")
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    assert!(
        failures.is_empty(),
        "{} of {} row runs failed:\n\n{}",
        failures.len(),
        CASES.len() * VERBS.len(),
        failures.join("\n\n")
    );
}

/// Brief item: a YAML that parses but has 3 bad values and 2 unknown names
/// gets 5 errors, all at once, each with its location, in file order.
#[test]
fn five_mistakes_five_errors() {
    let spec = b"# five mistakes\n\
        main:\n\
        \x20 myhostnam: mail.example.com\n\
        \x20 biff: maybe\n\
        \x20 inet_protocols: ipv5\n\
        \x20 smtpd_tls_securty_level: may\n\
        \x20 queue_run_delay: 5x\n";
    let case = Case {
        name: "five-mistakes",
        spec,
        files: &[],
        errors: &[
            ("spec.yaml:3:3", "unknown parameter `myhostnam`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")"),
            ("spec.yaml:4:3", "biff: invalid value \"maybe\": expected yes or no"),
            ("spec.yaml:5:3", "inet_protocols: invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6"),
            ("spec.yaml:6:3", "unknown parameter `smtpd_tls_securty_level`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")"),
            ("spec.yaml:7:3", "queue_run_delay: invalid value \"5x\": expected a time like 10s, 5m, 1h, 2d, 1w"),
        ],
        hint: Some("did you mean `myhostname`? If `myhostnam` is your own parameter, use it as $myhostnam in another value or list it under custom_parameters"),
    };
    for verb in VERBS {
        let problems = check_case(&case, verb);
        assert!(problems.is_empty(), "{verb:?}:\n{}", problems.join("\n"));
    }
}

/// Loading and validation report together: a spec whose structure is
/// partly wrong (a mapping as a value, `purge: maybe`) and whose other
/// values are wrong gets every error in one run.
#[test]
fn load_and_validate_reports_structure_and_value_errors_together() {
    let dir = workdir(
        b"main:\n\
          \x20 biff: maybe\n\
          \x20 relayhost:\n\
          \x20   host: smtp.example.net\n\
          \x20 myhostnam: a.example\n\
          \x20 message_size_limit: 10MB\n\
          purge: maybe\n",
        &[],
    );
    let catalog = postform::catalog::Catalog::builtin();
    let spec = dir.path().join("spec.yaml");
    let errors = postform::engine::validate::load_and_validate(
        &spec,
        &postform::engine::live::LiveConfig::read(&dir.path().join("cfg")),
        catalog,
    )
    .expect_err("five mistakes");
    let got: Vec<(usize, usize, String)> = errors
        .0
        .iter()
        .map(|e| (e.location.line, e.location.column, e.message.clone()))
        .collect();
    let expected = [
        (2, 3, "biff: invalid value \"maybe\": expected yes or no".to_string()),
        (3, 3, "relayhost: expected a value, found a mapping".to_string()),
        (5, 3, "unknown parameter `myhostnam`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")".to_string()),
        (6, 3, "message_size_limit: invalid value \"10MB\": expected a whole number".to_string()),
        (7, 1, "`purge` must be true or false, found a string".to_string()),
    ];
    assert_eq!(got, expected, "{errors}");
    for e in &errors.0 {
        assert_eq!(e.location.file, spec.display().to_string());
    }
    // A spec whose layers could not all be read is not judged by the
    // cross-parameter rules (they would see a configuration that does not
    // exist): only the missing layer and the value error are reported.
    let dir = workdir(
        b"extends: [missing.yaml]\nmain:\n  message_size_limit: 0\n  biff: maybe\n",
        &[],
    );
    let errors = postform::engine::validate::load_and_validate(
        &dir.path().join("spec.yaml"),
        &postform::engine::live::LiveConfig::read(&dir.path().join("cfg")),
        catalog,
    )
    .expect_err("two mistakes");
    let messages: Vec<&str> = errors.0.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "extends `missing.yaml`: cannot read spec file: No such file or directory (os error 2)",
            "biff: invalid value \"maybe\": expected yes or no",
        ]
    );
}

/// Service-derived names come from the master.cf of the config dir being
/// validated, not from the host's /etc/postfix/master.cf (which the host
/// catalog, `postconf -d`, reflects).
#[test]
fn service_names_come_from_the_config_dirs_master_cf() {
    let spec = b"relay_destination_concurrency_limit: 5\n";
    let dir = workdir(spec, &[]);
    let cfg = dir.path().join("cfg");
    let master = std::fs::read_to_string(cfg.join("master.cf")).expect("master.cf");
    assert!(master.lines().any(|l| l.starts_with("relay ")));
    let without: String = master
        .lines()
        .filter(|l| !l.starts_with("relay "))
        .map(|l| format!("{l}\n"))
        .collect();
    support::write_backdated(&cfg.join("master.cf"), without.as_bytes());
    let expected = Reported {
        location: "spec.yaml:1:1".into(),
        message: "unknown parameter `relay_destination_concurrency_limit`: master.cf has no `relay` service (command smtp, lmtp, local, virtual, error or pipe) that would define it, so Postfix would ignore it (\"unused parameter\")".into(),
        hint: Some("did you mean `retry_destination_concurrency_limit`? If `relay_destination_concurrency_limit` is your own parameter, use it as $relay_destination_concurrency_limit in another value or list it under custom_parameters".into()),
    };
    for verb in VERBS {
        let before = snapshot(&cfg);
        let out = postform(dir.path(), &verb.args());
        assert_eq!(
            out.status.code(),
            Some(1),
            "{verb:?}: {}",
            support::describe(&out)
        );
        let reported = parse_errors(verb, &support::stderr(&out)).expect("errors");
        assert_eq!(reported, std::slice::from_ref(&expected), "{verb:?}");
        assert_eq!(before, snapshot(&cfg), "{verb:?}: the config dir changed");
    }
    // With the service, the same spec is valid.
    support::write_backdated(&cfg.join("master.cf"), master.as_bytes());
    let out = postform(dir.path(), &Verb::Validate.args());
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
}

/// Only new problems block: the live main.cf already has an unused
/// parameter, an undefined `$name` and a cross-parameter violation; a spec
/// that changes something else applies, and each old problem is a warning.
/// A spec that adds a problem of the same kind is still refused.
#[test]
fn preexisting_problems_are_warnings_new_ones_block() {
    if support::postconf().is_none() {
        return;
    }
    let example = std::fs::read_to_string(
        support::repo_root()
            .join("examples")
            .join("postfix")
            .join("main.cf"),
    )
    .expect("example main.cf");
    assert!(example.contains("mailbox_size_limit = 0\n"));
    assert!(example.contains("myhostname = mail.example.com\n"));
    let live = example.replace("mailbox_size_limit = 0\n", "mailbox_size_limit = 1000000\n")
        + "unused_thing = 1\nsmtp_tls_policy_maps = $undefined_thing\n";

    let dir = workdir(b"myhostname: relay.example.com\n", &[]);
    let cfg = dir.path().join("cfg");
    support::write_backdated(&cfg.join("main.cf"), live.as_bytes());
    let out = postform(
        dir.path(),
        &[
            "apply",
            "spec.yaml",
            "-c",
            "cfg",
            "--auto-approve",
            "--service",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let stderr = support::stderr(&out);
    for warning in [
        "warning: already in the live main.cf: message_size_limit (10240000) is larger than mailbox_size_limit (1000000): local(8) delivery stops with \"fatal: main.cf configuration error: mailbox_size_limit is smaller than message_size_limit\"",
        "warning: already in the live configuration: warning: main.cf: unused parameter: unused_thing=1",
        "warning: already in the live configuration: warning: main.cf: undefined parameter: undefined_thing",
    ] {
        assert!(
            stderr.lines().any(|l| l == warning),
            "missing warning {warning:?}\n{}",
            support::describe(&out)
        );
    }
    let written = std::fs::read_to_string(cfg.join("main.cf")).expect("main.cf");
    assert_eq!(
        written,
        live.replace(
            "myhostname = mail.example.com\n",
            "myhostname = relay.example.com\n"
        ),
        "only myhostname changes"
    );

    // New problems of the same kinds block, next to the old warnings.
    for (spec, error) in [
        (
            &b"myhostname: relay2.example.com\nsmtp_helo_name: $undefined_helo\n"[..],
            "  - warning: main.cf: undefined parameter: undefined_helo",
        ),
        (
            &b"mailbox_size_limit: 500000\n"[..],
            "spec.yaml:1:1: message_size_limit (10240000) is larger than mailbox_size_limit (500000): local(8) delivery stops with \"fatal: main.cf configuration error: mailbox_size_limit is smaller than message_size_limit\"",
        ),
    ] {
        std::fs::write(dir.path().join("spec.yaml"), spec).expect("spec");
        let before = snapshot(&cfg);
        let out = postform(
            dir.path(),
            &["apply", "spec.yaml", "-c", "cfg", "--auto-approve", "--service", "none"],
        );
        assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
        let stderr = support::stderr(&out);
        assert!(
            stderr.lines().any(|l| l == error || l == format!("Error: {error}")),
            "missing {error:?}\n{}",
            support::describe(&out)
        );
        assert_eq!(before, snapshot(&cfg), "main.cf must not change");
    }
}

static CASES: &[Case] = &[
    Case {
        name: "unknown-name",
        spec: b"not_a_parameter: 1\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown parameter `not_a_parameter`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")")],
        hint: Some("check the spelling (postconf -d lists every parameter); if `not_a_parameter` is your own parameter, use it as $not_a_parameter in another value or list it under custom_parameters"),
    },
    Case {
        name: "typo-myhostname",
        spec: b"myhostnam: mail.example.com\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown parameter `myhostnam`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")")],
        hint: Some("did you mean `myhostname`? If `myhostnam` is your own parameter, use it as $myhostnam in another value or list it under custom_parameters"),
    },
    Case {
        name: "typo-tls-level",
        spec: b"smtpd_tls_securty_level: may\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown parameter `smtpd_tls_securty_level`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")")],
        hint: Some("did you mean `smtpd_tls_security_level`? If `smtpd_tls_securty_level` is your own parameter, use it as $smtpd_tls_securty_level in another value or list it under custom_parameters"),
    },
    Case {
        name: "typo-full-form",
        spec: b"main:\n  inet_protocol: ipv4\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "unknown parameter `inet_protocol`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")")],
        hint: Some("did you mean `inet_protocols`? If `inet_protocol` is your own parameter, use it as $inet_protocol in another value or list it under custom_parameters"),
    },
    Case {
        name: "typo-service-derived",
        spec: b"relay_destination_concurency_limit: 5\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown parameter `relay_destination_concurency_limit`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")")],
        hint: Some("did you mean `relay_destination_concurrency_limit`? If `relay_destination_concurency_limit` is your own parameter, use it as $relay_destination_concurency_limit in another value or list it under custom_parameters"),
    },
    Case {
        name: "service-derived-no-service",
        spec: b"nosuchservice_destination_concurrency_limit: 5\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown parameter `nosuchservice_destination_concurrency_limit`: master.cf has no `nosuchservice` service (command smtp, lmtp, local, virtual, error or pipe) that would define it, so Postfix would ignore it (\"unused parameter\")")],
        hint: Some("check the spelling (postconf -d lists every parameter); if `nosuchservice_destination_concurrency_limit` is your own parameter, use it as $nosuchservice_destination_concurrency_limit in another value or list it under custom_parameters"),
    },
    Case {
        name: "service-derived-type",
        spec: b"relay_destination_concurrency_limit: lots\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "relay_destination_concurrency_limit: invalid value \"lots\": expected a whole number")],
        hint: Some("see https://www.postfix.org/postconf.5.html#transport_destination_concurrency_limit"),
    },
    Case {
        name: "bool-maybe",
        spec: b"biff: maybe\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "biff: invalid value \"maybe\": expected yes or no")],
        hint: Some("see https://www.postfix.org/postconf.5.html#biff"),
    },
    Case {
        name: "bool-number",
        spec: b"biff: 1\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "biff: expected yes or no (or true/false), found the number 1")],
        hint: Some("see https://www.postfix.org/postconf.5.html#biff"),
    },
    Case {
        name: "bool-list",
        spec: b"smtpd_helo_required: [yes]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_helo_required: expected yes or no (or true/false), found a list")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtpd_helo_required"),
    },
    Case {
        name: "int-word",
        spec: b"message_size_limit: abc\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit: invalid value \"abc\": expected a whole number")],
        hint: Some("see https://www.postfix.org/postconf.5.html#message_size_limit"),
    },
    Case {
        name: "int-unit",
        spec: b"message_size_limit: 10MB\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit: invalid value \"10MB\": expected a whole number")],
        hint: Some("see https://www.postfix.org/postconf.5.html#message_size_limit"),
    },
    Case {
        name: "int-bool",
        spec: b"message_size_limit: true\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit: expected a whole number, found the boolean true")],
        hint: Some("see https://www.postfix.org/postconf.5.html#message_size_limit"),
    },
    Case {
        name: "int-range",
        spec: b"default_process_limit: 99999999999\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "default_process_limit: invalid value \"99999999999\": expected a whole number from -2147483648 to 2147483647")],
        hint: Some("see https://www.postfix.org/postconf.5.html#default_process_limit"),
    },
    Case {
        name: "int-float",
        spec: b"message_size_limit: 1.5\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit: expected a string, yes/no, an integer or a list, found the number 1.5; if you mean the text, quote it (\"1.5\") so that YAML keeps it as written")],
        hint: Some("a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove"),
    },
    Case {
        name: "time-unit",
        spec: b"queue_run_delay: 5x\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "queue_run_delay: invalid value \"5x\": expected a time like 10s, 5m, 1h, 2d, 1w")],
        hint: Some("see https://www.postfix.org/postconf.5.html#queue_run_delay"),
    },
    Case {
        name: "time-words",
        spec: b"maximal_queue_lifetime: 5 days\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "maximal_queue_lifetime: invalid value \"5 days\": expected a time like 10s, 5m, 1h, 2d, 1w")],
        hint: Some("see https://www.postfix.org/postconf.5.html#maximal_queue_lifetime"),
    },
    Case {
        name: "time-negative",
        spec: b"bounce_queue_lifetime: -1d\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "bounce_queue_lifetime: invalid value \"-1d\": expected a time like 10s, 5m, 1h, 2d, 1w")],
        hint: Some("see https://www.postfix.org/postconf.5.html#bounce_queue_lifetime"),
    },
    Case {
        name: "time-list",
        spec: b"smtp_helo_timeout: [300s]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtp_helo_timeout: expected a time like 10s, 5m, 1h, 2d, 1w, found a list")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtp_helo_timeout"),
    },
    Case {
        name: "enum-inet-protocols",
        spec: b"inet_protocols: ipv5\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "inet_protocols: invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6")],
        hint: Some("see https://www.postfix.org/postconf.5.html#inet_protocols"),
    },
    Case {
        name: "enum-inet-protocols-case",
        spec: b"inet_protocols: IPv4\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "inet_protocols: invalid value \"IPv4\" in \"IPv4\": expected a list of: all, ipv4, ipv6")],
        hint: Some("see https://www.postfix.org/postconf.5.html#inet_protocols"),
    },
    Case {
        name: "enum-inet-protocols-list",
        spec: b"inet_protocols: [ipv4, ipv7]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "inet_protocols: invalid value \"ipv7\" in \"ipv4, ipv7\": expected a list of: all, ipv4, ipv6")],
        hint: Some("see https://www.postfix.org/postconf.5.html#inet_protocols"),
    },
    Case {
        name: "enum-smtpd-tls",
        spec: b"smtpd_tls_security_level: verify\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_tls_security_level: invalid value \"verify\": expected one of: none, may, encrypt")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtpd_tls_security_level"),
    },
    Case {
        name: "enum-smtp-tls",
        spec: b"smtp_tls_security_level: mandatory\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtp_tls_security_level: invalid value \"mandatory\": expected one of: none, may, encrypt, dane, dane-only, fingerprint, verify, secure")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtp_tls_security_level"),
    },
    Case {
        name: "enum-tls-protocols",
        spec: b"smtp_tls_mandatory_protocols: '>=TLSv1.4'\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtp_tls_mandatory_protocols: invalid TLS protocol \">=TLSv1.4\" in \">=TLSv1.4\": expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude), or >=/<= with a name or hex version (e.g. >=TLSv1.2)")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtp_tls_mandatory_protocols"),
    },
    Case {
        name: "enum-notify-classes",
        spec: b"notify_classes: [resource, software, everything]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "notify_classes: invalid value \"everything\" in \"resource, software, everything\": expected a list of: bounce, 2bounce, data, delay, policy, protocol, resource, software")],
        hint: Some("see https://www.postfix.org/postconf.5.html#notify_classes"),
    },
    Case {
        name: "enum-compat-level",
        spec: b"compatibility_level: latest\n",
        files: &[],
        // The levels Postfix 3.7 names (0, 1, 2 and 3.6; 3.11 adds 3.11):
        // values are checked with the rules of the host's version.
        errors: &[("spec.yaml:1:1", "compatibility_level: invalid value \"latest\": expected a compatibility level like 0, 1, 2 or 3.6")],
        hint: Some("see https://www.postfix.org/postconf.5.html#compatibility_level"),
    },
    Case {
        name: "enum-mynetworks-style",
        spec: b"mynetworks_style: cidr\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "mynetworks_style: invalid value \"cidr\": expected one of: host, subnet, class")],
        hint: Some("see https://www.postfix.org/postconf.5.html#mynetworks_style"),
    },
    Case {
        name: "enum-list-for-one",
        spec: b"smtpd_tls_security_level: [may]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_tls_security_level: expected one of: none, may, encrypt, found a list")],
        hint: Some("see https://www.postfix.org/postconf.5.html#smtpd_tls_security_level"),
    },
    Case {
        name: "inject-newline",
        spec: b"myhostname: \"mail.example.com\\nrelayhost = [evil.example]\"\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "myhostname: value contains a newline, which would inject lines into main.cf")],
        hint: Some("write the value on one line; for a long list use a YAML list"),
    },
    Case {
        name: "inject-nul",
        spec: b"myhostname: \"mail\\0.example.com\"\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "myhostname: value contains a NUL byte, which would inject lines into main.cf")],
        hint: Some("write the value on one line; for a long list use a YAML list"),
    },
    Case {
        name: "inject-cr",
        spec: b"smtpd_banner: \"hello\\rworld\"\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: value contains a carriage return, which would inject lines into main.cf")],
        hint: Some("write the value on one line; for a long list use a YAML list"),
    },
    Case {
        name: "inject-vt",
        spec: b"smtpd_banner: \"hello\\vworld\"\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: value contains the control character U+000B, which is invisible in editors and terminals; postform does not write control characters into main.cf")],
        hint: Some("remove the control character"),
    },
    Case {
        name: "inject-hash",
        spec: b"smtpd_banner: '# not a comment'\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: value starts with '#', which Postfix would read as a comment when the value is folded")],
        hint: Some("remove the '#'; main.cf has no inline comments"),
    },
    Case {
        name: "inject-list-comma",
        spec: b"mynetworks: [\"127.0.0.0/8, 10.0.0.0/8\"]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "mynetworks: list item \"127.0.0.0/8, 10.0.0.0/8\" contains ',' outside a { } group, which separates list items")],
        hint: Some("give each item separately: [a, b] instead of ['a,b']; a comma inside { } is fine"),
    },
    Case {
        name: "inject-list-hash",
        spec: b"mynetworks: [127.0.0.0/8, '#10.0.0.0/8']\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "mynetworks: list item \"#10.0.0.0/8\" starts with '#', which Postfix would read as a comment when the value is folded")],
        hint: Some("remove the '#'; main.cf has no inline comments"),
    },
    Case {
        name: "inject-list-empty",
        spec: b"mynetworks: [127.0.0.0/8, '']\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "mynetworks: list item \"\" is empty")],
        hint: Some("remove the empty item from the list"),
    },
    Case {
        name: "macro-unterminated",
        spec: b"smtpd_banner: ${myhostname ESMTP\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: truncated macro reference: \"${myhostname ESMTP\"")],
        hint: Some("write $name, ${name}, ${name?value} or ${name:value}; a literal $ is $$"),
    },
    Case {
        name: "macro-empty-name",
        spec: b"smtpd_banner: costs 5$ only\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: empty macro name: \"costs 5$ only\"")],
        hint: Some("write $name, ${name}, ${name?value} or ${name:value}; a literal $ is $$"),
    },
    Case {
        name: "macro-bad-name",
        spec: b"smtpd_banner: ${my-name}\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: attribute name syntax error at: \"...my>>>-name\"")],
        hint: Some("write $name, ${name}, ${name?value} or ${name:value}; a literal $ is $$"),
    },
    Case {
        name: "braces-unbalanced",
        spec: b"smtpd_client_restrictions: [permit_mynetworks, '{ check_client_access hash:/etc/postfix/access']\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_client_restrictions: missing '}' in \"{ check_client_access hash:/etc/postfix/access\"")],
        hint: Some("balance the braces: { ... } groups one list item"),
    },
    Case {
        name: "yaml-tab",
        spec: b"biff: no\n\tmyhostname: a.example\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "invalid YAML: found a tab character that violates indentation")],
        hint: Some("YAML indentation must be spaces; this line is indented with a tab"),
    },
    Case {
        name: "yaml-unclosed-bracket",
        spec: b"mynetworks: [127.0.0.0/8, 10.0.0.0/8\nbiff: no\n",
        files: &[],
        errors: &[("spec.yaml:2:5", "invalid YAML: illegal placement of ':' indicator")],
        hint: Some("the `[` at line 1 column 13 is not closed: check for a missing `]` or a missing comma"),
    },
    Case {
        name: "yaml-duplicate-key",
        spec: b"biff: no\nmyhostname: a.example\nbiff: yes\n",
        files: &[],
        errors: &[("spec.yaml:3:1", "invalid YAML: duplicate key `biff`")],
        hint: Some("a key may appear only once in a mapping; `biff` is first set at line 1"),
    },
    Case {
        name: "yaml-unclosed-quote",
        spec: b"myhostname: \"a.example\n",
        files: &[],
        errors: &[("spec.yaml:1:13", "invalid YAML: while scanning a quoted scalar, found unexpected end of stream")],
        hint: Some("the file ends inside a quoted string, a [list] or a {mapping}: check for a missing closing quote or bracket"),
    },
    Case {
        name: "yaml-not-utf8",
        spec: b"myhostname: caf\xe9.example\n",
        files: &[],
        errors: &[("spec.yaml:1:16", "spec file is not UTF-8 (invalid byte at offset 15)")],
        hint: Some("save the file as UTF-8"),
    },
    Case {
        name: "top-list",
        spec: b"- inet_protocols: ipv4\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "expected a mapping of parameters, found a list")],
        hint: Some("write `name: value` lines, e.g. `inet_protocols: ipv4`"),
    },
    Case {
        name: "top-scalar",
        spec: b"inet_protocols=ipv4\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "expected a mapping of parameters, found a string")],
        hint: Some("write `name: value` lines, e.g. `inet_protocols: ipv4`"),
    },
    Case {
        name: "top-unknown-key",
        spec: b"main:\n  inet_protocols: ipv4\nservices: restart\n",
        files: &[],
        errors: &[("spec.yaml:3:1", "unknown top-level key `services` in a full-form spec")],
        hint: Some("the full form has only extends, main, master, maps, aliases, purge, service, allow, postfix_version, custom_parameters; put parameters under `main:`"),
    },
    Case {
        name: "value-mapping",
        spec: b"biff:\n  value: no\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "biff: expected a value, found a mapping")],
        hint: Some("a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove"),
    },
    Case {
        name: "purge-maybe",
        spec: b"main:\n  biff: false\npurge: maybe\n",
        files: &[],
        errors: &[("spec.yaml:3:1", "`purge` must be true or false, found a string")],
        hint: Some("purge: true (remove parameters the spec does not name) or purge: false"),
    },
    Case {
        name: "main-list",
        spec: b"main:\n  - inet_protocols: ipv4\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`main` must be a mapping of parameters, found a list")],
        hint: Some("main:\n    inet_protocols: ipv4"),
    },
    Case {
        name: "custom-parameters-bad",
        spec: b"custom_parameters: [my-checks]\n",
        files: &[],
        errors: &[("spec.yaml:1:21", "`custom_parameters`: \"my-checks\" is not a parameter name")],
        hint: Some("Postfix parameter names are letters, digits and underscores"),
    },
    Case {
        name: "service-unknown",
        spec: b"main:\n  inet_protocols: ipv4\nservice: sometimes\n",
        files: &[],
        errors: &[("spec.yaml:3:1", "unknown service mode \"sometimes\": expected auto, reload, restart or none")],
        hint: Some("service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}"),
    },
    Case {
        name: "service-not-argv",
        spec: b"service:\n  reload: postfix reload\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`service.reload` must be a list (argv, run without a shell), found a string")],
        hint: Some("service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}"),
    },
    Case {
        name: "service-unknown-key",
        spec: b"service:\n  stop: [postfix, stop]\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "unknown key \"stop\" under `service`: expected reload and restart")],
        hint: Some("service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}"),
    },
    Case {
        name: "service-empty",
        spec: b"service: {}\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`service` commands need at least one of reload or restart")],
        hint: Some("service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}"),
    },
    Case {
        name: "master-no-type",
        spec: b"master:\n  smtp: {command: smtpd}\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`master`: `smtp`: a service is named service/type, e.g. smtp/inet")],
        hint: Some("write `smtp/inet` for a TCP service or `smtp/unix` for a UNIX-domain one: the type as `postconf -M` shows it"),
    },
    Case {
        name: "master-bad-type",
        spec: b"master:\n  smtp/unix_dgram: {command: smtpd}\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`master`: `smtp/unix_dgram`: unknown service type `unix_dgram`: expected inet, unix, unix-dgram, fifo or pass")],
        hint: Some("did you mean `unix-dgram`? A service is named service/type as `postconf -M` shows it"),
    },
    Case {
        name: "master-unknown-field",
        spec: b"master:\n  smtp/inet:\n    comand: smtpd\n",
        files: &[],
        errors: &[("spec.yaml:3:5", "`smtp/inet`: unknown field `comand`")],
        hint: Some("did you mean `command`? The fields are private, unpriv, chroot, wakeup, maxproc, command, args, options"),
    },
    Case {
        name: "master-bad-flag",
        spec: b"master:\n  submission/inet:\n    command: smtpd\n    chroot: maybe\n",
        files: &[],
        errors: &[("spec.yaml:4:5", "`submission/inet` chroot: expected y, n or - (or true/false), found \"maybe\"")],
        hint: Some("y: yes, n: no, \"-\": the default of master(5) (quote the -); true and false work too"),
    },
    Case {
        name: "master-lone-dash",
        spec: b"master:\n  submission/inet:\n    chroot: -\n",
        files: &[],
        errors: &[("spec.yaml:3:13", "invalid YAML: block sequence entries are not allowed in this context")],
        hint: Some("a `-` followed by a space or the end of the line starts a list item in YAML; for master.cf's \"use the default\" write \"-\" in quotes"),
    },
    Case {
        name: "master-bad-wakeup-and-maxproc",
        spec: b"master:\n  pickup/unix:\n    wakeup: 60s\n    maxproc: many\n",
        files: &[],
        errors: &[
            ("spec.yaml:3:5", "`pickup/unix` wakeup: expected a number of seconds, that number followed by ? (wake up only when used), or -, found \"60s\""),
            ("spec.yaml:4:5", "`pickup/unix` maxproc: expected a process limit (a whole number, 0: no limit) or -, found \"many\""),
        ],
        hint: Some("e.g. wakeup: 60, wakeup: \"60?\" or wakeup: \"-\""),
    },
    Case {
        name: "master-service-not-mapping",
        spec: b"master:\n  submission/inet: smtpd\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`submission/inet` must be a mapping of fields (or null to remove the service), found a string")],
        hint: Some("the fields are private, unpriv, chroot, wakeup, maxproc, command, args, options"),
    },
    Case {
        name: "master-option-name",
        spec: b"master:\n  smtp/inet:\n    options:\n      syslog-name: x\n",
        files: &[],
        errors: &[("spec.yaml:4:7", "`smtp/inet` options: \"syslog-name\" is not a parameter name")],
        hint: Some("Postfix parameter names are letters, digits and underscores"),
    },
    Case {
        name: "maps-no-type",
        spec: b"maps:\n  /etc/postfix/access:\n    entries: {10.0.0.1: OK}\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`/etc/postfix/access`: `type` is missing")],
        hint: Some("add type: hash (or another of hash, lmdb, cdb, btree, regexp, pcre, cidr, texthash)"),
    },
    Case {
        name: "maps-bad-type",
        spec: b"maps:\n  /etc/postfix/access:\n    type: hahs\n",
        files: &[],
        errors: &[("spec.yaml:3:5", "`/etc/postfix/access` type: unknown table type `hahs`: expected hash, lmdb, cdb, btree, regexp, pcre, cidr, texthash")],
        hint: Some("did you mean `hash`? postform manages table files; other lookup types (mysql:, ldap:, ...) are named in main.cf only"),
    },
    Case {
        name: "maps-entries-not-mapping",
        spec: b"maps:\n  /etc/postfix/access:\n    type: hash\n    entries:\n      - 10.0.0.1 OK\n",
        files: &[],
        errors: &[("spec.yaml:4:5", "`/etc/postfix/access` entries must be a mapping of key: value, found a list")],
        hint: Some("entries:\n        \"[smtp.example.com]:587\": user:password\n  (in order: for regexp, pcre and cidr tables the first match wins)"),
    },
    Case {
        name: "maps-mode-not-octal",
        spec: b"maps:\n  /etc/postfix/access:\n    type: hash\n    mode: rw-------\n",
        files: &[],
        errors: &[("spec.yaml:4:5", "`/etc/postfix/access` mode: expected an octal mode like \"0600\", found \"rw-------\"")],
        hint: Some("mode is octal, as chmod takes it: \"0600\", \"0640\" or \"0644\""),
    },
    Case {
        name: "maps-type-in-path",
        spec: b"maps:\n  hash:/etc/postfix/access:\n    entries: {10.0.0.1: OK}\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`maps`: `hash:/etc/postfix/access` names the type in the path")],
        hint: Some("write the path alone and the type under it:\n    /etc/postfix/access:\n      type: hash"),
    },
    Case {
        name: "maps-secret-unset",
        spec: b"maps:\n  /etc/postfix/sasl_passwd:\n    type: hash\n    entries:\n      \"[smtp.example.com]:587\": {env: POSTFORM_BAD_SPECS_UNSET_SECRET}\n",
        files: &[],
        errors: &[("spec.yaml:5:7", "`/etc/postfix/sasl_passwd` entry `[smtp.example.com]:587`: the environment variable POSTFORM_BAD_SPECS_UNSET_SECRET is not set")],
        hint: Some("a value is text, or a secret from outside the spec: {file: path} (relative to this spec file) or {env: NAME}"),
    },
    Case {
        name: "aliases-bad-name",
        spec: b"aliases:\n  'post master': root\n",
        files: &[],
        errors: &[("spec.yaml:2:3", "`aliases`: the name \"post master\" contains a space")],
        hint: Some("an alias name is a local part such as postmaster (aliases(5))"),
    },
    Case {
        name: "allow-not-a-list",
        spec: b"allow: {open_relay: true}\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`allow` must be a list of policy ids, found a mapping")],
        hint: Some("allow: [open_relay]"),
    },
    Case {
        name: "postfix-version-number",
        spec: b"postfix_version: 3.10\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`postfix_version` must be a string, found the number 3.10")],
        hint: Some("YAML reads 3.10 as the number 3.1; quote it: postfix_version: \"3.10\""),
    },
    Case {
        name: "yaml-merge-key",
        spec: b"x: &x {biff: no}\n<<: *x\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "invalid YAML: merge keys (`<<`) are not supported")],
        hint: Some("write the keys out in each mapping; to share settings between hosts, put them in a file that specs name under `extends`"),
    },
    Case {
        name: "yaml-binary-tag",
        spec: b"smtpd_banner: !!binary aGVsbG8=\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_banner: the YAML tag !!binary is not supported: a spec value is text; write the text itself")],
        hint: Some("a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove"),
    },
    Case {
        name: "yaml-two-documents",
        spec: b"biff: no\n---\nbiff: yes\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "invalid YAML: more than one document in the file")],
        hint: Some("a spec file is one YAML document: remove the `---` line and what follows, or merge the documents"),
    },
    Case {
        name: "int-hex-kept-as-text",
        spec: b"message_size_limit: 0x10\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit: invalid value \"0x10\": expected a whole number")],
        hint: Some("see https://www.postfix.org/postconf.5.html#message_size_limit"),
    },
    Case {
        name: "extends-missing",
        spec: b"extends: [groups/missing.yaml]\nmain:\n  biff: false\n",
        files: &[],
        errors: &[("spec.yaml:1:11", "extends `groups/missing.yaml`: cannot read spec file: No such file or directory (os error 2)")],
        hint: Some("check the path; `extends` paths are relative to the file that names them"),
    },
    Case {
        name: "extends-cycle",
        spec: b"extends: [b.yaml]\n",
        files: &[("b.yaml", b"extends: [spec.yaml]\n")],
        errors: &[("b.yaml:1:11", "extends `spec.yaml`: `extends` cycle: spec.yaml -> b.yaml -> spec.yaml")],
        hint: Some("a spec cannot extend itself, directly or through other files"),
    },
    Case {
        name: "extends-self",
        spec: b"extends: spec.yaml\n",
        files: &[],
        errors: &[("spec.yaml:1:10", "extends `spec.yaml`: `extends` cycle: spec.yaml -> spec.yaml")],
        hint: Some("a spec cannot extend itself, directly or through other files"),
    },
    Case {
        name: "extends-dir",
        spec: b"extends:\n  - groups\n",
        files: &[("groups/x.yaml", b"biff: no\n")],
        errors: &[("spec.yaml:2:5", "extends `groups`: is a directory, expected a YAML spec file")],
        hint: Some("give the path of a YAML spec file"),
    },
    Case {
        name: "extends-not-list",
        spec: b"extends: 5\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "`extends` must be a list of spec file paths, found a number")],
        hint: Some("extends: [../groups/relay.yaml]"),
    },
    Case {
        name: "extends-bad-layer",
        spec: b"extends: [base.yaml]\nmain:\n  biff: false\n",
        files: &[("base.yaml", b"# base layer\nmain:\n  inet_protocols: ipv5\n")],
        errors: &[("base.yaml:3:3", "inet_protocols: invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6")],
        hint: Some("see https://www.postfix.org/postconf.5.html#inet_protocols"),
    },
    Case {
        name: "read-only-process-id",
        spec: b"process_id: 1234\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "process_id is read-only: Postfix sets it itself and ignores main.cf (\"read-only parameter assignment\")")],
        hint: Some("remove process_id from the spec (or set it to null to remove it from main.cf)"),
    },
    Case {
        name: "read-only-process-name",
        spec: b"process_name: smtpd\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "process_name is read-only: Postfix sets it itself and ignores main.cf (\"read-only parameter assignment\")")],
        hint: Some("remove process_name from the spec (or set it to null to remove it from main.cf)"),
    },
    Case {
        name: "cross-ipv6-iface",
        spec: b"inet_protocols: ipv4\ninet_interfaces: [127.0.0.1, '[::1]']\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "inet_interfaces lists the IPv6 address [::1] but inet_protocols does not enable ipv6: Postfix will refuse to start (\"host not found\")")],
        hint: Some("remove the IPv6 addresses from inet_interfaces (loopback-only and all follow inet_protocols), or add ipv6 to inet_protocols"),
    },
    Case {
        name: "cross-ipv4-iface",
        spec: b"inet_protocols: ipv6\ninet_interfaces: 127.0.0.1\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "inet_interfaces lists the IPv4 address 127.0.0.1 but inet_protocols does not enable ipv4: Postfix will refuse to start")],
        hint: Some("add ipv4 to inet_protocols or remove the IPv4 addresses"),
    },
    Case {
        name: "cross-size",
        spec: b"message_size_limit: 60000000\nmailbox_size_limit: 50000000\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "message_size_limit (60000000) is larger than mailbox_size_limit (50000000): local(8) delivery stops with \"fatal: main.cf configuration error: mailbox_size_limit is smaller than message_size_limit\"")],
        hint: Some("raise mailbox_size_limit to at least message_size_limit (0 = unlimited), or lower message_size_limit"),
    },
    Case {
        name: "cross-size-zero",
        spec: b"mailbox_size_limit: 51200000\nmessage_size_limit: 0\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "message_size_limit (0 = unlimited) is larger than mailbox_size_limit (51200000): local(8) delivery stops with \"fatal: main.cf configuration error: mailbox_size_limit is smaller than message_size_limit\"")],
        hint: Some("raise mailbox_size_limit to at least message_size_limit (0 = unlimited), or lower message_size_limit"),
    },
    Case {
        name: "cross-tls-no-cert",
        spec: b"smtpd_tls_security_level: encrypt\nsmtpd_tls_cert_file: null\nsmtpd_tls_key_file: null\n",
        files: &[],
        errors: &[("spec.yaml:1:1", "smtpd_tls_security_level = encrypt but no server certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): every SMTP session will fail")],
        hint: Some("set smtpd_tls_chain_files (or smtpd_tls_cert_file and smtpd_tls_key_file)"),
    },
    Case {
        name: "cross-virtual",
        spec: b"virtual_mailbox_domains: [example.org]\nmessage_size_limit: 60000000\n",
        files: &[],
        errors: &[("spec.yaml:2:1", "message_size_limit (60000000) is larger than virtual_mailbox_limit (51200000): virtual(8) delivery stops with \"fatal: main.cf configuration error: virtual_mailbox_limit is smaller than message_size_limit\"")],
        hint: Some("raise virtual_mailbox_limit to at least message_size_limit (0 = unlimited), or lower message_size_limit"),
    },
];
