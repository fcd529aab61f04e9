//! Differential test: postform's open-relay verdict against the real
//! Postfix smtpd.
//!
//! For every case (a Debian main.cf/master.cf with a few edits) the same
//! bytes go to
//! * postform: `policy::startup_failures` and `policy::evaluate` (the
//!   `open_relay` and `smtpd_startup` findings per smtpd service), and
//! * a throwaway real Postfix instance in a private network namespace
//!   (tests/support/smtpd.rs), probed from non-local client addresses:
//!   RELAYS (RCPT TO a foreign domain accepted), REFUSES, or DEAD (smtpd
//!   exits at start).
//!
//! Per service: postform's `smtpd_startup` finding ⇔ DEAD, its blocking
//! `open_relay` finding ⇔ RELAYS. Each case also records what the daemon
//! does (from the research harness runs, relay notes §7.2, and this
//! test's own runs), so a broken harness cannot agree with a broken
//! postform. Cases run on a pool of 2 threads.
//!
//! Run: `cargo test --test relay_differential -- --nocapture` (as root;
//! POSTFORM_REQUIRE_REAL=1 turns a missing component into a failure).

mod support;

use postform::catalog::Catalog;
use postform::engine::policy::{self, view::View};
use postform::postfix::maincf::MainCf;
use postform::postfix::mastercf::MasterCf;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::smtpd::{Netns, Outcome, Report};

use Outcome::{Dead, Refuses, Relays};

const TEST_NAME: &str = "relay_verdict_agrees_with_real_smtpd";
/// Threads probing at once (the machine has 2 cores, shared).
const POOL: usize = 2;
/// Whole child run, namespace set-up included.
const LIMIT: Duration = Duration::from_secs(240);
/// Comma-separated case names: run only those.
const ONLY_ENV: &str = "POSTFORM_RELAY_CASES";

const DEBIAN_MAIN: &str = include_str!("../examples/postfix/main.cf");
const DEBIAN_MASTER: &str = include_str!("../examples/postfix/master.cf");

/// A submission-like service that does not require TLS (the harness does
/// not speak TLS): SASL on, relaying only for logged-in clients.
const SUBMISSION_SASL: &str = "submission inet n - y - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
";

enum Master {
    /// Debian's master.cf.
    Debian,
    /// Debian's master.cf with these lines appended.
    Plus(&'static str),
    /// Debian's master.cf with its `smtp inet` line replaced by these lines.
    SmtpIs(&'static str),
}

struct Case {
    name: &'static str,
    /// main.cf edits on Debian's: `Some(v)` sets (replacing every
    /// definition), `None` removes.
    main: &'static [(&'static str, Option<&'static str>)],
    master: Master,
    /// What the real smtpd does, per service (`name/inet`): every smtpd
    /// inet service of the case is listed.
    expect: &'static [(&'static str, Outcome)],
}

const SMTP: &str = "smtp/inet";

const fn case(
    name: &'static str,
    main: &'static [(&'static str, Option<&'static str>)],
    expect: Outcome,
) -> Case {
    Case {
        name,
        main,
        master: Master::Debian,
        expect: match expect {
            Relays => &[(SMTP, Relays)],
            Refuses => &[(SMTP, Refuses)],
            Dead => &[(SMTP, Dead)],
        },
    }
}

/// An open relay list that passes smtpd's start-up check (adversarial
/// review M1).
const OPEN_R: (&str, Option<&str>) = (
    "smtpd_relay_restrictions",
    Some("check_client_access static:OK, reject"),
);
const RELAY: &str = "smtpd_relay_restrictions";
const RCPT: &str = "smtpd_recipient_restrictions";
const MYNET: &str = "mynetworks";
const CLIENT: &str = "smtpd_client_restrictions";
const HELO: &str = "smtpd_helo_restrictions";
const SENDER: &str = "smtpd_sender_restrictions";
const DELAY: &str = "smtpd_delay_reject";
const COMPAT: &str = "compatibility_level";
const CLASSES: &str = "smtpd_restriction_classes";

