//! What the converging modules (`main_cf`, `master_cf`, `config`) share:
//! the internal `_ansible_*` flags, the common options (`config_dir`,
//! `validate`, `backup`, the service mode), converging a [`Spec`] and
//! shaping the one JSON result.
//!
//! Everything here is generic over the spec: a module only decides which
//! [`Spec`] it wants (main.cf parameters, master.cf services, or a whole
//! spec with tables and aliases) and passes it to [`run`]. The result lists
//! every file of the plan, so files the engine learns to plan later (lookup
//! tables, the aliases file) show up without changes here. Their values are
//! hidden where the spec marks a table secret ([`Secrets`]).

use super::{describe, expand_tilde, service_commands, to_bool, NO_LOG_VALUE};
use crate::engine::converge::{
    converge, validate_and_plan, CheckedPlanError, ConvergeOutcome, ConvergeRequest,
};
use crate::engine::live::{Document, LiveConfig, LiveFile};
use crate::engine::plan::{Change, FilePlan, ManagedFile, Plan};
use crate::engine::secrets;
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::Spec;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Default Postfix configuration directory (like `postconf`).
pub const DEFAULT_CONFIG_DIR: &str = "/etc/postfix";

/// Which module is running: decides the wording of `msg` and the
/// module-specific result keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Module {
    /// `postform.postfix.main_cf`: `main_cf` (path), `backup_file`.
    MainCf,
    /// `postform.postfix.master_cf`: `master_cf` (path), `backup_file`.
    MasterCf,
    /// `postform.postfix.config`: `files`, `backup_files`.
    Config,
}

/// The `_ansible_*` keys every module reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub check_mode: bool,
    pub diff: bool,
    pub no_log: bool,
    pub ignore_unknown: bool,
}

impl Flags {
    /// Reads the internal keys; a key that is not a boolean is an error.
    /// Unknown `_ansible_*` keys are ignored (new ansible-core versions add
    /// some).
    pub fn parse(args: &Map<String, Value>, errors: &mut Vec<String>) -> Flags {
        let mut flag = |key: &str| -> bool {
            match args.get(key) {
                None | Some(Value::Null) => false,
                Some(v) => to_bool(v).unwrap_or_else(|| {
                    errors.push(format!(
                        "internal option {key} must be a boolean, got {}",
                        describe(v)
                    ));
                    false
                }),
            }
        };
        Flags {
            check_mode: flag("_ansible_check_mode"),
            diff: flag("_ansible_diff"),
            no_log: flag("_ansible_no_log"),
            ignore_unknown: flag("_ansible_ignore_unknown_opts"),
        }
    }
}

/// The "unsupported option" error for the user keys of `args` that are not
/// in `options` (with the closest valid name when one is near), or `None`.
/// `hint` is appended (e.g. where Postfix parameters go).
pub(crate) fn unknown_options(
    args: &Map<String, Value>,
    options: &[&str],
    hint: &str,
) -> Option<String> {
    let mut unknown: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("_ansible_") && !options.contains(k))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort_unstable();
    let close: Vec<String> = unknown
        .iter()
        .filter_map(|u| closest(u, options).map(|c| format!("{u} -> {c}?")))
        .collect();
    let close = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean: {})", close.join(", "))
    };
    Some(format!(
        "unsupported option{} {}{close}; valid options are: {}{}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        options.join(", "),
        if hint.is_empty() {
            String::new()
        } else {
            format!(". {hint}")
        }
    ))
}

/// The option closest to a misspelt one (edit distance <= 3).
pub(crate) fn closest<'a>(name: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (levenshtein(name, o), *o))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, o)| o)
}

pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `config_dir` (default [`DEFAULT_CONFIG_DIR`]): `~` expanded on the
/// target, normalised; a relative path warns.
pub(crate) fn config_dir_option(
    value: Option<&Value>,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> PathBuf {
    match value {
        None => PathBuf::from(DEFAULT_CONFIG_DIR),
        Some(Value::String(s)) if !s.trim().is_empty() => {
            let dir = expand_tilde(s);
            if !dir.is_absolute() {
                warnings.push(format!(
                    "config_dir {s:?} is relative; it is resolved on the target against \
                     the module's working directory. Use an absolute path"
                ));
            }
            dir
        }
        Some(v) => {
            errors.push(format!(
                "option config_dir must be a directory path (default {DEFAULT_CONFIG_DIR}), got {}",
                describe(v)
            ));
            PathBuf::from(DEFAULT_CONFIG_DIR)
        }
    }
}

/// A boolean option (Ansible's conversions), `None` when not given.
pub(crate) fn bool_option(
    key: &str,
    value: Option<&Value>,
    errors: &mut Vec<String>,
) -> Option<bool> {
    let v = value?;
    let b = to_bool(v);
    if b.is_none() {
        errors.push(format!(
            "option {key} must be a boolean (true/false, yes/no), got {}",
            describe(v)
        ));
    }
    b
}

/// A service-mode option (`none`, `auto`, `reload`, `restart` or
/// `{reload: [argv], restart: [argv]}`), `None` when not given.
pub(crate) fn service_mode_option(
    key: &str,
    value: Option<&Value>,
    errors: &mut Vec<String>,
) -> Option<ServiceMode> {
    match value? {
        Value::String(s) => match s.trim().to_ascii_lowercase().parse::<ServiceMode>() {
            Ok(m) => Some(m),
            Err(_) => {
                errors.push(format!(
                    "option {key} must be one of none, auto, reload, restart (or a \
                     dictionary of reload/restart commands), got {s:?}"
                ));
                None
            }
        },
        Value::Object(m) => match service_commands(m) {
            Ok(mode) => Some(mode),
            Err(e) => {
                errors.push(format!("option {key}: {e}"));
                None
            }
        },
        v => {
            errors.push(format!(
                "option {key} must be one of none, auto, reload, restart, got {}",
                describe(v)
            ));
            None
        }
    }
}

/// A dictionary option; a JSON string holding a dictionary (what
/// `-a 'x={...}'` or `{{ x | to_json }}` gives) is accepted too. `what`
/// describes the expected content for the message.
pub(crate) fn dict_option(
    key: &str,
    value: Option<&Value>,
    what: &str,
    errors: &mut Vec<String>,
) -> Option<Map<String, Value>> {
    match value? {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => {
                errors.push(format!(
                    "option {key} must be a dictionary ({what}), got a string: {}",
                    super::shorten(s)
                ));
                None
            }
        },
        v => {
            errors.push(format!(
                "option {key} must be a dictionary ({what}), got {}",
                describe(v)
            ));
            None
        }
    }
}

/// What every converging module needs besides its spec.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub config_dir: PathBuf,
    pub validate: bool,
    pub backup: bool,
    pub flags: Flags,
    /// Warnings found while reading the options (e.g. a relative path).
    pub warnings: Vec<String>,
}

/// Converges `spec` with `service` and returns the module's result
/// (`invocation` is echoed as is: the module hides its own values).
pub(crate) fn run(
    module: Module,
    spec: Spec,
    service: ServiceMode,
    run: &Run,
    invocation: Value,
) -> Result<Value, String> {
    let shape = Shape {
        module,
        secrets: Secrets::of(&spec, &run.config_dir),
        sections: Sections::of(&spec, &run.config_dir),
    };
    if run.flags.check_mode {
        if let Some(result) = check_on_a_fresh_host(&shape, &spec, run, &invocation)? {
            return Ok(result);
        }
    }
    let request = ConvergeRequest {
        spec,
        config_dir: run.config_dir.clone(),
        check_mode: run.flags.check_mode,
        validate: run.validate,
        service,
        backup: run.backup,
    };
    let outcome = converge(request).map_err(|e| e.to_string())?;
    Ok(result_json(&shape, run, &outcome, invocation))
}

/// Where a table of the spec's `maps` is: its path as written when
/// absolute, else under the config dir; normalised like the plan's paths.
fn table_path(written: &str, config_dir: &Path) -> PathBuf {
    let path = Path::new(written);
    if path.is_absolute() {
        path.components().collect()
    } else {
        config_dir.join(path).components().collect()
    }
}

