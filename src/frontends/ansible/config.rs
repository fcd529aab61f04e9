//! The module `postform.postfix.config`: a whole postform spec (main.cf
//! parameters, master.cf services, lookup tables, aliases, allowed
//! policies, ...) converged in one plan and one transaction, with one
//! service action for all of it.
//!
//! The spec is either inline (`spec`: a dictionary in the spec-file form,
//! e.g. from `lookup('postform.postfix.host_spec', ...)` or `postform
//! resolve`) or a spec file on the target (`spec_file`, with its `extends`
//! layers). It reaches the engine as loaded: sections this front end does
//! not know about are the engine's business, so a section the engine learns
//! to plan (tables, aliases) needs no change here. Values of tables the
//! spec marks secret never appear in the result (`converge.rs`,
//! `Secrets`), nor in `invocation`.

use super::converge::{self, unknown_options, Flags, Module, Run};
use super::{
    check_parameter_value, describe, expand_tilde, failure, finish, service_mode_json, NO_LOG_VALUE,
};
use crate::engine::service::ServiceMode;
use crate::engine::spec::Spec;
use serde_json::{json, Map, Value};

/// The module's name as Ansible passes it in `_ansible_module_name`.
pub const MODULE_NAME: &str = "postform.postfix.config";

/// The module's user options, in the order error messages list them.
pub const OPTIONS: &[&str] = &[
    "spec",
    "spec_file",
    "config_dir",
    "purge",
    "validate",
    "service",
    "backup",
];

/// Runs the module for already parsed arguments: the one JSON object to
/// print and the exit code.
pub fn run_args(args: &Map<String, Value>) -> (Value, i32) {
    let opts = match Options::parse(args) {
        Ok(o) => o,
        Err(msg) => return failure(msg),
    };
    let outcome = opts.build_spec().and_then(|spec| {
        let service = opts
            .service
            .clone()
            .or_else(|| spec.service.clone())
            .unwrap_or(ServiceMode::None);
        converge::run(Module::Config, spec, service, &opts.run, opts.invocation())
    });
    finish(outcome, || opts.invocation())
}

/// Where the spec comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// `spec`: an inline spec.
    Inline(Map<String, Value>),
    /// `spec_file`: a file on the target, as written.
    File(String),
}

/// The options after type checking.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    source: Source,
    /// `None`: not given (the spec's value, else false).
    purge: Option<bool>,
    /// `None`: not given (the spec's value, else `none`).
    service: Option<ServiceMode>,
    run: Run,
}

impl Options {
    fn parse(args: &Map<String, Value>) -> Result<Options, String> {
        let mut errors: Vec<String> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        let flags = Flags::parse(args, &mut errors);
        if !flags.ignore_unknown {
            errors.extend(unknown_options(
                args,
                OPTIONS,
                "The spec's sections (main, master, maps, aliases, allow, ...) go under `spec:`",
            ));
        }
        let given = |key: &str| args.get(key).filter(|v| !v.is_null());

        let source = match (given("spec"), given("spec_file")) {
            (Some(_), Some(_)) => {
                errors.push(
                    "give either spec (an inline spec) or spec_file (a spec file on the \
                     target), not both"
                        .into(),
                );
                None
            }
            (None, None) => {
                errors.push(
                    "one of the options spec or spec_file is required: spec is an inline spec \
                     such as {main: {inet_protocols: ipv4}, master: {...}}; spec_file is a spec \
                     file on the target"
                        .into(),
                );
                None
            }
            (Some(Value::String(s)), None) if serde_json::from_str::<Value>(s).is_err() => {
                errors.push(format!(
                    "option spec must be an inline spec (a dictionary), got the string {:?}; \
                     for a spec file on the target use spec_file",
                    super::shorten(s)
                ));
                None
            }
            (Some(v), None) => converge::dict_option(
                "spec",
                Some(v),
                "an inline spec: main, master, maps, aliases, ...",
                &mut errors,
            )
            .map(|spec| {
                check_inline(&spec, &mut errors);
                Source::Inline(spec)
            }),
            (None, Some(Value::String(s))) if !s.trim().is_empty() => {
                if !expand_tilde(s).is_absolute() {
                    warnings.push(format!(
                        "spec_file {s:?} is relative; it is resolved on the target against the \
                         module's working directory. Use an absolute path"
                    ));
                }
                Some(Source::File(s.clone()))
            }
            (None, Some(v)) => {
                errors.push(format!(
                    "option spec_file must be the path of a spec file on the target, got {}",
                    describe(v)
                ));
                None
            }
        };

        let config_dir =
            converge::config_dir_option(given("config_dir"), &mut errors, &mut warnings);
        let purge = converge::bool_option("purge", given("purge"), &mut errors);
        let validate = converge::bool_option("validate", given("validate"), &mut errors);
        let backup = converge::bool_option("backup", given("backup"), &mut errors);
        let service = converge::service_mode_option("service", given("service"), &mut errors);
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Options {
            source: source.expect("no errors, so the source was read"),
            purge,
            service,
            run: Run {
                config_dir,
                validate: validate.unwrap_or(true),
                backup: backup.unwrap_or(false),
                flags,
                warnings,
            },
        })
    }

    /// The spec, with `purge` given as an option on top.
    fn build_spec(&self) -> Result<Spec, String> {
        let mut spec = match &self.source {
            Source::Inline(v) => Spec::from_json(&Value::Object(v.clone()), "spec option"),
            Source::File(p) => Spec::load(&expand_tilde(p)),
        }
        .map_err(|e| e.to_string())?;
        if let Some(purge) = self.purge {
            spec.purge = purge;
        }
        Ok(spec)
    }

    /// The options echoed back as `invocation.module_args`: the inline
    /// spec hidden under no_log, and the entries of its secret tables
    /// always.
    fn invocation(&self) -> Value {
        let spec = match &self.source {
            Source::Inline(_) if self.run.flags.no_log => Value::String(NO_LOG_VALUE.into()),
            Source::Inline(v) => converge::mask_secrets(&Value::Object(v.clone())),
            Source::File(_) => Value::Null,
        };
        let spec_file = match &self.source {
            Source::File(p) => Value::String(p.clone()),
            Source::Inline(_) => Value::Null,
        };
        json!({
            "module_args": {
                "spec": spec,
                "spec_file": spec_file,
                "config_dir": self.run.config_dir.to_string_lossy(),
                "purge": self.purge,
                "validate": self.run.validate,
                "service": self.service.as_ref().map(service_mode_json),
                "backup": self.run.backup,
            }
        })
    }
}

