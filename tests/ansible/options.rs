//! Option names, documentation and results: the documented options are the
//! options the Rust module accepts and the argument spec the action plugins
//! check on the controller; a misspelt option fails before anything is sent;
//! RETURN says which keys a failure has; check mode works on a host without
//! main.cf; `~` in config_dir is the target user's home.

use super::*;
use std::collections::BTreeSet;

/// `ansible-doc -j MODULE`'s entry for the module.
fn doc_json(c: &Collection, module: &str) -> Value {
    let out = c.run(Command::new(c.ansible.tool("ansible-doc")).args(["-j", module]));
    assert!(out.status.success(), "{}", support::describe(&out));
    let v: Value = serde_json::from_str(&support::stdout(&out))
        .unwrap_or_else(|e| panic!("ansible-doc -j: {e}\n{}", support::describe(&out)));
    v[module].clone()
}

/// The argument specs in plugins/module_utils/argspecs.py of the installed
/// collection, as ansible-core's Python imports them.
fn argspecs(c: &Collection) -> Value {
    let script = "import json\n\
        from ansible_collections.postform.postfix.plugins.module_utils import argspecs as a\n\
        print(json.dumps({'main_cf': a.MAIN_CF_ARGUMENT_SPEC, \
        'service_action': a.SERVICE_ACTION_ARGUMENT_SPEC, \
        'required_one_of': a.MAIN_CF_REQUIRED_ONE_OF}))";
    let out = c.run(
        Command::new(&c.ansible.python)
            .args(["-c", script])
            .env("PYTHONPATH", &c.collections_path),
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    serde_json::from_str(&support::stdout(&out)).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The documented options of each module = its argument spec = the options
/// the Rust module accepts (`OPTIONS`), with the same types and defaults in
/// the documentation and the spec.
#[test]
fn documented_options_are_the_argument_spec_and_the_rust_options() {
    let Some(c) = collection() else { return };
    let specs = argspecs(c);
    for (module, short, rust) in [
        (
            "postform.postfix.main_cf",
            "main_cf",
            postform::frontends::ansible::OPTIONS,
        ),
        (
            "postform.postfix.service_action",
            "service_action",
            postform::frontends::ansible::service_action::OPTIONS,
        ),
    ] {
        let doc = doc_json(c, module);
        let documented = keys(&doc["doc"]["options"]);
        let spec = &specs[short];
        let rust: BTreeSet<String> = rust.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            documented, rust,
            "{module}: documented options vs Rust OPTIONS"
        );
        assert_eq!(keys(spec), rust, "{module}: argument spec vs Rust OPTIONS");
        for name in &rust {
            let d = &doc["doc"]["options"][name];
            let s = &spec[name];
            assert_eq!(d["type"], s["type"], "{module}: type of {name}");
            assert_eq!(
                d.get("default").unwrap_or(&Value::Null),
                s.get("default").unwrap_or(&Value::Null),
                "{module}: default of {name}"
            );
        }
    }
    assert_eq!(specs["required_one_of"], json!([["parameters", "spec"]]));
}

/// A misspelt option fails on the controller with a suggestion: no `uname`,
/// no binary transfer (checked with -vvv).
#[test]
fn misspelt_options_fail_on_the_controller() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let before = main_cf(&dir);
    let playbook = support::repo_root().join("tests/ansible/typo.yml");
    let vars = json!({"config_dir": dir.path()});
    let (out, report) = c.run_playbook_json(&playbook, "localhost,", vars.clone(), &[]);
    let ctx = describe_report(&out, &report);
    let r = report.result("localhost", "misspelt option");
    assert_eq!(r["failed"], json!(true), "{ctx}");
    let msg = r["msg"].as_str().unwrap_or_default();
    for needle in [
        "postform.postfix.main_cf: unsupported option confg_dir",
        "did you mean: confg_dir -> config_dir?",
        "valid options are: parameters, spec, config_dir, purge, validate, service, backup.",
        "Postfix parameters go under `parameters:`",
        "checked on the controller; nothing was sent to the host",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing\n{ctx}");
    }
    let r = report.result("localhost", "neither parameters nor spec");
    let msg = r["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("one of the options parameters or spec is required"),
        "{ctx}"
    );
    let r = report.result("localhost", "misspelt service_action option");
    let msg = r["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("unsupported option pendng (did you mean: pendng -> pending?)"),
        "{ctx}"
    );
    assert_eq!(main_cf(&dir), before, "{ctx}");

    // Nothing reached the host: no platform probe, no module transfer.
    let mut cmd = c.playbook_command(&playbook, "localhost,", vars, &["-vvv"], "default");
    let out = c.run(&mut cmd);
    let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
    assert!(
        text.contains("unsupported option confg_dir"),
        "{}",
        support::describe(&out)
    );
    assert!(
        !text.contains("AnsiballZ"),
        "a module was sent\n{}",
        support::describe(&out)
    );
    assert!(
        !text.contains("uname -s -m"),
        "the host was probed\n{}",
        support::describe(&out)
    );
}

