//! Plan: the exact change a spec makes to main.cf, and what it needs from
//! the service.
//!
//! A plan is typed changes (add, change, remove, dedupe) with before/after
//! values and the service action each needs, plus the candidate bytes and
//! a hash of the main.cf it was computed from (apply refuses to write when
//! main.cf changed since).

use crate::catalog::{restart_class, Catalog, RestartClass};
use crate::maincf::{EditError, MainCf, MainCfError, NewValue};
use crate::service::{ServiceAction, ServiceMode};
use crate::spec::{Location, Spec, SpecValue};
use crate::value::{equivalent, is_default};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What happens to one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// main.cf gains a definition.
    Add,
    /// The effective value changes.
    Change,
    /// Every definition goes; Postfix falls back to its default.
    Remove,
    /// The value already matches; dead earlier duplicates are removed.
    Dedupe,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub name: String,
    pub kind: ChangeKind,
    /// Effective value before (normalized as postconf prints it).
    pub before: Option<String>,
    /// Effective value after.
    pub after: Option<String>,
    /// What the change needs from Postfix (`none` when the effective value
    /// Postfix uses does not change, e.g. an explicit default).
    pub action: ServiceAction,
    /// Line of the (last) existing definition, if any.
    pub line: Option<usize>,
    /// Earlier duplicate definitions removed along the way.
    pub removed_duplicates: usize,
}

/// A computed plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub config_dir: PathBuf,
    pub main_cf: PathBuf,
    pub changes: Vec<Change>,
    /// The strongest action any change needs.
    pub service_action: ServiceAction,
    /// The spec's own service mode, when it names one.
    pub service_mode: Option<ServiceMode>,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// SHA-256 (hex) of `before`.
    pub base_sha256: String,
    pub warnings: Vec<String>,
}

/// Planning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}: cannot read main.cf: {source}{}", path.display(), read_hint(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: is a directory, expected the main.cf file; point -c at the directory that holds main.cf", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}:{error}\n  hint: Postfix itself refuses this file; fix the line (postform will not edit a file Postfix cannot read)", path.display())]
    Parse { path: PathBuf, error: MainCfError },
    #[error("{location}: {error}")]
    Edit {
        location: Location,
        error: EditError,
    },
}

fn read_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            "; check -c DIR (default /etc/postfix): it must hold Postfix's main.cf"
        }
        std::io::ErrorKind::PermissionDenied => "; run as a user who may read it (usually root)",
        _ => "",
    }
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Read `DIR/main.cf` (following a symlink) as bytes.
pub fn read_main_cf(config_dir: &Path) -> Result<(PathBuf, Vec<u8>), PlanError> {
    let path = config_dir.join("main.cf");
    if path.is_dir() {
        return Err(PlanError::IsDirectory { path });
    }
    match std::fs::read(&path) {
        Ok(bytes) => Ok((path, bytes)),
        Err(source) => Err(PlanError::Read { path, source }),
    }
}

/// Plan `spec` against the live `DIR/main.cf`.
pub fn plan(spec: &Spec, config_dir: &Path, catalog: &Catalog) -> Result<Plan, PlanError> {
    let (path, before) = read_main_cf(config_dir)?;
    plan_bytes(spec, config_dir, &path, before, catalog)
}

/// Plan `spec` against main.cf bytes read from `path`.
pub fn plan_bytes(
    spec: &Spec,
    config_dir: &Path,
    path: &Path,
    before: Vec<u8>,
    catalog: &Catalog,
) -> Result<Plan, PlanError> {
    let mut doc = MainCf::parse(&before).map_err(|error| PlanError::Parse {
        path: path.to_path_buf(),
        error,
    })?;
    let original = doc.clone();
    let mut changes = Vec::new();
    for (name, desired) in &spec.main {
        let location = spec.location_of(name);
        let edit_err = |error| PlanError::Edit {
            location: location.clone(),
            error,
        };
        let current = original.get(name);
        let count = original.count(name);
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
                if satisfied && count == 1 {
                    continue;
                }
                doc.set(name, &new_value).map_err(edit_err)?;
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
                    name: name.clone(),
                    kind,
                    before: before_value.map(|v| normalize_str(&v)),
                    after: Some(normalize_str(&rendered)),
                    action: action_for(name, effective_same),
                    line,
                    removed_duplicates: count.saturating_sub(1),
                });
            }
            None => {
                if count == 0 {
                    continue;
                }
                doc.remove(name).map_err(edit_err)?;
                let effective_same = current.is_some_and(|e| is_default(catalog, name, &e.value));
                changes.push(Change {
                    name: name.clone(),
                    kind: ChangeKind::Remove,
                    before: before_value.map(|v| normalize_str(&v)),
                    after: None,
                    action: action_for(name, effective_same),
                    line,
                    removed_duplicates: count.saturating_sub(1),
                });
            }
        }
    }
    if spec.purge {
        let unnamed: Vec<_> = original
            .effective()
            .iter()
            .filter(|e| !spec.main.contains_key(e.name_str().as_ref()))
            .map(|e| (e.name_str().into_owned(), e.clone()))
            .collect();
        for (name, entry) in unnamed {
            let count = original.count(&name);
            doc.remove(&name).map_err(|error| PlanError::Edit {
                location: spec.location_of("purge"),
                error,
            })?;
            let effective_same = is_default(catalog, &name, &entry.value);
            changes.push(Change {
                name: name.clone(),
                kind: ChangeKind::Remove,
                before: Some(normalize_str(&entry.value_str())),
                after: None,
                action: action_for(&name, effective_same),
                line: Some(entry.line),
                removed_duplicates: count.saturating_sub(1),
            });
        }
    }
    let service_action = changes
        .iter()
        .map(|c| c.action)
        .max()
        .unwrap_or(ServiceAction::None);
    let after = doc.to_bytes();
    let mut warnings: Vec<String> = original
        .warnings()
        .iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    for c in &changes {
        if c.removed_duplicates > 0 {
            warnings.push(format!(
                "{}: {} was defined {} times; the earlier, dead definitions are removed",
                path.display(),
                c.name,
                c.removed_duplicates + 1
            ));
        }
    }
    Ok(Plan {
        config_dir: config_dir.to_path_buf(),
        main_cf: path.to_path_buf(),
        changes,
        service_action,
        service_mode: spec.service.clone(),
        base_sha256: sha256_hex(&before),
        before,
        after,
        warnings,
    })
}

