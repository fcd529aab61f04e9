//! The module `postform.postfix.master_cf`: master.cf services in a
//! declared state, keyed like the spec's `master:` section.
//!
//! One service per task (`service: submission/inet`, or `name` + `type`)
//! with its fields (`private`, `unpriv`, `chroot`, `wakeup`, `maxproc`,
//! `command`, `args`) and `-o` overrides (`options`; an option set to null
//! is removed), or several at once with `services` (a dictionary exactly
//! like the spec's `master:` section, `null` removing a service).
//! `state: absent` removes the service (every entry of that name and type,
//! like `postconf -MX`). Fields and options the task does not name are left
//! as master.cf has them.
//!
//! The options become a spec with only a `master:` section, converged like
//! every spec (`converge.rs`): the same validation, plan, one transaction,
//! and `service_action` (a master.cf change needs a reload). The Postfix
//! service mode is `service_mode` here (`service` names the master.cf
//! service), with the values `main_cf`'s `service` takes; default `none`
//! (leave the action pending for the handler).

use super::converge::{self, unknown_options, Flags, Module, Run};
use super::{check_parameter_value, describe, failure, finish, service_mode_json, NO_LOG_VALUE};
use crate::engine::service::ServiceMode;
use crate::engine::spec::{ServiceKey, Spec};
use serde_json::{json, Map, Value};

/// The module's name as Ansible passes it in `_ansible_module_name`.
pub const MODULE_NAME: &str = "postform.postfix.master_cf";

/// The module's user options, in the order error messages list them.
pub const OPTIONS: &[&str] = &[
    "service",
    "name",
    "type",
    "services",
    "private",
    "unpriv",
    "chroot",
    "wakeup",
    "maxproc",
    "command",
    "args",
    "options",
    "state",
    "config_dir",
    "validate",
    "service_mode",
    "backup",
];

/// The options that are a service's fields, as the spec names them.
const FIELDS: &[&str] = &[
    "private", "unpriv", "chroot", "wakeup", "maxproc", "command", "args", "options",
];

/// Runs the module for already parsed arguments: the one JSON object to
/// print and the exit code.
pub fn run_args(args: &Map<String, Value>) -> (Value, i32) {
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(msg) => return failure(msg),
    };
    let outcome = opts.build_spec().and_then(|spec| {
        converge::run(
            Module::MasterCf,
            spec,
            opts.service_mode.clone(),
            &opts.run,
            opts.invocation(),
        )
    });
    finish(outcome, || opts.invocation())
}

/// Which services the task is about.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// One service: `Some(fields)` present with these fields (the JSON of
    /// a spec entry), `None` absent.
    One {
        key: ServiceKey,
        fields: Option<Map<String, Value>>,
    },
    /// `services`: a spec `master:` section.
    Many(Map<String, Value>),
}

/// The options after type checking.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    target: Target,
    service_mode: ServiceMode,
    run: Run,
}

