//! Proves the test harness (tests/support) against the real Postfix daemon,
//! including the fact postform exists for: `postfix reload` does not apply
//! `inet_protocols`, a stop/start does.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};
use support::HermeticPostfix;

/// Replaces the effective `inet_protocols` line of an instance's main.cf.
fn set_inet_protocols(pf: &HermeticPostfix, value: &str) {
    let text = String::from_utf8(pf.main_cf()).expect("main.cf is UTF-8");
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with("inet_protocols") {
                format!("inet_protocols = {value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(edited, text, "main.cf had no inet_protocols line");
    pf.write_main_cf(edited.as_bytes());
    let out = support::run_postconf(&pf.config_dir(), ["-h", "inet_protocols"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    assert_eq!(support::stdout(&out).trim(), value);
}

#[test]
fn reload_keeps_ipv6_listener_restart_drops_it() {
    let Some(pf) = HermeticPostfix::try_start("") else {
        return;
    };
    if !support::ipv6_loopback_available() {
        support::skip_or_fail("this machine has no IPv6 loopback ([::1]).");
        return;
    }
    assert!(pf.is_running());
    let pid = pf.master_pid().expect("master pid while running");
    assert_eq!(pf.listeners(), vec![pf.v4_listener(), pf.v6_listener()]);
    let banner = pf.banner();
    assert!(banner.starts_with("220 "), "banner: {banner:?}");
    assert!(banner.contains("postform-test"), "banner: {banner:?}");

    // Reload: the master re-reads main.cf but keeps its sockets.
    set_inet_protocols(&pf, "ipv4");
    pf.reload();
    assert_eq!(
        pf.master_pid(),
        Some(pid),
        "reload must keep the master pid"
    );
    assert_eq!(
        pf.listeners(),
        vec![pf.v4_listener(), pf.v6_listener()],
        "after reload the master still listens on IPv6"
    );
    assert!(pf.banner().starts_with("220 "));

    // Restart: only now does inet_protocols = ipv4 take effect.
    pf.stop();
    assert!(!pf.is_running());
    assert_eq!(pf.master_pid(), None);
    pf.start_again();
    let new_pid = pf.master_pid().expect("master pid after start");
    assert_ne!(new_pid, pid, "a restart must change the master pid");
    assert_eq!(pf.listeners(), vec![pf.v4_listener()]);
    assert!(pf.banner().starts_with("220 "));
    assert!(pf.maillog().contains("starting the Postfix mail system"));
}

#[test]
fn drop_stops_an_instance_even_when_postfix_commands_are_fatal() {
    let Some(pf) = HermeticPostfix::try_start("inet_protocols = ipv4\n") else {
        return;
    };
    let Some(other) = HermeticPostfix::try_start("") else {
        return;
    };
    assert_ne!(pf.port(), other.port());
    assert_ne!(pf.config_dir(), other.config_dir());
    assert_eq!(pf.listeners(), vec![pf.v4_listener()]);
    assert!(other.is_running());

    // With ipv4 only, an IPv6 address in inet_interfaces makes every postfix
    // command fatal, `stop` and `status` included.
    pf.append_main_cf("inet_interfaces = 127.0.0.1, [::1]\n");
    assert!(!pf.postfix(&["status"]).status.success());
    let pid = pf.master_pid().expect("master still running");
    let base = pf.base_dir().to_path_buf();
    let log = pf.maillog_path().to_path_buf();
    drop(pf);
    assert!(
        support::wait_until(Duration::from_secs(10), || !Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "master {pid} survived Drop"
    );
    assert!(!base.exists(), "base dir {} not removed", base.display());
    assert!(!log.exists(), "log {} not removed", log.display());
    // The other instance is unaffected.
    assert!(other.is_running());
    assert!(other.banner().starts_with("220 "));
}

#[test]
fn postconf_n_on_a_scratch_dir() {
    if support::postconf().is_none() {
        return;
    }
    let main_cf = b"# a comment\n\
        myhostname = first.example\n\
        \n\
        mynetworks = 127.0.0.0/8,\n    [::1]/128\n\
        myhostname = mail.example\n";
    let dir = support::scratch_config_dir(main_cf, None);
    let main = dir.path().join("main.cf");
    assert_eq!(std::fs::read(&main).unwrap(), main_cf);
    let mtime = std::fs::metadata(&main).unwrap().modified().unwrap();
    assert!(
        mtime <= SystemTime::now() - Duration::from_secs(2),
        "main.cf not backdated"
    );

    let out = support::postconf_n(dir.path());
    assert!(out.status.success(), "{}", support::describe(&out));
    assert_eq!(
        support::stdout(&out),
        format!(
            "config_directory = {}\nmyhostname = mail.example\nmynetworks = 127.0.0.0/8, [::1]/128\n",
            dir.path().display()
        )
    );
    // Postfix warns about the dead duplicate, as postform's plan should.
    assert!(
        support::stderr(&out).contains("overriding earlier entry: myhostname=first.example"),
        "{}",
        support::describe(&out)
    );

    let bad = support::scratch_config_dir(b"bogus\n", Some(b"# empty master.cf\n"));
    assert!(bad.path().join("master.cf").exists());
    let out = support::postconf_n(bad.path());
    assert!(!out.status.success());
    assert!(
        support::stderr(&out).contains("missing '=' after attribute name"),
        "{}",
        support::describe(&out)
    );
}
