//! Parameter names across Postfix versions: when a name was added, renamed
//! or removed, and which old names a version still accepts.
//!
//! Added and removed names come from the per-series tables (a name is
//! "added in 3.9" when 3.9 is the oldest known series whose table has it).
//! Renames are listed in [`RENAMES`]: every one of them left the old name
//! behind as a *legacy* parameter that postconf still accepts (it is the
//! `$name` the new parameter's default falls back to, e.g.
//! `postscreen_denylist_action = ${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}`).

use std::fmt;

use super::table_mask;
use super::version::{PostfixVersion, SeriesMatch, KNOWN_SERIES};

/// One renamed parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename {
    /// The old name, still accepted as a legacy parameter from `since` on.
    pub old: &'static str,
    /// The name that replaced it.
    pub new: &'static str,
    /// The series that introduced the new name.
    pub since: PostfixVersion,
}

/// Every renamed parameter whose old name Postfix 3.4 ... 3.11 still
/// accepts: exactly the `pcf_legacy_str_table` of postconf/postconf_builtin.c,
/// which lists the first five in v3.4.29 and v3.5.27, adds the three
/// postscreen names in v3.6.0 (v3.6.20 checked) and the five 3.7 names in
/// v3.7.0 (v3.7.22 ... v3.11.6 checked: unchanged). The series of the new
/// names are from postconf(5) ("This feature is available in Postfix 3.6
/// and later", "It was previously called tlsproxy_client_level", "With
/// Postfix 2.2 and earlier this parameter is called fallback_relay") and
/// from the tables (the old name leaves `postconf -d` in that series).
/// Sorted by old name.
pub const RENAMES: [Rename; 13] = [
    rename(
        "authorized_verp_clients",
        "smtpd_authorized_verp_clients",
        2,
        1,
    ),
    rename("fallback_relay", "smtp_fallback_relay", 2, 3),
    rename(
        "lmtp_per_record_deadline",
        "lmtp_per_request_deadline",
        3,
        7,
    ),
    rename(
        "postscreen_blacklist_action",
        "postscreen_denylist_action",
        3,
        6,
    ),
    rename("postscreen_dnsbl_ttl", "postscreen_dnsbl_max_ttl", 3, 1),
    rename(
        "postscreen_dnsbl_whitelist_threshold",
        "postscreen_dnsbl_allowlist_threshold",
        3,
        6,
    ),
    rename(
        "postscreen_whitelist_interfaces",
        "postscreen_allowlist_interfaces",
        3,
        6,
    ),
    rename(
        "smtp_per_record_deadline",
        "smtp_per_request_deadline",
        3,
        7,
    ),
    rename(
        "smtpd_client_connection_limit_exceptions",
        "smtpd_client_event_limit_exceptions",
        2,
        2,
    ),
    rename(
        "smtpd_per_record_deadline",
        "smtpd_per_request_deadline",
        3,
        7,
    ),
    rename(
        "tlsproxy_client_level",
        "tlsproxy_client_security_level",
        3,
        7,
    ),
    rename(
        "tlsproxy_client_policy",
        "tlsproxy_client_policy_maps",
        3,
        7,
    ),
    rename("virtual_maps", "virtual_alias_maps", 2, 0),
];

const fn rename(old: &'static str, new: &'static str, major: u16, minor: u16) -> Rename {
    Rename {
        old,
        new,
        since: PostfixVersion::new(major, minor),
    }
}

/// The legacy parameters of `version`: the old names of [`RENAMES`] it
/// still accepts (postconf knows them although `postconf -d` does not
/// list them), sorted. 5 names for 3.4 and 3.5, 8 for 3.6, 13 from 3.7 on
/// ([`super::LEGACY_PARAMS`]).
pub fn legacy_params(version: PostfixVersion) -> Vec<&'static str> {
    RENAMES
        .iter()
        .filter(|r| r.since <= version.series())
        .map(|r| r.old)
        .collect()
}

/// True when `name` is a legacy parameter of `version`.
pub fn is_legacy_in(name: &str, version: PostfixVersion) -> bool {
    RENAMES
        .iter()
        .any(|r| r.old == name && r.since <= version.series())
}