/// How a result is shaped: which module, which files are secret, which
/// sections to look for in the plan.
struct Shape {
    module: Module,
    secrets: Secrets,
    sections: Sections,
}

/// The files of the spec's `maps` and `aliases` sections, to tell the user
/// when the engine did not plan them: a postform that does not manage
/// tables yet accepts and loads the sections but writes nothing for them,
/// which must not pass silently. Once the engine plans them, their file
/// plans are in the plan and nothing is said.
struct Sections {
    /// Table paths as written, and as the plan would name them.
    maps: Vec<(String, PathBuf)>,
    aliases: bool,
}

impl Sections {
    fn of(spec: &Spec, config_dir: &Path) -> Sections {
        let maps = spec
            .maps
            .keys()
            .map(|p| (p.clone(), table_path(p, config_dir)))
            .collect();
        Sections {
            maps,
            aliases: !spec.aliases.is_empty(),
        }
    }

    /// A warning for each section no file plan covers.
    fn warnings(&self, plan: &Plan) -> Vec<String> {
        let planned: Vec<PathBuf> = plan
            .files
            .iter()
            .map(|f| f.path.components().collect())
            .collect();
        let mut warnings = Vec::new();
        let unplanned: Vec<&str> = self
            .maps
            .iter()
            .filter(|(_, path)| !planned.contains(path))
            .map(|(written, _)| written.as_str())
            .collect();
        if !unplanned.is_empty() {
            warnings.push(format!(
                "maps: {}: not planned: the engine could not read them, so nothing was \
                 written for them",
                unplanned.join(", ")
            ));
        }
        let other_files = plan
            .files
            .iter()
            .zip(&planned)
            .filter(|(f, path)| {
                !matches!(f.file, ManagedFile::MainCf | ManagedFile::MasterCf)
                    && !self.maps.iter().any(|(_, p)| p == *path)
            })
            .count();
        if self.aliases && other_files == 0 {
            warnings.push(
                "aliases: not planned: the engine could not read the aliases file, so \
                 nothing was written for it"
                    .into(),
            );
        }
        warnings
    }
}

