//! The main.cf planner: typed changes per parameter, applied to the live
//! document in one batch of edits.
//!
//! * A parameter whose effective value already matches is left alone
//!   (restating is never a change); its dead earlier definitions are
//!   reported, and removed only with `purge` or when the entry is
//!   rewritten anyway.
//! * `null` removes every definition; the change records the default
//!   Postfix then uses (at the compatibility level after the change).
//! * `purge` removes every parameter the spec does not name.

use super::{Change, ChangeKind, FilePlan, ManagedFile, PlanError, Target};
use crate::catalog::{default_at_level, restart_class, Catalog, RestartClass};
use crate::engine::equivalence::{equivalent, is_default};
use crate::engine::service::ServiceAction;
use crate::engine::spec::{Location, Spec, SpecValue};
use crate::postfix::maincf::{BatchError, Edit, Entry, MainCf, NewValue, Warning};
use std::collections::HashMap;
use std::path::Path;

/// Plan `spec`'s main section against main.cf (`before`, read from
/// `path`, parsed as `doc`). Returns the file plan and Postfix's warnings
/// about the live file (plus the plan's own).
pub(super) fn plan_main_cf(
    spec: &Spec,
    path: &Path,
    before: &[u8],
    doc: &MainCf,
    catalog: &Catalog,
) -> Result<(FilePlan, Vec<String>, MainCf), PlanError> {
    // Every definition of each name: how many, and the effective (last).
    let mut defined: HashMap<&[u8], (usize, &Entry)> = HashMap::new();
    for e in doc.entries() {
        let slot = defined.entry(e.name.as_slice()).or_insert((0, e));
        *slot = (slot.0 + 1, e);
    }
    let mut changes = Vec::new();
    let mut warnings = Vec::new();
    // The edits, applied in one pass at the end; the location of each
    // for a refused edit. Names are bytes (a purge removes names that are
    // not UTF-8).
    let mut values: Vec<(Vec<u8>, Option<NewValue>, Location)> = Vec::new();
    // The compatibility level after the change decides which default
    // applies where Postfix's default depends on it.
    let level: Option<Vec<u8>> = match spec.main.get("compatibility_level") {
        Some(value) => value.as_ref().map(|v| v.render().into_bytes()),
        None if spec.purge => None,
        None => defined
            .get(&b"compatibility_level"[..])
            .map(|(_, e)| e.value.clone()),
    };
    let default_of = |name: &str| -> Option<String> {
        if let Some(words) = crate::catalog::host_computed_default(name) {
            return Some(format!("<{words}>"));
        }
        catalog
            .get(name)
            .map(|p| normalize_str(default_at_level(p.default, level.as_deref())))
    };
    for (name, desired) in &spec.main {
        let (count, current) = match defined.get(name.as_bytes()) {
            Some(&(count, e)) => (count, Some(e)),
            None => (0, None),
        };
        let before_value = current.map(|e| e.value_str().into_owned());
        let line = current.map(|e| e.line);
        match desired {
            Some(value) => {
                let rendered = value.render();
                let new_value = match value {
                    SpecValue::List(items) => NewValue::List(items.clone()),
                    _ => NewValue::Scalar(rendered.clone()),
                };
                let satisfied =
                    current.is_some_and(|e| equivalent(catalog, name, &e.value, &rendered));
                // A satisfied parameter is left alone: restating the live
                // state is never a change. Its dead earlier definitions
                // go only when the user asks for a cleanup (purge).
                if satisfied && (count == 1 || !spec.purge) {
                    if count > 1 {
                        warnings.push(dead_definitions_warning(path, doc, name, count));
                    }
                    continue;
                }
                values.push((
                    name.as_bytes().to_vec(),
                    Some(new_value),
                    spec.location_of(name),
                ));
                let kind = match (satisfied, current.is_some()) {
                    (true, _) => ChangeKind::Dedupe,
                    (false, true) => ChangeKind::Change,
                    (false, false) => ChangeKind::Add,
                };
                // Postfix's view changes unless the old effective value
                // (or, when unset, the default) already equals the new.
                let effective_same = match current {
                    Some(e) => equivalent(catalog, name, &e.value, &rendered),
                    None => is_default(catalog, name, rendered.as_bytes()),
                };
                changes.push(Change {
                    target: Target::Parameter { name: name.clone() },
                    kind,
                    before: before_value.map(|v| normalize_str(&v)),
                    after: Some(normalize_str(&rendered)),
                    default: None,
                    action: action_for(name, effective_same),
                    line,
                    removed_duplicates: count.saturating_sub(1),
                });
            }
            None => {
                let Some(current) = current else {
                    continue;
                };
                values.push((name.as_bytes().to_vec(), None, spec.location_of(name)));
                let effective_same = is_default(catalog, name, &current.value);
                changes.push(Change {
                    target: Target::Parameter { name: name.clone() },
                    kind: ChangeKind::Remove,
                    before: before_value.map(|v| normalize_str(&v)),
                    after: None,
                    default: default_of(name),
                    action: action_for(name, effective_same),
                    line,
                    removed_duplicates: count.saturating_sub(1),
                });
            }
        }
    }
    if spec.purge {
        for entry in doc.effective().iter() {
            let name = entry.name_str();
            if spec.main.contains_key(name.as_ref()) {
                continue;
            }
            let count = defined.get(entry.name.as_slice()).map_or(1, |d| d.0);
            let effective_same = is_default(catalog, &name, &entry.value);
            changes.push(Change {
                target: Target::Parameter {
                    name: name.clone().into_owned(),
                },
                kind: ChangeKind::Remove,
                before: Some(normalize_str(&entry.value_str())),
                after: None,
                default: default_of(&name),
                action: action_for(&name, effective_same),
                line: Some(entry.line),
                removed_duplicates: count.saturating_sub(1),
            });
            values.push((entry.name.clone(), None, spec.location_of("purge")));
        }
    }
    let edits: Vec<Edit<'_>> = values
        .iter()
        .map(|(name, value, _)| (name.as_slice(), value.as_ref()))
        .collect();
    // Postfix's own warnings about the live file, as FILE:LINE: text. An
    // "overriding earlier entry" the plan fixes (it removes the dead
    // duplicates) is not repeated: the plan says so.
    let fixed: Vec<&str> = changes
        .iter()
        .filter(|c| c.removed_duplicates > 0)
        .filter_map(|c| c.target.parameter())
        .collect();
    let mut warnings: Vec<String> = doc
        .warnings()
        .iter()
        .filter(|w| !matches!(w, Warning::OverridingEarlier { name, .. } if fixed.contains(&name.as_str())))
        .map(|w| format!("{}:{}: {}", path.display(), w.line(), w.message()))
        .chain(warnings)
        .collect();
    warnings.dedup();
    drop(defined);
    let mut edited = doc.clone();
    let line_origin =
        edited
            .apply_edits_traced(&edits)
            .map_err(|BatchError { index, error }| PlanError::Edit {
                location: values[index].2.clone(),
                error,
            })?;
    let after = edited.to_bytes();
    Ok((
        FilePlan {
            file: ManagedFile::MainCf,
            path: path.to_path_buf(),
            before: before.to_vec(),
            after,
            changes,
            line_origin: Some(line_origin),
            table: None,
        },
        warnings,
        edited,
    ))
}