/// What a name's history says for one Postfix version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameHistory {
    /// The parameter name.
    pub name: &'static str,
    /// The version asked about.
    pub version: PostfixVersion,
    pub change: NameChange,
}

/// How a name differs between the version asked about and other series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameChange {
    /// The name exists only in newer series; `series` is the first.
    AddedIn {
        series: PostfixVersion,
        /// When the new name is a rename: the old name, which the version
        /// asked about uses instead.
        replaces: Option<&'static str>,
    },
    /// The name was renamed in `series`. `legacy_alias`: the version asked
    /// about still accepts the old name (today true for every rename).
    RenamedTo {
        series: PostfixVersion,
        new_name: &'static str,
        legacy_alias: bool,
    },
    /// The name exists only in older series and has no replacement;
    /// `series` is the first series without it.
    RemovedIn { series: PostfixVersion },
}

/// Why `name` is not (or no longer) a parameter of `version`, from the
/// tables of the known series; `None` when `name` is a built-in parameter
/// of `version`'s table, or when no known series has it (a typo, a
/// user-defined or a service-derived name: the caller's other checks
/// decide). A version outside the known series is answered with the
/// nearest one's table ([`SeriesMatch`]); a name added after 3.4 is then
/// "added in" for 3.3 as well, and a name Postfix added after 3.11 is
/// unknown here.
///
/// Ask when a spec or main.cf names a parameter the version's catalog
/// does not have (before "unknown parameter"), and for a legacy name the
/// version accepts (for a "renamed" warning): a [`NameChange::RenamedTo`]
/// with `legacy_alias` is not an error.
pub fn name_history(name: &str, version: PostfixVersion) -> Option<NameHistory> {
    let index = SeriesMatch::for_version(version).table_index();
    let series = version.series();
    let mask = table_mask(name);
    let in_series = |i: usize| mask & (1 << i) != 0;
    let history = |name: &'static str, change: NameChange| {
        Some(NameHistory {
            name,
            version,
            change,
        })
    };
    if let Some(r) = RENAMES.iter().find(|r| r.old == name && r.since <= series) {
        return history(
            r.old,
            NameChange::RenamedTo {
                series: r.since,
                new_name: r.new,
                legacy_alias: is_legacy_in(name, version),
            },
        );
    }
    if in_series(index) {
        return None;
    }
    let static_name = super::static_name(name)?;
    if let Some(first) = (index + 1..KNOWN_SERIES.len()).find(|&i| in_series(i)) {
        let replaces = RENAMES
            .iter()
            .find(|r| r.new == name)
            .map(|r| r.old)
            .filter(|old| table_mask(old) & (1 << index) != 0 || is_legacy_in(old, version));
        return history(
            static_name,
            NameChange::AddedIn {
                series: KNOWN_SERIES[first],
                replaces,
            },
        );
    }
    if let Some(last) = (0..index).rev().find(|&i| in_series(i)) {
        return history(
            static_name,
            NameChange::RemovedIn {
                series: KNOWN_SERIES[last + 1],
            },
        );
    }
    None
}

/// A sentence about the name, e.g. "`smtp_tlsrpt_enable` was added in
/// Postfix 3.10; Postfix 3.7 does not have it".
impl fmt::Display for NameHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let NameHistory {
            name,
            version,
            change,
        } = self;
        match change {
            NameChange::AddedIn {
                series,
                replaces: None,
            } => write!(
                f,
                "`{name}` was added in Postfix {series}; Postfix {version} does not have it"
            ),
            NameChange::AddedIn {
                series,
                replaces: Some(old),
            } => write!(
                f,
                "`{name}` was added in Postfix {series} as the new name of `{old}`; Postfix {version} uses `{old}`"
            ),
            NameChange::RenamedTo {
                series,
                new_name,
                legacy_alias: true,
            } => write!(
                f,
                "`{name}` was renamed to `{new_name}` in Postfix {series}; Postfix {version} still accepts the old name"
            ),
            NameChange::RenamedTo {
                series,
                new_name,
                legacy_alias: false,
            } => write!(
                f,
                "`{name}` was renamed to `{new_name}` in Postfix {series}"
            ),
            NameChange::RemovedIn { series } => write!(
                f,
                "`{name}` was removed in Postfix {series}; Postfix {version} does not have it"
            ),
        }
    }
}

