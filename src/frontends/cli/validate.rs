//! `postform validate`: offline validation of spec files, for CI.

use super::{print_warnings, CmdResult};
use crate::catalog::PostfixVersion;
use crate::engine::spec::SpecErrors;
use crate::engine::version::{choose_postfix, HostPostfix};
use crate::frontends::gitops::{default_jobs, validate_repo, FleetPostfix, HostError, Repo};
use clap::Args;
use std::path::PathBuf;

/// Validate spec files against the parameter catalog (and the config
/// dir's master.cf for service-derived names). Reports every error; exits
/// 1 when there is any.
///
/// The Postfix version checked against: --postfix-version, else this
/// host's `postconf -d`, else the spec's postfix_version, else the
/// built-in catalog (Debian's Postfix 3.7.11).
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
    /// Check against the parameters of this Postfix version (e.g. 3.10 or
    /// 3.10.13; `postform --version` lists the known series), whatever
    /// this host's postconf or the spec's postfix_version say (for a repository: for
    /// every host, whatever its snapshot or spec say).
    #[arg(long, value_name = "VERSION", value_parser = super::parse_postfix_version)]
    pub postfix_version: Option<PostfixVersion>,
    /// Print JSON on stdout: every error (with its file, line, column,
    /// hint, the policy id of a policy violation and the hosts it
    /// concerns), the warnings and what was checked. Exit codes as without.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ValidateArgs) -> CmdResult {
    // This machine's catalog, read once: the host's for spec files, the
    // fallback for repository hosts whose snapshot and spec name no
    // version.
    let local = crate::engine::version::local_postfix();
    // Read once for every spec file named (not for repositories, which
    // validate against their snapshots).
    let live = std::cell::OnceCell::new();
    let mut all = Vec::new();
    // The same errors as JSON (--json).
    let mut all_json: Vec<serde_json::Value> = Vec::new();
    let mut warnings = Vec::new();
    // Spec files named on the command line, and (path, files, hosts,
    // Postfix versions line) of each repository.
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
            let (postfix, w) = FleetPostfix::from_local(args.postfix_version, &local);
            warnings.extend(w);
            let result = validate_repo(&repo, &snapshots, &postfix, jobs)?;
            warnings.extend(result.warnings.iter().cloned());
            all.extend(result.rendered_errors());
            all_json.extend(result.errors_json());
            repos.push((
                path.clone(),
                result.files,
                result.hosts,
                result.versions_line(),
            ));
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
        // The spec's postfix_version may choose the catalog: load first
        // (what loads; its errors are reported with validation's).
        let (spec, load_errors) = crate::engine::spec::Spec::load_partial(path);
        let host = match &local {
            Ok(c) => HostPostfix::Probed(c.as_ref()),
            Err(_) => HostPostfix::Local,
        };
        let (target, w) = choose_postfix(args.postfix_version, Some(&spec), host);
        warnings.extend(w);
        match crate::engine::validate::validate_partial(spec, load_errors, live, &target.catalog) {
            Ok((spec, w)) => {
                warnings.extend(w);
                if let Some(mode) = &spec.service {
                    let text = super::render::service_commands_text(mode);
                    if !text.is_empty() && !args.json {
                        print!("{}: {text}", path.display());
                    }
                }
            }
            Err(SpecErrors(e)) => {
                all.extend(e.iter().map(ToString::to_string));
                all_json.extend(e.into_iter().map(|e| HostError::from(e).to_json(&[])));
            }
        }
    }
    if args.json {
        let json = serde_json::json!({
            "format_version": 1,
            "valid": all.is_empty(),
            "errors": all_json,
            "warnings": warnings,
            "spec_files": files,
            "repositories": repos.iter().map(|(path, n, hosts, _)| serde_json::json!({
                "path": path.display().to_string(),
                "spec_files": n,
                "hosts": hosts,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(if all.is_empty() { 0 } else { 1 });
    }
    print_warnings(&warnings);
    if all.is_empty() {
        for (path, n, hosts, versions) in &repos {
            println!(
                "{}: {n} spec file(s), {hosts} host(s): valid.",
                path.display()
            );
            if let Some(line) = versions {
                println!("  {line}");
            }
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