fn cases() -> Vec<Case> {
    vec![
        // ---- defaults
        case("debian-default", &[], Refuses),
        case("compat-3.10", &[(COMPAT, Some("3.10"))], Refuses),
        // ---- mynetworks
        case("mynetworks-0/0", &[(MYNET, Some("0.0.0.0/0"))], Relays),
        case(
            "mynetworks-two-halves",
            &[(MYNET, Some("0.0.0.0/1 128.0.0.0/1"))],
            Relays,
        ),
        case(
            "mynetworks-loopback-then-all",
            &[(MYNET, Some("127.0.0.0/8, [::1]/128, 0.0.0.0/0"))],
            Relays,
        ),
        case("mynetworks-public-/8", &[(MYNET, Some("203.0.0.0/8"))], Relays),
        case("mynetworks-v6-all", &[(MYNET, Some("[::]/0"))], Relays),
        case(
            "mynetworks-v4-mapped-v6",
            &[(MYNET, Some("[::ffff:0.0.0.0]/96"))],
            Refuses,
        ),
        case(
            "mynetworks-private-ranges",
            &[(MYNET, Some("10.0.0.0/8 172.16.0.0/12 192.168.0.0/16"))],
            Refuses,
        ),
        case(
            "mynetworks-exclusion-then-all",
            &[(MYNET, Some("!203.0.113.0/24 0.0.0.0/0"))],
            Relays,
        ),
        case(
            "mynetworks-all-excluded",
            &[(MYNET, Some("!0.0.0.0/0 0.0.0.0/0"))],
            Refuses,
        ),
        case(
            "mynetworks-halves-excluded",
            &[(MYNET, Some("!0.0.0.0/1, !128.0.0.0/1, 0.0.0.0/0"))],
            Refuses,
        ),
        case("mynetworks-bad-0/0", &[(MYNET, Some("0/0"))], Refuses),
        case(
            "mynetworks-match-before-bad",
            &[(MYNET, Some("0.0.0.0/0 0/0"))],
            Relays,
        ),
        case(
            "mynetworks-comment-stops-list",
            &[(MYNET, Some("127.0.0.0/8 # 0.0.0.0/0"))],
            Refuses,
        ),
        case(
            "mynetworks-macro",
            &[
                ("trusted_nets", Some("0.0.0.0/0")),
                (MYNET, Some("127.0.0.0/8 $trusted_nets")),
            ],
            Relays,
        ),
        case(
            "mynetworks-macro-braces",
            &[
                ("trusted_nets", Some("[::]/0")),
                (MYNET, Some("${trusted_nets}")),
            ],
            Relays,
        ),
        case(
            "mynetworks-style-host",
            &[(MYNET, None), ("mynetworks_style", Some("host"))],
            Refuses,
        ),
        case(
            "mynetworks-style-subnet",
            &[(MYNET, None), ("mynetworks_style", Some("subnet"))],
            Refuses,
        ),
        case(
            "mynetworks-style-class",
            &[(MYNET, None), ("mynetworks_style", Some("class"))],
            Refuses,
        ),
        case(
            "mynetworks-all-but-no-permit-mynetworks",
            &[
                (MYNET, Some("0.0.0.0/0")),
                (
                    RELAY,
                    Some("permit_sasl_authenticated, reject_unauth_destination"),
                ),
            ],
            Refuses,
        ),
        case(
            "mynetworks-all-delay-reject-no",
            &[(MYNET, Some("0.0.0.0/0")), (DELAY, Some("no"))],
            Relays,
        ),
        // ---- permits before the rejecting restriction
        case(
            "relay-client-access-static-ok",
            &[OPEN_R],
            Relays,
        ),
        case(
            "relay-bare-static-ok",
            &[(RELAY, Some("static:OK, reject"))],
            Relays,
        ),
        case(
            "relay-uppercase-names",
            &[
                (MYNET, Some("0.0.0.0/0")),
                (RELAY, Some("PERMIT_MYNETWORKS, REJECT_UNAUTH_DESTINATION")),
            ],
            Relays,
        ),
        case(
            "relay-restrictions-macro",
            &[
                ("my_relay_checks", Some("permit_mynetworks, permit")),
                (RELAY, Some("$my_relay_checks")),
            ],
            Dead,
        ),
        case(
            "relay-permit-then-reject-unauth-in-rcpt",
            &[(RELAY, Some("permit")), (RCPT, Some("reject_unauth_destination"))],
            Refuses,
        ),
        case(
            "rcpt-permit-relay-rejects",
            &[
                (RELAY, Some("permit_mynetworks, reject_unauth_destination")),
                (RCPT, Some("permit")),
            ],
            Refuses,
        ),
        case(
            "rcpt-first-compat-3.5",
            &[
                (COMPAT, Some("3.5")),
                (RCPT, Some("check_client_access static:OK")),
                (RELAY, Some("permit_mynetworks, reject_unauth_destination")),
            ],
            Refuses,
        ),
        case(
            "sender-access-inline-ok",
            &[(
                RELAY,
                Some("check_sender_access inline:{probe@example.org=OK}, reject_unauth_destination"),
            )],
            Relays,
        ),
        case(
            "naked-ip-helo",
            &[(RELAY, Some("permit_naked_ip_address, reject_unauth_destination"))],
            Relays,
        ),
        case(
            "unknown-restriction-451",
            &[(
                RELAY,
                Some("permit_mynetworks, no_such_restriction, reject_unauth_destination"),
            )],
            Refuses,
        ),
        case(
            "check-relay-domains",
            &[(RELAY, Some("check_relay_domains"))],
            Refuses,
        ),
        // ---- warn_if_reject, defer_if_permit
        case(
            "warn-if-reject-only",
            &[(RELAY, Some("warn_if_reject reject_unauth_destination"))],
            Dead,
        ),
        case(
            "warn-if-reject-then-reject",
            &[(
                RELAY,
                Some("warn_if_reject reject_unauth_destination, reject_unauth_destination"),
            )],
            Refuses,
        ),
        case(
            "warn-if-reject-then-permit",
            &[(
                RELAY,
                Some("warn_if_reject reject_unauth_destination, check_client_access static:OK, reject"),
            )],
            Relays,
        ),
        case(
            "warn-if-reject-defer-if-permit",
            &[(
                RELAY,
                Some("warn_if_reject defer_if_permit, check_client_access static:OK, reject"),
            )],
            Relays,
        ),
        case(
            "defer-if-permit-then-permit",
            &[(RELAY, Some("defer_if_permit, permit"))],
            Refuses,
        ),
        case(
            "defer-if-permit-in-client-list",
            &[(CLIENT, Some("defer_if_permit")), OPEN_R],
            Refuses,
        ),
        // ---- restriction classes
        case(
            "class-permit-then-reject",
            &[
                (CLASSES, Some("openclass")),
                ("openclass", Some("permit")),
                (RELAY, Some("openclass, reject_unauth_destination")),
            ],
            Relays,
        ),
        case(
            "class-holds-the-reject",
            &[
                (CLASSES, Some("guard")),
                ("guard", Some("reject_unauth_destination")),
                (RELAY, Some("permit_mynetworks, guard")),
            ],
            Refuses,
        ),
        case(
            "class-under-warn-if-reject",
            &[
                (CLASSES, Some("guard")),
                ("guard", Some("reject_unauth_destination")),
                (RELAY, Some("warn_if_reject guard, reject_unauth_destination")),
            ],
            Refuses,
        ),
        case(
            "class-permit-mynetworks-all",
            &[
                (CLASSES, Some("local_only")),
                ("local_only", Some("permit_mynetworks, reject")),
                (MYNET, Some("0.0.0.0/0")),
                (RELAY, Some("local_only")),
            ],
            Relays,
        ),
        case(
            "class-name-is-case-sensitive",
            &[
                (CLASSES, Some("Guard")),
                ("Guard", Some("reject_unauth_destination")),
                (RELAY, Some("permit_mynetworks, guard")),
            ],
            Dead,
        ),
        case(
            "class-without-definition",
            &[
                (CLASSES, Some("guard, missing")),
                ("guard", Some("reject_unauth_destination")),
                (RELAY, Some("permit_mynetworks, guard")),
            ],
            Dead,
        ),
        case(
            "class-via-access-table",
            &[
                (CLASSES, Some("openclass")),
                ("openclass", Some("permit")),
                (RELAY, Some("check_client_access static:openclass, reject")),
            ],
            Relays,
        ),
        // ---- compatibility level and empty lists (start-up check)
        case(
            "relay-permit",
            &[(RELAY, Some("permit"))],
            Dead,
        ),
        case(
            "relay-mynetworks-permit",
            &[(RELAY, Some("permit_mynetworks, permit"))],
            Dead,
        ),
        case(
            "both-lists-empty",
            &[(RELAY, Some("")), (RCPT, Some(""))],
            Dead,
        ),
        case(
            "compat-0-no-restrictions",
            &[(COMPAT, None), (RELAY, None)],
            Dead,
        ),
        case(
            "compat-0-explicit-no-restrictions",
            &[(COMPAT, Some("0")), (RELAY, None), (RCPT, None)],
            Dead,
        ),
        case(
            "compat-1-default-relay-restrictions",
            &[(COMPAT, Some("1")), (RELAY, None)],
            Refuses,
        ),
        case(
            "compat-1-default-relay-restrictions-open-mynetworks",
            &[(COMPAT, Some("1")), (RELAY, None), (MYNET, Some("0.0.0.0/0"))],
            Relays,
        ),
        case(
            "compat-0-classic-rcpt",
            &[
                (COMPAT, None),
                (RELAY, None),
                (RCPT, Some("permit_mynetworks, reject_unauth_destination")),
            ],
            Refuses,
        ),
        case(
            "compat-0-classic-rcpt-subnet",
            &[
                (COMPAT, None),
                (RELAY, None),
                (MYNET, None),
                (RCPT, Some("permit_mynetworks, reject_unauth_destination")),
            ],
            Refuses,
        ),
        case(
            "compat-0-classic-rcpt-open-mynetworks",
            &[
                (COMPAT, None),
                (RELAY, None),
                (MYNET, Some("0.0.0.0/0")),
                (RCPT, Some("permit_mynetworks, reject_unauth_destination")),
            ],
            Relays,
        ),
        case(
            "data-restrictions-do-not-count",
            &[
                (RELAY, Some("permit")),
                (RCPT, Some("")),
                ("smtpd_data_restrictions", Some("reject")),
            ],
            Dead,
        ),
        // ---- SASL
        case(
            "sasl-only-not-open",
            &[
                ("smtpd_sasl_auth_enable", Some("yes")),
                (RELAY, Some("permit_sasl_authenticated, reject_unauth_destination")),
            ],
            Refuses,
        ),
        // ---- client, helo and sender restrictions
        case(
            "client-reject",
            &[(CLIENT, Some("reject")), OPEN_R],
            Refuses,
        ),
        case(
            "client-reject-delay-no",
            &[(CLIENT, Some("reject")), (DELAY, Some("no")), OPEN_R],
            Refuses,
        ),
        case(
            "client-permit-no-bypass",
            &[(CLIENT, Some("permit"))],
            Refuses,
        ),
        case(
            "client-permit-mynetworks-reject",
            &[
                (CLIENT, Some("permit_mynetworks, reject")),
                (MYNET, Some("0.0.0.0/0")),
            ],
            Relays,
        ),
        case(
            "client-reject-unauth-destination",
            &[(CLIENT, Some("reject_unauth_destination")), OPEN_R],
            Refuses,
        ),
        case(
            "client-reject-unauth-destination-delay-no",
            &[
                (CLIENT, Some("reject_unauth_destination")),
                (DELAY, Some("no")),
                OPEN_R,
            ],
            Relays,
        ),
        case(
            "client-bare-static-reject",
            &[(CLIENT, Some("static:REJECT")), OPEN_R],
            Refuses,
        ),
        case(
            "helo-reject-skipped-without-helo",
            &[(HELO, Some("reject")), OPEN_R],
            Relays,
        ),
        case(
            "helo-reject-helo-required",
            &[
                (HELO, Some("reject")),
                ("smtpd_helo_required", Some("yes")),
                OPEN_R,
            ],
            Refuses,
        ),
        case(
            "helo-reject-delay-no",
            &[(HELO, Some("reject")), (DELAY, Some("no")), OPEN_R],
            Relays,
        ),
        case(
            "sender-reject",
            &[(SENDER, Some("reject")), OPEN_R],
            Refuses,
        ),
        case(
            "sender-reject-delay-no",
            &[(SENDER, Some("reject")), (DELAY, Some("no")), OPEN_R],
            Refuses,
        ),
        // ---- master.cf -o overrides
        Case {
            name: "sasl-submission-service",
            main: &[],
            master: Master::Plus(SUBMISSION_SASL),
            expect: &[(SMTP, Refuses), ("submission/inet", Refuses)],
        },
        Case {
            name: "o-opens-extra-service",
            main: &[],
            master: Master::Plus(
                "2525 inet n - y - - smtpd\n  -o smtpd_relay_restrictions=check_client_access,static:OK,reject\n",
            ),
            expect: &[(SMTP, Refuses), ("2525/inet", Relays)],
        },
        Case {
            name: "o-mynetworks-opens-extra-service",
            main: &[],
            master: Master::Plus("2525 inet n - y - - smtpd -o mynetworks=0.0.0.0/0\n"),
            expect: &[(SMTP, Refuses), ("2525/inet", Relays)],
        },
        Case {
            name: "o-mynetworks-macro",
            main: &[("open_nets", Some("0.0.0.0/1 128.0.0.0/1"))],
            master: Master::Plus("2525 inet n - y - - smtpd\n  -o mynetworks=$open_nets\n"),
            expect: &[(SMTP, Refuses), ("2525/inet", Relays)],
        },
        Case {
            name: "o-closes-open-main",
            main: &[(MYNET, Some("0.0.0.0/0"))],
            master: Master::Plus("2525 inet n - y - - smtpd\n  -o mynetworks=127.0.0.0/8\n"),
            expect: &[(SMTP, Relays), ("2525/inet", Refuses)],
        },
        Case {
            name: "o-safe-relay-on-smtp-over-open-main",
            main: &[OPEN_R],
            master: Master::SmtpIs(
                "smtp inet n - y - - smtpd\n  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination\n",
            ),
            expect: &[(SMTP, Refuses)],
        },
        Case {
            name: "o-safe-extra-service-over-open-main",
            main: &[OPEN_R],
            master: Master::Plus(
                "2525 inet n - y - - smtpd\n  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination\n",
            ),
            expect: &[(SMTP, Relays), ("2525/inet", Refuses)],
        },
        Case {
            name: "o-braces-permit-kills-service",
            main: &[],
            master: Master::Plus(
                "2525 inet n - y - - smtpd\n  -o { smtpd_relay_restrictions = permit_mynetworks, permit }\n",
            ),
            expect: &[(SMTP, Refuses), ("2525/inet", Dead)],
        },
        Case {
            name: "o-empty-relay-restrictions",
            main: &[],
            master: Master::Plus("2525 inet n - y - - smtpd\n  -o smtpd_relay_restrictions=\n"),
            expect: &[(SMTP, Refuses), ("2525/inet", Dead)],
        },
        Case {
            name: "o-client-reject-closes-open-main",
            main: &[OPEN_R],
            master: Master::Plus("2525 inet n - y - - smtpd\n  -o smtpd_client_restrictions=reject\n"),
            expect: &[(SMTP, Relays), ("2525/inet", Refuses)],
        },
    ]
}

