//! Ansible binary-module mode: one args file in, one JSON object out.
//!
//! The same `postform` executable is the module `postform.postfix.main_cf`.
//! Ansible copies it to the target as `AnsiballZ_main_cf_linux_<arch>` (the
//! collection's action plugin picks the file by architecture), writes the
//! task's options as a flat JSON object into an `args` file beside it and
//! runs `<module> <args-file>`. The module prints exactly one JSON object on
//! stdout; `failed: true` fails the task (the exit code is ignored by
//! Ansible). See `ansible/README.md` and `docs/ansible.md`.
//!
//! Options (all optional except that `parameters` or `spec` must be given):
//!
//! | option       | type                     | default        |
//! |--------------|--------------------------|----------------|
//! | `parameters` | dict name -> value/null  | -              |
//! | `spec`       | path on the target, or inline spec object | - |
//! | `config_dir` | path                     | `/etc/postfix` |
//! | `purge`      | bool                     | the spec's, else false |
//! | `validate`   | bool                     | true           |
//! | `service`    | none/auto/reload/restart or {reload, restart} | the spec's, else `none` |
//! | `backup`     | bool                     | false          |
//!
//! `spec` and `parameters` combine: the spec is loaded first and each entry
//! of `parameters` then overrides (or adds) that parameter, like one more
//! spec layer on top.

pub mod service_action;

use crate::catalog::Catalog;
use crate::engine::converge::validate_and_plan;
use crate::engine::converge::{converge, ConvergeOutcome, ConvergeRequest};
use crate::engine::live::{LiveConfig, LiveFile};
use crate::engine::plan::{ManagedFile, Plan};
use crate::engine::service::{ServiceAction, ServiceMode};
use crate::engine::spec::Spec;
use serde_json::{json, Map, Value};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The module's user options, in the order the error message lists them.
pub const OPTIONS: &[&str] = &[
    "parameters",
    "spec",
    "config_dir",
    "purge",
    "validate",
    "service",
    "backup",
];

/// Default Postfix configuration directory (like `postconf`).
pub const DEFAULT_CONFIG_DIR: &str = "/etc/postfix";

/// What Ansible substitutes for values hidden by `no_log`.
const NO_LOG_VALUE: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";

/// True when the process was started as an Ansible binary module: the
/// executable's file name starts with `AnsiballZ_` (how Ansible names the
/// copy it runs) or is `main_cf` / `main_cf_linux_<arch>` (the file in the
/// collection), and exactly one argument (the args file) follows.
/// An argument that starts with `-` is an option, never Ansible's args file
/// (an absolute path): `main_cf_linux_x86_64 --version` is the CLI's.
///
/// `argv0` is the program path (`argv[0]`), `args` the arguments after it.
pub fn is_module_invocation(argv0: &str, args: &[String]) -> bool {
    if args.len() != 1 || args[0].starts_with('-') {
        return false;
    }
    let file = Path::new(argv0)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.starts_with("AnsiballZ_") || file == "main_cf" || file.starts_with("main_cf_linux_")
}

/// Runs the module for the args file at `args_path` and prints the result
/// as one JSON line on stdout. Returns the process exit code (0 on success,
/// 1 when the task failed).
pub fn module_main(args_path: &Path) -> i32 {
    let (result, code) = run_module(args_path);
    // Value's Display is compact JSON; strings in it are valid UTF-8.
    println!("{result}");
    code
}

/// Runs the module for the args file at `args_path`. Returns the one JSON
/// object to print on stdout and the exit code. Never panics: a panic in the
/// engine becomes a `failed` result. Never reads stdin.
pub fn run_module(args_path: &Path) -> (Value, i32) {
    let raw = match std::fs::read(args_path) {
        Ok(b) => b,
        Err(e) => {
            return failure(format!(
                "postform module: cannot read the arguments file {}: {e}",
                args_path.display()
            ))
        }
    };
    let args: Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(e) => {
            return failure(format!(
                "postform module: the arguments file {} is not JSON ({e}); \
                 run postform through the postform.postfix.main_cf action plugin",
                args_path.display()
            ))
        }
    };
    let Value::Object(args) = args else {
        return failure(
            "postform module: the arguments file must hold one JSON object".to_string(),
        );
    };
    run_module_args(&args)
}

