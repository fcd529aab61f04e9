//! Lookup table sources, read exactly like `postmap`, `postalias` and the
//! `regexp`/`pcre`/`cidr`/`texthash` readers read them (Postfix 3.7).
//!
//! A [`Table`] is the file's physical lines, byte for byte, and the items
//! (logical lines) derived from them by `readllines`'s rules (see
//! `lines.rs`): comments and blank lines are dropped without ending a
//! logical line, a line that starts with whitespace continues the one
//! before. Each logical line is then read by the syntax of the table's
//! type ([`Syntax`], `parse.rs`): `key value` for postmap tables,
//! `name: value` for aliases (`alias.rs`, RFC 822 tokens as `postalias`
//! uses them), `/pattern/flags result` for regexp and pcre,
//! `address/len result` for cidr, with `if`/`endif` for the last three.
//!
//! Comparison is by entries, the way Postfix stores them: keys of
//! postmap and alias tables are case-folded (first duplicate wins), alias
//! values compare in the form `postalias` stores, and pattern tables are
//! ordered rule lists (first match wins). Rendering an unchanged table
//! gives back the input bytes; an edit ([`Table::edit`], `edit.rs`)
//! rewrites only the lines of the entries it touches. Values that a
//! format cannot carry are typed errors ([`EntryError`], `limits.rs`),
//! which never quote the value (a table may be secret).

mod alias;
mod edit;
mod limits;
mod lines;
mod parse;
mod refs;

pub use alias::{alias_value, quote_alias_name};
pub use edit::{EntryChange, EntryChangeKind, TableEdit, NEW_LINE};
pub use limits::{check_entries, check_entry, EntryError, EntryErrorKind, Part};
pub use parse::Ignored;
pub use refs::{references, TableRef, FILE_TYPES};

use std::fmt;

/// The kinds of lookup table postform manages: files, either indexed by
/// `postmap` (`hash`, `lmdb`, `cdb`, `btree`) or read as text by Postfix
/// (`regexp`, `pcre`, `cidr`, `texthash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapType {
    Hash,
    Lmdb,
    Cdb,
    Btree,
    Regexp,
    Pcre,
    Cidr,
    Texthash,
}

impl MapType {
    /// Every type.
    pub const ALL: [MapType; 8] = [
        MapType::Hash,
        MapType::Lmdb,
        MapType::Cdb,
        MapType::Btree,
        MapType::Regexp,
        MapType::Pcre,
        MapType::Cidr,
        MapType::Texthash,
    ];

    /// The name Postfix uses before the `:` (`hash:/etc/postfix/x`).
    pub fn as_str(self) -> &'static str {
        match self {
            MapType::Hash => "hash",
            MapType::Lmdb => "lmdb",
            MapType::Cdb => "cdb",
            MapType::Btree => "btree",
            MapType::Regexp => "regexp",
            MapType::Pcre => "pcre",
            MapType::Cidr => "cidr",
            MapType::Texthash => "texthash",
        }
    }

    /// Built into an index file by `postmap` (Postfix reads the index, not
    /// the source).
    pub fn is_indexed(self) -> bool {
        self.index_suffix().is_some()
    }

    /// The index file's suffix after the source's name: `.db` for hash and
    /// btree, `.lmdb`, `.cdb`; `None` for text tables.
    pub fn index_suffix(self) -> Option<&'static str> {
        match self {
            MapType::Hash | MapType::Btree => Some(".db"),
            MapType::Lmdb => Some(".lmdb"),
            MapType::Cdb => Some(".cdb"),
            MapType::Regexp | MapType::Pcre | MapType::Cidr | MapType::Texthash => None,
        }
    }

    /// Read into memory when a Postfix process opens the table, and never
    /// looked at again: running processes see a change only after
    /// `postfix reload`. Indexed tables are watched instead (a process
    /// whose table changed exits at its next accept, see docs/tables.md).
    pub fn is_read_into_memory(self) -> bool {
        !self.is_indexed()
    }

    /// How the source file's lines are read for this type (postmap tables;
    /// an alias file is [`Syntax::Aliases`] whatever its type).
    pub fn syntax(self) -> Syntax {
        match self {
            MapType::Regexp => Syntax::Regexp,
            MapType::Pcre => Syntax::Pcre,
            MapType::Cidr => Syntax::Cidr,
            MapType::Hash | MapType::Lmdb | MapType::Cdb | MapType::Btree | MapType::Texthash => {
                Syntax::Postmap
            }
        }
    }

    /// The Debian package that adds this type when it is not built into
    /// the `postfix` package.
    pub fn debian_package(self) -> Option<&'static str> {
        match self {
            MapType::Lmdb => Some("postfix-lmdb"),
            MapType::Cdb => Some("postfix-cdb"),
            MapType::Pcre => Some("postfix-pcre"),
            _ => None,
        }
    }

    /// The type `name` names, if postform manages it.
    pub fn from_name(name: &str) -> Option<MapType> {
        MapType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a table source's logical lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// `key whitespace value` (postmap(1), texthash): the key ends at the
    /// first unquoted whitespace and keeps its quotes; keys are
    /// case-folded; the first of duplicate keys wins.
    Postmap,
    /// `name: value` (aliases(5), postalias(1)): RFC 822 tokens; the name
    /// is unquoted and case-folded, the value stored re-serialized.
    Aliases,
    /// regexp_table(5): `/pattern/flags result`, `!/re/`, `/re1/!/re2/`,
    /// `if`/`endif`; ordered.
    Regexp,
    /// pcre_table(5): as regexp, without `/re1/!/re2/`; ordered.
    Pcre,
    /// cidr_table(5): `[!]address[/len] result`, `if`/`endif`; ordered.
    Cidr,
}