/// Debian's main.cf with the case's edits: every definition of an edited
/// name (with its continuation lines) removed, the new ones appended.
fn main_cf(case: &Case) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in DEBIAN_MAIN.lines() {
        if skipping && line.starts_with([' ', '\t']) {
            continue;
        }
        let name = line.split(['=', ' ', '\t']).next().unwrap_or("");
        skipping = !line.starts_with('#')
            && line.contains('=')
            && case.main.iter().any(|(n, _)| *n == name);
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("# --- case {} ---\n", case.name));
    for (n, v) in case.main {
        if let Some(v) = v {
            out.push_str(&format!("{n} = {v}\n"));
        }
    }
    out
}

fn master_cf(case: &Case) -> String {
    match case.master {
        Master::Debian => DEBIAN_MASTER.to_string(),
        Master::Plus(extra) => format!("{DEBIAN_MASTER}{extra}"),
        Master::SmtpIs(lines) => {
            let mut out = String::new();
            let mut replaced = false;
            for l in DEBIAN_MASTER.lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                if !l.starts_with('#') && f.len() > 1 && f[0] == "smtp" && f[1] == "inet" {
                    out.push_str(lines);
                    replaced = true;
                } else {
                    out.push_str(l);
                    out.push('\n');
                }
            }
            assert!(replaced, "Debian's master.cf has an smtp inet line");
            out
        }
    }
}

