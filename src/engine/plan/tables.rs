//! The table planner: per managed table file, its entry changes (minimal
//! edits of the source, see [`crate::postfix::table::Table::edit`]), its
//! mode and owner, and whether its index must be (re)built.
//!
//! An index is rebuilt when the source is rewritten, and when it is
//! missing, empty, older than its source (the source was edited by hand
//! since the last build: the plan says so), holds other entries than its
//! source, or has another mode or owner than the source. Otherwise it is
//! left alone, so that re-planning an applied spec is "No changes".
//!
//! Service action per change: none for indexed tables and aliases (a
//! Postfix process notices that its open index was replaced and exits at
//! its next accept; docs/tables.md has the daemon test), reload for the
//! text tables Postfix reads into memory (regexp, pcre, cidr, texthash),
//! and reload when an index was missing (processes that found it missing
//! keep failing lookups until they are replaced).
//!
//! Secret tables: every value in a change is `(secret)`, and the diff is
//! not shown ([`super::FilePlan::unified_diff`]).

use super::{Change, ChangeKind, FilePlan, ManagedFile, PlanError, Target};
use crate::catalog::Catalog;
use crate::engine::live::{LiveConfig, LiveTable, TableSource};
use crate::engine::service::ServiceAction;
use crate::engine::spec::{Spec, SpecErrors};
use crate::engine::tables::{desired_tables, entry_errors, DesiredTable, Origin, Want};
use crate::io::accounts::{self, Db};
use crate::io::index::{Builder, IndexState, Perms};
use crate::postfix::table::{EntryChangeKind, MapType, Syntax, Table};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// How a table file is written and built (part of its [`FilePlan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    pub kind: MapType,
    pub syntax: Syntax,
    pub secret: bool,
    /// The spec removes the table: source and index go.
    pub remove: bool,
    /// The source exists now.
    pub exists: bool,
    /// The source file is written (new content, new mode or owner, or a
    /// new file).
    pub write_source: bool,
    /// Mode, owner and group of the source after the change (the index
    /// gets the same, without execute bits).
    pub perms: Perms,
    pub perms_before: Option<Perms>,
    /// For indexed types.
    pub index: Option<IndexPlan>,
    /// Dead duplicate lines the rewrite drops.
    pub removed_duplicates: usize,
}

/// A table's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlan {
    /// `SOURCE.db`, `.lmdb`, `.cdb`.
    pub path: PathBuf,
    pub suffix: &'static str,
    pub builder: Builder,
    /// Why it is built; `None`: left as it is.
    pub rebuild: Option<String>,
    /// It exists now.
    pub exists: bool,
}

impl TablePlan {
    /// The `table` object of `plan --json` (see [`super::Plan::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        use crate::io::accounts::{name_of, Db};
        serde_json::json!({
            "type": self.kind.as_str(),
            "format": if self.syntax == Syntax::Aliases { "aliases" } else { "postmap" },
            "secret": self.secret,
            "remove": self.remove,
            "mode": format!("{:04o}", self.perms.mode),
            "owner": name_of(Db::Passwd, self.perms.uid).unwrap_or_else(|| self.perms.uid.to_string()),
            "group": name_of(Db::Group, self.perms.gid).unwrap_or_else(|| self.perms.gid.to_string()),
            "index": self.index.as_ref().map(|i| serde_json::json!({
                "path": i.path.display().to_string(),
                "rebuild": i.rebuild,
            })),
        })
    }

    /// The index's mode, owner and group: the source's, without execute
    /// bits.
    pub fn index_perms(&self) -> Perms {
        Perms {
            mode: self.perms.mode & 0o666,
            ..self.perms
        }
    }
}

