//! The Postfix parameter catalog: every built-in parameter with its type and
//! default, which parameters need a restart, value checks, and the rules
//! that make a name "known" (built-in, service-derived, user-defined).
//!
//! * [`Catalog::builtin`]: the 831 parameters of Postfix 3.7.11, embedded in
//!   the binary (generated from `postfix-3.7.11-params.tsv`, see README.md).
//! * [`Catalog::host`]: the local `postconf -d` when Postfix is installed (its
//!   own version, computed defaults and the service names of the local
//!   master.cf), else the built-in table.
//! * [`check_value`] / [`enum_values`]: type and closed-value-set checks
//!   (values.rs).
//! * [`NameContext`]: which names postconf would accept (known.rs).
//! * [`Catalog::suggest`]: "did you mean" (suggest.rs).

mod builtin;
mod host;
pub mod known;
mod suggest;
pub(crate) use suggest::closest;
mod values;

pub use host::{cache_dir, find_postconf, HostCatalogError, NO_CACHE_ENV};
pub use known::NameContext;
pub use values::{check_value, enum_values, value_rule, ValueProblem, ValueRule, ValueRuleKind};

use serde::Serialize;
use std::sync::OnceLock;

/// The Postfix release of the built-in table.
pub const BUILTIN_VERSION: &str = builtin::VERSION;

/// How Postfix reads a parameter (the `CONFIG_*_TABLE` it is declared in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// A string, `$name` expanded.
    Str,
    /// A string whose default is computed at run time (myhostname, ...).
    StrFn,
    /// A string that is never `$name` expanded.
    Raw,
    /// A C int.
    Int,
    /// An int whose default needs `$name` expansion.
    Nint,
    /// A C long.
    Long,
    /// `yes` or `no`.
    Bool,
    /// A bool whose default needs `$name` expansion.
    Nbool,
    /// A time: a number with an optional unit s, m, h, d or w.
    Time,
}

impl ParamType {
    /// The name used in the TSV and in JSON (`str`, `str_fn`, `nint`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Str => "str",
            ParamType::StrFn => "str_fn",
            ParamType::Raw => "raw",
            ParamType::Int => "int",
            ParamType::Nint => "nint",
            ParamType::Long => "long",
            ParamType::Bool => "bool",
            ParamType::Nbool => "nbool",
            ParamType::Time => "time",
        }
    }

    /// Parse the TSV/JSON name.
    pub fn from_name(name: &str) -> Option<ParamType> {
        Some(match name {
            "str" => ParamType::Str,
            "str_fn" => ParamType::StrFn,
            "raw" => ParamType::Raw,
            "int" => ParamType::Int,
            "nint" => ParamType::Nint,
            "long" => ParamType::Long,
            "bool" => ParamType::Bool,
            "nbool" => ParamType::Nbool,
            "time" => ParamType::Time,
            _ => return None,
        })
    }

    /// Bool or Nbool.
    pub fn is_bool(self) -> bool {
        matches!(self, ParamType::Bool | ParamType::Nbool)
    }

    /// Int, Nint or Long.
    pub fn is_integer(self) -> bool {
        matches!(self, ParamType::Int | ParamType::Nint | ParamType::Long)
    }

    /// Str, StrFn or Raw.
    pub fn is_string(self) -> bool {
        matches!(self, ParamType::Str | ParamType::StrFn | ParamType::Raw)
    }
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parameter: name, type and (unexpanded) default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub default: &'static str,
}

impl Param {
    /// For a time parameter, the unit a bare number is in: the first letter
    /// of the (expanded) default (mail_conf_time.c `get_def_time_unit`).
    /// Defaults with `${...}` end with their unit, e.g. `${stress?{10}:{300}}s`.
    pub fn time_unit(&self) -> Option<char> {
        if self.ty != ParamType::Time {
            return None;
        }
        let unit = if self.default.contains('$') {
            self.default.chars().last()
        } else {
            self.default.chars().find(char::is_ascii_alphabetic)
        };
        unit.filter(char::is_ascii_alphabetic)
    }
}

/// What the running Postfix needs after a parameter changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartClass {
    /// `postfix reload` applies it.
    Reload,
    /// Only a full stop and start applies it.
    Restart,
}

