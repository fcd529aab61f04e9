//! End to end against a real Postfix daemon: the `postform` binary applies
//! specs to a throwaway Postfix instance (`support::HermeticPostfix`) and
//! the tests watch what the daemon does: which sockets the master listens
//! on, whether its pid changed (restart) or not (reload), what banner
//! smtpd answers with, and that a change Postfix refuses is rolled back.
//!
//! Every test starts its own instance, so they run in parallel. They need
//! root and the Debian `postfix` package; elsewhere they skip loudly, and
//! with `POSTFORM_REQUIRE_REAL=1` (CI) they fail instead.
//!
//! postform runs in its default service mode (`auto`): for a config dir
//! other than /etc/postfix that is `postfix -c DIR reload`, or
//! `postfix -c DIR stop` + `start` for a restart.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::{describe, stderr, stdout, wait_until, HermeticPostfix};

/// How long the daemon gets to settle after an apply.
const SETTLE: Duration = Duration::from_secs(20);

/// A spec file in its own temp dir (not in the config dir: postform must
/// not care where the spec lives).
struct SpecFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn spec_file(yaml: &str) -> SpecFile {
    let dir = tempfile::Builder::new()
        .prefix("postform-e2e-spec-")
        .tempdir()
        .expect("spec temp dir");
    let path = dir.path().join("spec.yaml");
    fs::write(&path, yaml).expect("write spec");
    SpecFile { _dir: dir, path }
}

/// `postform apply SPEC -c CONFIG_DIR --auto-approve EXTRA...`, with the
/// sbin directories on PATH and no colours.
fn apply(pf: &HermeticPostfix, spec: &Path, extra: &[&str]) -> Output {
    let path = format!(
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin{}",
        std::env::var("PATH")
            .map(|p| format!(":{p}"))
            .unwrap_or_default()
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_postform"));
    cmd.arg("apply")
        .arg(spec)
        .arg("-c")
        .arg(pf.config_dir())
        .arg("--auto-approve")
        .args(extra)
        .env("NO_COLOR", "1")
        .env("PATH", path)
        .env_remove("POSTFORM_POSTFIX")
        .env_remove("POSTFORM_POSTCONF");
    let out = support::run(&mut cmd);
    // Shown with --nocapture, or for a failing test.
    eprintln!("$ {cmd:?}\n{}", describe(&out));
    out
}

/// The "Service action: X (...)" line apply prints after writing.
fn service_line(out: &Output) -> Option<String> {
    stdout(out)
        .lines()
        .find(|l| l.starts_with("Service action: ") && l.contains(" ("))
        .map(str::to_string)
}

/// Panics with everything a human needs when `cond` is false.
#[track_caller]
fn check(cond: bool, what: &str, pf: &HermeticPostfix, out: &Output) {
    assert!(
        cond,
        "{what}\n{}\nlisteners: {:?}, master pid: {:?}\n--- main.cf ---\n{}",
        describe(out),
        pf.listeners(),
        pf.master_pid(),
        String::from_utf8_lossy(&pf.main_cf())
    );
}

/// The daemon must listen on both loopbacks at the start (inet_protocols =
/// all). Returns false (after a loud skip, or a failure under CI) when the
/// machine has no IPv6 loopback, since the test is then meaningless.
fn require_dual_stack(pf: &HermeticPostfix) -> bool {
    if !support::ipv6_loopback_available() {
        support::skip_or_fail(
            "this machine has no IPv6 loopback ([::1]); the IPv4/IPv6 listener test needs one",
        );
        return false;
    }
    let both = vec![pf.v4_listener(), pf.v6_listener()];
    assert!(
        wait_until(SETTLE, || pf.listeners() == both),
        "with inet_protocols = all the master must listen on 127.0.0.1 and [::1], got {:?}",
        pf.listeners()
    );
    true
}

/// 1. inet_protocols all -> ipv4 is a restart: new master pid, and only
///    the IPv4 socket afterwards (a reload would keep [::1]).
#[test]
fn inet_protocols_ipv4_restarts_and_drops_ipv6_listener() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    if !require_dual_stack(&pf) {
        return;
    }
    let pid_before = pf.master_pid().expect("master pid");
    let spec = spec_file("inet_protocols: ipv4\n");

    let out = apply(&pf, &spec.path, &[]);
    check(out.status.success(), "apply failed", &pf, &out);
    let text = stdout(&out);
    check(
        text.contains("~ inet_protocols")
            && text.contains("\"all\" -> \"ipv4\"")
            && text.contains("Plan: 0 to add, 1 to change, 0 to remove. Service action: restart."),
        "the plan must show inet_protocols all -> ipv4 needing a restart",
        &pf,
        &out,
    );
    let line = service_line(&out).unwrap_or_default();
    check(
        line.starts_with("Service action: restart (") && line.contains("Postfix is running"),
        "apply must say it restarted Postfix",
        &pf,
        &out,
    );
    let pid_after = pf.master_pid();
    check(
        pid_after.is_some() && pid_after != Some(pid_before),
        &format!("a restart changes the master pid (was {pid_before})"),
        &pf,
        &out,
    );
    let only_v4 = vec![pf.v4_listener()];
    check(
        wait_until(SETTLE, || pf.listeners() == only_v4),
        "after the restart only 127.0.0.1 may listen",
        &pf,
        &out,
    );
    check(
        pf.banner().starts_with("220 "),
        "smtpd answers on 127.0.0.1",
        &pf,
        &out,
    );
}

