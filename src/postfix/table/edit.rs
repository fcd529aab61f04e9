//! Minimal edits: make a table hold exactly the desired entries, touching
//! only the lines of the entries that change.
//!
//! * An entry whose stored value already matches keeps its lines (its
//!   layout, quotes and comments included).
//! * A changed value is rewritten in place: on a one-line entry only the
//!   value's bytes are replaced (key, separator and line ending stay); a
//!   continued entry becomes one line.
//! * A removed entry loses its data lines; comments stay.
//! * Unordered tables (postmap, aliases) get new entries at the end, in
//!   the order given; dead duplicates (a later line with a key already
//!   used) are dropped, but only when the table changes anyway, so that
//!   restating a table is a no-op.
//! * Ordered tables (regexp, pcre, cidr) are diffed as rule sequences
//!   (Myers, by pattern): rules in the same relative order stay; others
//!   are removed or inserted after the rule before them. A rule whose
//!   position changes is a move.
//! * New lines use CR LF in a CR LF file; an unterminated last line gets
//!   its line ending before anything is appended.

use super::{alias_value, quote_alias_name, ItemKind, Syntax, Table};
use std::collections::{BTreeMap, HashMap};

/// In [`TableEdit::line_origin`]: a line the edit wrote.
pub const NEW_LINE: u32 = u32::MAX;

/// What happens to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryChangeKind {
    Add,
    Change,
    Remove,
    /// An ordered table's rule moves (its value may change too).
    Move,
}

/// One entry's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryChange {
    /// The key as written (for `if`/`endif` lines: `if PATTERN`, `endif`).
    pub key: String,
    pub kind: EntryChangeKind,
    /// The value before, as written in the file.
    pub before: Option<Vec<u8>>,
    /// The value after.
    pub after: Option<Vec<u8>>,
    /// The entry's first line in the old file (1-based).
    pub line: Option<usize>,
}

/// The result of [`Table::edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEdit {
    /// The new file content.
    pub bytes: Vec<u8>,
    /// The entry changes, in the order of the new file (removals where the
    /// entry was).
    pub changes: Vec<EntryChange>,
    /// Dead duplicate lines removed along the way.
    pub removed_duplicates: usize,
    /// For each physical line of `bytes`: the 0-based line of the old file
    /// it is unchanged from, or [`NEW_LINE`].
    pub line_origin: Vec<u32>,
}

impl TableEdit {
    /// Does the edit change the file?
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || self.removed_duplicates > 0
    }
}

/// One table line for `key` and `value` (without the line ending).
pub fn render_line(syntax: Syntax, key: &str, value: &str) -> Vec<u8> {
    let mut line = Vec::with_capacity(key.len() + value.len() + 2);
    match syntax {
        Syntax::Aliases => {
            line.extend_from_slice(quote_alias_name(key).as_bytes());
            line.extend_from_slice(b": ");
        }
        _ => {
            line.extend_from_slice(key.as_bytes());
            line.push(b' ');
        }
    }
    line.extend_from_slice(value.as_bytes());
    line
}

/// What happens to a physical line.
#[derive(Debug, Clone)]
enum LineAction {
    Keep,
    Drop,
    Replace(Vec<u8>),
}

impl Table {
    /// Render `desired` (key, value; for aliases the value is the targets
    /// as one text) into this table with the fewest line changes. The
    /// entries must pass [`super::check_entries`] first: what the format
    /// cannot carry is written as given.
    pub fn edit(&self, desired: &[(&str, &str)]) -> TableEdit {
        let mut plan = Editor::new(self);
        if self.syntax.is_ordered() {
            plan.ordered(desired);
        } else {
            plan.unordered(desired);
        }
        plan.finish()
    }

    /// A new file holding `desired` (see [`Table::edit`]).
    pub fn render(syntax: Syntax, desired: &[(&str, &str)]) -> Vec<u8> {
        Table::empty(syntax).edit(desired).bytes
    }
}

struct Editor<'t> {
    table: &'t Table,
    actions: Vec<LineAction>,
    /// New lines to insert before physical line `p` (`p == lines.len()`:
    /// at the end).
    inserts: BTreeMap<usize, Vec<Vec<u8>>>,
    changes: Vec<(usize, EntryChange)>,
    removed_duplicates: usize,
}

impl<'t> Editor<'t> {
    fn new(table: &'t Table) -> Self {
        Editor {
            table,
            actions: vec![LineAction::Keep; table.lines.len()],
            inserts: BTreeMap::new(),
            changes: Vec::new(),
            removed_duplicates: 0,
        }
    }

    fn stored(&self, value: &str) -> Vec<u8> {
        match self.table.syntax {
            Syntax::Aliases => alias_value(value.as_bytes()),
            _ => value.as_bytes().to_vec(),
        }
    }

    fn drop_item(&mut self, item: usize) {
        for &l in &self.table.items[item].data_lines {
            self.actions[l] = LineAction::Drop;
        }
    }

