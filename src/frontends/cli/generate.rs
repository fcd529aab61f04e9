//! What packaging needs from the CLI: `postform completions SHELL`, the
//! hidden `postform man --out-dir DIR`, and the `--version` text.
//!
//! Everything here is generated from the clap definitions in `mod.rs`, so a
//! new verb or flag shows up in the man pages and completions by itself.
//! `scripts/package` runs both commands to fill the release tarballs and
//! the .deb.

use super::{Cli, CmdResult};
use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches};
use clap_complete::Shell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Print a shell completion script on stdout
///
/// The .deb installs them system-wide. For one user: `postform completions
/// bash > ~/.local/share/bash-completion/completions/postform`; `postform
/// completions zsh > ~/.zfunc/_postform` with `fpath+=(~/.zfunc)` in
/// ~/.zshrc; `postform completions fish >
/// ~/.config/fish/completions/postform.fish`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Write one man page per command (postform.1, postform-plan.1, ...) into
/// DIR, for packagers.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing; pages in it
    /// with the same names are replaced).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

/// The Postfix release series whose parameter catalogs this binary
/// carries, as shown by `--version`: `3.4-3.11`.
pub fn known_postfix_series() -> &'static str {
    crate::catalog::KNOWN_SERIES_RANGE
}

/// The `--version` text after the program name:
/// `0.1.0 (Postfix parameter catalogs: 3.4-3.11)`.
///
/// Starts with the crate version: `scripts/package` compares that word with
/// Cargo.toml's version, so keep it first.
pub fn version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (Postfix parameter catalogs: {})",
            env!("CARGO_PKG_VERSION"),
            known_postfix_series()
        )
    })
}

/// The clap command with the computed version text; the man pages and
/// completions are generated from it.
pub fn command() -> clap::Command {
    Cli::command().version(version_text())
}

/// Parse the process arguments (`Cli::try_parse` with [`command`]).
pub fn parse() -> Result<Cli, clap::Error> {
    let mut matches = command().try_get_matches()?;
    Cli::from_arg_matches_mut(&mut matches)
}

pub fn run_completions(args: CompletionsArgs) -> CmdResult {
    let mut cmd = command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "postform", &mut out);
    out.flush()
        .context("cannot write the completion script to stdout")?;
    Ok(0)
}

pub fn run_man(args: ManArgs) -> CmdResult {
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the man page directory {}; pass an existing or creatable --out-dir",
            dir.display()
        )
    })?;
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    for path in write_pages(&cmd, dir)? {
        println!("{}", path.display());
    }
    Ok(0)
}

/// Writes the page of `cmd` and of each visible subcommand, recursively;
/// returns the paths written.
fn write_pages(cmd: &clap::Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let man = clap_mangen::Man::new(cmd.clone()).manual("postform manual");
    let path = dir.join(man.get_filename());
    let mut bytes = Vec::new();
    man.render(&mut bytes)
        .with_context(|| format!("cannot render the man page of `{}`", cmd.get_name()))?;
    std::fs::write(&path, bytes)
        .with_context(|| format!("cannot write the man page {}", path.display()))?;
    let mut written = vec![path];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.extend(write_pages(sub, dir)?);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_text_starts_with_the_crate_version_and_names_the_catalogs() {
        let text = version_text();
        assert_eq!(
            text.split_whitespace().next(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        let first = crate::catalog::KNOWN_SERIES[0];
        let last = crate::catalog::KNOWN_SERIES[crate::catalog::KNOWN_SERIES.len() - 1];
        assert!(
            text.ends_with(&format!("(Postfix parameter catalogs: {first}-{last})")),
            "{text}"
        );
    }

    #[test]
    fn the_clap_definitions_are_consistent() {
        command().debug_assert();
    }
}
