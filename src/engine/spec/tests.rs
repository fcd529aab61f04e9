//! The model and the sections: values, layering rules and locations.

use super::*;
use std::path::{Path, PathBuf};

#[test]
fn short_form_types() {
    let s = Spec::from_yaml_str(
        "inet_protocols: ipv4\nbiff: false\nmessage_size_limit: 1024\nmynetworks: [127.0.0.0/8, '[::1]/128']\nrelayhost: null\n",
        "t.yaml",
    )
    .unwrap();
    assert_eq!(
        s.main["inet_protocols"],
        Some(SpecValue::Str("ipv4".into()))
    );
    assert_eq!(s.main["biff"], Some(SpecValue::Bool(false)));
    assert_eq!(s.main["biff"].as_ref().unwrap().render(), "no");
    assert_eq!(
        s.main["message_size_limit"].as_ref().unwrap().render(),
        "1024"
    );
    assert_eq!(
        s.main["mynetworks"].as_ref().unwrap().render(),
        "127.0.0.0/8, [::1]/128"
    );
    assert_eq!(s.main["relayhost"], None);
    assert_eq!(s.location_of("biff").line, 2);
}

#[test]
fn full_form_sections() {
    let s = Spec::from_yaml_str(
        "main:\n  inet_protocols: ipv4\npurge: true\nservice: restart\n",
        "t.yaml",
    )
    .unwrap();
    assert!(s.purge);
    assert_eq!(s.service, Some(ServiceMode::Restart));
    assert_eq!(s.location_of("inet_protocols").line, 2);
    assert_eq!(s.location_of("inet_protocols").column, 3);
}

#[test]
fn all_errors_at_once() {
    let e = Spec::from_yaml_str(
        "main:\n  a: {x: 1}\n  b: 1.5\npurge: maybe\nbogus: 1\n",
        "t.yaml",
    )
    .unwrap_err();
    assert_eq!(e.0.len(), 4, "{e}");
}

#[test]
fn bad_yaml_has_location() {
    let e = Spec::from_yaml_str("a: [1, 2\n", "t.yaml").unwrap_err();
    assert!(e.0[0].location.line >= 1, "{e}");
    assert!(e.to_string().starts_with("t.yaml:"), "{e}");
}

fn load(text: &str) -> Spec {
    Spec::from_yaml_str(text, "t.yaml").unwrap_or_else(|e| panic!("{e}"))
}

/// Every error as `line:column: message`.
fn errors(text: &str) -> Vec<String> {
    Spec::from_yaml_str(text, "t.yaml")
        .expect_err("errors")
        .0
        .iter()
        .map(|e| format!("{}:{}: {}", e.location.line, e.location.column, e.message))
        .collect()
}