/// 2. Applying the same spec twice: the second run changes nothing, writes
///    nothing (same inode, same mtime) and neither reloads nor restarts.
#[test]
fn second_apply_is_no_change_and_touches_nothing() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let spec = spec_file("inet_protocols: ipv4\n");
    let first = apply(&pf, &spec.path, &[]);
    check(first.status.success(), "first apply failed", &pf, &first);
    check(
        service_line(&first)
            .unwrap_or_default()
            .starts_with("Service action: restart ("),
        "the first apply restarts",
        &pf,
        &first,
    );
    let bytes = pf.main_cf();
    // Backdate, so a rewrite within the same clock tick would still show.
    support::backdate(&pf.main_cf_path());
    let meta = fs::metadata(pf.main_cf_path()).unwrap();
    let pid = pf.master_pid().expect("master pid after the first apply");
    let log_len = pf.maillog().len();

    let second = apply(&pf, &spec.path, &[]);
    check(second.status.success(), "second apply failed", &pf, &second);
    check(
        stdout(&second).contains("No changes"),
        "the second apply must say \"No changes\"",
        &pf,
        &second,
    );
    check(
        service_line(&second).is_none() && !stdout(&second).contains("Wrote "),
        "a no-change apply writes nothing and runs no service action",
        &pf,
        &second,
    );
    let meta2 = fs::metadata(pf.main_cf_path()).unwrap();
    check(
        meta2.modified().unwrap() == meta.modified().unwrap()
            && meta2.ino() == meta.ino()
            && meta2.ctime() == meta.ctime()
            && meta2.ctime_nsec() == meta.ctime_nsec(),
        "main.cf must not be touched (mtime, ctime and inode unchanged)",
        &pf,
        &second,
    );
    assert_eq!(pf.main_cf(), bytes, "main.cf bytes changed");
    check(
        pf.master_pid() == Some(pid),
        &format!("master pid must stay {pid}"),
        &pf,
        &second,
    );
    let new_log = pf.maillog()[log_len..].to_string();
    check(
        !new_log.contains("reload") && !new_log.contains("stopping the Postfix"),
        &format!("no reload or stop may be logged, got:\n{new_log}"),
        &pf,
        &second,
    );
}

/// 3. A change to smtpd_banner only needs a reload: same master pid, and
///    new smtpd processes answer with the new banner.
#[test]
fn banner_change_reloads_and_new_banner_is_served() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let pid = pf.master_pid().expect("master pid");
    let old = pf.banner();
    assert!(old.contains("postform-test"), "initial banner: {old}");
    let spec = spec_file("smtpd_banner: $myhostname ESMTP postform-e2e-reloaded\n");

    let out = apply(&pf, &spec.path, &[]);
    check(out.status.success(), "apply failed", &pf, &out);
    check(
        stdout(&out).contains("Plan: 0 to add, 1 to change, 0 to remove. Service action: reload."),
        "the plan must need a reload",
        &pf,
        &out,
    );
    let line = service_line(&out).unwrap_or_default();
    check(
        line.starts_with("Service action: reload (") && line.contains("unchanged"),
        "apply must say it reloaded (master pid unchanged)",
        &pf,
        &out,
    );
    check(
        pf.master_pid() == Some(pid),
        &format!("a reload keeps the master pid {pid}"),
        &pf,
        &out,
    );
    let want = format!(
        "220 {}.postform.test ESMTP postform-e2e-reloaded",
        pf.instance_name()
    );
    let mut last = String::new();
    let served = wait_until(SETTLE, || {
        last = pf.banner();
        last == want
    });
    check(
        served,
        &format!("smtpd must answer {want:?} after the reload, last answer {last:?}"),
        &pf,
        &out,
    );
    check(
        pf.master_pid() == Some(pid),
        "still the same master",
        &pf,
        &out,
    );
}

