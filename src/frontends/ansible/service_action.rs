//! The module `postform.postfix.service_action`: run the reloads and
//! restarts that earlier `postform.postfix.main_cf` tasks left pending.
//!
//! Ansible handlers see only the last registered result, so a restart that
//! the first of several tasks needed is lost when a later task (or a later
//! loop item) is a no-op. The collection's action plugin for `main_cf`
//! therefore keeps the strongest pending action per config directory in the
//! host fact `postform_postfix_pending` (`{"/etc/postfix": "restart"}`), and
//! this module, usually run as the handler of the role
//! `postform.postfix.service`, runs it once per config directory. Its
//! action plugin passes the fact as the `pending` option and removes the
//! directories this module reports as `done`.
//!
//! How an action runs is the engine's `Service`: systemd's unit for
//! `/etc/postfix` on a systemd host, else `postfix -c DIR reload` or
//! `postfix -c DIR stop` + `start`, or the user's argv (`service:
//! {reload: [...], restart: [...]}`). Nothing runs when that Postfix
//! instance is not running (the change takes effect when it starts), and
//! after the action the instance must be running again.
//!
//! Options: `pending` (dict config dir -> none/reload/restart, required) and
//! `service` (`auto`, the default, or the argv dictionary).

use super::{describe, service_commands, to_bool, NO_LOG_VALUE};
use crate::engine::service::{Service, ServiceAction, ServiceMode};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The module's user options, in the order error messages list them.
pub const OPTIONS: &[&str] = &["pending", "service"];

/// The module's name as Ansible passes it in `_ansible_module_name`.
pub const MODULE_NAME: &str = "postform.postfix.service_action";

/// Runs the module for already parsed arguments: the one JSON object to
/// print and the exit code.
pub fn run_args(args: &Map<String, Value>) -> (Value, i32) {
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(msg) => return super::failure(msg),
    };
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for (dir, action) in &opts.pending {
        let step = run_one(dir, *action, &opts);
        if !step.ok {
            errors.push(format!("{}: {}", step.config_dir, step.message));
        }
        steps.push(step);
    }
    let changed = steps.iter().any(|s| s.changed);
    let done: Vec<Value> = steps
        .iter()
        .filter(|s| s.ok)
        .map(|s| Value::String(s.config_dir.clone()))
        .collect();
    let actions: Vec<Value> = steps.iter().map(Step::to_json).collect();
    let mut result = Map::new();
    if errors.is_empty() {
        result.insert("changed".into(), Value::Bool(changed));
        result.insert("msg".into(), Value::String(summary(&steps, &opts)));
    } else {
        result.insert("failed".into(), Value::Bool(true));
        result.insert("changed".into(), Value::Bool(changed));
        result.insert(
            "msg".into(),
            Value::String(format!(
                "the pending Postfix service action failed for {} config dir{}: {}. \
                 The failed directories stay pending; fix Postfix and run the handler again \
                 (e.g. with --force-handlers)",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                errors.join("; ")
            )),
        );
    }
    result.insert("actions".into(), Value::Array(actions));
    result.insert("done".into(), Value::Array(done));
    result.insert("invocation".into(), opts.invocation());
    let code = if errors.is_empty() { 0 } else { 1 };
    (Value::Object(result), code)
}

/// What happened for one config directory (`ok: false`: the action
/// failed and `message` says why).
#[derive(Debug)]
struct Step {
    config_dir: String,
    pending: ServiceAction,
    ran: ServiceAction,
    /// Something ran (or, in check mode, would run).
    changed: bool,
    /// Nothing is pending for this directory any more.
    ok: bool,
    message: String,
}

impl Step {
    fn to_json(&self) -> Value {
        json!({
            "config_dir": self.config_dir,
            "pending": self.pending.to_string(),
            "ran": self.ran.to_string(),
            "message": self.message,
        })
    }
}

fn run_one(dir: &Path, pending: ServiceAction, opts: &Options) -> Step {
    let mut step = Step {
        config_dir: dir.display().to_string(),
        pending,
        ran: ServiceAction::None,
        changed: false,
        ok: true,
        message: String::new(),
    };
    if pending == ServiceAction::None {
        step.message = "nothing pending".into();
        return step;
    }
    if opts.check_mode {
        step.changed = true;
        step.message = format!("check mode: would {pending} Postfix for {}", dir.display());
        return step;
    }
    // Postfix's own words about a failed action are in its maillog_file
    // when it has one (no syslog); `None` when main.cf cannot be read.
    let maillog = crate::io::read::read_regular(&dir.join("main.cf"))
        .ok()
        .and_then(|bytes| crate::engine::apply::maillog_file(&bytes));
    let service = Service::detect(dir, &opts.service, maillog);
    match service.run(pending) {
        Ok(outcome) => {
            step.ran = outcome.ran;
            step.changed = outcome.ran != ServiceAction::None;
            step.message = outcome.message;
        }
        Err(e) => {
            step.ok = false;
            step.message = e.to_string();
        }
    }
    step
}

fn summary(steps: &[Step], opts: &Options) -> String {
    let active: Vec<String> = steps
        .iter()
        .filter(|s| s.pending != ServiceAction::None)
        .map(|s| format!("{}: {}", s.config_dir, s.message))
        .collect();
    if active.is_empty() {
        return "no Postfix service action pending".into();
    }
    let head = if opts.check_mode {
        "check mode, nothing run"
    } else {
        "pending Postfix service actions handled"
    };
    format!("{head}: {}", active.join("; "))
}

/// The options after type checking.
#[derive(Debug)]
struct Options {
    /// Sorted by directory (BTreeMap order), strongest action per directory.
    pending: Vec<(PathBuf, ServiceAction)>,
    service: ServiceMode,
    check_mode: bool,
    no_log: bool,
}