impl Options {
    /// Type-checks the flat args object Ansible wrote. Collects every
    /// problem and reports them together.
    fn parse(args: &Map<String, Value>) -> Result<Options, String> {
        let mut errors: Vec<String> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        let flags = Flags::parse(args, &mut errors);
        if !flags.ignore_unknown {
            errors.extend(unknown_options(
                args,
                OPTIONS,
                "-o overrides go under `options:`; the Postfix service mode is \
                 `service_mode:` (`service:` names the master.cf service)",
            ));
        }
        let given = |key: &str| args.get(key).filter(|v| !v.is_null());

        let state = match given("state") {
            None => State::Present,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("present") => State::Present,
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("absent") => State::Absent,
            Some(v) => {
                errors.push(format!(
                    "option state must be present or absent, got {}",
                    describe(v)
                ));
                State::Present
            }
        };
        let fields: Vec<&str> = FIELDS
            .iter()
            .copied()
            .filter(|f| given(f).is_some())
            .collect();

        let target = match (
            given("service"),
            given("name"),
            given("type"),
            given("services"),
        ) {
            (None, None, None, Some(services)) => {
                let clash: Vec<&str> = fields
                    .iter()
                    .copied()
                    .chain(given("state").map(|_| "state"))
                    .collect();
                if !clash.is_empty() {
                    errors.push(format!(
                        "option services holds whole service entries (fields, options, null to \
                         remove); it cannot be combined with {}: put them under each service \
                         in services",
                        clash.join(", ")
                    ));
                }
                converge::dict_option(
                    "services",
                    Some(services),
                    "service/type: fields, like the spec's master: section",
                    &mut errors,
                )
                .map(|services| {
                    for (key, entry) in &services {
                        if let Some(Value::Object(o)) = entry.get("options") {
                            check_option_values(key, o, &mut errors);
                        }
                    }
                    Target::Many(services)
                })
            }
            (Some(_), _, _, Some(_)) | (_, Some(_), _, Some(_)) | (_, _, Some(_), Some(_)) => {
                errors.push(
                    "give either services (several services) or one service (service, or name \
                     and type), not both"
                        .into(),
                );
                None
            }
            (Some(_), Some(_), _, _) | (Some(_), _, Some(_), _) => {
                errors.push(
                    "give either service (name/type, e.g. submission/inet) or name and type, \
                     not both"
                        .into(),
                );
                None
            }
            (Some(service), None, None, None) => service_key(service, &mut errors)
                .map(|key| one(key, state, &fields, args, &mut errors)),
            (None, Some(name), Some(kind), None) => match (name, kind) {
                (Value::String(name), Value::String(kind)) => {
                    match format!("{name}/{kind}").parse::<ServiceKey>() {
                        Ok(key) if key.name == *name => {
                            Some(one(key, state, &fields, args, &mut errors))
                        }
                        Ok(_) | Err(_) => {
                            errors.push(format!(
                                "options name and type: {name:?} and {kind:?} do not name a \
                                 master.cf service: the type is inet, unix, unix-dgram, fifo or \
                                 pass, the name one word (e.g. name: submission, type: inet)"
                            ));
                            None
                        }
                    }
                }
                _ => {
                    errors.push(format!(
                        "options name and type must be strings (e.g. name: submission, type: \
                         inet), got {} and {}",
                        describe(name),
                        describe(kind)
                    ));
                    None
                }
            },
            (None, Some(_), None, None) | (None, None, Some(_), None) => {
                errors.push(
                    "options name and type go together: a master.cf service is named by both \
                     (e.g. name: submission, type: inet), or use service: submission/inet"
                        .into(),
                );
                None
            }
            (None, None, None, None) => {
                errors.push(
                    "one of the options service (e.g. submission/inet), name and type, or \
                     services is required"
                        .into(),
                );
                None
            }
        };

        let config_dir =
            converge::config_dir_option(given("config_dir"), &mut errors, &mut warnings);
        let validate = converge::bool_option("validate", given("validate"), &mut errors);
        let backup = converge::bool_option("backup", given("backup"), &mut errors);
        let service_mode =
            converge::service_mode_option("service_mode", given("service_mode"), &mut errors);
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Options {
            target: target.expect("no errors, so the target was read"),
            service_mode: service_mode.unwrap_or(ServiceMode::None),
            run: Run {
                config_dir,
                validate: validate.unwrap_or(true),
                backup: backup.unwrap_or(false),
                flags,
                warnings,
            },
        })
    }

    /// A spec with only this task's `master:` section.
    fn build_spec(&self) -> Result<Spec, String> {
        let (master, origin) = match &self.target {
            Target::One { key, fields } => {
                let entry = fields.clone().map_or(Value::Null, Value::Object);
                (json!({ key.to_string(): entry }), "master_cf options")
            }
            Target::Many(services) => (Value::Object(services.clone()), "services option"),
        };
        Spec::from_json(&json!({ "master": master }), origin).map_err(|e| e.to_string())
    }

    /// The options echoed back as `invocation.module_args`; under no_log
    /// the command's arguments and the `-o` values are hidden, and `-o`
    /// values holding credentials inline are always masked.
    fn invocation(&self) -> Value {
        let no_log = self.run.flags.no_log;
        let hide = |v: &Value| {
            if no_log {
                Value::String(NO_LOG_VALUE.into())
            } else {
                v.clone()
            }
        };
        let mut args = Map::new();
        match &self.target {
            Target::One { key, fields } => {
                args.insert("service".into(), Value::String(key.to_string()));
                args.insert(
                    "state".into(),
                    Value::String(
                        if fields.is_some() {
                            "present"
                        } else {
                            "absent"
                        }
                        .into(),
                    ),
                );
                for (name, value) in fields.iter().flatten() {
                    let shown = match (name.as_str(), value) {
                        ("options", Value::Object(o)) => {
                            let mut o: Map<String, Value> =
                                o.iter().map(|(k, v)| (k.clone(), hide(v))).collect();
                            converge::mask_credentials(&mut o);
                            Value::Object(o)
                        }
                        ("args", v) => hide(v),
                        _ => value.clone(),
                    };
                    args.insert(name.clone(), shown);
                }
            }
            Target::Many(services) => {
                let mut services = services.clone();
                converge::mask_service_credentials(&mut services);
                args.insert("services".into(), hide(&Value::Object(services)));
            }
        }
        args.insert(
            "config_dir".into(),
            Value::String(self.run.config_dir.to_string_lossy().into_owned()),
        );
        args.insert("validate".into(), Value::Bool(self.run.validate));
        args.insert("service_mode".into(), service_mode_json(&self.service_mode));
        args.insert("backup".into(), Value::Bool(self.run.backup));
        json!({ "module_args": args })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Present,
    Absent,
}

