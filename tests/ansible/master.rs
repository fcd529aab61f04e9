//! `postform.postfix.master_cf` with real ansible-playbook: check and diff
//! mode on a scratch copy of `examples/postfix`, then a real hermetic
//! Postfix daemon where the role's handler must really reload (the master
//! keeps its pid and the new service answers on its port), a re-run must
//! change nothing, and `state: absent` must close the port again.

use super::*;
use std::time::Duration;
use support::HermeticPostfix;

/// The role's handler, as the JSON callback names it.
pub(super) const ROLE_HANDLER: &str =
    "postform.postfix.service : Reload or restart Postfix as the pending changes need";

fn master_playbook() -> PathBuf {
    support::repo_root().join("tests/ansible/master_cf.yml")
}

/// Bytes and mtime of `dir/name`.
pub(super) fn file_state(dir: &Path, name: &str) -> (Vec<u8>, SystemTime) {
    let p = dir.join(name);
    (
        fs::read(&p).unwrap(),
        fs::metadata(&p).unwrap().modified().unwrap(),
    )
}

/// The submission service as a task states it.
fn submission() -> Value {
    json!({
        "service": "submission/inet",
        "private": "n",
        "chroot": "n",
        "command": "smtpd",
        "options": {
            "syslog_name": "postfix/submission",
            "smtpd_tls_security_level": "encrypt",
        },
    })
}

/// --check --diff: the master.cf diff, `service_action: reload`, the
/// handler only says what it would run, and neither file is touched.
#[test]
fn check_mode_with_diff_shows_the_master_cf_diff_and_writes_nothing() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let master_before = file_state(dir.path(), "master.cf");
    let main_before = file_state(dir.path(), "main.cf");
    let vars = json!({"config_dir": dir.path(), "opts": submission()});

    let (out, report) = c.run_playbook_json(
        &master_playbook(),
        "localhost,",
        vars.clone(),
        &["--check", "--diff"],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.result("localhost", "converge master.cf");
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("reload"), "{ctx}");
    assert_eq!(r["service_ran"], json!("none"), "{ctx}");
    let master = dir.path().join("master.cf");
    assert_eq!(r["master_cf"], json!(master), "{ctx}");
    assert_eq!(r["changes"][0]["resource"], json!("service"), "{ctx}");
    assert_eq!(
        r["changes"][0]["service"],
        json!("submission/inet"),
        "{ctx}"
    );
    assert_eq!(r["changes"][0]["kind"], json!("add"), "{ctx}");
    assert_eq!(r["changes"][0]["action"], json!("reload"), "{ctx}");
    let after = r["diff"]["after"].as_str().unwrap_or_default();
    assert!(
        after.contains("\nsubmission inet  n       -       n       -       -       smtpd\n"),
        "{ctx}"
    );
    assert!(
        after.contains(
            "\n    -o syslog_name=postfix/submission\n    -o smtpd_tls_security_level=encrypt\n"
        ),
        "{ctx}"
    );
    assert_eq!(r["diff"]["before_header"], json!(master), "{ctx}");
    assert_eq!(
        report.result("localhost", "pending before the handlers")["msg"],
        json!({dir.path().to_str().unwrap(): "reload"}),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(
        h["actions"][0]["message"],
        json!(format!(
            "check mode: would reload Postfix for {}",
            dir.path().display()
        )),
        "{ctx}"
    );
    assert_eq!(file_state(dir.path(), "master.cf"), master_before, "{ctx}");
    assert_eq!(file_state(dir.path(), "main.cf"), main_before, "{ctx}");

    // What a user sees: the default callback renders the unified diff.
    let mut cmd = c.playbook_command(
        &master_playbook(),
        "localhost,",
        vars,
        &["--check", "--diff"],
        "default",
    );
    let out = c.run(&mut cmd);
    let text = support::stdout(&out);
    assert!(out.status.success(), "{}", support::describe(&out));
    for needle in [
        "+submission inet  n       -       n       -       -       smtpd",
        "+    -o syslog_name=postfix/submission",
        "/master.cf",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing\n{}",
            support::describe(&out)
        );
    }
    assert_eq!(file_state(dir.path(), "master.cf"), master_before);
    assert_eq!(file_state(dir.path(), "main.cf"), main_before);
}

