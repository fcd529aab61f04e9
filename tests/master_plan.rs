//! The master.cf planner over every master.cf fixture (30 real-world
//! files, Debian's and upstream's defaults), with the real `postconf` as
//! the oracle:
//!
//! * `import` then `plan` is "No changes" and writes nothing;
//! * restating a single service (as its own spec) is "No changes";
//! * a copy modified behind postform's back (a field changed, an option
//!   added, an option's value changed, arguments changed, a service
//!   commented out, a service added) is restored by applying the import
//!   with `purge: true`: `postconf -M` and `-P` of the result equal the
//!   original's;
//! * a generated edit (one service added with options, one field changed,
//!   one option removed) gives exactly the intended services and options
//!   and nothing else (`postconf -M`/`-P` before and after, diffed).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    support::repo_root().join("tests/fixtures/mastercf")
}

/// Every master.cf fixture, as a path relative to tests/fixtures/mastercf.
fn master_cf_files() -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            e.path()
                .join("master.cf")
                .is_file()
                .then(|| format!("{name}/master.cf"))
        })
        .collect();
    out.sort();
    out
}

fn postform(args: &[&str]) -> Output {
    let mut cmd = Command::new(support::postform_bin());
    cmd.args(args).env("NO_COLOR", "1");
    support::run(&mut cmd)
}

/// `postconf -M` and `-P` of a config dir: what master(8) will run.
fn services_of(dir: &Path) -> (String, String) {
    let m = support::run_postconf(dir, ["-M"]);
    let p = support::run_postconf(dir, ["-P"]);
    (support::stdout(&m), support::stdout(&p))
}

/// A scratch config dir with `master` and a main.cf at compatibility
/// level 3.6 (Debian's; at the built-in level 0 smtpd_relay_restrictions
/// is empty and every new smtpd service would be refused: it could not
/// start).
fn scratch(master: &[u8]) -> tempfile::TempDir {
    support::scratch_config_dir(b"compatibility_level = 3.6\n", Some(master))
}

fn import_to(dir: &Path, extra: &str) -> Result<PathBuf, String> {
    let d = dir.to_str().unwrap();
    let spec = dir.join("imported.yaml");
    let out = postform(&["import", "-c", d, "-o", spec.to_str().unwrap()]);
    if !out.status.success() {
        return Err(format!("import failed\n{}", support::describe(&out)));
    }
    if !extra.is_empty() {
        let mut text = fs::read_to_string(&spec).unwrap();
        text.push_str(extra);
        fs::write(&spec, text).unwrap();
    }
    Ok(spec)
}

fn no_changes(dir: &Path, spec: &Path) -> Result<(), String> {
    let before_master = fs::read(dir.join("master.cf")).unwrap();
    let out = postform(&[
        "plan",
        spec.to_str().unwrap(),
        "-c",
        dir.to_str().unwrap(),
        "--detailed-exitcode",
    ]);
    if out.status.code() != Some(0) || !support::stdout(&out).starts_with("No changes.") {
        return Err(format!(
            "expected No changes\n{}\n--- spec ---\n{}",
            support::describe(&out),
            fs::read_to_string(spec).unwrap_or_default()
        ));
    }
    if fs::read(dir.join("master.cf")).unwrap() != before_master {
        return Err("plan changed master.cf".into());
    }
    Ok(())
}

fn for_each_fixture(check: impl Fn(&str, &[u8]) -> Result<(), String> + Sync) {
    let files = master_cf_files();
    assert!(files.len() >= 32, "{files:?}");
    let check = &check;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|k| {
                let chunk: Vec<&String> = files.iter().skip(k).step_by(2).collect();
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .filter_map(|rel| {
                            let bytes = fs::read(fixtures().join(rel)).unwrap();
                            check(rel, &bytes).err().map(|e| format!("{rel}: {e}"))
                        })
                        .collect::<Vec<_>>()
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
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn import_then_plan_is_no_changes_for_every_master_cf() {
    if support::postconf().is_none() {
        return;
    }
    for_each_fixture(|_, bytes| {
        let dir = scratch(bytes);
        let spec = import_to(dir.path(), "")?;
        let text = fs::read_to_string(&spec).unwrap();
        if !text.contains("\nmaster:\n") {
            return Err(format!("the import has no master: section\n{text}"));
        }
        no_changes(dir.path(), &spec)
    });
}

#[test]
fn restating_any_single_service_is_no_changes() {
    if support::postconf().is_none() {
        return;
    }
    for_each_fixture(|_, bytes| {
        let dir = scratch(bytes);
        let full = import_to(dir.path(), "")?;
        let text = fs::read_to_string(&full).unwrap();
        // Each service block of the import, on its own.
        let master = text.split("\nmaster:\n").nth(1).unwrap();
        let mut blocks: Vec<String> = Vec::new();
        for line in master.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") {
                blocks.push(String::new());
            }
            let b = blocks.last_mut().unwrap();
            b.push_str(line);
            b.push('\n');
        }
        for block in blocks {
            let spec = dir.path().join("one.yaml");
            fs::write(&spec, format!("master:\n{block}")).unwrap();
            no_changes(dir.path(), &spec)?;
        }
        Ok(())
    });
}

