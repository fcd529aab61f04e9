//! The Postfix parameter catalog: every built-in parameter with its type and
//! default, which parameters need a restart, value checks, and the rules
//! that make a name "known" (built-in, service-derived, user-defined).
//!
//! * [`Catalog::builtin`]: the 831 parameters of Debian's postfix 3.7.11
//!   package, embedded in the binary.
//! * [`Catalog::builtin_for`]: the parameters of any Postfix version, from
//!   the embedded tables of the release series 3.4 ... 3.11
//!   ([`KNOWN_SERIES`]; nearest series outside them, see [`SeriesMatch`]).
//!   All tables are generated from `data/*.tsv` into one compact table
//!   (builtin.rs, see data/README.md).
//! * [`Catalog::host`]: the local `postconf -d` when Postfix is installed (its
//!   own version, computed defaults and the service names of the local
//!   master.cf), else the built-in table.
//! * [`PostfixVersion`]: `3.10`, `3.10.13`, `mail_version` (version.rs).
//! * [`name_history`]: "added in 3.9", "renamed to ... in 3.6", "removed in
//!   3.11" for a name a version lacks (history.rs).
//! * [`check_value_for`] / [`value_rule_for`]: type and closed-value-set
//!   checks of a version (values.rs); [`check_value`] / [`value_rule`] /
//!   [`enum_values`] are the rules of the Debian 3.7.11 catalog.
//! * [`NameContext`]: which names postconf would accept (known.rs).
//! * [`Catalog::suggest`]: "did you mean" (suggest.rs).

mod builtin;
mod defaults;
mod history;
mod host;
pub mod known;
mod lists;
mod suggest;
pub(crate) use suggest::closest;
mod values;
mod version;

pub use defaults::{default_at_level, host_computed_default};
pub use history::{
    is_legacy_in, legacy_params, name_history, NameChange, NameHistory, Rename, RENAMES,
};
pub use host::{cache_dir, find_postconf, HostCatalogError, NO_CACHE_ENV};
pub use known::NameContext;
pub use lists::is_list_param;
pub use values::{
    check_value, check_value_for, enum_values, enum_values_for, value_rule, value_rule_for,
    ValueProblem, ValueRule, ValueRuleKind,
};
pub use version::{
    PostfixVersion, SeriesFit, SeriesMatch, VersionError, KNOWN_SERIES, KNOWN_SERIES_RANGE,
};

use serde::Serialize;
use std::sync::OnceLock;

/// The Postfix release of [`Catalog::builtin`] (Debian's package).
pub const BUILTIN_VERSION: &str = builtin::TABLES[builtin::DEBIAN_3_7_11].1;

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

/// The parameters whose change needs a full restart ([`restart_class`]).
pub fn restart_parameters() -> &'static [&'static str] {
    &RESTART_PARAMS
}

/// Reload or restart for a change of `name`. Everything not listed needs
/// only a reload (master.cf edits included).
///
/// The same for every known series: master/master_vars.c watches
/// config_directory, queue_directory and inet_protocols, and master/master.c
/// reads import_environment, data_directory and inet_protocols at startup,
/// identically in v3.4.29 ... v3.11.6 (checked against each tag); no
/// parameter added in 3.5 ... 3.11 is read only by the master at startup.
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

/// Legacy parameters: old names Postfix 3.7 (and 3.8 ... 3.11) still accepts (usually as the
/// `$name` a new parameter's default falls back to, e.g.
/// `postscreen_access_list`'s `$postscreen_whitelist_interfaces`), with an
/// empty default. `postconf -d` does not list them, but postconf knows
/// them: no "unused parameter" warning when main.cf sets one, no
/// "undefined parameter" warning when a value references one
/// (postconf_builtin.c `pcf_legacy_str_table`; this list was checked
/// name by name against postconf 3.7.11). Older series accept fewer (the
/// rest are still built-in there): see [`legacy_params`] and [`RENAMES`].
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

/// One row of the generated tables (builtin.rs): a (name, type, default)
/// and the tables that have exactly it. Names and defaults are byte ranges
/// of the `NAMES` and `DEFAULTS` strings: 10 bytes a row and no pointers,
/// because the binary travels to every Ansible target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    name: u16,
    name_len: u8,
    ty: ParamType,
    default: u16,
    default_len: u16,
    /// Bit i: `builtin::TABLES[i]`.
    tables: u16,
}

impl Row {
    pub(crate) const fn new(
        name: u16,
        name_len: u8,
        ty: ParamType,
        default: u16,
        default_len: u16,
        tables: u16,
    ) -> Row {
        Row {
            name,
            name_len,
            ty,
            default,
            default_len,
            tables,
        }
    }

    fn name(&self) -> &'static str {
        slice(builtin::NAMES, self.name, usize::from(self.name_len))
    }

    fn param(&self) -> Param {
        Param {
            name: self.name(),
            ty: self.ty,
            default: slice(
                builtin::DEFAULTS,
                self.default,
                usize::from(self.default_len),
            ),
        }
    }
}