fn key(s: &str) -> ServiceKey {
    s.parse().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

const MASTER: &str = "\
master:
  submission/inet:
    private: n
    unpriv: true
    chroot: \"-\"
    wakeup: 60
    maxproc: \"-\"
    command: smtpd
    args: [flags=R, user=vmail]
    options:
      syslog_name: postfix/submission
      smtpd_tls_security_level: encrypt
      smtpd_sasl_auth_enable: true
      smtpd_client_restrictions: [permit_sasl_authenticated, reject]
      milter_macro_daemon_name: null
  smtps/inet: null
  pickup/unix:
    wakeup: \"60?\"
    maxproc: 1
  127.0.0.1:10025/inet: {command: smtpd}
  '[::1]:10025/inet': {private: no}
main:
  smtp: x
";

#[test]
fn master_services_have_typed_fields() {
    let s = load(MASTER);
    let sub = s.master[&key("submission/inet")].as_ref().unwrap();
    assert_eq!(sub.private, Some(Flag::No));
    assert_eq!(sub.unpriv, Some(Flag::Yes));
    assert_eq!(sub.chroot, Some(Flag::Default));
    assert_eq!(
        sub.wakeup,
        Some(Wakeup::Every {
            seconds: 60,
            only_if_used: false
        })
    );
    assert_eq!(sub.maxproc, Some(MaxProc::Default));
    assert_eq!(sub.command.as_deref(), Some("smtpd"));
    assert_eq!(
        sub.args,
        Some(vec!["flags=R".to_string(), "user=vmail".to_string()])
    );
    let names: Vec<&str> = sub.options.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "syslog_name",
            "smtpd_tls_security_level",
            "smtpd_sasl_auth_enable",
            "smtpd_client_restrictions",
            "milter_macro_daemon_name"
        ],
        "options keep the order written"
    );
    assert_eq!(
        sub.option("smtpd_sasl_auth_enable"),
        Some(&Some(SpecValue::Bool(true)))
    );
    assert_eq!(sub.option("milter_macro_daemon_name"), Some(&None));
    assert_eq!(sub.option("nothing"), None);
    assert_eq!(s.master[&key("smtps/inet")], None);
    let pickup = s.master[&key("pickup/unix")].as_ref().unwrap();
    assert_eq!(
        pickup.wakeup,
        Some(Wakeup::Every {
            seconds: 60,
            only_if_used: true
        })
    );
    assert_eq!(pickup.maxproc, Some(MaxProc::Limit(1)));
    assert_eq!(pickup.command, None, "unnamed fields stay unmanaged");
    // inet names with ':' and '[v6]', split at the last '/'.
    let local = key("127.0.0.1:10025/inet");
    assert_eq!(local.name, "127.0.0.1:10025");
    assert!(s.master.contains_key(&local));
    let v6 = key("[::1]:10025/inet");
    assert_eq!(
        (v6.name.as_str(), v6.kind),
        ("[::1]:10025", ServiceType::Inet)
    );
    assert_eq!(
        s.master[&v6].as_ref().unwrap().private,
        Some(Flag::No),
        "`no` is a flag"
    );
    assert_eq!(key("private/x/unix").name, "private/x");
    assert_eq!(key("x/unix-dgram").kind, ServiceType::UnixDgram);
}

#[test]
fn every_item_has_its_own_location() {
    let s = load(MASTER);
    let at = |k: SpecKey| {
        let l = s.location(&k);
        (l.line, l.column)
    };
    let sub = key("submission/inet");
    assert_eq!(at(SpecKey::Top(Section::Master)), (1, 1));
    assert_eq!(at(SpecKey::Service(sub.clone())), (2, 3));
    assert_eq!(
        at(SpecKey::ServiceField(sub.clone(), ServiceField::Chroot)),
        (5, 5)
    );
    assert_eq!(
        at(SpecKey::ServiceField(sub.clone(), ServiceField::Args)),
        (9, 5)
    );
    assert_eq!(
        at(SpecKey::ServiceOption(
            sub,
            "smtpd_tls_security_level".into()
        )),
        (12, 7)
    );
    assert_eq!(at(SpecKey::Service(key("smtps/inet"))), (16, 3));
    // The parameter `smtp` and the service `smtp/...` never collide.
    assert_eq!(s.location_of("smtp").line, 23);
    assert_eq!(at(SpecKey::Param("smtp".into())), (23, 3));
    // Unknown keys: the file, no line.
    let unknown = s.location(&SpecKey::Alias("nobody".into()));
    assert_eq!((unknown.file.as_str(), unknown.line), ("", 0));
}