/// Plan every table the spec manages. Without tables read (a snapshot),
/// nothing is planned and a warning says so.
pub(super) fn plan_tables(
    spec: &Spec,
    live: &LiveConfig,
    catalog: &Catalog,
    warnings: &mut Vec<String>,
) -> Result<Vec<FilePlan>, PlanError> {
    let (desired, errors) = desired_tables(spec, live, catalog);
    if !errors.is_empty() {
        return Err(PlanError::Spec(SpecErrors(errors)));
    }
    if desired.is_empty() {
        return Ok(Vec::new());
    }
    if live.tables.is_none() {
        warnings.push(format!(
            "the spec manages {} table file(s), which were not read (a snapshot holds main.cf and master.cf only): they are not planned",
            desired.len()
        ));
        return Ok(Vec::new());
    }
    let mut plans = Vec::new();
    for d in &desired {
        let Some(lt) = live.table(&d.path) else {
            warnings.push(format!("{}: not read, not planned", d.path.display()));
            continue;
        };
        if let Some(p) = plan_table(spec, d, lt)? {
            plans.push(p);
        }
    }
    Ok(plans)
}

fn plan_table(
    spec: &Spec,
    d: &DesiredTable,
    lt: &LiveTable,
) -> Result<Option<FilePlan>, PlanError> {
    let label = d.label();
    let file = match d.origin {
        Origin::Map(_) => ManagedFile::Table,
        Origin::Aliases => ManagedFile::Aliases,
    };
    let (before, perms_before, live_table) = match &lt.source {
        TableSource::Absent => (Vec::new(), None, None),
        TableSource::Unreadable(e) => {
            return Err(PlanError::Table {
                path: d.path.clone(),
                message: format!(
                    "cannot read the table: {}",
                    crate::io::read::unread_reason(e)
                ),
            })
        }
        TableSource::Read { table, perms, .. } => {
            (table.bytes().to_vec(), Some(*perms), Some(table))
        }
    };
    let exists = live_table.is_some();
    let secret = d.secret();
    let pairs: Vec<(String, String)> = match &d.want {
        Want::Whole(c) => c.entries.clone(),
        Want::Named(named) => merge_named(live_table, named),
        Want::Absent => return Ok(plan_removal(d, lt, file, label, before, perms_before)),
    };
    let errors = entry_errors(spec, d, &pairs);
    if !errors.is_empty() {
        return Err(PlanError::Spec(SpecErrors(errors)));
    }
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let empty = Table::empty(d.syntax);
    let base = live_table.unwrap_or(&empty);
    let edit = base.edit(&refs);
    let perms = desired_perms(d, perms_before).map_err(|message| PlanError::Table {
        path: d.path.clone(),
        message,
    })?;
    let action = if d.kind.is_read_into_memory() {
        ServiceAction::Reload
    } else {
        ServiceAction::None
    };
    let mut changes: Vec<Change> = Vec::new();
    let table_name = label.clone();
    for c in &edit.changes {
        let shown = |v: &Option<Vec<u8>>| {
            v.as_ref().map(|v| {
                if secret {
                    "(secret)".to_string()
                } else {
                    String::from_utf8_lossy(v).into_owned()
                }
            })
        };
        let target = match d.origin {
            Origin::Aliases => Target::Alias {
                name: c.key.clone(),
            },
            Origin::Map(_) => Target::Entry {
                table: table_name.clone(),
                key: c.key.clone(),
            },
        };
        changes.push(Change {
            target,
            kind: match c.kind {
                EntryChangeKind::Add => ChangeKind::Add,
                EntryChangeKind::Change | EntryChangeKind::Move => ChangeKind::Change,
                EntryChangeKind::Remove => ChangeKind::Remove,
            },
            before: shown(&c.before),
            after: match c.kind {
                EntryChangeKind::Move => shown(&c.after).map(|v| format!("{v} (moved)")),
                _ => shown(&c.after),
            },
            default: None,
            action,
            line: c.line,
            removed_duplicates: 0,
        });
    }
    if !exists && changes.is_empty() {
        changes.push(Change {
            target: Target::Table {
                table: table_name.clone(),
            },
            kind: ChangeKind::Add,
            before: None,
            after: Some("(empty table)".into()),
            default: None,
            action,
            line: None,
            removed_duplicates: 0,
        });
    }
    let perms_change = perms_before.is_some_and(|p| p != perms);
    if perms_change {
        changes.push(Change {
            target: Target::Table {
                table: table_name.clone(),
            },
            kind: ChangeKind::Change,
            before: perms_before.map(describe_perms),
            after: Some(describe_perms(perms)),
            default: None,
            action: ServiceAction::None,
            line: None,
            removed_duplicates: 0,
        });
    }
    let write_source = !exists || edit.has_changes() || perms_change;
    let after = if edit.has_changes() || !exists {
        edit.bytes.clone()
    } else {
        before.clone()
    };
    let mut plan = TablePlan {
        kind: d.kind,
        syntax: d.syntax,
        secret,
        remove: false,
        exists,
        write_source,
        perms,
        perms_before,
        index: None,
        removed_duplicates: edit.removed_duplicates,
    };
    if let Some(suffix) = d.kind.index_suffix() {
        let info = lt.index.as_ref();
        let index_exists = info
            .is_some_and(|i| !matches!(i.state, IndexState::Missing | IndexState::Unreadable(_)));
        let drift = index_drift(
            lt,
            info.map(|i| &i.state),
            info.and_then(|i| i.perms),
            plan.index_perms(),
        );
        let rebuild = if write_source {
            Some(if exists {
                "the source changes".to_string()
            } else {
                "new table".to_string()
            })
        } else {
            drift.clone().map(|(why, _)| why)
        };
        if let (false, Some((why, reload))) = (write_source, &drift) {
            changes.push(Change {
                target: Target::Index {
                    table: table_name.clone(),
                },
                kind: ChangeKind::Change,
                before: Some(why.clone()),
                after: Some("rebuilt".into()),
                default: None,
                action: if *reload {
                    ServiceAction::Reload
                } else {
                    ServiceAction::None
                },
                line: None,
                removed_duplicates: 0,
            });
        }
        plan.index = Some(IndexPlan {
            path: crate::io::index::index_path(&d.path, suffix),
            suffix,
            builder: match d.syntax {
                Syntax::Aliases => Builder::Postalias,
                _ => Builder::Postmap,
            },
            rebuild,
            exists: index_exists,
        });
    }
    Ok(Some(FilePlan {
        file,
        path: d.path.clone(),
        before,
        after,
        changes,
        line_origin: Some(edit.line_origin),
        table: Some(Box::new(plan)),
    }))
}

