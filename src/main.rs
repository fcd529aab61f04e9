//! The `postform` binary: CLI verbs, or an Ansible binary module when
//! Ansible runs it (as `AnsiballZ_main_cf <args-file>`).

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let argv0 = argv.first().cloned().unwrap_or_default();
    if postform::ansible::is_module_invocation(&argv0, &argv[1..]) {
        let (result, code) = postform::ansible::run_module(std::path::Path::new(&argv[1]));
        println!("{result}");
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    cli::main()
}