    /// Rewrite item `item` (an entry) with `value`.
    fn rewrite(&mut self, item: usize, key: &str, value: &str) {
        let t = self.table;
        let it = &t.items[item];
        let ItemKind::Entry(e) = &it.kind else {
            return;
        };
        let first = it.data_lines[0];
        let line = t.line_text(first);
        let single = it.data_lines.len() == 1 && !line.contains(&0);
        let text = if single {
            let mut out = line[..e.value_at].to_vec();
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(&line[e.value_end..]);
            out
        } else if e.value_at <= line.len() && e.value_at >= e.key.len() {
            let mut out = line[..e.value_at].to_vec();
            out.extend_from_slice(value.as_bytes());
            if line.last() == Some(&b'\r') {
                out.push(b'\r');
            }
            out
        } else {
            let mut out = render_line(t.syntax, key, value);
            if line.last() == Some(&b'\r') {
                out.push(b'\r');
            }
            out
        };
        for &l in &it.data_lines[1..] {
            self.actions[l] = LineAction::Drop;
        }
        self.actions[first] = LineAction::Replace(text);
    }

    fn new_line(&self, key: &str, value: &str) -> Vec<u8> {
        let mut line = match self.separator() {
            Some(sep) if self.table.syntax != Syntax::Aliases => {
                let mut l = key.as_bytes().to_vec();
                l.extend_from_slice(sep);
                l.extend_from_slice(value.as_bytes());
                l
            }
            _ => render_line(self.table.syntax, key, value),
        };
        if self.table.uses_crlf() {
            line.push(b'\r');
        }
        line
    }

