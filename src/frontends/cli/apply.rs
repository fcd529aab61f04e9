//! `postform apply`: write the planned main.cf and reload/restart Postfix
//! only when the change needs it.

use super::{print_warnings, use_color_stdout, CmdResult};
use crate::catalog::PostfixVersion;
use crate::engine::apply::{apply, ApplyOptions};
use crate::engine::service::ServiceMode;
use anyhow::bail;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// Apply a spec (or a plan saved with `plan -o`): show the plan, ask for
/// confirmation on a terminal, write every changed file in one transaction
/// (all or none), then reload or restart Postfix if the change needs it.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A spec file, or a plan file saved with `postform plan -o`.
    #[arg(default_value = "postform.yaml", conflicts_with = "repo")]
    pub spec: PathBuf,
    /// Postfix config directory (default /etc/postfix). A saved plan names
    /// its own; a different -c is refused.
    #[arg(short = 'c', long = "config-dir")]
    pub config_dir: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// auto (what the change needs), reload, restart, or none.
    #[arg(long, value_parser = parse_mode)]
    pub service: Option<ServiceMode>,
    /// Keep a timestamped copy of each file the apply changes, beside it
    /// (`FILE.postform-backup-<UTC time>`; 0600 for a secret table).
    #[arg(long)]
    pub backup: bool,
    /// Skip validation and the candidate check with the real Postfix.
    #[arg(long)]
    pub no_validate: bool,
    /// A GitOps repository (hosts/<host>.yaml, groups/, defaults.yaml):
    /// apply this host's spec from it (pull mode, for a cron job or a
    /// systemd timer).
    #[arg(long, value_name = "REPO")]
    pub repo: Option<PathBuf>,
    /// With --repo: the host whose spec to apply (default: this machine's
    /// FQDN from `hostname -f`, else /etc/hostname).
    #[arg(long, value_name = "NAME", requires = "repo")]
    pub host: Option<String>,
    /// With --repo: run the service commands the repository's spec
    /// brings (`service: {reload: [...], restart: [...]}`) as root. Without
    /// it pull mode refuses such a spec: anyone who can write the
    /// repository would run commands as root on every pulling host.
    #[arg(long, requires = "repo")]
    pub allow_spec_commands: bool,
    /// Check against the parameters of this Postfix version (e.g. 3.10 or
    /// 3.10.13; `postform --version` lists the known series), whatever
    /// this host's postconf or the spec's postfix_version say. A saved plan
    /// uses the version it was made with unless this says another.
    #[arg(long, value_name = "VERSION", value_parser = super::parse_postfix_version)]
    pub postfix_version: Option<PostfixVersion>,
}

fn parse_mode(s: &str) -> Result<ServiceMode, String> {
    s.parse()
}

pub fn run(args: ApplyArgs) -> CmdResult {
    let validate = !args.no_validate;
    let config_dir = args
        .config_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/etc/postfix"));
    let (plan, warnings) = if let Some(repo) = &args.repo {
        let host = super::plan::host_spec(repo, args.host.as_deref())?;
        let (_, plan, w) = super::plan::compute(
            &host.spec,
            &config_dir,
            validate,
            args.postfix_version,
            Some(&host),
        )?;
        if let (Some(ServiceMode::Command { .. }), None, false) =
            (&plan.service_mode, &args.service, args.allow_spec_commands)
        {
            bail!(
                "{}: the spec brings its own service commands, which apply would run as root:\n{}nothing was changed\n  hint: pull mode runs them only with --allow-spec-commands (anyone who can write the repository could run commands on this host); or pass --service auto to use Postfix's own",
                repo.display(),
                super::render::service_commands_text(plan.service_mode.as_ref().unwrap())
            );
        }
        (plan, w)
    } else if crate::engine::planfile::looks_like_plan_file(&args.spec) {
        if let Some(dir) = &args.config_dir {
            if let Some(r) = crate::engine::apply::recover_interrupted(dir)? {
                print_warnings(&[r.to_string()]);
            }
        }
        crate::engine::planfile::load(&args.spec, args.config_dir.as_deref(), args.postfix_version)?
    } else {
        let (_, plan, w) = super::plan::compute(
            &args.spec,
            &config_dir,
            validate,
            args.postfix_version,
            None,
        )?;
        (plan, w)
    };
    print_warnings(&warnings);
    print!("{}", super::render::plan_text(&plan, use_color_stdout()));
    if plan.has_changes() && !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to apply without confirmation: standard input is not a terminal\n  hint: review the plan above and pass --auto-approve");
        }
        print!("\nApply these changes? Only 'yes' will be accepted: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Apply cancelled; nothing was changed.");
            return Ok(1);
        }
    }
    let service = args
        .service
        .clone()
        .or_else(|| plan.service_mode.clone())
        .unwrap_or(ServiceMode::Auto);
    let report = apply(&plan, &ApplyOptions::new(service, args.backup, validate))?;
    print_warnings(&report.warnings);
    if report.written.is_empty() {
        return Ok(0);
    }
    println!();
    for f in &report.written {
        println!("Wrote {}.", f.display());
    }
    for b in &report.backup_files {
        println!("Backup: {}.", b.display());
    }
    println!(
        "Service action: {} ({}).",
        report.service.ran, report.service.message
    );
    let s = plan.summary();
    println!(
        "Apply complete: {} added, {} changed, {} removed.",
        s.add, s.change, s.remove
    );
    Ok(0)
}
