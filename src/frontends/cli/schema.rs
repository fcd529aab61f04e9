//! `postform schema`: print the JSON Schema of spec files.

use super::CmdResult;
use crate::catalog::PostfixVersion;
use clap::Args;

/// Print the JSON Schema for spec files (every Postfix parameter as a
/// property), for editor completion.
///
/// Without --postfix-version: the parameters of the built-in catalog
/// (Debian's Postfix 3.7.11), the same on every machine.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The parameters and value rules of this Postfix version instead (e.g.
    /// 3.10; `postform --version` lists the known series).
    #[arg(long, value_name = "VERSION", value_parser = super::parse_postfix_version)]
    pub postfix_version: Option<PostfixVersion>,
}

pub fn run(args: SchemaArgs) -> CmdResult {
    if let Some(v) = args.postfix_version {
        let matched = crate::catalog::SeriesMatch::for_version(v);
        if !matched.is_exact() {
            super::print_warnings(&[matched.to_string()]);
        }
    }
    // The text ends with a newline already.
    print!(
        "{}",
        crate::engine::schema::spec_schema_json_for(args.postfix_version)
    );
    Ok(0)
}
