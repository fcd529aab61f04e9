//! master.cf parsing against real files and the real postconf.
//!
//! `tests/fixtures/mastercf/` holds Debian's master.cf, the Postfix
//! source's default (`upstream`) and 30 real-world files (SOURCES.tsv says
//! where each came from) with what Postfix 3.7.11
//! said about each (`postconf -M`, `-P`, the service-derived names of
//! `-d`; see the README there). Every file must parse, render back
//! byte-identical, and agree with those recordings; when `postconf` is
//! installed the same comparisons run against it live.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use postform::catalog::known::service_parameters;
use postform::catalog::{Catalog, NameContext};
use postform::postfix::mastercf::{MasterCf, Service};

fn fixtures_dir() -> PathBuf {
    support::repo_root().join("tests/fixtures/mastercf")
}

/// Every fixture directory (debian + upstream + NNN), sorted.
fn fixtures() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("master.cf").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lines(path: &Path) -> Vec<String> {
    String::from_utf8_lossy(&read(path))
        .lines()
        .map(str::to_string)
        .collect()
}

fn parse(dir: &Path) -> MasterCf {
    let bytes = read(&dir.join("master.cf"));
    MasterCf::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// `postconf -P` lines: per service the last value of each override,
/// sorted by name, whitespace runs joined like postconf prints them.
fn override_lines(m: &MasterCf) -> Vec<String> {
    let mut out = Vec::new();
    for s in &m.services {
        let last: BTreeMap<&str, &str> = s
            .overrides
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        for (name, value) in last {
            let words: Vec<&str> = value
                .split([' ', '\t', '\r', '\n'])
                .filter(|w| !w.is_empty())
                .collect();
            // pcf_print_line drops the space after "=" for an empty value.
            let line = format!("{}/{}/{} = {}", s.name, s.kind, name, words.join(" "));
            out.push(line.trim_end().to_string());
        }
    }
    out
}

/// Service-derived names that are not built-in, sorted and unique.
fn derived_names(services: &[Service]) -> Vec<String> {
    let builtin = Catalog::builtin();
    let mut names: Vec<String> = services
        .iter()
        .flat_map(service_parameters)
        .map(|(n, _)| n)
        .filter(|n| !builtin.contains(n))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn there_are_32_fixtures_with_provenance() {
    let all = fixtures();
    assert_eq!(all.len(), 32, "{all:?}");
    let sources = String::from_utf8_lossy(&read(&fixtures_dir().join("SOURCES.tsv"))).into_owned();
    for (name, _) in &all {
        assert!(
            sources
                .lines()
                .any(|l| l.split('\t').next() == Some(name.as_str())),
            "{name} has no SOURCES.tsv line"
        );
    }
}

#[test]
fn every_fixture_parses_and_round_trips_byte_identical() {
    for (name, dir) in fixtures() {
        let bytes = read(&dir.join("master.cf"));
        let m = MasterCf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.to_bytes(), bytes, "{name}: render differs");
        assert_eq!(m.as_bytes(), &bytes[..]);
        assert!(!m.services.is_empty(), "{name}: no services");
        // 006 really defines mailman/unix twice; nothing else warns.
        let unexpected: Vec<_> = m
            .warnings()
            .iter()
            .filter(|w| !w.message.starts_with("duplicate service"))
            .collect();
        assert!(unexpected.is_empty(), "{name}: {unexpected:?}");
        for s in &m.services {
            assert!(s.line >= 1 && s.end_line >= s.line, "{name}: {s:?}");
        }
    }
}

#[test]
fn services_match_postconf_m() {
    for (name, dir) in fixtures() {
        let m = parse(&dir);
        let ours: Vec<String> = m.services.iter().map(Service::canonical).collect();
        assert_eq!(ours, lines(&dir.join("postconf-M.txt")), "{name}");
    }
}

#[test]
fn overrides_match_postconf_p() {
    for (name, dir) in fixtures() {
        let m = parse(&dir);
        assert_eq!(
            override_lines(&m),
            lines(&dir.join("postconf-P.txt")),
            "{name}"
        );
    }
}

#[test]
fn service_derived_names_match_postconf_d() {
    for (name, dir) in fixtures() {
        let m = parse(&dir);
        assert_eq!(
            derived_names(&m.services),
            lines(&dir.join("derived-names.txt")),
            "{name}"
        );
    }
}

#[test]
fn debian_services_listed() {
    let m = parse(&fixtures_dir().join("debian"));
    let keys: Vec<(&str, &str)> = m.services.iter().map(Service::key).collect();
    assert_eq!(keys.len(), 31);
    assert_eq!(keys[0], ("smtp", "inet"));
    assert!(keys.contains(&("relay", "unix")));
    assert!(keys.contains(&("postlog", "unix-dgram")));
    let relay = m.service("relay", "unix").expect("relay");
    assert_eq!(relay.command, "smtp");
    assert_eq!(
        relay.override_value("syslog_name"),
        Some("postfix/$service_name")
    );
    let maildrop = m.service("maildrop", "unix").expect("maildrop");
    assert_eq!(maildrop.command, "pipe");
    assert_eq!(
        maildrop.args,
        [
            "flags=DRXhu",
            "user=vmail",
            "argv=/usr/bin/maildrop",
            "-d",
            "${recipient}"
        ]
    );
    assert_eq!(maildrop.line + 1, maildrop.end_line);
}

#[test]
fn debian_relay_names_are_known() {
    let m = parse(&fixtures_dir().join("debian"));
    let catalog = Catalog::builtin();
    let ctx = NameContext::new(catalog, &m.services, &[], &[]);
    for name in [
        "relay_destination_concurrency_limit",
        "relay_destination_rate_delay",
        "maildrop_time_limit",
        "local_destination_concurrency_limit",
        "smtp_destination_concurrency_limit",
        "lmtp_transport_rate_delay",
        "bsmtp_destination_recipient_limit",
    ] {
        assert!(ctx.is_known(catalog, name), "{name}");
    }
    assert!(!ctx.is_known(catalog, "nosuchtransport_destination_concurrency_limit"));
    assert!(
        !ctx.is_known(catalog, "smtpd_destination_concurrency_limit"),
        "smtpd is not a delivery agent"
    );
    assert!(!ctx.is_known(catalog, "discard_destination_concurrency_limit"));
}

// With Postfix installed: the same comparisons against the live postconf.
#[test]
fn live_postconf_agrees() {
    if support::postconf().is_none() {
        return;
    }
    for (name, dir) in fixtures() {
        let master = read(&dir.join("master.cf"));
        let scratch = support::scratch_config_dir(b"", Some(&master));
        let m = MasterCf::parse(&master).unwrap_or_else(|e| panic!("{name}: {e}"));

        let out = support::run_postconf(scratch.path(), ["-M"]);
        assert!(out.status.success(), "{name}: postconf -M failed");
        let expected: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = m.services.iter().map(Service::canonical).collect();
        assert_eq!(ours, expected, "{name}: postconf -M");

        let out = support::run_postconf(scratch.path(), ["-P"]);
        let expected: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(override_lines(&m), expected, "{name}: postconf -P");

        let out = support::run_postconf(scratch.path(), ["-d"]);
        assert!(out.status.success(), "{name}: postconf -d failed");
        let host = Catalog::from_postconf_defaults(&String::from_utf8_lossy(&out.stdout));
        let ctx = NameContext::new(Catalog::builtin(), &m.services, &[], &[]);
        for n in host.names() {
            assert!(
                ctx.is_known(Catalog::builtin(), n),
                "{name}: postconf -d knows {n}, we do not"
            );
        }
        let ours = Catalog::builtin().with_services(&m.services);
        let mut ours_names: Vec<&str> = ours.names().collect();
        ours_names.retain(|n| !matches!(*n, "process_id" | "process_name"));
        let mut host_names: Vec<&str> = host.names().collect();
        host_names.retain(|n| !matches!(*n, "process_id" | "process_name"));
        assert_eq!(ours_names, host_names, "{name}: postconf -d names");
    }
}

#[test]
fn live_postconf_rejects_what_we_reject() {
    if support::postconf().is_none() {
        return;
    }
    for bad in [
        &b"a bogus - - n - - smtp\n"[..],
        b"a unix x - n - - smtp\n",
        b"a unix - - yy - - smtp\n",
        b"a unix - - n 5x - smtp\n",
        b"a unix - - n - 5x smtp\n",
        b"a unix - - n - -\n",
        b"a unix\x0b- - n - - smtp\n",
        b"a unix {- } - n - - smtp\n",
    ] {
        assert!(
            MasterCf::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        let scratch = support::scratch_config_dir(b"", Some(bad));
        let out = support::run_postconf(scratch.path(), ["-M"]);
        assert!(
            !out.status.success(),
            "postconf accepted {:?}",
            String::from_utf8_lossy(bad)
        );
    }
    for good in [
        &b"a unix - - n ? - smtp\n"[..],
        b"a unix - - n -? - smtp\n",
        b"a unix-dgram - - n - 1 postlogd\n",
        b"  orphan unix - - n - - smtp\nb unix - - n - - smtp\n",
        b"a unix - - n - - smtp -o {x = y z} -oa=b -vo c=d\n",
        b"a unix - - n - - smtp\r\n  -o x=y\r\n",
    ] {
        let m = MasterCf::parse(good)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(good)));
        let scratch = support::scratch_config_dir(b"", Some(good));
        let out = support::run_postconf(scratch.path(), ["-M"]);
        assert!(
            out.status.success(),
            "postconf rejected {:?}",
            String::from_utf8_lossy(good)
        );
        let expected: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let ours: Vec<String> = m.services.iter().map(Service::canonical).collect();
        assert_eq!(ours, expected);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(m) = MasterCf::parse(&bytes) {
                prop_assert_eq!(m.to_bytes(), bytes.clone());
            }
            if let Err(errors) = MasterCf::parse_all(&bytes) {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.line >= 1 && e.column >= 1);
                }
            }
        }

        #[test]
        fn master_like_text_never_panics(text in "([a-z0-9?{}=#-]{1,6}[ \t\n\x0b]{1,2}){0,40}") {
            if let Ok(m) = MasterCf::parse(text.as_bytes()) {
                prop_assert_eq!(m.as_bytes(), text.as_bytes());
                for s in &m.services {
                    let _ = s.canonical();
                    prop_assert!(s.end_line >= s.line);
                }
            }
        }
    }
}
