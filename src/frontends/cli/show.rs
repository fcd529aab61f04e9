//! `postform show`: the effective parameters, like `postconf -n`, and
//! the services, like `postconf -M`.

use super::{print_warnings, CmdResult};
use crate::catalog::{Catalog, CatalogSource};
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
    /// Print JSON: parameters, warnings, the raw files and the host's
    /// Postfix version (a snapshot the fleet plan can read).
    #[arg(long)]
    pub json: bool,
    /// Also list the lookup tables main.cf and master.cf name (`type:path`),
    /// with the state of each source (entries) and index (current,
    /// missing, older than its source). Never their values. With --json:
    /// a `tables` array.
    #[arg(long)]
    pub tables: bool,
}

pub fn run(args: ShowArgs) -> CmdResult {
    let catalog = Catalog::host();
    let live = super::read_config_dir(&args.config_dir)?;
    let cfg = EffectiveConfig::from_live(&live, &catalog)
        .with_context(|| format!("reading {}", args.config_dir.display()))?;
    let tables = args
        .tables
        .then(|| crate::engine::tables::shown_tables(&live, &catalog));
    if args.json {
        let mut json = cfg.to_json();
        // The host's Postfix version (from its postconf), so that a GitOps
        // snapshot says which catalog the host's spec is checked against.
        json["postfix_version"] = match catalog.source() {
            CatalogSource::Postconf => catalog
                .postfix_version()
                .map_or(serde_json::Value::Null, |v| v.to_string().into()),
            CatalogSource::Builtin => serde_json::Value::Null,
        };
        if let Some(t) = &tables {
            json["tables"] = serde_json::to_value(t)?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(0);
    }
    print_warnings(&cfg.warnings);
    let mut out = std::io::stdout().lock();
    out.write_all(&cfg.postconf_n_masked())?;
    if let Some(services) = cfg.services_text() {
        writeln!(out)?;
        out.write_all(services.as_bytes())?;
    }
    if let Some(tables) = tables {
        writeln!(out)?;
        for t in tables {
            let mode = t.mode.map(|m| format!(", mode {m}")).unwrap_or_default();
            let index = t.index.map(|i| format!("; index {i}")).unwrap_or_default();
            writeln!(
                out,
                "{}  ({}{mode}{index}; named by {})",
                t.table,
                t.source,
                t.named_by.join(", ")
            )?;
        }
    }
    Ok(0)
}
