//! Plan: the exact change a spec makes to each file of the configuration,
//! and what it needs from the service.
//!
//! A plan is a list of file plans (main.cf; master.cf when the spec
//! manages services), each with typed changes keyed by what they are about
//! (a parameter, a service, a service's field or `-o` option), its
//! candidate bytes, and the fingerprint of every file the plan read (apply
//! refuses when any of them changed since). One service action for the
//! whole plan: the strongest any change needs.

mod diff;
mod main_cf;
mod master_cf;
mod tables;

pub use diff::DIFF_DEADLINE;

use crate::catalog::Catalog;
use crate::engine::live::{Fingerprint, LiveConfig, LiveError};
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::{Location, Spec};
use crate::postfix::maincf::EditError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The file gains it.
    Add,
    /// Its value changes.
    Change,
    /// It goes; for a parameter, Postfix falls back to its default.
    Remove,
    /// The value already matches; dead earlier duplicates are removed.
    Dedupe,
}

/// What a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resource", rename_all = "lowercase")]
pub enum Target {
    /// A main.cf parameter.
    Parameter { name: String },
    /// A master.cf service as a whole, `name/type`.
    Service { service: String },
    /// A field of a master.cf service (private, unpriv, chroot, wakeup,
    /// maxproc, command, args).
    Field { service: String, field: String },
    /// A `-o name=value` option of a master.cf service.
    Option { service: String, name: String },
    /// A lookup table file as a whole (created, removed, its mode or
    /// owner), by the path its spec gives.
    Table { table: String },
    /// One entry of a lookup table.
    Entry { table: String, key: String },
    /// One alias of the file `alias_database` names.
    Alias { name: String },
    /// A table's index (`.db`, `.lmdb`, `.cdb`), rebuilt although the
    /// entries did not change (missing, older than the source...).
    Index { table: String },
}

impl Target {
    /// The parameter name, for a main.cf change.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Target::Parameter { name } => Some(name),
            _ => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Parameter { name } => f.write_str(name),
            Target::Service { service } => f.write_str(service),
            Target::Field { service, field } => write!(f, "{service} {field}"),
            Target::Option { service, name } => write!(f, "{service} -o {name}"),
            Target::Table { .. } => f.write_str("(file)"),
            Target::Entry { key, .. } => f.write_str(key),
            Target::Alias { name } => f.write_str(name),
            Target::Index { .. } => f.write_str("(index)"),
        }
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    #[serde(flatten)]
    pub target: Target,
    pub kind: ChangeKind,
    /// Value before (normalized as postconf prints it), `None` when unset.
    pub before: Option<String>,
    /// Value after.
    pub after: Option<String>,
    /// For a removed parameter: the default Postfix then uses (as
    /// `postconf -d` prints it), when the catalog knows the name. `""` in
    /// a spec is an empty value; `null` is this default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What the change needs from Postfix (`none` when what Postfix uses
    /// does not change, e.g. an explicit default).
    pub action: ServiceAction,
    /// Line of the (last) existing definition, if any.
    pub line: Option<usize>,
    /// Earlier duplicate definitions removed along the way.
    pub removed_duplicates: usize,
}

/// Which file of the configuration a file plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagedFile {
    #[serde(rename = "main.cf")]
    MainCf,
    #[serde(rename = "master.cf")]
    MasterCf,
    /// A lookup table under `maps:` (see [`FilePlan::table`]).
    #[serde(rename = "table")]
    Table,
    /// The file `aliases:` manages.
    #[serde(rename = "aliases")]
    Aliases,
}

impl std::fmt::Display for ManagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ManagedFile::MainCf => "main.cf",
            ManagedFile::MasterCf => "master.cf",
            ManagedFile::Table => "table",
            ManagedFile::Aliases => "aliases",
        })
    }
}

