//! The parameter catalog, value checks, known-name rules and macro syntax,
//! through the public API, plus differential checks against the real
//! postconf when it is installed.

mod support;

use postform::catalog::{
    check_value, enum_values, read_only, restart_class, Catalog, NameContext, Param, ParamType,
    RestartClass, ValueProblem,
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
    }
}
