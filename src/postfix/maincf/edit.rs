//! Editing main.cf while keeping every byte nobody asked to change.
//!
//! * `set` rewrites the last definition in place (start line replaced, its
//!   continuation lines dropped, comment/blank lines interleaved in it kept)
//!   and drops earlier, dead duplicates. A new name goes right after a
//!   commented example of it (`#name = ...`) when that is safe, else at the
//!   end of the file (after adding a missing final newline, unlike
//!   postconf 3.7.11, which glues the new line onto the last one).
//! * `remove` drops every definition with its continuation lines.
//! * New lines use the file's line ending; long lists fold onto 4-space
//!   continuation lines.

use super::parse::{classify, LineKind};
use super::{MainCf, MainCfError, PhysLine};
use crate::postfix::space::is_space;
use std::collections::{HashMap, HashSet};

/// A value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    /// Written as is after `name = `.
    Scalar(String),
    /// Items joined with `, `, folded when the line would pass 80 columns.
    List(Vec<String>),
}

/// Why an edit was refused. Nothing is changed when an edit fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("invalid parameter name {name:?}: expected letters, digits and underscores with no whitespace, '=' or leading '#'")]
    BadName { name: String },
    #[error("value of {name} contains {what}, which would change other lines of main.cf; write the value on one line without control characters")]
    Injection { name: String, what: &'static str },
    #[error("list item {item:?} of {name} {problem}")]
    BadListItem {
        name: String,
        item: String,
        problem: crate::postfix::list::ItemProblem,
    },
    #[error("internal error: the edited main.cf no longer parses ({0}); nothing was written")]
    Reparse(#[from] MainCfError),
}

/// Width at which list values fold.
const FOLD_COLUMNS: usize = 80;

/// Render `name = value` as physical lines (without line terminators).
pub fn fold_entry(name: &[u8], value: &NewValue) -> Vec<Vec<u8>> {
    let line = |head: &[u8], text: &str| {
        let mut l = head.to_vec();
        l.extend_from_slice(text.as_bytes());
        l
    };
    let mut first = name.to_vec();
    first.extend_from_slice(b" = ");
    match value {
        NewValue::Scalar(s) => vec![line(&first, s)],
        NewValue::List(items) => {
            let joined = items.join(", ");
            if first.len() + joined.len() <= FOLD_COLUMNS || items.len() < 2 {
                return vec![line(&first, &joined)];
            }
            let last = items.len() - 1;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let sep = if i == last { "" } else { "," };
                    let head: &[u8] = if i == 0 { &first } else { b"    " };
                    line(head, &format!("{item}{sep}"))
                })
                .collect()
        }
    }
}

fn check_name(name: &[u8]) -> Result<(), EditError> {
    let ok = !name.is_empty()
        && name[0] != b'#'
        && name.iter().all(|&b| !is_space(b) && b != b'=' && b != 0);
    if ok {
        Ok(())
    } else {
        Err(EditError::BadName {
            name: String::from_utf8_lossy(name).into_owned(),
        })
    }
}

fn check_value(name: &[u8], value: &NewValue) -> Result<(), EditError> {
    let name = &*String::from_utf8_lossy(name);
    let injection = |s: &str| -> Option<&'static str> {
        if s.contains('\n') {
            Some("a newline")
        } else if s.contains('\r') {
            Some("a carriage return")
        } else if s.contains('\0') {
            Some("a NUL byte")
        } else if s.contains(['\x0b', '\x0c']) {
            Some("a vertical tab or form feed")
        } else {
            None
        }
    };
    let items: Vec<&str> = match value {
        NewValue::Scalar(s) => vec![s.as_str()],
        NewValue::List(items) => items.iter().map(String::as_str).collect(),
    };
    for item in &items {
        if let Some(what) = injection(item) {
            return Err(EditError::Injection {
                name: name.to_string(),
                what,
            });
        }
    }
    if let NewValue::List(list) = value {
        if let Some((item, problem)) = list
            .iter()
            .find_map(|item| crate::postfix::list::item_problem(item).map(|p| (item, p)))
        {
            return Err(EditError::BadListItem {
                name: name.to_string(),
                item: item.clone(),
                problem,
            });
        }
    }
    Ok(())
}

/// One edit of a batch: make `name` equal to the value, or remove it
/// (`None`). Names are bytes: Postfix accepts any byte but whitespace and
/// `=` in a name, and a purge must be able to remove every name it finds.
pub type Edit<'a> = (&'a [u8], Option<&'a NewValue>);

/// A batch edit was refused: the index of the edit and why. Nothing is
/// changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("edit {index}: {error}")]
pub struct BatchError {
    pub index: usize,
    pub error: EditError,
}

impl MainCf {
    /// Make `name` effectively equal to `value`: rewrite its last definition
    /// in place and drop earlier duplicates, or add it.
    pub fn set(&mut self, name: &str, value: &NewValue) -> Result<(), EditError> {
        self.apply_edits(&[(name.as_bytes(), Some(value))])
            .map_err(|e| e.error)
    }

