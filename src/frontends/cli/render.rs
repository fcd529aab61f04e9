//! Plans as text for a terminal (Terraform style), with ANSI colours when
//! asked: the library builds plans, the front end shows them.

use crate::engine::plan::{ChangeKind, FilePlan, Plan};
use crate::engine::service::{ServiceAction, ServiceMode};

/// `s` in the ANSI colour `code`, or as is.
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color && !code.is_empty() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The whole plan: per changed file its changes and diff, then the spec's
/// own service commands (they run as root: a reviewer must see them),
/// then the closing line.
pub fn plan_text(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    if !plan.has_changes() {
        out.push_str(&plan.closing_line());
        out.push('\n');
        return out;
    }
    for file in plan.changed_files() {
        out.push_str(&file_text(file, color));
    }
    if let Some(mode) = &plan.service_mode {
        out.push_str(&service_commands_text(mode));
    }
    out.push_str(&plan.closing_line());
    out.push('\n');
    out
}

/// One file: "postform will change PATH:", the changes, the diff.
fn file_text(file: &FilePlan, color: bool) -> String {
    let mut out = format!("postform will change {}:\n\n", file.path.display());
    let names: Vec<String> = file.changes.iter().map(|c| c.target.to_string()).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (c, name) in file.changes.iter().zip(&names) {
        let q = |v: &Option<String>| match v {
            Some(v) => format!("{v:?}"),
            None => "(unset)".to_string(),
        };
        let dups = match c.removed_duplicates {
            0 => String::new(),
            1 => "; 1 dead duplicate removed".to_string(),
            n => format!("; {n} dead duplicates removed"),
        };
        let (sign, code, what) = match c.kind {
            ChangeKind::Add => ("+", "32", q(&c.after)),
            ChangeKind::Change => (
                "~",
                "33",
                format!("{} -> {}{dups}", q(&c.before), q(&c.after)),
            ),
            ChangeKind::Remove => ("-", "31", {
                // What Postfix uses once the definition is gone: "empty"
                // and "default" are never confused.
                let default = match (c.target.parameter(), c.default.as_deref()) {
                    (None, _) => "(removed)".to_string(),
                    (Some(_), Some("")) => "(Postfix default: empty)".to_string(),
                    (Some(_), Some(d)) => format!("(Postfix default: {d})"),
                    (Some(_), None) => "(Postfix default)".to_string(),
                };
                match c.removed_duplicates {
                    0 => format!("{} -> {default}", q(&c.before)),
                    n => format!(
                        "{} -> {default}; all {} definitions removed",
                        q(&c.before),
                        n + 1
                    ),
                }
            }),
            ChangeKind::Dedupe => ("~", "33", format!("{} unchanged{dups}", q(&c.after))),
        };
        let needs = match c.action {
            ServiceAction::None => "no reload needed".to_string(),
            a => format!("needs {a}"),
        };
        out.push_str(&format!(
            "  {} {name:width$}  {what}  ({needs})\n",
            paint(color, code, sign),
        ));
    }
    if let Some(i) = file.table.as_ref().and_then(|t| t.index.as_ref()) {
        if let Some(why) = &i.rebuild {
            out.push_str(&format!(
                "  {} is rebuilt ({why}) under a temporary name and renamed into place\n",
                i.path.display()
            ));
        }
    }
    out.push('\n');
    for line in file.unified_diff().lines() {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else {
            ""
        };
        out.push_str(&paint(color, code, &visible(line)));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// A diff line with control characters (ESC, CR, ...) shown as `\u{1b}`
/// escapes: bytes from a file must not move the terminal's cursor.
fn visible(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.chars().any(|c| c.is_control() && c != '\t') {
        return std::borrow::Cow::Borrowed(line);
    }
    std::borrow::Cow::Owned(
        line.chars()
            .map(|c| {
                if c.is_control() && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The commands a spec's `service:` brings, as `plan` and `validate` show
/// them (empty when it brings none).
pub fn service_commands_text(mode: &ServiceMode) -> String {
    let ServiceMode::Command { reload, restart } = mode else {
        return String::new();
    };
    let mut out = String::from("The spec's service commands (run as root, without a shell):\n");
    for (what, argv) in [("reload", reload), ("restart", restart)] {
        if !argv.is_empty() {
            out.push_str(&format!("  {what}: {}\n", shell_words(argv)));
        }
    }
    out.push('\n');
    out
}

/// argv as a shell would need it typed (for display only).
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