/// Like [`run_module`], for arguments already parsed. The same binary is
/// two modules; `_ansible_module_name` (sent by every ansible-core since
/// 2.x) says which: [`service_action::MODULE_NAME`] runs the pending service
/// actions, anything else (or nothing) is `postform.postfix.main_cf`.
pub fn run_module_args(args: &Map<String, Value>) -> (Value, i32) {
    if args.get("_ansible_module_name").and_then(Value::as_str) == Some(service_action::MODULE_NAME)
    {
        return match catch_panic(|| service_action::run_args(args)) {
            Ok(r) => r,
            Err(panic_msg) => failure(format!(
                "postform module crashed (this is a bug, please report it): {panic_msg}"
            )),
        };
    }
    let opts = match ModuleOptions::parse(args) {
        Ok(o) => o,
        Err(msg) => return failure(msg),
    };
    let outcome = catch_panic(|| execute(&opts));
    match outcome {
        Ok(Ok(result)) => (result, 0),
        Ok(Err(msg)) => {
            let (mut v, code) = failure(msg);
            v["invocation"] = opts.invocation();
            (v, code)
        }
        Err(panic_msg) => failure(format!(
            "postform module crashed (this is a bug, please report it): {panic_msg}"
        )),
    }
}

fn failure(msg: String) -> (Value, i32) {
    (json!({"failed": true, "changed": false, "msg": msg}), 1)
}

/// The last panic's message and location, recorded by the hook installed
/// in [`catch_panic`].
static PANIC_INFO: Mutex<Option<String>> = Mutex::new(None);

/// Runs `f`, turning a panic into `Err(message)`. The default hook (which
/// prints to stderr) is replaced for the duration so the message with its
/// location ends up in the JSON result instead.
fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        if let Ok(mut slot) = PANIC_INFO.lock() {
            *slot = Some(info.to_string());
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    result.map_err(|payload| {
        let recorded = PANIC_INFO.lock().ok().and_then(|mut s| s.take());
        recorded.unwrap_or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-text payload".to_string())
        })
    })
}

/// Where the desired state comes from.
#[derive(Debug, Clone, PartialEq)]
enum SpecSource {
    /// A spec file on the target.
    Path(String),
    /// An inline spec object (full or short form).
    Inline(Value),
}

/// The module's options after type checking.
#[derive(Debug, Clone, PartialEq)]
struct ModuleOptions {
    parameters: Option<Map<String, Value>>,
    spec: Option<SpecSource>,
    config_dir: PathBuf,
    /// `None`: not given (the spec's value, else false).
    purge: Option<bool>,
    validate: bool,
    /// `None`: not given (the spec's value, else `none`).
    service: Option<ServiceMode>,
    backup: bool,
    check_mode: bool,
    diff: bool,
    no_log: bool,
    /// Warnings found while reading options (e.g. a relative path).
    warnings: Vec<String>,
}

