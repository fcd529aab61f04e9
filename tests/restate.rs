//! Restating the live configuration is always a no-op, checked with the
//! real `postconf -n` as the oracle.
//!
//! For every main.cf Postfix accepts — the real-world fixtures, the
//! recorded semantics cases, Debian's and upstream's files, and seeded
//! generated files full of what breaks naive tools (dead duplicates, raw
//! parameters, `{ }` groups with commas, template placeholders, numbers
//! with comments, out-of-range enums, `${name}` spellings, continuation
//! lines, CRLF) — in a scratch config dir:
//!
//! 1. `postform import` then `postform plan --detailed-exitcode` exits 0;
//!    the spec names every parameter `postconf -n` prints (those import
//!    cannot carry are named in its warnings);
//! 2. restating any single parameter, as `postconf -n` prints its value,
//!    exits 0;
//! 3. after all of it main.cf is byte-identical with its mtime untouched,
//!    and `postconf -n` prints exactly what it printed before.
//!
//! Files `postconf -n` refuses are not Postfix configurations and are left
//! out (counted; a generator that mostly makes refused files fails).
//! `POSTFORM_RESTATE_CASES` (default 40) generated files per run,
//! `POSTFORM_RESTATE_SEED` to repeat a run.

mod support;

use support::postform;

use std::path::{Path, PathBuf};
use support::stress::{file_state, seed_from_env, Rng};

/// Every main.cf fixture in the repository.
fn fixture_files() -> Vec<PathBuf> {
    let root = support::repo_root();
    let mut out = vec![
        root.join("examples/postfix/main.cf"),
        root.join("tests/fixtures/dist/main.cf.dist"),
    ];
    for dir in [
        "tests/fixtures/real-world/maincf",
        "tests/fixtures/postfix-semantics/cases",
        "tests/fixtures/postfix-semantics/edit-cases",
    ] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            panic!("{dir}: fixture folder missing");
        };
        let mut found: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .flat_map(|e| {
                let p = e.path();
                ["main.cf", "before.main.cf", "after.main.cf"]
                    .into_iter()
                    .map(move |n| p.join(n))
            })
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// A generated main.cf: a compatibility level, then a random mix of the
/// classes of lines that real files have and naive tools trip over.
fn generated(rng: &mut Rng) -> Vec<u8> {
    let pick = |rng: &mut Rng, v: &[&str]| v[rng.below(v.len() as u64) as usize].to_string();
    let mut lines: Vec<String> = vec!["compatibility_level = 3.6".into()];
    let n = 3 + rng.below(12);
    for _ in 0..n {
        let line = match rng.below(14) {
            // Dead duplicates, with the same or another value.
            0 => {
                let v1 = pick(rng, &["a.example", "b.example"]);
                let v2 = pick(rng, &["a.example", "b.example"]);
                format!("myhostname = {v1}\nbiff = no\nmyhostname = {v2}")
            }
            // Raw parameters: `$` and braces are data.
            1 => pick(
                rng,
                &[
                    "smtpd_expansion_filter = \\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
                    "smtpd_reject_footer = \\c. Contact $postmaster_address {or} ${x",
                    "default_rbl_reply = $rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}",
                ],
            ),
            // `{ }` groups with commas inside list items.
            2 => pick(
                rng,
                &[
                    "smtpd_milters = { inet:localhost:8891, default_action=accept }, inet:localhost:8892",
                    "smtp_tls_policy_maps = inline:{ {a.example=encrypt}, {b.example = may} }",
                    "smtpd_recipient_restrictions = permit_mynetworks,\n    check_policy_service { inet:127.0.0.1:10023, timeout=10s },\n    reject_unauth_destination",
                ],
            ),
            // Template placeholders in typed parameters.
            3 => pick(
                rng,
                &[
                    "message_size_limit = {{ postfix_message_size_limit }}",
                    "smtpd_tls_security_level = @@TLS_LEVEL@@",
                    "smtp_tls_loglevel = %LOGLEVEL%",
                ],
            ),
            // A number with a comment, an out-of-range enum.
            4 => "message_size_limit = 0 # unlimited".into(),
            5 => pick(
                rng,
                &[
                    "smtpd_tls_security_level = maybe",
                    "inet_protocols = IPv4",
                    "smtp_tls_security_level = Encrypt",
                ],
            ),
            // The three spellings of one reference.
            6 => pick(
                rng,
                &[
                    "smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache",
                    "smtpd_tls_session_cache_database = btree:$(data_directory)/smtpd_scache",
                    "mydestination = $myhostname, localhost.${mydomain}, localhost",
                ],
            ),
            // Continuation lines with comment and blank lines inside.
            7 => "mynetworks = 127.0.0.0/8\n# a comment inside\n\n    [::1]/128,\n\t10.0.0.0/8".into(),
            // Empty values, a legacy name, a user-defined parameter.
            8 => pick(
                rng,
                &[
                    "relayhost =",
                    "virtual_maps = hash:/etc/postfix/virtual",
                    "my_checks = permit_mynetworks, reject\nsmtpd_restriction_classes = my_checks",
                ],
            ),
            // Booleans in other cases, lists in odd spacing.
            9 => pick(
                rng,
                &[
                    "biff = NO",
                    "smtpd_sasl_auth_enable = Yes",
                    "mydestination=$myhostname,localhost",
                ],
            ),
            10 => "alias_database = hash:/etc/aliases hash:/etc/aliases2\nsmtp_tls_verify_cert_match = hostname nexthop dot-nexthop".into(),
            11 => pick(
                rng,
                &[
                    "smtpd_banner = $myhostname ESMTP   $mail_name",
                    "smtpd_banner = ${myhostname} ESMTP",
                    "header_checks = regexp:/etc/postfix/header_checks",
                ],
            ),
            12 => "# a commented example\n#delay_warning_time = 4h\ndelay_warning_time = 4h".into(),
            _ => pick(
                rng,
                &[
                    "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
                    "inet_interfaces = loopback-only",
                    "maillog_file = /var/log/postfix.log",
                ],
            ),
        };
        lines.push(line);
    }
    let crlf = rng.below(5) == 0;
    let mut text = lines.join("\n");
    if rng.below(4) != 0 {
        text.push('\n');
    }
    if crlf {
        text = text.replace('\n', "\r\n");
    }
    text.into_bytes()
}