/// 4. A change that makes Postfix refuse to start (an IPv6 address in
///    inet_interfaces under inet_protocols = ipv4; validation off so it gets
///    that far). Every postfix command is then fatal, `stop` included, so
///    the master keeps running the old configuration. postform must fail
///    with Postfix's own reason, put main.cf back byte for byte, and leave
///    Postfix running.
#[test]
fn restart_failure_restores_main_cf_and_keeps_postfix_running() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let before = pf.main_cf();
    let pid = pf.master_pid().expect("master pid");
    let spec = spec_file("inet_protocols: ipv4\ninet_interfaces: 127.0.0.1, [::1]\n");

    let out = apply(&pf, &spec.path, &["--no-validate"]);
    check(
        out.status.code() == Some(1),
        "apply must fail with exit code 1",
        &pf,
        &out,
    );
    check(
        pf.main_cf() == before,
        "main.cf must be restored byte-identical",
        &pf,
        &out,
    );
    let err = stderr(&out);
    check(
        err.contains("host not found: [::1]"),
        "stderr must carry Postfix's reason (\"host not found: [::1]\")",
        &pf,
        &out,
    );
    check(
        err.contains("main.cf was restored"),
        "stderr must say main.cf was restored",
        &pf,
        &out,
    );
    check(
        pf.is_running() && pf.master_pid().is_some(),
        "Postfix must be running after the rollback",
        &pf,
        &out,
    );
    check(
        pf.master_pid() == Some(pid),
        "the stop never happened, so the same master keeps running",
        &pf,
        &out,
    );
    check(
        pf.banner().starts_with("220 "),
        "and it still answers",
        &pf,
        &out,
    );
    check(
        !stdout(&out).contains("Wrote "),
        "apply must not claim success",
        &pf,
        &out,
    );
}

/// 5. A restart whose `stop` works but whose `start` fails (a
///    data_directory the master cannot lock): Postfix is down at that
///    point. postform restores main.cf, starts Postfix again on it, and
///    fails with the master's reason.
#[test]
fn failed_start_after_stop_is_rolled_back_and_postfix_started_again() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    // Exists, but owned by root: the master (running as postfix for its
    // lock file) cannot create data_directory/master.lock there.
    let bad = pf.base_dir().join("root-owned-data");
    fs::create_dir(&bad).unwrap();
    let before = pf.main_cf();
    let pid = pf.master_pid().expect("master pid");
    let spec = spec_file(&format!("data_directory: {}\n", bad.display()));

    let out = apply(&pf, &spec.path, &["--no-validate"]);
    check(
        out.status.code() == Some(1),
        "apply must fail with exit code 1",
        &pf,
        &out,
    );
    check(
        pf.main_cf() == before,
        "main.cf must be restored byte-identical",
        &pf,
        &out,
    );
    let err = stderr(&out);
    check(
        err.contains("Postfix restart failed")
            && err.contains("fatal:")
            && err.contains("main.cf was restored")
            && err.contains("Postfix was started again"),
        "stderr must give the master's fatal error and say Postfix was started again",
        &pf,
        &out,
    );
    check(
        wait_until(SETTLE, || pf.master_pid().is_some()) && pf.is_running(),
        "Postfix must be running again",
        &pf,
        &out,
    );
    check(
        pf.master_pid() != Some(pid),
        "it was stopped, so a new master runs",
        &pf,
        &out,
    );
    check(pf.banner().starts_with("220 "), "and it answers", &pf, &out);
}

/// 6. A reload after which the master runs but every smtpd it starts dies
///    (SASL through a Dovecot socket that does not exist): postform greets
///    the smtpd service, gets no greeting while the log says why, restores
///    main.cf, restarts Postfix (a reload would leave the service
///    throttled for a minute), and fails with Postfix's reason.
///    Afterwards the service greets again with the old configuration.
#[test]
fn smtpd_that_dies_after_a_reload_is_rolled_back() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let before = pf.main_cf();
    let pid = pf.master_pid().expect("master pid");
    let spec = spec_file(
        "smtpd_sasl_auth_enable: yes\nsmtpd_sasl_type: dovecot\nsmtpd_sasl_path: private/no-such-auth-socket\nsmtpd_tls_auth_only: no\nsmtpd_tls_security_level: none\n",
    );
    let out = apply(&pf, &spec.path, &["--no-validate"]);
    check(
        out.status.code() == Some(1),
        "apply must fail with exit code 1",
        &pf,
        &out,
    );
    let err = stderr(&out);
    check(
        err.contains("is unusable: no greeting: its processes exit"),
        "stderr must say the smtpd service is unusable",
        &pf,
        &out,
    );
    check(
        pf.main_cf() == before,
        "main.cf must be restored byte-identical",
        &pf,
        &out,
    );
    check(
        pf.master_pid().is_some_and(|p| p != pid),
        "the master was restarted to clear the throttled service",
        &pf,
        &out,
    );
    check(
        pf.banner().starts_with("220 "),
        "the service greets again after the rollback",
        &pf,
        &out,
    );
}