/// Modify a copy with postconf's own editor (and one hand edit), then
/// apply the original's import with purge: the services and options are
/// the original's again.
#[test]
fn applying_the_import_with_purge_restores_a_modified_copy() {
    if support::postconf().is_none() {
        return;
    }
    for_each_fixture(|_, bytes| {
        let original = scratch(bytes);
        let spec = import_to(original.path(), "purge: true\n")?;
        let want = services_of(original.path());
        let copy = scratch(bytes);
        let c = copy.path();
        let (m, _) = services_of(c);
        let first: Vec<&str> = m.lines().collect();
        // The first service with a command, and the last one.
        let key = |line: &str| {
            let f: Vec<&str> = line.split_whitespace().collect();
            format!("{}/{}", f[0], f[1])
        };
        let a = key(first[0]);
        let z = key(first[first.len() - 1]);
        // `-` is n at compatibility level 3.6: flip the value in effect.
        let chroot = first[0].split_whitespace().nth(4).unwrap();
        let flipped = if matches!(chroot, "n" | "-") {
            "y"
        } else {
            "n"
        };
        for edit in [
            vec!["-F".to_string(), format!("{a}/chroot={flipped}")],
            vec!["-F".to_string(), format!("{a}/process_limit=7")],
            vec!["-P".to_string(), format!("{a}/syslog_name=intruder")],
            vec!["-P".to_string(), format!("{z}/smtpd_banner=hello")],
            vec!["-M#".to_string(), z.clone()],
            vec![
                "-M".to_string(),
                "10026/inet=10026 inet n - n - - smtpd -o smtpd_tls_security_level=none".into(),
            ],
        ] {
            let out = support::run_postconf(c, &edit);
            if !out.status.success() {
                return Err(format!("postconf {edit:?}: {}", support::describe(&out)));
            }
        }
        support::backdate(&c.join("master.cf"));
        if services_of(c) == want {
            return Err("the modifications changed nothing".into());
        }
        let out = postform(&[
            "apply",
            spec.to_str().unwrap(),
            "-c",
            c.to_str().unwrap(),
            "--auto-approve",
            "--service",
            "none",
        ]);
        if !out.status.success() {
            return Err(format!("apply failed\n{}", support::describe(&out)));
        }
        let got = services_of(c);
        if got != want {
            return Err(format!(
                "not restored\n--- want -M ---\n{}\n--- got -M ---\n{}\n--- want -P ---\n{}\n--- got -P ---\n{}",
                want.0, got.0, want.1, got.1
            ));
        }
        no_changes(c, &spec)
    });
}

