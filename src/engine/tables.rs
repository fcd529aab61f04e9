//! Lookup tables and aliases as a spec wants them: which files, read how,
//! holding what.
//!
//! * `maps:` entries are whole tables, keyed by path (absolute, or
//!   relative to the config directory). `format: aliases` makes one an
//!   aliases(5) file built with postalias.
//! * `aliases:` names entries of the file the effective `alias_database`
//!   names (the one `newaliases` builds; the first, when it lists
//!   several). Only the names the spec gives are managed: `name: null`
//!   removes one, other entries of the file stay as they are.

use crate::catalog::Catalog;
use crate::engine::live::{LiveConfig, WantedTable};
use crate::engine::spec::ServiceKey;
use crate::engine::spec::{Location, MapFormat, MapSpec, Section, Spec, SpecError, SpecKey};
use crate::postfix::maincf::MainCf;
use crate::postfix::mastercf::MasterCf;
use crate::postfix::table::{references, MapType, Syntax, TableRef};
use std::path::{Path, PathBuf};

/// Where a desired table comes from in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `maps:` with the path as written.
    Map(String),
    /// `aliases:`.
    Aliases,
}

/// One table file the spec manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredTable {
    pub origin: Origin,
    /// The source file (absolute).
    pub path: PathBuf,
    pub kind: MapType,
    pub syntax: Syntax,
    pub want: Want,
}

/// What the spec wants of a table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// `maps: PATH: null`: the file (and its index) must not exist.
    Absent,
    /// The whole content.
    Whole(TableContent),
    /// `aliases:`: these names set (`Some`) or removed (`None`); the
    /// file's other entries stay.
    Named(Vec<(String, Option<String>)>),
}

/// A whole table as the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableContent {
    /// Key -> value, in order (aliases: the targets joined by `, `).
    /// Secret values are in here: never print them.
    pub entries: Vec<(String, String)>,
    pub secret: bool,
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl DesiredTable {
    /// How the spec names the table, for messages: the path as written, or
    /// `aliases (PATH)`.
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::Map(p) => p.clone(),
            Origin::Aliases => format!("aliases ({})", self.path.display()),
        }
    }

    /// Secret values (never printed).
    pub fn secret(&self) -> bool {
        matches!(&self.want, Want::Whole(c) if c.secret)
    }

    /// What to read of the live configuration.
    pub fn wanted(&self) -> WantedTable {
        WantedTable {
            path: self.path.clone(),
            kind: self.kind,
            syntax: self.syntax,
        }
    }

    /// Where the spec says it.
    pub fn location(&self, spec: &Spec) -> Location {
        match &self.origin {
            Origin::Map(p) => spec.location(&SpecKey::Map(p.clone())),
            Origin::Aliases => spec.location(&SpecKey::Top(Section::Aliases)),
        }
    }
}