/// postform's outcome per smtpd inet service: `smtpd_startup` finding ->
/// Dead, blocking `open_relay` finding -> Relays, else Refuses. Also every
/// subject the two findings name.
fn postform_outcomes(main: &str, master: &str, keys: &[String]) -> (Vec<Outcome>, Vec<String>) {
    let main = MainCf::parse(main.as_bytes()).expect("postform parses the case's main.cf");
    let master = MasterCf::parse(master.as_bytes()).expect("postform parses the case's master.cf");
    let view = View::new(&main, Some(&master), Catalog::builtin());
    let startup = policy::startup_failures(None, &view);
    let findings = policy::evaluate(None, &view, &BTreeSet::new());
    let outcomes = keys
        .iter()
        .map(|k| {
            if startup.iter().any(|f| &f.subject == k) {
                Dead
            } else if findings
                .iter()
                .any(|f| f.id == "open_relay" && &f.subject == k && f.blocks())
            {
                Relays
            } else {
                Refuses
            }
        })
        .collect();
    let named = startup
        .iter()
        .chain(findings.iter().filter(|f| f.id == "open_relay"))
        .map(|f| f.subject.clone())
        .collect();
    (outcomes, named)
}

struct Done {
    name: &'static str,
    problems: Vec<String>,
    lines: Vec<String>,
    /// The daemon's outcome per service.
    outcomes: Vec<Outcome>,
    took: Duration,
}

