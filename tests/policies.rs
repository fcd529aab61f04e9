//! Each built-in safety policy (docs/policies.md) against configurations
//! it must refuse — at least one through a master.cf `-o` override — and
//! realistic ones it must accept: the usual outbound relay, submission
//! with SASL after STARTTLS, and a content filter's reinjection service
//! (the shape of tests/fixtures/mastercf/005, a real-world master.cf).
//!
//! Every case is planned with the real binary (`postform plan --json`)
//! against a copy of Debian's default configuration (examples/postfix,
//! optionally with lines added to its main.cf: the live state). A refused
//! case must exit 1 with `refused: true` and a blocking finding of the
//! policy; the same spec with `allow: [id]` must plan (exit 0) with the
//! finding kept as an allowed warning. An accepted case must plan with no
//! finding of the policy at all. tests/relay_differential.rs checks the
//! open_relay verdicts against the real smtpd; tests/policy_fixtures.rs
//! records the verdict on every real-world fixture.

mod support;

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

struct Case {
    name: &'static str,
    /// Lines appended to Debian's main.cf before planning (the live state).
    live: &'static str,
    /// The spec's sections other than `allow:` (full form).
    spec: &'static str,
}

fn config_dir(live: &str) -> tempfile::TempDir {
    let root = support::repo_root().join("examples/postfix");
    let dir = tempfile::Builder::new()
        .prefix("postform-policy-")
        .tempdir()
        .unwrap();
    let mut main = fs::read(root.join("main.cf")).unwrap();
    main.extend_from_slice(live.as_bytes());
    support::write_backdated(&dir.path().join("main.cf"), &main);
    support::write_backdated(
        &dir.path().join("master.cf"),
        &fs::read(root.join("master.cf")).unwrap(),
    );
    dir
}

/// `postform plan SPEC -c DIR --json`: the exit code and the JSON document.
fn plan(dir: &Path, spec: &str) -> (Output, Value) {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("spec.yaml");
    fs::write(&path, spec).unwrap();
    let out = support::run(
        Command::new(support::postform_bin())
            .arg("plan")
            .arg(&path)
            .arg("-c")
            .arg(dir)
            .arg("--json")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null()),
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

fn findings<'a>(json: &'a Value, id: &str) -> Vec<&'a Value> {
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["id"] == id)
        .collect()
}

fn must_refuse(id: &str, cases: &[Case]) {
    assert!(cases.len() >= 3, "{id}: at least three refused cases");
    assert!(
        cases.iter().any(|c| c.spec.contains("options:")),
        "{id}: one refused case goes through a master.cf -o override"
    );
    for c in cases {
        let dir = config_dir(c.live);
        let before = fs::read(dir.path().join("main.cf")).unwrap();
        let (out, json) = plan(dir.path(), c.spec);
        let ctx = format!("{id} / {}:\n{}", c.name, support::describe(&out));
        assert_eq!(out.status.code(), Some(1), "must be refused\n{ctx}");
        assert_eq!(json["refused"], true, "{ctx}");
        let found = findings(&json, id);
        assert!(
            found
                .iter()
                .any(|f| f["severity"] == "refuse" && f["allowed"] == false),
            "a blocking {id} finding\n{ctx}"
        );
        let err = support::stderr(&out);
        assert!(err.contains(&format!("refused by policy {id}")), "{ctx}");
        assert!(
            err.contains(&format!("allow: [{id}]")),
            "the hint names the id\n{ctx}"
        );
        assert!(err.contains("nothing was written"), "{ctx}");
        assert_eq!(
            fs::read(dir.path().join("main.cf")).unwrap(),
            before,
            "{ctx}"
        );

        // The same spec with the policy allowed plans, and says so.
        let allowed = match c.spec.find("allow: [") {
            Some(at) => format!("{}allow: [{id}, {}", &c.spec[..at], &c.spec[at + 8..]),
            None => format!("{}allow: [{id}]\n", c.spec),
        };
        let (out, json) = plan(dir.path(), &allowed);
        let ctx = format!("{id} / {} (allowed):\n{}", c.name, support::describe(&out));
        assert_eq!(out.status.code(), Some(0), "{ctx}");
        assert!(
            findings(&json, id)
                .iter()
                .any(|f| f["allowed"] == true && f["severity"] == "refuse"),
            "{ctx}"
        );
        assert!(
            support::stderr(&out).contains(&format!("allowed by the spec: policy {id}")),
            "{ctx}"
        );
    }
}

