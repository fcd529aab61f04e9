//! Plan: the exact change a spec makes to main.cf, and what it needs from
//! the service.
//!
//! A plan is typed changes (add, change, remove, dedupe) with before/after
//! values and the service action each needs, plus the candidate bytes and
//! a hash of the main.cf it was computed from (apply refuses to write when
//! main.cf changed since).

use crate::catalog::{default_at_level, restart_class, Catalog, RestartClass};
use crate::engine::equivalence::{equivalent, is_default};
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::{Location, Spec, SpecValue};
use crate::io::hash::sha256_hex;
use crate::postfix::maincf::{
    BatchError, Edit, EditError, Entry, MainCf, MainCfError, NewValue, Warning, NEW_LINE,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
    /// For a removal: the default Postfix then uses (as `postconf -d`
    /// prints it), when the catalog knows the name. `""` in a spec is an
    /// empty value; `null` is this default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
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
    /// For each line of `after`, the line of `before` it is unchanged
    /// from, or [`NEW_LINE`] (see `MainCf::apply_edits_traced`); `None`
    /// for a plan loaded from a file. Lets the diff of a very large change
    /// skip the search for the shortest diff.
    pub line_origin: Option<Vec<u32>>,
}

/// Planning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}: cannot read: {error}{}", path.display(), read_hint(path, error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: is a directory, expected the main.cf file\n  hint: point -c at the directory that holds main.cf", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}", parse_message(path, error))]
    Parse { path: PathBuf, error: MainCfError },
    #[error("{location}: {error}")]
    Edit {
        location: Location,
        error: EditError,
    },
}

fn read_hint(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Ok(target) = std::fs::read_link(path) {
                return format!(
                    "\n  hint: {} is a dangling symlink: its target {} does not exist; fix the link (postform writes through it, it never creates the target)",
                    path.display(),
                    target.display()
                );
            }
            match dir {
                Some(d) if !d.is_dir() => format!(
                    "\n  hint: the config directory {} does not exist; pass -c DIR (default /etc/postfix), the directory that holds Postfix's main.cf",
                    d.display()
                ),
                _ => "\n  hint: -c DIR (default /etc/postfix) must be the directory that holds Postfix's main.cf".into(),
            }
        }
        std::io::ErrorKind::PermissionDenied => {
            "\n  hint: run as a user who may read it (usually root)".into()
        }
        _ => String::new(),
    }
}

/// `FILE:LINE:COLUMN: what` for a main.cf Postfix itself would refuse.
fn parse_message(path: &Path, error: &MainCfError) -> String {
    let file = path.display();
    let hint = "\n  hint: Postfix itself refuses this file (every line must be `name = value`; a value continued on the next line starts with whitespace, a comment with #). Fix the line; postform does not edit a file Postfix cannot read";
    match error {
        MainCfError::MissingEquals {
            line,
            at_line,
            column,
            text,
        } => {
            let within = if at_line == line {
                String::new()
            } else {
                format!(" (in the entry that starts at line {line})")
            };
            format!("{file}:{at_line}:{column}: missing '=' after the parameter name{within}: \"{text}\"{hint}")
        }
        MainCfError::MissingName { line, column, text } => {
            format!("{file}:{line}:{column}: missing parameter name before '=': \"{text}\"{hint}")
        }
    }
}

/// Read `DIR/main.cf` (following a symlink) as bytes.
pub fn read_main_cf(config_dir: &Path) -> Result<(PathBuf, Vec<u8>), PlanError> {
    let path = config_dir.join("main.cf");
    if path.is_dir() {
        return Err(PlanError::IsDirectory { path });
    }
    // A FIFO would block forever and a device (a link to /dev/zero) never
    // ends: only a regular file (or a symlink to one) is read.
    match crate::io::read::read_regular(&path) {
        Ok(bytes) => Ok((path, bytes)),
        Err(error) => Err(PlanError::Read { path, error }),
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
    let doc = MainCf::parse(&before).map_err(|error| PlanError::Parse {
        path: path.to_path_buf(),
        error,
    })?;
    plan_document(spec, config_dir, path, before, doc, catalog)
}

/// Plan `spec` against main.cf `before` (read from `path`), already parsed
/// as `doc`.
pub fn plan_document(
    spec: &Spec,
    config_dir: &Path,
    path: &Path,
    before: Vec<u8>,
    doc: MainCf,
    catalog: &Catalog,
) -> Result<Plan, PlanError> {
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
                        warnings.push(dead_definitions_warning(path, &doc, name, count));
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
                    name: name.clone(),
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
                    name: name.clone(),
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
                name: name.clone().into_owned(),
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
        .map(|c| c.name.as_str())
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
    let mut edited = doc;
    let line_origin =
        edited
            .apply_edits_traced(&edits)
            .map_err(|BatchError { index, error }| PlanError::Edit {
                location: values[index].2.clone(),
                error,
            })?;
    let service_action = changes
        .iter()
        .map(|c| c.action)
        .max()
        .unwrap_or(ServiceAction::None);
    let after = edited.to_bytes();
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
        line_origin: Some(line_origin),
    })
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

