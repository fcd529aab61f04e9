//! Regression tests for the findings of the adversarial review
//! (shared/reviews/adversarial-review.md), one per finding, each named
//! after it and reproducing the report's case with the real binary and,
//! where the finding involves it, the real Postfix tools.
//!
//! The race with the real `postconf -e` (H3) runs at least
//! `POSTFORM_RACE_ROUNDS` (default 200) postconf writes against postform
//! applies and checks that no write of either side is ever lost.

mod support;

use support::postform;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::stress::{self, file_state};

fn fresh() -> tempfile::TempDir {
    let root = support::repo_root().join("examples/postfix");
    let dir = tempfile::Builder::new()
        .prefix("postform-hard-")
        .tempdir()
        .unwrap();
    for f in ["main.cf", "master.cf"] {
        fs::copy(root.join(f), dir.path().join(f)).unwrap();
        support::backdate(&dir.path().join(f));
    }
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// H1: `plan -o FILE` never replaces main.cf, master.cf, the spec, a
/// device, a FIFO or a file that is not a plan; a plan file is 0600.
#[test]
fn h1_plan_o_writes_only_plan_files() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let spec = write(work.path(), "po.yaml", "biff: yes\n");
    let c = cfg.path().display().to_string();
    let s = spec.display().to_string();
    let main = cfg.path().join("main.cf");
    let before = file_state(&main);
    let node = work.path().join("fakenull");
    let fifo = work.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut targets = vec![
        main.clone(),
        cfg.path().join("master.cf"),
        spec.clone(),
        fifo.clone(),
    ];
    if support::is_root() {
        // A character device like /dev/null (never the real one).
        assert!(Command::new("mknod")
            .arg(&node)
            .args(["c", "1", "3"])
            .status()
            .unwrap()
            .success());
        targets.push(node.clone());
    }
    for target in &targets {
        let t = target.display().to_string();
        let out = postform(work.path(), &["plan", &s, "-c", &c, "-o", &t]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "-o {t}: {}",
            support::describe(&out)
        );
        assert!(
            support::stderr(&out).contains("refusing to write a plan there"),
            "{}",
            support::describe(&out)
        );
    }
    stress::assert_untouched(&main, &before, "plan -o main.cf");
    assert_eq!(fs::read_to_string(&spec).unwrap(), "biff: yes\n");
    assert!(fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo_like());
    if support::is_root() {
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::symlink_metadata(&node)
            .unwrap()
            .file_type()
            .is_char_device());
    }
    // A new plan file is private; replacing a plan file keeps it private.
    let plan = work.path().join("new.plan").display().to_string();
    for _ in 0..2 {
        let out = postform(work.path(), &["plan", &s, "-c", &c, "-o", &plan]);
        assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
        assert_eq!(file_state(Path::new(&plan)).mode, 0o600);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&plan, fs::Permissions::from_mode(0o644)).unwrap();
    }
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// H2: a symlink another user planted in a shared (sticky) directory is
/// never written through: the victim file stays as it was.
#[test]
fn h2_plan_o_never_follows_a_planted_symlink() {
    if !support::is_root() {
        support::skip_or_fail("root (to plant a symlink as another user)");
        return;
    }
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let shared = work.path().join("shared");
    fs::create_dir(&shared).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let victim = write(work.path(), "victim.conf", "root-only secret config\n");
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    let link = shared.join("plan.json");
    let planted = Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c"])
        .arg(format!("ln -s {} {}", victim.display(), link.display()))
        .status()
        .unwrap();
    assert!(planted.success(), "planting the symlink as nobody");
    let spec = write(work.path(), "po.yaml", "biff: yes\n");
    let out = postform(
        work.path(),
        &[
            "plan",
            &spec.display().to_string(),
            "-c",
            &cfg.path().display().to_string(),
            "-o",
            &link.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "root-only secret config\n"
    );
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// H3, deterministic (the report's repro): postconf -e edits main.cf while
/// postform checks its candidate (slowed down by a wrapper around
/// postconf); postconf's edit is never lost: either postform writes on
/// top of it or it refuses as stale.
#[test]
fn h3_a_concurrent_postconf_e_is_never_lost() {
    let Some(postconf) = support::postconf() else {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    };
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let slow = write(
        work.path(),
        "slowpostconf",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *-n*) sleep 3;; esac\nexec {} \"$@\"\n",
            postconf.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&slow, fs::Permissions::from_mode(0o755)).unwrap();
    let spec = write(work.path(), "lu.yaml", "inet_protocols: ipv4\n");
    let c = cfg.path().display().to_string();
    let child = Command::new(support::postform_bin())
        .args([
            "apply",
            &spec.display().to_string(),
            "-c",
            &c,
            "--auto-approve",
            "--service",
            "none",
        ])
        .env("POSTFORM_POSTCONF", &slow)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let edit = support::run(
        Command::new(&postconf)
            .args([
                "-c",
                &c,
                "-e",
                "smtpd_banner=$myhostname EDITED-BY-POSTCONF",
            ])
            .stdin(Stdio::null()),
    );
    assert!(edit.status.success(), "{}", support::describe(&edit));
    let out = child.wait_with_output().unwrap();
    let text = fs::read_to_string(cfg.path().join("main.cf")).unwrap();
    assert!(
        text.contains("smtpd_banner = $myhostname EDITED-BY-POSTCONF"),
        "postconf's edit was lost:\n{}\n{text}",
        support::describe(&out)
    );
    match out.status.code() {
        // Written on top of postconf's edit (postconf waited for the lock).
        Some(0) => assert!(
            text.contains("inet_protocols = ipv4"),
            "{}",
            support::describe(&out)
        ),
        // Or refused as stale (postconf finished first).
        Some(1) => assert!(
            support::stderr(&out).contains(stress::STALE_MESSAGE),
            "{}",
            support::describe(&out)
        ),
        _ => panic!("{}", support::describe(&out)),
    }
}

/// H3, the natural race with real binaries only: one thread runs
/// `postconf -e delay_warning_time=Nh` in a loop, another runs postform
/// applies that alternate smtpd_banner. After every write of either side
/// returns, that write is in main.cf until the same side writes again:
/// nothing is ever lost. At least 200 postconf writes per run.
#[test]
fn h3_postconf_e_races_postform_apply_and_neither_loses_a_write() {
    let Some(postconf) = support::postconf() else {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    };
    let rounds = stress::env_usize("POSTFORM_RACE_ROUNDS", 200);
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let main = cfg.path().join("main.cf");
    let specs: Vec<PathBuf> = (0..2)
        .map(|i| {
            write(
                work.path(),
                &format!("s{i}.yaml"),
                &format!("smtpd_banner: \"$myhostname ESMTP banner-{i}\"\n"),
            )
        })
        .collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let start = Instant::now();
    let (postconf_result, postform_result) = std::thread::scope(|s| {
        let pc = s.spawn(|| -> Result<usize, String> {
            for i in 0..rounds {
                let out = support::run(
                    Command::new(&postconf)
                        .args(["-c", &c, "-e", &format!("delay_warning_time={i}h")])
                        .stdin(Stdio::null()),
                );
                if !out.status.success() {
                    return Err(format!("postconf -e #{i}: {}", support::describe(&out)));
                }
                let want = format!("\ndelay_warning_time = {i}h\n");
                let text = fs::read_to_string(&main).unwrap();
                if !text.contains(&want) {
                    return Err(format!(
                        "postconf write #{i} was lost right after it returned"
                    ));
                }
            }
            Ok(rounds)
        });
        let pf = s.spawn(|| -> Result<(usize, usize), String> {
            let (mut applied, mut stale) = (0, 0);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let spec = &specs[i % 2];
                let out = support::run(
                    Command::new(support::postform_bin())
                        .args(["apply", &spec.display().to_string(), "-c", &c])
                        .args(["--auto-approve", "--service", "none", "--no-validate"])
                        .stdin(Stdio::null()),
                );
                match out.status.code() {
                    Some(0) => {
                        applied += 1;
                        let text = fs::read_to_string(&main).unwrap();
                        if !text.contains(&format!("ESMTP banner-{}\n", i % 2)) {
                            return Err(format!(
                                "postform apply #{i} was lost right after it returned"
                            ));
                        }
                    }
                    Some(1) if support::stderr(&out).contains(stress::STALE_MESSAGE) => stale += 1,
                    _ => return Err(format!("postform apply #{i}: {}", support::describe(&out))),
                }
                i += 1;
            }
            Ok((applied, stale))
        });
        let pc = pc.join().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (pc, pf.join().unwrap())
    });
    let written = postconf_result.unwrap_or_else(|e| panic!("{e}"));
    let (applied, stale) = postform_result.unwrap_or_else(|e| panic!("{e}"));
    let text = fs::read_to_string(&main).unwrap();
    assert!(text.contains(&format!("\ndelay_warning_time = {}h\n", rounds - 1)));
    assert!(applied > 0, "postform never applied");
    stress::note(&format!(
        "h3 race: {written} postconf -e writes, {applied} postform applies, {stale} refused as stale, {:?}",
        start.elapsed()
    ));
    assert!(
        stress::temp_files(cfg.path()).is_empty(),
        "{:?}",
        stress::temp_files(cfg.path())
    );
}