#[test]
fn maps_keep_entry_order_and_typed_fields() {
    let s = load(
        "maps:
  /etc/postfix/virtual_regexp:
    type: regexp
    mode: 0644
    owner: root
    group: 0
    entries:
      /^b@/: second
      /^a@/: first
      '10': 0x10
  relative/access:
    type: cidr
    mode: \"0600\"
    secret: true
    entries: {10.0.0.0/8: OK}
  /etc/postfix/old: null
",
    );
    let re = s.maps["/etc/postfix/virtual_regexp"].as_ref().unwrap();
    assert_eq!(re.kind, MapType::Regexp);
    assert!(!re.kind.is_indexed());
    assert_eq!(re.mode, Some(0o644));
    assert_eq!(re.owner.as_deref(), Some("root"));
    assert_eq!(re.group.as_deref(), Some("0"));
    let keys: Vec<&str> = re.entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["/^b@/", "/^a@/", "10"],
        "first match wins: order kept"
    );
    assert_eq!(re.entry("10").map(EntryValue::expose), Some("0x10"));
    assert!(!re.secret);
    let access = s.maps["relative/access"].as_ref().unwrap();
    assert_eq!(access.mode, Some(0o600));
    assert!(access.secret);
    assert_eq!(s.maps["/etc/postfix/old"], None);
    let l = s.location(&SpecKey::MapEntry(
        "/etc/postfix/virtual_regexp".into(),
        "/^a@/".into(),
    ));
    assert_eq!((l.line, l.column), (9, 7));
    let l = s.location(&SpecKey::MapField("relative/access".into(), MapField::Mode));
    assert_eq!(l.line, 13);
    for (mode, want) in [
        ("600", 0o600),
        ("0o640", 0o640),
        ("'0755'", 0o755),
        ("4755", 0o4755),
    ] {
        let s = load(&format!("maps:\n  /x:\n    type: hash\n    mode: {mode}\n"));
        assert_eq!(s.maps["/x"].as_ref().unwrap().mode, Some(want), "{mode}");
    }
}

/// Secrets come from files (relative to the spec file) or the
/// environment, and never show in messages or `Debug`.
#[test]
fn secret_references_resolve_and_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "secrets/relay", "alice:S3cr3t-file\n");
    write(d, "secrets/two-lines", "alice:S3cr3t-two\nmore\n");
    let var = "POSTFORM_SPEC_TEST_SECRET";
    // Set once, read by this test only.
    std::env::set_var(var, "bob:S3cr3t-env");
    let spec = write(
        d,
        "hosts/h.yaml",
        &format!(
            "maps:\n  /etc/postfix/sasl_passwd:\n    type: hash\n    entries:\n      \"[a.example]:587\": {{file: ../secrets/relay}}\n      \"[b.example]:587\": {{env: {var}}}\n      plain: text\n"
        ),
    );
    let s = Spec::load(&spec).unwrap();
    let t = s.maps["/etc/postfix/sasl_passwd"].as_ref().unwrap();
    assert!(t.secret, "a table with references is secret");
    assert_eq!(t.entries[0].1.expose(), "alice:S3cr3t-file");
    assert_eq!(t.entries[1].1.expose(), "bob:S3cr3t-env");
    assert!(t.entries[0].1.is_secret() && !t.entries[2].1.is_secret());
    match &t.entries[1].1 {
        EntryValue::Secret(secret) => assert_eq!(secret.source(), &SecretSource::Env(var.into())),
        other => panic!("{other:?}"),
    }
    let debug = format!("{s:?}");
    assert!(!debug.contains("S3cr3t"), "{debug}");
    assert!(debug.contains("<redacted>"));
    // Problems name the reference, never the value.
    let bad = write(
        d,
        "hosts/bad.yaml",
        &format!("maps:\n  /x:\n    type: hash\n    secret: false\n    entries:\n      a: {{file: ../secrets/two-lines}}\n      b: {{env: POSTFORM_SPEC_TEST_UNSET}}\n      c: {{file: ../secrets/missing}}\n      d: {{env: 'a b'}}\n      e: {{file: ../secrets/relay, env: {var}}}\n      f: {{file: ../secrets/relay}}\n"),
    );
    let e = Spec::load(&bad).unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("S3cr3t"), "{text}");
    let messages: Vec<&str> = e.0.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`/x` entry `a`: the secret from `../secrets/two-lines` has more than one line (or a control character), which would inject lines into the table",
            "`/x` entry `b`: the environment variable POSTFORM_SPEC_TEST_UNSET is not set",
            "`/x` entry `c`: cannot read the secret file `../secrets/missing`: No such file or directory (os error 2)",
            "`/x` entry `d`: `env` needs a variable name (letters, digits, _)",
            "`/x` entry `e`: a secret reference has exactly one key, file or env",
            "`/x`: secret: false, but entries come from secret references",
        ]
    );
    assert_eq!(e.0[0].location.line, 6);
}

