//! Which Postfix version a spec is checked against, and that version's
//! parameter catalog. One function decides ([`choose_postfix`]); every
//! front end asks it: the CLI verbs, each host of a GitOps repository, the
//! Ansible module (through the spec's `postfix_version`).
//!
//! The rule, strongest first:
//!
//! 1. `--postfix-version X` on the command line: what the user asks for in
//!    this run, e.g. validating in CI, on a machine without (or with
//!    another) Postfix, for hosts that run X.
//! 2. The host's own Postfix: `postconf -d` (its `mail_version`, names,
//!    types and defaults) when this machine is the host and Postfix is
//!    installed; for a GitOps host, the version its snapshot recorded
//!    (`postform show --json` writes `postfix_version`).
//! 3. `postfix_version:` in the spec, layered like any key (a GitOps
//!    `defaults.yaml` or group may set it for many hosts).
//! 4. Nothing says: the catalog of this machine (`postconf -d`, else the
//!    built-in table of Debian's Postfix 3.7.11) — for a GitOps host, the
//!    one the whole run uses; for a local command, the built-in table.
//!
//! A version is checked against the table of its release series (3.4 ...
//! 3.11, see [`crate::catalog::SeriesMatch`]); the host's own
//! `postconf -d` is used as it is. When a weaker source contradicts the
//! one chosen (the spec says 3.10, the host runs 3.7.11), that is a
//! warning, not an error: the host's Postfix is what will read the file.
//!
//! [`name_note`] and [`check_value`] turn the version's differences into
//! messages: "`smtp_tlsrpt_enable` was added in Postfix 3.10; this host
//! runs Postfix 3.7", a renamed name with its replacement, a value that
//! only a later version accepts.

use crate::catalog::{
    check_value_for, find_postconf, name_history, Catalog, NameChange, Param, PostfixVersion,
    SeriesMatch, ValueProblem, KNOWN_SERIES,
};
use crate::engine::spec::{Section, Spec, SpecKey};
use serde::Serialize;

/// Where the version a spec is checked against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// `--postfix-version` on the command line.
    Flag,
    /// The host's Postfix: `postconf -d` on this machine.
    Host,
    /// The version a GitOps host's snapshot recorded.
    Snapshot,
    /// `postfix_version:` in the spec.
    Spec,
    /// Nothing said: this machine's catalog, or the built-in one.
    Default,
}

impl VersionSource {
    /// How messages name it: `--postfix-version`, `postconf -d`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Flag => "--postfix-version",
            VersionSource::Host => "postconf -d",
            VersionSource::Snapshot => "snapshot",
            VersionSource::Spec => "postfix_version",
            VersionSource::Default => "default",
        }
    }
}

