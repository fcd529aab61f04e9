//! `postform schema`: print the JSON Schema of spec files.

use super::CmdResult;
use clap::Args;

/// Print the JSON Schema for spec files (every Postfix parameter as a
/// property), for editor completion.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> CmdResult {
    // The text ends with a newline already.
    print!("{}", crate::engine::schema::spec_schema_json());
    Ok(0)
}
