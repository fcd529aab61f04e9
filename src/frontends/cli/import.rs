//! `postform import`: write a spec that reproduces the current main.cf.

use super::{print_warnings, CmdResult};
use crate::catalog::PostfixVersion;
use crate::engine::effective_config::EffectiveConfig;
use crate::engine::equivalence::is_default;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

/// Write a spec that reproduces the current configuration: main.cf,
/// master.cf's services and the lookup tables they name (`maps:`).
/// Applying it to the same host is "No changes". Credentials (inline ones
/// and secret tables) only with --include-secrets.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Postfix config directory holding main.cf and master.cf.
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
    /// Only parameters whose value differs from Postfix's default.
    #[arg(long)]
    pub non_default_only: bool,
    /// Also write credentials: parameters that hold them inline (an
    /// `inline:` or `static:` table in a `*_password_maps` value), and the
    /// values of secret tables (a table a `*password*` parameter names, or
    /// one others cannot read), marked `secret: true`. Without it they are
    /// left out, with a warning or a comment. Keep such a spec out of
    /// version control, or move the values to {file: ...} / {env: ...}
    /// references (docs/tables.md).
    #[arg(long)]
    pub include_secrets: bool,
    /// Write the spec to this file instead of standard output.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Check against the parameters of this Postfix version (defaults,
    /// for --non-default-only; e.g. 3.10 or
    /// 3.10.13; `postform --version` lists the known series), instead of
    /// this host's postconf.
    #[arg(long, value_name = "VERSION", value_parser = super::parse_postfix_version)]
    pub postfix_version: Option<PostfixVersion>,
}

pub fn run(args: ImportArgs) -> CmdResult {
    let (target, version_warnings) = crate::engine::version::choose_postfix(
        args.postfix_version,
        None,
        crate::engine::version::HostPostfix::Local,
    );
    print_warnings(&version_warnings);
    let catalog = target.catalog;
    let live = super::read_config_dir(&args.config_dir)?;
    let cfg = EffectiveConfig::from_live(&live, &catalog)
        .with_context(|| format!("reading {}", args.config_dir.display()))?;
    let imported = crate::engine::tables::import_tables(&live, &catalog, args.include_secrets);
    let tables =
        crate::engine::spec::render_tables(&imported.tables, &imported.aliases, &imported.left_out);
    let (text, mut warnings) = cfg.to_spec_yaml_with(
        &catalog,
        args.non_default_only,
        args.include_secrets,
        &tables,
    );
    warnings.extend(imported.warnings);
    // The spec names each parameter once; main.cf may define it more
    // often. Applying the spec leaves the dead earlier definitions (a
    // plan says so; purge removes them). One pass over the entries: a
    // count per name would make import quadratic.
    let mut counts: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for e in cfg.main_cf.entries() {
        *counts.entry(e.name.as_slice()).or_default() += 1;
    }
    for (name, value) in &cfg.parameters {
        let count = counts.get(name.as_bytes()).copied().unwrap_or(0);
        if count > 1 && !(args.non_default_only && is_default(&catalog, name, value)) {
            warnings.push(format!(
                "{name} is defined {count} times in main.cf; the spec has the last (effective) value, and applying it leaves the {} dead earlier definition(s) as they are (purge: true removes them)",
                count - 1
            ));
        }
    }
    print_warnings(&warnings);
    match &args.out {
        Some(path) => {
            crate::io::atomic::write_atomic(path, text.as_bytes())?;
            eprintln!("Wrote {}.", path.display());
        }
        None => print!("{text}"),
    }
    Ok(0)
}