/// The tables `spec` manages, with problems found on the way (a spec with
/// problems must not be planned).
pub fn desired_tables(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
) -> (Vec<DesiredTable>, Vec<SpecError>) {
    let mut out: Vec<DesiredTable> = Vec::new();
    let mut errors = Vec::new();
    let dir = &live.dir;
    for (written, table) in &spec.maps {
        let path = resolve(dir, written);
        let location = spec.location(&SpecKey::Map(written.clone()));
        let err = |message: String, hint: Option<String>| SpecError {
            location: location.clone(),
            message,
            hint,
        };
        if ["main.cf", "master.cf", "dynamicmaps.cf", "postfix-files"]
            .iter()
            .any(|f| path == absolute_dir(dir).join(f))
        {
            errors.push(err(
                format!("`maps`: `{written}` is Postfix's own {}", path.display()),
                Some("a table is a file of its own next to main.cf".into()),
            ));
            continue;
        }
        let (kind, syntax, want) = match table {
            None => {
                // The type does not matter for removal; hash removes `.db`
                // too when there is one (see the planner).
                (MapType::Hash, Syntax::Postmap, Want::Absent)
            }
            Some(t) => {
                let syntax = match t.format {
                    MapFormat::Aliases if !t.kind.is_indexed() => {
                        errors.push(err(
                            format!("`maps`: `{written}`: format: aliases needs an indexed type (hash, btree, lmdb or cdb), not {}", t.kind),
                            Some("postalias builds alias files into an index; a texthash or pattern table cannot hold aliases".into()),
                        ));
                        continue;
                    }
                    MapFormat::Aliases => Syntax::Aliases,
                    MapFormat::Postmap => t.kind.syntax(),
                };
                (t.kind, syntax, Want::Whole(content(t)))
            }
        };
        if let Some(other) = out.iter().find(|o| o.path == path) {
            errors.push(err(
                format!(
                    "`maps`: `{written}` is the same file as `{}` ({})",
                    other.label(),
                    path.display()
                ),
                Some("name each table file once".into()),
            ));
            continue;
        }
        out.push(DesiredTable {
            origin: Origin::Map(written.clone()),
            path,
            kind,
            syntax,
            want,
        });
    }
    if !spec.aliases.is_empty() {
        match alias_file(spec, live, catalog) {
            Ok((kind, path)) => {
                let location = spec.location(&SpecKey::Top(Section::Aliases));
                if let Some(other) = out.iter().find(|o| o.path == path) {
                    errors.push(SpecError {
                        location,
                        message: format!(
                            "`aliases`: alias_database names {}, which `maps` manages as `{}`",
                            path.display(),
                            other.label()
                        ),
                        hint: Some("give the aliases in one place: under `aliases:`, or as the whole file under `maps:` with format: aliases".into()),
                    });
                } else {
                    out.push(DesiredTable {
                        origin: Origin::Aliases,
                        path,
                        kind,
                        syntax: Syntax::Aliases,
                        want: Want::Named(
                            spec.aliases
                                .iter()
                                .map(|(n, t)| (n.clone(), t.as_ref().map(|t| t.join(", "))))
                                .collect(),
                        ),
                    });
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// The tables to read for `spec` (errors are reported by planning).
pub fn wanted_tables(spec: &Spec, live: &LiveConfig, catalog: &Catalog) -> Vec<WantedTable> {
    desired_tables(spec, live, catalog)
        .0
        .iter()
        .map(DesiredTable::wanted)
        .collect()
}

/// Read the live configuration of `dir` and the tables `spec` manages.
pub fn read_live(dir: &Path, spec: &Spec, catalog: &Catalog) -> LiveConfig {
    let mut live = LiveConfig::read(dir);
    let wanted = wanted_tables(spec, &live, catalog);
    live.read_tables(&wanted);
    live
}

/// A table path as written in a spec, made absolute against the config
/// directory.
pub fn resolve(config_dir: &Path, written: &str) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        absolute_dir(config_dir).join(p)
    }
}

/// The config directory as an absolute path (`-c` may be relative): what
/// `$config_directory` means in table names.
pub fn absolute_dir(config_dir: &Path) -> PathBuf {
    std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.to_path_buf())
}

fn content(t: &MapSpec) -> TableContent {
    TableContent {
        entries: t
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string()))
            .collect(),
        secret: t.secret,
        mode: t.mode,
        owner: t.owner.clone(),
        group: t.group.clone(),
    }
}

/// The value of main.cf parameter `name` after the spec: the spec's, else
/// main.cf's, else the default; `$name`s expanded with the real
/// `config_directory`.
pub fn effective_value(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    name: &str,
) -> Option<String> {
    let main = live.main_cf().ok().map(|(_, d)| d);
    let raw = |n: &str| -> Option<Vec<u8>> {
        if n == "config_directory" {
            return Some(absolute_dir(&live.dir).display().to_string().into_bytes());
        }
        match spec.main.get(n) {
            Some(Some(v)) => return Some(v.render().into_bytes()),
            Some(None) => {}
            None => {
                if let Some(e) = main.and_then(|m| m.get(n)) {
                    return Some(e.value.clone());
                }
            }
        }
        catalog.get(n).map(|p| p.default.as_bytes().to_vec())
    };
    let value = raw(name)?;
    let expanded = crate::postfix::macros::expand(&value, raw).ok()?;
    Some(String::from_utf8_lossy(&expanded.value).into_owned())
}