impl ModuleOptions {
    /// Type-checks the flat args object Ansible wrote. Collects every
    /// problem and reports them together.
    fn parse(args: &Map<String, Value>) -> Result<ModuleOptions, String> {
        let mut errors: Vec<String> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        // Internal keys first: they decide how strict the rest is.
        let internal_bool = |key: &str, errors: &mut Vec<String>| -> bool {
            match args.get(key) {
                None | Some(Value::Null) => false,
                Some(v) => match to_bool(v) {
                    Some(b) => b,
                    None => {
                        errors.push(format!(
                            "internal option {key} must be a boolean, got {}",
                            describe(v)
                        ));
                        false
                    }
                },
            }
        };
        let check_mode = internal_bool("_ansible_check_mode", &mut errors);
        let diff = internal_bool("_ansible_diff", &mut errors);
        let no_log = internal_bool("_ansible_no_log", &mut errors);
        let ignore_unknown = internal_bool("_ansible_ignore_unknown_opts", &mut errors);

        if !ignore_unknown {
            let mut unknown: Vec<&str> = args
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("_ansible_") && !OPTIONS.contains(k))
                .collect();
            unknown.sort_unstable();
            if !unknown.is_empty() {
                let list = unknown.join(", ");
                let hint = unknown
                    .iter()
                    .filter_map(|u| closest_option(u).map(|c| format!("{u} -> {c}?")))
                    .collect::<Vec<_>>();
                let hint = if hint.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean: {})", hint.join(", "))
                };
                errors.push(format!(
                    "unsupported option{} {list}{hint}; valid options are: {}. \
                     Postfix parameters go under `parameters:`",
                    if unknown.len() == 1 { "" } else { "s" },
                    OPTIONS.join(", ")
                ));
            }
        }

        let given = |key: &str| args.get(key).filter(|v| !v.is_null());

        let parameters = match given("parameters") {
            None => None,
            Some(Value::Object(m)) => Some(m.clone()),
            // A dict templated into a string (e.g. `{{ x | to_json }}`).
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => Some(m),
                _ => {
                    errors.push(format!(
                        "option parameters must be a dictionary of Postfix parameters \
                         (name: value), got a string: {}",
                        shorten(s)
                    ));
                    None
                }
            },
            Some(v) => {
                errors.push(format!(
                    "option parameters must be a dictionary of Postfix parameters \
                     (name: value), got {}",
                    describe(v)
                ));
                None
            }
        };
        if let Some(params) = &parameters {
            for (name, value) in params {
                if let Some(problem) = check_parameter_value(value) {
                    errors.push(format!("option parameters: {name}: {problem}"));
                }
            }
        }

        let spec = match given("spec") {
            None => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(
                    "option spec is an empty string: give a spec file path or an inline spec"
                        .into(),
                );
                None
            }
            Some(Value::String(s)) => {
                if !expand_tilde(s).is_absolute() {
                    warnings.push(format!(
                        "spec path {s:?} is relative; it is resolved on the target against the \
                         module's working directory. Use an absolute path"
                    ));
                }
                Some(SpecSource::Path(s.clone()))
            }
            Some(v @ Value::Object(_)) => Some(SpecSource::Inline(v.clone())),
            Some(v) => {
                errors.push(format!(
                    "option spec must be a path to a spec file on the target or an inline \
                     spec (a dictionary), got {}",
                    describe(v)
                ));
                None
            }
        };
        if parameters.is_none() && spec.is_none() && errors.is_empty() {
            errors.push(
                "one of the options parameters or spec is required: parameters is a \
                 dictionary such as {inet_protocols: ipv4}; spec is a spec file path on the \
                 target or an inline spec"
                    .into(),
            );
        }

        let config_dir = match given("config_dir") {
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
        };

        let mut bool_opt = |key: &str| -> Option<bool> {
            let v = given(key)?;
            let b = to_bool(v);
            if b.is_none() {
                errors.push(format!(
                    "option {key} must be a boolean (true/false, yes/no), got {}",
                    describe(v)
                ));
            }
            b
        };
        let purge = bool_opt("purge");
        let validate = bool_opt("validate").unwrap_or(true);
        let backup = bool_opt("backup").unwrap_or(false);

        let service = match given("service") {
            None => None,
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().parse::<ServiceMode>() {
                Ok(m) => Some(m),
                Err(_) => {
                    errors.push(format!(
                        "option service must be one of none, auto, reload, restart (or a \
                         dictionary of reload/restart commands), got {s:?}"
                    ));
                    None
                }
            },
            Some(Value::Object(m)) => match service_commands(m) {
                Ok(mode) => Some(mode),
                Err(e) => {
                    errors.push(format!("option service: {e}"));
                    None
                }
            },
            Some(v) => {
                errors.push(format!(
                    "option service must be one of none, auto, reload, restart, got {}",
                    describe(v)
                ));
                None
            }
        };

        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(ModuleOptions {
            parameters,
            spec,
            config_dir,
            purge,
            validate,
            service,
            backup,
            check_mode,
            diff,
            no_log,
            warnings,
        })
    }

    /// The options echoed back as `invocation.module_args` (shown at
    /// `-vvv`), with parameter values hidden under `no_log`.
    fn invocation(&self) -> Value {
        let hide = |v: &Value| {
            if self.no_log {
                Value::String(NO_LOG_VALUE.into())
            } else {
                v.clone()
            }
        };
        let parameters = self
            .parameters
            .as_ref()
            .map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), hide(v))).collect()));
        let spec = match &self.spec {
            None => Value::Null,
            Some(SpecSource::Path(p)) => Value::String(p.clone()),
            Some(SpecSource::Inline(v)) => hide(v),
        };
        let service = match &self.service {
            None => Value::Null,
            Some(mode) => service_mode_json(mode),
        };
        json!({
            "module_args": {
                "parameters": parameters,
                "spec": spec,
                "config_dir": self.config_dir.to_string_lossy(),
                "purge": self.purge,
                "validate": self.validate,
                "service": service,
                "backup": self.backup,
            }
        })
    }

    /// The desired state: the spec (if any) with `parameters` on top.
    fn build_spec(&self) -> Result<Spec, String> {
        let mut spec = match &self.spec {
            None => Spec::default(),
            Some(SpecSource::Path(p)) => Spec::load(&expand_tilde(p)).map_err(|e| e.to_string())?,
            Some(SpecSource::Inline(v)) => {
                Spec::from_json(v, "spec option").map_err(|e| e.to_string())?
            }
        };
        if let Some(params) = &self.parameters {
            // Always the full form, so a parameter that happens to be named
            // like a section key cannot change the meaning.
            let layer = Spec::from_json(&json!({ "main": params }), "parameters option")
                .map_err(|e| e.to_string())?;
            for (name, value) in &layer.main {
                spec.set(name, value.clone(), layer.location_of(name));
            }
        }
        if let Some(purge) = self.purge {
            spec.purge = purge;
        }
        Ok(spec)
    }
}

