//! Command-line front end: one file per verb, each thin over the library.
//!
//! Exit codes (Terraform's): 0 success / no changes, 1 error,
//! 2 changes present (`plan --detailed-exitcode`).

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

mod apply;
mod generate;
mod import;
mod plan;
mod render;
mod resolve;
mod schema;
mod show;
mod validate;

/// Keep Postfix's main.cf in a declared state: plan the exact change,
/// apply it atomically, reload or restart Postfix only when needed.
#[derive(Debug, Parser)]
#[command(name = "postform", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Validate(validate::ValidateArgs),
    Show(show::ShowArgs),
    Import(import::ImportArgs),
    Schema(schema::SchemaArgs),
    Completions(generate::CompletionsArgs),
    #[command(hide = true)]
    Man(generate::ManArgs),
    Resolve(resolve::ResolveArgs),
}

/// A command's result: exit code on success.
pub type CmdResult = anyhow::Result<u8>;

pub fn main() -> ExitCode {
    // Usage errors exit 1: 2 means "changes present" (Terraform's
    // --detailed-exitcode), so clap's default 2 would be misread.
    let cli = match generate::parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Plan(a) => plan::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Show(a) => show::run(a),
        Command::Import(a) => import::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Completions(a) => generate::run_completions(a),
        Command::Man(a) => generate::run_man(a),
        Command::Resolve(a) => resolve::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", render_error(&e));
            ExitCode::from(1)
        }
    }
}

/// "Error: ..." with the cause chain.
fn render_error(e: &anyhow::Error) -> String {
    let color = use_color_stderr();
    let head = if color {
        "\x1b[1;31mError:\x1b[0m"
    } else {
        "Error:"
    };
    let mut out = format!("{head} {e}");
    for cause in e.chain().skip(1) {
        // Most messages already end with their cause: say it once.
        let cause = cause.to_string();
        if !out.contains(&cause) {
            out.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    out
}

/// Colour only on a terminal, and never when NO_COLOR is set.
pub fn use_color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn use_color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Read a config directory once, after finishing or undoing a
/// transaction an interrupted postform run left there (said as a warning).
pub fn read_config_dir(dir: &std::path::Path) -> anyhow::Result<crate::engine::live::LiveConfig> {
    if let Some(r) = crate::engine::apply::recover_interrupted(dir)? {
        print_warnings(&[r.to_string()]);
    }
    Ok(crate::engine::live::LiveConfig::read(dir))
}

/// `--postfix-version X`: check against this Postfix version's parameters
/// (see [`crate::engine::version`] for how it ranks against the host's
/// `postconf -d` and the spec's `postfix_version`).
fn parse_postfix_version(text: &str) -> Result<crate::catalog::PostfixVersion, String> {
    crate::catalog::PostfixVersion::parse(text).map_err(|e| e.to_string())
}

/// Print warnings on stderr.
pub fn print_warnings(warnings: &[String]) {
    use std::io::Write;
    if warnings.is_empty() {
        return;
    }
    let label = if use_color_stderr() {
        "\x1b[33mwarning:\x1b[0m"
    } else {
        "warning:"
    };
    // One write for all of them (stderr is unbuffered: an import of
    // 100,000 parameters with a warning each made 300,000 writes).
    let mut text = String::new();
    for w in warnings {
        text.push_str(label);
        text.push(' ');
        text.push_str(w);
        text.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
