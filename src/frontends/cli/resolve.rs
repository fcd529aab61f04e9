//! `postform resolve`: a spec with its `extends` layers resolved, as JSON.
//!
//! For front ends that apply specs elsewhere: the Ansible lookup
//! `postform.postfix.host_spec` runs it on the controller and hands the
//! result to the module as an inline spec, so a GitOps repository never has
//! to be on the managed hosts.

use super::CmdResult;
use crate::engine::spec::{
    EntryValue, MapFormat, MapSpec, MasterService, SecretSource, Spec, SpecValue,
};
use crate::frontends::gitops::{default_host_name, Repo};
use anyhow::Context;
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// Print a spec with its layers applied, as one JSON object in the full
/// spec form (`main`, `master`, `maps`, `aliases`, `allow`, `purge`,
/// `service`, `postfix_version`, `custom_parameters`, each when set; no
/// `extends`). `name: null` (remove the parameter) stays null. Applying the
/// output as a spec means exactly what applying the layered file means.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The spec file (its `extends` are resolved relative to it).
    #[arg(conflicts_with = "repo", required_unless_present = "repo")]
    pub spec: Option<PathBuf>,
    /// A GitOps repository (hosts/<host>.yaml, groups/, defaults.yaml):
    /// resolve the spec of --host.
    #[arg(long, value_name = "REPO")]
    pub repo: Option<PathBuf>,
    /// With --repo: the host (default: this machine's FQDN). When there is
    /// no hosts/<NAME>.yaml, the first label of NAME is tried.
    #[arg(long, value_name = "NAME", requires = "repo")]
    pub host: Option<String>,
}

pub fn run(args: ResolveArgs) -> CmdResult {
    let spec = match (&args.repo, &args.spec) {
        (Some(root), _) => {
            let repo = Repo::open(root)?;
            let name = match &args.host {
                Some(h) => h.clone(),
                None => default_host_name()?,
            };
            let entry = repo.host(&name)?;
            let mut spec = repo
                .load_spec(&entry.spec)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("host {name}: {}", entry.spec.display()))?;
            // Repository policies (policies.yaml) are judged where the
            // repository is: validate REPO, the fleet plan, pull mode. The
            // resolved spec goes where it is not (an Ansible module), so
            // their ids leave `allow:`, said on stderr.
            let repo_ids: Vec<String> = spec
                .allow
                .iter()
                .filter(|id| !crate::engine::policy::is_builtin(id))
                .cloned()
                .collect();
            if !repo_ids.is_empty() {
                spec.allow.retain(|id| !repo_ids.contains(id));
                super::print_warnings(&[format!(
                    "host {name}: allow: {} left out: repository policies are judged by validate REPO and the fleet plan, not where the resolved spec is applied",
                    repo_ids.join(", ")
                )]);
            }
            spec
        }
        (None, Some(path)) => Spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None) => anyhow::bail!("give a spec file or --repo REPO"),
    };
    println!("{}", serde_json::to_string_pretty(&spec_json(spec))?);
    Ok(0)
}

/// A spec value as JSON.
fn value_json(value: Option<SpecValue>) -> Value {
    match value {
        None => Value::Null,
        Some(SpecValue::Str(s)) => Value::String(s),
        Some(SpecValue::Bool(b)) => Value::Bool(b),
        Some(SpecValue::Int(i)) => Value::from(i),
        Some(SpecValue::List(items)) => {
            Value::Array(items.into_iter().map(Value::String).collect())
        }
    }
}

/// The full-form JSON of a loaded spec. Destructures every public field of
/// `Spec` so that a new one cannot be silently dropped here (the private
/// ones are bookkeeping of layering). A secret table
/// entry is written as its reference (`{file: ...}` or `{env: ...}`),
/// never as its value.
fn spec_json(spec: Spec) -> Value {
    let Spec {
        main,
        master,
        maps,
        aliases,
        allow,
        postfix_version,
        purge,
        service,
        custom_parameters,
        files: _,
        ..
    } = spec;
    let main: Map<String, Value> = main
        .into_iter()
        .map(|(name, value)| (name, value_json(value)))
        .collect();
    let mut out = json!({ "main": main, "purge": purge });
    if !master.is_empty() {
        let services: Map<String, Value> = master
            .into_iter()
            .map(|(key, s)| (key.to_string(), s.map_or(Value::Null, service_json)))
            .collect();
        out["master"] = Value::Object(services);
    }
    if !maps.is_empty() {
        let tables: Map<String, Value> = maps
            .into_iter()
            .map(|(path, m)| (path, m.map_or(Value::Null, map_json)))
            .collect();
        out["maps"] = Value::Object(tables);
    }
    if !aliases.is_empty() {
        let a: Map<String, Value> = aliases
            .into_iter()
            .map(|(name, targets)| (name, targets.map_or(Value::Null, |t| json!(t))))
            .collect();
        out["aliases"] = Value::Object(a);
    }
    if !allow.is_empty() {
        out["allow"] = json!(allow);
    }
    if let Some(v) = postfix_version {
        out["postfix_version"] = Value::String(v.to_string());
    }
    if let Some(mode) = service {
        out["service"] = crate::frontends::ansible::service_mode_json(&mode);
    }
    if !custom_parameters.is_empty() {
        out["custom_parameters"] = json!(custom_parameters);
    }
    out
}

fn service_json(s: MasterService) -> Value {
    let MasterService {
        private,
        unpriv,
        chroot,
        wakeup,
        maxproc,
        command,
        args,
        options,
    } = s;
    let mut out = Map::new();
    let mut put = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(name.into(), Value::String(v));
        }
    };
    put("private", private.map(|f| f.as_str().into()));
    put("unpriv", unpriv.map(|f| f.as_str().into()));
    put("chroot", chroot.map(|f| f.as_str().into()));
    put("wakeup", wakeup.map(|w| w.to_string()));
    put("maxproc", maxproc.map(|m| m.to_string()));
    put("command", command);
    if let Some(args) = args {
        out.insert("args".into(), json!(args));
    }
    if !options.is_empty() {
        let o: Map<String, Value> = options
            .into_iter()
            .map(|(n, v)| (n, value_json(v)))
            .collect();
        out.insert("options".into(), Value::Object(o));
    }
    Value::Object(out)
}

fn map_json(m: MapSpec) -> Value {
    let MapSpec {
        kind,
        entries,
        mode,
        owner,
        group,
        secret,
        format,
    } = m;
    let entries: Map<String, Value> = entries
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                EntryValue::Text(t) => Value::String(t),
                EntryValue::Secret(s) => match s.source() {
                    SecretSource::File { written, .. } => json!({ "file": written }),
                    SecretSource::Env(name) => json!({ "env": name }),
                },
            };
            (k, v)
        })
        .collect();
    let mut out = json!({ "type": kind.to_string(), "entries": entries });
    if let Some(mode) = mode {
        out["mode"] = Value::String(format!("{mode:04o}"));
    }
    if let Some(owner) = owner {
        out["owner"] = Value::String(owner);
    }
    if let Some(group) = group {
        out["group"] = Value::String(group);
    }
    if secret {
        out["secret"] = Value::Bool(true);
    }
    if format != MapFormat::Postmap {
        out["format"] = Value::String(format.as_str().into());
    }
    out
}
