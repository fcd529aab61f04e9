//! Validation of a spec's `maps:` and `aliases:`.
//!
//! Before planning ([`check_spec`], every problem at the spec's place):
//!
//! * where the tables go: `alias_database` names an alias file, no file is
//!   named twice, the directory exists;
//! * the type is one this Postfix can open (`postconf -m`, then a probe
//!   with postmap; the Debian package that adds a missing one is named);
//! * every key and value fits the format (no whitespace in a postmap key,
//!   no line break or NUL, a regexp key is one pattern, ...);
//! * owner and group exist.
//!
//! On the plan ([`check_plan`]):
//!
//! * a regexp, pcre or cidr table as it will be written is opened by the
//!   real `postmap -q`: a rule Postfix would skip is an error at its
//!   entry (a problem on a line the live file already has, a warning);
//! * every table a value the spec sets names (main.cf parameters,
//!   master.cf `-o` options: `hash:/path`, `regexp:/path`, ...) exists or
//!   is managed by the spec; otherwise Postfix's lookups would fail, and
//!   the plan is refused (when the live configuration already named it,
//!   a warning); a table the spec removes must not be named anywhere;
//! * a managed table nothing names is a warning, as is an alias file
//!   without `postmaster` or one that `alias_maps` does not name.

use crate::catalog::Catalog;
use crate::engine::live::LiveConfig;
use crate::engine::plan::{FilePlan, Plan};
use crate::engine::spec::{Location, Spec, SpecError, SpecKey};
use crate::engine::tables::{
    desired_tables, effective_value, entry_errors, expand, named_tables, raw, DesiredTable,
    NamedRef, Origin, Want,
};
use crate::io::accounts::{self, Db};
use crate::io::index;
use crate::postfix::maincf::MainCf;
use crate::postfix::table::{references, MapType, Syntax, Table, TableRef};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Problems of the spec's tables that need no plan. Checks that ask the
/// file system or Postfix run only when the live tables were read (not
/// for a snapshot).
pub(super) fn check_spec(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) -> Vec<SpecError> {
    let (desired, mut errors) = desired_tables(spec, live, catalog);
    if spec.aliases.is_empty() {
    } else if let Some(v) = effective_value(spec, live, catalog, "alias_database") {
        let n = references(v.as_bytes()).len();
        if n > 1 {
            warnings.push(format!(
                "aliases: alias_database names {n} tables; postform writes the first (newaliases builds them all)"
            ));
        }
    }
    let on_disk = live.tables.is_some();
    let mut types: BTreeMap<MapType, Vec<&DesiredTable>> = BTreeMap::new();
    for d in &desired {
        let location = d.location(spec);
        match &d.want {
            Want::Absent => continue,
            Want::Whole(c) => {
                errors.extend(entry_errors(spec, d, &c.entries));
                for (field, name, db) in [
                    (crate::engine::spec::MapField::Owner, &c.owner, Db::Passwd),
                    (crate::engine::spec::MapField::Group, &c.group, Db::Group),
                ] {
                    let Some(name) = name else { continue };
                    if on_disk && accounts::id_of(db, name).is_none() {
                        let Origin::Map(p) = &d.origin else { continue };
                        errors.push(SpecError {
                            location: spec.location(&SpecKey::MapField(p.clone(), field)),
                            message: format!(
                                "`maps`: `{p}` {}: no such {} `{name}`",
                                field.as_str(),
                                if db == Db::Passwd { "user" } else { "group" }
                            ),
                            hint: Some(
                                "give a user or group that exists on the host (or its number)"
                                    .into(),
                            ),
                        });
                    }
                }
            }
            Want::Named(named) => {
                let pairs: Vec<(String, String)> = named
                    .iter()
                    .filter_map(|(n, v)| Some((n.clone(), v.clone()?)))
                    .collect();
                errors.extend(entry_errors(spec, d, &pairs));
            }
        }
        if on_disk {
            let dir = d.path.parent().unwrap_or(Path::new("/"));
            if !dir.is_dir() {
                errors.push(SpecError {
                    location: location.clone(),
                    message: format!(
                        "{}: the directory {} does not exist",
                        d.label(),
                        dir.display()
                    ),
                    hint: Some("postform writes table files, not directories: create it first, or give another path".into()),
                });
            }
        }
        types.entry(d.kind).or_default().push(d);
    }
    if on_disk {
        check_types(spec, live, &types, &mut errors, warnings);
    }
    errors
}

