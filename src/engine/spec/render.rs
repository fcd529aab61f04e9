//! The YAML writer `postform import` uses: a short-form spec, one
//! `name: value` line per parameter (lists as `- item` lines).
//!
//! A string is written plain when postform's loader reads the plain text
//! back as the same string ([`super::yaml::resolve_plain`]) and YAML's
//! syntax allows it; otherwise single-quoted, or double-quoted with escapes
//! when it holds characters a single-quoted scalar cannot. Reading the
//! output with [`super::Spec::from_yaml_str`] gives back every value
//! exactly (tested below and by tests/import_roundtrip.rs).

use super::yaml::{is_printable, resolve_plain, Value};
use super::SpecValue;
use std::fmt::Write;

/// Render a short-form spec (a plain map of parameters) as YAML, after a
/// comment header.
pub fn render_short_form(header: &str, entries: &[(String, SpecValue)]) -> String {
    let mut out = String::from(header);
    if entries.is_empty() {
        out.push_str("{}\n");
        return out;
    }
    for (name, value) in entries {
        out.push_str(&scalar(name));
        out.push(':');
        match value {
            SpecValue::Str(s) => {
                out.push(' ');
                out.push_str(&scalar(s));
            }
            SpecValue::Bool(b) => {
                let _ = write!(out, " {b}");
            }
            SpecValue::Int(i) => {
                let _ = write!(out, " {i}");
            }
            SpecValue::List(items) if items.is_empty() => out.push_str(" []"),
            SpecValue::List(items) => {
                for item in items {
                    out.push_str("\n- ");
                    out.push_str(&scalar(item));
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Render a full-form spec: `main:` with the parameters, then `master:`
/// with every service (each field, the command, the arguments and the
/// `-o` options), after a comment header.
pub fn render_full_form(
    header: &str,
    entries: &[(String, SpecValue)],
    services: &[(super::ServiceKey, super::MasterService)],
) -> String {
    let mut out = String::from(header);
    out.push_str("main:");
    if entries.is_empty() {
        out.push_str(" {}\n");
    } else {
        out.push('\n');
        for (name, value) in entries {
            value_line(&mut out, "  ", name, value);
        }
    }
    if services.is_empty() {
        return out;
    }
    out.push_str("master:\n");
    for (key, s) in services {
        let _ = writeln!(out, "  {}:", scalar(&key.to_string()));
        let field = |out: &mut String, name: &str, v: Option<String>| {
            if let Some(v) = v {
                // Counts read as numbers (`maxproc: 100`), the rest as text.
                let plain = !v.is_empty() && v.len() < 10 && v.bytes().all(|b| b.is_ascii_digit());
                let text = if plain { v.clone() } else { scalar(&v) };
                let _ = writeln!(out, "    {name}: {text}");
            }
        };
        field(
            &mut out,
            "private",
            s.private.map(|f| f.as_str().to_string()),
        );
        field(&mut out, "unpriv", s.unpriv.map(|f| f.as_str().to_string()));
        field(&mut out, "chroot", s.chroot.map(|f| f.as_str().to_string()));
        field(&mut out, "wakeup", s.wakeup.map(|w| w.to_string()));
        field(&mut out, "maxproc", s.maxproc.map(|m| m.to_string()));
        field(&mut out, "command", s.command.clone());
        if let Some(args) = &s.args {
            if args.is_empty() {
                out.push_str("    args: []\n");
            } else {
                out.push_str("    args:\n");
                for a in args {
                    let _ = writeln!(out, "    - {}", scalar(a));
                }
            }
        }
        let options: Vec<(&String, &SpecValue)> = s
            .options
            .iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
            .collect();
        if !options.is_empty() {
            out.push_str("    options:\n");
            for (n, v) in options {
                value_line(&mut out, "      ", n, v);
            }
        }
    }
    out
}

/// A table for [`render_tables`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableYaml {
    /// The path (the key under `maps:`).
    pub path: String,
    pub kind: super::MapType,
    pub format: super::MapFormat,
    pub secret: bool,
    pub mode: Option<u32>,
    /// In file order.
    pub entries: Vec<(String, String)>,
}

/// `maps:` with `tables` and `aliases:` with `aliases` (each only when
/// there is something), to follow a full-form spec. `comments` go first
/// under `maps:` (tables left out, and why).
pub fn render_tables(
    tables: &[TableYaml],
    aliases: &[(String, String)],
    comments: &[String],
) -> String {
    let mut out = String::new();
    if !tables.is_empty() || !comments.is_empty() {
        out.push_str(if tables.is_empty() {
            "maps: {}\n"
        } else {
            "maps:\n"
        });
        for c in comments {
            for line in c.lines() {
                let _ = writeln!(out, "  # {line}");
            }
        }
    }
    for t in tables {
        let _ = writeln!(out, "  {}:", scalar(&t.path));
        let _ = writeln!(out, "    type: {}", t.kind);
        if t.format != super::MapFormat::Postmap {
            let _ = writeln!(out, "    format: {}", t.format.as_str());
        }
        if t.secret {
            out.push_str("    secret: true\n");
        }
        if let Some(m) = t.mode {
            let _ = writeln!(out, "    mode: \"{m:04o}\"");
        }
        if t.entries.is_empty() {
            out.push_str("    entries: {}\n");
        } else {
            out.push_str("    entries:\n");
            for (k, v) in &t.entries {
                let _ = writeln!(out, "      {}: {}", scalar(k), scalar(v));
            }
        }
    }
    if !aliases.is_empty() {
        out.push_str("aliases:\n");
        for (n, v) in aliases {
            let _ = writeln!(out, "  {}: {}", scalar(n), scalar(v));
        }
    }
    out
}

/// `name: value` (a list as `- item` lines), indented.
fn value_line(out: &mut String, indent: &str, name: &str, value: &SpecValue) {
    out.push_str(indent);
    out.push_str(&scalar(name));
    out.push(':');
    match value {
        SpecValue::Str(s) => {
            out.push(' ');
            out.push_str(&scalar(s));
        }
        SpecValue::Bool(b) => {
            let _ = write!(out, " {b}");
        }
        SpecValue::Int(i) => {
            let _ = write!(out, " {i}");
        }
        SpecValue::List(items) if items.is_empty() => out.push_str(" []"),
        SpecValue::List(items) => {
            for item in items {
                out.push('\n');
                out.push_str(indent);
                out.push_str("- ");
                out.push_str(&scalar(item));
            }
        }
    }
    out.push('\n');
}

/// One string as a YAML scalar that reads back as exactly `s`.
fn scalar(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else if s.chars().all(single_quotable) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

/// Plain style reads back as `s`: not another type, and nothing YAML
/// would take as syntax (an indicator first, `: ` or ` #` inside, blanks
/// at either end, anything but printable non-blank-ended text).
fn plain_ok(s: &str) -> bool {
    if resolve_plain(s) != Ok(Value::Str(s)) || s.is_empty() {
        return false;
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    let second = chars.next();
    let indicator_first = match first {
        '-' => second.is_none_or(|c| c == ' '),
        '?' | ':' | ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\''
        | '"' | '%' | '@' | '`' => true,
        _ => false,
    };
    !indicator_first
        && !s.starts_with(' ')
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars()
            .all(|c| single_quotable(c) && c != '\t' && c != '\u{feff}')
}

/// Printable and not a line break (YAML folds line breaks in quotes).
fn single_quotable(c: char) -> bool {
    is_printable(c)
        && !matches!(
            c,
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if !single_quotable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    let _ = write!(out, "\\x{n:02x}");
                } else {
                    let _ = write!(out, "\\u{n:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::Spec;

    /// Every value reads back exactly, whatever it looks like.
    #[test]
    fn rendered_values_read_back_exactly() {
        let tricky = [
            "",
            " ",
            "a",
            "yes",
            "no",
            "true",
            "False",
            "null",
            "~",
            "0",
            "42",
            "-7",
            "0x10",
            "+5",
            "007",
            "1.5",
            "3.10",
            "1e3",
            ".inf",
            "[::1]/128",
            "{x}",
            "- a",
            "-v",
            "-",
            "a: b",
            "a #b",
            "a#b",
            "#x",
            "x:",
            "'q'",
            "\"d\"",
            "it's",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "cr\rx",
            "nul\0x",
            "esc\u{1b}[2J",
            "del\u{7f}",
            "nbsp\u{a0}x",
            "é ü 中",
            " lead",
            "trail ",
            "?x",
            ":x",
            "%x",
            "@x",
            "`x",
            "!x",
            "&x",
            "*x",
            "|x",
            ">x",
            "$myhostname ESMTP $mail_name (Debian/GNU)",
            "hash:/etc/aliases",
            "\u{2028}",
            "\u{85}",
            "\u{feff}bom",
            "a,b",
            "<<",
        ];
        let entries: Vec<(String, SpecValue)> = tricky
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("p{i}"), SpecValue::Str(s.to_string())))
            .chain([
                (
                    "list".to_string(),
                    SpecValue::List(tricky.iter().map(|s| s.to_string()).collect()),
                ),
                ("empty".to_string(), SpecValue::List(vec![])),
                ("b".to_string(), SpecValue::Bool(true)),
                ("i".to_string(), SpecValue::Int(-12)),
            ])
            .collect();
        let text = render_short_form("# header\n", &entries);
        let spec = Spec::from_yaml_str(&text, "r.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        for (name, value) in &entries {
            assert_eq!(spec.main[name].as_ref(), Some(value), "{name}\n{text}");
        }
        assert_eq!(spec.main.len(), entries.len());
    }

    #[test]
    fn style_matches_what_users_expect() {
        let text = render_short_form(
            "",
            &[
                ("biff".into(), SpecValue::Str("no".into())),
                ("compatibility_level".into(), SpecValue::Str("3.6".into())),
                ("mailbox_size_limit".into(), SpecValue::Str("0".into())),
                ("relayhost".into(), SpecValue::Str(String::new())),
                (
                    "mynetworks".into(),
                    SpecValue::List(vec!["127.0.0.0/8".into(), "[::1]/128".into()]),
                ),
            ],
        );
        assert_eq!(
            text,
            "biff: no\ncompatibility_level: '3.6'\nmailbox_size_limit: '0'\nrelayhost: ''\nmynetworks:\n- 127.0.0.0/8\n- '[::1]/128'\n"
        );
        assert_eq!(render_short_form("# h\n", &[]), "# h\n{}\n");
    }
}