/// `service: name/type`.
fn service_key(value: &Value, errors: &mut Vec<String>) -> Option<ServiceKey> {
    let Value::String(s) = value else {
        errors.push(format!(
            "option service must be a master.cf service as name/type (e.g. submission/inet), \
             got {}",
            describe(value)
        ));
        return None;
    };
    match s.trim().parse::<ServiceKey>() {
        Ok(key) => Some(key),
        Err(e) => {
            errors.push(format!(
                "option service: {s:?}: {e} (postconf -M names them so); or give name and type"
            ));
            None
        }
    }
}

/// The one-service target: the fields given (for `present`).
fn one(
    key: ServiceKey,
    state: State,
    fields: &[&str],
    args: &Map<String, Value>,
    errors: &mut Vec<String>,
) -> Target {
    if state == State::Absent {
        if !fields.is_empty() {
            errors.push(format!(
                "state absent removes the service {key} with all its fields and options; drop \
                 {} (or use state: present)",
                fields.join(", ")
            ));
        }
        return Target::One { key, fields: None };
    }
    let mut entry = Map::new();
    for &name in fields {
        let value = args[name].clone();
        let value = match (name, value) {
            ("options", v) => {
                match converge::dict_option(
                    "options",
                    Some(&v),
                    "the -o overrides, name: value; null removes one",
                    errors,
                ) {
                    Some(o) => {
                        check_option_values(&key.to_string(), &o, errors);
                        Value::Object(o)
                    }
                    None => continue,
                }
            }
            (_, v) => v,
        };
        entry.insert(name.to_string(), value);
    }
    Target::One {
        key,
        fields: Some(entry),
    }
}

