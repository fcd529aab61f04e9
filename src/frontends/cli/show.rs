//! `postform show`: the effective parameters, like `postconf -n`, and
//! the services, like `postconf -M`.

use super::{print_warnings, CmdResult};
use crate::catalog::Catalog;
use crate::engine::effective_config::EffectiveConfig;
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Print the parameters main.cf sets, as Postfix sees them (last
/// definition wins, values normalized), like `postconf -n`; then, after a
/// blank line, master.cf's services one per line, like `postconf -M`.
/// Warnings go to stderr.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Postfix config directory holding main.cf and master.cf.
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
    /// Print JSON: parameters, warnings, and the raw files (a snapshot the
    /// fleet plan can read).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ShowArgs) -> CmdResult {
    let catalog = Catalog::host();
    let live = super::read_config_dir(&args.config_dir)?;
    let cfg = EffectiveConfig::from_live(&live, &catalog)
        .with_context(|| format!("reading {}", args.config_dir.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&cfg.to_json())?);
        return Ok(0);
    }
    print_warnings(&cfg.warnings);
    let mut out = std::io::stdout().lock();
    out.write_all(&cfg.postconf_n())?;
    if let Some(services) = cfg.services_text() {
        writeln!(out)?;
        out.write_all(services.as_bytes())?;
    }
    Ok(0)
}