impl Syntax {
    /// The first matching rule wins, so the order of entries matters.
    pub fn is_ordered(self) -> bool {
        matches!(self, Syntax::Regexp | Syntax::Pcre | Syntax::Cidr)
    }
}

/// One logical line of a table source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// 1-based number of its first physical line (the line Postfix names
    /// in its warnings).
    pub line: usize,
    pub kind: ItemKind,
    /// 0-based indices of the physical lines that carry it (the first
    /// line and its continuation lines; comments in between excluded).
    data_lines: Vec<usize>,
}

impl Item {
    /// The entry, when this item is one.
    pub fn entry(&self) -> Option<&Entry> {
        match &self.kind {
            ItemKind::Entry(e) => Some(e),
            _ => None,
        }
    }

    /// Physical lines (1-based, first and last) the item spans.
    pub fn span(&self) -> (usize, usize) {
        let first = self.data_lines.first().copied().unwrap_or(0);
        let last = self.data_lines.last().copied().unwrap_or(first);
        (first + 1, last + 1)
    }
}

/// What a logical line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// A lookup entry (a rule, for pattern tables).
    Entry(Entry),
    /// `if PATTERN` of a regexp, pcre or cidr table (the pattern as
    /// written, trimmed).
    If(Vec<u8>),
    /// `endif`.
    Endif,
    /// A line Postfix skips with a warning.
    Ignored(Ignored),
}

/// One entry of a table source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key as written (quotes kept; for pattern tables the whole
    /// pattern with its delimiters, negations and flags).
    pub key: Vec<u8>,
    /// The value as Postfix reads it: continuation lines joined, trimmed,
    /// cut at a NUL.
    pub value: Vec<u8>,
    /// What identifies the entry: the key as Postfix stores it (folded to
    /// lower case for postmap and alias tables, unquoted for aliases).
    pub ident: Vec<u8>,
    /// The value as Postfix stores it (aliases: re-serialized the way
    /// postalias does; otherwise `value`).
    pub stored: Vec<u8>,
    /// Byte offsets of the value in the logical line: where it starts and
    /// where it ends (before trailing whitespace), for in-place rewrites.
    value_at: usize,
    value_end: usize,
}

impl Entry {
    /// The key for messages (lossy UTF-8).
    pub fn key_str(&self) -> String {
        String::from_utf8_lossy(&self.key).into_owned()
    }
}

/// Something Postfix warns about when it reads the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableWarning {
    /// 1-based line (the first physical line of the logical line).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TableWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A physical line: `start..end` of the file's bytes (without the LF),
/// and whether an LF ended it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    start: usize,
    end: usize,
    lf: bool,
}

/// A table source file: lossless, parsed by its [`Syntax`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    syntax: Syntax,
    bytes: Vec<u8>,
    lines: Vec<Line>,
    items: Vec<Item>,
}