/// Parameters the master daemon reads only at startup (SPEC section 5):
/// documented "stop and start" for inet_interfaces and inet_protocols;
/// master/master_vars.c ignores reload changes of config_directory,
/// queue_directory and inet_protocols; maillog_file per MAILLOG_README;
/// import_environment (clean_env at master startup) and data_directory
/// (master.lock) from the source.
const RESTART_PARAMS: [&str; 7] = [
    "config_directory",
    "data_directory",
    "import_environment",
    "inet_interfaces",
    "inet_protocols",
    "maillog_file",
    "queue_directory",
];

/// Reload or restart for a change of `name`. Everything not listed needs
/// only a reload (master.cf edits included).
pub fn restart_class(name: &str) -> RestartClass {
    if RESTART_PARAMS.contains(&name) {
        RestartClass::Restart
    } else {
        RestartClass::Reload
    }
}

/// Parameters Postfix sets itself: postconf warns `read-only parameter
/// assignment` and drops a main.cf or master.cf assignment
/// (postconf_user.c, `PCF_READONLY_PARAMETER`).
pub fn read_only(name: &str) -> bool {
    matches!(name, "process_id" | "process_name" | "service_name")
}

/// Legacy parameters: old names Postfix 3.7 still accepts (usually as the
/// `$name` a new parameter's default falls back to, e.g.
/// `postscreen_access_list`'s `$postscreen_whitelist_interfaces`), with an
/// empty default. `postconf -d` does not list them, but postconf knows
/// them: no "unused parameter" warning when main.cf sets one, no
/// "undefined parameter" warning when a value references one
/// (postconf_builtin.c `pcf_legacy_str_table`; this list was checked
/// name by name against postconf 3.7.11).
pub const LEGACY_PARAMS: [&str; 13] = [
    "authorized_verp_clients",
    "fallback_relay",
    "lmtp_per_record_deadline",
    "postscreen_blacklist_action",
    "postscreen_dnsbl_ttl",
    "postscreen_dnsbl_whitelist_threshold",
    "postscreen_whitelist_interfaces",
    "smtp_per_record_deadline",
    "smtpd_client_connection_limit_exceptions",
    "smtpd_per_record_deadline",
    "tlsproxy_client_level",
    "tlsproxy_client_policy",
    "virtual_maps",
];

/// True for a [`LEGACY_PARAMS`] name.
pub fn is_legacy(name: &str) -> bool {
    LEGACY_PARAMS.binary_search(&name).is_ok()
}

/// Where a catalog's names came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// The embedded Postfix 3.7.11 table.
    Builtin,
    /// Parsed `postconf -d` output.
    Postconf,
}

/// A set of known parameters, sorted by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    params: Vec<Param>,
    source: CatalogSource,
    /// `$name` references of the defaults that have any, computed once per
    /// catalog (see [`NameContext`]); shared by clones.
    default_refs: OnceLock<std::sync::Arc<DefaultRefs>>,
}