/// True when `path` does not exist (nor its directory).
fn missing(path: &Path) -> bool {
    matches!(
        std::fs::metadata(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    )
}

/// Check mode on a host without main.cf (or, when the spec manages
/// services, without master.cf): typically a fresh host whose package task
/// only "would install" Postfix. Instead of failing, plan against empty
/// files and say so: the result is the normal one (`changes` are what the
/// spec sets, all `add`; `diff` from an empty file; `service_action` what
/// they need) plus `main_cf_exists: false` / `master_cf_exists: false`, a
/// warning, and a message that names the missing files. `None` when the
/// files exist. Outside check mode a missing file still fails: postform
/// edits Postfix's files, it does not create a configuration from nothing.
fn check_on_a_fresh_host(
    shape: &Shape,
    spec: &Spec,
    run: &Run,
    invocation: &Value,
) -> Result<Option<Value>, String> {
    let dir = &run.config_dir;
    let main_path = dir.join("main.cf");
    let master_path = dir.join("master.cf");
    let main_missing = missing(&main_path);
    let master_missing = !spec.master.is_empty() && missing(&master_path);
    if !main_missing && !master_missing {
        return Ok(None);
    }
    let (target, version_warnings) = crate::engine::version::choose_postfix(
        None,
        Some(spec),
        crate::engine::version::HostPostfix::Local,
    );
    let catalog = target.catalog;
    let mut live = LiveConfig::from_files(
        dir,
        empty_or_read(main_path.clone(), main_missing),
        empty_or_read(master_path.clone(), master_missing),
    );
    live.read_tables(&crate::engine::tables::wanted_tables(spec, &live, &catalog));
    let (plan, mut warnings) = match validate_and_plan(spec, &live, &catalog, run.validate) {
        Ok((plan, more)) => (plan, version_warnings.into_iter().chain(more).collect()),
        // The safety policies judge the configuration after the change;
        // with an empty file standing in for the missing one, that is not
        // what the host will have (an empty main.cf means compatibility
        // level 0, where smtpd refuses to start without relay
        // restrictions). The spec itself was validated before the
        // policies ran, so plan without them and say what they said: the
        // real run judges the real files.
        Err(CheckedPlanError::Refused(findings)) => {
            let (plan, mut warnings) =
                validate_and_plan(spec, &live, &catalog, false).map_err(|e| e.to_string())?;
            warnings.extend(
                findings
                    .iter()
                    .filter(|f| f.blocks())
                    .map(|f| format!("against the empty files, {f}; the real run checks again")),
            );
            (plan, warnings)
        }
        Err(e) => return Err(e.to_string()),
    };
    let absent: Vec<(&str, &PathBuf)> = [
        ("main.cf", &main_path, main_missing),
        ("master.cf", &master_path, master_missing),
    ]
    .into_iter()
    .filter(|(_, _, m)| *m)
    .map(|(name, path, _)| (name, path))
    .collect();
    for (name, path) in absent.iter().rev() {
        warnings.insert(
            0,
            format!(
                "{}: does not exist; check mode planned against an empty {name} (is the \
                 Postfix package only going to be installed by an earlier task?). The real run \
                 needs the file",
                path.display()
            ),
        );
    }
    let outcome = ConvergeOutcome {
        plan,
        backup_files: Vec::new(),
        service_ran: ServiceAction::None,
        service_message: "check mode: nothing written, no service action".into(),
        warnings,
    };
    let mut result = result_json(shape, run, &outcome, invocation.clone());
    let names = change_names(&outcome.plan);
    let n = names.len();
    let paths: Vec<String> = absent
        .iter()
        .map(|(_, p)| p.display().to_string())
        .collect();
    let empties: Vec<&str> = absent.iter().map(|(name, _)| *name).collect();
    let noun = noun(&outcome.plan);
    result["msg"] = Value::String(format!(
        "{} {} not exist (yet); against an empty {}, would set {n} {noun}{}{}",
        paths.join(" and "),
        if absent.len() == 1 { "does" } else { "do" },
        empties.join(" and an empty "),
        if n == 1 { "" } else { "s" },
        if n == 0 {
            String::new()
        } else {
            format!(
                ": {} (service_action={})",
                names.join(", "),
                outcome.plan.service_action
            )
        }
    ));
    if main_missing {
        result["main_cf_exists"] = Value::Bool(false);
    }
    if master_missing {
        result["master_cf_exists"] = Value::Bool(false);
    }
    Ok(Some(result))
}

/// The file at `path`, or an empty one when `missing`.
fn empty_or_read<D: Document>(path: PathBuf, missing: bool) -> LiveFile<D> {
    if missing {
        LiveFile::from_bytes(path, Some(Vec::new()))
    } else {
        LiveFile::read(path)
    }
}

/// The files whose values must never be in a result: the lookup tables the
/// spec marks secret (`secret: true`, or an entry read from `{file: ...}`
/// or `{env: ...}`), by the path the plan names them with (a relative table
/// path is under the config dir), and their index files (`PATH.db`,
/// `PATH.lmdb`, ...).
///
/// The engine does not plan tables yet; when it does, every file plan of
/// such a table gets its values hidden and no diff, exactly like a task
/// under `no_log`. If the engine later marks secret file plans itself,
/// [`Secrets::covers`] is the one place to read that mark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Secrets {
    paths: Vec<PathBuf>,
}

impl Secrets {
    pub fn of(spec: &Spec, config_dir: &Path) -> Secrets {
        let paths = spec
            .maps
            .iter()
            .filter(|(_, m)| m.as_ref().is_some_and(|m| m.secret))
            .map(|(p, _)| table_path(p, config_dir))
            .collect();
        Secrets { paths }
    }

    /// Does `file` hold (or index) a secret table?
    pub fn covers(&self, file: &FilePlan) -> bool {
        let path: PathBuf = file.path.components().collect();
        self.paths.iter().any(|secret| {
            path == *secret
                || (path.parent() == secret.parent()
                    && match (path.file_name(), secret.file_name()) {
                        (Some(f), Some(s)) => f
                            .to_string_lossy()
                            .strip_prefix(&*s.to_string_lossy())
                            .is_some_and(|rest| rest.starts_with('.')),
                        _ => false,
                    })
        })
    }
}