#[test]
fn aliases_allow_and_postfix_version() {
    let s = load(
        "aliases:\n  postmaster: root\n  team: [alice, bob]\n  old: null\n  'abuse': \"root, security@example.com\"\nallow: [open_relay, auth_plaintext]\npostfix_version: \"3.10\"\n",
    );
    assert_eq!(s.aliases["postmaster"], Some(vec!["root".to_string()]));
    assert_eq!(
        s.aliases["team"],
        Some(vec!["alice".to_string(), "bob".to_string()])
    );
    assert_eq!(s.aliases["old"], None);
    assert_eq!(
        s.aliases["abuse"],
        Some(vec!["root, security@example.com".to_string()])
    );
    assert!(s.allow.contains("open_relay") && s.allow.contains("auth_plaintext"));
    assert_eq!(
        s.postfix_version,
        Some(crate::catalog::PostfixVersion::new(3, 10))
    );
    assert_eq!(s.location(&SpecKey::Alias("team".into())).line, 3);
    assert_eq!(
        s.location(&SpecKey::Allow("auth_plaintext".into())).column,
        21
    );
    assert_eq!(load("allow: open_relay\n").allow.len(), 1);
}

#[test]
fn structural_errors_name_place_expectation_and_hint() {
    let got = errors(
        "master:
  smtp: {command: smtpd}
  smtp/tcp: {command: smtpd}
  /inet: {}
  relay/unix:
    comand: smtp
    chroot: maybe
    wakeup: soon
    maxproc: lots
    command: smtp -v
    args: -v
    options: {syslog-name: x, a: {b: c}}
  x/unix: [smtp]
maps:
  /etc/postfix/a:
    entries: [a, b]
  hash:/etc/postfix/b: {type: hash}
  /etc/postfix/c:
    type: mysql
    mode: 0800
    secret: yes
    entries: {k: null}
aliases:
  'a b': root
  empty: []
allow: ['open relay']
postfix_version: 3.10
",
    );
    assert_eq!(
        got,
        [
            "2:3: `master`: `smtp`: a service is named service/type, e.g. smtp/inet",
            "3:3: `master`: `smtp/tcp`: unknown service type `tcp`: expected inet, unix, unix-dgram, fifo or pass",
            "4:3: `master`: `/inet`: the service name before the `/` is empty",
            "6:5: `relay/unix`: unknown field `comand`",
            "7:5: `relay/unix` chroot: expected y, n or - (or true/false), found \"maybe\"",
            "8:5: `relay/unix` wakeup: expected a number of seconds, that number followed by ? (wake up only when used), or -, found \"soon\"",
            "9:5: `relay/unix` maxproc: expected a process limit (a whole number, 0: no limit) or -, found \"lots\"",
            "10:5: `relay/unix` command: \"smtp -v\" is more than one word",
            "11:5: `relay/unix` args: expected a list of arguments, found \"-v\"",
            "12:15: `relay/unix` options: \"syslog-name\" is not a parameter name",
            "12:31: `relay/unix` options: a: expected a value, found a mapping",
            "13:3: `x/unix` must be a mapping of fields (or null to remove the service), found a list",
            "16:5: `/etc/postfix/a` entries must be a mapping of key: value, found a list",
            "15:3: `/etc/postfix/a`: `type` is missing",
            "17:3: `maps`: `hash:/etc/postfix/b` names the type in the path",
            "19:5: `/etc/postfix/c` type: unknown table type `mysql`: expected hash, lmdb, cdb, btree, regexp, pcre, cidr, texthash",
            "20:5: `/etc/postfix/c` mode: expected an octal mode like \"0600\", found \"0800\"",
            "21:5: `/etc/postfix/c` secret: expected true or false, found \"yes\"",
            "22:15: `/etc/postfix/c` entry `k`: no value",
            "24:3: `aliases`: the name \"a b\" contains a space",
            "25:3: `aliases`: empty: the list of targets is empty",
            "26:9: `allow`: \"open relay\" is not a policy id",
            "27:1: `postfix_version` must be a string, found the number 3.10",
        ]
    );
    let e = Spec::from_yaml_str("postfix_version: 3.10\n", "t.yaml").unwrap_err();
    assert_eq!(
        e.0[0].hint.as_deref(),
        Some("YAML reads 3.10 as the number 3.1; quote it: postfix_version: \"3.10\"")
    );
    let e =
        Spec::from_yaml_str("master:\n  smtpd/inet:\n    comand: smtpd\n", "t.yaml").unwrap_err();
    assert_eq!(
        e.0[0].hint.as_deref(),
        Some("did you mean `command`? The fields are private, unpriv, chroot, wakeup, maxproc, command, args, options")
    );
    // A lone `-` starts a YAML list: the hint says to quote it.
    let e = Spec::from_yaml_str("master:\n  smtp/inet:\n    chroot: -\n", "t.yaml").unwrap_err();
    assert_eq!(e.0[0].location.line, 3);
    assert!(e.0[0].hint.as_deref().unwrap().contains("\"-\""), "{e}");
}