/// The planned change of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    pub file: ManagedFile,
    /// Where the file is (as named under the config dir).
    pub path: PathBuf,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    pub changes: Vec<Change>,
    /// For each line of `after`, the line of `before` it is unchanged
    /// from, or [`crate::postfix::maincf::NEW_LINE`]; `None` when unknown.
    /// Lets the diff of a very large change skip the search for the
    /// shortest diff.
    pub line_origin: Option<Vec<u32>>,
    /// For a lookup table or the alias file: how it is written and
    /// built.
    pub table: Option<Box<TablePlan>>,
}

pub use tables::{IndexPlan, TablePlan};

impl FilePlan {
    /// Does applying this plan change the file (for a table: its source,
    /// mode, owner or index)?
    pub fn has_changes(&self) -> bool {
        match &self.table {
            Some(_) => !self.changes.is_empty(),
            None => !self.changes.is_empty() && self.before != self.after,
        }
    }

    /// The file's name for messages: main.cf, master.cf, or the table's
    /// path.
    pub fn label(&self) -> String {
        match self.file {
            ManagedFile::MainCf | ManagedFile::MasterCf => self.file.to_string(),
            ManagedFile::Table | ManagedFile::Aliases => self.path.display().to_string(),
        }
    }

    /// Its values must never be shown.
    pub fn is_secret(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.secret)
    }
}

/// The configuration after the plan, parsed: what policies and the
/// service decision judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub main: std::sync::Arc<crate::postfix::maincf::MainCf>,
    /// `None` when master.cf could not be read.
    pub master: Option<std::sync::Arc<crate::postfix::mastercf::MasterCf>>,
}

/// A computed plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The config directory as given.
    pub config_dir: PathBuf,
    /// One per managed file, main.cf first.
    pub files: Vec<FilePlan>,
    /// Every file the plan was computed from, as it was: apply refuses
    /// when any of them differs (unchanged files too: master.cf decides
    /// which main.cf names are valid).
    pub bases: Vec<(PathBuf, Fingerprint)>,
    /// The strongest action any change needs.
    pub service_action: ServiceAction,
    /// The spec's own service mode, when it names one.
    pub service_mode: Option<ServiceMode>,
    pub warnings: Vec<String>,
    /// The configuration after the plan.
    pub candidate: Candidate,
    /// Policy findings (warnings and allowed refusals; a refusal that
    /// blocks never makes a plan).
    pub findings: Vec<crate::engine::policy::Finding>,
}

/// Planning failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error("{location}: {error}")]
    Edit {
        location: Location,
        error: EditError,
    },
    /// The spec's tables cannot be planned (each problem at its place).
    #[error(transparent)]
    Spec(#[from] crate::engine::spec::SpecErrors),
    /// A table file cannot be planned against.
    #[error("{}: {message}", path.display())]
    Table { path: PathBuf, message: String },
    #[error("{location}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Master {
        location: Location,
        message: String,
        hint: Option<String>,
    },
    #[error("{}: {why}; the spec's master: section needs master.cf\n  hint: master.cf must be a file Postfix reads (postconf -M lists its services)", path.display())]
    MasterUnreadable { path: PathBuf, why: String },
}