/// `postconf -n` without its config_directory line, or `None` when
/// postconf refuses the file.
fn postconf_n(dir: &Path) -> Option<Vec<String>> {
    let out = support::postconf_n(dir);
    if !out.status.success() {
        return None;
    }
    let skip = format!("config_directory = {}", dir.display());
    // A value that is not UTF-8 cannot be written in a YAML spec (import
    // leaves it out, with a warning): such lines are not restated.
    Some(
        out.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| std::str::from_utf8(l).ok())
            .filter(|l| *l != skip)
            .map(str::to_string)
            .collect(),
    )
}

/// Check one main.cf; `Ok(false)` when postconf refuses it.
fn check(name: &str, main_cf: &[u8], master_cf: &[u8]) -> Result<bool, String> {
    let dir = support::scratch_config_dir(main_cf, Some(master_cf));
    let cfg = dir.path();
    let Some(oracle) = postconf_n(cfg) else {
        return Ok(false);
    };
    let main_path = cfg.join("main.cf");
    let master_path = cfg.join("master.cf");
    let before = file_state(&main_path);
    let master_before = file_state(&master_path);
    let listing = |d: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let files_before = listing(cfg);
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let spec = work.path().join("spec.yaml");
    let cfg_arg = cfg.display().to_string();
    let spec_arg = spec.display().to_string();
    // 1. import, then plan.
    let import = postform(work.path(), &["import", "-c", &cfg_arg, "-o", &spec_arg]);
    if !import.status.success() {
        return Err(format!(
            "{name}: import failed: {}",
            support::describe(&import)
        ));
    }
    let imported = std::fs::read_to_string(&spec).map_err(|e| e.to_string())?;
    let import_warnings = support::stderr(&import);
    for line in &oracle {
        let pname = line.split(" =").next().unwrap_or(line);
        // The full form (main.cf and master.cf beside each other) has the
        // parameters under `main:`, indented two spaces.
        let named = imported.lines().any(|l| {
            let l = l.strip_prefix("  ").unwrap_or(l);
            l.starts_with(&format!("{pname}:")) || l.starts_with(&format!("'{pname}':"))
        });
        if !named && !import_warnings.contains(&format!("{pname}:")) {
            return Err(format!(
                "{name}: postconf -n prints `{line}`, but the imported spec does not name {pname} and import did not say why:\n{imported}"
            ));
        }
    }
    let plan = postform(
        work.path(),
        &["plan", &spec_arg, "-c", &cfg_arg, "--detailed-exitcode"],
    );
    if plan.status.code() != Some(0) {
        return Err(format!(
            "{name}: import then plan is not \"No changes\":\n{}\nspec:\n{imported}",
            support::describe(&plan)
        ));
    }
    // 2. restate each parameter as postconf prints it.
    for line in &oracle {
        let (pname, value) = match line.split_once(" = ") {
            Some((n, v)) => (n, v),
            None => (line.trim_end_matches(" ="), ""),
        };
        let one = serde_json::json!({ pname: value }).to_string();
        std::fs::write(&spec, &one).map_err(|e| e.to_string())?;
        let plan = postform(
            work.path(),
            &["plan", &spec_arg, "-c", &cfg_arg, "--detailed-exitcode"],
        );
        if plan.status.code() != Some(0) {
            return Err(format!(
                "{name}: restating `{line}` as {one} is not \"No changes\":\n{}",
                support::describe(&plan)
            ));
        }
    }
    // 3. nothing written, and Postfix sees what it saw.
    support::stress::assert_untouched(&main_path, &before, name);
    support::stress::assert_untouched(&master_path, &master_before, name);
    if listing(cfg) != files_before {
        return Err(format!(
            "{name}: the config dir changed: {:?} -> {:?}",
            files_before,
            listing(cfg)
        ));
    }
    if postconf_n(cfg).as_ref() != Some(&oracle) {
        return Err(format!("{name}: postconf -n changed"));
    }
    Ok(true)
}