fn normalize_str(v: &str) -> String {
    String::from_utf8_lossy(&crate::maincf::normalize(v.as_bytes())).into_owned()
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

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
}

impl Plan {
    /// Does applying this plan change main.cf?
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() && self.before != self.after
    }

    /// Add/change/remove counts (a dedupe counts as a change).
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.kind {
                ChangeKind::Add => s.add += 1,
                ChangeKind::Change | ChangeKind::Dedupe => s.change += 1,
                ChangeKind::Remove => s.remove += 1,
            }
        }
        s
    }

    /// Unified diff of main.cf (Myers, pinned; 3 lines of context).
    pub fn unified_diff(&self) -> String {
        let before = String::from_utf8_lossy(&self.before);
        let after = String::from_utf8_lossy(&self.after);
        let shown = self.main_cf.display().to_string();
        similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .diff_lines(before.as_ref(), after.as_ref())
            .unified_diff()
            .context_radius(3)
            .header(&format!("{shown} (live)"), &format!("{shown} (planned)"))
            .missing_newline_hint(true)
            .to_string()
    }

    /// The closing line, e.g.
    /// "Plan: 0 to add, 1 to change, 0 to remove. Service action: restart."
    pub fn closing_line(&self) -> String {
        if !self.has_changes() {
            return "No changes. main.cf already matches the spec. Service action: none."
                .to_string();
        }
        let s = self.summary();
        format!(
            "Plan: {} to add, {} to change, {} to remove. Service action: {}.",
            s.add, s.change, s.remove, self.service_action
        )
    }

    /// Human-readable plan (Terraform style). `color` adds ANSI colours.
    pub fn render_text(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        if !self.has_changes() {
            out.push_str(&self.closing_line());
            out.push('\n');
            return out;
        }
        out.push_str(&format!(
            "postform will change {}:\n\n",
            self.main_cf.display()
        ));
        let width = self.changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.changes {
            let q = |v: &Option<String>| match v {
                Some(v) => format!("{v:?}"),
                None => "(unset)".to_string(),
            };
            let (sign, code, what) = match c.kind {
                ChangeKind::Add => ("+", "32", q(&c.after)),
                ChangeKind::Change => ("~", "33", format!("{} -> {}", q(&c.before), q(&c.after))),
                ChangeKind::Remove => ("-", "31", format!("{} -> (Postfix default)", q(&c.before))),
                ChangeKind::Dedupe => (
                    "~",
                    "33",
                    format!(
                        "{} (unchanged; {} dead duplicate{} removed)",
                        q(&c.after),
                        c.removed_duplicates,
                        if c.removed_duplicates == 1 { "" } else { "s" }
                    ),
                ),
            };
            out.push_str(&format!(
                "  {} {:width$}  {}  [{}]\n",
                paint(code, sign),
                c.name,
                what,
                c.action,
                width = width
            ));
        }
        out.push('\n');
        for line in self.unified_diff().lines() {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            if code.is_empty() {
                out.push_str(line);
            } else {
                out.push_str(&paint(code, line));
            }
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.closing_line());
        out.push('\n');
        out
    }

    /// The documented, stable JSON shape (`format_version` 1).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "format_version": 1,
            "config_dir": self.config_dir.display().to_string(),
            "main_cf": self.main_cf.display().to_string(),
            "base_sha256": self.base_sha256,
            "changed": self.has_changes(),
            "changes": self.changes,
            "summary": self.summary(),
            "service_action": self.service_action,
            "diff": if self.has_changes() { self.unified_diff() } else { String::new() },
            "warnings": self.warnings,
        })
    }
}