/// Every type the spec uses must open in this Postfix.
fn check_types(
    spec: &Spec,
    live: &LiveConfig,
    types: &BTreeMap<MapType, Vec<&DesiredTable>>,
    errors: &mut Vec<SpecError>,
    warnings: &mut Vec<String>,
) {
    if types.is_empty() {
        return;
    }
    let names: Vec<&str> = types.keys().map(|k| k.as_str()).collect();
    let supported = match index::types_supported(&live.dir, &names) {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!(
                "cannot ask Postfix which table types it has ({e}): the types of the spec's tables are not checked"
            ));
            return;
        }
    };
    for ((kind, tables), ok) in types.iter().zip(supported) {
        if ok {
            continue;
        }
        for d in tables {
            let hint = match kind.debian_package() {
                Some(p) => format!("install the Debian package {p} (apt-get install {p}), which adds {kind} tables to Postfix"),
                None => format!("this Postfix has no {kind} tables (postconf -m lists the types it has)"),
            };
            errors.push(SpecError {
                location: type_location(spec, d),
                message: format!("{}: this Postfix cannot open {kind} tables", d.label()),
                hint: Some(hint),
            });
        }
    }
}

fn type_location(spec: &Spec, d: &DesiredTable) -> Location {
    match &d.origin {
        Origin::Map(p) => spec
            .location_if_known(&SpecKey::MapField(
                p.clone(),
                crate::engine::spec::MapField::Type,
            ))
            .cloned()
            .unwrap_or_else(|| d.location(spec)),
        Origin::Aliases => d.location(spec),
    }
}

/// Problems of the plan's tables: the pattern tables as written, the
/// tables the new configuration names. Returns warnings, or every error.
pub fn check_plan(
    spec: &Spec,
    live: &LiveConfig,
    plan: &Plan,
    catalog: &Catalog,
) -> Result<Vec<String>, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let (desired, _) = desired_tables(spec, live, catalog);
    if live.tables.is_some() {
        for f in plan.files.iter().filter(|f| f.has_changes()) {
            if let Some(d) = desired.iter().find(|d| d.path == f.path) {
                check_pattern_table(spec, live, d, f, &mut errors, &mut warnings);
            }
        }
    }
    // Tables named before and after.
    let before: Vec<NamedRef> = match live.main_cf() {
        Ok((_, main)) => named_tables(main, live.master.doc(), &live.dir, catalog),
        Err(_) => Vec::new(),
    };
    let after = named_tables(
        &plan.candidate.main,
        plan.candidate.master.as_deref(),
        &live.dir,
        catalog,
    );
    for r in &after {
        let Some(path) = absolute(&r.table.name) else {
            continue;
        };
        let managed = desired.iter().find(|d| d.path == path);
        let location = r.location(spec);
        match managed {
            Some(d) if d.want == Want::Absent => {
                errors.push(SpecError {
                    location: d.location(spec),
                    message: format!(
                        "`maps`: `{}` removes {}, but {} names {}",
                        d.label(),
                        path.display(),
                        r.named_by(),
                        r.table
                    ),
                    hint: Some("remove the table from the configuration first (or in the same spec), or keep the table".into()),
                });
            }
            Some(d) => {
                if let Some(kind) = MapType::from_name(&r.table.kind) {
                    if kind != d.kind && d.syntax != Syntax::Aliases {
                        errors.push(SpecError {
                            location: location.unwrap_or_else(|| d.location(spec)),
                            message: format!(
                                "{} names {}, but the spec builds {} as a {} table",
                                r.named_by(),
                                r.table,
                                path.display(),
                                d.kind
                            ),
                            hint: Some(format!(
                                "use {}:{} in the parameter, or type: {} for the table",
                                d.kind,
                                path.display(),
                                r.table.kind
                            )),
                        });
                    }
                }
            }
            None => {
                // Only what the spec sets is judged: a table an untouched
                // parameter names is not this run's business.
                if location.is_none() || r.is_build_list() || exists(&r.table, &path) {
                    continue;
                }
                let already = before.iter().any(|b| b.table == r.table);
                let what = match MapType::from_name(&r.table.kind).and_then(MapType::index_suffix) {
                    Some(suffix) => format!(
                        "{} (its index) does not exist",
                        index::index_path(&path, suffix).display()
                    ),
                    None => format!("{} does not exist", path.display()),
                };
                match location {
                    Some(at) if !already => errors.push(SpecError {
                        location: at,
                        message: format!("{} names {}, but {what}: Postfix's lookups in it would fail", r.named_by(), r.table),
                        hint: Some(format!(
                            "manage the table in the same spec (maps: {{{}: {{type: {}, entries: ...}}}}), or create it first",
                            path.display(),
                            r.table.kind
                        )),
                    }),
                    _ => warnings.push(format!(
                        "{} names {}, but {what} (already so in the live configuration)",
                        r.named_by(),
                        r.table
                    )),
                }
            }
        }
    }
    for d in &desired {
        if matches!(d.want, Want::Absent) {
            continue;
        }
        let named = after
            .iter()
            .any(|r| absolute(&r.table.name).as_deref() == Some(d.path.as_path()));
        if !named && d.origin != Origin::Aliases {
            warnings.push(format!(
                "`maps`: `{}` is not named by any main.cf parameter or master.cf -o option: Postfix does not use it",
                d.label()
            ));
        }
        if d.syntax == Syntax::Aliases {
            alias_warnings(d, plan, &plan.candidate.main, live, catalog, &mut warnings);
        }
    }
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(errors)
    }
}

