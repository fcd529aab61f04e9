//! Secret tables never show their values: every output channel of every
//! command that touches one is searched for the secret values (old and
//! new, from a file and from the environment), and none is found:
//! plan (text, `--json`, the saved plan file), apply (text, from the saved
//! plan, `--backup`), validate, a refused spec's error, the names of every
//! file left in the config directory. Backups of a secret table are 0600.
//!
//! (The Ansible module's result is checked by the Ansible tests.)

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

const FROM_FILE: &str = "S3cr3t-FromFile-4711";
const FROM_ENV: &str = "S3cr3t-FromEnv-0815";
const OLD: &str = "S3cr3t-Old-2024";
const ENV_NAME: &str = "POSTFORM_TEST_RELAY_PASSWORD";

fn postform(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(support::postform_bin());
    cmd.current_dir(cwd).args(args).env("NO_COLOR", "1").env(
        "PATH",
        format!(
            "{}:/usr/sbin:/sbin",
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    support::run(&mut cmd)
}

/// Every secret, and the parts of it a careless message would show.
fn secrets() -> Vec<String> {
    let mut v = Vec::new();
    for s in [FROM_FILE, FROM_ENV, OLD] {
        v.push(s.to_string());
        v.push(s.chars().rev().collect());
    }
    v
}

fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(
            !text.contains(&s),
            "{what} shows a secret value ({s}):\n{text}"
        );
    }
}

#[test]
fn no_channel_shows_a_secret_value() {
    if support::postmap().is_none() || support::postconf().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let conf = w.join("postfix");
    fs::create_dir(&conf).unwrap();
    let main = fs::read_to_string(support::repo_root().join("examples/postfix/main.cf"))
        .unwrap()
        .replace("hash:/etc/aliases", "hash:$config_directory/aliases");
    fs::write(
        conf.join("main.cf"),
        format!("{main}smtp_sasl_password_maps = hash:$config_directory/sasl_passwd\n"),
    )
    .unwrap();
    fs::copy(
        support::repo_root().join("examples/postfix/master.cf"),
        conf.join("master.cf"),
    )
    .unwrap();
    // The old table: world-readable, with a commented-out older password.
    fs::write(
        conf.join("sasl_passwd"),
        format!(
            "# old: [relay.example]:587 u:{}\n[relay.example]:587 u:{OLD}\n",
            OLD.chars().rev().collect::<String>()
        ),
    )
    .unwrap();
    fs::set_permissions(
        conf.join("sasl_passwd"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    fs::write(w.join("relay.secret"), format!("u:{FROM_FILE}\n")).unwrap();
    fs::write(
        w.join("spec.yaml"),
        format!(
            "maps:\n  sasl_passwd:\n    type: hash\n    entries:\n      \"[relay.example]:587\": {{file: relay.secret}}\n      \"[backup.example]:587\": {{env: {ENV_NAME}}}\n"
        ),
    )
    .unwrap();
    let env = [(ENV_NAME, format!("u:{FROM_ENV}"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let seen = std::cell::RefCell::new(Vec::<(String, String)>::new());
    let run = |label: &str, args: &[&str]| -> Output {
        let out = postform(w, args, &env);
        seen.borrow_mut()
            .push((format!("{label} stdout"), support::stdout(&out)));
        seen.borrow_mut()
            .push((format!("{label} stderr"), support::stderr(&out)));
        out
    };
    let out = run("plan", &["plan", "spec.yaml", "-c", "postfix"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("(secret)"),
        "{}",
        support::stdout(&out)
    );
    let out = run(
        "plan --json",
        &["plan", "spec.yaml", "-c", "postfix", "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["files"][1]["table"]["secret"],
        serde_json::json!(true),
        "{json}"
    );
    let out = run(
        "plan -o",
        &["plan", "spec.yaml", "-c", "postfix", "-o", "saved.plan"],
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    let saved = fs::read_to_string(w.join("saved.plan")).unwrap();
    seen.borrow_mut().push(("saved plan".into(), saved));
    let out = run("validate", &["validate", "spec.yaml", "-c", "postfix"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let out = run(
        "apply saved plan",
        &[
            "apply",
            "saved.plan",
            "--backup",
            "--service",
            "none",
            "--auto-approve",
        ],
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    for f in ["sasl_passwd", "sasl_passwd.db"] {
        assert_eq!(
            fs::metadata(conf.join(f)).unwrap().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    let backups: Vec<_> = fs::read_dir(&conf)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("postform-backup")
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        fs::metadata(&backups[0]).unwrap().mode() & 0o777,
        0o600,
        "the old password's backup is private"
    );
    // The values reached the table (so the grep below means something).
    let q = support::run(
        Command::new(support::find_program("postmap").unwrap())
            .arg("-c")
            .arg(&conf)
            .args([
                "-q",
                "[backup.example]:587",
                &format!("hash:{}/sasl_passwd", conf.display()),
            ]),
    );
    assert_eq!(support::stdout(&q), format!("u:{FROM_ENV}\n"));
    // A change of one secret value, applied directly.
    fs::write(
        w.join("relay.secret"),
        format!("u:{}\n", FROM_FILE.to_lowercase()),
    )
    .unwrap();
    let out = run(
        "apply",
        &[
            "apply",
            "spec.yaml",
            "-c",
            "postfix",
            "--auto-approve",
            "--service",
            "none",
            "--backup",
        ],
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("\"(secret)\" -> \"(secret)\""),
        "{}",
        support::stdout(&out)
    );
    // What reads the configuration back: show (text, JSON with the
    // tables), and import without --include-secrets.
    let out = run("show", &["show", "-c", "postfix"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let out = run(
        "show --json --tables",
        &["show", "-c", "postfix", "--json", "--tables"],
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("sasl_passwd"),
        "show --tables lists the table\n{}",
        support::stdout(&out)
    );
    let out = run("import", &["import", "-c", "postfix"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    // Refused: a secret value the format cannot carry (trailing space).
    let bad_env = [(ENV_NAME, format!("u:{FROM_ENV} "))];
    let bad_env: Vec<(&str, &str)> = bad_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = postform(w, &["plan", "spec.yaml", "-c", "postfix"], &bad_env);
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("[backup.example]:587"),
        "{}",
        support::describe(&out)
    );
    seen.borrow_mut()
        .push(("refused stdout".into(), support::stdout(&out)));
    seen.borrow_mut()
        .push(("refused stderr".into(), support::stderr(&out)));
    let out = postform(
        w,
        &["plan", "spec.yaml", "-c", "postfix", "--no-validate"],
        &bad_env,
    );
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    seen.borrow_mut()
        .push(("refused unvalidated stderr".into(), support::stderr(&out)));
    for (what, text) in seen.borrow().iter() {
        assert_clean(what, text);
    }
    // No file name in the config directory or beside it holds a secret.
    for dir in [w, conf.as_path()] {
        for e in fs::read_dir(dir).unwrap() {
            assert_clean("a file name", &e.unwrap().file_name().to_string_lossy());
        }
    }
    // Nothing but the table, its index and the private backups holds it.
    for e in fs::read_dir(&conf).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("sasl_passwd") {
            continue;
        }
        assert_clean(&name, &String::from_utf8_lossy(&fs::read(&p).unwrap()));
    }
}