impl std::fmt::Display for VersionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Postfix a spec is checked against: the catalog (names, types,
/// defaults; its [`Catalog::postfix_version`] is the version) and where
/// the choice came from.
#[derive(Debug, Clone)]
pub struct PostfixTarget {
    pub catalog: Catalog,
    pub source: VersionSource,
}

impl PostfixTarget {
    /// The version checked against (`None` only for a `postconf -d`
    /// without a usable `mail_version`).
    pub fn version(&self) -> Option<PostfixVersion> {
        self.catalog.postfix_version()
    }

    /// `3.10 (postfix_version)`, `3.7.11 (postconf -d)`.
    #[cfg(test)]
    pub fn describe(&self) -> String {
        format!("{} ({})", shown_version(&self.catalog), self.source)
    }
}

/// What is known about the host's own Postfix.
#[derive(Debug, Clone, Copy)]
pub enum HostPostfix<'a> {
    /// This machine is the host: read its `postconf -d` (cached; see
    /// [`Catalog::host`]) when Postfix is installed.
    Local,
    /// This machine is the host and its catalog was read already
    /// (`None`: Postfix is not installed).
    Probed(Option<&'a Catalog>),
    /// Another machine (a GitOps host): the version its snapshot recorded
    /// and where, when known; `fallback` when nothing says.
    Remote {
        snapshot: Option<(PostfixVersion, &'a str)>,
        fallback: &'a PostfixTarget,
    },
}

/// This machine's Postfix catalog: `postconf -d` when Postfix is
/// installed (`Ok(None)` when it is not; `Err` says why an installed
/// postconf gave none).
pub fn local_postfix() -> Result<Option<Catalog>, String> {
    let Some(program) = find_postconf() else {
        return Ok(None);
    };
    crate::catalog::cached_defaults(&program)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Choose the Postfix version and catalog for `spec` (see the module docs
/// for the rule). Returns the choice and the warnings about it: sources
/// that disagree, a version outside the known series, a postconf that
/// could not be run.
pub fn choose_postfix(
    flag: Option<PostfixVersion>,
    spec: Option<&Spec>,
    host: HostPostfix<'_>,
) -> (PostfixTarget, Vec<String>) {
    let mut warnings = Vec::new();
    let probed;
    let host = match host {
        HostPostfix::Local => {
            probed = match local_postfix() {
                Ok(c) => c,
                Err(why) => {
                    warnings.push(format!(
                        "cannot read this host's Postfix parameters ({why}); using {}",
                        fallback_words(flag, spec)
                    ));
                    None
                }
            };
            HostPostfix::Probed(probed.as_ref())
        }
        other => other,
    };
    // The host's own version, and how to name where it was read.
    let host_version: Option<(PostfixVersion, String)> = match host {
        HostPostfix::Probed(Some(c)) => c
            .postfix_version()
            .map(|v| (v, "this host runs".to_string())),
        HostPostfix::Remote {
            snapshot: Some((v, path)),
            ..
        } => Some((v, format!("the host's snapshot {path} says it runs"))),
        _ => None,
    };
    let spec_version = spec.and_then(|s| {
        s.postfix_version.map(|v| {
            let at = s
                .location_if_known(&SpecKey::Top(Section::PostfixVersion))
                .map(|l| format!("{l}: "))
                .unwrap_or_default();
            (v, at)
        })
    });
    let target = if let Some(v) = flag {
        if let Some((hv, said)) = &host_version {
            if !agree(v, *hv) {
                warnings.push(format!(
                    "checking against Postfix {v} as --postfix-version says, but {said} Postfix {hv}"
                ));
            }
        }
        versioned(v, VersionSource::Flag, &mut warnings)
    } else if let Some((hv, said)) = &host_version {
        if let Some((sv, at)) = &spec_version {
            if !agree(*sv, *hv) {
                warnings.push(format!(
                    "{at}the spec says postfix_version \"{sv}\", but {said} Postfix {hv}; checking against {hv}\n  hint: correct postfix_version (or remove it and let the host say), or upgrade the host's Postfix first"
                ));
            }
        }
        match host {
            HostPostfix::Probed(Some(c)) => PostfixTarget {
                catalog: c.clone(),
                source: VersionSource::Host,
            },
            _ => versioned(*hv, VersionSource::Snapshot, &mut warnings),
        }
    } else if let Some((sv, _)) = spec_version {
        versioned(sv, VersionSource::Spec, &mut warnings)
    } else {
        match host {
            // A postconf without mail_version: its catalog all the same.
            HostPostfix::Probed(Some(c)) => PostfixTarget {
                catalog: c.clone(),
                source: VersionSource::Host,
            },
            HostPostfix::Remote { fallback, .. } => fallback.clone(),
            _ => PostfixTarget {
                catalog: Catalog::builtin().clone(),
                source: VersionSource::Default,
            },
        }
    };
    (target, warnings)
}

/// What is used when this host's postconf fails.
fn fallback_words(flag: Option<PostfixVersion>, spec: Option<&Spec>) -> String {
    match (flag, spec.and_then(|s| s.postfix_version)) {
        (Some(v), _) => format!("Postfix {v} (--postfix-version)"),
        (None, Some(v)) => format!("Postfix {v} (the spec's postfix_version)"),
        (None, None) => format!(
            "the built-in catalog of Postfix {}",
            crate::catalog::BUILTIN_VERSION
        ),
    }
}

/// The catalog of a version asked for, with a warning when postform has
/// no table of its series.
fn versioned(
    version: PostfixVersion,
    source: VersionSource,
    warnings: &mut Vec<String>,
) -> PostfixTarget {
    let matched = SeriesMatch::for_version(version);
    if !matched.is_exact() {
        warnings.push(matched.to_string());
    }
    PostfixTarget {
        catalog: Catalog::for_version(version),
        source,
    }
}

/// Two statements of a version agree when they name the same series and,
/// when both give a patch level, the same one.
pub fn agree(a: PostfixVersion, b: PostfixVersion) -> bool {
    a.series() == b.series() && (a.patch.is_none() || b.patch.is_none() || a.patch == b.patch)
}

/// The version as messages say it: the version asked for
/// ([`Catalog::for_version`]) as given, a Postfix's own `mail_version`
/// as its series (`3.7` for 3.7.11, as messages always said), `unknown`
/// when there is none.
pub fn shown_version(catalog: &Catalog) -> String {
    match catalog.postfix_version() {
        Some(v) if catalog.is_for_version() => v.to_string(),
        Some(v) => v.series().to_string(),
        None => "unknown".into(),
    }
}

/// The version as "this host runs ..." says it: the full version known.
fn host_version(catalog: &Catalog) -> String {
    catalog
        .postfix_version()
        .map_or_else(|| "unknown".into(), |v| v.to_string())
}

/// What the catalog's Postfix version says about a name it does not have
/// built in, from the tables of every known series
/// ([`crate::catalog::name_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameNote {
    pub message: String,
    pub hint: String,
    /// False for an old name the version still accepts (a warning).
    pub blocking: bool,
}

/// The note for `name` when the catalog's version lacks it but another
/// series has it: added later, renamed, removed. `None` when the catalog
/// has the name, when its version is unknown, or when no series has it
/// (then the name is service-derived, user-defined or a typo, which the
/// caller's other checks decide).
pub fn name_note(catalog: &Catalog, name: &str) -> Option<NameNote> {
    if catalog.contains(name) {
        return None;
    }
    let version = catalog.postfix_version()?;
    // The catalog of a Postfix (postconf -d) may carry a name the series
    // table lacks; it was checked above. Ask history by the version.
    let history = name_history(name, version)?;
    let runs = host_version(catalog);
    let note = match history.change {
        NameChange::AddedIn {
            series,
            replaces: None,
        } => NameNote {
            message: format!(
                "`{name}` was added in Postfix {series}; this host runs Postfix {runs}, which would ignore it (\"unused parameter\")"
            ),
            hint: format!(
                "remove it for hosts older than Postfix {series}, or upgrade the host first (and say postfix_version: \"{series}\" or later)"
            ),
            blocking: true,
        },
        NameChange::AddedIn {
            series,
            replaces: Some(old),
        } => NameNote {
            message: format!(
                "`{name}` was added in Postfix {series} as the new name of `{old}`; this host runs Postfix {runs}, which knows only `{old}`"
            ),
            hint: format!(
                "write `{old}` for Postfix {runs} (Postfix {series} and later accept it too, as a legacy name)"
            ),
            blocking: true,
        },
        NameChange::RenamedTo {
            series,
            new_name,
            legacy_alias: true,
        } => NameNote {
            message: format!(
                "`{name}` was renamed to `{new_name}` in Postfix {series}; Postfix {runs} still accepts the old name"
            ),
            hint: format!("write `{new_name}` instead"),
            blocking: false,
        },
        NameChange::RenamedTo {
            series,
            new_name,
            legacy_alias: false,
        } => NameNote {
            message: format!(
                "`{name}` was renamed to `{new_name}` in Postfix {series}; this host runs Postfix {runs}, which would ignore the old name (\"unused parameter\")"
            ),
            hint: format!("write `{new_name}` instead"),
            blocking: true,
        },
        NameChange::RemovedIn { series } => NameNote {
            message: format!(
                "`{name}` was removed in Postfix {series}; this host runs Postfix {runs}, which would ignore it (\"unused parameter\")"
            ),
            hint: "remove it from the spec (or set it to null to remove it from main.cf)".to_string(),
            blocking: true,
        },
    };
    Some(note)
}

/// A value's problem for the catalog's version, and when a later Postfix
/// accepts the value, which one (e.g. "`note` is valid from Postfix 3.9
/// on; this host runs Postfix 3.7").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedValueProblem {
    pub problem: ValueProblem,
    pub later: Option<String>,
}

/// [`check_value_for`] with the catalog's version (`param` is the
/// catalog's entry). A catalog without a version (a `postconf -d` without
/// `mail_version`) is checked with the built-in rules.
pub fn check_value(
    catalog: &Catalog,
    param: &Param,
    value: &str,
) -> Result<(), VersionedValueProblem> {
    let Some(version) = catalog.postfix_version() else {
        return crate::catalog::check_value(param, value).map_err(|problem| {
            VersionedValueProblem {
                problem,
                later: None,
            }
        });
    };
    let problem = match check_value_for(param, value, version) {
        Ok(()) => return Ok(()),
        Err(p) => p,
    };
    Err(VersionedValueProblem {
        later: later_acceptance(catalog, param.name, value, version),
        problem,
    })
}

/// The first version after `version` whose rules accept `value`, said as a
/// sentence.
fn later_acceptance(
    catalog: &Catalog,
    name: &str,
    value: &str,
    version: PostfixVersion,
) -> Option<String> {
    let runs = host_version(catalog);
    let shown = value.trim();
    for series in KNOWN_SERIES {
        if series < version.series() {
            continue;
        }
        // The same series is only "later" for an older patch release.
        if series == version.series() && version.patch.is_none() {
            continue;
        }
        let Some(param) = Catalog::builtin_for(series).get(name) else {
            continue;
        };
        if check_value_for(param, value, series).is_err() {
            continue;
        }
        let release = SeriesMatch::for_version(series).release;
        let first = PostfixVersion::release(series.major, series.minor, 0);
        return Some(if series == version.series() {
            format!(
                "`{shown}` is valid in later Postfix {series} releases ({release} accepts it); this host runs Postfix {runs}"
            )
        } else if check_value_for(param, value, first).is_ok() {
            format!("`{shown}` is valid from Postfix {series} on; this host runs Postfix {runs}")
        } else {
            // Added in a patch release of that series (and the later ones).
            format!(
                "`{shown}` is valid from a Postfix {series} patch release on ({release} accepts it); this host runs Postfix {runs}"
            )
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when `catalog` is this machine's `postconf -d`.
    fn is_host_catalog(catalog: &Catalog) -> bool {
        *catalog.source() == crate::catalog::CatalogSource::Postconf
    }

    fn v(text: &str) -> PostfixVersion {
        PostfixVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn spec(text: &str) -> Spec {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spec.yaml");
        std::fs::write(&path, text).expect("write");
        Spec::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn host(version: &str) -> Catalog {
        Catalog::from_postconf_defaults(&format!(
            "mail_version = {version}\ninet_protocols = all\n"
        ))
    }

    #[test]
    fn the_flag_wins_then_the_host_then_the_spec() {
        let s = spec("postfix_version: \"3.10\"\nmain:\n  biff: false\n");
        let h = host("3.7.11");
        // Flag over host and spec; the host's disagreement is said.
        let (t, w) = choose_postfix(Some(v("3.5")), Some(&s), HostPostfix::Probed(Some(&h)));
        assert_eq!(
            (t.version(), t.source),
            (Some(v("3.5")), VersionSource::Flag)
        );
        assert_eq!(
            w,
            ["checking against Postfix 3.5 as --postfix-version says, but this host runs Postfix 3.7.11"]
        );
        // Host over spec, with a warning at the spec's postfix_version.
        let (t, w) = choose_postfix(None, Some(&s), HostPostfix::Probed(Some(&h)));
        assert_eq!(t.source, VersionSource::Host);
        assert_eq!(t.version(), Some(v("3.7.11")));
        assert!(is_host_catalog(&t.catalog));
        assert_eq!(w.len(), 1);
        assert!(
            w[0].ends_with("spec.yaml:1:1: the spec says postfix_version \"3.10\", but this host runs Postfix 3.7.11; checking against 3.7.11\n  hint: correct postfix_version (or remove it and let the host say), or upgrade the host's Postfix first"),
            "{w:?}"
        );
        // Spec when there is no Postfix here.
        let (t, w) = choose_postfix(None, Some(&s), HostPostfix::Probed(None));
        assert_eq!(
            (t.version(), t.source),
            (Some(v("3.10")), VersionSource::Spec)
        );
        assert!(t.catalog.contains("smtp_tlsrpt_enable"));
        assert!(w.is_empty());
        // Nothing: the built-in Debian table.
        let (t, w) = choose_postfix(None, None, HostPostfix::Probed(None));
        assert_eq!(t.source, VersionSource::Default);
        assert_eq!(t.catalog.mail_version(), Some("3.7.11"));
        assert_eq!(t.describe(), "3.7 (default)");
        assert!(w.is_empty());
    }

    #[test]
    fn agreeing_versions_are_not_a_warning() {
        let h = host("3.10.4");
        for said in ["3.10", "3.10.4"] {
            let s = spec(&format!("postfix_version: \"{said}\"\n"));
            let (t, w) = choose_postfix(None, Some(&s), HostPostfix::Probed(Some(&h)));
            assert_eq!(t.source, VersionSource::Host);
            assert!(w.is_empty(), "{said}: {w:?}");
        }
        let s = spec("postfix_version: \"3.10.2\"\n");
        let (_, w) = choose_postfix(None, Some(&s), HostPostfix::Probed(Some(&h)));
        assert_eq!(w.len(), 1, "another patch release: {w:?}");
    }

    #[test]
    fn a_remote_host_is_its_snapshot_then_its_spec_then_the_fallback() {
        let fallback = PostfixTarget {
            catalog: Catalog::builtin().clone(),
            source: VersionSource::Default,
        };
        let s = spec("postfix_version: \"3.10\"\n");
        let remote = |snapshot| HostPostfix::Remote {
            snapshot,
            fallback: &fallback,
        };
        let (t, w) = choose_postfix(None, Some(&s), remote(Some((v("3.7.11"), "snap.json"))));
        assert_eq!(
            (t.version(), t.source),
            (Some(v("3.7.11")), VersionSource::Snapshot)
        );
        assert!(w[0].contains("but the host's snapshot snap.json says it runs Postfix 3.7.11; checking against 3.7.11"), "{w:?}");
        let (t, w) = choose_postfix(None, Some(&s), remote(None));
        assert_eq!(
            (t.version(), t.source),
            (Some(v("3.10")), VersionSource::Spec)
        );
        assert!(w.is_empty());
        let (t, _) = choose_postfix(None, None, remote(None));
        assert_eq!(t.source, VersionSource::Default);
        let (t, w) = choose_postfix(Some(v("3.12")), None, remote(None));
        assert_eq!(t.catalog.mail_version(), Some("3.11.6"));
        assert_eq!(t.describe(), "3.12 (--postfix-version)");
        assert!(
            w[0].starts_with(
                "Postfix 3.12 is newer than the newest series postform knows (3.4-3.11)"
            ),
            "{w:?}"
        );
    }

    #[test]
    fn names_by_version() {
        let note = |version: &str, name: &str| name_note(&Catalog::for_version(v(version)), name);
        let n = note("3.7", "smtp_tlsrpt_enable").expect("added");
        assert!(n.blocking);
        assert_eq!(n.message, "`smtp_tlsrpt_enable` was added in Postfix 3.10; this host runs Postfix 3.7, which would ignore it (\"unused parameter\")");
        assert_eq!(note("3.10", "smtp_tlsrpt_enable"), None);
        let n = note("3.5", "postscreen_denylist_action").expect("renamed later");
        assert!(n.blocking);
        assert!(
            n.hint
                .starts_with("write `postscreen_blacklist_action` for Postfix 3.5"),
            "{n:?}"
        );
        let n = note("3.10", "smtpd_per_record_deadline").expect("renamed");
        assert!(!n.blocking);
        assert_eq!(n.message, "`smtpd_per_record_deadline` was renamed to `smtpd_per_request_deadline` in Postfix 3.7; Postfix 3.10 still accepts the old name");
        let n = note("3.11", "tls_legacy_public_key_fingerprints").expect("removed");
        assert!(
            n.blocking
                && n.message.starts_with(
                    "`tls_legacy_public_key_fingerprints` was removed in Postfix 3.11"
                )
        );
        assert_eq!(note("3.7", "no_such_parameter_at_all"), None);
        // The host's own catalog: its full version.
        let n = name_note(&host("3.7.11"), "smtp_tlsrpt_enable").expect("added");
        assert!(
            n.message.contains("this host runs Postfix 3.7.11,"),
            "{n:?}"
        );
    }

    #[test]
    fn values_by_version() {
        let check = |version: &str, name: &str, value: &str| {
            let c = Catalog::for_version(v(version));
            let p = *c.get(name).expect("param");
            check_value(&c, &p, value)
        };
        let e = check("3.7", "smtpd_forbid_bare_newline", "note").expect_err("3.9 value");
        assert_eq!(
            e.later.as_deref(),
            Some("`note` is valid from Postfix 3.9 on; this host runs Postfix 3.7")
        );
        assert!(check("3.10", "smtpd_forbid_bare_newline", "note").is_ok());
        let e = check("3.5", "smtp_tls_protocols", ">=TLSv1.2").expect_err("bounds from 3.6");
        assert_eq!(
            e.later.as_deref(),
            Some("`>=TLSv1.2` is valid from Postfix 3.6 on; this host runs Postfix 3.5")
        );
        let e = check("3.7.11", "milter_default_action", "shutdown").expect_err("3.7.20");
        assert_eq!(e.later.as_deref(), Some("`shutdown` is valid in later Postfix 3.7 releases (3.7.22 accepts it); this host runs Postfix 3.7.11"));
        let e = check("3.5", "milter_default_action", "shutdown").expect_err("3.7.20");
        assert_eq!(e.later.as_deref(), Some("`shutdown` is valid from a Postfix 3.7 patch release on (3.7.22 accepts it); this host runs Postfix 3.5"));
        let e = check("3.10", "inet_protocols", "ipv5").expect_err("never");
        assert_eq!(e.later, None);
    }
}