/// An inline spec (JSON) as it may be echoed back: the `entries` of every
/// table under `maps` that is secret (`secret: true`, or an entry that is a
/// `{file: ...}` / `{env: ...}` reference) have their values replaced by
/// Ansible's no_log marker (references stay as written: they name where
/// the secret is, not what it is), and credentials written inline in `main`
/// values and `master` `-o` values are masked as the engine masks them
/// ([`mask_credentials`]). Everything else is unchanged.
pub(crate) fn mask_secrets(spec: &Value) -> Value {
    let mut out = spec.clone();
    if let Some(Value::Object(main)) = out.get_mut("main") {
        mask_credentials(main);
    }
    if let Some(Value::Object(master)) = out.get_mut("master") {
        mask_service_credentials(master);
    }
    let Some(Value::Object(maps)) = out.get_mut("maps") else {
        return out;
    };
    for table in maps.values_mut() {
        let Value::Object(table) = table else {
            continue;
        };
        let marked = table.get("secret").and_then(to_bool) == Some(true);
        let has_reference = match table.get("entries") {
            Some(Value::Object(entries)) => entries.values().any(is_secret_reference),
            Some(Value::Array(items)) => items.iter().any(is_secret_reference),
            _ => false,
        };
        if marked || has_reference {
            if let Some(entries) = table.get_mut("entries") {
                mask_values(entries);
            }
        }
    }
    out
}

/// Masks, in place, the values of `parameters` (name -> value, as main.cf
/// parameters or `-o` options) that hold credentials inline
/// (`engine::secrets`: an `inline:{...}` or `static:...` table in a
/// `*password*` name); list items likewise.
pub(crate) fn mask_credentials(parameters: &mut Map<String, Value>) {
    for (name, value) in parameters.iter_mut() {
        let items: Vec<&mut Value> = match value {
            Value::Array(items) => items.iter_mut().collect(),
            one => vec![one],
        };
        for item in items {
            if let Value::String(s) = item {
                if secrets::holds_secret(name, s.as_bytes()) {
                    *s = secrets::mask_value(s);
                }
            }
        }
    }
}

/// [`mask_credentials`] for the `-o` options of every service of a
/// `master:` section (JSON).
pub(crate) fn mask_service_credentials(services: &mut Map<String, Value>) {
    for entry in services.values_mut() {
        if let Some(Value::Object(options)) = entry.get_mut("options") {
            mask_credentials(options);
        }
    }
}

/// `{file: ...}` or `{env: ...}`.
fn is_secret_reference(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && (m.contains_key("file") || m.contains_key("env")))
}

/// Every value under `v` (not the keys) becomes the no_log marker, except
/// secret references.
fn mask_values(v: &mut Value) {
    if is_secret_reference(v) {
        return;
    }
    match v {
        Value::Object(m) => m.values_mut().for_each(mask_values),
        Value::Array(items) => items.iter_mut().for_each(mask_values),
        Value::Null => {}
        other => *other = Value::String(NO_LOG_VALUE.into()),
    }
}