    /// Remove every definition of `name` (Postfix then uses its default).
    /// Returns how many definitions were removed.
    pub fn remove(&mut self, name: &str) -> Result<usize, EditError> {
        check_name(name.as_bytes())?;
        let removed = self.count(name);
        self.apply_edits(&[(name.as_bytes(), None)])
            .map_err(|e| e.error)?;
        Ok(removed)
    }

    /// Apply `edits` in one pass over the file, whatever their number: each
    /// is a [`MainCf::set`] or [`MainCf::remove`], with these rules for a
    /// batch:
    /// * a name edited more than once takes its last edit;
    /// * new lines use the file's line ending as it was before the batch;
    /// * a new name goes after its commented example as found in the file
    ///   before the batch (several at one place in edit order, before a
    ///   definition rewritten there), else at the end in edit order.
    ///
    /// Either every edit is applied or, on error, nothing is changed.
    pub fn apply_edits(&mut self, edits: &[Edit<'_>]) -> Result<(), BatchError> {
        self.apply_edits_traced(edits).map(drop)
    }

    /// [`MainCf::apply_edits`], also saying where each line of the result
    /// came from: for each physical line of the new document, the index of
    /// the unchanged line of the old document it is, or [`NEW_LINE`] for a
    /// line the edits wrote (or changed: a last line that gained its line
    /// ending). Kept lines keep their order, so this is a line diff.
    pub fn apply_edits_traced(&mut self, edits: &[Edit<'_>]) -> Result<Vec<u32>, BatchError> {
        for (index, (name, value)) in edits.iter().enumerate() {
            check_name(name)
                .and_then(|()| value.map_or(Ok(()), |v| check_value(name, v)))
                .map_err(|error| BatchError { index, error })?;
        }
        // The last edit of each name, in edit order.
        let mut last_edit: HashMap<&[u8], usize> = HashMap::with_capacity(edits.len());
        for (i, (name, _)) in edits.iter().enumerate() {
            last_edit.insert(name, i);
        }
        let edits: Vec<(usize, &[u8], Option<&NewValue>)> = edits
            .iter()
            .enumerate()
            .filter(|(i, (name, _))| last_edit[name] == *i)
            .map(|(i, (name, value))| (i, *name, *value))
            .collect();
        let crlf = self.uses_crlf();
        let render = |name: &[u8], value: &NewValue| -> Vec<PhysLine> {
            fold_entry(name, value)
                .into_iter()
                .map(|mut text| {
                    if crlf {
                        text.push(b'\r');
                    }
                    PhysLine::new(text, true)
                })
                .collect()
        };
        // Definitions of the edited names, in file order.
        let mut defs: HashMap<&[u8], Vec<&super::Entry>> = HashMap::new();
        for e in self.entries.iter() {
            if last_edit.contains_key(e.name.as_slice()) {
                defs.entry(e.name.as_slice()).or_default().push(e);
            }
        }
        let new_names: Vec<&[u8]> = edits
            .iter()
            .filter(|(_, name, value)| value.is_some() && !defs.contains_key(name))
            .map(|(_, name, _)| *name)
            .collect();
        let examples = commented_examples(&self.lines, &new_names);
        let lines = &self.lines;
        let n = lines.len();
        let mut delete = vec![false; n];
        // New lines before an old line: new names after their example,
        // then a rewritten definition.
        let mut before: HashMap<usize, (Vec<PhysLine>, Vec<PhysLine>)> = HashMap::new();
        let mut appended: Vec<PhysLine> = Vec::new();
        for &(_, name, value) in &edits {
            match (defs.get(name), value) {
                (Some(found), Some(value)) => {
                    let last = found[found.len() - 1];
                    for e in found {
                        for &i in &e.data_lines {
                            delete[i] = true;
                        }
                    }
                    // Only the file's last line can lack LF. When that line
                    // ends the edited entry and nothing else sits between
                    // the entry's first and last line, the new block ends
                    // the file: it stays unterminated (whether the old or
                    // new value spans one line or several, so a second
                    // identical set changes no byte). When a kept
                    // comment/blank line sits inside the entry, that line
                    // ends the file, with its LF.
                    let start = last.data_lines[0];
                    let end = last.data_lines[last.data_lines.len() - 1];
                    let unterminated = !lines[end].lf && last.data_lines.len() == end - start + 1;
                    let mut block = render(name, value);
                    if let Some(l) = block.last_mut() {
                        l.lf = !unterminated;
                    }
                    before.entry(start).or_default().1.extend(block);
                }
                (Some(found), None) => {
                    for e in found {
                        for &i in &e.data_lines {
                            delete[i] = true;
                        }
                    }
                }
                (None, Some(value)) => {
                    let at = examples
                        .get(name)
                        .and_then(|&example| insert_point_after_example(lines, example))
                        .filter(|&at| at < n);
                    match at {
                        Some(at) => before.entry(at).or_default().0.extend(render(name, value)),
                        None => appended.extend(render(name, value)),
                    }
                }
                (None, None) => {}
            }
        }
        // A CR added to an unterminated last line changes that line's text
        // (an orphan line's warning quotes it): derive everything then.
        let adds_cr = crlf
            && lines
                .last()
                .is_some_and(|l| !l.lf && l.text().last() != Some(&b'\r'));
        let only_appends = before.is_empty() && !delete.contains(&true);
        // Line index as u32: a main.cf of 4 billion lines does not fit in
        // memory anyway.
        let index = |i: usize| u32::try_from(i).unwrap_or(NEW_LINE);
        if only_appends && (appended.is_empty() || !adds_cr) {
            let mut origin: Vec<u32> = (0..n).map(index).collect();
            if appended.is_empty() {
                return Ok(origin);
            }
            // Appending new names leaves every earlier entry and warning
            // as it was (the new start line only ends the last logical
            // line): derive the new lines only.
            let (entries, _) = super::parse::derive_entries(&appended).map_err(|e| BatchError {
                index: edits[0].0,
                error: e.into(),
            })?;
            let at = self.lines.len();
            if end_last_line(&mut self.lines, crlf) {
                origin[at - 1] = NEW_LINE;
            }
            origin.extend(std::iter::repeat_n(NEW_LINE, appended.len()));
            self.lines.extend(appended);
            self.add_appended_entries(at, entries);
            return Ok(origin);
        }
        let mut out: Vec<PhysLine> = Vec::with_capacity(n + appended.len());
        let mut origin: Vec<u32> = Vec::with_capacity(n + appended.len());
        for (i, line) in lines.iter().enumerate() {
            if let Some((examples_here, rewritten)) = before.remove(&i) {
                let written = examples_here.len() + rewritten.len();
                out.extend(examples_here);
                out.extend(rewritten);
                origin.extend(std::iter::repeat_n(NEW_LINE, written));
            }
            if !delete[i] {
                out.push(line.clone());
                origin.push(index(i));
            }
        }
        if !appended.is_empty() {
            if end_last_line(&mut out, crlf) {
                if let Some(last) = origin.last_mut() {
                    *last = NEW_LINE;
                }
            }
            origin.extend(std::iter::repeat_n(NEW_LINE, appended.len()));
            out.extend(appended);
        }
        let (entries, warnings) = super::parse::derive_entries(&out).map_err(|e| BatchError {
            index: edits[0].0,
            error: e.into(),
        })?;
        self.lines = out;
        self.entries = std::sync::Arc::new(entries);
        self.warnings = warnings;
        Ok(origin)
    }
}

/// In [`MainCf::apply_edits_traced`]: a line the edits wrote.
pub const NEW_LINE: u32 = u32::MAX;

/// Terminate an unterminated last line before lines are appended (with
/// CR LF in a CRLF file). True when it changed the line.
fn end_last_line(lines: &mut [PhysLine], crlf: bool) -> bool {
    match lines.last_mut() {
        Some(last) if !last.lf => {
            if crlf && last.text().last() != Some(&b'\r') {
                *last = PhysLine::new([last.text(), b"\r"].concat(), true);
            }
            last.lf = true;
            true
        }
        _ => false,
    }
}

/// The last commented example (`#name = ...`) of each of `names`, by line
/// index, in one scan.
fn commented_examples<'a>(lines: &[PhysLine], names: &[&'a [u8]]) -> HashMap<&'a [u8], usize> {
    let mut found = HashMap::new();
    if names.is_empty() {
        return found;
    }
    let wanted: HashSet<&'a [u8]> = names.iter().copied().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.text().strip_prefix(b"#") else {
            continue;
        };
        let rest = skip_space(rest);
        let len = rest
            .iter()
            .position(|&b| is_space(b) || b == b'=')
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at(len);
        if let Some(&name) = wanted.get(token) {
            if skip_space(after).first() == Some(&b'=') {
                found.insert(name, i);
            }
        }
    }
    found
}

