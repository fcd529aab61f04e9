//! Value checks: the parameter types Postfix converts at startup, and the
//! closed value sets of parameters that take keywords.
//!
//! Type rules (what the daemons do in `mail_params_init` and friends; postconf
//! itself checks none of this, SPEC section 3):
//!
//! * bool (`global/mail_conf_bool.c`): `yes` or `no`, any case.
//! * int / long (`global/mail_conf_int.c`, `mail_conf_long.c`): C `strtol`
//!   of the whole value (optional sign) within C int / long range. Per
//!   parameter minimums are not in the catalog and not checked here.
//! * time (`global/conv_time.c`): a non-negative int with at most one unit
//!   letter `s`, `m`, `h`, `d` or `w` (none: the parameter's default unit),
//!   and the result must fit a C int in seconds.
//! * A value that contains `$` is not checked: it is expanded at run time.
//!
//! The keyword sets are from postconf(5) of Postfix 3.7.11 (the manual
//! installed by Debian's postfix 3.7.11 package, the same text as
//! <https://www.postfix.org/postconf.5.html> for 3.7); each set below names
//! its section. Case rules follow the Postfix lookup used: `name_code()`
//! lookups (single keywords) ignore case; `name_mask()` lists are
//! case-sensitive unless documented otherwise (verified for inet_protocols
//! with postconf 3.7.11: `IPv4` is fatal).
//!
//! ## Across versions (3.4 ... 3.11)
//!
//! [`value_rule`] / [`check_value`] are the rules of the built-in Debian
//! 3.7.11 catalog, unchanged from before versions were known;
//! [`value_rule_for`] / [`check_value_for`] are a version's. Every
//! `NAME_CODE`/`NAME_MASK` table of the Postfix source was compared
//! between the newest tags of 3.4 ... 3.11, and every postconf(5) section
//! of a parameter below between those tags. These differ:
//!
//! * TLS protocol lists: the `>=version` / `<=version` bounds exist from
//!   3.6 on (tls/tls_misc.c `tls_proto_mask_lims`, v3.6.0); 3.4 and 3.5
//!   take names with `!` only (`tls_protocol_mask`), so `>=TLSv1.2` there
//!   is an invalid protocol.
//! * compatibility_level: an int up to 3.5 (the catalog type; levels 0, 1,
//!   2), `major.minor.patch` from 3.6 (global/mail_params.h
//!   `COMPAT_LEVEL_3_6`), level 3.11 added in 3.11 (`COMPAT_LEVEL_3_11`).
//! * milter_default_action: `shutdown` from 3.7.20, 3.8.15, 3.9.9, 3.10.8
//!   and 3.11 (milter/milter8.c; postconf(5): "Available in Postfix 3.11,
//!   3.10.8, 3.9.9, 3.8.15, 3.7.20, and later").
//! * smtpd_forbid_bare_newline (only in the versioned rules, so the
//!   built-in rules and the committed schema stay as they were): `yes`/`no`
//!   when it was backported (3.5.23, 3.6.13, 3.7.9, 3.8.4), `normalize`
//!   and `reject` from the next patch release of each (smtpd/smtpd.c
//!   `bare_lf_mask_table`), `note` from 3.9.0.
//!
//! The same in every series (checked): TLS security levels
//! (tls/tls_level.c), cipher grades (3.8 maps `export` and `low` to
//! `medium` but keeps the names), inet_protocols, notify_classes, the SASL
//! options, the postscreen actions, lock methods, smtputf8 classes, DNS
//! support levels. `smtpd_tls_eecdh_grade` has been ignored since 3.6; its
//! documented values are unchanged.

use crate::postfix::number::{compat_level, strtol};
use crate::postfix::space;
use thiserror::Error;

use super::{Param, ParamType, PostfixVersion};

/// Why a value is not acceptable for its parameter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueProblem {
    #[error("invalid value {value:?}: expected yes or no")]
    NotBool { value: String },
    #[error("invalid value {value:?}: expected a whole number")]
    NotInteger { value: String },
    #[error("invalid value {value:?}: expected a whole number from {min} to {max}")]
    OutOfRange { value: String, min: i64, max: i64 },
    #[error("invalid value {value:?}: expected a time like 10s, 5m, 1h, 2d, 1w")]
    NotTime { value: String },
    #[error("invalid value {value:?}: expected one of: {}", .allowed.join(", "))]
    NotInSet {
        value: String,
        allowed: &'static [&'static str],
    },
    #[error("invalid value {item:?} in {value:?}: expected a list of: {}", .allowed.join(", "))]
    NotInList {
        value: String,
        item: String,
        allowed: &'static [&'static str],
    },
    #[error("empty value: expected one or more of: {}", .allowed.join(", "))]
    EmptyList { allowed: &'static [&'static str] },
    #[error(
        "invalid TLS protocol {item:?} in {value:?}: expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude){}",
        if *bounds { ", or >=/<= with a name or hex version (e.g. >=TLSv1.2)" } else { " (>=/<= bounds need Postfix 3.6 or later)" }
    )]
    BadProtocol {
        value: String,
        item: String,
        /// Whether `>=`/`<=` bounds were allowed (Postfix 3.6 and later).
        bounds: bool,
    },
    #[error(
        "invalid value {value:?}: expected a compatibility level like {}",
        or_list(levels)
    )]
    NotCompatLevel {
        value: String,
        /// The levels the version documents.
        levels: &'static [&'static str],
    },
}

