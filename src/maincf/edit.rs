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
use crate::postfix_space::is_space;

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
    #[error("list item {item:?} of {name} {why}")]
    BadListItem {
        name: String,
        item: String,
        why: &'static str,
    },
    #[error("internal error: the edited main.cf no longer parses ({0}); nothing was written")]
    Reparse(#[from] MainCfError),
}

/// Width at which list values fold.
const FOLD_COLUMNS: usize = 80;

/// Render `name = value` as physical lines (without line terminators).
pub fn fold_entry(name: &str, value: &NewValue) -> Vec<Vec<u8>> {
    match value {
        NewValue::Scalar(s) => vec![format!("{name} = {s}").into_bytes()],
        NewValue::List(items) => {
            let one_line = format!("{name} = {}", items.join(", "));
            if one_line.len() <= FOLD_COLUMNS || items.len() < 2 {
                return vec![one_line.into_bytes()];
            }
            let last = items.len() - 1;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let sep = if i == last { "" } else { "," };
                    if i == 0 {
                        format!("{name} = {item}{sep}").into_bytes()
                    } else {
                        format!("    {item}{sep}").into_bytes()
                    }
                })
                .collect()
        }
    }
}

fn check_name(name: &str) -> Result<(), EditError> {
    let ok = !name.is_empty()
        && !name.starts_with('#')
        && name.bytes().all(|b| !is_space(b) && b != b'=' && b != 0);
    if ok {
        Ok(())
    } else {
        Err(EditError::BadName {
            name: name.to_string(),
        })
    }
}

fn check_value(name: &str, value: &NewValue) -> Result<(), EditError> {
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
        for item in list {
            let why = if item.trim().is_empty() {
                Some("is empty; remove it from the list")
            } else if item.trim_start().starts_with('#') {
                Some("starts with '#', which would turn its folded line into a comment")
            } else if item.contains(',') {
                Some("contains ',', which separates list items; give each item separately")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(EditError::BadListItem {
                    name: name.to_string(),
                    item: item.clone(),
                    why,
                });
            }
        }
    }
    Ok(())
}

impl MainCf {
    /// Make `name` effectively equal to `value`: rewrite its last definition
    /// in place and drop earlier duplicates, or add it.
    pub fn set(&mut self, name: &str, value: &NewValue) -> Result<(), EditError> {
        check_name(name)?;
        check_value(name, value)?;
        let crlf = self.uses_crlf();
        let rendered: Vec<Vec<u8>> = fold_entry(name, value)
            .into_iter()
            .map(|mut l| {
                if crlf {
                    l.push(b'\r');
                }
                l
            })
            .collect();
        let matching: Vec<_> = self
            .entries
            .iter()
            .filter(|e| e.name == name.as_bytes())
            .collect();
        let mut lines = std::mem::take(&mut self.lines);
        let mut appended_at = None;
        if let Some(last) = matching.last() {
            let mut replace: Vec<Option<Vec<PhysLine>>> = vec![None; lines.len()];
            let mut delete = vec![false; lines.len()];
            for e in &matching[..matching.len() - 1] {
                for &i in &e.data_lines {
                    delete[i] = true;
                }
            }
            let start = last.data_lines[0];
            for &i in &last.data_lines[1..] {
                delete[i] = true;
            }
            // Only the file's last line can lack LF. When that line ends
            // the edited entry and nothing else sits between the entry's
            // first and last line, the new block ends the file: it stays
            // unterminated (whether the old or new value spans one line or
            // several, so a second identical set changes no byte). When a
            // kept comment/blank line sits inside the entry, that line
            // ends the file, with its LF.
            let end = last.data_lines[last.data_lines.len() - 1];
            let unterminated = !lines[end].lf && last.data_lines.len() == end - start + 1;
            let mut new_lines: Vec<PhysLine> = rendered
                .into_iter()
                .map(|text| PhysLine {
                    text: text.into(),
                    lf: true,
                })
                .collect();
            if let Some(l) = new_lines.last_mut() {
                l.lf = !unterminated;
            }
            replace[start] = Some(new_lines);
            let old = std::mem::take(&mut lines);
            for (i, line) in old.into_iter().enumerate() {
                if let Some(new) = replace[i].take() {
                    lines.extend(new);
                } else if !delete[i] {
                    lines.push(line);
                }
            }
        } else {
            let at = commented_example_insert_point(&lines, name).unwrap_or(lines.len());
            if at == lines.len() {
                appended_at = Some(at);
                if let Some(last) = lines.last_mut() {
                    if !last.lf {
                        if crlf && last.text.last() != Some(&b'\r') {
                            last.text = [&last.text[..], b"\r"].concat().into();
                        }
                        last.lf = true;
                    }
                }
            }
            let new_lines = rendered.into_iter().map(|text| PhysLine {
                text: text.into(),
                lf: true,
            });
            lines.splice(at..at, new_lines);
        }
        self.lines = lines;
        match appended_at {
            // Appending a new name at the end leaves every earlier entry
            // as it was (the new start line only ends the last logical
            // line; a CR added to an unterminated last line is trailing
            // whitespace, trimmed from its value): derive the new lines
            // only, so adding many parameters stays linear.
            Some(at) => self.derive_appended(at)?,
            None => self.rederive()?,
        }
        Ok(())
    }

    /// Remove every definition of `name` (Postfix then uses its default).
    /// Returns how many definitions were removed.
    pub fn remove(&mut self, name: &str) -> Result<usize, EditError> {
        check_name(name)?;
        let mut delete = vec![false; self.lines.len()];
        let mut removed = 0;
        for e in self.entries.iter().filter(|e| e.name == name.as_bytes()) {
            removed += 1;
            for &i in &e.data_lines {
                delete[i] = true;
            }
        }
        if removed == 0 {
            return Ok(0);
        }
        let old = std::mem::take(&mut self.lines);
        self.lines = old
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !delete[*i])
            .map(|(_, l)| l)
            .collect();
        self.rederive()?;
        Ok(removed)
    }
}

/// Where a new `name` goes when main.cf has a commented example of it:
/// right after the last `#name = ...` line and its commented continuation
/// lines (`#<whitespace>...`). `None` when there is no example, or when a
/// line inserted there would capture continuation lines of another entry.
fn commented_example_insert_point(lines: &[PhysLine], name: &str) -> Option<usize> {
    let example = lines
        .iter()
        .rposition(|l| is_commented_example(&l.text, name.as_bytes()))?;
    let mut at = example + 1;
    while at < lines.len() {
        let t = &lines[at].text;
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
        .map(|l| classify(&l.text))
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

fn is_commented_example(text: &[u8], name: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"#") else {
        return false;
    };
    let rest = skip_space(rest);
    let Some(rest) = rest.strip_prefix(name) else {
        return false;
    };
    skip_space(rest).first() == Some(&b'=')
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    &s[n..]
}
