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
use crate::postfix::space::{is_space, trim};

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

impl Warning {
    /// The message without its location.
    pub fn message(&self) -> String {
        match self {
            Warning::OrphanLine { text, .. } => format!(
                "logical line must not start with whitespace: \"{text}\" (ignored, as Postfix does; remove the indentation or the line)"
            ),
            Warning::OverridingEarlier { name, old, .. } => {
                format!("overriding earlier entry: {name}={old}")
            }
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line(), self.message())
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

/// Split bytes into physical lines on LF (one shared copy of the bytes).
pub(crate) fn split_lines(bytes: &[u8]) -> Vec<PhysLine> {
    let buf: std::sync::Arc<[u8]> = bytes.into();
    let mut lines = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut start = 0;
    while start < bytes.len() {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push(PhysLine::in_buffer(&buf, start, start + i, true));
                start += i + 1;
            }
            None => {
                lines.push(PhysLine::in_buffer(&buf, start, bytes.len(), false));
                start = bytes.len();
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
        match classify(line.text()) {
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
    // The logical line: borrowed when it is one physical line (the common
    // case: no copy), else the data lines joined.
    let mut logical: std::borrow::Cow<'_, [u8]> = match data_lines.as_slice() {
        [only] => std::borrow::Cow::Borrowed(lines[*only].text()),
        _ => {
            let mut joined = Vec::new();
            for &i in &data_lines {
                joined.extend_from_slice(lines[i].text());
            }
            std::borrow::Cow::Owned(joined)
        }
    };
    if let Some(nul) = logical.iter().position(|&b| b == 0) {
        logical = match logical {
            std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(&b[..nul]),
            std::borrow::Cow::Owned(mut v) => {
                v.truncate(nul);
                std::borrow::Cow::Owned(v)
            }
        };
    }
    let logical: &[u8] = &logical;
    let text = || String::from_utf8_lossy(logical).into_owned();
    if logical.first().is_some_and(|&b| is_space(b)) {
        warnings.push(Warning::OrphanLine {
            line: first + 1,
            text: text(),
        });
        return Ok(());
    }
    // Map an offset in the logical line back to (line, column); only
    // needed for an error, so the line starts are computed then.
    let locate = |offset: usize| -> (usize, usize) {
        let mut start = 0;
        let mut found = (0, first);
        for &i in &data_lines {
            if start > offset {
                break;
            }
            found = (start, i);
            start += lines[i].text().len();
        }
        let (start, idx) = found;
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
            text: error_excerpt(logical),
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
            text: error_excerpt(logical),
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

/// The offending line as shown in an error: at most 120 characters,
/// control characters escaped (`\u{1b}`), so a binary or hostile main.cf
/// can neither flood the terminal nor drive it.
fn error_excerpt(logical: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(&logical[..logical.len().min(4 * MAX)]);
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if text.chars().count() > MAX || logical.len() > 4 * MAX {
        out.push_str("...");
    }
    out
}

/// Postfix warns "overriding earlier entry" when a later definition of a
/// name has a different value than the one in force.
fn override_warnings(entries: &[Entry], warnings: &mut Vec<Warning>) {
    let mut seen: std::collections::HashMap<&[u8], &[u8], FxBuild> =
        std::collections::HashMap::with_capacity_and_hasher(entries.len(), FxBuild::default());
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

/// A small multiply-fold hasher for parameter names: several times faster
/// than the default SipHash on short keys, which matters on large files
/// (the names map is built on every parse and edit), and well mixed in
/// both the low bits (bucket) and the high bits (tag) hashbrown uses. No
/// flooding defence: main.cf is the administrator's own file.
type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

#[derive(Debug, Default)]
struct FxHasher(u64);

impl FxHasher {
    fn mix(&mut self, word: u64) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(self.0 ^ word) * u128::from(K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = rest.len().min(8);
            let mut word = [0u8; 8];
            word[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            self.mix(u64::from_le_bytes(word));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
