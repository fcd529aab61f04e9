//! Lookup tables against a real Postfix daemon (`support::HermeticPostfix`):
//! what postform's plan says about the service action for a table change
//! is what the daemon needs.
//!
//! * hash, btree, lmdb and cdb tables in `check_client_access`: a change
//!   takes effect for new SMTP sessions without a reload (smtpd notices
//!   that its open index was replaced and exits at its next accept:
//!   "table ... has changed -- restarting"), and postform plans no service
//!   action.
//! * A cidr table: postform plans and runs a reload, and the change takes
//!   effect.
//! * A regexp table changed with `--service none`: a running smtpd still
//!   answers with the old rule (the table is read into memory once), until
//!   `postfix reload`; that is why postform plans a reload for it.
//!
//! The client is 127.0.0.1; each table answers `REJECT <marker>` for it,
//! and the marker shows up in smtpd's reply to RCPT TO.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use support::{describe, stdout, wait_until, HermeticPostfix};

const SETTLE: Duration = Duration::from_secs(20);

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
    eprintln!("$ {cmd:?}\n{}", describe(&out));
    assert!(
        out.status.success(),
        "apply failed:\n{}\n--- maillog ---\n{}",
        describe(&out),
        pf.maillog()
    );
    out
}

/// One SMTP session from 127.0.0.1: the reply to RCPT TO.
fn rcpt_reply(pf: &HermeticPostfix) -> String {
    let addr = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), pf.port());
    let session = || -> std::io::Result<String> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        let mut r = BufReader::new(s.try_clone()?);
        let mut w = s;
        let mut reply = || -> std::io::Result<String> {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line)? == 0 {
                    return Ok(all);
                }
                all.push_str(&line);
                if line.len() < 4 || line.as_bytes()[3] != b'-' {
                    return Ok(all);
                }
            }
        };
        reply()?;
        w.write_all(b"EHLO client.example\r\n")?;
        reply()?;
        w.write_all(b"MAIL FROM:<sender@client.example>\r\n")?;
        reply()?;
        w.write_all(b"RCPT TO:<someone@elsewhere.example>\r\n")?;
        let got = reply()?;
        let _ = w.write_all(b"QUIT\r\n");
        Ok(got.trim_end().to_string())
    };
    session().unwrap_or_else(|e| format!("(session failed: {e})"))
}

fn spec_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// The indexed types this Postfix has, in restriction order.
fn indexed_types() -> Vec<&'static str> {
    let mut v = vec!["hash", "btree"];
    for (t, p) in [("lmdb", "postfix-lmdb"), ("cdb", "postfix-cdb")] {
        if support::map_type_available(t, p) {
            v.push(t);
        }
    }
    v
}

/// A spec whose smtpd_client_restrictions ask one table of each indexed
/// type, then a cidr and a regexp table; `values` gives each table's
/// answer for 127.0.0.1 (indexed types first, in order, then cidr, then
/// regexp).
fn spec_with(types: &[&str], values: &[&str]) -> String {
    let mut restrictions = Vec::new();
    let mut maps = String::new();
    for (i, t) in types.iter().enumerate() {
        restrictions.push(format!(
            "check_client_access {t}:$config_directory/clients_{t}"
        ));
        maps.push_str(&format!(
            "  clients_{t}:\n    type: {t}\n    entries:\n      127.0.0.1: \"{}\"\n      192.0.2.1: OK\n",
            values[i]
        ));
    }
    restrictions.push("check_client_access cidr:$config_directory/nets".into());
    restrictions.push("check_client_access regexp:$config_directory/names".into());
    let n = types.len();
    format!(
        "main:\n  smtpd_client_restrictions: {}\nmaps:\n{maps}  nets:\n    type: cidr\n    entries:\n      127.0.0.0/8: \"{}\"\n  names:\n    type: regexp\n    entries:\n      \"/^127\\\\.0\\\\.0\\\\.1$/\": \"{}\"\n",
        restrictions.join(", "),
        values[n],
        values[n + 1]
    )
}

fn reloads(pf: &HermeticPostfix) -> usize {
    pf.maillog().matches("reload -- version").count()
}

