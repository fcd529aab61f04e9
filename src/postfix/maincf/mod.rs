//! A lossless document model of main.cf.
//!
//! The document is the file's physical lines, byte for byte; entries
//! (logical lines) are derived from them with exactly the rules Postfix's
//! `readllines` + `split_nameval` use (see `parse.rs`). Rendering an
//! unchanged document gives back the input bytes. Edits rewrite only the
//! physical lines of the entries they touch (see `edit.rs`).

mod edit;
mod effective;
mod parse;

pub use edit::{fold_entry, BatchError, Edit, EditError, NewValue, NEW_LINE};
pub use effective::Effective;
pub use parse::{Diagnostic, MainCfError, Warning};

/// One physical line: its bytes without the terminating LF, and whether it
/// had one (only the last line of a file may lack it).
#[derive(Debug, Clone)]
pub(crate) struct PhysLine {
    /// The bytes the line is in: the whole file for parsed lines (one
    /// allocation per file, not per line; clones copy no bytes), its own
    /// text for a line an edit wrote.
    buf: std::sync::Arc<[u8]>,
    start: usize,
    end: usize,
    pub(crate) lf: bool,
}

impl PhysLine {
    /// A line of its own.
    pub(crate) fn new(text: Vec<u8>, lf: bool) -> PhysLine {
        let end = text.len();
        PhysLine {
            buf: text.into(),
            start: 0,
            end,
            lf,
        }
    }

    /// Line `start..end` of `buf`.
    pub(crate) fn in_buffer(
        buf: &std::sync::Arc<[u8]>,
        start: usize,
        end: usize,
        lf: bool,
    ) -> Self {
        PhysLine {
            buf: buf.clone(),
            start,
            end,
            lf,
        }
    }

    /// The line's bytes, without its LF.
    pub(crate) fn text(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

impl PartialEq for PhysLine {
    fn eq(&self, other: &Self) -> bool {
        self.lf == other.lf && self.text() == other.text()
    }
}

impl Eq for PhysLine {}

/// A logical `name = value` entry derived from the physical lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Parameter name, as bytes (Postfix accepts any non-space, non-`=` byte).
    pub name: Vec<u8>,
    /// The raw value as Postfix stores it: continuation lines appended with
    /// their leading whitespace, truncated at a NUL, trimmed at both ends.
    pub value: Vec<u8>,
    /// 1-based number of the entry's first physical line.
    pub line: usize,
    /// Indices (0-based) of the physical lines that carry the entry's data:
    /// the start line and its continuation lines, in order. Comment and
    /// blank lines interleaved in the entry are not listed.
    pub(crate) data_lines: Vec<usize>,
}

impl Entry {
    /// The name as text (lossy for non-UTF-8 names).
    pub fn name_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }
    /// The raw value as text (lossy for non-UTF-8 values).
    pub fn value_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }
    /// The value the way `postconf -n` prints it: words split on
    /// space/TAB/CR/LF and joined by single spaces (VT and FF survive).
    pub fn normalized_value(&self) -> Vec<u8> {
        normalize(&self.value)
    }
    /// Number of physical lines the entry spans, first to last data line.
    pub fn span(&self) -> (usize, usize) {
        let first = self.data_lines.first().copied().unwrap_or(0);
        let last = self.data_lines.last().copied().unwrap_or(first);
        (first + 1, last + 1)
    }
}

/// Normalize a raw value the way postconf prints it.
pub fn normalize(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in crate::postfix::space::print_words(value) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

/// A main.cf document: physical lines plus the entries derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainCf {
    lines: Vec<PhysLine>,
    /// Shared between clones: an edit derives a new list, so a clone kept
    /// as the "before" view (as `plan` does) costs no copy of the entries.
    entries: std::sync::Arc<Vec<Entry>>,
    warnings: Vec<Warning>,
}

impl MainCf {
    /// Parse main.cf bytes. Fatal syntax errors (missing `=`, missing name)
    /// are errors, as they are for every Postfix program; recoverable
    /// oddities (orphan indented lines, overridden duplicates) are warnings.
    pub fn parse(bytes: &[u8]) -> Result<MainCf, MainCfError> {
        let lines = parse::split_lines(bytes);
        let (entries, warnings) = parse::derive_entries(&lines)?;
        Ok(MainCf {
            lines,
            entries: std::sync::Arc::new(entries),
            warnings,
        })
    }

    /// The document's bytes. Byte-identical to the input when unchanged.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.text().len() + 1).sum());
        for line in &self.lines {
            out.extend_from_slice(line.text());
            if line.lf {
                out.push(b'\n');
            }
        }
        out
    }

    /// Every entry in file order, duplicates included.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Warnings Postfix would print when reading this document.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The effective definitions: the last entry of each name wins.
    pub fn effective(&self) -> Effective<'_> {
        Effective::new(&self.entries)
    }

    /// The effective (last) entry for `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.name == name.as_bytes())
    }

    /// How many entries define `name` (duplicates included).
    pub fn count(&self, name: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.name == name.as_bytes())
            .count()
    }

    /// True when the file uses CRLF line endings (the majority of its
    /// terminated lines end in CR LF).
    pub fn uses_crlf(&self) -> bool {
        let (mut crlf, mut lf) = (0usize, 0usize);
        for line in self.lines.iter().filter(|l| l.lf) {
            if line.text().last() == Some(&b'\r') {
                crlf += 1;
            } else {
                lf += 1;
            }
        }
        crlf > lf
    }

    /// Number of physical lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Add the entries derived from lines appended at index `at` (which
    /// start with a start line and define names not defined before);
    /// earlier entries and warnings stay valid.
    fn add_appended_entries(&mut self, at: usize, new_entries: Vec<Entry>) {
        let entries = std::sync::Arc::make_mut(&mut self.entries);
        for mut e in new_entries {
            e.line += at;
            for i in &mut e.data_lines {
                *i += at;
            }
            entries.push(e);
        }
    }
}