/// Ansible-typing problems the spec loader cannot explain well: a fraction
/// YAML made of `compatibility_level: 3.10`, in main.cf values and `-o`
/// values.
fn check_inline(spec: &Map<String, Value>, errors: &mut Vec<String>) {
    if let Some(Value::Object(main)) = spec.get("main") {
        for (name, value) in main {
            if let Some(problem) = check_parameter_value(value) {
                errors.push(format!("option spec: main: {name}: {problem}"));
            }
        }
    }
    if let Some(Value::Object(master)) = spec.get("master") {
        for (service, entry) in master {
            if let Some(Value::Object(options)) = entry.get("options") {
                for (name, value) in options {
                    if let Some(problem) = check_parameter_value(value) {
                        errors.push(format!(
                            "option spec: master: {service} option {name}: {problem}"
                        ));
                    }
                }
            }
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

    fn parse(v: Value) -> Result<Options, String> {
        Options::parse(&obj(v))
    }

    #[test]
    fn spec_or_spec_file_exactly_once() {
        let e = parse(json!({})).unwrap_err();
        assert!(
            e.contains("one of the options spec or spec_file is required"),
            "{e}"
        );
        let e = parse(json!({"spec": {}, "spec_file": "/s.yaml"})).unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = parse(json!({"spec": "/srv/specs/host.yaml"})).unwrap_err();
        assert!(e.contains("use spec_file"), "{e}");
        let e = parse(json!({"spec_file": {"main": {}}})).unwrap_err();
        assert!(e.contains("option spec_file must be the path"), "{e}");
        // A dictionary templated into JSON text.
        let o = parse(json!({"spec": "{\"main\": {\"biff\": false}}"})).unwrap();
        assert!(matches!(o.source, Source::Inline(_)));
        let o = parse(json!({"spec_file": "specs/host.yaml"})).unwrap();
        assert!(
            o.run.warnings[0].contains("relative"),
            "{:?}",
            o.run.warnings
        );
    }

    #[test]
    fn sections_pass_through_to_the_spec() {
        let o = parse(json!({
            "spec": {
                "main": {"inet_protocols": "ipv4"},
                "master": {"submission/inet": {"command": "smtpd"}, "smtps/inet": null},
                "maps": {"/etc/postfix/transport": {"type": "hash", "entries": {"example.com": "smtp:[relay]"}}},
                "aliases": {"postmaster": "root"},
                "allow": ["open_relay"],
                "purge": true,
                "service": "auto",
            },
            "purge": false,
        }))
        .unwrap();
        let spec = o.build_spec().unwrap();
        assert_eq!(spec.main.len(), 1);
        assert_eq!(spec.master.len(), 2);
        assert_eq!(spec.maps.len(), 1);
        assert_eq!(spec.aliases.len(), 1);
        assert!(spec.allow.contains("open_relay"));
        assert!(!spec.purge, "the option overrides the spec's purge");
        assert_eq!(spec.service, Some(ServiceMode::Auto));
    }

    #[test]
    fn unknown_sections_and_options_are_named() {
        let e = parse(json!({"spec": {"main": {}}, "main": {"biff": false}})).unwrap_err();
        assert!(e.contains("unsupported option main"), "{e}");
        assert!(e.contains("go under `spec:`"), "{e}");
        let o = parse(json!({"spec": {"mian": {"biff": false}}})).unwrap();
        let e = o.build_spec().unwrap_err();
        assert!(e.contains("mian"), "{e}");
        let e = parse(json!({"spec": {"main": {"compatibility_level": 3.1}}})).unwrap_err();
        assert!(e.contains("main: compatibility_level"), "{e}");
        assert!(e.contains("quote it"), "{e}");
    }

    #[test]
    fn invocation_hides_secret_tables_and_no_log_specs() {
        let spec = json!({"maps": {"/etc/postfix/sasl_passwd": {
            "type": "hash", "secret": true, "entries": {"[relay]:587": "user:S3cret"}
        }}});
        let o = parse(json!({"spec": spec})).unwrap();
        let inv = o.invocation().to_string();
        assert!(!inv.contains("S3cret"), "{inv}");
        assert!(inv.contains("[relay]:587"), "keys stay: {inv}");
        let o = parse(json!({"spec": {"main": {"relayhost": "[x]"}}, "_ansible_no_log": true}))
            .unwrap();
        assert_eq!(o.invocation()["module_args"]["spec"], json!(NO_LOG_VALUE));
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
    fn main_cf_and_master_cf_in_one_result() {
        let dir = scratch();
        let (v, code) = crate::frontends::ansible::run_module_args(&obj(json!({
            "spec": {
                "main": {"inet_protocols": "ipv4"},
                "master": {"submission/inet": {"command": "smtpd", "options": {"syslog_name": "postfix/submission"}}},
            },
            "config_dir": dir.path(),
            "_ansible_module_name": MODULE_NAME,
            "_ansible_check_mode": true,
            "_ansible_diff": true,
        })));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["changed"], json!(true), "{v:#}");
        assert_eq!(v["service_action"], json!("restart"), "{v:#}");
        let files: Vec<&str> = v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["file"].as_str().unwrap())
            .collect();
        assert_eq!(files, ["main.cf", "master.cf"], "{v:#}");
        assert_eq!(v["diff"].as_array().map(Vec::len), Some(2), "{v:#}");
        assert_eq!(v["files"][0]["changed"], json!(true), "{v:#}");
        assert_eq!(v["files"][1]["file"], json!("master.cf"), "{v:#}");
        let msg = v["msg"].as_str().unwrap();
        assert!(msg.starts_with("would change 2 settings in "), "{msg}");
        assert!(msg.contains("main.cf and "), "{msg}");
    }

    /// The spec's tables are files of the plan (no "not planned"
    /// warning is left; see `Sections::warnings`).
    #[test]
    fn tables_are_planned() {
        let dir = scratch();
        let (v, code) = crate::frontends::ansible::run_module_args(&obj(json!({
            "spec": {
                "maps": {"transport": {"type": "texthash", "entries": {"example.com": "smtp:[relay.example.com]"}}},
                "aliases": {"postmaster": "root"},
            },
            "config_dir": dir.path(),
            "validate": false,
            "_ansible_module_name": MODULE_NAME,
        })));
        assert_eq!(code, 0, "{v:#}");
        let table = dir.path().join("transport");
        let planned = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == json!(table));
        let warned = v["warnings"].as_array().into_iter().flatten().any(|w| {
            w.as_str()
                .unwrap()
                .starts_with("maps: transport: not planned")
        });
        assert!(
            planned && !warned,
            "planned {planned}, warned {warned}: {v:#}"
        );
    }

    #[test]
    fn check_mode_on_a_fresh_host_plans_against_empty_files() {
        let scratch = tempfile::tempdir().unwrap();
        let missing = scratch.path().join("postfix");
        let (v, code) = crate::frontends::ansible::run_module_args(&obj(json!({
            "spec": {
                // An empty main.cf means compatibility level 0, where smtpd
                // refuses to start without relay restrictions.
                "main": {"inet_protocols": "ipv4", "compatibility_level": "3.6"},
                "master": {"submission/inet": {"command": "smtpd"}},
            },
            "config_dir": missing,
            "_ansible_module_name": MODULE_NAME,
            "_ansible_check_mode": true,
        })));
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["main_cf_exists"], json!(false), "{v:#}");
        assert_eq!(v["master_cf_exists"], json!(false), "{v:#}");
        assert_eq!(v["service_action"], json!("restart"), "{v:#}");
        let msg = v["msg"].as_str().unwrap();
        assert!(msg.contains("do not exist (yet)"), "{msg}");
        assert!(
            msg.contains("an empty main.cf and an empty master.cf"),
            "{msg}"
        );
        assert!(!missing.exists());
    }
}