/// (parameter, names its default references), for defaults containing `$`.
type DefaultRefs = Vec<(&'static str, Vec<String>)>;

impl Catalog {
    /// The embedded Postfix 3.7.11 catalog.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| Catalog::new(builtin::PARAMS.to_vec(), CatalogSource::Builtin))
    }

    /// Parse `postconf -d` output (`name = value` lines; `name =` for an
    /// empty value). Types come from the built-in table; a name it lacks
    /// whose default is exactly `$other` (service-derived parameters such
    /// as `relay_destination_rate_delay = $default_destination_rate_delay`)
    /// takes the type of `other`; anything else is `Str`. Other lines are
    /// ignored; with duplicates the last wins.
    pub fn from_postconf_defaults(stdout: &str) -> Catalog {
        let builtin = Catalog::builtin();
        let mut params: Vec<Param> = Vec::new();
        for line in stdout.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (name, value) = match line.split_once(" = ") {
                Some(pair) => pair,
                None => match line.strip_suffix(" =") {
                    Some(name) => (name, ""),
                    None => continue,
                },
            };
            if name.is_empty()
                || name
                    .bytes()
                    .any(|b| crate::postfix::space::is_space(b) || b == b'=')
            {
                continue;
            }
            let known = builtin.get(name);
            let ty = match known {
                Some(p) => p.ty,
                None => value
                    .strip_prefix('$')
                    .and_then(|target| builtin.get(target))
                    .map_or(ParamType::Str, |p| p.ty),
            };
            let name = known.map_or_else(|| host::intern(name), |p| p.name);
            let default = match known {
                Some(p) if p.default == value => p.default,
                _ => host::intern(value),
            };
            params.push(Param { name, ty, default });
        }
        // Stable sort keeps file order among duplicates; keep the last.
        params.sort_by(|a, b| a.name.cmp(b.name));
        let mut deduped: Vec<Param> = Vec::with_capacity(params.len());
        for p in params {
            match deduped.last_mut() {
                Some(last) if last.name == p.name => *last = p,
                _ => deduped.push(p),
            }
        }
        Catalog::new(deduped, CatalogSource::Postconf)
    }

    /// A catalog of `params` (sorted by name, no duplicates).
    fn new(params: Vec<Param>, source: CatalogSource) -> Catalog {
        Catalog {
            params,
            source,
            default_refs: OnceLock::new(),
        }
    }

    /// The catalog of the installed Postfix: runs `postconf -d` (the program
    /// named by `POSTFORM_POSTCONF`, else `postconf` on PATH, else
    /// /usr/sbin/postconf), falling back to [`Catalog::builtin`] when that
    /// is not possible. Never panics. The output is cached while the
    /// program, its master.cf and the host stay the same (see host.rs).
    pub fn host() -> Catalog {
        find_postconf()
            .and_then(|program| host::cached_defaults(&program).ok())
            .unwrap_or_else(|| Catalog::builtin().clone())
    }

    /// Run `program -d` (with `-c config_dir` when given) and parse it.
    pub fn from_postconf(
        program: &std::path::Path,
        config_dir: Option<&std::path::Path>,
    ) -> Result<Catalog, HostCatalogError> {
        host::run_postconf_defaults(program, config_dir)
    }

    /// Look a parameter up (binary search).
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params
            .binary_search_by(|p| p.name.cmp(name))
            .ok()
            .map(|i| &self.params[i])
    }

    /// True when `name` is in the catalog.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|p| p.name)
    }

    /// Every parameter, sorted by name.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True for an empty catalog.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Where the names came from.
    pub fn source(&self) -> &CatalogSource {
        &self.source
    }

    /// The Postfix release the catalog describes (`mail_version`).
    pub fn mail_version(&self) -> Option<&str> {
        self.get("mail_version").map(|p| p.default)
    }

    /// "Did you mean": the catalog name or `extra` name closest to `name`
    /// (case-insensitive Damerau-Levenshtein distance, bounded by the
    /// length of `name`: 1 edit up to 4 characters, 2 up to 8, else 3).
    /// `None` when nothing is that close. Ties go to the alphabetically
    /// first name.
    pub fn suggest<'a>(&'a self, name: &str, extra: &[&'a str]) -> Option<&'a str> {
        suggest::closest(name, self.names().chain(extra.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = include_str!("postfix-3.7.11-params.tsv");

    #[test]
    fn builtin_matches_tsv() {
        let mut rows: Vec<(&str, &str, &str)> = TSV
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut f = l.split('\t');
                let row = (f.next(), f.next(), f.next());
                match row {
                    (Some(n), Some(t), Some(d)) => (n, t, d),
                    _ => panic!("malformed TSV line {l:?}"),
                }
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let table: Vec<(&str, &str, &str)> = builtin::PARAMS
            .iter()
            .map(|p| (p.name, p.ty.as_str(), p.default))
            .collect();
        assert_eq!(rows, table, "builtin.rs is stale: run scripts/gen-catalog");
    }

    #[test]
    fn builtin_is_sorted_unique_and_complete() {
        let c = Catalog::builtin();
        assert_eq!(c.len(), 831);
        assert!(c.params().windows(2).all(|w| w[0].name < w[1].name));
        let count = |t: ParamType| c.params().iter().filter(|p| p.ty == t).count();
        assert_eq!(
            [
                count(ParamType::Str),
                count(ParamType::Bool),
                count(ParamType::Time),
                count(ParamType::Int),
                count(ParamType::Nbool),
                count(ParamType::Nint),
                count(ParamType::Raw),
                count(ParamType::Long),
                count(ParamType::StrFn)
            ],
            [462, 119, 107, 96, 20, 10, 9, 5, 3]
        );
        assert_eq!(c.mail_version(), Some("3.7.11"));
        assert_eq!(BUILTIN_VERSION, "3.7.11");
    }

    #[test]
    fn lookups() {
        let c = Catalog::builtin();
        let p = c.get("inet_protocols").expect("known");
        assert_eq!((p.ty, p.default), (ParamType::Str, "all"));
        assert_eq!(
            c.get("message_size_limit").map(|p| p.ty),
            Some(ParamType::Long)
        );
        assert!(c.contains("2bounce_notice_recipient"));
        assert!(c.contains("process_id"));
        assert!(!c.contains("relay_destination_concurrency_limit"));
        assert!(!c.contains("nope"));
        assert_eq!(c.names().count(), 831);
    }

    #[test]
    fn time_units() {
        let c = Catalog::builtin();
        let unit = |n: &str| c.get(n).and_then(Param::time_unit);
        assert_eq!(unit("queue_run_delay"), Some('s'));
        assert_eq!(unit("maximal_queue_lifetime"), Some('d'));
        assert_eq!(unit("smtpd_timeout"), Some('s'));
        assert_eq!(unit("postscreen_dnsbl_max_ttl"), Some('h'));
        assert_eq!(unit("myhostname"), None);
        assert!(c
            .params()
            .iter()
            .filter(|p| p.ty == ParamType::Time)
            .all(|p| p.time_unit().is_some()));
    }

    #[test]
    fn restart_and_read_only() {
        for n in RESTART_PARAMS {
            assert_eq!(restart_class(n), RestartClass::Restart);
            assert!(Catalog::builtin().contains(n), "{n}");
        }
        assert_eq!(restart_class("myhostname"), RestartClass::Reload);
        assert_eq!(
            restart_class("relay_destination_concurrency_limit"),
            RestartClass::Reload
        );
        assert!(read_only("process_id") && read_only("process_name") && read_only("service_name"));
        assert!(!read_only("myhostname"));
    }

    #[test]
    fn parses_postconf_d_output() {
        let out = "inet_protocols = all\nluser_relay =\nrelay_destination_rate_delay = $default_destination_rate_delay\nrelay_recipient_limit = $default_recipient_limit\nmyhostname = host.example\nwarning: ignored\nzz_custom = x = y\ninet_protocols = ipv4\n";
        let c = Catalog::from_postconf_defaults(out);
        assert_eq!(c.source(), &CatalogSource::Postconf);
        assert_eq!(c.len(), 6);
        assert_eq!(c.get("inet_protocols").map(|p| p.default), Some("ipv4"));
        assert_eq!(
            c.get("luser_relay").map(|p| (p.ty, p.default)),
            Some((ParamType::Raw, ""))
        );
        assert_eq!(
            c.get("relay_destination_rate_delay").map(|p| p.ty),
            Some(ParamType::Time)
        );
        assert_eq!(
            c.get("relay_recipient_limit").map(|p| p.ty),
            Some(ParamType::Int)
        );
        assert_eq!(
            c.get("myhostname").map(|p| (p.ty, p.default)),
            Some((ParamType::StrFn, "host.example"))
        );
        assert_eq!(
            c.get("zz_custom").map(|p| (p.ty, p.default)),
            Some((ParamType::Str, "x = y"))
        );
        assert!(c.params().windows(2).all(|w| w[0].name < w[1].name));
        // Same input twice reuses interned strings (no growth), and
        // built-in strings are reused as they are.
        let again = Catalog::from_postconf_defaults(out);
        assert!(std::ptr::eq(
            again.get("zz_custom").map_or("", |p| p.name),
            c.get("zz_custom").map_or("", |p| p.name)
        ));
        assert!(std::ptr::eq(
            c.get("luser_relay").map_or("", |p| p.name),
            Catalog::builtin().get("luser_relay").map_or("", |p| p.name)
        ));
    }

    #[test]
    fn suggestions() {
        let c = Catalog::builtin();
        assert_eq!(c.suggest("inet_protocol", &[]), Some("inet_protocols"));
        assert_eq!(c.suggest("INET_PROTOCOLS", &[]), Some("inet_protocols"));
        assert_eq!(c.suggest("myhostnmae", &[]), Some("myhostname"));
        assert_eq!(
            c.suggest("smtpd_tls_securty_level", &[]),
            Some("smtpd_tls_security_level")
        );
        assert_eq!(
            c.suggest("mesage_size_limit", &[]),
            Some("message_size_limit")
        );
        assert_eq!(c.suggest("totally_unrelated_thing", &[]), None);
        assert_eq!(
            c.suggest("my_helo_chekcs", &["my_helo_checks"]),
            Some("my_helo_checks")
        );
        assert_eq!(
            c.suggest("myhostname", &[]),
            None,
            "an exact name is not a suggestion"
        );
    }

    #[test]
    fn host_catalog_never_panics() {
        let c = Catalog::host();
        assert!(c.contains("inet_protocols"));
    }
}