/// adversarial-review L2: YAML's other integer forms keep their text.
#[test]
fn other_integer_forms_are_kept_as_written() {
    let s = load("smtpd_banner: 0x10\nmessage_size_limit: +5\nmynetworks: [0o10, 007]\n");
    assert_eq!(s.main["smtpd_banner"], Some(SpecValue::Str("0x10".into())));
    assert_eq!(
        s.main["message_size_limit"],
        Some(SpecValue::Str("+5".into()))
    );
    assert_eq!(
        s.main["mynetworks"],
        Some(SpecValue::List(vec!["0o10".into(), "007".into()]))
    );
    assert_eq!(
        errors("smtpd_banner: !!binary aGVsbG8=\n"),
        ["1:1: smtpd_banner: the YAML tag !!binary is not supported: a spec value is text; write the text itself"]
    );
}

/// Layering, section by section (module documentation).
#[test]
fn layers_merge_by_the_rules_of_each_section() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "base.yaml",
        "master:
  submission/inet:
    private: n
    command: smtpd
    options: {syslog_name: base, smtpd_tls_security_level: may}
  smtps/inet: {command: smtpd, chroot: n}
  relay/unix: {command: smtp}
maps:
  /m: {type: hash, mode: '0600', entries: {a: '1', b: '2'}}
