//! `postform plan`: show exactly what would change, and the service action.

use super::{print_warnings, use_color_stdout, CmdResult};
use anyhow::Context;
use clap::Args;
use postform::catalog::Catalog;
use postform::plan::Plan;
use postform::spec::Spec;
use std::path::{Path, PathBuf};

/// Show what applying a spec would change in main.cf and which service
/// action (reload, restart, none) it needs. Changes nothing.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file (YAML, short or full form).
    #[arg(default_value = "postform.yaml")]
    pub spec: PathBuf,
    /// Postfix config directory holding main.cf and master.cf.
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
    /// Print the plan as JSON (stable shape, `format_version` 1).
    #[arg(long)]
    pub json: bool,
    /// Save the plan to this file, for `postform apply PLANFILE`.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Skip validation against the parameter catalog and the real Postfix.
    #[arg(long)]
    pub no_validate: bool,
}

pub fn run(args: PlanArgs) -> CmdResult {
    let (plan, warnings) = compute(&args.spec, &args.config_dir, !args.no_validate)?;
    print_warnings(&warnings);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
    } else {
        print!("{}", plan.render_text(use_color_stdout()));
    }
    if let Some(out) = &args.out {
        postform::planfile::save(&plan, out)?;
        if !args.json {
            println!(
                "\nSaved the plan to {}. Apply exactly this plan with: postform apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}

/// Load, validate and plan a spec against a config dir.
pub fn compute(
    spec: &Path,
    config_dir: &Path,
    validate: bool,
) -> anyhow::Result<(Plan, Vec<String>)> {
    let spec = Spec::load(spec)?;
    let catalog = Catalog::host();
    let mut warnings = Vec::new();
    if validate {
        warnings.extend(postform::validate::validate(&spec, config_dir, &catalog)?);
    }
    let plan = postform::plan::plan(&spec, config_dir, &catalog)
        .with_context(|| format!("planning {}", config_dir.join("main.cf").display()))?;
    warnings.extend(plan.warnings.iter().cloned());
    Ok((plan, warnings))
}