fn must_accept(id: &str, cases: &[Case]) {
    assert!(cases.len() >= 3, "{id}: at least three accepted cases");
    for c in cases {
        let dir = config_dir(c.live);
        let (out, json) = plan(dir.path(), c.spec);
        let ctx = format!("{id} / {}:\n{}", c.name, support::describe(&out));
        assert_eq!(out.status.code(), Some(0), "must plan\n{ctx}");
        assert_eq!(json["changed"], true, "the case changes something\n{ctx}");
        assert!(findings(&json, id).is_empty(), "no {id} finding\n{ctx}");
        assert!(
            json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["severity"] != "refuse" || f["already"] == true),
            "no other refusal either\n{ctx}"
        );
    }
}

/// Submission (587) as Debian's master.cf template has it.
const SUBMISSION: &str = "master:
  submission/inet:
    private: n
    command: smtpd
    options:
      syslog_name: postfix/submission
      smtpd_tls_security_level: encrypt
      smtpd_sasl_auth_enable: yes
      smtpd_tls_auth_only: yes
      smtpd_client_restrictions: [permit_sasl_authenticated, reject]
      smtpd_relay_restrictions: [permit_sasl_authenticated, reject]
";

#[test]
fn open_relay() {
    must_refuse(
        "open_relay",
        &[
            Case {
                name: "mynetworks holds the whole IPv4 Internet",
                live: "",
                spec: "main:\n  mynetworks: [127.0.0.0/8, 0.0.0.0/0]\n",
            },
            Case {
                name: "a permit every client reaches before reject_unauth_destination",
                live: "",
                spec: "main:\n  smtpd_relay_restrictions: [permit_mynetworks, check_client_access static:OK, reject_unauth_destination]\n",
            },
            Case {
                name: "a submission service whose -o trusts the Internet's networks",
                live: "",
                spec: "master:\n  submission/inet:\n    private: n\n    command: smtpd\n    options:\n      syslog_name: postfix/submission\n      mynetworks: 0.0.0.0/0\n",
            },
            Case {
                name: "any client certificate, from anyone, relays",
                live: "",
                spec: "main:\n  smtpd_tls_ask_ccert: yes\n  smtpd_tls_CApath: /etc/ssl/certs\n  smtpd_relay_restrictions: [permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination]\n",
            },
        ],
    );
    must_accept(
        "open_relay",
        &[
            Case {
                name: "outbound relay for the office network through a smarthost",
                live: "",
                spec: "main:\n  mynetworks: [127.0.0.0/8, 10.0.0.0/8, 192.168.0.0/16]\n  relayhost: '[smtp.example.net]:587'\n  smtp_tls_security_level: encrypt\n",
            },
            Case {
                name: "submission with SASL after STARTTLS",
                live: "",
                spec: SUBMISSION,
            },
            Case {
                name: "a content filter's reinjection service (real-world master.cf 005)",
                live: "",
                spec: "main:\n  content_filter: 'smtp-amavis:[127.0.0.1]:10024'\nmaster:\n  smtp-amavis/unix:\n    command: smtp\n    maxproc: 2\n    options:\n      smtp_data_done_timeout: 1200\n      disable_dns_lookups: yes\n  127.0.0.1:10025/inet:\n    private: n\n    command: smtpd\n    options:\n      content_filter: ''\n      mynetworks: [127.0.0.0/8, 10.89.0.0/24]\n      smtpd_recipient_restrictions: [permit_mynetworks, reject]\n      smtpd_relay_restrictions: ''\n      receive_override_options: [no_header_body_checks, no_unknown_recipient_checks]\n",
            },
        ],
    );
}