    /// The whitespace between key and value of the file's last one-line
    /// entry (a TAB, say), for new lines to look like their neighbours.
    fn separator(&self) -> Option<&'t [u8]> {
        let t = self.table;
        t.items.iter().rev().find_map(|item| {
            let ItemKind::Entry(e) = &item.kind else {
                return None;
            };
            let [only] = item.data_lines.as_slice() else {
                return None;
            };
            let line = t.line_text(*only);
            let sep = line.get(e.key.len()..e.value_at)?;
            (!sep.is_empty() && sep.iter().all(|&b| b == b' ' || b == b'\t')).then_some(sep)
        })
    }

    fn unordered(&mut self, desired: &[(&str, &str)]) {
        let t = self.table;
        let want: HashMap<Vec<u8>, usize> = desired
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (super::fold_key(k.as_bytes()), i))
            .collect();
        let mut found = vec![false; desired.len()];
        let mut dead = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, item) in t.items.iter().enumerate() {
            let ItemKind::Entry(e) = &item.kind else {
                continue;
            };
            if !seen.insert(e.ident.as_slice()) {
                dead.push(i);
                continue;
            }
            match want.get(&e.ident) {
                Some(&d) => {
                    found[d] = true;
                    let (key, value) = desired[d];
                    if e.stored != self.stored(value) {
                        self.rewrite(i, key, value);
                        self.changes.push((
                            item.data_lines[0],
                            EntryChange {
                                key: e.key_str(),
                                kind: EntryChangeKind::Change,
                                before: Some(e.value.clone()),
                                after: Some(value.as_bytes().to_vec()),
                                line: Some(item.line),
                            },
                        ));
                    }
                }
                None => {
                    self.drop_item(i);
                    self.changes.push((
                        item.data_lines[0],
                        EntryChange {
                            key: e.key_str(),
                            kind: EntryChangeKind::Remove,
                            before: Some(e.value.clone()),
                            after: None,
                            line: Some(item.line),
                        },
                    ));
                }
            }
        }
        let end = t.lines.len();
        for (d, (key, value)) in desired.iter().enumerate() {
            if !found[d] {
                let line = self.new_line(key, value);
                self.inserts.entry(end).or_default().push(line);
                self.changes.push((
                    usize::MAX,
                    EntryChange {
                        key: key.to_string(),
                        kind: EntryChangeKind::Add,
                        before: None,
                        after: Some(value.as_bytes().to_vec()),
                        line: None,
                    },
                ));
            }
        }
        if !self.changes.is_empty() {
            for i in dead {
                self.drop_item(i);
                self.removed_duplicates += 1;
            }
        }
    }

    fn ordered(&mut self, desired: &[(&str, &str)]) {
        let t = self.table;
        // The rule sequence: entries and if/endif, tagged so that they
        // never compare equal to each other.
        let rules: Vec<usize> = t
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| !matches!(i.kind, ItemKind::Ignored(_)))
            .map(|(n, _)| n)
            .collect();
        let ident = |n: usize| -> (u8, &[u8]) {
            match &t.items[n].kind {
                ItemKind::Entry(e) => (0, &e.ident),
                ItemKind::If(c) => (1, c),
                _ => (2, &[]),
            }
        };
        let old: Vec<(u8, &[u8])> = rules.iter().map(|&n| ident(n)).collect();
        let new: Vec<(u8, &[u8])> = desired.iter().map(|(k, _)| (0, k.as_bytes())).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let ops = similar::capture_diff_slices_deadline(
            similar::Algorithm::Myers,
            &old,
            &new,
            Some(deadline),
        );
        let end = t.lines.len();
        // Where rules inserted before old rule `o` go: after the rule
        // before it, or before the first rule, or at the end.
        let position = |o: usize| -> usize {
            if o == 0 {
                rules.first().map_or(end, |&n| t.items[n].data_lines[0])
            } else {
                let prev = &t.items[rules[o - 1]];
                prev.data_lines.last().map_or(end, |l| l + 1)
            }
        };
        let mut removed: Vec<(usize, EntryChange)> = Vec::new();
        let mut added: Vec<(usize, EntryChange)> = Vec::new();
        for op in ops {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                similar::DiffTag::Equal => {
                    for (o, d) in old_range.zip(new_range) {
                        let n = rules[o];
                        let item = &t.items[n];
                        let (key, value) = desired[d];
                        if let ItemKind::Entry(e) = &item.kind {
                            if e.stored != self.stored(value) {
                                self.rewrite(n, key, value);
                                self.changes.push((
                                    item.data_lines[0],
                                    EntryChange {
                                        key: e.key_str(),
                                        kind: EntryChangeKind::Change,
                                        before: Some(e.value.clone()),
                                        after: Some(value.as_bytes().to_vec()),
                                        line: Some(item.line),
                                    },
                                ));
                            }
                        }
                    }
                }
                similar::DiffTag::Delete | similar::DiffTag::Replace | similar::DiffTag::Insert => {
                    let at = position(old_range.start);
                    for o in old_range.clone() {
                        let n = rules[o];
                        let item = &t.items[n];
                        self.drop_item(n);
                        let (key, before) = match &item.kind {
                            ItemKind::Entry(e) => (e.key_str(), Some(e.value.clone())),
                            ItemKind::If(c) => (format!("if {}", String::from_utf8_lossy(c)), None),
                            _ => ("endif".to_string(), None),
                        };
                        removed.push((
                            item.data_lines[0],
                            EntryChange {
                                key,
                                kind: EntryChangeKind::Remove,
                                before,
                                after: None,
                                line: Some(item.line),
                            },
                        ));
                    }
                    for d in new_range {
                        let (key, value) = desired[d];
                        let line = self.new_line(key, value);
                        self.inserts.entry(at).or_default().push(line);
                        added.push((
                            at,
                            EntryChange {
                                key: key.to_string(),
                                kind: EntryChangeKind::Add,
                                before: None,
                                after: Some(value.as_bytes().to_vec()),
                                line: None,
                            },
                        ));
                    }
                }
            }
        }
        // A rule both removed and added moved.
        let mut added_by_key: HashMap<String, usize> = added
            .iter()
            .enumerate()
            .map(|(i, (_, c))| (c.key.clone(), i))
            .collect();
        let mut moved = vec![false; added.len()];
        for (at, c) in removed {
            match added_by_key.remove(&c.key) {
                Some(i) => {
                    moved[i] = true;
                    let a = &added[i].1;
                    self.changes.push((
                        added[i].0,
                        EntryChange {
                            key: c.key,
                            kind: EntryChangeKind::Move,
                            before: c.before,
                            after: a.after.clone(),
                            line: c.line,
                        },
                    ));
                }
                None => self.changes.push((at, c)),
            }
        }
        for (i, a) in added.into_iter().enumerate() {
            if !moved[i] {
                self.changes.push(a);
            }
        }
    }

    fn finish(mut self) -> TableEdit {
        let t = self.table;
        let crlf = t.uses_crlf();
        let mut bytes = Vec::with_capacity(t.bytes.len() + 64);
        let mut origin: Vec<u32> = Vec::with_capacity(t.lines.len() + 8);
        // Whether the last line written lacks its line ending.
        let mut open = false;
        let mut push =
            |bytes: &mut Vec<u8>, origin: &mut Vec<u32>, text: &[u8], lf: bool, from: u32| {
                if open {
                    if crlf && !bytes.ends_with(b"\r") {
                        bytes.push(b'\r');
                    }
                    bytes.push(b'\n');
                    if let Some(last) = origin.last_mut() {
                        *last = NEW_LINE;
                    }
                }
                bytes.extend_from_slice(text);
                if lf {
                    bytes.push(b'\n');
                }
                origin.push(from);
                open = !lf;
            };
        let n = t.lines.len();
        for p in 0..=n {
            if let Some(lines) = self.inserts.remove(&p) {
                for l in lines {
                    push(&mut bytes, &mut origin, &l, true, NEW_LINE);
                }
            }
            if p < n {
                let line = t.lines[p];
                match &self.actions[p] {
                    LineAction::Keep => push(
                        &mut bytes,
                        &mut origin,
                        &t.bytes[line.start..line.end],
                        line.lf,
                        u32::try_from(p).unwrap_or(NEW_LINE),
                    ),
                    LineAction::Drop => {}
                    LineAction::Replace(text) => {
                        push(&mut bytes, &mut origin, text, line.lf, NEW_LINE)
                    }
                }
            }
        }
        self.changes.sort_by_key(|(at, _)| *at);
        TableEdit {
            bytes,
            changes: self.changes.into_iter().map(|(_, c)| c).collect(),
            removed_duplicates: self.removed_duplicates,
            line_origin: origin,
        }
    }
}