/// `aliases:` names over the live file's other entries: the live
/// entries in file order (a named one with its new value, or dropped
/// when `null`), then the new names in spec order.
fn merge_named(live: Option<&Table>, named: &[(String, Option<String>)]) -> Vec<(String, String)> {
    use crate::postfix::table::fold_key;
    let mut out = Vec::new();
    let mut used = vec![false; named.len()];
    if let Some(t) = live {
        for e in t.effective_entries() {
            match named
                .iter()
                .position(|(n, _)| fold_key(n.as_bytes()) == e.ident)
            {
                Some(i) => {
                    used[i] = true;
                    if let Some(v) = &named[i].1 {
                        out.push((named[i].0.clone(), v.clone()));
                    }
                }
                None => out.push((
                    String::from_utf8_lossy(&e.ident).into_owned(),
                    String::from_utf8_lossy(&e.stored).into_owned(),
                )),
            }
        }
    }
    for (i, (n, v)) in named.iter().enumerate() {
        if let (false, Some(v)) = (used[i], v) {
            out.push((n.clone(), v.clone()));
        }
    }
    out
}

/// Why the index must be rebuilt although the source stays, and whether
/// processes need a reload to see it.
fn index_drift(
    lt: &LiveTable,
    state: Option<&IndexState>,
    perms: Option<Perms>,
    want: Perms,
) -> Option<(String, bool)> {
    match state? {
        IndexState::Missing => return Some(("missing".into(), true)),
        IndexState::Empty => return Some(("empty (Postfix cannot open it)".into(), true)),
        IndexState::Unreadable(e) => return Some((format!("unreadable: {e}"), true)),
        IndexState::Older => {
            return Some((
                "older than its source (the source was edited since the last build)".into(),
                false,
            ))
        }
        IndexState::Current => {}
    }
    if lt.index_matches == Some(false) {
        return Some(("holds other entries than its source".into(), false));
    }
    match perms {
        Some(p) if p != want => Some((
            format!(
                "{} (the source's are {})",
                describe_perms(p),
                describe_perms(want)
            ),
            false,
        )),
        _ => None,
    }
}