/// Ansible's boolean conversion (`AnsibleModule` type `bool`).
fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "t" | "y" => Some(true),
            "no" | "off" | "0" | "false" | "f" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A path option as the target's user means it: `~` and `~/x` are under
/// `$HOME`, `~user/x` under that user's home directory from /etc/passwd
/// (like Python's `os.path.expanduser`, which `AnsibleModule` applies to
/// `type: path` options), and the result is normalised (`/etc/postfix/`
/// and `/etc/postfix` are the same directory, so the same pending-action
/// key). A `~user` that does not exist is left as written.
pub fn expand_tilde(s: &str) -> PathBuf {
    let expanded = match s.strip_prefix('~') {
        None => PathBuf::from(s),
        Some(rest) => {
            let (user, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], rest[i + 1..].trim_start_matches('/')),
                None => (rest, ""),
            };
            let home = if user.is_empty() {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(PathBuf::from)
            } else {
                home_of(user)
            };
            match home {
                Some(h) if tail.is_empty() => h,
                Some(h) => h.join(tail),
                None => PathBuf::from(s),
            }
        }
    };
    expanded.components().collect()
}

/// The home directory of `user` in /etc/passwd.
fn home_of(user: &str) -> Option<PathBuf> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[0] == user && !fields[5].is_empty())
            .then(|| PathBuf::from(fields[5]))
    })
}

/// A short description of a JSON value's type for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {:?}", shorten(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a dictionary".into(),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(MAX).collect::<String>())
    }
}

/// Problems Ansible's YAML typing causes that the spec layer cannot
/// explain well: a float (`compatibility_level: 3.10` arrives as 3.1).
fn check_parameter_value(v: &Value) -> Option<String> {
    let is_float = |v: &Value| matches!(v, Value::Number(n) if n.as_i64().is_none());
    if is_float(v) {
        return Some(format!(
            "the value arrived as the number {v}: YAML read it as a fraction (3.10 becomes \
             3.1); quote it, e.g. '{v}'"
        ));
    }
    if let Value::Array(items) = v {
        if let Some(f) = items.iter().find(|i| is_float(i)) {
            return Some(format!(
                "the list item {f} arrived as a fractional number; quote it"
            ));
        }
    }
    None
}

fn service_commands(m: &Map<String, Value>) -> Result<ServiceMode, String> {
    let mut reload = Vec::new();
    let mut restart = Vec::new();
    for (k, v) in m {
        let target = match k.as_str() {
            "reload" => &mut reload,
            "restart" => &mut restart,
            other => {
                return Err(format!(
                "unknown key {other:?}: a service dictionary has reload and restart (argv lists)"
            ))
            }
        };
        let Value::Array(items) = v else {
            return Err(format!(
                "{k} must be a list of arguments (argv, run without a shell)"
            ));
        };
        for item in items {
            match item {
                Value::String(s) => target.push(s.clone()),
                other => {
                    return Err(format!(
                        "{k} items must be strings, got {}",
                        describe(other)
                    ))
                }
            }
        }
    }
    if reload.is_empty() && restart.is_empty() {
        return Err("give at least one of reload or restart".into());
    }
    Ok(ServiceMode::Command { reload, restart })
}

/// A service mode as the `service` option and spec key write it.
pub fn service_mode_json(mode: &ServiceMode) -> Value {
    match mode {
        ServiceMode::None => "none".into(),
        ServiceMode::Auto => "auto".into(),
        ServiceMode::Reload => "reload".into(),
        ServiceMode::Restart => "restart".into(),
        ServiceMode::Command { reload, restart } => json!({"reload": reload, "restart": restart}),
    }
}

/// The option closest to a misspelt one (edit distance <= 3).
fn closest_option(name: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .map(|o| (levenshtein(name, o), *o))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, o)| o)
}

