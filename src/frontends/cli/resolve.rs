//! `postform resolve`: a spec with its `extends` layers resolved, as JSON.
//!
//! For front ends that apply specs elsewhere: the Ansible lookup
//! `postform.postfix.host_spec` runs it on the controller and hands the
//! result to the module as an inline spec, so a GitOps repository never has
//! to be on the managed hosts.

use super::CmdResult;
use crate::engine::spec::{Spec, SpecValue};
use crate::frontends::gitops::{default_host_name, Repo};
use anyhow::Context;
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// Print a spec with its layers applied, as one JSON object in the full
/// spec form (`main`, `purge`, `service`, `custom_parameters`; no
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
            repo.load_spec(&entry.spec)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("host {name}: {}", entry.spec.display()))?
        }
        (None, Some(path)) => Spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, None) => anyhow::bail!("give a spec file or --repo REPO"),
    };
    println!("{}", serde_json::to_string_pretty(&spec_json(spec))?);
    Ok(0)
}

/// The full-form JSON of a loaded spec. Destructures `Spec` completely so
/// that a new spec field cannot be silently dropped here.
fn spec_json(spec: Spec) -> Value {
    let Spec {
        main,
        purge,
        service,
        custom_parameters,
        locations: _,
        files: _,
    } = spec;
    let main: Map<String, Value> = main
        .into_iter()
        .map(|(name, value)| {
            let v = match value {
                None => Value::Null,
                Some(SpecValue::Str(s)) => Value::String(s),
                Some(SpecValue::Bool(b)) => Value::Bool(b),
                Some(SpecValue::Int(i)) => Value::from(i),
                Some(SpecValue::List(items)) => {
                    Value::Array(items.into_iter().map(Value::String).collect())
                }
            };
            (name, v)
        })
        .collect();
    let mut out = json!({ "main": main, "purge": purge });
    if let Some(mode) = service {
        out["service"] = crate::frontends::ansible::service_mode_json(&mode);
    }
    if !custom_parameters.is_empty() {
        out["custom_parameters"] = json!(custom_parameters);
    }
    out
}