fn check(ns: &Netns, case: &Case) -> Done {
    let (main, master) = (main_cf(case), master_cf(case));
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    let report: Report = match ns.run(main.as_bytes(), master.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            return Done {
                name: case.name,
                problems: vec![format!("harness could not decide: {e}")],
                lines,
                outcomes: Vec::new(),
                took: Duration::ZERO,
            }
        }
    };
    let keys: Vec<String> = report.services.keys().cloned().collect();
    let (postform, named) = postform_outcomes(&main, &master, &keys);
    let mut expected: Vec<&str> = case.expect.iter().map(|(k, _)| *k).collect();
    expected.sort_unstable();
    if keys.iter().map(String::as_str).ne(expected.iter().copied()) {
        problems.push(format!(
            "the case lists services {expected:?}, the daemon has {keys:?}"
        ));
    }
    for n in &named {
        if !keys.contains(n) {
            problems.push(format!("postform names service {n}, which the daemon does not run as an smtpd inet service"));
        }
    }
    for (key, pf) in keys.iter().zip(&postform) {
        let daemon = &report.services[key];
        let want = case.expect.iter().find(|(k, _)| k == key).map(|(_, o)| *o);
        lines.push(format!(
            "{:<44} {:<16} daemon {:<7} postform {:<7} [{}]",
            case.name,
            key,
            daemon.outcome.to_string(),
            pf.to_string(),
            daemon.detail.last().map(String::as_str).unwrap_or("")
        ));
        if want != Some(daemon.outcome) {
            problems.push(format!(
                "{key}: the real smtpd {} but the case expects {}: {:#?}",
                daemon.outcome,
                want.map_or("nothing".into(), |w| w.to_string()),
                daemon.detail
            ));
        }
        if *pf != daemon.outcome {
            problems.push(format!(
                "{key}: DISAGREEMENT: the real smtpd {}, postform says {}\n  smtpd: {:#?}\n  log: {:#?}",
                daemon.outcome, pf, daemon.detail, report.log
            ));
        }
    }
    Done {
        name: case.name,
        problems,
        lines,
        outcomes: report.services.values().map(|s| s.outcome).collect(),
        took: report.took,
    }
}