/// M3: a saved plan refuses another config directory given with -c.
#[test]
fn m3_a_saved_plan_refuses_another_config_dir() {
    let a = fresh();
    let b = fresh();
    let work = tempfile::tempdir().unwrap();
    let spec = write(work.path(), "ab.yaml", "inet_protocols: ipv4\n");
    let plan = work.path().join("ab.plan").display().to_string();
    let out = postform(
        work.path(),
        &[
            "plan",
            &spec.display().to_string(),
            "-c",
            &a.path().display().to_string(),
            "-o",
            &plan,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let (sa, sb) = (
        file_state(&a.path().join("main.cf")),
        file_state(&b.path().join("main.cf")),
    );
    let out = postform(
        work.path(),
        &[
            "apply",
            &plan,
            "-c",
            &b.path().display().to_string(),
            "--auto-approve",
            "--service",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(support::stderr(&out).contains("applies only to the config directory it was made for"));
    stress::assert_untouched(&a.path().join("main.cf"), &sa, "m3 plan dir");
    stress::assert_untouched(&b.path().join("main.cf"), &sb, "m3 other dir");
}

/// H6: the summary shown and the bytes written both come from the plan
/// computed at apply time; a plan file whose recorded inputs or outputs
/// were edited is refused, and its recorded commands are never run.
#[test]
fn h6_a_tampered_plan_file_is_refused() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let spec = write(
        work.path(),
        "sp.yaml",
        "smtpd_banner: \"$myhostname ESMTP\"\n",
    );
    let plan = work.path().join("sp.plan");
    let c = cfg.path().display().to_string();
    let out = postform(
        work.path(),
        &[
            "plan",
            &spec.display().to_string(),
            "-c",
            &c,
            "-o",
            &plan.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let original: serde_json::Value = serde_json::from_slice(&fs::read(&plan).unwrap()).unwrap();
    let pwned = work.path().join("pwned");
    let evil = write(work.path(), "evil.yaml", "mynetworks: 0.0.0.0/0\n");
    type Tamper<'a> = Box<dyn Fn(&mut serde_json::Value) + 'a>;
    // What was changed, how, and what the refusal must say.
    let tamperings: Vec<(&str, Tamper, String)> = vec![
        (
            "service commands added",
            Box::new(|v| {
                v["service_mode"] = serde_json::json!({"command": {"reload": ["/bin/sh", "-c", format!("id > {}", pwned.display())], "restart": []}});
            }),
            "not a postform plan file (unknown field `service_mode`".into(),
        ),
        (
            "spec swapped",
            Box::new(|v| {
                v["spec"] = serde_json::json!(evil.display().to_string());
            }),
            "is not made of the spec files it records".into(),
        ),
        (
            "planned bytes edited",
            Box::new(|v| {
                v["planned"][0]["sha256"] = serde_json::json!("0".repeat(64));
            }),
            "applying it now would not write what the plan recorded".into(),
        ),
        (
            "older format",
            Box::new(|v| {
                v["format_version"] = serde_json::json!(1);
            }),
            format!(
                "(plan format 1); this is postform {} (plan format 2): run `postform plan` again",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        (
            "another postform version",
            Box::new(|v| {
                v["postform_version"] = serde_json::json!("0.0.1");
            }),
            format!(
                "made by postform 0.0.1 (plan format 2); this is postform {}",
                env!("CARGO_PKG_VERSION")
            ),
        ),
    ];
    let main = cfg.path().join("main.cf");
    let before = file_state(&main);
    for (what, tamper, says) in &tamperings {
        let mut v = original.clone();
        tamper(&mut v);
        fs::write(&plan, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let out = postform(
            work.path(),
            &["apply", &plan.display().to_string(), "--auto-approve"],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}",
            support::describe(&out)
        );
        assert!(
            support::stderr(&out).contains(says.as_str()),
            "{what}: the refusal must say {says:?}\n{}",
            support::describe(&out)
        );
        stress::assert_untouched(&main, &before, what);
        assert!(!pwned.exists(), "{what}: a recorded command ran");
    }
}

/// M5: a spec's own service commands are shown by plan (text and JSON)
/// before anything runs them.
#[test]
fn m5_spec_service_commands_are_shown_by_plan() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let spec = write(
        work.path(),
        "sc.yaml",
        "service:\n  reload: [/bin/sh, -c, \"echo spec-cmd-ran > /tmp/pwned2\"]\nmain:\n  smtpd_banner: \"$myhostname ESMTP\"\n",
    );
    let c = cfg.path().display().to_string();
    let s = spec.display().to_string();
    let out = postform(work.path(), &["plan", &s, "-c", &c]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("reload: /bin/sh -c 'echo spec-cmd-ran > /tmp/pwned2'"),
        "{}",
        support::describe(&out)
    );
    let out = postform(work.path(), &["plan", &s, "-c", &c, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["service_commands"]["reload"][0],
        "/bin/sh",
        "{}",
        support::describe(&out)
    );
}

/// M8: a held directory lock and a hung service command end with a
/// message that names what is stuck, instead of hanging forever.
#[test]
fn m8_a_held_lock_and_a_hung_reload_time_out() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let spec = write(work.path(), "tf.yaml", "inet_protocols: ipv4\n");
    let mut holder = Command::new("flock")
        .arg(cfg.path())
        .args(["sleep", "20"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let out = support::run(
        Command::new(support::postform_bin())
            .args([
                "apply",
                &spec.display().to_string(),
                "-c",
                &c,
                "--auto-approve",
                "--service",
                "none",
            ])
            .env("POSTFORM_LOCK_TIMEOUT", "2")
            .stdin(Stdio::null()),
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(started.elapsed() < Duration::from_secs(15));
    let err = support::stderr(&out);
    assert!(err.contains("still locked after 2 s by pid"), "{err}");
    // A reload that hangs: a custom service command that sleeps.
    let hang = write(
        work.path(),
        "hang.yaml",
        "service:\n  reload: [sleep, \"60\"]\nmain:\n  biff: \"yes\"\n",
    );
    let fake = write(work.path(), "fakepostfix", "#!/bin/sh\nexit 0\n");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = support::run(
        Command::new(support::postform_bin())
            .args([
                "apply",
                &hang.display().to_string(),
                "-c",
                &c,
                "--auto-approve",
            ])
            .env("POSTFORM_POSTFIX", &fake)
            .env("POSTFORM_COMMAND_TIMEOUT", "2")
            .stdin(Stdio::null()),
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("did not finish within 2 s"),
        "{}",
        support::describe(&out)
    );
    // The next apply is not blocked by the hung one.
    let out = postform(
        work.path(),
        &["plan", &spec.display().to_string(), "-c", &c],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
}

/// Apply `spec` (text) to a fresh copy of Debian's config with the
/// service left alone: (output, main.cf before, main.cf after).
fn apply_spec(spec: &str) -> (Output, Vec<u8>, Vec<u8>) {
    let cfg = fresh();
    let before = fs::read(cfg.path().join("main.cf")).unwrap();
    let out = apply_in(cfg.path(), spec);
    let after = fs::read(cfg.path().join("main.cf")).unwrap();
    (out, before, after)
}

/// `postform apply SPEC -c CFG --auto-approve --service none`, the spec
/// written to a scratch file.
fn apply_in(cfg: &Path, spec: &str) -> Output {
    let work = tempfile::tempdir().unwrap();
    let s = write(work.path(), "spec.yaml", spec);
    postform(
        work.path(),
        &[
            "apply",
            &s.display().to_string(),
            "-c",
            &cfg.display().to_string(),
            "--auto-approve",
            "--service",
            "none",
        ],
    )
}

/// H4: a change that makes every smtpd exit at start (no working relay
/// restriction) is refused, with Postfix's words, and nothing is written.
/// The real smtpd's verdict on these cases is tests/relay_differential.rs.
#[test]
fn h4_a_change_that_kills_every_smtpd_is_refused() {
    for spec in [
        "smtpd_relay_restrictions: permit\n",
        "smtpd_relay_restrictions: [permit_mynetworks, permit]\n",
        "smtpd_relay_restrictions: \"\"\nsmtpd_recipient_restrictions: \"\"\n",
    ] {
        let (out, before, after) = apply_spec(spec);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{spec}\n{}",
            support::describe(&out)
        );
        let err = support::stderr(&out);
        assert!(
            err.contains("refused by policy smtpd_startup"),
            "{spec}\n{err}"
        );
        assert!(
            err.contains("specify at least one working instance"),
            "{spec}\n{err}"
        );
        assert_eq!(before, after, "{spec}: main.cf changed");
    }
}

/// H5: `purge: true` that drops compatibility_level is refused (the
/// defaults would change under the user: empty relay restrictions, a
/// subnet-wide mynetworks), and nothing is written.
#[test]
fn h5_purge_that_drops_compatibility_level_is_refused() {
    let (out, before, after) = apply_spec("main:\n  inet_protocols: ipv4\npurge: true\n");
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains(
            "refused by policy compat_downgrade: compatibility_level (main.cf:22): lowered from 3.6 to 0"
        ),
        "{err}"
    );
    assert_eq!(before, after, "main.cf changed");
    // Keeping the level (and allowing the TLS defaults) applies.
    let (out, before, after) = apply_spec(
        "main:\n  inet_protocols: ipv4\n  compatibility_level: '3.6'\n  smtpd_relay_restrictions: [permit_mynetworks, reject_unauth_destination]\nallow: [tls_downgrade]\npurge: true\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert_ne!(before, after);
}

/// M1: open relays and plaintext passwords are refused (each case of the
/// report), and allowed only when the spec lists the policy. The report's
/// `mynetworks: "0/0"` is not an open relay for the real smtpd (it
/// answers 451 to everyone: "bad network value"), so it is refused as a
/// bad value (tests/relay_differential.rs has the daemon's verdict).
#[test]
fn m1_open_relay_and_plaintext_auth_are_refused() {
    for (spec, id) in [
        ("mynetworks: 0.0.0.0/0\n", "open_relay"),
        ("mynetworks: \"0.0.0.0/0 [::]/0\"\n", "open_relay"),
        (
            "smtpd_relay_restrictions: \"check_client_access static:OK, reject\"\n",
            "open_relay",
        ),
        (
            "smtpd_sasl_auth_enable: yes\nsmtpd_tls_security_level: none\nsmtpd_tls_auth_only: no\n",
            "plaintext_auth",
        ),
    ] {
        let (out, before, after) = apply_spec(spec);
        assert_eq!(out.status.code(), Some(1), "{spec}\n{}", support::describe(&out));
        let err = support::stderr(&out);
        assert!(err.contains(&format!("refused by policy {id}")), "{spec}\n{err}");
        assert_eq!(before, after, "{spec}: main.cf changed");
        // The short form cannot hold allow:; write the full form.
        let full = format!(
            "main:\n{}allow: [{id}, tls_downgrade]\n",
            spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
        );
        let (out, before, after) = apply_spec(&full);
        assert_eq!(out.status.code(), Some(0), "{full}\n{}", support::describe(&out));
        assert!(
            support::stderr(&out).contains(&format!("allowed by the spec: policy {id}")),
            "{}",
            support::describe(&out)
        );
        assert_ne!(before, after);
    }
}

/// M9: import of brace groups with commas (per-milter and per-policy
/// settings) gives a spec that plans to "No changes".
#[test]
fn m9_import_of_brace_groups_plans_to_no_changes() {
    if support::postconf().is_none() {
        return;
    }
    let cfg = fresh();
    let mut main = fs::read_to_string(cfg.path().join("main.cf")).unwrap();
    main.push_str("smtpd_milters = { inet:localhost:8891, default_action=accept }, inet:localhost:8892\nsmtpd_recipient_restrictions = permit_mynetworks,\n    check_policy_service { inet:127.0.0.1:10023, timeout=10s },\n    reject_unauth_destination\n");
    fs::write(cfg.path().join("main.cf"), main).unwrap();
    support::backdate(&cfg.path().join("main.cf"));
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let spec = work.path().join("im2.yaml").display().to_string();
    let out = postform(work.path(), &["import", "-c", &c, "-o", &spec]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let out = postform(
        work.path(),
        &["plan", &spec, "-c", &c, "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(support::stdout(&out).starts_with("No changes."));
}

/// M10: validate and plan find what the real Postfix refuses: a macro
/// loop, stray braces, brace groups split into items.
#[test]
fn m10_validate_and_plan_find_what_postfix_refuses() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    for (spec, expected) in [
        (
            "smtpd_banner: \"$undefined_thing ESMTP\"\nmyhostname: \"$myhostname\"\n",
            "myhostname: unreasonable macro call nesting",
        ),
        (
            "mynetworks: \"10.0.0.0/8 }\"\n",
            "has a '}' that closes no '{'",
        ),
        (
            "smtpd_milters: [\"{\", \"inet:localhost:8891\", \"}\"]\n",
            "list item \"{\" has unbalanced { } braces",
        ),
    ] {
        let s = write(work.path(), "m10.yaml", spec).display().to_string();
        let out = postform(work.path(), &["validate", &s]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{spec}\n{}",
            support::describe(&out)
        );
        assert!(
            support::stderr(&out).contains(expected),
            "{spec}\n{}",
            support::describe(&out)
        );
        let out = postform(work.path(), &["plan", &s, "-c", &c, "--detailed-exitcode"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{spec}\n{}",
            support::describe(&out)
        );
        assert!(
            support::stderr(&out).contains(expected),
            "{spec}\n{}",
            support::describe(&out)
        );
    }
    // An undefined name alone is a warning (Postfix expands it to nothing).
    let s = write(
        work.path(),
        "und.yaml",
        "smtpd_banner: \"$undefined_thing ESMTP\"\n",
    )
    .display()
    .to_string();
    let out = postform(work.path(), &["plan", &s, "-c", &c]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("$undefined_thing has no value"),
        "{}",
        support::describe(&out)
    );
}

/// M4: credentials written inline (an `inline:`/`static:` table in a
/// `*_password_maps` value, in main.cf or a master.cf -o) never appear in
/// any output: plan text and JSON, apply, show, show --json, import, the
/// saved plan; a warning says main.cf is world-readable.
#[test]
fn m4_inline_credentials_are_never_printed() {
    const SECRET: &str = "S3cr3tPassw0rd";
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let spec = write(
        work.path(),
        "sec.yaml",
        &format!(
            "main:\n  smtp_sasl_auth_enable: yes\n  smtp_sasl_password_maps: \"inline:{{ [smtp.example.com]:587=alice:{SECRET}! }}\"\n  relayhost: \"[smtp.example.com]:587\"\nmaster:\n  relay/unix:\n    options:\n      smtp_sasl_password_maps: \"static:bob:{SECRET}2\"\n"
        ),
    )
    .display()
    .to_string();
    let plan_file = work.path().join("sec.plan").display().to_string();
    let mut seen = Vec::new();
    let mut run = |args: &[&str]| {
        let out = postform(work.path(), args);
        seen.push((args.join(" "), out.clone()));
        out
    };
    let out = run(&["plan", &spec, "-c", &c]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("inline:{ ******** }"),
        "{}",
        support::describe(&out)
    );
    assert!(
        support::stderr(&out)
            .contains("holds credentials inline in main.cf, which others can read (mode 0644)"),
        "{}",
        support::describe(&out)
    );
    run(&["plan", &spec, "-c", &c, "--json"]);
    run(&["plan", &spec, "-c", &c, "-o", &plan_file]);
    let out = run(&[
        "apply",
        &plan_file,
        "-c",
        &c,
        "--auto-approve",
        "--service",
        "none",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    // Written for real.
    let main = fs::read_to_string(cfg.path().join("main.cf")).unwrap();
    assert!(main.contains(SECRET));
    run(&["show", "-c", &c]);
    run(&["show", "-c", &c, "--json"]);
    let out = run(&["import", "-c", &c]);
    assert!(
        support::stderr(&out)
            .contains("smtp_sasl_password_maps: holds credentials inline; left out"),
        "{}",
        support::describe(&out)
    );
    run(&["plan", &spec, "-c", &c]);
    for (cmd, out) in &seen {
        for (channel, text) in [
            ("stdout", support::stdout(out)),
            ("stderr", support::stderr(out)),
        ] {
            assert!(
                !text.contains(SECRET),
                "postform {cmd}: the secret is in {channel}:\n{text}"
            );
        }
    }
    let saved = fs::read_to_string(&plan_file).unwrap();
    assert!(
        !saved.contains(SECRET),
        "the saved plan holds the secret:\n{saved}"
    );
    // With --include-secrets import writes it (a spec that restores).
    let out = postform(work.path(), &["import", "-c", &c, "--include-secrets"]);
    assert!(
        support::stdout(&out).contains(SECRET),
        "{}",
        support::describe(&out)
    );
}

/// M5 (pull mode): a repository's spec that brings its own service
/// commands is refused by `apply --repo` unless --allow-spec-commands;
/// `validate` shows the commands.
#[test]
fn m5_pull_mode_refuses_spec_commands_unless_allowed() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    fs::create_dir_all(repo.join("hosts")).unwrap();
    let marker = work.path().join("spec-cmd-ran");
    let host = write(
        &repo.join("hosts"),
        "mail1.yaml",
        &format!(
            "service:\n  reload: [/bin/sh, -c, \"echo ran > {}\"]\nmain:\n  smtpd_banner: \"$myhostname ESMTP\"\n",
            marker.display()
        ),
    );
    let c = cfg.path().display().to_string();
    let r = repo.display().to_string();
    let before = fs::read(cfg.path().join("main.cf")).unwrap();
    let out = postform(
        work.path(),
        &[
            "apply",
            "--repo",
            &r,
            "--host",
            "mail1",
            "-c",
            &c,
            "--auto-approve",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("the spec brings its own service commands"),
        "{err}"
    );
    assert!(err.contains("reload: /bin/sh -c 'echo ran >"), "{err}");
    assert!(err.contains("--allow-spec-commands"), "{err}");
    assert_eq!(fs::read(cfg.path().join("main.cf")).unwrap(), before);
    assert!(!marker.exists());
    let out = postform(work.path(), &["validate", &host.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(
        support::stdout(&out)
            .contains("service commands (run as root, without a shell):\n  reload: /bin/sh -c"),
        "{}",
        support::describe(&out)
    );
    let out = postform(
        work.path(),
        &[
            "apply",
            "--repo",
            &r,
            "--host",
            "mail1",
            "-c",
            &c,
            "--auto-approve",
            "--allow-spec-commands",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    // Applied (the commands themselves run only for a running Postfix,
    // which this scratch directory has not).
    assert_ne!(fs::read(cfg.path().join("main.cf")).unwrap(), before);
}

/// M6: an installation path this host lacks is refused before anything
/// is written (the scratch `postfix check` uses substitute directories),
/// and checking a candidate never runs a program the spec's
/// daemon_directory names.
#[test]
fn m6_installation_paths_are_checked_on_this_host() {
    if support::postconf().is_none() {
        return;
    }
    for (spec, expected) in [
        (
            "queue_directory: /nonexistent/spool\n",
            "queue_directory = /nonexistent/spool: no such directory on this host",
        ),
        (
            "data_directory: /nonexistent/data\n",
            "data_directory = /nonexistent/data: no such directory on this host",
        ),
        (
            "sendmail_path: /nonexistent/sendmail\n",
            "sendmail_path = /nonexistent/sendmail: no such file on this host",
        ),
    ] {
        let (out, before, after) = apply_spec(spec);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{spec}\n{}",
            support::describe(&out)
        );
        assert!(
            support::stderr(&out).contains(expected),
            "{spec}\n{}",
            support::describe(&out)
        );
        assert_eq!(before, after, "{spec}: main.cf changed");
    }
    // A daemon_directory holding a planted postfix-script: refused as not
    // a Postfix daemon directory (no master), and the script never runs.
    let evil = tempfile::tempdir().unwrap();
    let ran = evil.path().join("ran");
    let script = evil.path().join("postfix-script");
    fs::write(
        &script,
        format!("#!/bin/sh\necho ran > {}\n", ran.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let (out, before, after) =
        apply_spec(&format!("daemon_directory: {}\n", evil.path().display()));
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("it has no master: not a Postfix daemon directory"),
        "{}",
        support::describe(&out)
    );
    assert_eq!(before, after);
    assert!(
        !ran.exists(),
        "the candidate check ran the spec's postfix-script"
    );
    // With a `master` beside it the directory passes for a daemon
    // directory; as root the candidate check runs `postfix check`, which
    // must run the live postfix-script, not the planted one.
    fs::write(
        evil.path().join("master"),
        "#!/bin/sh
exit 0
",
    )
    .unwrap();
    fs::set_permissions(
        evil.path().join("master"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (out, _, _) = apply_spec(&format!(
        "daemon_directory: {}
",
        evil.path().display()
    ));
    assert!(
        !ran.exists(),
        "the candidate check ran the spec's postfix-script
{}",
        support::describe(&out)
    );
}

/// The service action follows the values Postfix will read: with
/// `inet_protocols = $proto`, changing `proto` changes inet_protocols,
/// which needs a restart (a reload would silently not apply it).
#[test]
fn service_action_follows_expanded_values() {
    let cfg = fresh();
    let main = fs::read_to_string(cfg.path().join("main.cf")).unwrap();
    fs::write(
        cfg.path().join("main.cf"),
        main.replace(
            "inet_protocols = all",
            "inet_protocols = $proto\nproto = all",
        ),
    )
    .unwrap();
    support::backdate(&cfg.path().join("main.cf"));
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let s = write(work.path(), "p.yaml", "proto: ipv4\n")
        .display()
        .to_string();
    let out = postform(work.path(), &["plan", &s, "-c", &c, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["service_action"], "restart", "{v:#}");
    let out = postform(work.path(), &["plan", &s, "-c", &c]);
    assert!(
        support::stderr(&out).contains(
            "inet_protocols changes from \"all\" to \"ipv4\" through the values it refers to"
        ),
        "{}",
        support::describe(&out)
    );
    // A change that reaches no such parameter stays a reload.
    let s = write(work.path(), "h.yaml", "myhostname: mail2.example.com\n")
        .display()
        .to_string();
    let out = postform(work.path(), &["plan", &s, "-c", &c, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["service_action"], "reload", "{v:#}");
}

/// L8: a bind-mounted main.cf (a container's ConfigMap) cannot be
/// replaced by rename: the error says why and what to do, and the file is
/// intact. Runs in a private mount namespace (`unshare -m`, root).
#[test]
fn l8_a_bind_mounted_main_cf_is_explained() {
    if !support::is_root() || support::find_program("unshare").is_none() {
        support::skip_or_fail("L8 needs root and unshare(1) for a private bind mount");
        return;
    }
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("configmap-main.cf");
    fs::copy(cfg.path().join("main.cf"), &source).unwrap();
    let spec = write(work.path(), "b.yaml", "biff: yes\n");
    let main = cfg.path().join("main.cf");
    let script = format!(
        "mount --bind {src} {main} && exec {bin} apply {spec} -c {dir} --auto-approve --service none",
        src = source.display(),
        main = main.display(),
        bin = support::postform_bin().display(),
        spec = spec.display(),
        dir = cfg.path().display(),
    );
    let out = support::run(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null()),
    );
    if support::stderr(&out).contains("unshare failed") {
        support::skip_or_fail("unshare -m is not permitted here");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("the file is a mount point (a bind mount"),
        "{}",
        support::describe(&out)
    );
    assert_eq!(
        fs::read(&source).unwrap(),
        fs::read(cfg.path().join("main.cf")).unwrap()
    );
    assert!(!fs::read_to_string(&source).unwrap().contains("biff = yes"));
}

/// L4: terminal control characters never reach the terminal raw (a diff
/// of a value with ESC shows `\u{1b}`), and a look-alike name is shown
/// with its code point.
#[test]
fn l4_control_characters_and_look_alikes_are_shown() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let c = cfg.path().display().to_string();
    let s = write(work.path(), "e.yaml", "smtpd_banner: \"ok\\e[1A\\e[2K\"\n")
        .display()
        .to_string();
    let out = postform(work.path(), &["plan", &s, "-c", &c, "--no-validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let text = support::stdout(&out);
    assert!(!text.contains('\u{1b}'), "raw ESC in the plan:\n{text:?}");
    assert!(text.contains("+smtpd_banner = ok\\u{1b}[1A"), "{text}");
    let s = write(work.path(), "c.yaml", "b\u{456}ff: no\n")
        .display()
        .to_string();
    let out = postform(work.path(), &["validate", &s]);
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("the name contains U+0456"),
        "{}",
        support::describe(&out)
    );
}

/// L6: a POSIX ACL and an extended attribute on main.cf and master.cf
/// survive an apply that rewrites both (a rename would drop them, and
/// with the ACL the read access it granted). Hard links are still broken
/// by the rename, as by postconf -e (docs: README Safety).
#[test]
fn l6_acls_and_xattrs_survive_an_apply() {
    let cfg = fresh();
    let main = cfg.path().join("main.cf");
    let master = cfg.path().join("master.cf");
    // user:nobody:r-- beside the mode's own entries (acl_ea format 2).
    let entry = |tag: u16, perm: u16, id: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&perm.to_le_bytes());
        e.extend_from_slice(&id.to_le_bytes());
        e
    };
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01, 6, u32::MAX),
        (0x02, 4, 65534),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        acl.extend(entry(tag, perm, id));
    }
    for f in [&main, &master] {
        if let Err(e) = xattr::set(f, "user.note", b"managed by postform") {
            support::skip_or_fail(&format!(
                "extended attributes on {} ({e})",
                cfg.path().display()
            ));
            return;
        }
        xattr::set(f, "system.posix_acl_access", &acl).expect("set a POSIX ACL");
    }
    let out = apply_in(
        cfg.path(),
        "main:\n  smtpd_banner: $myhostname ESMTP l6\nmaster:\n  submission/inet:\n    private: n\n    command: smtpd\n    options: {syslog_name: postfix/submission, smtpd_tls_security_level: encrypt, smtpd_sasl_auth_enable: yes}\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let after = fs::read_to_string(&main).unwrap();
    assert!(after.contains("ESMTP l6"), "{after}");
    assert!(fs::read_to_string(&master)
        .unwrap()
        .contains("submission inet"));
    for f in [&main, &master] {
        assert_eq!(
            xattr::get(f, "user.note").unwrap().as_deref(),
            Some(&b"managed by postform"[..]),
            "{}: user.note",
            f.display()
        );
        assert_eq!(
            xattr::get(f, "system.posix_acl_access").unwrap(),
            Some(acl.clone()),
            "{}: the ACL",
            f.display()
        );
    }
}

/// L13: applying a saved plan a second time says it was already applied
/// (not "changed since the plan"), writes nothing and exits 1.
#[test]
fn l13_a_saved_plan_applied_twice_says_already_applied() {
    let cfg = fresh();
    let work = tempfile::tempdir().unwrap();
    let spec = write(
        work.path(),
        "l13.yaml",
        "smtpd_banner: $myhostname ESMTP l13\n",
    );
    let plan = work.path().join("l13.plan");
    let c = cfg.path().display().to_string();
    let p = plan.display().to_string();
    let out = postform(
        work.path(),
        &["plan", &spec.display().to_string(), "-c", &c, "-o", &p],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let apply = || {
        postform(
            work.path(),
            &["apply", &p, "--auto-approve", "--service", "none"],
        )
    };
    let out = apply();
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let main = cfg.path().join("main.cf");
    let before = file_state(&main);
    let out = apply();
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out)
            .contains("l13.plan: already applied: the files hold what this plan writes"),
        "{}",
        support::describe(&out)
    );
    stress::assert_untouched(&main, &before, "second apply");
}