impl Options {
    fn parse(args: &Map<String, Value>) -> Result<Options, String> {
        let mut errors: Vec<String> = Vec::new();
        let flag = |key: &str| args.get(key).and_then(to_bool).unwrap_or(false);
        let check_mode = flag("_ansible_check_mode");
        let no_log = flag("_ansible_no_log");
        if !flag("_ansible_ignore_unknown_opts") {
            let mut unknown: Vec<&str> = args
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with("_ansible_") && !OPTIONS.contains(k))
                .collect();
            unknown.sort_unstable();
            if !unknown.is_empty() {
                errors.push(format!(
                    "unsupported option{} {}; valid options are: {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.join(", "),
                    OPTIONS.join(", ")
                ));
            }
        }
        let given = |key: &str| args.get(key).filter(|v| !v.is_null());

        let mut pending = std::collections::BTreeMap::new();
        match given("pending") {
            None => errors.push(
                "option pending is required: a dictionary of config dir -> none/reload/restart \
                 (the action plugin fills it from the postform_postfix_pending fact)"
                    .into(),
            ),
            Some(Value::Object(m)) => {
                for (dir, action) in m {
                    if dir.trim().is_empty() {
                        errors.push("option pending: an empty config dir name".into());
                        continue;
                    }
                    let parsed = match action {
                        Value::String(s) => s.trim().to_ascii_lowercase().parse::<Action>().ok(),
                        _ => None,
                    };
                    match parsed {
                        Some(Action(a)) => {
                            let dir = super::expand_tilde(dir);
                            let slot = pending.entry(dir).or_insert(ServiceAction::None);
                            *slot = (*slot).max(a);
                        }
                        None => errors.push(format!(
                            "option pending: {dir}: expected none, reload or restart, got {}",
                            describe(action)
                        )),
                    }
                }
            }
            Some(v) => errors.push(format!(
                "option pending must be a dictionary of config dir -> none/reload/restart, got {}",
                describe(v)
            )),
        }

        let service = match given("service") {
            None => ServiceMode::Auto,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("auto") => ServiceMode::Auto,
            Some(Value::Object(m)) => match service_commands(m) {
                Ok(mode) => mode,
                Err(e) => {
                    errors.push(format!("option service: {e}"));
                    ServiceMode::Auto
                }
            },
            Some(v) => {
                errors.push(format!(
                    "option service must be auto or a dictionary {{reload: [argv], restart: \
                     [argv]}}, got {}",
                    describe(v)
                ));
                ServiceMode::Auto
            }
        };
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Options {
            pending: pending.into_iter().collect(),
            service,
            check_mode,
            no_log,
        })
    }

    fn invocation(&self) -> Value {
        let pending: Map<String, Value> = self
            .pending
            .iter()
            .map(|(d, a)| (d.display().to_string(), Value::String(a.to_string())))
            .collect();
        let service = if self.no_log {
            Value::String(NO_LOG_VALUE.into())
        } else {
            super::service_mode_json(&self.service)
        };
        json!({"module_args": {"pending": pending, "service": service}})
    }
}

/// `none` / `reload` / `restart`.
struct Action(ServiceAction);

impl std::str::FromStr for Action {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "none" => Ok(Action(ServiceAction::None)),
            "reload" => Ok(Action(ServiceAction::Reload)),
            "restart" => Ok(Action(ServiceAction::Restart)),
            _ => Err(()),
        }
    }
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

    #[test]
    fn pending_is_required_and_typed() {
        let e = Options::parse(&obj(json!({}))).unwrap_err();
        assert!(e.contains("option pending is required"), "{e}");
        let e = Options::parse(&obj(json!({"pending": {"/etc/postfix": "bounce"}}))).unwrap_err();
        assert!(e.contains("expected none, reload or restart"), "{e}");
        let e = Options::parse(&obj(json!({"pending": {}, "servce": "auto"}))).unwrap_err();
        assert!(e.contains("unsupported option servce"), "{e}");
        let e = Options::parse(&obj(json!({"pending": {}, "service": "restart"}))).unwrap_err();
        assert!(e.contains("option service must be auto"), "{e}");
    }

    #[test]
    fn same_directory_twice_keeps_the_strongest() {
        let o = Options::parse(&obj(json!({
            "pending": {"/srv/pf": "reload", "/srv/pf/": "restart", "/srv/b": "none"}
        })))
        .unwrap();
        assert_eq!(
            o.pending,
            vec![
                (PathBuf::from("/srv/b"), ServiceAction::None),
                (PathBuf::from("/srv/pf"), ServiceAction::Restart),
            ]
        );
    }

    #[test]
    fn check_mode_reports_without_running() {
        let (v, code) = run_args(&obj(json!({
            "pending": {"/nonexistent/postform/a": "restart", "/nonexistent/postform/b": "none"},
            "_ansible_check_mode": true,
        })));
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["changed"], json!(true), "{v}");
        assert_eq!(
            v["actions"][0]["message"],
            json!("check mode: would restart Postfix for /nonexistent/postform/a")
        );
        assert_eq!(v["actions"][0]["ran"], json!("none"));
        assert_eq!(
            v["done"],
            json!(["/nonexistent/postform/a", "/nonexistent/postform/b"])
        );
    }

    #[test]
    fn nothing_pending_changes_nothing() {
        let (v, code) = run_args(&obj(json!({"pending": {}})));
        assert_eq!(code, 0);
        assert_eq!(v["changed"], json!(false));
        assert_eq!(v["msg"], json!("no Postfix service action pending"));
    }
}