/// The shape of a closed value set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRuleKind {
    /// Exactly one of the values.
    One,
    /// A list (separators `, \t\r\n`) of the values.
    List,
    /// A TLS protocol list: names with `!`, `>=`, `<=` prefixes (`>=`/`<=`
    /// also take hex versions; only when [`ValueRule::protocol_bounds`]);
    /// separators whitespace, commas and colons.
    Protocols,
    /// A compatibility level `major[.minor[.patch]]`; `values` are the
    /// documented levels (examples; any well-formed level is accepted).
    CompatLevel,
}

/// A closed value set of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueRule {
    pub kind: ValueRuleKind,
    pub values: &'static [&'static str],
    /// Whether the empty value is valid (for most it means "use the legacy
    /// parameters" or "none").
    pub allow_empty: bool,
    pub case_sensitive: bool,
    /// [`ValueRuleKind::Protocols`]: whether `>=`/`<=` bounds are valid
    /// (Postfix 3.6 and later). False for the other kinds.
    pub protocol_bounds: bool,
}

/// The allowed values of a parameter with a closed set of keywords, e.g.
/// `inet_protocols` gives `all, ipv4, ipv6` (a list of them). `None` for
/// free-form parameters (and for `compatibility_level`, which takes any
/// well-formed level; see [`value_rule`]).
pub fn enum_values(name: &str) -> Option<&'static [&'static str]> {
    value_rule(name)
        .filter(|r| r.kind != ValueRuleKind::CompatLevel)
        .map(|r| r.values)
}

/// The full rule behind [`enum_values`], for schemas and checks: the rules
/// of the built-in Debian 3.7.11 catalog as they were before versions were
/// known (see [`value_rule_for`] for a version's).
pub fn value_rule(name: &str) -> Option<ValueRule> {
    RULES
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, rule)| *rule)
}

/// [`enum_values`] of a Postfix version.
pub fn enum_values_for(name: &str, version: PostfixVersion) -> Option<&'static [&'static str]> {
    value_rule_for(name, version)
        .filter(|r| r.kind != ValueRuleKind::CompatLevel)
        .map(|r| r.values)
}

/// The value rule of `name` in Postfix `version` (see the module notes for
/// what differs and why). A version without a patch level stands for the
/// newest release of its series, like the catalog tables.
pub fn value_rule_for(name: &str, version: PostfixVersion) -> Option<ValueRule> {
    let series = version.series();
    if name == "smtpd_forbid_bare_newline" {
        let values = if series >= PostfixVersion::new(3, 9) {
            BARE_NEWLINE_3_9
        } else if since_any(version, &BARE_NEWLINE_KEYWORDS_SINCE) {
            BARE_NEWLINE_KEYWORDS
        } else {
            &["yes", "no"]
        };
        return Some(one(values, false));
    }
    let mut rule = value_rule(name)?;
    match rule.kind {
        ValueRuleKind::Protocols => {
            rule.protocol_bounds = series >= PostfixVersion::new(3, 6);
        }
        ValueRuleKind::CompatLevel => {
            rule.values = if series >= PostfixVersion::new(3, 11) {
                &["0", "1", "2", "3.6", "3.11"]
            } else if series >= PostfixVersion::new(3, 6) {
                &["0", "1", "2", "3.6"]
            } else {
                &["0", "1", "2"]
            };
        }
        ValueRuleKind::One | ValueRuleKind::List => {}
    }
    if name == "milter_default_action" && since_any(version, &MILTER_SHUTDOWN_SINCE) {
        rule.values = MILTER_ACTIONS_SHUTDOWN;
    }
    Some(rule)
}

/// True when `version` has a change that was released in each listed
/// release of its series (sorted by series, one per series), or is of a
/// later series than all of them.
fn since_any(version: PostfixVersion, releases: &[PostfixVersion]) -> bool {
    let series = version.series();
    match releases.iter().find(|r| r.series() == series) {
        Some(r) => version.has_release(*r),
        None => releases.last().is_some_and(|last| series > last.series()),
    }
}

/// milter_default_action `shutdown` (postconf(5) 3.10.13 and milter8.c).
const MILTER_SHUTDOWN_SINCE: [PostfixVersion; 5] = [
    PostfixVersion::release(3, 7, 20),
    PostfixVersion::release(3, 8, 15),
    PostfixVersion::release(3, 9, 9),
    PostfixVersion::release(3, 10, 8),
    PostfixVersion::release(3, 11, 0),
];
const MILTER_ACTIONS: &[&str] = &["accept", "reject", "tempfail", "quarantine"];
const MILTER_ACTIONS_SHUTDOWN: &[&str] =
    &["accept", "reject", "tempfail", "shutdown", "quarantine"];

/// smtpd_forbid_bare_newline keywords (smtpd/smtpd.c `bare_lf_mask_table`,
/// a case-insensitive `name_code`; a bad value is fatal).
const BARE_NEWLINE_KEYWORDS_SINCE: [PostfixVersion; 4] = [
    PostfixVersion::release(3, 5, 24),
    PostfixVersion::release(3, 6, 14),
    PostfixVersion::release(3, 7, 10),
    PostfixVersion::release(3, 8, 5),
];
const BARE_NEWLINE_KEYWORDS: &[&str] = &["normalize", "yes", "reject", "no"];
const BARE_NEWLINE_3_9: &[&str] = &["normalize", "yes", "note", "reject", "no"];