/// The result of a successful run.
fn result_json(shape: &Shape, run: &Run, outcome: &ConvergeOutcome, invocation: Value) -> Value {
    let Shape {
        module,
        secrets,
        sections,
    } = shape;
    let module = *module;
    let plan = &outcome.plan;
    let changed = plan.has_changes();
    let changes: Vec<Value> = plan
        .files
        .iter()
        .flat_map(|f| {
            let secret = secrets.covers(f);
            let hide = run.flags.no_log || secret;
            f.changes
                .iter()
                .map(move |c| change_json(f, c, hide, secret))
        })
        .collect();

    let mut warnings: Vec<String> = run.warnings.clone();
    for w in plan
        .warnings
        .iter()
        .chain(outcome.warnings.iter())
        .chain(sections.warnings(plan).iter())
    {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }

    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(changed));
    result.insert("msg".into(), Value::String(message(module, run, outcome)));
    result.insert("changes".into(), Value::Array(changes));
    result.insert(
        "service_action".into(),
        Value::String(plan.service_action.to_string()),
    );
    result.insert(
        "service_ran".into(),
        Value::String(outcome.service_ran.to_string()),
    );
    if !outcome.service_message.is_empty() {
        result.insert(
            "service_message".into(),
            Value::String(outcome.service_message.clone()),
        );
    }
    let path_of = |which: ManagedFile| {
        Value::String(
            plan.file(which)
                .map(|f| f.path.clone())
                .unwrap_or_else(|| run.config_dir.join(which.to_string()))
                .to_string_lossy()
                .into_owned(),
        )
    };
    let backup = |files: &[PathBuf]| {
        files
            .first()
            .map(|b| Value::String(b.to_string_lossy().into_owned()))
    };
    match module {
        Module::MainCf => {
            result.insert("main_cf".into(), path_of(ManagedFile::MainCf));
            if let Some(b) = backup(&outcome.backup_files) {
                result.insert("backup_file".into(), b);
            }
        }
        Module::MasterCf => {
            result.insert("master_cf".into(), path_of(ManagedFile::MasterCf));
            if let Some(b) = backup(&outcome.backup_files) {
                result.insert("backup_file".into(), b);
            }
        }
        Module::Config => {
            let files: Vec<Value> = plan
                .files
                .iter()
                .map(|f| {
                    let mut v = json!({
                        "file": f.file.to_string(),
                        "path": f.path.to_string_lossy(),
                        "changed": f.has_changes(),
                    });
                    if secrets.covers(f) {
                        v["secret"] = Value::Bool(true);
                    }
                    v
                })
                .collect();
            result.insert("files".into(), Value::Array(files));
            if !outcome.backup_files.is_empty() {
                result.insert(
                    "backup_files".into(),
                    outcome
                        .backup_files
                        .iter()
                        .map(|b| Value::String(b.to_string_lossy().into_owned()))
                        .collect(),
                );
            }
        }
    }
    // The key of the pending-action fact the action plugin keeps.
    result.insert(
        "config_dir".into(),
        Value::String(run.config_dir.to_string_lossy().into_owned()),
    );
    if run.flags.diff && changed && !run.flags.no_log {
        if let Some(diff) = diff_json(plan, secrets) {
            result.insert("diff".into(), diff);
        }
    }
    if !warnings.is_empty() {
        result.insert(
            "warnings".into(),
            Value::Array(warnings.into_iter().map(Value::String).collect()),
        );
    }
    result.insert("invocation".into(), invocation);
    Value::Object(result)
}

/// One change: `file`, `name` (what it is about, as the CLI prints it),
/// `resource` and its keys (`service`; `field`; `option` for a `-o`
/// option's name), `kind`, `before`, `after`, `action`. Values are
/// replaced by Ansible's no_log marker when `hide` (no_log, or a secret
/// table); a change of a secret table says `secret: true`.
fn change_json(file: &FilePlan, c: &Change, hide: bool, secret: bool) -> Value {
    let value = |s: &Option<String>| -> Value {
        match s {
            None => Value::Null,
            Some(_) if hide => Value::String(NO_LOG_VALUE.into()),
            Some(s) => Value::String(s.clone()),
        }
    };
    let mut out = Map::new();
    out.insert("file".into(), Value::String(file.file.to_string()));
    out.insert("name".into(), Value::String(c.target.to_string()));
    // The target's own keys (`resource`, `service`, `field`, ...): generic,
    // so that resources the engine adds later are described too. A
    // sub-resource's own `name` (a `-o` option's) goes under its resource
    // (`option`), since `name` is the whole display name.
    if let Ok(Value::Object(target)) = serde_json::to_value(&c.target) {
        let resource = target
            .get("resource")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for (k, v) in target {
            if k == "name" {
                if resource != "parameter" && !resource.is_empty() {
                    out.insert(resource.clone(), v);
                }
            } else {
                out.insert(k, v);
            }
        }
    }
    out.insert(
        "kind".into(),
        serde_json::to_value(c.kind).unwrap_or(Value::Null),
    );
    out.insert("before".into(), value(&c.before));
    out.insert("after".into(), value(&c.after));
    out.insert("action".into(), Value::String(c.action.to_string()));
    if secret {
        out.insert("secret".into(), Value::Bool(true));
    }
    Value::Object(out)
}

