//! `postform plan`: show exactly what would change, and the service action.

use super::{print_warnings, use_color_stdout, CmdResult};

use crate::catalog::PostfixVersion;
use crate::engine::plan::Plan;
use crate::engine::spec::Spec;
use crate::engine::version::{choose_postfix, HostPostfix};
use crate::frontends::gitops::{
    default_host_name, default_jobs, fleet_plan, FleetOptions, FleetPostfix, Repo,
};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Show what applying a spec would change in main.cf, master.cf, lookup
/// tables and aliases, and which service action (reload, restart, none)
/// it needs. Changes nothing.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file (YAML, short or full form).
    #[arg(default_value = "postform.yaml", conflicts_with = "repo")]
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
    /// A GitOps repository (hosts/<host>.yaml, groups/, defaults.yaml):
    /// plan this host's spec (see --host), or every host with --all.
    #[arg(long, value_name = "REPO")]
    pub repo: Option<PathBuf>,
    /// With --repo: the host whose spec to plan (default: this machine's
    /// FQDN from `hostname -f`, else /etc/hostname).
    #[arg(long, value_name = "NAME", requires = "repo", conflicts_with = "all")]
    pub host: Option<String>,
    /// With --repo: plan every host against its snapshot (fleet plan) and
    /// print a per-host summary. Always exits 0 (no changes), 2 (some host
    /// would change) or 1 (errors), like --detailed-exitcode.
    #[arg(long, requires = "repo", conflicts_with = "out")]
    pub all: bool,
    /// With --all: captured configs, DIR/<host>/main.cf (+ master.cf) or
    /// DIR/<host>.json from `postform show --json` (default REPO/snapshots).
    #[arg(long, value_name = "DIR", requires = "all")]
    pub snapshots: Option<PathBuf>,
    /// With --all: worker threads (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N", requires = "all")]
    pub jobs: Option<usize>,
    /// Check against the parameters of this Postfix version (e.g. 3.10 or
    /// 3.10.13; `postform --version` lists the known series), whatever
    /// this host's postconf or the spec's postfix_version say (with --all:
    /// for every host, whatever its snapshot or spec say).
    #[arg(long, value_name = "VERSION", value_parser = super::parse_postfix_version)]
    pub postfix_version: Option<PostfixVersion>,
}