/// Ansible-typing problems in `-o` values (a fraction YAML made of 3.10).
fn check_option_values(service: &str, options: &Map<String, Value>, errors: &mut Vec<String>) {
    for (name, value) in options {
        if let Some(problem) = check_parameter_value(value) {
            errors.push(format!("{service} option {name}: {problem}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{Flag, SpecValue};

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn parse(v: Value) -> Result<Options, String> {
        Options::parse(&obj(v))
    }

    fn spec_of(v: Value) -> Spec {
        parse(v).unwrap().build_spec().unwrap()
    }

    fn key(s: &str) -> ServiceKey {
        s.parse().unwrap()
    }

    #[test]
    fn one_service_by_key_or_by_name_and_type() {
        let a = spec_of(json!({
            "service": "submission/inet",
            "private": "n",
            "chroot": false,
            "command": "smtpd",
            "options": {"syslog_name": "postfix/submission", "smtpd_tls_security_level": null},
        }));
        let b = spec_of(json!({
            "name": "submission",
            "type": "inet",
            "private": "n",
            "chroot": "n",
            "command": "smtpd",
            "options": "{\"syslog_name\": \"postfix/submission\", \"smtpd_tls_security_level\": null}",
        }));
        assert_eq!(a.master, b.master);
        let s = a.master[&key("submission/inet")].as_ref().unwrap();
        assert_eq!(s.private, Some(Flag::No));
        assert_eq!(s.chroot, Some(Flag::No));
        assert_eq!(s.unpriv, None, "fields not given stay unmanaged");
        assert_eq!(
            s.option("syslog_name"),
            Some(&Some(SpecValue::Str("postfix/submission".into())))
        );
        assert_eq!(s.option("smtpd_tls_security_level"), Some(&None));
        assert!(a.main.is_empty() && !a.purge);
    }

    #[test]
    fn absent_removes_and_refuses_fields() {
        let s = spec_of(json!({"service": "smtps/inet", "state": "absent"}));
        assert_eq!(s.master[&key("smtps/inet")], None);
        let e = parse(json!({"service": "smtps/inet", "state": "absent", "command": "smtpd"}))
            .unwrap_err();
        assert!(
            e.contains("state absent removes the service smtps/inet"),
            "{e}"
        );
        assert!(e.contains("drop command"), "{e}");
    }

    #[test]
    fn services_is_a_master_section() {
        let s = spec_of(json!({"services": {
            "submission/inet": {"command": "smtpd", "private": "n"},
            "smtps/inet": null,
        }}));
        assert_eq!(s.master.len(), 2);
        assert_eq!(s.master[&key("smtps/inet")], None);
        let e = parse(json!({"services": {"a/inet": null}, "command": "smtpd", "state": "absent"}))
            .unwrap_err();
        assert!(e.contains("cannot be combined with command, state"), "{e}");
        let e = parse(json!({"services": {}, "service": "a/inet"})).unwrap_err();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn the_service_must_be_named_once() {
        let e = parse(json!({})).unwrap_err();
        assert!(e.contains("one of the options service"), "{e}");
        let e = parse(json!({"name": "submission"})).unwrap_err();
        assert!(e.contains("name and type go together"), "{e}");
        let e = parse(json!({"service": "a/inet", "name": "a", "type": "inet"})).unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = parse(json!({"service": "submission"})).unwrap_err();
        assert!(e.contains("named service/type, e.g. smtp/inet"), "{e}");
        let e = parse(json!({"service": "submission/tcp"})).unwrap_err();
        assert!(e.contains("unknown service type `tcp`"), "{e}");
        let e = parse(json!({"name": "submission", "type": "tcp"})).unwrap_err();
        assert!(e.contains("do not name a master.cf service"), "{e}");
        let e = parse(json!({"service": 587})).unwrap_err();
        assert!(e.contains("got the number 587"), "{e}");
    }

    #[test]
    fn option_errors_come_together() {
        let e = parse(json!({
            "service": "submission/inet",
            "options": ["syslog_name=x"],
            "state": "gone",
            "service_mode": "bounce",
            "confg_dir": "/x",
            "backup": "maybe",
        }))
        .unwrap_err();
        for needle in [
            "unsupported option confg_dir (did you mean: confg_dir -> config_dir?)",
            "option state must be present or absent",
            "option options must be a dictionary",
            "option service_mode must be one of none, auto, reload, restart",
            "option backup must be a boolean",
        ] {
            assert!(e.contains(needle), "{needle:?} in {e}");
        }
        let e = parse(json!({"service": "x/inet", "options": {"a": 3.1}})).unwrap_err();
        assert!(e.contains("quote it"), "{e}");
    }

    #[test]
    fn field_values_are_checked_by_the_spec_rules() {
        let o =
            parse(json!({"service": "submission/inet", "chroot": "maybe", "command": "smtpd -v"}))
                .unwrap();
        let e = o.build_spec().unwrap_err();
        assert!(e.contains("chroot: expected y, n or -"), "{e}");
        assert!(e.contains("more than one word"), "{e}");
    }

    #[test]
    fn no_log_hides_option_values_and_args() {
        let o = parse(json!({
            "service": "filter/unix",
            "command": "pipe",
            "args": ["user=filter", "argv=/usr/bin/filter --key S3cret"],
            "options": {"smtp_sasl_password_maps": "S3cret"},
            "_ansible_no_log": true,
        }))
        .unwrap();
        let inv = o.invocation().to_string();
        assert!(!inv.contains("S3cret"), "{inv}");
        assert!(inv.contains("\"command\":\"pipe\""), "{inv}");
    }

    /// Check mode on a fresh host: planned against empty files; what the
    /// safety policies say about that stand-in is a warning, not a failure.
    #[test]
    fn check_mode_on_a_fresh_host_warns_instead_of_refusing() {
        let scratch = tempfile::tempdir().unwrap();
        let missing = scratch.path().join("postfix");
        let (v, code) = crate::frontends::ansible::run_module_args(&obj(json!({
            "service": "submission/inet",
            "command": "smtpd",
            "config_dir": missing,
            "_ansible_module_name": MODULE_NAME,
            "_ansible_check_mode": true,
        })));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["master_cf_exists"], json!(false), "{v:#}");
        assert_eq!(v["main_cf_exists"], json!(false), "{v:#}");
        assert_eq!(v["service_action"], json!("reload"), "{v:#}");
        let warnings = v["warnings"].to_string();
        assert!(warnings.contains("policy smtpd_startup"), "{warnings}");
        assert!(warnings.contains("the real run checks again"), "{warnings}");
        assert!(!missing.exists());
        // Outside check mode the missing files fail the task.
        let (v, code) = crate::frontends::ansible::run_module_args(&obj(json!({
            "service": "submission/inet",
            "command": "smtpd",
            "config_dir": missing,
            "_ansible_module_name": MODULE_NAME,
        })));
        assert_eq!(code, 1, "{v:#}");
        assert!(!missing.exists());
    }

    /// A scratch copy of examples/postfix.
    fn scratch() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/postfix");
        for f in ["main.cf", "master.cf"] {
            std::fs::copy(examples.join(f), dir.path().join(f)).unwrap();
        }
        dir
    }

    #[test]
    fn check_apply_converge_and_remove() {
        let dir = scratch();
        let master = dir.path().join("master.cf");
        let before = std::fs::read(&master).unwrap();
        let task = |extra: Value| {
            let mut args = json!({
                "service": "127.0.0.1:10025/inet",
                "command": "smtpd",
                "options": {"smtpd_banner": "$myhostname ESMTP filter-return"},
                "config_dir": dir.path(),
                "validate": false,
                "_ansible_module_name": MODULE_NAME,
            });
            for (k, v) in extra.as_object().unwrap() {
                args[k] = v.clone();
            }
            crate::frontends::ansible::run_module_args(&obj(args))
        };

        let (v, code) = task(json!({"_ansible_check_mode": true, "_ansible_diff": true}));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["changed"], json!(true), "{v:#}");
        assert_eq!(v["service_action"], json!("reload"), "{v:#}");
        assert_eq!(v["master_cf"], json!(master), "{v:#}");
        assert_eq!(v["changes"][0]["resource"], json!("service"), "{v:#}");
        assert_eq!(v["changes"][0]["service"], json!("127.0.0.1:10025/inet"));
        assert_eq!(v["changes"][0]["file"], json!("master.cf"));
        assert_eq!(v["diff"]["before_header"], json!(master), "{v:#}");
        assert!(
            v["diff"]["after"]
                .as_str()
                .unwrap()
                .contains("-o smtpd_banner=$myhostname ESMTP filter-return")
                || v["diff"]["after"]
                    .as_str()
                    .unwrap()
                    .contains("-o { smtpd_banner = $myhostname ESMTP filter-return }")
        );
        assert!(
            v["msg"]
                .as_str()
                .unwrap()
                .starts_with("would change 1 setting in"),
            "{v:#}"
        );
        assert_eq!(std::fs::read(&master).unwrap(), before, "check mode wrote");

        let (v, code) = task(json!({}));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["changed"], json!(true), "{v:#}");
        assert!(v.get("diff").is_none());
        let after = std::fs::read_to_string(&master).unwrap();
        assert!(after.contains("127.0.0.1:10025 inet"), "{after}");

        let (v, _) = task(json!({}));
        assert_eq!(v["changed"], json!(false), "{v:#}");
        assert_eq!(v["service_action"], json!("none"), "{v:#}");
        assert_eq!(
            v["msg"],
            json!(format!(
                "{} is already in the desired state",
                master.display()
            ))
        );

        let (v, code) = task(json!({"state": "absent", "command": null, "options": null}));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["changed"], json!(true), "{v:#}");
        assert_eq!(v["changes"][0]["kind"], json!("remove"), "{v:#}");
        assert_eq!(
            std::fs::read(&master).unwrap(),
            before,
            "removal restores the file"
        );
    }
}