/// `len` bytes of `blob` from `at`. The generator only emits ranges on
/// character boundaries inside the blob (the unit test
/// `tables_match_tsv` decodes every row), so the empty fallback is never
/// taken.
fn slice(blob: &'static str, at: u16, len: usize) -> &'static str {
    let at = usize::from(at);
    blob.get(at..at + len).unwrap_or_default()
}

/// The catalog of `builtin::TABLES[index]`, built on first use.
fn table(index: usize) -> &'static Catalog {
    static TABLES: [OnceLock<Catalog>; builtin::TABLES.len()] =
        [const { OnceLock::new() }; builtin::TABLES.len()];
    TABLES[index].get_or_init(|| {
        let bit = 1u16 << index;
        let params = builtin::ROWS
            .iter()
            .filter(|r| r.tables & bit != 0)
            .map(Row::param)
            .collect();
        Catalog::new(params, CatalogSource::Builtin)
    })
}

/// The rows of `name` (adjacent: the rows are sorted by name).
fn rows_of(name: &str) -> &'static [Row] {
    let start = builtin::ROWS.partition_point(|r| r.name() < name);
    let end = start
        + builtin::ROWS[start..]
            .iter()
            .take_while(|r| r.name() == name)
            .count();
    &builtin::ROWS[start..end]
}

/// The tables that have `name` (bit i: `builtin::TABLES[i]`); 0 for none.
pub(crate) fn table_mask(name: &str) -> u16 {
    rows_of(name).iter().fold(0, |mask, r| mask | r.tables)
}

/// `name` as the `&'static str` of the tables, when some table has it.
pub(crate) fn static_name(name: &str) -> Option<&'static str> {
    rows_of(name).first().map(Row::name)
}