/// The alias file `aliases:` goes to: the first table `alias_database`
/// names.
fn alias_file(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
) -> Result<(MapType, PathBuf), SpecError> {
    let location = spec.location(&SpecKey::Top(Section::Aliases));
    let value = effective_value(spec, live, catalog, "alias_database").unwrap_or_default();
    let refs = references(value.as_bytes());
    let Some(first) = refs.first() else {
        return Err(SpecError {
            location,
            message: format!(
                "`aliases`: alias_database (\"{}\") names no alias file, so there is nowhere to write them",
                value.trim()
            ),
            hint: Some("set alias_database (e.g. main: {alias_database: \"hash:/etc/aliases\", alias_maps: \"hash:/etc/aliases\"}), or manage the file under maps: with format: aliases".into()),
        });
    };
    let kind = MapType::from_name(&first.kind).filter(|k| k.is_indexed());
    let Some(kind) = kind else {
        return Err(SpecError {
            location,
            message: format!(
                "`aliases`: alias_database names {first}, which postalias cannot build (a {} table)",
                first.kind
            ),
            hint: Some("alias_database must name an indexed table: hash, btree, lmdb or cdb".into()),
        });
    };
    let path = PathBuf::from(&first.name);
    if !path.is_absolute() {
        return Err(SpecError {
            location,
            message: format!("`aliases`: alias_database names {first}, a relative path"),
            hint: Some("Postfix opens tables relative to its queue directory; give an absolute path such as hash:/etc/aliases".into()),
        });
    }
    Ok((kind, path))
}

/// What the table's format cannot carry among `pairs` (the entries the
/// table will hold), each at the spec's location of the entry. For the
/// alias file only the names the spec gives are judged (the file's other
/// entries are not the spec's).
pub fn entry_errors(spec: &Spec, d: &DesiredTable, pairs: &[(String, String)]) -> Vec<SpecError> {
    use crate::postfix::table::check_entries;
    let errors = check_entries(
        d.kind,
        d.syntax,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    errors
        .into_iter()
        .filter_map(|e| {
            let (key, what) = match &d.origin {
                Origin::Map(p) => (SpecKey::MapEntry(p.clone(), e.key.clone()), format!("`maps`: `{p}`")),
                Origin::Aliases => {
                    if !spec.aliases.contains_key(&e.key) {
                        return None;
                    }
                    (SpecKey::Alias(e.key.clone()), "`aliases`".to_string())
                }
            };
            Some(SpecError {
                location: spec.location(&key),
                message: format!("{what}: {e}"),
                hint: Some(match d.syntax {
                    Syntax::Postmap => format!("a {} table line is `key value`: the key ends at the first whitespace; a value cannot hold line breaks", d.kind),
                    Syntax::Aliases => "an aliases(5) line is `name: targets`; a name is a local part".to_string(),
                    Syntax::Regexp | Syntax::Pcre => format!("a {} table line is `/pattern/flags result`; the first match wins", d.kind),
                    Syntax::Cidr => "a cidr table line is `address/len result`; the first match wins".to_string(),
                }),
            })
        })
        .collect()
}

/// A table a value names, and which value.
#[derive(Debug, Clone)]
pub(crate) struct NamedRef {
    pub(crate) table: TableRef,
    /// The main.cf parameter, or (service, option).
    pub(crate) by: By,
}

#[derive(Debug, Clone)]
pub(crate) enum By {
    Param(String),
    Option(String, String),
}

impl NamedRef {
    /// alias_database lists what `newaliases` builds, not tables that are
    /// looked up: a missing index there is normal before the first build.
    pub(crate) fn is_build_list(&self) -> bool {
        matches!(&self.by, By::Param(p) if p == "alias_database")
    }

    pub(crate) fn named_by(&self) -> String {
        match &self.by {
            By::Param(p) => format!("main.cf {p}"),
            By::Option(s, o) => format!("master.cf {s} -o {o}"),
        }
    }

    /// Where the spec sets the value, when it does.
    pub(crate) fn location(&self, spec: &Spec) -> Option<Location> {
        match &self.by {
            By::Param(p) => spec.main.contains_key(p).then(|| spec.location_of(p)),
            By::Option(s, o) => {
                let key: ServiceKey = s.parse().ok()?;
                spec.location_if_known(&SpecKey::ServiceOption(key, o.clone()))
                    .cloned()
            }
        }
    }
}

/// Every file-backed table main.cf's parameters and master.cf's `-o`
/// options name, `$name`s expanded (with the real config_directory).
pub(crate) fn named_tables(
    main: &MainCf,
    master: Option<&MasterCf>,
    config_dir: &Path,
    catalog: &Catalog,
) -> Vec<NamedRef> {
    let mut out = Vec::new();
    for e in main.effective().iter() {
        let name = e.name_str().into_owned();
        if daemon_written(&name) {
            continue;
        }
        let value = expand(&e.value, |n| raw(main, catalog, config_dir, n));
        for table in references(&value) {
            out.push(NamedRef {
                table,
                by: By::Param(name.clone()),
            });
        }
    }
    for s in master.map(|m| m.services.as_slice()).unwrap_or(&[]) {
        for (name, value) in &s.overrides {
            if daemon_written(name) {
                continue;
            }
            let value = expand(value.as_bytes(), |n| match s.override_value(n) {
                Some(v) => Some(v.as_bytes().to_vec()),
                None => raw(main, catalog, config_dir, n),
            });
            for table in references(&value) {
                out.push(NamedRef {
                    table,
                    by: By::Option(format!("{}/{}", s.name, s.kind), name.clone()),
                });
            }
        }
    }
    out
}

/// Parameters whose tables Postfix's daemons create and write (caches),
/// or that list parameter names rather than tables: no table there is
/// the user's to provide.
pub(crate) fn daemon_written(name: &str) -> bool {
    name.ends_with("_cache_database")
        || name.ends_with("_cache_map")
        || name.ends_with("_sasl_auth_cache_name")
        || matches!(
            name,
            "address_verify_map" | "proxy_read_maps" | "proxy_write_maps"
        )
}

pub(crate) fn raw(
    main: &MainCf,
    catalog: &Catalog,
    config_dir: &Path,
    name: &str,
) -> Option<Vec<u8>> {
    if name == "config_directory" {
        return Some(
            crate::engine::tables::absolute_dir(config_dir)
                .display()
                .to_string()
                .into_bytes(),
        );
    }
    main.get(name)
        .map(|e| e.value.clone())
        .or_else(|| catalog.get(name).map(|p| p.default.as_bytes().to_vec()))
}

pub(crate) fn expand(value: &[u8], lookup: impl FnMut(&str) -> Option<Vec<u8>>) -> Vec<u8> {
    crate::postfix::macros::expand(value, lookup)
        .map(|e| e.value)
        .unwrap_or_else(|_| value.to_vec())
}

/// What `postform import` writes about tables.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Under `maps:`.
    pub tables: Vec<crate::engine::spec::TableYaml>,
    /// Under `aliases:` (none: the alias file is not imported).
    pub aliases: Vec<(String, String)>,
    /// Tables left out, and why (comments under `maps:`).
    pub left_out: Vec<String>,
    pub warnings: Vec<String>,
}