/// "main.cf:L: `name` is defined N times (lines ...)": the dead earlier
/// definitions of a parameter the spec restates, which the plan leaves.
fn dead_definitions_warning(path: &Path, doc: &MainCf, name: &str, count: usize) -> String {
    let lines: Vec<String> = doc
        .entries()
        .iter()
        .filter(|e| e.name == name.as_bytes())
        .map(|e| e.line.to_string())
        .collect();
    let (dead, last) = lines.split_at(lines.len().saturating_sub(1));
    let plural = dead.len() != 1;
    format!(
        "{}:{}: {name} is defined {count} times (lines {}); the last one is in effect and already says what the spec says, so the plan leaves the dead definition{} on line{} {} as {} (purge: true removes dead definitions)",
        path.display(),
        last.first().map_or("?", String::as_str),
        lines.join(", "),
        if plural { "s" } else { "" },
        if plural { "s" } else { "" },
        dead.join(", "),
        if plural { "they are" } else { "it is" },
    )
}

fn normalize_str(v: &str) -> String {
    String::from_utf8_lossy(&crate::postfix::maincf::normalize(v.as_bytes())).into_owned()
}

fn action_for(name: &str, effective_same: bool) -> ServiceAction {
    if effective_same {
        return ServiceAction::None;
    }
    match restart_class(name) {
        RestartClass::Restart => ServiceAction::Restart,
        RestartClass::Reload => ServiceAction::Reload,
    }
}