/// RETURN is honest about failures: every key documented `returned: always`
/// is in a failed result, every other key of a failed result is
/// documented as always (or is Ansible's own), and the `success` keys are in
/// a successful result.
#[test]
fn return_docs_match_success_and_failure_results() {
    let Some(c) = collection() else { return };
    let ret = doc_json(c, "postform.postfix.main_cf")["return"].clone();
    let returned = |key: &str| {
        ret[key]["returned"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let always: BTreeSet<String> = keys(&ret)
        .into_iter()
        .filter(|k| returned(k) == "always")
        .collect();
    let success: BTreeSet<String> = keys(&ret)
        .into_iter()
        .filter(|k| returned(k).starts_with("success"))
        .collect();
    assert_eq!(always, BTreeSet::from(["changed".into(), "msg".into()]));
    // Ansible's own keys, not the module's.
    let ansible_keys = ["failed", "invocation", "exception", "ignore_errors"];

    let dir = config_dir();
    let (out, report) = c.playbook_json(vars(&dir, json!({"inet_protocol": "ipv4"})), &[]);
    let ctx = describe_report(&out, &report);
    let failed = report.module();
    assert_eq!(failed["failed"], json!(true), "{ctx}");
    let failed_keys: BTreeSet<String> = keys(&failed)
        .into_iter()
        .filter(|k| !k.starts_with('_') && !ansible_keys.contains(&k.as_str()))
        .collect();
    assert_eq!(failed_keys, always, "keys of a failed result\n{ctx}");

    let (out, report) = c.playbook_json(vars(&dir, json!({"inet_protocols": "ipv4"})), &[]);
    let ctx = describe_report(&out, &report);
    let ok = report.module();
    for k in always.iter().chain(&success) {
        assert!(ok.get(k).is_some(), "success result lacks {k}\n{ctx}");
    }
}

/// Check mode on a host without main.cf (the package task only "would
/// install" Postfix): the task reports what it would set instead of
/// failing, with `main_cf_exists: false` and a warning; nothing is created.
#[test]
fn check_mode_on_a_host_without_main_cf() {
    let Some(c) = collection() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let missing = scratch.path().join("postfix");
    let v = json!({"config_dir": missing, "params": {"inet_protocols": "ipv4", "myhostname": "relay.example.com"}});
    let (out, report) = c.playbook_json(v.clone(), &["--check", "--diff"]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["main_cf_exists"], json!(false), "{ctx}");
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    let kinds: Vec<(&str, &str)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("inet_protocols", "add"), ("myhostname", "add")],
        "{ctx}"
    );
    assert_eq!(r["diff"]["before"], json!(""), "{ctx}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist (yet)"),
        "{ctx}"
    );
    assert!(
        !missing.exists(),
        "check mode created {}\n{ctx}",
        missing.display()
    );

    // The real run still refuses: postform edits main.cf, it does not invent one.
    let (out, report) = c.playbook_json(v, &[]);
    let ctx = describe_report(&out, &report);
    assert!(!out.status.success(), "{ctx}");
    assert!(
        report.module()["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot read"),
        "{ctx}"
    );
}

/// `config_dir: ~/...` is the target user's home (HOME of the module's
/// process), like `type: path` options of Python modules.
#[test]
fn tilde_in_config_dir_is_the_target_users_home() {
    let Some(c) = collection() else { return };
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("pf");
    fs::create_dir(&dir).unwrap();
    support::write_backdated(&dir.join("main.cf"), &example("main.cf"));
    support::write_backdated(&dir.join("master.cf"), &example("master.cf"));
    let mut cmd = c.playbook_command(
        &support::repo_root().join("tests/ansible/main_cf.yml"),
        "localhost,",
        json!({"config_dir": "~/pf/", "params": {"inet_protocols": "ipv4"}}),
        &[],
        JSON_CALLBACK,
    );
    cmd.env("HOME", home.path());
    let out = c.run(&mut cmd);
    let report = Report::parse(&out);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["config_dir"], json!(dir), "{ctx}");
    let text = fs::read_to_string(dir.join("main.cf")).unwrap();
    assert!(text.contains("\ninet_protocols = ipv4\n"), "{ctx}");
}