/// The tables main.cf and master.cf name, read as specs would state them:
/// applying the imported spec to the same host changes nothing. The file
/// alias_database names is not imported (`aliases:` manages names in it);
/// other tables alias_maps names are `format: aliases`. A secret table (one a `*password*`
/// parameter names, or a source others cannot read) is left out unless
/// `secrets`: then its values are written in the clear, marked secret.
/// Left out too: tables a list of entries cannot state (if/endif
/// blocks, a pattern given twice, a key the format limits refuse, text
/// that is not UTF-8) and tables whose source is missing.
pub fn import_tables(live: &LiveConfig, catalog: &Catalog, secrets: bool) -> Imported {
    use crate::engine::spec::TableYaml;
    let mut out = Imported::default();
    let Ok((_, main)) = live.main_cf() else {
        return out;
    };
    let refs = named_tables(main, live.master.doc(), &live.dir, catalog);
    let alias_file = {
        let v = expand(
            &raw(main, catalog, &live.dir, "alias_database").unwrap_or_default(),
            |n| raw(main, catalog, &live.dir, n),
        );
        references(&v).into_iter().next()
    };
    // The alias file (usually /etc/aliases, outside the config
    // directory, shared with other mail software) is not imported:
    // `aliases:` manages names in it, one by one.
    let mut seen: Vec<PathBuf> = alias_file.iter().map(|a| PathBuf::from(&a.name)).collect();
    let candidates = refs.iter().filter(|r| !r.is_build_list()).map(|r| {
        (
            r.table.clone(),
            match &r.by {
                By::Param(p) => p.clone(),
                By::Option(_, o) => o.clone(),
            },
        )
    });
    for (table, param) in candidates {
        let path = PathBuf::from(&table.name);
        if !path.is_absolute() || seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        let Some(kind) = MapType::from_name(&table.kind) else {
            continue;
        };
        let syntax = if param == "alias_maps" {
            Syntax::Aliases
        } else {
            kind.syntax()
        };
        let (bytes, meta) = match crate::io::read::read_regular(&path)
            .and_then(|b| Ok((b, std::fs::metadata(&path)?)))
        {
            Ok(x) => x,
            Err(e) => {
                out.warnings.push(format!(
                    "{table} ({param}): {}; not imported",
                    crate::io::read::unread_reason(&e)
                ));
                continue;
            }
        };
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
        let secret = param.contains("password") || mode & 0o004 == 0;
        if secret && !secrets {
            out.left_out.push(format!(
                "{} ({param}) is secret: left out; `postform import --include-secrets` writes its values",
                path.display()
            ));
            continue;
        }
        let t = crate::postfix::table::Table::parse(syntax, &bytes);
        let why_not = if t.has_conditions() {
            Some("it has if/endif blocks, which a list of entries cannot state".to_string())
        } else {
            None
        };
        let mut entries: Vec<(String, String)> = Vec::new();
        let mut problem = why_not;
        for e in t.effective_entries() {
            let key = if syntax == Syntax::Aliases {
                &e.ident
            } else {
                &e.key
            };
            match (
                String::from_utf8(key.clone()),
                String::from_utf8(e.value.clone()),
            ) {
                (Ok(k), Ok(v)) => entries.push((k, v)),
                _ => {
                    problem.get_or_insert_with(|| "an entry is not UTF-8 text".to_string());
                }
            }
        }
        if problem.is_none() {
            let errors = crate::postfix::table::check_entries(
                kind,
                syntax,
                entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            if let Some(e) = errors.first() {
                problem = Some(e.to_string());
            }
        }
        if let Some(why) = problem {
            out.left_out
                .push(format!("{} ({param}): left out: {why}", path.display()));
            continue;
        }
        out.tables.push(TableYaml {
            path: path.display().to_string(),
            kind,
            format: if syntax == Syntax::Aliases {
                MapFormat::Aliases
            } else {
                MapFormat::Postmap
            },
            secret,
            mode: (secret && mode != 0o600).then_some(mode),
            entries,
        });
    }
    out
}

/// One table the configuration names, as found (`postform show --tables`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShownTable {
    /// `type:path`.
    pub table: String,
    /// The parameters (`main.cf NAME`, `master.cf SERVICE -o NAME`) that
    /// name it.
    pub named_by: Vec<String>,
    /// `absent`, `unreadable`, or `N entries`.
    pub source: String,
    pub mode: Option<String>,
    /// For indexed types: `current`, `missing`, `empty`, `older than its
    /// source`, `unreadable: ...`.
    pub index: Option<String>,
}