/// Lines of context in the unified diff.
const DIFF_CONTEXT: usize = 3;

/// Above this many Myers steps ((old + new lines) x changed lines, about a
/// tenth of a second), the diff comes from the edits' line map (see
/// `Plan::diff_from_origin`).
const ORIGIN_DIFF_ABOVE: u64 = 50_000_000;

/// Time allowed for finding the shortest diff (see [`Plan::unified_diff`]).
pub const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

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

    /// Unified diff of main.cf (Myers, pinned; 3 lines of context; the
    /// shortest diff unless finding it takes longer than [`DIFF_DEADLINE`]).
    pub fn unified_diff(&self) -> String {
        const CONTEXT: usize = DIFF_CONTEXT;
        let shown = self.main_cf.display().to_string();
        if let Some(origin) = &self.line_origin {
            if let Some(diff) = self.diff_from_origin(origin, &shown, ORIGIN_DIFF_ABOVE) {
                return diff;
            }
        }
        // Myers is O(lines x changed lines): removing 100,000 parameters
        // from a 1,000,000-line file would take minutes. Past the
        // deadline similar stops looking for the shortest diff; the diff
        // is still exact, only less compact (real plans end long before).
        let deadline = std::time::Instant::now() + DIFF_DEADLINE;
        let render = |old: &str, new: &str| {
            let diff = similar::TextDiff::configure()
                .algorithm(similar::Algorithm::Myers)
                .deadline(deadline)
                .diff_lines(old, new);
            let text = diff
                .unified_diff()
                .context_radius(CONTEXT)
                .header(&format!("{shown} (live)"), &format!("{shown} (planned)"))
                .missing_newline_hint(true)
                .to_string();
            (
                diff.ops().to_vec(),
                diff.old_slices().len(),
                diff.new_slices().len(),
                text,
            )
        };
        // similar hashes every line before it diffs: on a 100,000-line
        // main.cf that dominates `plan`. Diff only the changed middle (plus
        // CONTEXT common lines each side) and shift the hunk headers back.
        // similar slides a change through equal lines; when a change slid
        // into a kept margin, the cut may have stopped it early, so the
        // whole files are diffed instead: the output is always the same as
        // diffing the whole files.
        // Lossy text of just the middle: the cuts are at line starts, and
        // UTF-8 decoding resynchronises at every LF, so this is the same
        // text as the middle of the whole file's lossy text.
        let whole = || {
            let before = String::from_utf8_lossy(&self.before);
            let after = String::from_utf8_lossy(&self.after);
            render(&before, &after).3
        };
        let (skip, cut, old_mid, new_mid) = changed_middle(&self.before, &self.after, CONTEXT);
        if skip == 0 && cut == 0 {
            return whole();
        }
        let (old_mid, new_mid) = (
            String::from_utf8_lossy(old_mid),
            String::from_utf8_lossy(new_mid),
        );
        let (ops, old_len, new_len, diff) = render(&old_mid, &new_mid);
        let clipped = ops
            .iter()
            .filter(|op| op.tag() != similar::DiffTag::Equal)
            .any(|op| {
                let (o, n) = (op.old_range(), op.new_range());
                (skip > 0 && (o.start < CONTEXT || n.start < CONTEXT))
                    || (cut > 0 && (o.end + CONTEXT > old_len || n.end + CONTEXT > new_len))
            });
        if clipped {
            return whole();
        }
        let mut out = String::with_capacity(diff.len() + 16);
        for line in diff.split_inclusive('\n') {
            match shift_hunk_header(line, skip) {
                Some(shifted) => out.push_str(&shifted),
                None => out.push_str(line),
            }
        }
        out
    }

    /// The unified diff built from the edits' own line map instead of a
    /// search, when the change is so large that Myers would need more than
    /// `above` steps ((old + new lines) x changed lines): exact, and as
    /// compact as the edits (unchanged lines never show as changed), but
    /// not always the shortest. `None` below that size, or when the map
    /// does not fit the two files (then the search is used).
    fn diff_from_origin(&self, origin: &[u32], shown: &str, above: u64) -> Option<String> {
        use similar::DiffOp;
        let before = String::from_utf8_lossy(&self.before);
        let after = String::from_utf8_lossy(&self.after);
        // Used for its line slices only: with a deadline already passed,
        // similar does no search.
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .deadline(std::time::Instant::now())
            .diff_lines(&before, &after);
        let (old, new) = (diff.old_slices(), diff.new_slices());
        if origin.len() != new.len() {
            return None;
        }
        let kept = origin.iter().filter(|&&o| o != NEW_LINE).count();
        let changed = (old.len() - kept.min(old.len())) + (new.len() - kept);
        if ((old.len() + new.len()) as u64).saturating_mul(changed as u64) <= above {
            return None;
        }
        let mut ops: Vec<DiffOp> = Vec::new();
        let gap = |ops: &mut Vec<DiffOp>, o: (usize, usize), n: (usize, usize)| {
            let (old_index, old_len, new_index, new_len) = (o.0, o.1 - o.0, n.0, n.1 - n.0);
            match (old_len, new_len) {
                (0, 0) => {}
                (_, 0) => ops.push(DiffOp::Delete {
                    old_index,
                    old_len,
                    new_index,
                }),
                (0, _) => ops.push(DiffOp::Insert {
                    old_index,
                    new_index,
                    new_len,
                }),
                _ => ops.push(DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                }),
            }
        };
        let (mut next_old, mut next_new) = (0usize, 0usize);
        for (j, &o) in origin.iter().enumerate() {
            if o == NEW_LINE {
                continue;
            }
            let i = o as usize;
            // Kept lines are in order and unchanged, or the map is wrong.
            if i < next_old || i >= old.len() || old[i] != new[j] {
                return None;
            }
            gap(&mut ops, (next_old, i), (next_new, j));
            match ops.last_mut() {
                Some(DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                }) if *old_index + *len == i && *new_index + *len == j => *len += 1,
                _ => ops.push(DiffOp::Equal {
                    old_index: i,
                    new_index: j,
                    len: 1,
                }),
            }
            (next_old, next_new) = (i + 1, j + 1);
        }
        gap(&mut ops, (next_old, old.len()), (next_new, new.len()));
        let mut out = String::new();
        for group in similar::group_diff_ops(ops, DIFF_CONTEXT) {
            if out.is_empty() {
                out.push_str(&format!("--- {shown} (live)\n+++ {shown} (planned)\n"));
            }
            out.push_str(&similar::udiff::UnifiedDiffHunk::new(group, &diff, true).to_string());
        }
        Some(out)
    }

    /// The closing line, e.g.
    /// "Plan: 0 to add, 1 to change, 0 to remove. Service action: restart."
    pub fn closing_line(&self) -> String {
        if !self.has_changes() {
            return format!(
                "No changes. {} already matches the spec. Service action: none.",
                self.main_cf.display()
            );
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
            let dups = match c.removed_duplicates {
                0 => String::new(),
                1 => "; 1 dead duplicate removed".to_string(),
                n => format!("; {n} dead duplicates removed"),
            };
            let (sign, code, what) = match c.kind {
                ChangeKind::Add => ("+", "32", q(&c.after)),
                ChangeKind::Change => (
                    "~",
                    "33",
                    format!("{} -> {}{dups}", q(&c.before), q(&c.after)),
                ),
                ChangeKind::Remove => ("-", "31", {
                    // What Postfix uses once the definition is gone:
                    // "empty" and "default" are never confused.
                    let default = match c.default.as_deref() {
                        Some("") => "(Postfix default: empty)".to_string(),
                        Some(d) => format!("(Postfix default: {d})"),
                        None => "(Postfix default)".to_string(),
                    };
                    match c.removed_duplicates {
                        0 => format!("{} -> {default}", q(&c.before)),
                        n => format!(
                            "{} -> {default}; all {} definitions removed",
                            q(&c.before),
                            n + 1
                        ),
                    }
                }),
                ChangeKind::Dedupe => ("~", "33", format!("{} unchanged{dups}", q(&c.after))),
            };
            let needs = match c.action {
                ServiceAction::None => "no reload needed".to_string(),
                a => format!("needs {a}"),
            };
            out.push_str(&format!(
                "  {} {:width$}  {}  ({needs})\n",
                paint(code, sign),
                c.name,
                what,
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

    /// The documented, stable JSON shape (`format_version` 1), what
    /// `postform plan --json` prints:
    ///
    /// * `format_version`: 1; a field is only ever added within a version.
    /// * `config_dir`, `main_cf`: paths as given (`-c DIR`, `DIR/main.cf`).
    /// * `base_sha256`: SHA-256 (hex) of the main.cf the plan was made from.
    /// * `changed`: whether applying writes main.cf.
    /// * `changes`: one object per parameter, in plan order: `name`,
    ///   `kind` (`add` | `change` | `remove` | `dedupe`), `before` and
    ///   `after` (effective values as postconf prints them, `null` when
    ///   unset), `action` (`none` | `reload` | `restart`), `line` (of the
    ///   last existing definition, or `null`), `removed_duplicates`.
    /// * `summary`: `{add, change, remove}` counts (a dedupe is a change).
    /// * `service_action`: the strongest action of all changes.
    /// * `diff`: unified diff of main.cf (empty without changes).
    /// * `warnings`: Postfix's warnings about the live main.cf.
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

/// The parts of `old` and `new` that differ, with up to `context` common
/// lines kept on each side: (lines skipped at the start, bytes cut at the
/// end, old middle, new middle). "Common" is per line, as a line diff sees
/// it: a line and its newline. Block comparisons, no per-line work: this
/// runs on every plan of a possibly huge file.
fn changed_middle<'a>(
    old: &'a [u8],
    new: &'a [u8],
    context: usize,
) -> (usize, usize, &'a [u8], &'a [u8]) {
    let (a, b) = (old, new);
    // Whole common lines at the start end after the last LF before the
    // first differing byte.
    let diff_at = common_prefix_len(a, b);
    let prefix_end = a[..diff_at]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let prefix_lines = count_newlines(&a[..prefix_end]);
    let skip = prefix_lines.saturating_sub(context);
    // Back up `prefix_lines - skip` lines from prefix_end.
    let mut start = prefix_end;
    for _ in skip..prefix_lines {
        start = a[..start - 1]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
    }
    // Whole common lines at the end, after prefix_end in both.
    let room = (a.len() - prefix_end).min(b.len() - prefix_end);
    let same = common_suffix_len(&a[prefix_end..], &b[prefix_end..]).min(room);
    let at_line_start = |s: &[u8], k: usize| {
        let i = s.len() - k;
        i == prefix_end || s[i - 1] == b'\n'
    };
    let mut k = same;
    while k > 0 && !(at_line_start(a, k) && at_line_start(b, k)) {
        k -= 1;
    }
    // Keep `context` of those lines.
    let mut cut = k;
    for _ in 0..context {
        if cut == 0 {
            break;
        }
        let from = a.len() - cut;
        cut -= a[from..a.len()]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(cut, |i| i + 1);
    }
    (
        skip,
        cut,
        &old[start..old.len() - cut],
        &new[start..new.len() - cut],
    )
}

/// Length of the common prefix of two byte strings (block compares first).
fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Length of the common suffix of two byte strings.
fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + BLOCK <= n
        && a[a.len() - k - BLOCK..a.len() - k] == b[b.len() - k - BLOCK..b.len() - k]
    {
        k += BLOCK;
    }
    k + a[..a.len() - k]
        .iter()
        .rev()
        .zip(b[..b.len() - k].iter().rev())
        .take(n - k)
        .take_while(|(x, y)| x == y)
        .count()
}

/// Number of LF bytes, eight at a time.
fn count_newlines(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut n = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ (LO * u64::from(b'\n'));
        // High bit set in each byte of x that is zero (exact, no carries).
        let zero = !(((x & !HI) + !HI) | x) & HI;
        n += zero.count_ones() as usize;
    }
    n + chunks.remainder().iter().filter(|&&c| c == b'\n').count()
}

/// `@@ -a,b +c,d @@` with `skip` added to both start lines; `None` for
/// any other line.
fn shift_hunk_header(line: &str, skip: usize) -> Option<String> {
    let body = line.strip_prefix("@@ -")?;
    let (body, end) = match body.strip_suffix(" @@\n") {
        Some(b) => (b, " @@\n"),
        None => (body.strip_suffix(" @@")?, " @@"),
    };
    let (old, new) = body.split_once(" +")?;
    let shift = |range: &str| -> Option<String> {
        let (start, len) = match range.split_once(',') {
            Some((s, l)) => (s, Some(l)),
            None => (range, None),
        };
        let start: usize = start.parse().ok()?;
        Some(match len {
            Some(l) => format!("{},{l}", start + skip),
            None => format!("{}", start + skip),
        })
    };
    Some(format!("@@ -{} +{}{end}", shift(old)?, shift(new)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Apply a unified diff (as `Plan::unified_diff` writes it) to `old`.
    fn apply_unified(old: &str, diff: &str) -> String {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0usize;
        let mut last_tag = ' ';
        for line in diff.split_inclusive('\n') {
            if line.starts_with("--- ") || line.starts_with("+++ ") {
                continue;
            }
            if let Some(header) = line.strip_prefix("@@ -") {
                let range = header.split(' ').next().unwrap();
                let (start, len) = match range.split_once(',') {
                    Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()),
                    None => (range.parse().unwrap(), 1),
                };
                let at = if len == 0 { start } else { start - 1 };
                while next < at {
                    out.push_str(old_lines[next]);
                    next += 1;
                }
                continue;
            }
            if line.starts_with("\\ No newline at end of file") {
                // The line just written (not one removed) had no newline.
                if last_tag != '-' && out.ends_with('\n') {
                    out.pop();
                }
                continue;
            }
            let (tag, text) = line.split_at(1);
            last_tag = tag.chars().next().unwrap_or(' ');
            match tag {
                " " => {
                    out.push_str(old_lines[next]);
                    next += 1;
                }
                "-" => next += 1,
                "+" => out.push_str(text),
                _ => panic!("unexpected diff line {line:?}"),
            }
        }
        while next < old_lines.len() {
            out.push_str(old_lines[next]);
            next += 1;
        }
        out
    }

    fn plan_of(before: &[u8], after: Vec<u8>, origin: Vec<u32>) -> Plan {
        Plan {
            config_dir: PathBuf::from("dir"),
            main_cf: PathBuf::from("dir/main.cf"),
            changes: Vec::new(),
            service_action: ServiceAction::None,
            service_mode: None,
            before: before.to_vec(),
            after,
            base_sha256: String::new(),
            warnings: Vec::new(),
            line_origin: Some(origin),
        }
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-c] = [a-c]{1,2}",
            1 => "    [a-c]",
            2 => "# [a-c]{0,3}",
            1 => "#[a-c] = x",
            1 => Just(String::new()),
        ]
    }

    fn edit() -> impl Strategy<Value = (String, Option<String>)> {
        ("[a-d]", prop::option::of("[a-c]{1,3}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// The diff built from the edits' line map, forced on any size,
        /// turns the old file into the new one and shows exactly the
        /// lines the edits removed and wrote.
        #[test]
        fn diff_from_the_line_map_is_exact(
            lines in prop::collection::vec(line(), 0..30),
            final_newline in prop::bool::ANY,
            crlf in prop::bool::ANY,
            edits in prop::collection::vec(edit(), 0..6),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(eol);
            if final_newline && !text.is_empty() {
                text.push_str(eol);
            }
            let Ok(mut doc) = MainCf::parse(text.as_bytes()) else { return Ok(()); };
            let values: Vec<(String, Option<NewValue>)> = edits
                .into_iter()
                .map(|(n, v)| (n, v.map(NewValue::Scalar)))
                .collect();
            let batch: Vec<Edit<'_>> = values.iter().map(|(n, v)| (n.as_bytes(), v.as_ref())).collect();
            let origin = doc.apply_edits_traced(&batch).unwrap();
            let after = doc.to_bytes();
            let plan = plan_of(text.as_bytes(), after.clone(), origin.clone());
            let Some(diff) = plan.diff_from_origin(&origin, "dir/main.cf", 0) else {
                // Only when nothing changed (0 steps is not above 0).
                prop_assert_eq!(text.as_bytes(), &after[..]);
                return Ok(());
            };
            prop_assert_eq!(apply_unified(&text, &diff), String::from_utf8(after.clone()).unwrap());
            let removed = diff.lines().filter(|l| l.starts_with('-') && !l.starts_with("--- ")).count();
            let written = diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++ ")).count();
            let kept = origin.iter().filter(|&&o| o != NEW_LINE).count();
            prop_assert_eq!(written, origin.len() - kept);
            prop_assert_eq!(removed, text.split_inclusive('\n').count() - kept);
            // The searched diff of the same plan applies too.
            prop_assert_eq!(apply_unified(&text, &plan.unified_diff()), String::from_utf8(after).unwrap());
        }
    }

    #[test]
    fn small_changes_keep_the_searched_diff() {
        let before = b"a = 1\nb = 2\n";
        let mut doc = MainCf::parse(before).unwrap();
        let value = NewValue::Scalar("3".into());
        let origin = doc.apply_edits_traced(&[(b"b", Some(&value))]).unwrap();
        let plan = plan_of(before, doc.to_bytes(), origin.clone());
        assert_eq!(plan.diff_from_origin(&origin, "x", ORIGIN_DIFF_ABOVE), None);
        // A map that does not fit the files is not used.
        assert_eq!(plan.diff_from_origin(&[5, 0], "x", 0), None);
    }
}