aliases: {postmaster: root, abuse: root}
allow: [open_relay]
custom_parameters: [a_one]
postfix_version: '3.7'
purge: true
service: reload
",
    );
    write(
        d,
        "mid.yaml",
        "extends: base.yaml
master:
  submission/inet:
    chroot: y
    options: {smtpd_tls_security_level: encrypt, milter_macro_daemon_name: ORIGINATING}
  smtps/inet: null
maps:
  /m: {type: cidr, entries: {10.0.0.0/8: OK}}
aliases: {abuse: null, team: [a, b]}
allow: [auth_plaintext]
custom_parameters: [a_two]
purge: false
",
    );
    let top = write(
        d,
        "top.yaml",
        "extends: mid.yaml
master:
  smtps/inet: {maxproc: 5}
  submission/inet:
    options: {syslog_name: null}
postfix_version: '3.10'
",
    );
    let s = Spec::load(&top).unwrap();
    let sub = s.master[&key("submission/inet")].as_ref().unwrap();
    assert_eq!(sub.private, Some(Flag::No), "kept from base");
    assert_eq!(sub.chroot, Some(Flag::Yes), "added by mid");
    assert_eq!(sub.command.as_deref(), Some("smtpd"));
    assert_eq!(
        sub.options,
        vec![
            ("syslog_name".to_string(), None),
            (
                "smtpd_tls_security_level".to_string(),
                Some(SpecValue::Str("encrypt".into()))
            ),
            (
                "milter_macro_daemon_name".to_string(),
                Some(SpecValue::Str("ORIGINATING".into()))
            ),
        ],
        "option by option, first place kept"
    );
    assert_eq!(
        s.master[&key("smtps/inet")],
        Some(MasterService {
            maxproc: Some(MaxProc::Limit(5)),
            ..MasterService::default()
        }),
        "removed by mid, re-added by top with only its own fields"
    );
    assert!(s.master[&key("relay/unix")].is_some());
    let m = s.maps["/m"].as_ref().unwrap();
    assert_eq!(
        (m.kind, m.mode, m.entries.len()),
        (MapType::Cidr, None, 1),
        "replaced whole"
    );
    assert_eq!(s.aliases["abuse"], None);
    assert_eq!(s.aliases["postmaster"], Some(vec!["root".into()]));
    assert!(s.aliases.contains_key("team"));
    assert_eq!(s.allow.len(), 2);
    assert_eq!(s.custom_parameters.len(), 2);
    assert_eq!(
        s.postfix_version.map(|v| v.to_string()).as_deref(),
        Some("3.10")
    );
    assert!(!s.purge, "mid's purge: false wins over base's true");
    assert_eq!(s.service, Some(ServiceMode::Reload));
    // Locations follow the winning layer; a removed service's old fields
    // have none.
    let smtps = key("smtps/inet");
    assert!(s
        .location(&SpecKey::Service(smtps.clone()))
        .file
        .ends_with("top.yaml"));
    assert!(s
        .location_if_known(&SpecKey::ServiceField(smtps.clone(), ServiceField::Chroot))
        .is_none());
    assert!(s
        .location(&SpecKey::ServiceField(
            key("submission/inet"),
            ServiceField::Private
        ))
        .file
        .ends_with("base.yaml"));
    assert!(s
        .location_if_known(&SpecKey::MapField("/m".into(), MapField::Mode))
        .is_none());
    // The layer cache gives the same spec (a removed-then-re-added
    // service replaces what is below even when applied as one cached layer).
    let cache = LayerCache::default();
    let other = write(d, "other.yaml", "extends: [base.yaml, top.yaml]\n");
    assert_eq!(Spec::load_cached(&top, &cache).unwrap(), s);
    assert_eq!(
        Spec::load_cached(&other, &cache).unwrap(),
        Spec::load(&other).unwrap()
    );
}

/// An Ansible option's JSON reads like YAML, without a text round trip:
/// same types and messages, locations name the option.
#[test]
fn json_specs_read_like_yaml() {
    let v = serde_json::json!({
        "main": {"biff": false, "message_size_limit": 10240000, "relayhost": null, "smtpd_banner": "0x10", "mynetworks": ["127.0.0.0/8", 5]},
        "master": {"submission/inet": {"chroot": "n", "wakeup": 60, "options": {"syslog_name": "x"}}},
        "allow": ["open_relay"]
    });
    let s = Spec::from_json(&v, "spec option").unwrap();
    assert_eq!(s.main["biff"], Some(SpecValue::Bool(false)));
    assert_eq!(
        s.main["message_size_limit"],
        Some(SpecValue::Int(10_240_000))
    );
    assert_eq!(s.main["relayhost"], None);
    assert_eq!(s.main["smtpd_banner"], Some(SpecValue::Str("0x10".into())));
    assert_eq!(
        s.main["mynetworks"],
        Some(SpecValue::List(vec!["127.0.0.0/8".into(), "5".into()]))
    );
    assert_eq!(
        s.master[&key("submission/inet")].as_ref().unwrap().chroot,
        Some(Flag::No)
    );
    let e = Spec::from_json(
        &serde_json::json!({"main": {"a": 1.5, "b": {"c": 1}}}),
        "parameters option",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "parameters option: a: expected a string, yes/no, an integer or a list, found the number 1.5; if you mean the text, quote it (\"1.5\") so that YAML keeps it as written\n  hint: a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove\nparameters option: b: expected a value, found a mapping\n  hint: a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove"
    );
    // A string "true" stays text; JSON true is a boolean.
    let s = Spec::from_json(&serde_json::json!({"a": "true", "b": true}), "o").unwrap();
    assert_eq!(s.main["a"], Some(SpecValue::Str("true".into())));
    assert_eq!(s.main["b"], Some(SpecValue::Bool(true)));
}