#[track_caller]
fn served(pf: &HermeticPostfix, marker: &str) {
    let mut last = String::new();
    let ok = wait_until(SETTLE, || {
        last = rcpt_reply(pf);
        last.contains(marker)
    });
    assert!(
        ok,
        "smtpd must answer with {marker:?}; last reply {last:?}\n--- maillog ---\n{}",
        pf.maillog()
    );
}

#[test]
fn table_changes_take_effect_as_the_plan_says() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    let types = indexed_types();
    let n = types.len();
    let work = tempfile::tempdir().unwrap();
    let values = |marks: &[(usize, &str)]| -> Vec<String> {
        let mut v = vec!["DUNNO".to_string(); n + 2];
        for (i, m) in marks {
            v[*i] = format!("REJECT {m}");
        }
        v
    };
    let write = |name: &str, v: &[String]| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        spec_file(work.path(), name, &spec_with(&types, &refs))
    };
    // 1. The tables appear with main.cf naming them: a reload (main.cf).
    let s = write(
        "1.yaml",
        &values(&[(0, "hash-one"), (n, "cidr-one"), (n + 1, "regexp-one")]),
    );
    let out = apply(&pf, &s, &[]);
    assert!(
        stdout(&out).contains("Service action: reload."),
        "{}",
        stdout(&out)
    );
    served(&pf, "hash-one");
    let pid = pf.master_pid().expect("master pid");

    // 2. Each indexed type in turn: a new value is planned without a
    //    service action, and new sessions see it without a reload.
    let before = reloads(&pf);
    for (i, t) in types.iter().enumerate() {
        let mark = format!("{t}-two");
        let s = write(
            &format!("2-{t}.yaml"),
            &values(&[(i, &mark), (n, "cidr-one"), (n + 1, "regexp-one")]),
        );
        let out = apply(&pf, &s, &[]);
        let text = stdout(&out);
        assert!(text.contains("Service action: none."), "{t}: {text}");
        served(&pf, &mark);
        assert_eq!(reloads(&pf), before, "{t}: no reload ran\n{}", pf.maillog());
        assert_eq!(pf.master_pid(), Some(pid));
    }
    // How they noticed (postlogd writes the log a moment later). Only
    // the first changed table of a process is logged, and each step also
    // puts the previous type's value back, so only the first step's line
    // is certain.
    let line = |log: &str| {
        log.lines()
            .find(|l| l.contains("table hash:") && l.contains("has changed -- restarting"))
            .map(str::to_string)
    };
    let noticed = wait_until(SETTLE, || line(&pf.maillog()).is_some());
    assert!(
        noticed,
        "smtpd noticed the new hash index by itself:\n{}",
        pf.maillog()
    );
    eprintln!(
        "the daemon said: {}",
        line(&pf.maillog()).unwrap_or_default()
    );

    // 3. cidr: the indexed tables no longer match, the cidr rule decides;
    //    a reload is planned and run.
    let s = write("3.yaml", &values(&[(n, "cidr-two"), (n + 1, "regexp-one")]));
    let out = apply(&pf, &s, &[]);
    let text = stdout(&out);
    assert!(text.contains("Service action: reload."), "{text}");
    served(&pf, "cidr-two");
    assert!(reloads(&pf) > before, "a reload ran\n{}", pf.maillog());

    // 4. regexp, written without the reload it needs: the smtpd that is
    //    running keeps the rules it read. (Make sure one is running and
    //    has read the current table first.)
    let s = write("4.yaml", &values(&[(n + 1, "regexp-one")]));
    apply(&pf, &s, &[]);
    served(&pf, "regexp-one");
    let s = write("5.yaml", &values(&[(n + 1, "regexp-two")]));
    let out = apply(&pf, &s, &["--service", "none"]);
    let text = stdout(&out);
    assert!(text.contains("Service action: reload."), "{text}");
    assert!(text.contains("needs a reload"), "{text}");
    let stale = rcpt_reply(&pf);
    assert!(
        stale.contains("regexp-one"),
        "a running smtpd still uses the regexp table it read: {stale:?}\n{}",
        pf.maillog()
    );
    pf.reload();
    served(&pf, "regexp-two");
}