/// The file-backed tables main.cf and master.cf name, with the state of
/// their source and index. Never their values.
pub fn shown_tables(live: &LiveConfig, catalog: &Catalog) -> Vec<ShownTable> {
    let Ok((_, main)) = live.main_cf() else {
        return Vec::new();
    };
    let mut out: Vec<ShownTable> = Vec::new();
    for r in named_tables(main, live.master.doc(), &live.dir, catalog) {
        let name = r.table.to_string();
        if let Some(t) = out.iter_mut().find(|t| t.table == name) {
            t.named_by.push(r.named_by());
            continue;
        }
        let path = PathBuf::from(&r.table.name);
        let kind = MapType::from_name(&r.table.kind);
        let syntax = match (&r.by, kind) {
            (By::Param(p), Some(_)) if p == "alias_maps" || p == "alias_database" => {
                Syntax::Aliases
            }
            (_, Some(k)) => k.syntax(),
            (_, None) => Syntax::Postmap,
        };
        let meta = std::fs::metadata(&path);
        let source = match crate::io::read::read_regular(&path) {
            Ok(bytes) => match crate::postfix::table::Table::parse(syntax, &bytes)
                .effective_entries()
                .len()
            {
                1 => "1 entry".to_string(),
                n => format!("{n} entries"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "absent".into(),
            Err(e) => format!("unreadable: {e}"),
        };
        let index = kind.and_then(MapType::index_suffix).map(|suffix| {
            let modified = meta.as_ref().ok().and_then(|m| m.modified().ok());
            match crate::io::index::inspect(&path, suffix, modified).state {
                crate::io::index::IndexState::Current => "current".to_string(),
                crate::io::index::IndexState::Missing => "missing".to_string(),
                crate::io::index::IndexState::Empty => "empty".to_string(),
                crate::io::index::IndexState::Older => "older than its source".to_string(),
                crate::io::index::IndexState::Unreadable(e) => format!("unreadable: {e}"),
            }
        });
        out.push(ShownTable {
            table: name,
            named_by: vec![r.named_by()],
            source,
            mode: meta.ok().map(|m| {
                format!(
                    "{:04o}",
                    std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777
                )
            }),
            index,
        });
    }
    out
}