fn master_cf() -> Vec<u8> {
    std::fs::read(support::repo_root().join("examples/postfix/master.cf")).expect("master.cf")
}

#[test]
fn restating_every_fixture_is_a_no_op() {
    if support::postconf().is_none() {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    }
    let master = master_cf();
    let files = fixture_files();
    assert!(files.len() >= 63, "fixtures missing: {}", files.len());
    let results: Vec<(String, Result<bool, String>)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(4)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let master = &master;
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| {
                            let bytes = std::fs::read(p).expect("fixture");
                            let name = p.display().to_string();
                            let r = check(&name, &bytes, master);
                            (name, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let failures: Vec<&String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // A file postconf refuses is not the live state of any host: it is
    // left out, but never silently and never most of them.
    let refused: Vec<&str> = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(false)))
        .map(|(n, _)| n.as_str())
        .collect();
    eprintln!(
        "restate: {} fixtures checked, {} refused by postconf: {refused:?}",
        results.len() - refused.len(),
        refused.len()
    );
    assert!(
        refused.len() * 10 <= results.len(),
        "postconf refused {} of {} fixtures: {refused:?}",
        refused.len(),
        results.len()
    );
}

#[test]
fn restating_generated_files_is_a_no_op() {
    if support::postconf().is_none() {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    }
    let seed = seed_from_env("POSTFORM_RESTATE_SEED", "restate");
    let cases = support::stress::env_usize("POSTFORM_RESTATE_CASES", 40);
    let master = master_cf();
    let inputs: Vec<(String, Vec<u8>)> = {
        let mut rng = Rng::new(seed);
        (0..cases)
            .map(|i| (format!("generated #{i} (seed {seed})"), generated(&mut rng)))
            .collect()
    };
    let results: Vec<Result<bool, String>> = std::thread::scope(|s| {
        let chunks: Vec<&[(String, Vec<u8>)]> = inputs.chunks(cases.div_ceil(4).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let master = &master;
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(name, bytes)| {
                            check(name, bytes, master).map_err(|e| {
                                format!("{e}\nmain.cf was:\n{}", String::from_utf8_lossy(bytes))
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let accepted = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(
        accepted * 4 >= cases * 3,
        "only {accepted} of {cases} generated files were accepted by postconf; the generator should make Postfix configurations"
    );
}