pub fn run(args: PlanArgs) -> CmdResult {
    if args.all {
        return run_fleet(&args);
    }
    let in_repo = match &args.repo {
        Some(repo) => Some(host_spec(repo, args.host.as_deref())?),
        None => None,
    };
    let spec_path = in_repo
        .as_ref()
        .map_or_else(|| args.spec.clone(), |h| h.spec.clone());
    let validate = !args.no_validate;
    let (spec, plan, warnings) = match compute(
        &spec_path,
        &args.config_dir,
        validate,
        args.postfix_version,
        in_repo.as_ref(),
    ) {
        Ok(planned) => planned,
        Err(e) => {
            if args.json {
                print_refusal_json(&e, &args.config_dir)?;
            }
            return Err(e);
        }
    };
    print_warnings(&warnings);
    if args.json {
        // Every warning (validation's too), not only the live files'.
        let mut json = plan.to_json();
        json["warnings"] = serde_json::json!(warnings);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", super::render::plan_text(&plan, use_color_stdout()));
    }
    if let Some(out) = &args.out {
        crate::engine::planfile::save(
            &plan,
            &spec_path,
            &spec,
            validate,
            args.postfix_version,
            out,
        )?;
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

/// With `--json`, a plan refused by a safety policy still prints a
/// document on stdout (`refused: true` and every finding), so that a CI
/// job reads why; other errors print nothing there.
fn print_refusal_json(e: &anyhow::Error, config_dir: &Path) -> anyhow::Result<()> {
    if let Some(crate::engine::converge::CheckedPlanError::Refused(findings)) = e.downcast_ref() {
        let json = serde_json::json!({
            "format_version": 2,
            "config_dir": config_dir.display().to_string(),
            "refused": true,
            "changed": false,
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(())
}

/// Load, validate and plan a spec against a config dir read once, with
/// the catalog of the Postfix version `--postfix-version`, this host's
/// postconf or the spec says ([`choose_postfix`]).
pub fn compute(
    spec_path: &Path,
    config_dir: &Path,
    validate: bool,
    postfix_version: Option<PostfixVersion>,
    in_repo: Option<&HostSpec>,
) -> anyhow::Result<(Spec, Plan, Vec<String>)> {
    let spec = Spec::load(spec_path)?;
    let (target, mut warnings) = choose_postfix(postfix_version, Some(&spec), HostPostfix::Local);
    let mut live = super::read_config_dir(config_dir)?;
    live.read_tables(&crate::engine::tables::wanted_tables(
        &spec,
        &live,
        &target.catalog,
    ));
    // In a repository: its policies.yaml (none: no repository policies).
    let policies = match in_repo {
        Some(h) => h
            .repo
            .load_policies(&target.catalog)
            .map_err(|(e, _)| crate::frontends::gitops::RepoError::Policies(e))?,
        None => None,
    };
    let repo_host =
        in_repo
            .zip(policies.as_ref())
            .map(|(h, policies)| crate::engine::converge::RepoHost {
                host: &h.host,
                policies,
            });
    let (plan, more) = match crate::engine::converge::validate_and_plan_in_repo(
        &spec,
        &live,
        &target.catalog,
        validate,
        repo_host,
    ) {
        Ok(planned) => planned,
        Err(e) => {
            // Which Postfix the errors are about matters most when
            // there are errors (the spec and the host disagree).
            super::print_warnings(&warnings);
            return Err(e.into());
        }
    };
    warnings.extend(more);
    Ok((spec, plan, warnings))
}

/// A host's spec in a repository (pull mode).
pub struct HostSpec {
    pub repo: Repo,
    /// The host's name as the repository has it (`hosts/<name>.yaml`).
    pub host: String,
    pub spec: PathBuf,
}

/// The spec of `host` (default: this machine's name) in the repository.
pub fn host_spec(repo: &Path, host: Option<&str>) -> anyhow::Result<HostSpec> {
    let repo = Repo::open(repo)?;
    let name = match host {
        Some(h) => h.to_string(),
        None => default_host_name()?,
    };
    let entry = repo.host(&name)?;
    if entry.name != name {
        // The short-name fallback: say which file stands for this host.
        super::print_warnings(&[format!(
            "host {name}: no hosts/{name}.yaml; using {} (the first label of the name)",
            entry.spec.display()
        )]);
    }
    Ok(HostSpec {
        repo,
        host: entry.name,
        spec: entry.spec,
    })
}

/// `plan --repo REPO --all`: every host against its snapshot.
fn run_fleet(args: &PlanArgs) -> CmdResult {
    let Some(root) = &args.repo else {
        anyhow::bail!("--all needs --repo REPO");
    };
    let repo = Repo::open(root)?;
    // One `postconf -d` for the whole fleet, not one per host: the
    // catalog of hosts whose snapshot and spec name no version.
    let (postfix, mut warnings) = FleetPostfix::local(args.postfix_version);
    let opts = FleetOptions {
        snapshots: args
            .snapshots
            .clone()
            .unwrap_or_else(|| repo.default_snapshots()),
        validate: !args.no_validate,
        keep_diffs: args.json,
        jobs: args.jobs.unwrap_or_else(default_jobs).max(1),
    };
    let total = repo.hosts()?.len();
    let done = AtomicUsize::new(0);
    let fleet = with_progress(total, &done, || fleet_plan(&repo, &postfix, &opts, &done))?;
    for h in &fleet.hosts {
        warnings.extend(h.warnings.iter().map(|w| format!("{}: {w}", h.host)));
    }
    for name in &fleet.orphan_snapshots {
        warnings.push(format!(
            "{}: a snapshot of {name}, but the repository has no hosts/{name}.yaml",
            opts.snapshots.display()
        ));
    }
    print_warnings(&warnings);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fleet.to_json())?);
    } else {
        print!("{}", fleet.render_text(use_color_stdout()));
    }
    Ok(fleet.exit_code())
}

/// Run `work`, drawing a progress bar on stderr when it is a terminal and
/// the run takes longer than a moment. `done` is the work's counter.
fn with_progress<R>(total: usize, done: &AtomicUsize, work: impl FnOnce() -> R) -> R {
    if total == 0 || !std::io::stderr().is_terminal() {
        return work();
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let start = Instant::now();
            let mut drawn = false;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if start.elapsed() < Duration::from_millis(300) {
                    continue;
                }
                eprint!(
                    "{}",
                    progress_line(done.load(Ordering::Relaxed), total, start.elapsed())
                );
                drawn = true;
            }
            if drawn {
                // Clear the bar so the table starts on a clean line.
                eprint!("\r\x1b[2K");
            }
        });
        let result = work();
        finished.store(true, Ordering::Relaxed);
        result
    })
}

/// `\r[#######.............] 3500/10000 hosts  35%  1.2s`
fn progress_line(done: usize, total: usize, elapsed: Duration) -> String {
    const WIDTH: usize = 30;
    let done = done.min(total);
    let filled = done * WIDTH / total.max(1);
    format!(
        "\r\x1b[2K[{}{}] {done}/{total} hosts {:>3}%  {:.1}s",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        done * 100 / total.max(1),
        elapsed.as_secs_f64()
    )
}