#[test]
fn relay_verdict_agrees_with_real_smtpd() {
    let Some(ns) = Netns::enter(TEST_NAME, LIMIT) else {
        return;
    };
    let mut cases = cases();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    // POSTFORM_RELAY_CASES=a,b runs only those cases (while debugging).
    let only: Vec<String> = std::env::var(ONLY_ENV)
        .unwrap_or_default()
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.trim().to_string())
        .collect();
    for n in &only {
        assert!(names.contains(n.as_str()), "{ONLY_ENV}: no case {n:?}");
    }
    if !only.is_empty() {
        cases.retain(|c| only.iter().any(|n| n == c.name));
    }
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Done>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..POOL {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let d = check(&ns, case);
                done.lock().unwrap().push(d);
            });
        }
    });
    let wall = started.elapsed();
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|d| d.name);
    let mut by_outcome = std::collections::BTreeMap::<String, usize>::new();
    for d in &done {
        for l in &d.lines {
            println!("{l}");
        }
        for o in &d.outcomes {
            *by_outcome.entry(o.to_string()).or_default() += 1;
        }
    }
    let slowest = done.iter().map(|d| d.took).max().unwrap_or_default();
    println!(
        "relay differential: {} cases, {} service verdicts {:?}, {} threads, wall {:.2}s (slowest case {:.2}s)",
        done.len(),
        by_outcome.values().sum::<usize>(),
        by_outcome,
        POOL,
        wall.as_secs_f64(),
        slowest.as_secs_f64()
    );
    let problems: Vec<String> = done
        .iter()
        .flat_map(|d| {
            d.problems
                .iter()
                .map(move |p| format!("case {}: {p}", d.name))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert_eq!(done.len(), cases.len(), "every case ran");
    // The cases exercise every outcome (a harness that always says the
    // same thing cannot pass).
    for o in ["RELAYS", "REFUSES", "DEAD"]
        .into_iter()
        .filter(|_| only.is_empty())
    {
        assert!(
            by_outcome.get(o).copied().unwrap_or(0) >= 5,
            "fewer than 5 {o} verdicts: {by_outcome:?}"
        );
    }
    ns.passed(done.len());
}