/// Plan `spec` against the live configuration.
pub fn plan(spec: &Spec, live: &LiveConfig, catalog: &Catalog) -> Result<Plan, PlanError> {
    let (before, doc) = live.main_cf()?;
    let (main, warnings, main_after) =
        main_cf::plan_main_cf(spec, &live.main.path, before, doc, catalog)?;
    let mut files = vec![main];
    let master = if spec.master.is_empty() {
        live.master.doc_arc()
    } else {
        let doc = live
            .master_cf()
            .map_err(|why| PlanError::MasterUnreadable {
                path: live.master.path.clone(),
                why,
            })?;
        let before = live.master.bytes().unwrap_or_default();
        let defaults = master_cf::Defaults {
            old_compat: crate::postfix::number::compat_level(
                main_after
                    .get("compatibility_level")
                    .map(|e| e.value.clone())
                    .unwrap_or_else(|| b"0".to_vec())
                    .trim_ascii(),
            )
            .is_none_or(|l| l < 1 << 20),
            process_limit: main_after
                .get("default_process_limit")
                .and_then(|e| e.value_str().trim().parse().ok())
                .unwrap_or(100),
        };
        let (plan, edited) =
            master_cf::plan_master_cf(spec, &live.master.path, before, doc, catalog, defaults)?;
        files.push(plan);
        Some(std::sync::Arc::new(edited))
    };
    let mut warnings = warnings;
    // Credentials written inline are never shown (engine::secrets).
    for f in &mut files {
        for c in &mut f.changes {
            let name = match &c.target {
                Target::Parameter { name } | Target::Option { name, .. } => name.clone(),
                _ => continue,
            };
            for v in [&mut c.before, &mut c.after].into_iter().flatten() {
                if crate::engine::secrets::holds_secret(&name, v.as_bytes()) {
                    *v = crate::engine::secrets::mask_value(v);
                }
            }
        }
    }
    // ... and a main.cf others can read is no place for them.
    let inline: Vec<String> = main_after
        .effective()
        .iter()
        .filter(|e| crate::engine::secrets::holds_secret(&e.name_str(), &e.value))
        .map(|e| e.name_str().into_owned())
        .collect();
    if !inline.is_empty() {
        let mode = live.main.mode();
        if mode.is_none_or(|m| m & 0o044 != 0) {
            warnings.push(format!(
                "{} {} credentials inline in main.cf, which {}: put them in a table only root can read (maps: with secret: true, mode 0600) and name that table here",
                inline.join(", "),
                if inline.len() == 1 { "holds" } else { "hold" },
                match mode {
                    Some(m) => format!("others can read (mode {:04o})", m & 0o7777),
                    None => "will be readable by others".to_string(),
                }
            ));
        }
    }
    let candidate = Candidate {
        main: std::sync::Arc::new(main_after),
        master,
    };
    files.extend(tables::plan_tables(spec, live, catalog, &mut warnings)?);
    let mut service_action = files
        .iter()
        .flat_map(|f| &f.changes)
        .map(|c| c.action)
        .max()
        .unwrap_or(ServiceAction::None);
    // The service action follows the values Postfix will read: a
    // parameter the master reads only at start-up may change through a
    // `$name` it refers to (`inet_protocols = $proto`), which the edited
    // names alone do not show.
    if service_action < ServiceAction::Restart {
        let before = crate::engine::policy::view::View::new(doc, live.master.doc(), catalog);
        let after = crate::engine::policy::view::View::new(
            &candidate.main,
            candidate.master.as_deref(),
            catalog,
        );
        for name in crate::catalog::restart_parameters() {
            let (b, a) = (before.value(name, None), after.value(name, None));
            if b != a {
                service_action = ServiceAction::Restart;
                warnings.push(format!(
                    "{name} changes from {:?} to {:?} through the values it refers to: the master reads it only at start-up, so the change needs a restart",
                    b.unwrap_or_default(),
                    a.unwrap_or_default()
                ));
            }
        }
    }
    Ok(Plan {
        config_dir: live.dir.clone(),
        files,
        bases: live.fingerprints(),
        service_action,
        service_mode: spec.service.clone(),
        warnings,
        candidate,
        findings: Vec::new(),
    })
}

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
}

impl Plan {
    /// Does applying this plan change any file?
    pub fn has_changes(&self) -> bool {
        self.files.iter().any(FilePlan::has_changes)
    }

    /// The file plans that change their file, in commit-independent
    /// display order.
    pub fn changed_files(&self) -> impl Iterator<Item = &FilePlan> {
        self.files.iter().filter(|f| f.has_changes())
    }

    /// The plan of one file, when the plan covers it.
    pub fn file(&self, which: ManagedFile) -> Option<&FilePlan> {
        self.files.iter().find(|f| f.file == which)
    }