#[test]
fn plaintext_auth() {
    must_refuse(
        "plaintext_auth",
        &[
            Case {
                name: "AUTH on port 25 with opportunistic TLS",
                live: "",
                spec: "main:\n  smtpd_sasl_auth_enable: yes\n",
            },
            Case {
                name: "AUTH with TLS switched off",
                live: "",
                spec: "main:\n  smtpd_sasl_auth_enable: yes\n  smtpd_tls_security_level: none\nallow: [tls_downgrade]\n",
            },
            Case {
                name: "a submission service whose -o lowers TLS to may",
                live: "",
                spec: "master:\n  submission/inet:\n    private: n\n    command: smtpd\n    options:\n      syslog_name: postfix/submission\n      smtpd_tls_security_level: may\n      smtpd_sasl_auth_enable: yes\n      smtpd_relay_restrictions: [permit_sasl_authenticated, reject]\n",
            },
        ],
    );
    must_accept(
        "plaintext_auth",
        &[
            Case {
                name: "submission with SASL after STARTTLS",
                live: "",
                spec: SUBMISSION,
            },
            Case {
                name: "smtps (465) in wrapper mode",
                live: "",
                spec: "master:\n  smtps/inet:\n    private: n\n    command: smtpd\n    options:\n      syslog_name: postfix/smtps\n      smtpd_tls_wrappermode: yes\n      smtpd_sasl_auth_enable: yes\n      smtpd_relay_restrictions: [permit_sasl_authenticated, reject]\n",
            },
            Case {
                name: "AUTH on port 25 only after STARTTLS",
                live: "",
                spec: "main:\n  smtpd_sasl_auth_enable: yes\n  smtpd_tls_auth_only: yes\n",
            },
        ],
    );
}

#[test]
fn tls_downgrade() {
    must_refuse(
        "tls_downgrade",
        &[
            Case {
                name: "outbound TLS from may to none",
                live: "",
                spec: "main:\n  smtp_tls_security_level: none\n",
            },
            Case {
                name: "outbound TLS from encrypt to may",
                live: "smtp_tls_security_level = encrypt\n",
                spec: "main:\n  smtp_tls_security_level: may\n",
            },
            Case {
                name: "the relay transport's -o drops TLS",
                live: "",
                spec: "master:\n  relay/unix:\n    options:\n      syslog_name: postfix/$service_name\n      smtp_tls_security_level: none\n",
            },
            Case {
                name: "mandatory ciphers from high to low",
                live: "smtpd_tls_mandatory_ciphers = high\n",
                spec: "main:\n  smtpd_tls_mandatory_ciphers: low\n",
            },
        ],
    );
    must_accept(
        "tls_downgrade",
        &[
            Case {
                name: "outbound TLS from may to encrypt",
                live: "",
                spec: "main:\n  smtp_tls_security_level: encrypt\n",
            },
            Case {
                name: "outbound TLS from may to dane",
                live: "",
                spec: "main:\n  smtp_tls_security_level: dane\n  smtp_dns_support_level: dnssec\n",
            },
            Case {
                name: "mandatory protocols raised to TLSv1.2",
                live: "",
                spec: "main:\n  smtpd_tls_mandatory_protocols: '>=TLSv1.2'\n  smtp_tls_mandatory_protocols: '>=TLSv1.2'\n",
            },
        ],
    );
}

#[test]
fn compat_downgrade() {
    must_refuse(
        "compat_downgrade",
        &[
            Case {
                name: "compatibility_level lowered to 2",
                live: "",
                spec: "main:\n  compatibility_level: '2'\n",
            },
            Case {
                name: "compatibility_level removed",
                live: "",
                spec: "main:\n  compatibility_level: null\nallow: [tls_downgrade]\n",
            },
            Case {
                name: "purge without compatibility_level",
                live: "",
                spec: "main:\n  inet_protocols: ipv4\n  smtpd_relay_restrictions: [permit_mynetworks, reject_unauth_destination]\npurge: true\nallow: [tls_downgrade]\n",
            },
            Case {
                name: "a service's -o lowers it",
                live: "",
                spec: "master:\n  smtp/inet:\n    options:\n      compatibility_level: '0'\n",
            },
        ],
    );
    must_accept(
        "compat_downgrade",
        &[
            Case {
                name: "restated with another change",
                live: "",
                spec: "main:\n  compatibility_level: '3.6'\n  inet_protocols: ipv4\n",
            },
            Case {
                name: "raised to the host's version",
                live: "",
                spec: "main:\n  compatibility_level: '3.7'\n",
            },
            Case {
                name: "purge that keeps it",
                live: "",
                spec: "main:\n  compatibility_level: '3.6'\n  inet_protocols: ipv4\n  smtpd_relay_restrictions: [permit_mynetworks, reject_unauth_destination]\n  smtp_tls_security_level: may\n  smtpd_tls_security_level: may\n  smtpd_tls_cert_file: /etc/ssl/certs/ssl-cert-snakeoil.pem\n  smtpd_tls_key_file: /etc/ssl/private/ssl-cert-snakeoil.key\npurge: true\n",
            },
        ],
    );
}
