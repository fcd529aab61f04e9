//! `postform validate`: offline validation of spec files, for CI.

use super::{print_warnings, CmdResult};
use clap::Args;
use postform::catalog::Catalog;
use postform::spec::{Spec, SpecErrors};
use std::path::PathBuf;

/// Validate spec files against the parameter catalog (and the config
/// dir's master.cf for service-derived names). Reports every error; exits
/// 1 when there is any.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Spec files to validate.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// Config directory whose master.cf and main.cf give extra valid names.
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/postfix")]
    pub config_dir: PathBuf,
}

pub fn run(args: ValidateArgs) -> CmdResult {
    let catalog = Catalog::host();
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    for path in &args.specs {
        match Spec::load(path) {
            Ok(spec) => match postform::validate::validate(&spec, &args.config_dir, &catalog) {
                Ok(w) => warnings.extend(w),
                Err(SpecErrors(e)) => all.extend(e),
            },
            Err(SpecErrors(e)) => all.extend(e),
        }
    }
    print_warnings(&warnings);
    if all.is_empty() {
        println!("{} spec file(s) valid.", args.specs.len());
        Ok(0)
    } else {
        let n = all.len();
        eprintln!("{}", SpecErrors(all));
        eprintln!("{n} error(s).");
        Ok(1)
    }
}