/// Check a value for a parameter: its type, then its value set if it has
/// one. Surrounding whitespace is ignored (Postfix trims it); values with
/// `$` are accepted as they are. The value sets are those of
/// [`value_rule`] (the built-in Debian 3.7.11 catalog).
pub fn check_value(param: &Param, value: &str) -> Result<(), ValueProblem> {
    check_with(param, value, value_rule(param.name))
}

/// [`check_value`] for Postfix `version`: pass the parameter from that
/// version's catalog (its type may differ, e.g. compatibility_level is an
/// int before 3.6) and the version asked for (its patch level counts where
/// a value set changed within a series).
pub fn check_value_for(
    param: &Param,
    value: &str,
    version: PostfixVersion,
) -> Result<(), ValueProblem> {
    check_with(param, value, value_rule_for(param.name, version))
}

fn check_with(param: &Param, value: &str, rule: Option<ValueRule>) -> Result<(), ValueProblem> {
    let v = trimmed(value);
    if v.contains('$') {
        return Ok(());
    }
    let owned = || v.to_string();
    match param.ty {
        ParamType::Bool | ParamType::Nbool => {
            if !(v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no")) {
                return Err(ValueProblem::NotBool { value: owned() });
            }
        }
        ParamType::Int | ParamType::Nint => {
            check_integer(v, i64::from(i32::MIN), i64::from(i32::MAX))?
        }
        ParamType::Long => check_integer(v, i64::MIN, i64::MAX)?,
        ParamType::Time => {
            if !valid_time(v) {
                return Err(ValueProblem::NotTime { value: owned() });
            }
        }
        ParamType::Str | ParamType::StrFn | ParamType::Raw => {}
    }
    match rule {
        Some(rule) => check_rule(&rule, v),
        None => Ok(()),
    }
}

/// `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn trimmed(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_ascii() && space::is_space(c as u8))
}

fn check_integer(v: &str, min: i64, max: i64) -> Result<(), ValueProblem> {
    match strtol(v.as_bytes()) {
        Some((n, end)) if end == v.len() => {
            if n < min || n > max {
                Err(ValueProblem::OutOfRange {
                    value: v.to_string(),
                    min,
                    max,
                })
            } else {
                Ok(())
            }
        }
        // strtol overflow (ERANGE) is out of range too.
        None if is_decimal(v) => Err(ValueProblem::OutOfRange {
            value: v.to_string(),
            min,
            max,
        }),
        _ => Err(ValueProblem::NotInteger {
            value: v.to_string(),
        }),
    }
}

