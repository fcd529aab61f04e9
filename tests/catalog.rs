//! The parameter catalog, value checks, known-name rules and macro syntax,
//! through the public API, plus differential checks against the real
//! postconf when it is installed.

mod support;

use postform::catalog::{
    check_value, check_value_for, enum_values, is_legacy_in, name_history, read_only,
    restart_class, Catalog, NameChange, NameContext, Param, ParamType, PostfixVersion,
    RestartClass, SeriesFit, SeriesMatch, ValueProblem, KNOWN_SERIES, KNOWN_SERIES_RANGE,
};
use postform::postfix::list::check_braces;
use postform::postfix::macros::{check_syntax, expand, references, MacroError};
use postform::postfix::mastercf::MasterCf;

const DEBIAN_MASTER_CF: &[u8] = include_bytes!("fixtures/mastercf/debian/master.cf");

fn param(name: &str) -> Param {
    *Catalog::builtin()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is built-in"))
}

#[test]
fn builtin_catalog() {
    let c = Catalog::builtin();
    assert_eq!(c.len(), 831);
    assert_eq!(c.mail_version(), Some("3.7.11"));
    let names: Vec<&str> = c.names().collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(param("inet_protocols").default, "all");
    assert_eq!(param("biff").ty, ParamType::Bool);
    assert_eq!(param("queue_run_delay").ty, ParamType::Time);
    assert_eq!(param("message_size_limit").ty, ParamType::Long);
    assert_eq!(param("mailbox_command").ty, ParamType::Raw);
    assert_eq!(param("myhostname").ty, ParamType::StrFn);
    assert_eq!(param("smtputf8_enable").ty, ParamType::Nbool);
    assert!(c.get("relay_destination_concurrency_limit").is_none());
}

#[test]
fn restart_classes() {
    for name in [
        "inet_interfaces",
        "inet_protocols",
        "config_directory",
        "queue_directory",
        "data_directory",
        "import_environment",
        "maillog_file",
    ] {
        assert_eq!(restart_class(name), RestartClass::Restart, "{name}");
    }
    for name in [
        "myhostname",
        "relayhost",
        "smtpd_tls_security_level",
        "master_service_disable",
    ] {
        assert_eq!(restart_class(name), RestartClass::Reload, "{name}");
    }
    assert!(read_only("process_id"));
    assert!(!read_only("relayhost"));
}