    /// Every change of every file, in order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.files.iter().flat_map(|f| &f.changes)
    }

    /// Add/change/remove counts (a dedupe counts as a change).
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in self.changes() {
            match c.kind {
                ChangeKind::Add => s.add += 1,
                ChangeKind::Change | ChangeKind::Dedupe => s.change += 1,
                ChangeKind::Remove => s.remove += 1,
            }
        }
        s
    }

    /// The closing line, e.g.
    /// "Plan: 0 to add, 1 to change, 0 to remove. Service action: restart."
    pub fn closing_line(&self) -> String {
        if !self.has_changes() {
            let what = match self.files.as_slice() {
                [only] => only.path.display().to_string(),
                _ => format!("The configuration in {}", self.config_dir.display()),
            };
            return format!("No changes. {what} already matches the spec. Service action: none.");
        }
        let s = self.summary();
        format!(
            "Plan: {} to add, {} to change, {} to remove. Service action: {}.",
            s.add, s.change, s.remove, self.service_action
        )
    }

    /// The documented, stable JSON shape (`format_version` 2), what
    /// `postform plan --json` prints (docs/json.md):
    ///
    /// * `format_version`: 2; a field is only ever added within a version.
    /// * `config_dir`: the config directory as given.
    /// * `changed`: whether applying writes any file.
    /// * `files`: one object per managed file: `file` (`main.cf` |
    ///   `master.cf` | `table` | `aliases`), `path`, `base_sha256` (of the
    ///   file the plan was made from), `changed`, `changes`, `diff`
    ///   (unified, empty without changes; for a secret table a note
    ///   instead), and for tables `table`: `type`, `format` (`postmap` |
    ///   `aliases`), `secret`, `remove`, `mode`, `owner`, `group` (after),
    ///   `index` (`null` for text tables, else `path` and `rebuild`: why
    ///   it is built, or `null`).
    /// * `changes`: every change of every file, in order, each with `file`
    ///   and `resource` (`parameter` with `name`; `service` with
    ///   `service`; `field` with `service` and `field`; `option` with
    ///   `service` and `name`; `table` with `table`; `entry` with
    ///   `table` and `key`; `alias` with `name`; `index` with `table`;
    ///   a secret table's values are `(secret)`), `kind` (`add` | `change` | `remove` |
    ///   `dedupe`), `before`/`after` (`null` when unset), `default` (for a
    ///   removed parameter), `action` (`none` | `reload` | `restart`),
    ///   `line`, `removed_duplicates`.
    /// * `summary`: `{add, change, remove}` counts (a dedupe is a change).
    /// * `service_action`: the strongest action of all changes.
    /// * `service_commands`: the spec's own reload/restart argv, or `null`.
    /// * `findings`: policy findings that did not block (warnings, allowed
    ///   refusals, problems the live configuration already has): `id`,
    ///   `severity`, `subject`, `location`, `message`, `hint`, `allowed`,
    ///   `already`.
    /// * `warnings`: warnings about the live files.
    pub fn to_json(&self) -> serde_json::Value {
        let base = |path: &PathBuf| {
            self.bases
                .iter()
                .find(|(p, _)| p == path)
                .and_then(|(_, f)| match f {
                    Fingerprint::Sha256(h) => Some(h.clone()),
                    _ => None,
                })
        };
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({
                    "file": f.file,
                    "path": f.path.display().to_string(),
                    "base_sha256": base(&f.path),
                    "changed": f.has_changes(),
                    "changes": f.changes,
                    "diff": if f.has_changes() { f.unified_diff() } else { String::new() },
                });
                if let Some(t) = &f.table {
                    v["table"] = t.to_json();
                }
                v
            })
            .collect();
        let changes: Vec<serde_json::Value> = self
            .files
            .iter()
            .flat_map(|f| {
                f.changes.iter().map(move |c| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    v["file"] = serde_json::json!(f.file);
                    v
                })
            })
            .collect();
        let service_commands = match &self.service_mode {
            Some(ServiceMode::Command { reload, restart }) => {
                serde_json::json!({"reload": reload, "restart": restart})
            }
            _ => serde_json::Value::Null,
        };
        serde_json::json!({
            "format_version": 2,
            "config_dir": self.config_dir.display().to_string(),
            "changed": self.has_changes(),
            "files": files,
            "changes": changes,
            "summary": self.summary(),
            "service_action": self.service_action,
            "service_commands": service_commands,
            "findings": self.findings,
            "warnings": self.warnings,
        })
    }
}