/// Where a catalog's names came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// An embedded table ([`Catalog::builtin`], [`Catalog::builtin_for`];
    /// [`Catalog::postfix_version`] says which).
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
    /// The embedded catalog of Debian's postfix 3.7.11 package (Debian's
    /// directory defaults, e.g. `daemon_directory = /usr/lib/postfix/sbin`).
    pub fn builtin() -> &'static Catalog {
        table(builtin::DEBIAN_3_7_11)
    }

    /// The embedded catalog for a Postfix version: the table of its series,
    /// made from the newest patch release of the series with upstream
    /// defaults (e.g. 3.10.13 for "3.10" and for "3.10.2"). A version
    /// outside [`KNOWN_SERIES`] gets the nearest series' table; ask
    /// [`SeriesMatch::for_version`] whether that happened, to say so.
    /// Built on first use, then shared.
    pub fn builtin_for(version: PostfixVersion) -> &'static Catalog {
        table(SeriesMatch::for_version(version).table_index())
    }

    /// Parse `postconf -d` output (`name = value` lines; `name =` for an
    /// empty value). Types come from the built-in table of the output's
    /// `mail_version` ([`Catalog::builtin_for`]; [`Catalog::builtin`]
    /// without one); a name it lacks whose default is exactly `$other`
    /// (service-derived parameters such as
    /// `relay_destination_rate_delay = $default_destination_rate_delay`)
    /// takes the type of `other`; anything else is `Str`. Other lines are
    /// ignored; with duplicates the last wins.
    pub fn from_postconf_defaults(stdout: &str) -> Catalog {
        let version = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("mail_version = "))
            .and_then(|v| PostfixVersion::parse(v).ok());
        let builtin = version.map_or_else(Catalog::builtin, Catalog::builtin_for);
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

    /// [`Catalog::mail_version`] parsed: the version of the host's Postfix
    /// for a `postconf -d` catalog, the table's release for an embedded
    /// one. `None` when missing or not a version.
    pub fn postfix_version(&self) -> Option<PostfixVersion> {
        self.mail_version()
            .and_then(|v| PostfixVersion::parse(v).ok())
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

    /// Every TSV, in `builtin::TABLES` order.
    const TSVS: [(&str, &str); 9] = [
        ("3.4", include_str!("data/postfix-3.4.29-params.tsv")),
        ("3.5", include_str!("data/postfix-3.5.27-params.tsv")),
        ("3.6", include_str!("data/postfix-3.6.20-params.tsv")),
        ("3.7", include_str!("data/postfix-3.7.22-params.tsv")),
        ("3.8", include_str!("data/postfix-3.8.20-params.tsv")),
        ("3.9", include_str!("data/postfix-3.9.14-params.tsv")),
        ("3.10", include_str!("data/postfix-3.10.13-params.tsv")),
        ("3.11", include_str!("data/postfix-3.11.6-params.tsv")),
        (
            "debian-3.7.11",
            include_str!("data/debian-postfix-3.7.11-params.tsv"),
        ),
    ];

    fn tsv_rows(tsv: &str) -> Vec<(&str, &str, &str)> {
        let mut rows: Vec<(&str, &str, &str)> = tsv
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut f = l.split('\t');
                let row = (f.next(), f.next(), f.next(), f.next());
                match row {
                    (Some(n), Some(t), Some(d), None) => (n, t, d),
                    _ => panic!("malformed TSV line {l:?}"),
                }
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows
    }

    /// The drift guard: every generated table equals its TSV.
    #[test]
    fn tables_match_tsv() {
        assert_eq!(TSVS.len(), builtin::TABLES.len());
        for (index, (id, tsv)) in TSVS.iter().enumerate() {
            assert_eq!(*id, builtin::TABLES[index].0);
            let table: Vec<(&str, &str, &str)> = table(index)
                .params()
                .iter()
                .map(|p| (p.name, p.ty.as_str(), p.default))
                .collect();
            let rows = tsv_rows(tsv);
            assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{id}: duplicate");
            assert_eq!(
                rows, table,
                "builtin.rs is stale for {id}: run scripts/gen-catalog"
            );
        }
        // No row is shared by no table, and none decodes to an empty name.
        assert!(builtin::ROWS
            .iter()
            .all(|r| r.tables != 0 && !r.name().is_empty()));
    }

    #[test]
    fn series_catalogs() {
        let counts: Vec<usize> = KNOWN_SERIES
            .iter()
            .map(|s| Catalog::builtin_for(*s).len())
            .collect();
        // The README's "params" column.
        assert_eq!(counts, [811, 819, 826, 831, 837, 845, 857, 873]);
        for (s, release) in KNOWN_SERIES.iter().zip(builtin::RELEASES) {
            let c = Catalog::builtin_for(*s);
            assert_eq!(c.postfix_version(), Some(release));
            assert_eq!(c.source(), &CatalogSource::Builtin);
            assert!(c.params().windows(2).all(|w| w[0].name < w[1].name));
            assert!(std::ptr::eq(
                c,
                Catalog::builtin_for(PostfixVersion::release(s.major, s.minor, 0))
            ));
        }
        let v = |t: &str| PostfixVersion::parse(t).expect("version");
        assert_eq!(
            Catalog::builtin_for(v("3.12")).mail_version(),
            Some("3.11.6")
        );
        assert_eq!(
            Catalog::builtin_for(v("2.10")).mail_version(),
            Some("3.4.29")
        );
        // Debian's table is its own: same names as 3.7.22, Debian's paths.
        let debian = Catalog::builtin();
        let upstream = Catalog::builtin_for(v("3.7.11"));
        assert!(!std::ptr::eq(debian, upstream));
        assert!(debian.names().eq(upstream.names()));
        let default = |c: &Catalog, n: &str| c.get(n).map(|p| p.default);
        assert_eq!(
            default(debian, "daemon_directory"),
            Some("/usr/lib/postfix/sbin")
        );
        assert_eq!(
            default(upstream, "daemon_directory"),
            Some("/usr/libexec/postfix")
        );
        // Type changes between series (data/README.md).
        let ty = |s: &str, n: &str| Catalog::builtin_for(v(s)).get(n).map(|p| p.ty);
        assert_eq!(ty("3.4", "queue_minfree"), Some(ParamType::Int));
        assert_eq!(ty("3.5", "queue_minfree"), Some(ParamType::Long));
        assert_eq!(ty("3.5", "compatibility_level"), Some(ParamType::Int));
        assert_eq!(ty("3.6", "compatibility_level"), Some(ParamType::Str));
    }

    #[test]
    fn host_output_is_typed_by_its_own_series() {
        // smtp_tlsrpt_enable is a 3.10 nbool, socketmap_max_reply_size a
        // 3.10 int; compatibility_level an int before 3.6.
        let c = Catalog::from_postconf_defaults(
            "mail_version = 3.10.4\nsmtp_tlsrpt_enable = no\nsocketmap_max_reply_size = 100000\ncompatibility_level = 0\n",
        );
        assert_eq!(c.postfix_version(), Some(PostfixVersion::release(3, 10, 4)));
        assert_eq!(
            c.get("smtp_tlsrpt_enable").map(|p| p.ty),
            Some(ParamType::Nbool)
        );
        assert_eq!(
            c.get("socketmap_max_reply_size").map(|p| p.ty),
            Some(ParamType::Int)
        );
        assert_eq!(
            c.get("compatibility_level").map(|p| p.ty),
            Some(ParamType::Str)
        );
        let c = Catalog::from_postconf_defaults("compatibility_level = 0\nmail_version = 3.5.9\n");
        assert_eq!(
            c.get("compatibility_level").map(|p| p.ty),
            Some(ParamType::Int)
        );
        let c = Catalog::from_postconf_defaults("compatibility_level = 0\n");
        assert_eq!(
            c.get("compatibility_level").map(|p| p.ty),
            Some(ParamType::Str)
        );
        assert_eq!(c.postfix_version(), None);
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
            for s in KNOWN_SERIES {
                assert!(Catalog::builtin_for(s).contains(n), "{n} {s}");
            }
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