/// Ansible's diff format, one per changed file (a list when there are
/// several); the files may hold non-UTF-8 bytes, so the texts are
/// converted lossily (the JSON must be valid UTF-8). A secret table has no
/// diff; `None` when nothing is left.
fn diff_json(plan: &Plan, secrets: &Secrets) -> Option<Value> {
    let diffs: Vec<Value> = plan
        .changed_files()
        .filter(|f| !secrets.covers(f))
        .map(|f| {
            let file = f.path.to_string_lossy();
            json!({
                "before": shown_text(f, &f.before),
                "after": shown_text(f, &f.after),
                "before_header": file,
                "after_header": file,
            })
        })
        .collect();
    match <[Value; 1]>::try_from(diffs) {
        Ok([one]) => Some(one),
        Err(many) if many.is_empty() => None,
        Err(many) => Some(Value::Array(many)),
    }
}

/// A file's text for the diff: credentials written inline (an
/// `inline:`/`static:` table in a `*_password_maps` parameter or `-o`
/// option) masked line for line, as the CLI's diff does
/// (`engine::secrets`); lossy UTF-8.
fn shown_text(f: &FilePlan, bytes: &[u8]) -> String {
    let masked = f.masked(bytes);
    String::from_utf8_lossy(masked.as_deref().unwrap_or(bytes)).into_owned()
}

/// `target (action)` for every change, in plan order.
fn change_names(plan: &Plan) -> Vec<String> {
    plan.changes()
        .map(|c| format!("{} ({})", c.target, c.action))
        .collect()
}

/// "parameter" when every change is a main.cf parameter, else "setting".
fn noun(plan: &Plan) -> &'static str {
    if plan.changes().all(|c| c.target.parameter().is_some()) {
        "parameter"
    } else {
        "setting"
    }
}