/// Every table index whose table has `name` (bit i: `builtin::TABLES[i]`).
#[cfg(test)]
fn tables_with(name: &str) -> Vec<&'static str> {
    use super::builtin::TABLES;
    (0..TABLES.len())
        .filter(|i| table_mask(name) & (1 << i) != 0)
        .map(|i| TABLES[i].0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn v(text: &str) -> PostfixVersion {
        PostfixVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn said(name: &str, version: &str) -> Option<String> {
        name_history(name, v(version)).map(|h| h.to_string())
    }

    #[test]
    fn legacy_lists_match_the_postconf_source() {
        // pcf_legacy_str_table of each tag (postconf/postconf_builtin.c).
        let early = [
            "authorized_verp_clients",
            "fallback_relay",
            "postscreen_dnsbl_ttl",
            "smtpd_client_connection_limit_exceptions",
            "virtual_maps",
        ];
        for s in ["3.4", "3.5", "3.4.29", "3.3"] {
            assert_eq!(legacy_params(v(s)), early, "{s}");
        }
        let mut six = early.to_vec();
        six.extend([
            "postscreen_blacklist_action",
            "postscreen_dnsbl_whitelist_threshold",
            "postscreen_whitelist_interfaces",
        ]);
        six.sort_unstable();
        assert_eq!(legacy_params(v("3.6.20")), six);
        for s in ["3.7", "3.7.11", "3.8", "3.9", "3.10", "3.11", "3.12"] {
            assert_eq!(legacy_params(v(s)), super::super::LEGACY_PARAMS, "{s}");
        }
        assert!(RENAMES.windows(2).all(|w| w[0].old < w[1].old));
    }

    #[test]
    fn renames_agree_with_the_tables() {
        for r in RENAMES {
            // The old name is never listed by postconf -d once renamed,
            // the new one always from its series on, and its default
            // falls back to the old name.
            for (i, series) in KNOWN_SERIES.iter().enumerate() {
                let catalog = Catalog::builtin_for(*series);
                let new = catalog.get(r.new);
                if *series >= r.since {
                    assert!(!catalog.contains(r.old), "{} in {series}", r.old);
                    let new = new.unwrap_or_else(|| panic!("{} in {series}", r.new));
                    assert!(
                        crate::postfix::macros::references(new.default.as_bytes())
                            .iter()
                            .any(|n| n == r.old),
                        "{} default {:?} ({series})",
                        r.new,
                        new.default
                    );
                } else {
                    assert!(new.is_none(), "{} before {}", r.new, r.since);
                    assert!(catalog.contains(r.old), "{} in {series}", r.old);
                }
                assert_eq!(
                    is_legacy_in(r.old, *series),
                    *series >= r.since,
                    "{} {i}",
                    r.old
                );
            }
        }
    }

    #[test]
    fn every_series_knows_every_legacy_name_one_way_or_the_other() {
        // NameContext treats the 3.7 legacy list as known for any catalog;
        // that is right because each of these names is either built-in or
        // legacy in every known series.
        for series in KNOWN_SERIES {
            let catalog = Catalog::builtin_for(series);
            for name in super::super::LEGACY_PARAMS {
                assert!(
                    catalog.contains(name) ^ is_legacy_in(name, series),
                    "{name} in {series}"
                );
            }
        }
    }

    #[test]
    fn added_names() {
        assert_eq!(
            said("smtp_tlsrpt_enable", "3.7"),
            Some(
                "`smtp_tlsrpt_enable` was added in Postfix 3.10; Postfix 3.7 does not have it"
                    .into()
            )
        );
        assert_eq!(
            name_history("smtp_tlsrpt_enable", v("3.5.1")).map(|h| h.change),
            Some(NameChange::AddedIn {
                series: v("3.10"),
                replaces: None
            })
        );
        assert_eq!(said("smtp_tlsrpt_enable", "3.10"), None);
        assert_eq!(said("smtp_tlsrpt_enable", "3.11.6"), None);
        assert_eq!(
            said("postscreen_denylist_action", "3.5"),
            Some("`postscreen_denylist_action` was added in Postfix 3.6 as the new name of `postscreen_blacklist_action`; Postfix 3.5 uses `postscreen_blacklist_action`".into())
        );
        assert_eq!(
            said("tlsproxy_client_security_level", "3.6.20"),
            Some("`tlsproxy_client_security_level` was added in Postfix 3.7 as the new name of `tlsproxy_client_level`; Postfix 3.6.20 uses `tlsproxy_client_level`".into())
        );
        // Older than every known series: the 3.4 table answers.
        assert_eq!(
            name_history("info_log_address_format", v("3.3")).map(|h| h.change),
            Some(NameChange::AddedIn {
                series: v("3.5"),
                replaces: None
            })
        );
        assert_eq!(tables_with("info_log_address_format").len(), 8);
    }

    #[test]
    fn renamed_and_removed_names() {
        assert_eq!(
            said("postscreen_blacklist_action", "3.10"),
            Some("`postscreen_blacklist_action` was renamed to `postscreen_denylist_action` in Postfix 3.6; Postfix 3.10 still accepts the old name".into())
        );
        assert_eq!(
            name_history("smtpd_per_record_deadline", v("3.7.11")).map(|h| h.change),
            Some(NameChange::RenamedTo {
                series: v("3.7"),
                new_name: "smtpd_per_request_deadline",
                legacy_alias: true
            })
        );
        // Still built-in before the rename: nothing to say.
        assert_eq!(said("postscreen_blacklist_action", "3.5"), None);
        assert_eq!(said("smtpd_per_record_deadline", "3.6"), None);
        // Renamed long before 3.4.
        assert_eq!(
            said("virtual_maps", "3.4"),
            Some("`virtual_maps` was renamed to `virtual_alias_maps` in Postfix 2.0; Postfix 3.4 still accepts the old name".into())
        );
        // Removed without a replacement (HISTORY 20260131: "the
        // tls_legacy_public_key_fingerprints parameter has been removed").
        assert_eq!(
            said("tls_legacy_public_key_fingerprints", "3.11"),
            Some("`tls_legacy_public_key_fingerprints` was removed in Postfix 3.11; Postfix 3.11 does not have it".into())
        );
        assert_eq!(
            name_history("tls_legacy_public_key_fingerprints", v("3.12")).map(|h| h.change),
            Some(NameChange::RemovedIn { series: v("3.11") })
        );
        assert_eq!(said("tls_legacy_public_key_fingerprints", "3.10"), None);
        assert_eq!(
            tables_with("tls_legacy_public_key_fingerprints"),
            [
                "3.4",
                "3.5",
                "3.6",
                "3.7",
                "3.8",
                "3.9",
                "3.10",
                "debian-3.7.11"
            ]
        );
    }

    #[test]
    fn names_no_series_has() {
        for name in [
            "no_such_parameter",
            "relay_destination_concurrency_limit",
            "",
            "my_checks",
        ] {
            for s in ["3.4", "3.7", "3.11", "4.0"] {
                assert_eq!(said(name, s), None, "{name} {s}");
            }
        }
    }

    #[test]
    fn every_name_of_every_series_has_a_consistent_history() {
        // For each pair of series: a name of one that the other lacks is
        // "added" (later) or "removed"/"renamed" (earlier) for the other.
        for (i, a) in KNOWN_SERIES.iter().enumerate() {
            for (j, b) in KNOWN_SERIES.iter().enumerate() {
                let cb = Catalog::builtin_for(*b);
                for p in Catalog::builtin_for(*a).params() {
                    let h = name_history(p.name, *b).map(|h| h.change);
                    match (cb.contains(p.name), h) {
                        (true, None) => {}
                        (false, Some(NameChange::AddedIn { series, .. })) => {
                            assert!(i > j && series > *b && series <= *a, "{} {a} {b}", p.name)
                        }
                        (false, Some(NameChange::RenamedTo { series, .. })) => {
                            assert!(i < j && series > *a && series <= *b, "{} {a} {b}", p.name)
                        }
                        (false, Some(NameChange::RemovedIn { series })) => {
                            assert!(i < j && series > *a && series <= *b, "{} {a} {b}", p.name)
                        }
                        other => panic!("{} from {a} asked for {b}: {other:?}", p.name),
                    }
                }
            }
        }
    }
}
