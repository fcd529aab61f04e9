//! Reading main.cf exactly like Postfix 3.7 does.
//!
//! `util/readlline.c` (`readllines`) joins physical lines into logical lines;
//! `util/split_nameval.c` splits a logical line into name and value. The
//! rules, all confirmed against the real postconf:
//!
//! * Physical lines split on LF only.
//! * A line that is all whitespace, or whose first non-whitespace byte is
//!   `#`, is a comment/blank line and contributes nothing; it does *not* end
//!   a logical line (so comments and blank lines may sit inside a
//!   continuation).
//! * A line starting with whitespace continues the current logical line,
//!   appended as is (leading whitespace kept, nothing inserted).
//! * Any other line ends the current logical line and starts a new one.
//! * A logical line that starts with whitespace (nothing before it to
//!   continue) is discarded with a warning.
//! * The logical line is a C string: a NUL truncates it.
//! * `name` runs up to whitespace or `=`; then `=` must follow (possibly
//!   after whitespace) or the file is fatally broken; the value is the rest,
//!   trimmed. Whitespace is C `isspace()`: VT and FF included.

use super::{Entry, PhysLine};
use crate::postfix_space::{is_space, trim};

/// A fatal main.cf syntax error, as Postfix reports it (every Postfix
/// program refuses to start on these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MainCfError {
    /// A logical line whose first word is not followed by `=`. `line` is
    /// the entry's first line (the line Postfix names); `at_line` and
    /// `column` are where the `=` was expected.
    #[error("line {line}{}: missing '=' after attribute name: \"{text}\"; expected `name = value` (a value continued on the next line must start with whitespace)", if at_line == line { format!(", column {column}") } else { format!(" (continued; '=' expected at line {at_line}, column {column})") })]
    MissingEquals {
        line: usize,
        at_line: usize,
        column: usize,
        text: String,
    },
    /// A logical line that starts with `=`.
    #[error(
        "line {line}, column {column}: missing attribute name: \"{text}\"; expected `name = value`"
    )]
    MissingName {
        line: usize,
        column: usize,
        text: String,
    },
}

impl MainCfError {
    /// 1-based line number of the error.
    pub fn line(&self) -> usize {
        match self {
            MainCfError::MissingEquals { line, .. } | MainCfError::MissingName { line, .. } => {
                *line
            }
        }
    }
    /// 1-based column of the error.
    pub fn column(&self) -> usize {
        match self {
            MainCfError::MissingEquals { column, .. } | MainCfError::MissingName { column, .. } => {
                *column
            }
        }
    }
}

/// A non-fatal finding Postfix prints as `warning:` when reading main.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// An indented logical line with nothing before it to continue: dropped.
    OrphanLine { line: usize, text: String },
    /// A later definition of `name` with a different value replaced `old`.
    OverridingEarlier {
        line: usize,
        name: String,
        old: String,
    },
}

impl Warning {
    /// 1-based line the warning is about.
    pub fn line(&self) -> usize {
        match self {
            Warning::OrphanLine { line, .. } | Warning::OverridingEarlier { line, .. } => *line,
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::OrphanLine { line, text } => write!(
                f,
                "line {line}: logical line must not start with whitespace: \"{text}\" (ignored, as Postfix does; remove the indentation or the line)"
            ),
            Warning::OverridingEarlier { line, name, old } => {
                write!(f, "line {line}: overriding earlier entry: {name}={old}")
            }
        }
    }
}

/// Anything postform reports about a file, for uniform printing.
pub trait Diagnostic {
    /// `(line, column)`, 1-based, when known.
    fn location(&self) -> Option<(usize, usize)>;
}

impl Diagnostic for MainCfError {
    fn location(&self) -> Option<(usize, usize)> {
        Some((self.line(), self.column()))
    }
}

/// Split bytes into physical lines on LF.
pub(crate) fn split_lines(bytes: &[u8]) -> Vec<PhysLine> {
    let mut lines = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut rest = bytes;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push(PhysLine {
                    text: rest[..i].to_vec(),
                    lf: true,
                });
                rest = &rest[i + 1..];
            }
            None => {
                lines.push(PhysLine {
                    text: rest.to_vec(),
                    lf: false,
                });
                rest = &[];
            }
        }
    }
    lines
}