fn message(module: Module, run: &Run, outcome: &ConvergeOutcome) -> String {
    let plan = &outcome.plan;
    if !plan.has_changes() {
        let files: Vec<String> = plan
            .files
            .iter()
            .filter(|f| module != Module::MasterCf || f.file == ManagedFile::MasterCf)
            .map(|f| f.path.display().to_string())
            .collect();
        let verb = if files.len() == 1 { "is" } else { "are" };
        return format!(
            "{} {verb} already in the desired state",
            files.join(" and ")
        );
    }
    let files: Vec<String> = plan
        .changed_files()
        .map(|f| f.path.display().to_string())
        .collect();
    let names = change_names(plan);
    let n = names.len();
    let verb = if run.flags.check_mode {
        "would change"
    } else {
        "changed"
    };
    let s = if n == 1 { "" } else { "s" };
    let mut msg = format!(
        "{verb} {n} {}{s} in {}: {}",
        noun(plan),
        files.join(" and "),
        names.join(", ")
    );
    match plan.service_action {
        ServiceAction::None => msg.push_str("; Postfix needs no reload or restart"),
        needed => {
            if outcome.service_ran == ServiceAction::None {
                msg.push_str(&format!(
                    "; Postfix needs a {needed} (service_action={needed})"
                ));
            }
        }
    }
    if !outcome.service_message.is_empty() && outcome.service_ran != ServiceAction::None {
        msg.push_str("; ");
        msg.push_str(&outcome.service_message);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_file(file: ManagedFile, path: &str) -> FilePlan {
        FilePlan {
            file,
            path: PathBuf::from(path),
            before: Vec::new(),
            after: Vec::new(),
            changes: Vec::new(),
            line_origin: None,
            table: None,
        }
    }

    #[test]
    fn secret_tables_are_found_by_path_and_index() {
        let spec = Spec::from_json(
            &json!({
                "maps": {
                    "sasl_passwd": {"type": "hash", "secret": true, "entries": {"[relay]:587": "u:p"}},
                    "/etc/postfix/transport": {"type": "hash", "entries": {"example.com": "smtp:[relay]"}},
                }
            }),
            "test",
        )
        .unwrap();
        let s = Secrets::of(&spec, Path::new("/etc/postfix"));
        assert!(s.covers(&plan_file(ManagedFile::MainCf, "/etc/postfix/sasl_passwd")));
        assert!(s.covers(&plan_file(
            ManagedFile::MainCf,
            "/etc/postfix/sasl_passwd.db"
        )));
        assert!(s.covers(&plan_file(ManagedFile::MainCf, "/etc/postfix//sasl_passwd")));
        assert!(!s.covers(&plan_file(ManagedFile::MainCf, "/etc/postfix/sasl_passwd2")));
        assert!(!s.covers(&plan_file(ManagedFile::MainCf, "/etc/postfix/transport")));
        assert!(!s.covers(&plan_file(ManagedFile::MainCf, "/etc/postfix/main.cf")));
    }

    #[test]
    fn secret_tables_are_masked_in_an_echoed_spec() {
        let spec = json!({
            "main": {
                "relayhost": "[relay]:587",
                "smtp_sasl_password_maps": "inline:{ [relay]:587=alice:Inline1 }",
            },
            "master": {"relay/unix": {"options": {"smtp_sasl_password_maps": "static:bob:Inline2"}}},
            "maps": {
                "sasl_passwd": {"type": "hash", "secret": true, "entries": {"[relay]:587": "user:S3cret"}},
                "by_ref": {"type": "hash", "entries": {"a": {"env": "PW"}, "b": "Plain2"}},
                "transport": {"type": "hash", "entries": {"example.com": "smtp:[relay]"}},
            }
        });
        let masked = mask_secrets(&spec);
        let text = masked.to_string();
        assert!(
            !text.contains("S3cret") && !text.contains("Plain2"),
            "{text}"
        );
        assert_eq!(
            masked["maps"]["sasl_passwd"]["entries"]["[relay]:587"],
            json!(NO_LOG_VALUE)
        );
        assert_eq!(
            masked["maps"]["by_ref"]["entries"]["a"],
            json!({"env": "PW"})
        );
        assert_eq!(masked["maps"]["transport"], spec["maps"]["transport"]);
        assert_eq!(masked["main"]["relayhost"], spec["main"]["relayhost"]);
    }

    #[test]
    fn unknown_options_suggest_and_list() {
        let args = json!({"confg_dir": 1, "zzzzzzzzzzz": 2, "_ansible_x": 3});
        let e = unknown_options(args.as_object().unwrap(), &["config_dir", "spec"], "").unwrap();
        assert_eq!(
            e,
            "unsupported options confg_dir, zzzzzzzzzzz (did you mean: confg_dir -> \
             config_dir?); valid options are: config_dir, spec"
        );
        let ok = json!({"spec": 1, "_ansible_diff": true});
        assert!(unknown_options(ok.as_object().unwrap(), &["spec"], "").is_none());
    }

    #[test]
    fn option_changes_name_the_option_under_option() {
        use crate::engine::plan::{ChangeKind, Target};
        let f = plan_file(ManagedFile::MasterCf, "/x/master.cf");
        let c = Change {
            target: Target::Option {
                service: "submission/inet".into(),
                name: "syslog_name".into(),
            },
            kind: ChangeKind::Add,
            before: None,
            after: Some("postfix/submission".into()),
            default: None,
            action: ServiceAction::Reload,
            line: None,
            removed_duplicates: 0,
        };
        assert_eq!(
            change_json(&f, &c, false, false),
            json!({
                "file": "master.cf",
                "name": "submission/inet -o syslog_name",
                "resource": "option",
                "service": "submission/inet",
                "option": "syslog_name",
                "kind": "add",
                "before": null,
                "after": "postfix/submission",
                "action": "reload",
            })
        );
        let hidden = change_json(&f, &c, true, false);
        assert_eq!(hidden["after"], json!(NO_LOG_VALUE));
        assert!(
            hidden.get("secret").is_none(),
            "no_log is not a secret table"
        );
        let secret = change_json(&f, &c, true, true);
        assert_eq!(secret["after"], json!(NO_LOG_VALUE));
        assert_eq!(secret["secret"], json!(true));
    }
}