/// Against a running Postfix: adding `127.0.0.1:PORT/inet` is a reload
/// that the role's handler runs (same master pid) after which the port
/// answers with the service's own banner; a re-run changes nothing and
/// runs no handler; `state: absent` (named by name and type) removes it
/// with another reload and the port closes.
#[test]
fn apply_adds_a_service_the_handler_reloads_rerun_is_a_no_op_absent_removes() {
    let Some(c) = collection() else { return };
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let dir = pf.config_dir();
    let port = support::pick_port();
    let service = format!("127.0.0.1:{port}/inet");
    let add = json!({
        "config_dir": dir,
        "opts": {
            "service": service,
            "command": "smtpd",
            "options": {"smtpd_banner": "$myhostname ESMTP added-by-master_cf"},
        },
    });
    let pid = pf.master_pid().expect("hermetic Postfix runs");
    let main_before = pf.main_cf();

    let (out, report) = c.run_playbook_json(&master_playbook(), "localhost,", add.clone(), &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.result("localhost", "converge master.cf");
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("reload"), "{ctx}");
    assert_eq!(
        report.result("localhost", "pending before the handlers")["msg"],
        json!({dir.to_str().unwrap(): "reload"}),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["actions"][0]["ran"], json!("reload"), "{ctx}");
    assert_eq!(
        report.result("localhost", "pending after the handlers")["msg"],
        json!({}),
        "{ctx}"
    );
    assert_eq!(
        pf.master_pid(),
        Some(pid),
        "a reload keeps the master\n{ctx}"
    );
    assert_eq!(
        pf.main_cf(),
        main_before,
        "main.cf is not master_cf's\n{ctx}"
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let want = format!(
        "{}.postform.test ESMTP added-by-master_cf",
        pf.instance_name()
    );
    let mut last = String::new();
    let answered = support::wait_until(Duration::from_secs(15), || {
        last = pf.try_banner(addr).unwrap_or_else(|e| e.to_string());
        last.ends_with(&want)
    });
    assert!(
        answered,
        "the new service does not answer with its banner on {addr} (last: {last})\n{}\n{ctx}",
        pf.maillog()
    );
    let master_after = file_state(&dir, "master.cf");

    // Converged: nothing changes, nothing is written, no handler runs.
    let (out, report) = c.run_playbook_json(&master_playbook(), "localhost,", add, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.result("localhost", "converge master.cf");
    assert_eq!(r["changed"], json!(false), "{ctx}");
    assert_eq!(r["service_action"], json!("none"), "{ctx}");
    assert_eq!(r["changes"], json!([]), "{ctx}");
    assert_eq!(report.stat("changed"), 0, "{ctx}");
    assert!(
        report.results("localhost", ROLE_HANDLER).is_empty(),
        "{ctx}"
    );
    assert_eq!(file_state(&dir, "master.cf"), master_after, "{ctx}");
    assert_eq!(pf.master_pid(), Some(pid), "{ctx}");

    // Removed, by name and type this time.
    let remove = json!({
        "config_dir": dir,
        "opts": {"name": format!("127.0.0.1:{port}"), "type": "inet", "state": "absent"},
    });
    let (out, report) = c.run_playbook_json(&master_playbook(), "localhost,", remove, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.result("localhost", "converge master.cf");
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["changes"][0]["kind"], json!("remove"), "{ctx}");
    assert_eq!(r["changes"][0]["service"], json!(service), "{ctx}");
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["actions"][0]["ran"], json!("reload"), "{ctx}");
    assert_eq!(pf.master_pid(), Some(pid), "{ctx}");
    assert!(
        support::wait_until(Duration::from_secs(15), || support::listeners_on(port)
            .is_empty()),
        "port {port} still open after the removal: {:?}\n{ctx}",
        support::listeners_on(port)
    );
    let text = fs::read_to_string(dir.join("master.cf")).unwrap();
    assert!(!text.contains(&format!("127.0.0.1:{port}")), "{text}");
}
