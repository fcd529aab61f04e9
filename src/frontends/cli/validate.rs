//! `postform validate`: offline validation of spec files, for CI.

use super::{print_warnings, CmdResult};
use crate::catalog::Catalog;
use crate::engine::spec::SpecErrors;
use crate::frontends::gitops::{default_jobs, validate_repo, Repo};
use clap::Args;
use std::path::PathBuf;

/// Validate spec files against the parameter catalog (and the config
/// dir's master.cf for service-derived names). Reports every error; exits
/// 1 when there is any.
///
/// A directory is a GitOps repository: every spec in it (hosts/*.yaml
/// with the layers they extend, groups/*.yaml, defaults.yaml) is checked,
/// each host against its snapshot (REPO/snapshots/<host>/master.cf and
/// main.cf) when there is one.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files to validate, or GitOps repository directories.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Config directory whose master.cf and main.cf give extra valid names.
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
    /// For a repository: the snapshots folder (default REPO/snapshots).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// For a repository: worker threads (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

pub fn run(args: ValidateArgs) -> CmdResult {
    let catalog = Catalog::host();
    // Read once for every spec file named (not for repositories, which
    // validate against their snapshots).
    let live = std::cell::OnceCell::new();
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    // Spec files named on the command line, and (path, files, hosts) of
    // each repository.
    let mut files = 0;
    let mut repos = Vec::new();
    for path in &args.specs {
        if path.is_dir() {
            let repo = Repo::open(path)?;
            let snapshots = args
                .snapshots
                .clone()
                .unwrap_or_else(|| repo.default_snapshots());
            let jobs = args.jobs.unwrap_or_else(default_jobs).max(1);
            let result = validate_repo(&repo, &snapshots, &catalog, jobs)?;
            warnings.extend(result.warnings.iter().cloned());
            all.extend(result.rendered_errors());
            repos.push((path.clone(), result.files, result.hosts));
            continue;
        }
        files += 1;
        // Loading and validation together: every error of the file at once.
        let live = match live.get() {
            Some(l) => l,
            None => {
                let read = super::read_config_dir(&args.config_dir)?;
                live.get_or_init(|| read)
            }
        };
        match crate::engine::validate::load_and_validate(path, live, &catalog) {
            Ok((spec, w)) => {
                warnings.extend(w);
                if let Some(mode) = &spec.service {
                    let text = super::render::service_commands_text(mode);
                    if !text.is_empty() {
                        print!("{}: {text}", path.display());
                    }
                }
            }
            Err(SpecErrors(e)) => all.extend(e.iter().map(ToString::to_string)),
        }
    }
    print_warnings(&warnings);
    if all.is_empty() {
        for (path, n, hosts) in &repos {
            println!(
                "{}: {n} spec file(s), {hosts} host(s): valid.",
                path.display()
            );
        }
        if files > 0 || repos.is_empty() {
            println!("{files} spec file(s) valid.");
        }
        Ok(0)
    } else {
        eprintln!("{}", all.join("\n"));
        eprintln!("{} error(s).", all.len());
        Ok(1)
    }
}