/// postmap -q on a regexp, pcre or cidr table as the plan writes it.
fn check_pattern_table(
    spec: &Spec,
    live: &LiveConfig,
    d: &DesiredTable,
    f: &FilePlan,
    errors: &mut Vec<SpecError>,
    warnings: &mut Vec<String>,
) {
    if !matches!(d.kind, MapType::Regexp | MapType::Pcre | MapType::Cidr) || f.after == f.before {
        return;
    }
    let scratch = match tempfile::Builder::new().prefix("postform-table-").tempdir() {
        Ok(s) => s,
        Err(e) => {
            warnings.push(format!("{}: cannot check it with postmap ({e})", d.label()));
            return;
        }
    };
    let file = scratch.path().join("table");
    if let Err(e) = std::fs::write(&file, &f.after) {
        warnings.push(format!("{}: cannot check it with postmap ({e})", d.label()));
        return;
    }
    let problems = match index::check_text_table(&live.dir, d.kind.as_str(), &file, &d.path) {
        Ok(p) => p,
        Err(e) => {
            warnings.push(format!("{}: cannot check it with postmap: {e}", d.label()));
            return;
        }
    };
    let table = Table::parse(d.syntax, &f.after);
    for (line, message) in problems {
        let kept = line
            .and_then(|l| f.line_origin.as_ref()?.get(l.checked_sub(1)?).copied())
            .is_some_and(|o| o != crate::postfix::table::NEW_LINE);
        let entry = line.and_then(|l| {
            table
                .items()
                .iter()
                .find(|i| {
                    let (a, b) = i.span();
                    a <= l && l <= b
                })
                .and_then(|i| i.entry())
        });
        let message = message
            .trim_start_matches("warning: ")
            .trim_start_matches("fatal: ")
            .to_string();
        match (&d.origin, entry) {
            (Origin::Map(p), Some(e)) if !kept => errors.push(SpecError {
                location: spec.location(&SpecKey::MapEntry(p.clone(), e.key_str())),
                message: format!("`maps`: `{p}` entry \"{}\": Postfix skips this rule: {message}", e.key_str()),
                hint: Some(match d.kind {
                    MapType::Cidr => "a cidr rule is ADDRESS[/LEN] RESULT with no host bits set past LEN (cidr_table(5))".to_string(),
                    _ => format!("postmap -q checked the {} table as it would be written ({}_table(5))", d.kind, d.kind),
                }),
            }),
            _ if kept => warnings.push(format!("{message} (a line the live file already has)")),
            _ => errors.push(SpecError {
                location: d.location(spec),
                message: format!("{}: Postfix would warn about the new table: {message}", d.label()),
                hint: None,
            }),
        }
    }
}

/// Warnings about the alias file: no postmaster, not in alias_maps.
fn alias_warnings(
    d: &DesiredTable,
    plan: &Plan,
    main: &MainCf,
    live: &LiveConfig,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) {
    let Some(f) = plan.files.iter().find(|f| f.path == d.path) else {
        return;
    };
    let table = Table::parse(Syntax::Aliases, &f.after);
    if !table
        .effective_entries()
        .iter()
        .any(|e| e.ident == b"postmaster")
    {
        warnings.push(format!(
            "{}: no postmaster alias: mail to postmaster (which RFC 5321 requires every domain to accept) is delivered to a local user postmaster, if there is one",
            d.label()
        ));
    }
    let alias_maps = value_with_defaults(main, catalog, &live.dir, "alias_maps");
    let used = references(alias_maps.as_bytes())
        .iter()
        .any(|r| absolute(&r.name).as_deref() == Some(d.path.as_path()));
    if !used {
        warnings.push(format!(
            "{}: alias_maps (\"{}\") does not name it, so local(8) does not look aliases up in it",
            d.label(),
            alias_maps.trim()
        ));
    }
}

fn value_with_defaults(main: &MainCf, catalog: &Catalog, config_dir: &Path, name: &str) -> String {
    let value = raw(main, catalog, config_dir, name).unwrap_or_default();
    String::from_utf8_lossy(&expand(&value, |n| raw(main, catalog, config_dir, n))).into_owned()
}

fn absolute(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(name);
    p.is_absolute().then_some(p)
}

/// Does the file Postfix opens for `table` exist?
fn exists(table: &TableRef, path: &Path) -> bool {
    match table.kind.as_str() {
        "dbm" | "sdbm" => index::index_path(path, ".dir").exists(),
        k => match MapType::from_name(k).and_then(MapType::index_suffix) {
            Some(suffix) => index::index_path(path, suffix).exists(),
            None => path.exists(),
        },
    }
}