/// How `readllines` sees a physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Blank, whitespace-only, or comment (first non-space byte is `#`).
    Trivia,
    /// Starts with whitespace and has data: continues the logical line.
    Continuation,
    /// Starts with a non-space byte other than `#`: a new logical line.
    Start,
}

pub(crate) fn classify(text: &[u8]) -> LineKind {
    match text.iter().position(|&b| !is_space(b)) {
        None => LineKind::Trivia,
        Some(i) if text[i] == b'#' => LineKind::Trivia,
        Some(0) => LineKind::Start,
        Some(_) => LineKind::Continuation,
    }
}

/// Derive the entries (and warnings) from physical lines.
pub(crate) fn derive_entries(
    lines: &[PhysLine],
) -> Result<(Vec<Entry>, Vec<Warning>), MainCfError> {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    // Logical line under construction: indices of its data lines.
    let mut current: Vec<usize> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match classify(&line.text) {
            LineKind::Trivia => {}
            LineKind::Continuation => current.push(i),
            LineKind::Start => {
                finish(lines, &mut current, &mut entries, &mut warnings)?;
                current.push(i);
            }
        }
    }
    finish(lines, &mut current, &mut entries, &mut warnings)?;
    override_warnings(&entries, &mut warnings);
    Ok((entries, warnings))
}

fn finish(
    lines: &[PhysLine],
    current: &mut Vec<usize>,
    entries: &mut Vec<Entry>,
    warnings: &mut Vec<Warning>,
) -> Result<(), MainCfError> {
    if current.is_empty() {
        return Ok(());
    }
    let data_lines = std::mem::take(current);
    let first = data_lines[0];
    let mut logical = Vec::new();
    // Where each physical line's bytes start inside the logical line, to
    // map an offset back to (line, column).
    let mut starts = Vec::with_capacity(data_lines.len());
    for &i in &data_lines {
        starts.push((logical.len(), i));
        logical.extend_from_slice(&lines[i].text);
    }
    if let Some(nul) = logical.iter().position(|&b| b == 0) {
        logical.truncate(nul);
    }
    let text = || String::from_utf8_lossy(&logical).into_owned();
    if logical.first().is_some_and(|&b| is_space(b)) {
        warnings.push(Warning::OrphanLine {
            line: first + 1,
            text: text(),
        });
        return Ok(());
    }
    let locate = |offset: usize| -> (usize, usize) {
        let (start, idx) = starts
            .iter()
            .rev()
            .find(|(s, _)| *s <= offset)
            .copied()
            .unwrap_or((0, first));
        (idx + 1, offset - start + 1)
    };
    let mut p = 0;
    while p < logical.len() && is_space(logical[p]) {
        p += 1;
    }
    if p == logical.len() || logical[p] == b'=' {
        let (line, column) = locate(p);
        return Err(MainCfError::MissingName {
            line,
            column,
            text: text(),
        });
    }
    let name_start = p;
    while p < logical.len() && !is_space(logical[p]) && logical[p] != b'=' {
        p += 1;
    }
    let name = logical[name_start..p].to_vec();
    while p < logical.len() && is_space(logical[p]) {
        p += 1;
    }
    if p == logical.len() || logical[p] != b'=' {
        let (at_line, column) = locate(p.min(logical.len()));
        return Err(MainCfError::MissingEquals {
            line: first + 1,
            at_line,
            column,
            text: text(),
        });
    }
    let value = trim(&logical[p + 1..]).to_vec();
    entries.push(Entry {
        name,
        value,
        line: first + 1,
        data_lines,
    });
    Ok(())
}

/// Postfix warns "overriding earlier entry" when a later definition of a
/// name has a different value than the one in force.
fn override_warnings(entries: &[Entry], warnings: &mut Vec<Warning>) {
    let mut seen: std::collections::HashMap<&[u8], &[u8]> = std::collections::HashMap::new();
    for e in entries {
        if let Some(old) = seen.insert(&e.name, &e.value) {
            if old != e.value.as_slice() {
                warnings.push(Warning::OverridingEarlier {
                    line: e.line,
                    name: e.name_str().into_owned(),
                    old: String::from_utf8_lossy(old).into_owned(),
                });
            }
        }
    }
    warnings.sort_by_key(Warning::line);
}
