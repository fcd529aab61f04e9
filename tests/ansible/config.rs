//! `postform.postfix.config` with real ansible-playbook: one task that
//! changes main.cf and master.cf together against a hermetic Postfix daemon
//! (one plan, one restart, both changes in effect), a spec file on the
//! target, and secret table values that never reach Ansible's output. The
//! playbook gives `config_dir` through the module_defaults group
//! `postform.postfix.postfix` (meta/runtime.yml), so that group is tested
//! too.

use super::master::{file_state, ROLE_HANDLER};
use super::*;
use std::time::Duration;
use support::HermeticPostfix;

fn config_playbook() -> PathBuf {
    support::repo_root().join("tests/ansible/config.yml")
}

/// The one result of the module task.
fn module_result(report: &Report) -> Value {
    report.result("localhost", "converge the whole spec")
}

/// `inet_protocols: ipv4` (restart) and a new `127.0.0.1:PORT/inet` smtpd
/// (reload) in one task: `--check --diff` shows both diffs and writes
/// nothing; the real run changes both files in one task, the handler
/// restarts Postfix exactly once (new master pid), after which the new port
/// answers and, where the machine has IPv6, the main smtpd listens on IPv4
/// only. A re-run changes nothing.
#[test]
fn whole_spec_changes_main_and_master_cf_in_one_task_with_one_restart() {
    let Some(c) = collection() else { return };
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let dir = pf.config_dir();
    let port = support::pick_port();
    let vars = json!({
        "config_dir": dir,
        "opts": {"spec": {
            "main": {"inet_protocols": "ipv4"},
            "master": {format!("127.0.0.1:{port}/inet"): {
                "command": "smtpd",
                "options": {"smtpd_banner": "$myhostname ESMTP added-by-config"},
            }},
        }},
    });
    let pid = pf.master_pid().expect("hermetic Postfix runs");
    let main_before = file_state(&dir, "main.cf");
    let master_before = file_state(&dir, "master.cf");

    let (out, report) = c.run_playbook_json(
        &config_playbook(),
        "localhost,",
        vars.clone(),
        &["--check", "--diff"],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = module_result(&report);
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    let diffs = r["diff"].as_array().expect("one diff per file");
    assert_eq!(diffs.len(), 2, "{ctx}");
    assert!(
        diffs[0]["after"]
            .as_str()
            .unwrap_or_default()
            .contains("\ninet_protocols = ipv4\n"),
        "{ctx}"
    );
    assert!(
        diffs[1]["after"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("\n127.0.0.1:{port} inet ")),
        "{ctx}"
    );
    assert_eq!(file_state(&dir, "main.cf"), main_before, "{ctx}");
    assert_eq!(file_state(&dir, "master.cf"), master_before, "{ctx}");
    assert_eq!(
        pf.master_pid(),
        Some(pid),
        "check mode restarted Postfix\n{ctx}"
    );

    let (out, report) = c.run_playbook_json(&config_playbook(), "localhost,", vars.clone(), &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = module_result(&report);
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    assert_eq!(
        r["config_dir"],
        json!(dir),
        "module_defaults gave config_dir\n{ctx}"
    );
    let changed_files: Vec<(&str, bool)> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), f["changed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        changed_files,
        [("main.cf", true), ("master.cf", true)],
        "{ctx}"
    );
    let actions: Vec<(&str, &str)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    let service = format!("127.0.0.1:{port}/inet");
    assert_eq!(
        actions,
        [("inet_protocols", "restart"), (service.as_str(), "reload")],
        "{ctx}"
    );
    assert_eq!(
        report.result("localhost", "pending before the handlers")["msg"],
        json!({dir.to_str().unwrap(): "restart"}),
        "{ctx}"
    );
    // One handler run, one action: a restart (which also applies the
    // master.cf change), no extra reload.
    let h = report.result("localhost", ROLE_HANDLER);
    let ran: Vec<&str> = h["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ran"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["restart"], "{ctx}");
    let new_pid = pf.master_pid().expect("Postfix runs after the restart");
    assert_ne!(new_pid, pid, "Postfix was not restarted\n{ctx}");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let want = format!("{}.postform.test ESMTP added-by-config", pf.instance_name());
    let mut last = String::new();
    assert!(
        support::wait_until(Duration::from_secs(15), || {
            last = pf.try_banner(addr).unwrap_or_else(|e| e.to_string());
            last.ends_with(&want)
        }),
        "the new service does not answer on {addr} (last: {last})\n{}\n{ctx}",
        pf.maillog()
    );
    if support::ipv6_loopback_available() {
        assert_eq!(
            pf.listeners(),
            vec![pf.v4_listener()],
            "inet_protocols = ipv4 is not in effect\n{ctx}"
        );
    }
    assert_eq!(
        report.result("localhost", "pending after the handlers")["msg"],
        json!({}),
        "{ctx}"
    );

    let (main_after, master_after) = (file_state(&dir, "main.cf"), file_state(&dir, "master.cf"));
    let (out, report) = c.run_playbook_json(&config_playbook(), "localhost,", vars, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    assert_eq!(module_result(&report)["changed"], json!(false), "{ctx}");
    assert_eq!(report.stat("changed"), 0, "{ctx}");
    assert!(
        report.results("localhost", ROLE_HANDLER).is_empty(),
        "{ctx}"
    );
    assert_eq!(file_state(&dir, "main.cf"), main_after, "{ctx}");
    assert_eq!(file_state(&dir, "master.cf"), master_after, "{ctx}");
    assert_eq!(pf.master_pid(), Some(new_pid), "{ctx}");
}

/// `spec_file` on the target with an `extends` layer, in check mode.
#[test]
fn spec_file_with_extends_on_the_target() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let specs = tempfile::tempdir().unwrap();
    fs::write(
        specs.path().join("base.yaml"),
        "main:\n  smtpd_banner: $myhostname ESMTP base\nmaster:\n  smtps/inet:\n    command: smtpd\n",
    )
    .unwrap();
    let host = specs.path().join("host.yaml");
    fs::write(
        &host,
        "extends: [base.yaml]\nmain:\n  inet_protocols: ipv4\nmaster:\n  smtps/inet:\n    options: {syslog_name: postfix/smtps}\n",
    )
    .unwrap();
    let vars = json!({"config_dir": dir.path(), "opts": {"spec_file": host}});
    let (out, report) = c.run_playbook_json(&config_playbook(), "localhost,", vars, &["--check"]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = module_result(&report);
    let names: Vec<&str> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["inet_protocols", "smtpd_banner", "smtps/inet"],
        "{ctx}"
    );
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    assert_eq!(
        r["invocation"]["module_args"]["spec_file"],
        json!(host),
        "{ctx}"
    );
}

/// A table marked secret: its values appear nowhere in what Ansible prints
/// or registers, with -vvv and --diff, on success and on failure (where the
/// options are echoed back in `invocation`). The table is planned (a
/// secret file of the plan, its diff left out).
#[test]
fn secret_table_values_never_reach_the_output() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    const SECRET: &str = "S3cret-relay-Passw0rd";
    let spec = |main: Value| {
        json!({
            "main": main,
            "maps": {
                "sasl_passwd": {
                    "type": "hash",
                    "secret": true,
                    "entries": {"[smtp.example.com]:587": format!("relayuser:{SECRET}")},
                },
            },
        })
    };
    for (main, should_fail) in [
        (json!({"smtpd_banner": "$myhostname ESMTP"}), false),
        (json!({"inet_protocol": "ipv4"}), true),
    ] {
        let vars = json!({"config_dir": dir.path(), "opts": {"spec": spec(main)}});
        let (out, report) =
            c.run_playbook_json(&config_playbook(), "localhost,", vars.clone(), &["--diff"]);
        let ctx = describe_report(&out, &report);
        assert_eq!(out.status.success(), !should_fail, "{ctx}");
        let r = module_result(&report);
        assert!(
            !ctx.contains(SECRET),
            "the secret is in the JSON report\n{ctx}"
        );
        let masked = &r["invocation"]["module_args"]["spec"]["maps"]["sasl_passwd"]["entries"]
            ["[smtp.example.com]:587"];
        assert_eq!(
            masked,
            &json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"),
            "{ctx}"
        );
        if !should_fail {
            let warned = r["warnings"].as_array().into_iter().flatten().any(|w| {
                w.as_str()
                    .unwrap()
                    .starts_with("maps: sasl_passwd: not planned")
            });
            let planned = r["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["secret"] == json!(true));
            // The engine plans tables: the secret table is a file of the
            // plan, and no "not planned" warning is left.
            assert!(planned && !warned, "{ctx}");
        }
        let mut cmd = c.playbook_command(
            &config_playbook(),
            "localhost,",
            vars,
            &["--diff", "-vvv"],
            "default",
        );
        let out = c.run(&mut cmd);
        assert_eq!(
            out.status.success(),
            !should_fail,
            "{}",
            support::describe(&out)
        );
        let all = support::describe(&out);
        assert!(all.contains("sasl_passwd"), "{all}");
        assert!(!all.contains(SECRET), "the secret is in the output\n{all}");
    }
}

/// Credentials written inline (an `inline:`/`static:` table in a
/// `*_password_maps` parameter or `-o` option) are masked by all three
/// modules in the diff, the changes and the echoed options: the password
/// is in nothing ansible-playbook prints, with --diff and -vvv.
#[test]
fn inline_credentials_are_masked_by_every_module() {
    let Some(c) = collection() else { return };
    const SECRET: &str = "Inl1ne-Passw0rd";
    let inline = format!("inline:{{ [smtp.example.com]:587=alice:{SECRET} }}");
    let stat = format!("static:bob:{SECRET}");
    let books = support::repo_root().join("tests/ansible");
    let cases = [
        (
            "main_cf.yml",
            TASK,
            json!({"params": {"smtp_sasl_password_maps": inline, "smtp_sasl_auth_enable": true}}),
        ),
        (
            "master_cf.yml",
            "converge master.cf",
            json!({"opts": {"service": "relay/unix", "options": {"smtp_sasl_password_maps": stat}}}),
        ),
        (
            "config.yml",
            "converge the whole spec",
            json!({"opts": {"spec": {
                "main": {"smtp_sasl_password_maps": inline, "smtp_sasl_auth_enable": true},
                "master": {"relay/unix": {"options": {"smtp_sasl_password_maps": stat}}},
            }}}),
        ),
    ];
    for (book, task, opts) in cases {
        let dir = config_dir();
        let mut vars = opts.clone();
        vars["config_dir"] = json!(dir.path());
        let (out, report) = c.run_playbook_json(
            &books.join(book),
            "localhost,",
            vars.clone(),
            &["--check", "--diff"],
        );
        let ctx = describe_report(&out, &report);
        assert!(out.status.success(), "{book}\n{ctx}");
        let r = report.result("localhost", task);
        assert_eq!(r["changed"], json!(true), "{book}\n{ctx}");
        assert!(
            !ctx.contains(SECRET),
            "{book}: the password is in the report\n{ctx}"
        );
        assert!(
            r["diff"].to_string().contains("********"),
            "{book}: the diff shows no mask\n{ctx}"
        );
        let mut cmd = c.playbook_command(
            &books.join(book),
            "localhost,",
            vars,
            &["--check", "--diff", "-vvv"],
            "default",
        );
        let out = c.run(&mut cmd);
        let all = support::describe(&out);
        assert!(out.status.success(), "{book}\n{all}");
        assert!(all.contains("smtp_sasl_password_maps"), "{book}\n{all}");
        assert!(
            !all.contains(SECRET),
            "{book}: the password is in the output\n{all}"
        );
    }
}

/// A safety policy's refusal fails the task with the policy id and the
/// hint to allow it, in check mode and in the real run, and nothing is
/// written; the same spec with `allow: [open_relay]` converges with the
/// finding as a warning.
#[test]
fn policy_refusal_fails_the_task_and_allow_turns_it_into_a_warning() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let before = main_cf(&dir);
    let spec = json!({"main": {"mynetworks": ["127.0.0.0/8", "0.0.0.0/0"]}});
    for extra in [&["--check"][..], &[][..]] {
        let vars = json!({"config_dir": dir.path(), "opts": {"spec": spec}});
        let (out, report) = c.run_playbook_json(&config_playbook(), "localhost,", vars, extra);
        let ctx = describe_report(&out, &report);
        assert!(!out.status.success(), "the task must fail\n{ctx}");
        let r = module_result(&report);
        assert_eq!(r["failed"], json!(true), "{ctx}");
        let msg = r["msg"].as_str().unwrap_or_default();
        assert!(
            msg.contains("refused by policy open_relay: smtp/inet"),
            "{ctx}"
        );
        assert!(msg.contains("allow: [open_relay]"), "{ctx}");
        assert_eq!(main_cf(&dir), before, "nothing written\n{ctx}");
    }
    let allowed = json!({"main": spec["main"], "allow": ["open_relay"]});
    let vars = json!({"config_dir": dir.path(), "opts": {"spec": allowed, "service": "none"}});
    let (out, report) = c.run_playbook_json(&config_playbook(), "localhost,", vars, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = module_result(&report);
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert!(
        r["warnings"].as_array().into_iter().flatten().any(|w| w
            .as_str()
            .unwrap_or_default()
            .contains("allowed by the spec: policy open_relay")),
        "{ctx}"
    );
    assert_ne!(main_cf(&dir).0, before.0, "{ctx}");
}
