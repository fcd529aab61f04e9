//! Lookup tables against a real Postfix daemon (`support::HermeticPostfix`):
//! what postform's plan says about the service action for a table change
//! is what the daemon needs.
//!
//! * A hash table in `check_client_access`: a change takes effect for new
//!   SMTP sessions without a reload (smtpd notices that its open index was
//!   replaced and exits at its next accept: "table ... has changed --
//!   restarting"), and postform plans no service action.
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

fn spec(hash: &str, cidr: &str, regexp: &str) -> String {
    format!(
        "main:\n  smtpd_client_restrictions: check_client_access hash:$config_directory/clients, check_client_access cidr:$config_directory/nets, check_client_access regexp:$config_directory/names\nmaps:\n  clients:\n    type: hash\n    entries:\n      127.0.0.1: \"{hash}\"\n      192.0.2.1: OK\n  nets:\n    type: cidr\n    entries:\n      127.0.0.0/8: \"{cidr}\"\n  names:\n    type: regexp\n    entries:\n      \"/^127\\\\.0\\\\.0\\\\.1$/\": \"{regexp}\"\n"
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
    let work = tempfile::tempdir().unwrap();
    // 1. The tables appear with main.cf naming them: a reload (main.cf).
    let s1 = spec_file(
        work.path(),
        "1.yaml",
        &spec("REJECT hash-one", "REJECT cidr-one", "REJECT regexp-one"),
    );
    let out = apply(&pf, &s1, &[]);
    assert!(
        stdout(&out).contains("Service action: reload."),
        "{}",
        stdout(&out)
    );
    served(&pf, "hash-one");
    let pid = pf.master_pid().expect("master pid");

    // 2. hash: a new value is planned without a service action, and new
    //    sessions see it without a reload.
    let before = reloads(&pf);
    let s2 = spec_file(
        work.path(),
        "2.yaml",
        &spec("REJECT hash-two", "REJECT cidr-one", "REJECT regexp-one"),
    );
    let out = apply(&pf, &s2, &[]);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to remove. Service action: none."),
        "{text}"
    );
    served(&pf, "hash-two");
    assert_eq!(reloads(&pf), before, "no reload ran\n{}", pf.maillog());
    assert_eq!(pf.master_pid(), Some(pid));
    let log = pf.maillog();
    let noticed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("has changed -- restarting"))
        .collect();
    assert!(
        !noticed.is_empty(),
        "smtpd noticed the new index by itself:\n{log}"
    );
    eprintln!("the daemon said: {}", noticed[0]);

    // 3. cidr: the hash rule no longer matches, the cidr rule decides; a
    //    reload is planned and run.
    let s3 = spec_file(
        work.path(),
        "3.yaml",
        &spec("DUNNO", "REJECT cidr-two", "REJECT regexp-one"),
    );
    let out = apply(&pf, &s3, &[]);
    let text = stdout(&out);
    assert!(text.contains("Service action: reload."), "{text}");
    served(&pf, "cidr-two");
    assert!(reloads(&pf) > before, "a reload ran\n{}", pf.maillog());

    // 4. regexp, written without the reload it needs: the smtpd that is
    //    running keeps the rules it read. (Make sure one is running and
    //    has read the current table first.)
    let s4 = spec_file(
        work.path(),
        "4.yaml",
        &spec("DUNNO", "DUNNO", "REJECT regexp-one"),
    );
    apply(&pf, &s4, &[]);
    served(&pf, "regexp-one");
    let s5 = spec_file(
        work.path(),
        "5.yaml",
        &spec("DUNNO", "DUNNO", "REJECT regexp-two"),
    );
    let out = apply(&pf, &s5, &["--service", "none"]);
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
