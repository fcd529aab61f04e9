//! The `postform` binary: CLI verbs, or an Ansible binary module when
//! Ansible runs it (as `AnsiballZ_main_cf <args-file>`).

use postform::frontends::{ansible, cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Lossy: a non-UTF-8 argument must not panic here; clap re-reads the
    // real arguments for the CLI.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let argv0 = argv.first().cloned().unwrap_or_default();
    let rest = argv.get(1..).unwrap_or(&[]);
    if ansible::is_module_invocation(&argv0, rest) {
        let (result, code) = ansible::run_module(std::path::Path::new(&argv[1]));
        println!("{result}");
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    cli::main()
}