/// A spec that adds one service with options, changes one field and
/// removes one option: `postconf -M`/`-P` change by exactly that.
#[test]
fn a_generated_edit_changes_exactly_the_intended_services() {
    if support::postconf().is_none() {
        return;
    }
    for_each_fixture(|_, bytes| {
        let dir = scratch(bytes);
        let d = dir.path();
        let (m0, p0) = services_of(d);
        // The first service that has an option, for the removal.
        let with_option = p0.lines().next().map(|l| {
            let parts: Vec<&str> = l.splitn(3, '/').collect();
            let opt = parts[2].split('=').next().unwrap().trim().to_string();
            (format!("{}/{}", parts[0], parts[1]), opt)
        });
        let first = m0.lines().next().unwrap();
        let f: Vec<&str> = first.split_whitespace().collect();
        let target = format!("{}/{}", f[0], f[1]);
        // `-` is n at compatibility level 1 and later: flip the value in
        // effect, so the plan must change it.
        let new_chroot = if matches!(f[4], "n" | "-") { "y" } else { "n" };
        // Removing an option may weaken a policy (a TLS level): allowed,
        // this test is about the edit.
        let mut spec = format!(
            "allow: [open_relay, plaintext_auth, tls_downgrade, compat_downgrade]\nmaster:\n  127.0.0.1:10099/inet:\n    command: smtpd\n    options:\n      smtpd_banner: \"$myhostname test banner\"\n      syslog_name: postfix/test\n  {target}:\n    chroot: {new_chroot}\n"
        );
        if let Some((svc, opt)) = &with_option {
            if *svc == target {
                spec.push_str(&format!("    options:\n      {opt}: null\n"));
            } else {
                spec.push_str(&format!("  {svc}:\n    options:\n      {opt}: null\n"));
            }
        }
        let path = d.join("edit.yaml");
        fs::write(&path, &spec).unwrap();
        let out = postform(&[
            "apply",
            path.to_str().unwrap(),
            "-c",
            d.to_str().unwrap(),
            "--auto-approve",
            "--service",
            "none",
        ]);
        if !out.status.success() {
            return Err(format!("apply failed\n{}\n{spec}", support::describe(&out)));
        }
        let (m1, p1) = services_of(d);
        // The expected -M: the target's chroot field flipped, the new
        // service appended; every other line identical.
        let mut want_m: Vec<String> = Vec::new();
        for line in m0.lines() {
            let g: Vec<&str> = line.split_whitespace().collect();
            if format!("{}/{}", g[0], g[1]) == target {
                // Re-derive the line through postconf's own edit.
                let scratch2 = scratch(bytes);
                let e = support::run_postconf(
                    scratch2.path(),
                    ["-F", &format!("{target}/chroot={new_chroot}")],
                );
                assert!(e.status.success());
                let edited = services_of(scratch2.path()).0;
                let l = edited
                    .lines()
                    .find(|l| {
                        let h: Vec<&str> = l.split_whitespace().collect();
                        format!("{}/{}", h[0], h[1]) == target
                    })
                    .unwrap()
                    .to_string();
                want_m.push(strip_options(&l));
            } else {
                want_m.push(strip_options(line));
            }
        }
        want_m.push("127.0.0.1:10099 inet n - - - - smtpd".to_string());
        let got_m: Vec<String> = m1.lines().map(strip_options).collect();
        if got_m != want_m {
            return Err(format!(
                "postconf -M after the edit\n--- want ---\n{}\n--- got ---\n{}",
                want_m.join("\n"),
                got_m.join("\n")
            ));
        }
        let mut want_p: Vec<String> = p0
            .lines()
            .filter(|l| match &with_option {
                Some((svc, opt)) => l.split('=').next().unwrap().trim() != format!("{svc}/{opt}"),
                None => true,
            })
            .map(String::from)
            .collect();
        want_p.push("127.0.0.1:10099/inet/smtpd_banner = $myhostname test banner".into());
        want_p.push("127.0.0.1:10099/inet/syslog_name = postfix/test".into());
        want_p.sort();
        let mut got_p: Vec<String> = p1.lines().map(String::from).collect();
        got_p.sort();
        if got_p != want_p {
            return Err(format!(
                "postconf -P after the edit\n--- want ---\n{}\n--- got ---\n{}",
                want_p.join("\n"),
                got_p.join("\n")
            ));
        }
        no_changes(d, &path)
    });
}

/// A `postconf -M` line without its `-o` options (compared through -P),
/// words separated by one space.
fn strip_options(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<&str> = words.iter().take(8).copied().collect();
    let mut i = 8;
    while i < words.len() {
        if words[i] == "-o" && words.get(i + 1).is_some_and(|w| w.starts_with('{')) {
            // `-o {name=value with spaces}`
            i += 1;
            while i < words.len() && !words[i].ends_with('}') {
                i += 1;
            }
            i += 1;
        } else if words[i] == "-o" {
            i += 2;
        } else {
            out.push(words[i]);
            i += 1;
        }
    }
    out.join(" ")
}