impl Table {
    /// Read `bytes` as Postfix reads a table of this syntax. Never fails:
    /// what Postfix skips is kept as [`ItemKind::Ignored`].
    pub fn parse(syntax: Syntax, bytes: &[u8]) -> Table {
        let lines = lines::physical(bytes);
        let items = lines::logical(bytes, &lines)
            .into_iter()
            .map(|l| Item {
                line: l.line,
                kind: parse::item(syntax, &l.text),
                data_lines: l.data_lines,
            })
            .collect();
        Table {
            syntax,
            bytes: bytes.to_vec(),
            lines,
            items,
        }
    }

    /// An empty table (a file that does not exist yet).
    pub fn empty(syntax: Syntax) -> Table {
        Table::parse(syntax, b"")
    }

    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// The file's bytes, as read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Every logical line, in file order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The entries Postfix uses, in file order: for postmap and alias
    /// tables the first of duplicate keys (later ones are dead); for
    /// pattern tables every rule (an `if`/`endif` is not an entry, see
    /// [`Table::has_conditions`]).
    pub fn effective_entries(&self) -> Vec<&Entry> {
        let mut seen = std::collections::HashSet::new();
        self.items
            .iter()
            .filter_map(Item::entry)
            .filter(|e| self.syntax.is_ordered() || seen.insert(e.ident.as_slice()))
            .collect()
    }

    /// The pattern table has `if`/`endif` blocks (which a list of entries
    /// cannot express).
    pub fn has_conditions(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.kind, ItemKind::If(_) | ItemKind::Endif))
    }

    /// What Postfix warns about when it reads this file (skipped lines,
    /// duplicate keys). Messages quote keys, never values.
    pub fn warnings(&self) -> Vec<TableWarning> {
        let mut out = Vec::new();
        let mut first: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for item in &self.items {
            match &item.kind {
                ItemKind::Ignored(why) => out.push(TableWarning {
                    line: item.line,
                    message: why.to_string(),
                }),
                ItemKind::Entry(e) if !self.syntax.is_ordered() => {
                    if let Some(line) = first.get(e.ident.as_slice()) {
                        out.push(TableWarning {
                            line: item.line,
                            message: format!(
                                "duplicate entry \"{}\": Postfix uses the one at line {line}",
                                e.key_str()
                            ),
                        });
                    } else {
                        first.insert(&e.ident, item.line);
                    }
                }
                ItemKind::Entry(e) if e.value.is_empty() => out.push(TableWarning {
                    line: item.line,
                    message: format!(
                        "rule \"{}\" has no result (Postfix uses an empty string)",
                        e.key_str()
                    ),
                }),
                _ => {}
            }
        }
        out
    }

    /// Do the two tables hold the same entries, as Postfix uses them?
    /// (Comments, layout, dead duplicates and the order of unordered
    /// tables do not count.)
    pub fn same_entries(&self, other: &Table) -> bool {
        let a = self.effective_entries();
        let b = other.effective_entries();
        if self.has_conditions() || other.has_conditions() {
            return self.items_signature() == other.items_signature();
        }
        if a.len() != b.len() {
            return false;
        }
        if self.syntax.is_ordered() {
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.ident == y.ident && x.stored == y.stored)
        } else {
            let map: std::collections::HashMap<&[u8], &[u8]> = a
                .iter()
                .map(|e| (e.ident.as_slice(), e.stored.as_slice()))
                .collect();
            b.iter()
                .all(|e| map.get(e.ident.as_slice()) == Some(&e.stored.as_slice()))
        }
    }

    fn items_signature(&self) -> Vec<(u8, &[u8], &[u8])> {
        self.items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Entry(e) => Some((0, e.ident.as_slice(), e.stored.as_slice())),
                ItemKind::If(c) => Some((1, c.as_slice(), &b""[..])),
                ItemKind::Endif => Some((2, &b""[..], &b""[..])),
                ItemKind::Ignored(_) => None,
            })
            .collect()
    }

    /// The physical line `i` (0-based) without its LF.
    fn line_text(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.bytes[l.start..l.end]
    }

    /// The file uses CR LF line endings (its first line does).
    fn uses_crlf(&self) -> bool {
        self.lines
            .first()
            .is_some_and(|l| l.lf && self.bytes[l.start..l.end].last() == Some(&b'\r'))
    }
}

/// The key as a table compares it: ASCII letters folded to lower case
/// (postmap's `FOLD_FIX`; with `smtputf8_enable = yes` Postfix also folds
/// non-ASCII letters, which postform then treats as different keys, so
/// such a difference is at worst rewritten, never missed).
pub fn fold_key(key: &[u8]) -> Vec<u8> {
    key.to_ascii_lowercase()
}

#[cfg(test)]
mod tests;