fn plan_removal(
    d: &DesiredTable,
    lt: &LiveTable,
    file: ManagedFile,
    label: String,
    before: Vec<u8>,
    perms_before: Option<Perms>,
) -> Option<FilePlan> {
    // The type is not known for a removal: any index beside it goes.
    let index = [".db", ".lmdb", ".cdb"].into_iter().find_map(|suffix| {
        let path = crate::io::index::index_path(&d.path, suffix);
        std::fs::symlink_metadata(&path).ok().map(|_| IndexPlan {
            path,
            suffix,
            builder: Builder::Postmap,
            rebuild: None,
            exists: true,
        })
    });
    let exists = !matches!(lt.source, TableSource::Absent);
    if !exists && index.is_none() {
        return None;
    }
    Some(FilePlan {
        file,
        path: d.path.clone(),
        before,
        after: Vec::new(),
        changes: vec![Change {
            target: Target::Table { table: label },
            kind: ChangeKind::Remove,
            before: Some(match &index {
                Some(i) if exists => format!("the file and {}", i.path.display()),
                Some(i) => i.path.display().to_string(),
                None => "the file".into(),
            }),
            after: None,
            default: None,
            action: ServiceAction::None,
            line: None,
            removed_duplicates: 0,
        }],
        line_origin: None,
        table: Some(Box::new(TablePlan {
            kind: d.kind,
            syntax: d.syntax,
            secret: false,
            remove: true,
            exists,
            write_source: false,
            perms: perms_before.unwrap_or(Perms {
                mode: 0o600,
                uid: 0,
                gid: 0,
            }),
            perms_before,
            index,
            removed_duplicates: 0,
        })),
    })
}

/// Mode, owner and group the source must have: the spec's; for a secret
/// table without a mode, 0600; else what the file has; a new file 0644,
/// owned by postform's user.
fn desired_perms(d: &DesiredTable, now: Option<Perms>) -> Result<Perms, String> {
    let (mode, owner, group, secret) = match &d.want {
        Want::Whole(c) => (c.mode, c.owner.as_deref(), c.group.as_deref(), c.secret),
        _ => (None, None, None, false),
    };
    let me = std::fs::metadata("/proc/self").ok();
    let uid = match owner {
        Some(o) => accounts::id_of(Db::Passwd, o).ok_or_else(|| {
            format!("owner: no such user `{o}` (looked up in /etc/passwd and with getent)")
        })?,
        None => now
            .map(|p| p.uid)
            .or_else(|| me.as_ref().map(MetadataExt::uid))
            .unwrap_or(0),
    };
    let gid = match group {
        Some(g) => accounts::id_of(Db::Group, g).ok_or_else(|| {
            format!("group: no such group `{g}` (looked up in /etc/group and with getent)")
        })?,
        None => now
            .map(|p| p.gid)
            .or_else(|| me.as_ref().map(MetadataExt::gid))
            .unwrap_or(0),
    };
    let mode = mode
        .or(secret.then_some(0o600))
        .or(now.map(|p| p.mode))
        .unwrap_or(0o644);
    Ok(Perms { mode, uid, gid })
}

/// `0600 root:root`.
pub fn describe_perms(p: Perms) -> String {
    let user = accounts::name_of(Db::Passwd, p.uid).unwrap_or_else(|| p.uid.to_string());
    let group = accounts::name_of(Db::Group, p.gid).unwrap_or_else(|| p.gid.to_string());
    format!("{:04o} {user}:{group}", p.mode)
}