fn levenshtein(a: &str, b: &str) -> usize {
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

/// Loads the spec, converges, and shapes the result.
fn execute(opts: &ModuleOptions) -> Result<Value, String> {
    let spec = opts.build_spec()?;
    if opts.check_mode && main_cf_missing(&opts.config_dir) {
        return check_without_main_cf(opts, &spec);
    }
    let service = opts
        .service
        .clone()
        .or_else(|| spec.service.clone())
        .unwrap_or(ServiceMode::None);
    let request = ConvergeRequest {
        spec,
        config_dir: opts.config_dir.clone(),
        check_mode: opts.check_mode,
        validate: opts.validate,
        service,
        backup: opts.backup,
    };
    let outcome = converge(request).map_err(|e| e.to_string())?;
    Ok(result_json(opts, &outcome))
}

/// True when `DIR/main.cf` does not exist (nor `DIR` itself).
fn main_cf_missing(config_dir: &Path) -> bool {
    matches!(
        std::fs::metadata(config_dir.join("main.cf")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    )
}

/// Check mode on a host without main.cf, typically a fresh host whose
/// package task only "would install" Postfix: instead of failing, plan
/// against an empty main.cf and say so. The result is the normal one
/// (`changes` are the parameters the spec sets, all `add`; `diff` from an
/// empty file; `service_action` what they need) plus `main_cf_exists:
/// false`, a warning, and a message that names the missing file. Outside
/// check mode a missing main.cf still fails: postform edits Postfix's
/// file, it does not create a configuration from nothing.
fn check_without_main_cf(opts: &ModuleOptions, spec: &Spec) -> Result<Value, String> {
    let catalog = Catalog::host();
    let dir = &opts.config_dir;
    let path = dir.join("main.cf");
    let live = LiveConfig::from_files(
        dir,
        LiveFile::from_bytes(path.clone(), Some(Vec::new())),
        LiveFile::read(dir.join("master.cf")),
    );
    let (plan, mut warnings) =
        validate_and_plan(spec, &live, &catalog, opts.validate).map_err(|e| e.to_string())?;
    warnings.insert(
        0,
        format!(
            "{}: does not exist; check mode planned against an empty main.cf (is the Postfix \
             package only going to be installed by an earlier task?). The real run needs the file",
            path.display()
        ),
    );
    let outcome = ConvergeOutcome {
        plan,
        written: Vec::new(),
        backup_files: Vec::new(),
        service_ran: ServiceAction::None,
        service_message: "check mode: nothing written, no service action".into(),
        warnings,
    };
    let mut result = result_json(opts, &outcome);
    let names: Vec<String> = outcome
        .plan
        .changes()
        .map(|c| format!("{} ({})", c.target, c.action))
        .collect();
    let n = names.len();
    result["msg"] = Value::String(format!(
        "{} does not exist (yet); against an empty main.cf, would set {n} parameter{}{}",
        path.display(),
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
    result["main_cf_exists"] = Value::Bool(false);
    Ok(result)
}

fn result_json(opts: &ModuleOptions, outcome: &ConvergeOutcome) -> Value {
    let plan = &outcome.plan;
    let changed = plan.has_changes();
    let hide = |s: &Option<String>| -> Value {
        match s {
            None => Value::Null,
            Some(_) if opts.no_log => Value::String(NO_LOG_VALUE.into()),
            Some(s) => Value::String(s.clone()),
        }
    };
    let changes: Vec<Value> = plan
        .files
        .iter()
        .flat_map(|f| f.changes.iter().map(move |c| (f.file, c)))
        .map(|(file, c)| {
            json!({
                "file": file.to_string(),
                "name": c.target.to_string(),
                "kind": serde_json::to_value(c.kind).unwrap_or(Value::Null),
                "before": hide(&c.before),
                "after": hide(&c.after),
                "action": c.action.to_string(),
            })
        })
        .collect();

    let mut warnings: Vec<String> = opts.warnings.clone();
    for w in plan.warnings.iter().chain(outcome.warnings.iter()) {
        if !warnings.contains(w) {
            warnings.push(w.clone());
        }
    }

    let mut result = Map::new();
    result.insert("changed".into(), Value::Bool(changed));
    result.insert("msg".into(), Value::String(message(opts, outcome)));
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
    if let Some(main) = plan.file(ManagedFile::MainCf) {
        result.insert(
            "main_cf".into(),
            Value::String(main.path.to_string_lossy().into_owned()),
        );
    }
    // The key of the pending-action fact the action plugin keeps.
    result.insert(
        "config_dir".into(),
        Value::String(opts.config_dir.to_string_lossy().into_owned()),
    );
    if let Some(b) = outcome.backup_files.first() {
        result.insert(
            "backup_file".into(),
            Value::String(b.to_string_lossy().into_owned()),
        );
    }
    if opts.diff && changed && !opts.no_log {
        result.insert("diff".into(), diff_json(plan));
    }
    if !warnings.is_empty() {
        result.insert(
            "warnings".into(),
            Value::Array(warnings.into_iter().map(Value::String).collect()),
        );
    }
    result.insert("invocation".into(), opts.invocation());
    Value::Object(result)
}

/// Ansible's diff format, one per changed file (a list when there are
/// several); the files may hold non-UTF-8 bytes, so the texts are
/// converted lossily (the JSON must be valid UTF-8).
fn diff_json(plan: &Plan) -> Value {
    let diffs: Vec<Value> = plan
        .changed_files()
        .map(|f| {
            let file = f.path.to_string_lossy();
            json!({
                "before": String::from_utf8_lossy(&f.before),
                "after": String::from_utf8_lossy(&f.after),
                "before_header": file,
                "after_header": file,
            })
        })
        .collect();
    match <[Value; 1]>::try_from(diffs) {
        Ok([one]) => one,
        Err(many) => Value::Array(many),
    }
}

fn message(opts: &ModuleOptions, outcome: &ConvergeOutcome) -> String {
    let plan = &outcome.plan;
    let files: Vec<String> = plan
        .files
        .iter()
        .filter(|f| !plan.has_changes() || f.has_changes())
        .map(|f| f.path.display().to_string())
        .collect();
    let file = files.join(" and ");
    if !plan.has_changes() {
        return format!("{file} is already in the desired state");
    }
    let names: Vec<String> = plan
        .changes()
        .map(|c| format!("{} ({})", c.target, c.action))
        .collect();
    let n = names.len();
    let verb = if opts.check_mode {
        "would change"
    } else {
        "changed"
    };
    let s = if n == 1 { "" } else { "s" };
    let what = if plan.file(ManagedFile::MasterCf).is_some() {
        "setting"
    } else {
        "parameter"
    };
    let mut msg = format!("{verb} {n} {what}{s} in {file}: {}", names.join(", "));
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

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn parse(v: Value) -> Result<ModuleOptions, String> {
        ModuleOptions::parse(&obj(v))
    }

    #[test]
    fn detects_module_invocation() {
        let one = vec!["/tmp/x/args".to_string()];
        assert!(is_module_invocation(
            "/tmp/ansible-tmp-1/AnsiballZ_main_cf_linux_x86_64",
            &one
        ));
        assert!(is_module_invocation("AnsiballZ_main_cf", &one));
        assert!(is_module_invocation("./main_cf", &one));
        assert!(is_module_invocation(
            "/c/files/bin/main_cf_linux_aarch64",
            &one
        ));
        assert!(!is_module_invocation("/usr/bin/postform", &one));
        assert!(!is_module_invocation("main_cf_helper", &one));
        assert!(!is_module_invocation("AnsiballZ_main_cf", &[]));
        let two = vec!["a".to_string(), "b".to_string()];
        assert!(!is_module_invocation("AnsiballZ_main_cf", &two));
        // Review finding #15: the shipped file must answer --version.
        for option in ["--version", "-V", "--help", "-h"] {
            let one = vec![option.to_string()];
            assert!(!is_module_invocation(
                "/c/files/bin/main_cf_linux_x86_64",
                &one
            ));
            assert!(!is_module_invocation("AnsiballZ_main_cf", &one));
        }
    }

    #[test]
    fn defaults() {
        let o = parse(json!({"parameters": {"inet_protocols": "ipv4"}})).unwrap();
        assert_eq!(o.config_dir, PathBuf::from("/etc/postfix"));
        assert_eq!(o.purge, None);
        assert!(o.validate);
        assert_eq!(o.service, None);
        assert!(!o.backup && !o.check_mode && !o.diff && !o.no_log);
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn internal_keys_and_unknown_internal_keys() {
        let o = parse(json!({
            "parameters": {"biff": false},
            "_ansible_check_mode": true,
            "_ansible_diff": true,
            "_ansible_no_log": false,
            "_ansible_verbosity": 3,
            "_ansible_some_future_key": {"x": 1},
        }))
        .unwrap();
        assert!(o.check_mode && o.diff && !o.no_log);
    }

    #[test]
    fn unknown_option_lists_valid_ones() {
        let e = parse(json!({"parameters": {}, "confg_dir": "/x"})).unwrap_err();
        assert!(e.contains("unsupported option confg_dir"), "{e}");
        assert!(e.contains("config_dir?"), "{e}");
        for o in OPTIONS {
            assert!(e.contains(o), "{e}");
        }
        // A Postfix parameter put at the top level.
        let e = parse(json!({"inet_protocols": "ipv4"})).unwrap_err();
        assert!(e.contains("under `parameters:`"), "{e}");
    }

    #[test]
    fn unknown_options_ignored_when_asked() {
        let o = parse(json!({
            "parameters": {}, "bogus": 1, "_ansible_ignore_unknown_opts": true
        }));
        assert!(o.is_ok(), "{o:?}");
    }

    #[test]
    fn requires_parameters_or_spec() {
        let e = parse(json!({})).unwrap_err();
        assert!(
            e.contains("one of the options parameters or spec is required"),
            "{e}"
        );
        let e = parse(json!({"parameters": null, "spec": null})).unwrap_err();
        assert!(e.contains("is required"), "{e}");
        assert!(parse(json!({"spec": "/etc/postform/host.yaml"})).is_ok());
        assert!(parse(json!({"spec": {"main": {"biff": false}}})).is_ok());
        let both = parse(json!({"spec": "/s.yaml", "parameters": {"biff": true}})).unwrap();
        assert!(both.spec.is_some() && both.parameters.is_some());
    }

    #[test]
    fn wrong_types_fail_clearly_all_at_once() {
        let e = parse(json!({
            "parameters": ["inet_protocols=ipv4"],
            "config_dir": 5,
            "purge": "maybe",
            "service": "bounce",
            "backup": [true],
        }))
        .unwrap_err();
        assert!(e.contains("option parameters must be a dictionary"), "{e}");
        assert!(
            e.contains("option config_dir must be a directory path"),
            "{e}"
        );
        assert!(e.contains("option purge must be a boolean"), "{e}");
        assert!(
            e.contains("option service must be one of none, auto, reload, restart"),
            "{e}"
        );
        assert!(e.contains("option backup must be a boolean"), "{e}");
        let e = parse(json!({"spec": 3})).unwrap_err();
        assert!(e.contains("option spec must be a path"), "{e}");
    }

    #[test]
    fn ansible_booleans() {
        let o = parse(json!({
            "parameters": {}, "purge": "yes", "validate": "off", "backup": 1
        }))
        .unwrap();
        assert_eq!(o.purge, Some(true));
        assert!(!o.validate);
        assert!(o.backup);
    }

    #[test]
    fn service_modes() {
        for (given, want) in [
            ("none", ServiceMode::None),
            ("auto", ServiceMode::Auto),
            ("reload", ServiceMode::Reload),
            ("Restart", ServiceMode::Restart),
        ] {
            let o = parse(json!({"parameters": {}, "service": given})).unwrap();
            assert_eq!(o.service, Some(want));
        }
        let o = parse(json!({
            "parameters": {},
            "service": {"reload": ["postfix", "reload"], "restart": ["systemctl", "restart", "postfix"]}
        }))
        .unwrap();
        assert_eq!(
            o.service,
            Some(ServiceMode::Command {
                reload: vec!["postfix".into(), "reload".into()],
                restart: vec!["systemctl".into(), "restart".into(), "postfix".into()],
            })
        );
        let e = parse(json!({"parameters": {}, "service": {"stop": ["x"]}})).unwrap_err();
        assert!(e.contains("unknown key \"stop\""), "{e}");
    }

    #[test]
    fn parameters_as_json_string() {
        let o = parse(json!({"parameters": "{\"inet_protocols\": \"ipv4\"}"})).unwrap();
        assert_eq!(o.parameters.unwrap()["inet_protocols"], json!("ipv4"));
        let e = parse(json!({"parameters": "inet_protocols=ipv4"})).unwrap_err();
        assert!(e.contains("got a string"), "{e}");
    }

    #[test]
    fn fractional_numbers_are_rejected_with_a_hint() {
        let e = parse(json!({"parameters": {"compatibility_level": 3.1}})).unwrap_err();
        assert!(e.contains("compatibility_level"), "{e}");
        assert!(e.contains("quote it"), "{e}");
    }

    #[test]
    fn relative_paths_warn() {
        let o = parse(json!({"parameters": {}, "config_dir": "etc/postfix"})).unwrap();
        assert_eq!(o.warnings.len(), 1);
        assert!(o.warnings[0].contains("relative"));
    }

    #[test]
    fn spec_and_parameters_layer() {
        let o = parse(json!({
            "spec": {"main": {"inet_protocols": "all", "biff": false}, "purge": true, "service": "auto"},
            "parameters": {"inet_protocols": "ipv4", "relayhost": null, "main": "x"},
        }))
        .unwrap();
        let spec = o.build_spec().unwrap();
        use crate::engine::spec::SpecValue;
        assert_eq!(
            spec.main["inet_protocols"],
            Some(SpecValue::Str("ipv4".into()))
        );
        assert_eq!(spec.main["biff"], Some(SpecValue::Bool(false)));
        assert_eq!(spec.main["relayhost"], None);
        // A parameter literally named `main` stays a parameter.
        assert_eq!(spec.main["main"], Some(SpecValue::Str("x".into())));
        assert!(
            spec.purge,
            "the spec's purge applies when the option is not given"
        );
        assert_eq!(spec.service, Some(ServiceMode::Auto));

        let o = parse(json!({"spec": {"main": {}, "purge": true}, "purge": false})).unwrap();
        assert!(
            !o.build_spec().unwrap().purge,
            "the option overrides the spec"
        );
    }

    #[test]
    fn no_log_hides_values_in_invocation() {
        let o = parse(json!({
            "parameters": {"smtp_sasl_password_maps": "secret"},
            "_ansible_no_log": true
        }))
        .unwrap();
        let inv = o.invocation().to_string();
        assert!(!inv.contains("secret"), "{inv}");
        assert!(inv.contains(NO_LOG_VALUE), "{inv}");
    }

    #[test]
    fn unreadable_args_file_is_a_json_failure() {
        let (v, code) = run_module(Path::new("/nonexistent/postform/args"));
        assert_eq!(code, 1);
        assert_eq!(v["failed"], json!(true));
        assert!(v["msg"]
            .as_str()
            .unwrap()
            .contains("cannot read the arguments file"));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("args");
        std::fs::write(&p, "inet_protocols=ipv4").unwrap();
        let (v, _) = run_module(&p);
        assert_eq!(v["failed"], json!(true));
        assert!(v["msg"].as_str().unwrap().contains("not JSON"));
    }

    #[test]
    fn panics_become_messages() {
        let r: Result<(), String> = catch_panic(|| panic!("boom {}", 42));
        let msg = r.unwrap_err();
        assert!(msg.contains("boom 42"), "{msg}");
        assert!(msg.contains("ansible.rs"), "location recorded: {msg}");
    }

    #[test]
    fn tilde_paths_expand_like_expanduser() {
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() {
            assert_eq!(expand_tilde("~"), PathBuf::from(&home));
            assert_eq!(expand_tilde("~/pf/"), PathBuf::from(&home).join("pf"));
        }
        let root_home = home_of("root").expect("/etc/passwd has root");
        assert_eq!(expand_tilde("~root/pf"), root_home.join("pf"));
        assert_eq!(
            expand_tilde("~no-such-user-postform/pf"),
            PathBuf::from("~no-such-user-postform/pf")
        );
        assert_eq!(expand_tilde("/etc/postfix/"), PathBuf::from("/etc/postfix"));
        assert_eq!(
            expand_tilde("/etc//postfix/."),
            PathBuf::from("/etc/postfix")
        );
        let o = parse(json!({"parameters": {}, "config_dir": "~root/pf"})).unwrap();
        assert_eq!(o.config_dir, root_home.join("pf"));
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    }

    #[test]
    fn check_mode_without_main_cf_plans_against_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-installed-yet");
        let (v, code) = run_module_args(&obj(json!({
            "parameters": {"inet_protocols": "ipv4", "relayhost": null},
            "config_dir": missing,
            "_ansible_check_mode": true,
            "_ansible_diff": true,
        })));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["changed"], json!(true), "{v:#}");
        assert_eq!(v["main_cf_exists"], json!(false), "{v:#}");
        assert_eq!(v["service_action"], json!("restart"), "{v:#}");
        assert_eq!(v["changes"].as_array().unwrap().len(), 1, "{v:#}");
        assert_eq!(v["changes"][0]["kind"], json!("add"), "{v:#}");
        assert_eq!(v["diff"]["before"], json!(""), "{v:#}");
        let msg = v["msg"].as_str().unwrap();
        assert!(msg.contains("does not exist (yet)"), "{msg}");
        assert!(msg.contains("inet_protocols (restart)"), "{msg}");
        assert!(v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("planned against an empty main.cf"));
        assert!(!missing.exists(), "check mode must not create anything");

        // Outside check mode a missing main.cf still fails.
        let (v, code) = run_module_args(&obj(json!({
            "parameters": {"inet_protocols": "ipv4"},
            "config_dir": missing,
        })));
        assert_eq!(code, 1, "{v:#}");
        assert!(v["msg"].as_str().unwrap().contains("cannot read"), "{v:#}");
    }

    #[test]
    fn dispatches_on_the_module_name() {
        let (v, code) = run_module_args(&obj(json!({
            "pending": {},
            "_ansible_module_name": service_action::MODULE_NAME,
        })));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["msg"], json!("no Postfix service action pending"));
        // main_cf does not know `pending`.
        let (v, _) = run_module_args(&obj(json!({
            "pending": {},
            "_ansible_module_name": "postform.postfix.main_cf",
        })));
        assert!(
            v["msg"]
                .as_str()
                .unwrap()
                .contains("unsupported option pending"),
            "{v:#}"
        );
    }

    #[test]
    fn levenshtein_works() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(closest_option("paramters"), Some("parameters"));
        assert_eq!(closest_option("zzzzzzzzzz"), None);
    }
}
