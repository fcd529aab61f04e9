//! The pending service action (`postform_postfix_pending`) and the role
//! `postform.postfix.service`, against real hermetic Postfix daemons: a
//! restart must really happen (the master's pid changes) when the task that
//! needed it is followed by no-op tasks or loop items, and a reload must
//! really happen (the SMTP banner changes, the master stays).

use super::*;
use std::collections::BTreeMap;
use std::time::Duration;
use support::HermeticPostfix;

/// The role's handler, as the JSON callback names it.
const ROLE_HANDLER: &str =
    "postform.postfix.service : Reload or restart Postfix as the pending changes need";

fn pending_playbook(name: &str) -> PathBuf {
    support::repo_root().join("tests/ansible").join(name)
}

/// The fact as the debug task printed it.
fn pending_msg(report: &Report, task: &str) -> Value {
    report.result("localhost", task)["msg"].clone()
}

/// Two tasks sharing one `register`: the first needs a restart, the second
/// changes nothing. Check mode reports the restart without running it; the
/// real run restarts Postfix once (new master pid) although the register
/// handler sees `none`, and clears the fact.
#[test]
fn restart_needed_by_the_first_task_survives_a_later_no_op_task() {
    let Some(c) = collection() else { return };
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let dir = pf.config_dir();
    let playbook = pending_playbook("pending_tasks.yml");
    let vars = json!({
        "config_dir": dir,
        "first": {"inet_protocols": "ipv4"},
        "second": {"inet_protocols": "ipv4"},
    });
    let pid_before = pf.master_pid().expect("hermetic Postfix runs");
    let main_before = pf.main_cf();

    // Check mode: the handler says what it would run, runs nothing.
    let (out, report) = c.run_playbook_json(&playbook, "localhost,", vars.clone(), &["--check"]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    assert_eq!(
        pending_msg(&report, "pending before the handlers"),
        json!({dir.to_str().unwrap(): "restart"}),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["changed"], json!(true), "{ctx}");
    assert_eq!(h["actions"][0]["ran"], json!("none"), "{ctx}");
    assert_eq!(
        h["actions"][0]["message"],
        json!(format!(
            "check mode: would restart Postfix for {}",
            dir.display()
        )),
        "{ctx}"
    );
    assert_eq!(
        pf.master_pid(),
        Some(pid_before),
        "check mode restarted Postfix\n{ctx}"
    );
    assert_eq!(pf.main_cf(), main_before, "check mode wrote main.cf\n{ctx}");

    // The real run.
    let (out, report) = c.run_playbook_json(&playbook, "localhost,", vars.clone(), &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    assert_eq!(
        report.result("localhost", "first main_cf task")["changed"],
        json!(true),
        "{ctx}"
    );
    assert_eq!(
        report.result("localhost", "second main_cf task")["changed"],
        json!(false),
        "{ctx}"
    );
    // What the register-based handler pattern sees: the last task's `none`.
    assert_eq!(
        report.result("localhost", "register handler")["msg"],
        json!("register says service_action=none"),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["changed"], json!(true), "{ctx}");
    assert_eq!(h["actions"][0]["config_dir"], json!(dir), "{ctx}");
    assert_eq!(h["actions"][0]["pending"], json!("restart"), "{ctx}");
    assert_eq!(h["actions"][0]["ran"], json!("restart"), "{ctx}");
    let message = h["actions"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(" stop && ") && message.contains(" start`"),
        "{ctx}"
    );
    let pid_after = pf.master_pid().expect("Postfix runs after the restart");
    assert_ne!(pid_after, pid_before, "Postfix was not restarted\n{ctx}");
    assert!(
        message.contains(&format!("master pid {pid_before} -> {pid_after}")),
        "{ctx}"
    );
    if support::ipv6_loopback_available() {
        // inet_protocols = ipv4 took effect: the restart was real.
        assert_eq!(pf.listeners(), vec![pf.v4_listener()], "{ctx}");
    }
    assert_eq!(
        pending_msg(&report, "pending after the handlers"),
        json!({}),
        "{ctx}"
    );

    // Converged: no change, no handler, Postfix left alone.
    let (out, report) = c.run_playbook_json(&playbook, "localhost,", vars, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    assert!(
        report.results("localhost", ROLE_HANDLER).is_empty(),
        "{ctx}"
    );
    assert_eq!(report.stat("changed"), 0, "{ctx}");
    assert_eq!(pf.master_pid(), Some(pid_after), "{ctx}");
}

/// One looped task over two Postfix instances (A needs a reload, B a
/// restart, then A again as a no-op), then a no-op task on B: the handler
/// reloads A (same master, new banner) and restarts B (new master).
#[test]
fn loop_items_and_instances_each_keep_their_pending_action() {
    let Some(c) = collection() else { return };
    let Some(a) = HermeticPostfix::try_start("") else {
        return;
    };
    let Some(b) = HermeticPostfix::try_start("") else {
        return;
    };
    let (da, db) = (a.config_dir(), b.config_dir());
    let banner = "$myhostname ESMTP reloaded-by-postform";
    let vars = json!({
        "items": [
            {"config_dir": da, "parameters": {"smtpd_banner": banner}},
            {"config_dir": db, "parameters": {"inet_protocols": "ipv4"}},
            {"config_dir": da, "parameters": {"smtpd_banner": banner}},
        ],
        "after": {"config_dir": db, "parameters": {"inet_protocols": "ipv4"}},
    });
    let (pid_a, pid_b) = (a.master_pid().unwrap(), b.master_pid().unwrap());
    let (out, report) = c.run_playbook_json(
        &pending_playbook("pending_loop.yml"),
        "localhost,",
        vars,
        &[],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let looped = report.result("localhost", "looped main_cf task");
    let changed: Vec<&Value> = looped["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["changed"])
        .collect();
    assert_eq!(
        changed,
        [&json!(true), &json!(true), &json!(false)],
        "{ctx}"
    );
    assert_eq!(
        report.result("localhost", "task after the loop")["changed"],
        json!(false),
        "{ctx}"
    );
    assert_eq!(
        pending_msg(&report, "pending before the handlers"),
        json!({da.to_str().unwrap(): "reload", db.to_str().unwrap(): "restart"}),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    let ran: BTreeMap<String, String> = h["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["config_dir"].as_str().unwrap().to_string(),
                a["ran"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ran,
        BTreeMap::from([
            (da.display().to_string(), "reload".to_string()),
            (db.display().to_string(), "restart".to_string()),
        ]),
        "{ctx}"
    );
    assert_eq!(
        a.master_pid(),
        Some(pid_a),
        "A must be reloaded, not restarted\n{ctx}"
    );
    let name_a = a.instance_name().to_string();
    assert!(
        support::wait_until(Duration::from_secs(10), || a.banner().ends_with(&format!(
            "{name_a}.postform.test ESMTP reloaded-by-postform"
        ))),
        "A's smtpd does not use the new banner after the reload: {}\n{ctx}",
        a.banner()
    );
    let new_b = b.master_pid().expect("B runs after the restart");
    assert_ne!(new_b, pid_b, "B was not restarted\n{ctx}");
    assert_eq!(
        pending_msg(&report, "pending after the handlers"),
        json!({}),
        "{ctx}"
    );
}

/// The role's `postform_postfix_service` argv dictionary: the handler runs
/// those commands (no shell, no systemd), here a script that records its
/// arguments, and still checks Postfix runs afterwards.
#[test]
fn handler_runs_custom_service_commands() {
    let Some(c) = collection() else { return };
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let dir = pf.config_dir();
    let record = pf.base_dir().join("service-commands.log");
    let recorder = |verb: &str| {
        json!([
            "/bin/sh",
            "-c",
            format!("echo {verb} \"$0\" >> {}", record.display()),
            dir
        ])
    };
    let vars = json!({
        "config_dir": dir,
        "first": {"smtpd_banner": "$myhostname ESMTP custom"},
        "second": {"inet_interfaces": "loopback-only", "inet_protocols": "ipv4"},
        "postform_postfix_service": {"reload": recorder("reload"), "restart": recorder("restart")},
    });
    let pid = pf.master_pid().unwrap();
    let (out, report) = c.run_playbook_json(
        &pending_playbook("pending_tasks.yml"),
        "localhost,",
        vars,
        &[],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["actions"][0]["ran"], json!("restart"), "{ctx}");
    assert_eq!(
        fs::read_to_string(&record).unwrap_or_default(),
        format!("restart {}\n", dir.display()),
        "the handler must run the restart command once, and not the reload one\n{ctx}"
    );
    // The recorder does not restart anything: the master is the same one.
    assert_eq!(pf.master_pid(), Some(pid), "{ctx}");
    assert_eq!(
        pending_msg(&report, "pending after the handlers"),
        json!({}),
        "{ctx}"
    );
}

/// With nothing pending the handler sends nothing to the host; a Postfix
/// that is not running is not started, and its pending action is cleared.
#[test]
fn handler_leaves_a_stopped_postfix_alone() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let vars = json!({
        "config_dir": dir.path(),
        "first": {"inet_protocols": "ipv4"},
        "second": {"smtpd_banner": "$myhostname ESMTP"},
    });
    let (out, report) = c.run_playbook_json(
        &pending_playbook("pending_tasks.yml"),
        "localhost,",
        vars,
        &[],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    // The second task needed only a reload, and its register says so; the
    // restart of the first is what is pending.
    assert_eq!(
        report.result("localhost", "register handler")["msg"],
        json!("register says service_action=reload"),
        "{ctx}"
    );
    assert_eq!(
        pending_msg(&report, "pending before the handlers"),
        json!({dir.path().to_str().unwrap(): "restart"}),
        "{ctx}"
    );
    let h = report.result("localhost", ROLE_HANDLER);
    assert_eq!(h["changed"], json!(false), "{ctx}");
    assert_eq!(h["actions"][0]["ran"], json!("none"), "{ctx}");
    assert_eq!(
        h["actions"][0]["message"],
        json!("Postfix is not running, so nothing was restarted; the change takes effect when it starts"),
        "{ctx}"
    );
    assert_eq!(
        pending_msg(&report, "pending after the handlers"),
        json!({}),
        "{ctx}"
    );
}