/// An optional sign and one or more digits.
fn is_decimal(v: &str) -> bool {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `conv_time`: int >= 0, at most one unit letter, no overflow in seconds.
fn valid_time(v: &str) -> bool {
    let Some((n, end)) = strtol(v.as_bytes()) else {
        return false;
    };
    if n < 0 || n > i64::from(i32::MAX) {
        return false;
    }
    let unit = match &v.as_bytes()[end..] {
        [] => return true, // the parameter's default unit
        [u] => *u,
        _ => return false,
    };
    let seconds: i64 = match unit {
        b's' => return true,
        b'm' => 60,
        b'h' => 3600,
        b'd' => 86400,
        b'w' => 7 * 86400,
        _ => return false,
    };
    n < i64::from(i32::MAX) / seconds
}

fn check_rule(rule: &ValueRule, v: &str) -> Result<(), ValueProblem> {
    let matches = |item: &str| {
        rule.values.iter().any(|a| {
            if rule.case_sensitive {
                *a == item
            } else {
                a.eq_ignore_ascii_case(item)
            }
        })
    };
    if v.is_empty() {
        return if rule.allow_empty {
            Ok(())
        } else if rule.kind == ValueRuleKind::One {
            Err(ValueProblem::NotInSet {
                value: String::new(),
                allowed: rule.values,
            })
        } else if rule.kind == ValueRuleKind::CompatLevel {
            Err(ValueProblem::NotCompatLevel {
                value: String::new(),
                levels: rule.values,
            })
        } else {
            Err(ValueProblem::EmptyList {
                allowed: rule.values,
            })
        };
    }
    match rule.kind {
        ValueRuleKind::One => {
            if matches(v) {
                Ok(())
            } else {
                Err(ValueProblem::NotInSet {
                    value: v.to_string(),
                    allowed: rule.values,
                })
            }
        }
        ValueRuleKind::List => {
            let items: Vec<&str> = v
                .split([',', ' ', '\t', '\r', '\n'])
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() && !rule.allow_empty {
                return Err(ValueProblem::EmptyList {
                    allowed: rule.values,
                });
            }
            match items.iter().find(|item| !matches(item)) {
                Some(item) => Err(ValueProblem::NotInList {
                    value: v.to_string(),
                    item: item.to_string(),
                    allowed: rule.values,
                }),
                None => Ok(()),
            }
        }
        ValueRuleKind::Protocols => {
            let bad = v
                .split([',', ' ', '\t', '\r', '\n', ':'])
                .filter(|s| !s.is_empty())
                .find(|item| !valid_protocol(item, rule.protocol_bounds, &matches));
            match bad {
                Some(item) => Err(ValueProblem::BadProtocol {
                    value: v.to_string(),
                    item: item.to_string(),
                    bounds: rule.protocol_bounds,
                }),
                None => Ok(()),
            }
        }
        ValueRuleKind::CompatLevel => {
            if compat_level(v.as_bytes()).is_some() {
                Ok(())
            } else {
                Err(ValueProblem::NotCompatLevel {
                    value: v.to_string(),
                    levels: rule.values,
                })
            }
        }
    }
}

/// One element of a TLS protocol list (postconf(5) smtp_tls_mandatory_protocols).
fn valid_protocol(item: &str, bounds: bool, is_name: &impl Fn(&str) -> bool) -> bool {
    if let Some(bound) = item
        .strip_prefix(">=")
        .or_else(|| item.strip_prefix("<="))
        .filter(|_| bounds)
    {
        // A name, or a hexadecimal version with optional "0" / "0x" prefix.
        let hex = bound
            .strip_prefix("0x")
            .or_else(|| bound.strip_prefix("0X"))
            .unwrap_or(bound);
        return is_name(bound) || (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    is_name(item.strip_prefix('!').unwrap_or(item))
}

const fn one(values: &'static [&'static str], allow_empty: bool) -> ValueRule {
    ValueRule {
        kind: ValueRuleKind::One,
        values,
        allow_empty,
        case_sensitive: false,
        protocol_bounds: false,
    }
}

const fn list(
    values: &'static [&'static str],
    allow_empty: bool,
    case_sensitive: bool,
) -> ValueRule {
    ValueRule {
        kind: ValueRuleKind::List,
        values,
        allow_empty,
        case_sensitive,
        protocol_bounds: false,
    }
}

const SMTP_TLS_LEVELS: &[&str] = &[
    "none",
    "may",
    "encrypt",
    "dane",
    "dane-only",
    "fingerprint",
    "verify",
    "secure",
];
const SMTPD_TLS_LEVELS: &[&str] = &["none", "may", "encrypt"];
const CIPHER_GRADES: &[&str] = &["export", "low", "medium", "high", "null"];
const TLS_PROTOCOLS: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
const POSTSCREEN_ACTIONS: &[&str] = &["ignore", "enforce", "drop"];

/// (parameters, rule). Sources: postconf(5), Postfix 3.7.11, the section of
/// the first parameter of each row unless noted.
static RULES: &[(&[&str], ValueRule)] = &[
    // inet_protocols: "Specify one or more of "ipv4" or "ipv6", separated by
    // whitespace or commas. The form "all" is equivalent to ..." (name_mask:
    // case-sensitive, verified; empty is accepted by postconf but leaves
    // Postfix without any protocol, so it is refused here).
    (
        &["inet_protocols"],
        list(&["all", "ipv4", "ipv6"], false, true),
    ),
    // smtp_tls_security_level: none, may, encrypt, dane, dane-only,
    // fingerprint, verify, secure; empty = legacy smtp_use_tls etc.
    // lmtp_tls_security_level / tlsproxy_client_security_level ("See
    // smtp_tls_security_level"); tlsproxy_client_level is its 3.4-3.6 name.
    (
        &[
            "smtp_tls_security_level",
            "lmtp_tls_security_level",
            "tlsproxy_client_security_level",
            "tlsproxy_client_level",
        ],
        one(SMTP_TLS_LEVELS, true),
    ),
    // smtpd_tls_security_level: none, may, encrypt ("the fingerprint, verify
    // and secure levels are not supported here"); postscreen_ and
    // tlsproxy_tls_security_level refer to it.
    (
        &[
            "smtpd_tls_security_level",
            "postscreen_tls_security_level",
            "tlsproxy_tls_security_level",
        ],
        one(SMTPD_TLS_LEVELS, true),
    ),
    // smtp_tls_dane_insecure_mx_policy: may, encrypt, dane.
    (
        &[
            "smtp_tls_dane_insecure_mx_policy",
            "lmtp_tls_dane_insecure_mx_policy",
        ],
        one(&["may", "encrypt", "dane"], false),
    ),
    // smtpd_tls_mandatory_ciphers: "The following cipher grades are
    // supported: export, low, medium, high, null"; the *_tls_ciphers
    // sections refer to it.
    (
        &[
            "smtp_tls_ciphers",
            "smtp_tls_mandatory_ciphers",
            "lmtp_tls_ciphers",
            "lmtp_tls_mandatory_ciphers",
            "smtpd_tls_ciphers",
            "smtpd_tls_mandatory_ciphers",
            "tlsproxy_tls_ciphers",
            "tlsproxy_tls_mandatory_ciphers",
            "tlsproxy_client_ciphers",
            "tlsproxy_client_mandatory_ciphers",
        ],
        one(CIPHER_GRADES, false),
    ),
    // smtp_tls_mandatory_protocols: names SSLv2 ... TLSv1.3, "!" exclusions,
    // ">=version"/"<=version" bounds (names or hex), separators whitespace,
    // commas or colons; "An empty value means allow all protocols".
    (
        &[
            "smtp_tls_protocols",
            "smtp_tls_mandatory_protocols",
            "lmtp_tls_protocols",
            "lmtp_tls_mandatory_protocols",
            "smtpd_tls_protocols",
            "smtpd_tls_mandatory_protocols",
            "tlsproxy_tls_protocols",
            "tlsproxy_tls_mandatory_protocols",
            "tlsproxy_client_protocols",
            "tlsproxy_client_mandatory_protocols",
        ],
        ValueRule {
            kind: ValueRuleKind::Protocols,
            values: TLS_PROTOCOLS,
            allow_empty: true,
            case_sensitive: false,
            protocol_bounds: true,
        },
    ),
    // notify_classes: bounce, 2bounce, data, delay, policy, protocol,
    // resource, software.
    (
        &["notify_classes"],
        list(
            &[
                "bounce", "2bounce", "data", "delay", "policy", "protocol", "resource", "software",
            ],
            true,
            true,
        ),
    ),
    // compatibility_level: "formatted as major.minor.patch ... Earlier
    // compatibility levels are 0, 1 and 2" (global/compat_level.c syntax).
    (
        &["compatibility_level"],
        ValueRule {
            kind: ValueRuleKind::CompatLevel,
            values: &["0", "1", "2", "3.6", "3.7"],
            allow_empty: false,
            case_sensitive: true,
            protocol_bounds: false,
        },
    ),
    // smtpd_tls_eecdh_grade: auto, none, strong, ultra.
    (
        &["smtpd_tls_eecdh_grade", "tlsproxy_tls_eecdh_grade"],
        one(&["auto", "none", "strong", "ultra"], false),
    ),
    // smtp_address_preference: "ipv6", "ipv4" or "any".
    (
        &["smtp_address_preference", "lmtp_address_preference"],
        one(&["ipv6", "ipv4", "any"], false),
    ),
    // smtp_dns_support_level: disabled, enabled, dnssec; empty = legacy
    // disable_dns_lookups.
    (
        &["smtp_dns_support_level", "lmtp_dns_support_level"],
        one(&["disabled", "enabled", "dnssec"], true),
    ),
    // mynetworks_style: host, subnet, class.
    (
        &["mynetworks_style"],
        one(&["host", "subnet", "class"], false),
    ),
    // milter_default_action: accept, reject, tempfail, quarantine (and
    // shutdown from 3.7.20 etc.: value_rule_for).
    (&["milter_default_action"], one(MILTER_ACTIONS, false)),
    // header_from_format: standard, obsolete.
    (
        &["header_from_format"],
        one(&["standard", "obsolete"], false),
    ),
    // info_log_address_format: external, internal.
    (
        &["info_log_address_format"],
        one(&["external", "internal"], false),
    ),
    // internal_mail_filter_classes: "zero or more of ... bounce, notify".
    (
        &["internal_mail_filter_classes"],
        list(&["bounce", "notify"], true, true),
    ),
    // postscreen_*_action: ignore, enforce, drop (postscreen_blacklist_action
    // is the 2.8-3.5 name of postscreen_denylist_action).
    (
        &[
            "postscreen_bare_newline_action",
            "postscreen_denylist_action",
            "postscreen_blacklist_action",
            "postscreen_dnsbl_action",
            "postscreen_greet_action",
            "postscreen_non_smtp_command_action",
            "postscreen_pipelining_action",
        ],
        one(POSTSCREEN_ACTIONS, false),
    ),
    // smtp_pix_workarounds: delay_dotcrlf, disable_esmtp, "case insensitive".
    (
        &["smtp_pix_workarounds", "lmtp_pix_workarounds"],
        list(&["delay_dotcrlf", "disable_esmtp"], true, false),
    ),
    // smtp_host_lookup: dns, native, or both.
    (
        &["smtp_host_lookup", "lmtp_host_lookup"],
        list(&["dns", "native"], false, true),
    ),
    // smtp_dns_resolver_options: res_defnames, res_dnsrch; "Option names are
    // case-sensitive".
    (
        &["smtp_dns_resolver_options", "lmtp_dns_resolver_options"],
        list(&["res_defnames", "res_dnsrch"], true, true),
    ),
    // smtpd_upstream_proxy_protocol: "haproxy"; empty = no proxy.
    (
        &[
            "smtpd_upstream_proxy_protocol",
            "postscreen_upstream_proxy_protocol",
        ],
        one(&["haproxy"], true),
    ),
    // smtp_address_verify_target: "rcpt" or "data".
    (
        &["smtp_address_verify_target", "lmtp_address_verify_target"],
        one(&["rcpt", "data"], false),
    ),
    // reject_tempfail_action: "defer" or "defer_if_permit" (and the four
    // finer-grained parameters it lists; smtpd/smtpd_check.c maps exactly
    // these two names).
    (
        &[
            "reject_tempfail_action",
            "unknown_address_tempfail_action",
            "unknown_helo_hostname_tempfail_action",
            "unverified_recipient_tempfail_action",
            "unverified_sender_tempfail_action",
        ],
        one(&["defer", "defer_if_permit"], false),
    ),
    // smtpd_sasl_security_options: noplaintext, noactive, nodictionary,
    // noanonymous, forward_secrecy, mutual_auth.
    (
        &[
            "smtpd_sasl_security_options",
            "smtpd_sasl_tls_security_options",
        ],
        list(
            &[
                "noplaintext",
                "noactive",
                "nodictionary",
                "noanonymous",
                "forward_secrecy",
                "mutual_auth",
            ],
            true,
            false,
        ),
    ),
    // smtp_sasl_security_options: noplaintext, noactive, nodictionary,
    // noanonymous, mutual_auth.
    (
        &[
            "smtp_sasl_security_options",
            "smtp_sasl_tls_security_options",
            "lmtp_sasl_security_options",
            "lmtp_sasl_tls_security_options",
        ],
        list(
            &[
                "noplaintext",
                "noactive",
                "nodictionary",
                "noanonymous",
                "mutual_auth",
            ],
            true,
            false,
        ),
    ),
    // smtputf8_autodetect_classes: sendmail, smtpd, qmqpd, forward, bounce,
    // notify, verify, all.
    (
        &["smtputf8_autodetect_classes"],
        list(
            &[
                "sendmail", "smtpd", "qmqpd", "forward", "bounce", "notify", "verify", "all",
            ],
            true,
            true,
        ),
    ),
    // mailbox_delivery_lock: "For a list of available file locking methods,
    // use the "postconf -l" command" (Linux, Debian 3.7.11: flock, fcntl,
    // dotlock); virtual_mailbox_lock likewise.
    (
        &["mailbox_delivery_lock", "virtual_mailbox_lock"],
        list(&["flock", "fcntl", "dotlock"], false, true),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn check(name: &str, value: &str) -> Result<(), String> {
        let param = Catalog::builtin().get(name).copied().unwrap_or(Param {
            name: "unknown",
            ty: ParamType::Str,
            default: "",
        });
        check_value(&param, value).map_err(|e| e.to_string())
    }

    #[test]
    fn booleans() {
        assert_eq!(check("biff", "yes"), Ok(()));
        assert_eq!(check("biff", " NO "), Ok(()));
        assert_eq!(
            check("biff", "maybe"),
            Err("invalid value \"maybe\": expected yes or no".into())
        );
        assert_eq!(
            check("biff", ""),
            Err("invalid value \"\": expected yes or no".into())
        );
        assert_eq!(check("smtputf8_enable", "yes"), Ok(()));
        assert_eq!(
            check("smtputf8_enable", "true"),
            Err("invalid value \"true\": expected yes or no".into())
        );
    }

    #[test]
    fn integers() {
        assert_eq!(check("default_process_limit", "100"), Ok(()));
        assert_eq!(
            check("default_process_limit", "-5"),
            Ok(()),
            "range minimums are Postfix's business"
        );
        assert_eq!(check("default_process_limit", "+5"), Ok(()));
        assert_eq!(
            check("default_process_limit", "abc"),
            Err("invalid value \"abc\": expected a whole number".into())
        );
        assert!(check("default_process_limit", "5x").is_err());
        assert!(check("default_process_limit", "").is_err());
        assert!(check("default_process_limit", "2147483648").is_err());
        assert_eq!(check("message_size_limit", "2147483648"), Ok(()), "long");
        assert!(check("message_size_limit", "99999999999999999999").is_err());
        assert!(check("message_size_limit", "10 MB").is_err());
    }

    #[test]
    fn times() {
        for ok in ["0", "10", "10s", "5m", "1h", "2d", "1w", "300"] {
            assert_eq!(check("queue_run_delay", ok), Ok(()), "{ok}");
        }
        for bad in ["5x", "10sec", "-1s", "", "s", "1.5h", "99999999w", "1 h"] {
            assert_eq!(
                check("queue_run_delay", bad),
                Err(format!(
                    "invalid value {bad:?}: expected a time like 10s, 5m, 1h, 2d, 1w"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn macros_are_not_checked() {
        assert_eq!(check("biff", "$other"), Ok(()));
        assert_eq!(check("inet_protocols", "${x?ipv4}"), Ok(()));
    }

    #[test]
    fn inet_protocols_set() {
        for ok in [
            "all",
            "ipv4",
            "ipv6",
            "ipv4, ipv6",
            "ipv4,ipv6",
            "ipv6\tipv4",
            "all ipv4",
        ] {
            assert_eq!(check("inet_protocols", ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check("inet_protocols", "ipv5"),
            Err("invalid value \"ipv5\" in \"ipv5\": expected a list of: all, ipv4, ipv6".into())
        );
        assert!(
            check("inet_protocols", "IPv4").is_err(),
            "case-sensitive like Postfix"
        );
        assert!(check("inet_protocols", "ipv4:ipv6").is_err());
        assert!(check("inet_protocols", "").is_err());
        assert!(check("inet_protocols", " , ").is_err());
    }

    #[test]
    fn tls_levels() {
        assert_eq!(check("smtp_tls_security_level", "dane-only"), Ok(()));
        assert_eq!(check("smtp_tls_security_level", "MAY"), Ok(()));
        assert_eq!(check("smtp_tls_security_level", ""), Ok(()));
        assert_eq!(
            check("smtpd_tls_security_level", "verify"),
            Err("invalid value \"verify\": expected one of: none, may, encrypt".into())
        );
        assert_eq!(check("lmtp_tls_security_level", "secure"), Ok(()));
        assert!(check("postscreen_tls_security_level", "dane").is_err());
    }

    #[test]
    fn protocols() {
        for ok in [
            ">=TLSv1.2",
            "!SSLv2, !SSLv3",
            "!SSLv2:!SSLv3",
            ">=TLSv1.2, <=0305",
            ">=0x0303",
            "TLSv1.2 TLSv1.3",
            "",
        ] {
            assert_eq!(check("smtpd_tls_protocols", ok), Ok(()), "{ok}");
        }
        for bad in ["TLSv1.4", ">=", "=>TLSv1", "!!SSLv2", ">=zz"] {
            assert!(check("smtp_tls_mandatory_protocols", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_sets() {
        assert_eq!(check("smtp_tls_ciphers", "high"), Ok(()));
        assert!(check("smtpd_tls_mandatory_ciphers", "strong").is_err());
        assert_eq!(
            check("notify_classes", "resource, software, 2bounce"),
            Ok(())
        );
        assert!(check("notify_classes", "resource, softwar").is_err());
        assert_eq!(check("mynetworks_style", "Subnet"), Ok(()));
        assert_eq!(check("smtp_pix_workarounds", "DISABLE_ESMTP"), Ok(()));
        assert_eq!(check("mailbox_delivery_lock", "fcntl, dotlock"), Ok(()));
        assert_eq!(check("smtpd_upstream_proxy_protocol", "haproxy"), Ok(()));
        assert!(check("smtpd_upstream_proxy_protocol", "nginx").is_err());
        assert_eq!(check("reject_tempfail_action", "defer"), Ok(()));
        assert_eq!(check("compatibility_level", "3.6"), Ok(()));
        assert_eq!(check("compatibility_level", "2"), Ok(()));
        assert_eq!(
            check("compatibility_level", "latest"),
            Err(
                "invalid value \"latest\": expected a compatibility level like 0, 1, 2, 3.6 or 3.7"
                    .into()
            )
        );
    }

    #[test]
    fn every_rule_names_real_parameters_and_accepts_the_default() {
        let catalog = Catalog::builtin();
        // Names that are only legacy/other-release spellings.
        let not_in_3_7 = [
            "tlsproxy_client_level",
            "postscreen_blacklist_action",
            "lmtp_tls_dane_insecure_mx_policy",
            "tlsproxy_client_ciphers",
            "tlsproxy_client_mandatory_ciphers",
            "tlsproxy_client_protocols",
            "tlsproxy_client_mandatory_protocols",
        ];
        for (names, _) in RULES {
            for name in *names {
                match catalog.get(name) {
                    Some(p) => assert_eq!(check_value(p, p.default), Ok(()), "default of {name}"),
                    None => assert!(
                        not_in_3_7.contains(name),
                        "{name} is not a 3.7.11 parameter"
                    ),
                }
            }
        }
    }

    #[test]
    fn every_builtin_default_passes_its_type_check() {
        for p in Catalog::builtin().params() {
            // process_id etc. are run-time values; all defaults must pass.
            assert_eq!(check_value(p, p.default), Ok(()), "{}", p.name);
        }
    }

    fn v(text: &str) -> PostfixVersion {
        PostfixVersion::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `check_value_for` with the parameter from that version's catalog.
    fn check_in(version: &str, name: &str, value: &str) -> Result<(), String> {
        let version = v(version);
        let param = Catalog::builtin_for(version)
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("{name} in {version}"));
        check_value_for(&param, value, version).map_err(|e| e.to_string())
    }

    #[test]
    fn protocol_bounds_from_3_6() {
        assert_eq!(check_in("3.6", "smtpd_tls_protocols", ">=TLSv1.2"), Ok(()));
        assert_eq!(check_in("3.11", "smtp_tls_protocols", "<=0x0304"), Ok(()));
        assert_eq!(
            check_in("3.5", "smtpd_tls_protocols", ">=TLSv1.2"),
            Err("invalid TLS protocol \">=TLSv1.2\" in \">=TLSv1.2\": expected names from SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, each optionally with ! (exclude) (>=/<= bounds need Postfix 3.6 or later)".into())
        );
        assert_eq!(
            check_in("3.4", "smtp_tls_mandatory_protocols", "!SSLv2, !SSLv3"),
            Ok(())
        );
        assert_eq!(
            check_in("3.4", "smtp_tls_mandatory_protocols", "TLSv1.3"),
            Ok(())
        );
        assert_eq!(
            value_rule_for("lmtp_tls_protocols", v("3.5.27")).map(|r| r.protocol_bounds),
            Some(false)
        );
        assert_eq!(
            value_rule("lmtp_tls_protocols").map(|r| r.protocol_bounds),
            Some(true)
        );
    }

    #[test]
    fn compatibility_levels_per_version() {
        // An int before 3.6: "3.6" is not a number there.
        assert_eq!(check_in("3.5", "compatibility_level", "2"), Ok(()));
        assert_eq!(
            check_in("3.5", "compatibility_level", "3.6"),
            Err("invalid value \"3.6\": expected a whole number".into())
        );
        assert_eq!(check_in("3.6", "compatibility_level", "3.6"), Ok(()));
        assert_eq!(
            check_in("3.10", "compatibility_level", "latest"),
            Err(
                "invalid value \"latest\": expected a compatibility level like 0, 1, 2 or 3.6"
                    .into()
            )
        );
        assert_eq!(
            check_in("3.11", "compatibility_level", "x"),
            Err(
                "invalid value \"x\": expected a compatibility level like 0, 1, 2, 3.6 or 3.11"
                    .into()
            )
        );
        assert_eq!(check_in("3.11", "compatibility_level", "3.11"), Ok(()));
    }

    #[test]
    fn milter_shutdown_from_its_patch_releases() {
        let has = |version: &str| {
            value_rule_for("milter_default_action", v(version))
                .is_some_and(|r| r.values.contains(&"shutdown"))
        };
        for yes in [
            "3.7", "3.7.20", "3.7.22", "3.8.15", "3.9.9", "3.10", "3.10.8", "3.11.0", "3.12",
        ] {
            assert!(has(yes), "{yes}");
        }
        for no in [
            "3.4", "3.6", "3.6.20", "3.7.11", "3.7.19", "3.8.14", "3.9.8", "3.10.7",
        ] {
            assert!(!has(no), "{no}");
        }
        assert!(check_in("3.7.11", "milter_default_action", "shutdown").is_err());
        assert_eq!(
            check_in("3.10", "milter_default_action", "Shutdown"),
            Ok(())
        );
        // The built-in Debian 3.7.11 rule is unchanged.
        assert!(check("milter_default_action", "shutdown").is_err());
    }

    #[test]
    fn bare_newline_keywords() {
        assert_eq!(check_in("3.9", "smtpd_forbid_bare_newline", "note"), Ok(()));
        assert_eq!(
            check_in("3.8", "smtpd_forbid_bare_newline", "normalize"),
            Ok(())
        );
        assert_eq!(
            check_in("3.8", "smtpd_forbid_bare_newline", "note"),
            Err("invalid value \"note\": expected one of: normalize, yes, reject, no".into())
        );
        assert_eq!(
            check_in("3.7.11", "smtpd_forbid_bare_newline", "REJECT"),
            Ok(())
        );
        assert!(check_in("3.7.9", "smtpd_forbid_bare_newline", "reject").is_err());
        assert_eq!(
            check_in("3.7.9", "smtpd_forbid_bare_newline", "yes"),
            Ok(())
        );
        assert!(check_in("3.5", "smtpd_forbid_bare_newline", "").is_err());
        assert_eq!(
            value_rule("smtpd_forbid_bare_newline"),
            None,
            "built-in rules unchanged"
        );
    }

    #[test]
    fn versioned_rules_keep_everything_else() {
        // Outside the documented differences, a version's rule is the
        // built-in one, for every rule name and every known series.
        let differs = |name: &str, kind: ValueRuleKind| {
            name == "milter_default_action"
                || matches!(kind, ValueRuleKind::Protocols | ValueRuleKind::CompatLevel)
        };
        for series in crate::catalog::KNOWN_SERIES {
            for (names, rule) in RULES {
                for name in *names {
                    let versioned = value_rule_for(name, series).expect("rule");
                    if differs(name, rule.kind) {
                        assert_eq!(versioned.kind, rule.kind, "{name}");
                    } else {
                        assert_eq!(versioned, *rule, "{name} {series}");
                    }
                }
            }
        }
        assert_eq!(
            enum_values_for("milter_default_action", v("3.10")),
            Some(MILTER_ACTIONS_SHUTDOWN)
        );
        assert_eq!(enum_values_for("compatibility_level", v("3.10")), None);
    }

    #[test]
    fn every_series_default_passes_its_versioned_check() {
        for series in crate::catalog::KNOWN_SERIES {
            let catalog = Catalog::builtin_for(series);
            for p in catalog.params() {
                assert_eq!(
                    check_value_for(p, p.default, series),
                    Ok(()),
                    "{} in {series}",
                    p.name
                );
            }
        }
        // Each rule names a parameter of some series or a legacy name,
        // except these, which no series 3.4 ... 3.11 has (postconf -d of
        // each): harmless, since only catalog parameters are checked.
        let in_no_series = [
            "lmtp_tls_dane_insecure_mx_policy",
            "tlsproxy_client_ciphers",
            "tlsproxy_client_mandatory_ciphers",
            "tlsproxy_client_protocols",
            "tlsproxy_client_mandatory_protocols",
        ];
        for (names, _) in RULES {
            for name in *names {
                let known = crate::catalog::table_mask(name) != 0
                    || crate::catalog::RENAMES.iter().any(|r| r.old == *name);
                assert_eq!(known, !in_no_series.contains(name), "{name}");
            }
        }
        let debian = Catalog::builtin();
        for p in debian.params() {
            assert_eq!(
                check_value_for(p, p.default, v("3.7.11")),
                Ok(()),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn enum_values_api() {
        assert_eq!(
            enum_values("inet_protocols"),
            Some(&["all", "ipv4", "ipv6"][..])
        );
        assert_eq!(
            enum_values("smtpd_tls_security_level"),
            Some(SMTPD_TLS_LEVELS)
        );
        assert_eq!(
            enum_values("smtp_tls_security_level").map(<[_]>::len),
            Some(8)
        );
        assert_eq!(enum_values("myhostname"), None);
        assert_eq!(enum_values("compatibility_level"), None);
        assert_eq!(
            value_rule("compatibility_level").map(|r| r.kind),
            Some(ValueRuleKind::CompatLevel)
        );
    }
}