#[test]
fn value_checks_explain_what_was_expected() {
    let problem = |name: &str, value: &str| {
        check_value(&param(name), value)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(problem("biff", "yes"), None);
    assert_eq!(
        problem("biff", "maybe").as_deref(),
        Some("invalid value \"maybe\": expected yes or no")
    );
    assert_eq!(
        problem("default_process_limit", "abc").as_deref(),
        Some("invalid value \"abc\": expected a whole number")
    );
    assert_eq!(
        problem("queue_run_delay", "5x").as_deref(),
        Some("invalid value \"5x\": expected a time like 10s, 5m, 1h, 2d, 1w")
    );
    assert_eq!(
        problem("inet_protocols", "ipv5").as_deref(),
        Some("invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6")
    );
    assert_eq!(problem("inet_protocols", "ipv4, ipv6"), None);
    assert_eq!(problem("inet_protocols", "$my_protocols"), None);
    assert!(matches!(
        check_value(&param("smtpd_tls_security_level"), "dane"),
        Err(ValueProblem::NotInSet { .. })
    ));
    assert_eq!(problem("smtp_tls_security_level", "dane-only"), None);
    assert_eq!(problem("message_size_limit", "10240000"), None);
}

#[test]
fn enum_value_sets() {
    assert_eq!(
        enum_values("inet_protocols"),
        Some(&["all", "ipv4", "ipv6"][..])
    );
    assert_eq!(
        enum_values("smtp_tls_security_level"),
        Some(
            &[
                "none",
                "may",
                "encrypt",
                "dane",
                "dane-only",
                "fingerprint",
                "verify",
                "secure"
            ][..]
        )
    );
    assert_eq!(
        enum_values("smtpd_tls_security_level"),
        Some(&["none", "may", "encrypt"][..])
    );
    assert_eq!(
        enum_values("smtpd_tls_mandatory_ciphers"),
        Some(&["export", "low", "medium", "high", "null"][..])
    );
    assert!(enum_values("notify_classes").is_some_and(|v| v.contains(&"2bounce")));
    assert_eq!(enum_values("relayhost"), None);
}

// SPEC cases/11-unknown-vs-user-defined (with Debian's master.cf).
#[test]
fn case_11_known_names() {
    let catalog = Catalog::builtin();
    let master = MasterCf::parse(DEBIAN_MASTER_CF).expect("debian master.cf");
    let main = [
        ("my_helo_checks", "reject_invalid_helo_hostname"),
        ("smtpd_helo_restrictions", "$my_helo_checks"),
        ("smtpd_restriction_classes", "strict"),
        ("strict", "reject"),
        ("not_a_param", "1"),
        ("relay_destination_concurrency_limit", "5"),
        ("nosuchtransport_destination_concurrency_limit", "5"),
        ("smtp_tls_policy_maps", "$undefined_thing"),
        ("process_id", "5"),
    ];
    let ctx = NameContext::new(catalog, &master.services, &main, &[]);
    // expected.txt of the case: the names postconf -n prints.
    for name in [
        "my_helo_checks",
        "relay_destination_concurrency_limit",
        "smtp_tls_policy_maps",
        "smtpd_helo_restrictions",
        "smtpd_restriction_classes",
        "strict",
    ] {
        assert!(ctx.is_known(catalog, name), "{name}");
    }
    // expected_stderr.txt: unused.
    assert!(!ctx.is_known(catalog, "not_a_param"));
    assert!(!ctx.is_known(catalog, "nosuchtransport_destination_concurrency_limit"));
    assert!(read_only("process_id"));
    assert!(ctx.is_service_derived("relay_destination_concurrency_limit"));
    assert_eq!(
        catalog.suggest(
            "relay_destination_concurency_limit",
            &ctx.known_names(catalog)
        ),
        Some("relay_destination_concurrency_limit")
    );
    assert_eq!(
        catalog.suggest("inet_protocol", &[]),
        Some("inet_protocols")
    );
    assert_eq!(catalog.suggest("zzzzzzzzzzzz", &[]), None);
}

// SPEC cases/14-expressions-and-literals.
#[test]
fn case_14_expressions_are_valid_and_referenced() {
    let banner = "${my_flag?{on}:{off}} ${my_unset:dflt} $(myhostname) $$HOME ${{$my_flag} == {yes} ? {Y} : {N}}";
    assert_eq!(check_syntax(banner.as_bytes()), Ok(()));
    assert_eq!(
        references(banner.as_bytes()),
        ["my_flag", "my_unset", "myhostname"]
    );
    assert_eq!(check_syntax(b"\"quoted.example\" \\"), Ok(()));
    assert_eq!(check_syntax(b"[r.example]"), Ok(()));
    let lookup = |n: &str| match n {
        "my_flag" => Some(b"yes".to_vec()),
        "myhostname" => Some(b"mx.example".to_vec()),
        _ => None,
    };
    let e = expand(banner.as_bytes(), lookup).expect("expands");
    assert_eq!(
        String::from_utf8_lossy(&e.value),
        "on dflt mx.example $HOME Y"
    );
    // The case's only warning, recorded from postconf 3.7.11:
    // "undefined parameter: my_unset" (Postfix warns although it is only
    // tested with `${my_unset:dflt}`).
    assert_eq!(e.undefined, ["my_unset"]);
    let catalog = Catalog::builtin();
    let ctx = NameContext::new(
        catalog,
        &[],
        &[("my_flag", "yes"), ("smtpd_banner", banner)],
        &[],
    );
    assert!(ctx.is_known(catalog, "my_flag"));
}

// SPEC cases/15-truncated-macro-fatal.
#[test]
fn case_15_truncated_macro() {
    let err = check_syntax(b"${myhostname ESMTP").expect_err("fatal in postconf");
    assert!(matches!(err, MacroError::Truncated { .. }));
    assert_eq!(
        err.to_string(),
        "truncated macro reference: \"${myhostname ESMTP\""
    );
    assert_eq!(err.offset(), 0);
}

#[test]
fn brace_checks() {
    assert_eq!(
        check_braces(b"permit_mynetworks, { check_client_access hash:/x }"),
        Ok(())
    );
    assert_eq!(
        check_braces(b"{a b").map_err(|e| e.to_string()),
        Err("missing '}' in \"{a b\"".to_string())
    );
}

#[test]
fn catalog_with_debian_services() {
    let master = MasterCf::parse(DEBIAN_MASTER_CF).expect("debian master.cf");
    let c = Catalog::builtin().with_services(&master.services);
    let p = c
        .get("relay_destination_concurrency_limit")
        .expect("derived");
    assert_eq!(
        (p.ty, p.default),
        (ParamType::Int, "$default_destination_concurrency_limit")
    );
    assert_eq!(
        c.get("maildrop_time_limit").map(|p| p.ty),
        Some(ParamType::Time)
    );
    // 1043 names with Debian's master.cf (SPEC section 4).
    assert_eq!(c.len(), 1043);
}

#[test]
fn host_catalog_is_usable_with_or_without_postfix() {
    let c = Catalog::host();
    assert!(c.contains("inet_protocols"));
    assert!(c.len() >= 831);
}

// --- Postfix versions ---------------------------------------------------------

fn version(text: &str) -> PostfixVersion {
    PostfixVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// What validating `name: value` against Postfix `version`'s catalog
/// finds, the way validation is meant to ask (catalog, legacy names,
/// user-defined names, then the name's history): "ok", "warning: ...",
/// "invalid: ..." or "unknown: ...".
fn outcome(text: &str, name: &str, value: &str) -> String {
    let v = version(text);
    let catalog = Catalog::builtin_for(v);
    if let Some(param) = catalog.get(name) {
        return match check_value_for(param, value, v) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("invalid: {e}"),
        };
    }
    if is_legacy_in(name, v) {
        return match name_history(name, v) {
            Some(h) => format!("warning: {h}"),
            None => "ok".to_string(),
        };
    }
    let context = NameContext::new(catalog, &[], &[(name, value)], &[]);
    if context.is_known(catalog, name) {
        return "ok".to_string();
    }
    match name_history(name, v) {
        Some(h) => format!("unknown: {h}"),
        None => "unknown".to_string(),
    }
}

#[test]
fn one_spec_three_versions() {
    let spec = [
        ("smtp_tlsrpt_enable", "yes"),
        ("smtp_per_record_deadline", "yes"),
        ("postscreen_denylist_action", "drop"),
        ("smtpd_tls_protocols", ">=TLSv1.2"),
        ("compatibility_level", "3.6"),
        ("milter_default_action", "shutdown"),
        ("smtpd_forbid_bare_newline", "note"),
        ("inet_protocols", "ipv4"),
        ("no_such_parameter", "1"),
    ];
    let run = |v: &str| -> Vec<String> {
        spec.iter()
            .map(|(n, val)| format!("{n}: {}", outcome(v, n, val)))
            .collect()
    };
    assert_eq!(
        run("3.5"),
        [
            "smtp_tlsrpt_enable: unknown: `smtp_tlsrpt_enable` was added in Postfix 3.10; Postfix 3.5 does not have it",
            "smtp_per_record_deadline: ok",
            "postscreen_denylist_action: unknown: `postscreen_denylist_action` was added in Postfix 3.6 as the new name of `postscreen_blacklist_action`; Postfix 3.5 uses `postscreen_blacklist_action`",
            "smtpd_tls_protocols: invalid: invalid TLS protocol \">=TLSv1.2\" in \">=TLSv1.2\": expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude) (>=/<= bounds need Postfix 3.6 or later)",
            "compatibility_level: invalid: invalid value \"3.6\": expected a whole number",
            "milter_default_action: invalid: invalid value \"shutdown\": expected one of: accept, reject, tempfail, quarantine",
            "smtpd_forbid_bare_newline: invalid: invalid value \"note\": expected one of: normalize, yes, reject, no",
            "inet_protocols: ok",
            "no_such_parameter: unknown",
        ]
    );
    assert_eq!(
        run("3.7"),
        [
            "smtp_tlsrpt_enable: unknown: `smtp_tlsrpt_enable` was added in Postfix 3.10; Postfix 3.7 does not have it",
            "smtp_per_record_deadline: warning: `smtp_per_record_deadline` was renamed to `smtp_per_request_deadline` in Postfix 3.7; Postfix 3.7 still accepts the old name",
            "postscreen_denylist_action: ok",
            "smtpd_tls_protocols: ok",
            "compatibility_level: ok",
            // 3.7 without a patch level is the newest 3.7 (3.7.22); 3.7.11
            // below has no shutdown yet.
            "milter_default_action: ok",
            "smtpd_forbid_bare_newline: invalid: invalid value \"note\": expected one of: normalize, yes, reject, no",
            "inet_protocols: ok",
            "no_such_parameter: unknown",
        ]
    );
    assert_eq!(
        run("3.10"),
        [
            "smtp_tlsrpt_enable: ok",
            "smtp_per_record_deadline: warning: `smtp_per_record_deadline` was renamed to `smtp_per_request_deadline` in Postfix 3.7; Postfix 3.10 still accepts the old name",
            "postscreen_denylist_action: ok",
            "smtpd_tls_protocols: ok",
            "compatibility_level: ok",
            "milter_default_action: ok",
            "smtpd_forbid_bare_newline: ok",
            "inet_protocols: ok",
            "no_such_parameter: unknown",
        ]
    );
    assert!(outcome("3.7.11", "milter_default_action", "shutdown").starts_with("invalid: "));
    assert_eq!(outcome("3.7.20", "milter_default_action", "shutdown"), "ok");
    // A 3.11 name removed without a replacement.
    assert_eq!(
        outcome("3.11", "tls_legacy_public_key_fingerprints", "no"),
        "unknown: `tls_legacy_public_key_fingerprints` was removed in Postfix 3.11; Postfix 3.11 does not have it"
    );
    assert_eq!(
        outcome("3.10", "tls_legacy_public_key_fingerprints", "no"),
        "ok"
    );
    // A name that only newer series have is still fine as a user-defined
    // parameter when something references it.
    let catalog = Catalog::builtin_for(version("3.7"));
    let context = NameContext::new(
        catalog,
        &[],
        &[
            ("smtp_tlsrpt_enable", "yes"),
            ("smtpd_banner", "$smtp_tlsrpt_enable"),
        ],
        &[],
    );
    assert!(context.is_known(catalog, "smtp_tlsrpt_enable"));
}

#[test]
fn defaults_and_types_differ_by_version() {
    let default = |v: &str, n: &str| {
        Catalog::builtin_for(version(v))
            .get(n)
            .map(|p| (p.ty, p.default))
    };
    assert_eq!(
        default("3.5", "smtpd_tls_protocols"),
        Some((ParamType::Str, "!SSLv2, !SSLv3"))
    );
    assert_eq!(
        default("3.7", "smtpd_tls_protocols"),
        Some((ParamType::Str, ">=TLSv1"))
    );
    assert_eq!(
        default("3.8", "smtpd_forbid_bare_newline"),
        Some((ParamType::Str, "no"))
    );
    assert_eq!(
        default("3.10", "smtpd_forbid_bare_newline"),
        Some((ParamType::Str, "normalize"))
    );
    assert_eq!(
        default("3.5", "milter_default_action"),
        Some((ParamType::Str, "tempfail"))
    );
    assert_eq!(
        default("3.10", "milter_default_action"),
        Some((ParamType::Str, "shutdown"))
    );
    assert_eq!(
        default("3.10", "alias_maps"),
        Some((ParamType::Str, "hash:/etc/aliases, nis:mail.aliases"))
    );
    assert_eq!(
        default("3.11", "alias_maps"),
        Some((
            ParamType::Str,
            "$default_database_type:/etc/aliases, nis:mail.aliases"
        ))
    );
    assert_eq!(
        default("3.5", "compatibility_level"),
        Some((ParamType::Int, "0"))
    );
    assert_eq!(
        default("3.10", "compatibility_level"),
        Some((ParamType::Str, "0"))
    );
    assert_eq!(default("3.7", "smtp_tlsrpt_enable"), None);
    // The Debian 3.7.11 catalog keeps Debian's paths; upstream 3.7 does not.
    assert_eq!(
        Catalog::builtin()
            .get("daemon_directory")
            .map(|p| p.default),
        Some("/usr/lib/postfix/sbin")
    );
    assert_eq!(
        default("3.7", "daemon_directory"),
        Some((ParamType::Str, "/usr/libexec/postfix"))
    );
}

#[test]
fn known_series_and_nearest_series() {
    assert_eq!(KNOWN_SERIES_RANGE, "3.4-3.11");
    assert_eq!(KNOWN_SERIES.first(), Some(&version("3.4")));
    assert_eq!(KNOWN_SERIES.last(), Some(&version("3.11")));
    let m = SeriesMatch::for_version(version("3.13.1"));
    assert_eq!(
        (m.series, m.fit),
        (version("3.11"), SeriesFit::NewerThanKnown)
    );
    assert!(std::ptr::eq(
        Catalog::builtin_for(version("3.13.1")),
        Catalog::builtin_for(version("3.11"))
    ));
    assert_eq!(
        name_history("smtp_tlsrpt_enable", version("3.13")),
        None,
        "a 3.11 name is current for a newer version"
    );
    assert!(matches!(
        name_history("smtp_tlsrpt_enable", version("3.9.1")).map(|h| h.change),
        Some(NameChange::AddedIn { .. })
    ));
}

// --- against the real postconf ----------------------------------------------

#[test]
fn live_postconf_d_with_debian_master_cf() {
    let Some(postconf) = support::postconf() else {
        return;
    };
    let scratch = support::scratch_config_dir(b"", Some(DEBIAN_MASTER_CF));
    let host = Catalog::from_postconf(&postconf, Some(scratch.path())).expect("postconf -d");
    assert_eq!(host.len(), 1043);
    assert!(host.contains("relay_destination_concurrency_limit"));
    let master = MasterCf::parse(DEBIAN_MASTER_CF).expect("debian master.cf");
    let ours = Catalog::builtin().with_services(&master.services);
    let host_names: Vec<&str> = host.names().collect();
    let our_names: Vec<&str> = ours.names().collect();
    assert_eq!(our_names, host_names);
    if host.mail_version() == Some("3.7.11") {
        for p in host.params() {
            let ours = ours.get(p.name).expect("same names");
            assert_eq!(ours.ty, p.ty, "{}", p.name);
            if !matches!(p.ty, ParamType::StrFn) && !matches!(p.name, "process_id") {
                assert_eq!(ours.default, p.default, "default of {}", p.name);
            }
        }
    }
}

#[test]
fn live_postconf_d_matches_the_table_of_its_series() {
    let Some(postconf) = support::postconf() else {
        return;
    };
    let scratch = support::scratch_config_dir(b"", Some(b""));
    let host = Catalog::from_postconf(&postconf, Some(scratch.path())).expect("postconf -d");
    let v = host.postfix_version().expect("mail_version");
    let table = Catalog::builtin_for(v);
    let host_names: Vec<&str> = host.names().collect();
    let table_names: Vec<&str> = table.names().collect();
    assert_eq!(
        table_names,
        host_names,
        "postconf {v} vs the {} table",
        SeriesMatch::for_version(v).release
    );
}

#[test]
fn live_postconf_accepts_exactly_the_legacy_names_of_its_version() {
    let Some(postconf) = support::postconf() else {
        return;
    };
    let v = Catalog::from_postconf(&postconf, None)
        .ok()
        .and_then(|c| c.postfix_version())
        .expect("mail_version");
    // Every legacy name of the version is accepted (no "unused parameter"
    // warning); a name only later series have is not, and its history
    // says so.
    let mut main = String::new();
    for name in postform::catalog::legacy_params(v) {
        main.push_str(&format!("{name} = x\n"));
    }
    let later = KNOWN_SERIES
        .iter()
        .filter(|s| **s > v.series())
        .flat_map(|s| Catalog::builtin_for(*s).names())
        .find(|n| !Catalog::builtin_for(v).contains(n) && !is_legacy_in(n, v));
    if let Some(name) = later {
        main.push_str(&format!("{name} = x\n"));
        assert!(matches!(
            name_history(name, v).map(|h| h.change),
            Some(NameChange::AddedIn { .. })
        ));
    }
    let scratch = support::scratch_config_dir(main.as_bytes(), Some(DEBIAN_MASTER_CF));
    let out = support::postconf_n(scratch.path());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for name in postform::catalog::legacy_params(v) {
        assert!(!stderr.contains(&format!("{name}=")), "{name}: {stderr}");
    }
    if let Some(name) = later {
        assert!(
            stderr.contains(&format!("unused parameter: {name}=x")),
            "{name} should be unknown to postconf {v}: {stderr}"
        );
    }
}

/// `postconf -n` exit status for `smtpd_banner = VALUE`, plus stderr.
fn postconf_banner(value: &[u8]) -> (bool, String) {
    let mut main = b"smtpd_banner = ".to_vec();
    main.extend_from_slice(value);
    main.push(b'\n');
    let scratch = support::scratch_config_dir(&main, Some(DEBIAN_MASTER_CF));
    let out = support::postconf_n(scratch.path());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn live_macro_syntax_agrees_with_postconf() {
    if support::postconf().is_none() {
        return;
    }
    // Values whose branches are all visited by postconf too (no error hides
    // in an untaken conditional branch, where check_syntax is stricter).
    let values: &[&[u8]] = &[
        b"${myhostname ESMTP",
        b"$myhostname ESMTP $mail_name",
        b"$",
        b"a $ b",
        b"$-x",
        b"${}",
        b"$()",
        b"${ myhostname }",
        b"${my-host}",
        b"${myhostname?",
        b"${x?{a}:{b}}",
        b"${x?{a}:{b}} junk",
        b"${x?{a} junk}",
        b"${x:{a}:{b} junk}",
        b"${{a} == {b}}",
        b"${{a} =~ {b}}",
        b"${{a} == b}",
        b"${{a} == {b} ? {t} : {f}}",
        b"${{a} == {b} x}",
        b"${{a} <level {1} ? {x}}",
        b"${{3.6} <level {1} ? {x}}",
        b"${{3.6} <lvl {1} ? {x}}",
        b"${{a} <= {b} ? {x}}",
        b"$(myhostname",
        b"$(a}",
        b"${a)",
        b"${x:{a}",
        b"${x:${y}}",
        b"$x$",
        b"${x?a:b}",
        b"${x?{a}b}",
        b"${{a}}",
        b"${x\x0b}",
        b"${my_flag?{on}:{off}} ${my_unset:dflt} $(myhostname) $$HOME ${{$my_flag} == {yes} ? {Y} : {N}}",
        b"$$",
        b"100% $$ and ${{1} < {10} ? {numeric} : {string}}",
    ];
    for value in values {
        let (accepted, stderr) = postconf_banner(value);
        let ours = check_syntax(value);
        assert_eq!(
            ours.is_ok(),
            accepted,
            "{:?}: ours {ours:?}, postconf: {stderr}",
            String::from_utf8_lossy(value)
        );
        if let Err(e) = ours {
            // postconf printed the same warning (ours without its quirk of
            // doubled quotes in the operator list, and only comparable when
            // the text has no control characters).
            let message = e.to_string();
            if !message.starts_with("\"==\"") && !message.chars().any(char::is_control) {
                assert!(
                    stderr.lines().any(|l| l.ends_with(&message)),
                    "{message:?} not in {stderr:?}"
                );
            }
        }
    }
}

#[test]
fn live_brace_warnings_agree_with_postconf() {
    if support::postconf().is_none() {
        return;
    }
    for value in [
        &b"{a b"[..],
        b"{a b}c",
        b"a{b c}",
        b"}",
        b"permit }",
        b"{ok}, {also ok}",
    ] {
        let (_, stderr) = postconf_banner(value);
        let warned = stderr.contains("missing '}'") || stderr.contains("syntax error after '}'");
        assert_eq!(
            check_braces(value).is_err(),
            warned,
            "{:?}: {stderr}",
            String::from_utf8_lossy(value)
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn macro_functions_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = check_syntax(&bytes);
            let _ = references(&bytes);
            let _ = check_braces(&bytes);
            let _ = expand(&bytes, |n| Some(format!("${n}").into_bytes()));
            let _ = expand(&bytes, |_| None);
        }

        #[test]
        fn macro_like_text(text in "[$${}()?:=<>! a_x1.,level]{0,80}") {
            let ok = check_syntax(text.as_bytes()).is_ok();
            let refs = references(text.as_bytes());
            prop_assert!(refs.iter().all(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')));
            if ok {
                // Whatever scan mode accepts, expand mode accepts, except for
                // run-time values: an operand of a <level comparison that is
                // not a level, a number too big for a C long.
                if !text.contains("level") {
                    let result = expand(text.as_bytes(), |_| Some(b"1".to_vec()));
                    prop_assert!(
                        !matches!(&result, Err(e) if !matches!(e, MacroError::BadConversion { .. })),
                        "{}: {:?}",
                        text,
                        result
                    );
                }
            }
        }

        #[test]
        fn value_checks_and_suggestions_never_panic(name_index in 0usize..831, value in "\\PC{0,40}") {
            let catalog = Catalog::builtin();
            let p = catalog.params()[name_index];
            let _ = check_value(&p, &value);
            let _ = catalog.suggest(&value, &[]);
        }

        #[test]
        fn versions_and_histories_never_panic(
            text in "[0-9.a-z_ -]{0,16}",
            major in 0u16..6,
            minor in 0u16..20,
            patch in proptest::option::of(0u16..40),
            value in "\\PC{0,20}",
        ) {
            if let Ok(v) = PostfixVersion::parse(&text) {
                prop_assert_eq!(PostfixVersion::parse(&v.to_string()), Ok(v));
            }
            let v = PostfixVersion { major, minor, patch };
            let catalog = Catalog::builtin_for(v);
            prop_assert!(catalog.len() >= 811);
            let _ = name_history(&text, v).map(|h| h.to_string());
            let _ = SeriesMatch::for_version(v).to_string();
            for p in catalog.params().iter().step_by(37) {
                let _ = check_value_for(p, &value, v);
                prop_assert_eq!(name_history(p.name, v), None);
            }
        }
    }
}