/// Where a new name goes when main.cf has a commented example of it at
/// line `example`: right after that line and its commented continuation
/// lines (`#<whitespace>...`). `None` when a line inserted there would
/// capture continuation lines of another entry.
fn insert_point_after_example(lines: &[PhysLine], example: usize) -> Option<usize> {
    let mut at = example + 1;
    while at < lines.len() {
        let t = lines[at].text();
        let commented_continuation =
            t.first() == Some(&b'#') && t.get(1).is_some_and(|&b| b == b' ' || b == b'\t');
        if commented_continuation && !t[1..].iter().all(|&b| is_space(b)) {
            // `#\tmore, items` continues the example; `# Prose.` does too
            // by this rule, which is harmless: the line still lands right
            // after the example's comment block.
            at += 1;
        } else {
            break;
        }
    }
    // The line after the insertion point (skipping trivia) must not be a
    // continuation line, or the new entry would swallow it.
    let next_data = lines[at..]
        .iter()
        .map(|l| classify(l.text()))
        .find(|k| *k != LineKind::Trivia);
    if next_data == Some(LineKind::Continuation) {
        return None;
    }
    // The example must not be the file's unterminated last line.
    if !lines[example].lf && at == lines.len() {
        return None;
    }
    Some(at)
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    &s[n..]
}
