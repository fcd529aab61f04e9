//! What each table format can carry. A key or value outside these limits
//! would be read back by Postfix as something else (a shorter key, a
//! comment, a continuation line, a skipped line), so it is refused before
//! anything is written. Messages name the key and the position, never
//! the value: a table may be secret.

use super::{fold_key, parse, ItemKind, MapType, Syntax};
use crate::postfix::space::is_space;
use std::fmt;

/// Which half of an entry a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Key => "key",
            Part::Value => "value",
        })
    }
}

/// What is wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryErrorKind {
    /// The key is empty.
    EmptyKey,
    /// The value is empty (postmap and cidr skip such a line; a regexp
    /// rule would return an empty string).
    EmptyValue,
    /// A line break (LF or CR) would end the line or start a continuation.
    LineBreak(Part),
    /// A NUL ends the line for Postfix (C strings).
    Nul(Part),
    /// postmap: whitespace outside double quotes ends the key.
    KeyWhitespace,
    /// The line would start with `#`: a comment.
    KeyComment,
    /// postmap: an odd number of `"`: the line is skipped.
    KeyUnbalancedQuote,
    /// postmap: a trailing `\` escapes the separator.
    KeyTrailingBackslash,
    /// postmap: `key:` is the aliases format.
    KeyColon,
    /// aliases: `@` or `%` in the name.
    NameNotLocal,
    /// postmap, cidr: leading or trailing whitespace is trimmed away.
    ValueEdgeWhitespace,
    /// regexp/pcre: not one `/pattern/flags` (the reason).
    BadPattern(String),
    /// cidr: whitespace in the address pattern.
    CidrWhitespace,
    /// lmdb: keys are at most 510 bytes.
    KeyTooLong { max: usize },
    /// The same key (case-folded, as Postfix compares it) twice.
    Duplicate { first: String },
    /// The line would be read back as something else.
    NotRoundTrip,
}

/// One entry the format cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry \"{}\": {}", shown_key(key), self.describe())]
pub struct EntryError {
    /// The entry's position in the list checked (0-based).
    pub index: usize,
    /// The key as given.
    pub key: String,
    /// 1-based character column of the problem in the key or value, when
    /// there is one place.
    pub column: Option<usize>,
    pub kind: EntryErrorKind,
}

/// The key for a message: escaped, at most 60 characters.
fn shown_key(key: &str) -> String {
    let mut out: String = key.chars().take(60).flat_map(char::escape_debug).collect();
    if key.chars().nth(60).is_some() {
        out.push_str("...");
    }
    out
}

impl EntryError {
    fn describe(&self) -> String {
        let at = |part: Part| match self.column {
            Some(c) => format!(" at character {c} of the {part}"),
            None => String::new(),
        };
        match &self.kind {
            EntryErrorKind::EmptyKey => "the key is empty".into(),
            EntryErrorKind::EmptyValue => "the value is empty; Postfix skips a line without a value (remove the entry instead)".into(),
            EntryErrorKind::LineBreak(p) => format!("line break{}: a table line cannot hold one (the rest would be a new line or a continuation)", at(*p)),
            EntryErrorKind::Nul(p) => format!("NUL byte{}: Postfix stops reading the line there", at(*p)),
            EntryErrorKind::KeyWhitespace => format!("whitespace{}: postmap ends a key at the first whitespace, so the rest would become the value (write the key without it, or quote the part with double quotes: postmap then keeps the quotes in the key)", at(Part::Key)),
            EntryErrorKind::KeyComment => "the key starts with #: Postfix reads the line as a comment".into(),
            EntryErrorKind::KeyUnbalancedQuote => "the key has an unbalanced double quote: postmap skips the line".into(),
            EntryErrorKind::KeyTrailingBackslash => "the key ends with a backslash, which would escape the space after it and swallow the value".into(),
            EntryErrorKind::KeyColon => "the key ends with ':', the aliases format: postmap warns \"is this an alias file?\" (manage an aliases file under `aliases:` or with `format: aliases`)".into(),
            EntryErrorKind::NameNotLocal => format!("an alias name must be a local part: @ and %{} are not allowed (aliases(5); postalias skips the line)", at(Part::Key)),
            EntryErrorKind::ValueEdgeWhitespace => "the value starts or ends with whitespace, which Postfix trims away".into(),
            EntryErrorKind::BadPattern(why) => format!("not a valid pattern: {why}; a rule is /regular expression/flags (any non-alphanumeric delimiter, \\ escapes it)"),
            EntryErrorKind::CidrWhitespace => format!("whitespace{}: a cidr pattern is one address or network (e.g. 192.168.0.0/16)", at(Part::Key)),
            EntryErrorKind::KeyTooLong { max } => format!("the key is longer than {max} bytes, the most an lmdb table can store"),
            EntryErrorKind::Duplicate { first } => format!("the same key as \"{}\" (Postfix folds keys to lower case; only the first would be used)", shown_key(first)),
            EntryErrorKind::NotRoundTrip => "Postfix would read this line back as a different key or value".into(),
        }
    }

    /// What the problem is about: the key or the value.
    pub fn part(&self) -> Part {
        match &self.kind {
            EntryErrorKind::EmptyValue | EntryErrorKind::ValueEdgeWhitespace => Part::Value,
            EntryErrorKind::LineBreak(p) | EntryErrorKind::Nul(p) => *p,
            _ => Part::Key,
        }
    }
}

/// The most bytes an lmdb key can have (511 with the trailing NUL postmap
/// stores).
pub const LMDB_MAX_KEY: usize = 510;

/// Check one entry of a table of type `kind` read with `syntax`. The value
/// of an alias is the targets as one text (`a, b`).
pub fn check_entry(
    kind: MapType,
    syntax: Syntax,
    index: usize,
    key: &str,
    value: &str,
) -> Result<(), EntryError> {
    let err = |column: Option<usize>, kind: EntryErrorKind| EntryError {
        index,
        key: key.to_string(),
        column,
        kind,
    };
    let col = |s: &str, byte: usize| Some(s[..byte].chars().count() + 1);
    let (k, v) = (key.as_bytes(), value.as_bytes());
    if k.is_empty() {
        return Err(err(None, EntryErrorKind::EmptyKey));
    }
    for (part, text) in [(Part::Key, key), (Part::Value, value)] {
        if let Some(i) = text.bytes().position(|b| b == b'\n' || b == b'\r') {
            return Err(err(col(text, i), EntryErrorKind::LineBreak(part)));
        }
        if let Some(i) = text.bytes().position(|b| b == 0) {
            return Err(err(col(text, i), EntryErrorKind::Nul(part)));
        }
    }
    if k[0] == b'#' {
        return Err(err(Some(1), EntryErrorKind::KeyComment));
    }
    if is_space(k[0]) {
        return Err(err(
            Some(1),
            match syntax {
                Syntax::Cidr => EntryErrorKind::CidrWhitespace,
                _ => EntryErrorKind::KeyWhitespace,
            },
        ));
    }
    if v.is_empty() {
        return Err(err(None, EntryErrorKind::EmptyValue));
    }
    if syntax != Syntax::Aliases && (is_space(v[0]) || is_space(v[v.len() - 1])) {
        return Err(err(None, EntryErrorKind::ValueEdgeWhitespace));
    }
    match syntax {
        Syntax::Postmap => {
            if let Some(i) = unquoted_space(k) {
                return Err(err(col(key, i), EntryErrorKind::KeyWhitespace));
            }
            if parse::postmap_key_end(k).is_err() {
                return Err(err(None, EntryErrorKind::KeyUnbalancedQuote));
            }
            if ends_with_escape(k) {
                return Err(err(
                    Some(key.chars().count()),
                    EntryErrorKind::KeyTrailingBackslash,
                ));
            }
            if k.ends_with(b":") {
                return Err(err(Some(key.chars().count()), EntryErrorKind::KeyColon));
            }
        }
        Syntax::Aliases => {
            if let Some(i) = k.iter().position(|&b| b == b'@' || b == b'%') {
                return Err(err(col(key, i), EntryErrorKind::NameNotLocal));
            }
        }
        Syntax::Regexp | Syntax::Pcre => {
            if k[0].is_ascii_alphanumeric() {
                return Err(err(
                    Some(1),
                    EntryErrorKind::BadPattern(
                        "it starts with a letter or digit (if/endif are not entries)".into(),
                    ),
                ));
            }
            match parse::pattern_end(syntax, k, syntax == Syntax::Regexp) {
                Ok(end) if end == k.len() => {}
                Ok(end) => {
                    return Err(err(
                        col(key, end),
                        EntryErrorKind::BadPattern("text after the pattern's flags".into()),
                    ))
                }
                Err(why) => return Err(err(None, EntryErrorKind::BadPattern(why))),
            }
        }
        Syntax::Cidr => {
            if let Some(i) = k.iter().position(|&b| is_space(b)) {
                return Err(err(col(key, i), EntryErrorKind::CidrWhitespace));
            }
            if k.len() >= 2 && k[..2].eq_ignore_ascii_case(b"if")
                || k.len() >= 5 && k[..5].eq_ignore_ascii_case(b"endif")
            {
                let keyword_end = if k[..2].eq_ignore_ascii_case(b"if") {
                    2
                } else {
                    5
                };
                if !k.get(keyword_end).is_some_and(u8::is_ascii_alphanumeric) {
                    return Err(err(
                        Some(1),
                        EntryErrorKind::BadPattern("if/endif are not entries".into()),
                    ));
                }
            }
        }
    }
    if kind == MapType::Lmdb && k.len() > LMDB_MAX_KEY {
        return Err(err(None, EntryErrorKind::KeyTooLong { max: LMDB_MAX_KEY }));
    }
    // Last: the line as written must read back as this key and value.
    let line = super::edit::render_line(syntax, key, value);
    let ok = match parse::item(syntax, &line) {
        ItemKind::Entry(e) => {
            let key_back = match syntax {
                Syntax::Aliases => e.ident == fold_key(&alias_name_ident(key)),
                _ => e.key == k,
            };
            let value_back = match syntax {
                Syntax::Aliases => e.stored == super::alias_value(v),
                _ => e.value == v,
            };
            key_back && value_back
        }
        _ => false,
    };
    if !ok {
        return Err(err(None, EntryErrorKind::NotRoundTrip));
    }
    Ok(())
}

/// What an alias name written by postform reads back as (unquoted).
fn alias_name_ident(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

/// Check every entry, and that no two keys are the same as Postfix
/// compares them (postmap and alias tables fold case; pattern tables
/// cannot repeat a pattern in a spec either). Every problem, in order.
pub fn check_entries<'a>(
    kind: MapType,
    syntax: Syntax,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<EntryError> {
    let mut errors = Vec::new();
    let mut seen: std::collections::HashMap<Vec<u8>, &str> = std::collections::HashMap::new();
    for (index, (key, value)) in entries.into_iter().enumerate() {
        if let Err(e) = check_entry(kind, syntax, index, key, value) {
            errors.push(e);
            continue;
        }
        let ident = match syntax {
            Syntax::Postmap | Syntax::Aliases => fold_key(key.as_bytes()),
            _ => key.as_bytes().to_vec(),
        };
        if let Some(first) = seen.get(&ident) {
            errors.push(EntryError {
                index,
                key: key.to_string(),
                column: None,
                kind: EntryErrorKind::Duplicate {
                    first: first.to_string(),
                },
            });
        } else {
            seen.insert(ident, key);
        }
    }
    errors
}

/// Byte index of the first whitespace postmap would end the key at, or
/// that a key cannot hold: a space outside double quotes (and not
/// escaped), or any other whitespace byte anywhere (a TAB inside quotes
/// is stored, but `postmap -s` and `-q -` print KEY TAB VALUE, so such a
/// key could not be read back).
fn unquoted_space(k: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    let mut i = 0;
    while i < k.len() {
        match k[i] {
            b' ' if !in_quotes && (i == 0 || !escaped(k, i)) => return Some(i),
            b' ' => {}
            b if is_space(b) => return Some(i),
            b'"' if !escaped(k, i) => in_quotes = !in_quotes,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Is the byte at `i` escaped by an odd run of backslashes before it?
fn escaped(k: &[u8], i: usize) -> bool {
    k[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Ends with an odd run of backslashes (the last one escapes what follows).
fn ends_with_escape(k: &[u8]) -> bool {
    k.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(t: MapType, s: Syntax, k: &str, v: &str) -> Option<EntryErrorKind> {
        check_entry(t, s, 0, k, v).err().map(|e| e.kind)
    }

    #[test]
    fn postmap_limits() {
        use EntryErrorKind::*;
        let h = |k: &str, v: &str| kind_of(MapType::Hash, Syntax::Postmap, k, v);
        assert_eq!(h("[smtp.example.com]:587", "user:pass word"), None);
        assert_eq!(h("\"quoted key\"@example.com", "x"), None);
        assert_eq!(h("a b", "x"), Some(KeyWhitespace));
        assert_eq!(h("a\tb", "x"), Some(KeyWhitespace));
        assert_eq!(h("a\x0bb", "x"), Some(KeyWhitespace));
        assert_eq!(h("\"a b\"", "x"), None);
        assert_eq!(h("a\\ b", "x"), None);
        assert_eq!(h("\"a\tb\"", "x"), Some(KeyWhitespace));
        assert_eq!(h("a\\\tb", "x"), Some(KeyWhitespace));
        assert_eq!(h("#a", "x"), Some(KeyComment));
        assert_eq!(h("\"a", "x"), Some(KeyUnbalancedQuote));
        assert_eq!(h("a\\", "x"), Some(KeyTrailingBackslash));
        assert_eq!(h("a\\\\", "x"), None);
        assert_eq!(h("root:", "x"), Some(KeyColon));
        assert_eq!(h("a", "x\ny"), Some(LineBreak(Part::Value)));
        assert_eq!(h("a", "x\0y"), Some(Nul(Part::Value)));
        assert_eq!(h("a", " x"), Some(ValueEdgeWhitespace));
        assert_eq!(h("a", ""), Some(EmptyValue));
        assert_eq!(h("", "x"), Some(EmptyKey));
        let long = "k".repeat(511);
        assert_eq!(
            kind_of(MapType::Lmdb, Syntax::Postmap, &long, "v"),
            Some(KeyTooLong { max: 510 })
        );
        assert_eq!(
            kind_of(MapType::Lmdb, Syntax::Postmap, &long[1..], "v"),
            None
        );
        assert_eq!(h(&long, "v"), None);
    }

    #[test]
    fn column_counts_characters() {
        let e = check_entry(MapType::Hash, Syntax::Postmap, 3, "ä b", "x").unwrap_err();
        assert_eq!((e.index, e.column), (3, Some(2)));
        assert!(e.to_string().contains("at character 2 of the key"), "{e}");
    }

    #[test]
    fn messages_never_hold_the_value() {
        let e = check_entry(MapType::Hash, Syntax::Postmap, 0, "k", "hunter2\nx").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn pattern_limits() {
        use EntryErrorKind::*;
        let r = |k: &str, v: &str| kind_of(MapType::Regexp, Syntax::Regexp, k, v);
        assert_eq!(r("/^From: a b/", "REJECT x"), None);
        assert_eq!(r("/a/!/b/", "x"), None);
        assert!(matches!(r("/a", "x"), Some(BadPattern(_))));
        assert!(matches!(r("/a/ b", "x"), Some(BadPattern(_))));
        assert!(matches!(r("/a/q", "x"), Some(BadPattern(_))));
        assert!(matches!(r("if", "x"), Some(BadPattern(_))));
        assert!(matches!(
            kind_of(MapType::Pcre, Syntax::Pcre, "/a/!/b/", "x"),
            Some(BadPattern(_))
        ));
        let c = |k: &str, v: &str| kind_of(MapType::Cidr, Syntax::Cidr, k, v);
        assert_eq!(c("10.0.0.0/8", "OK"), None);
        assert_eq!(c("10.0.0.0 /8", "OK"), Some(CidrWhitespace));
        assert!(matches!(c("endif", "OK"), Some(BadPattern(_))));
    }

    #[test]
    fn alias_limits() {
        use EntryErrorKind::*;
        let a = |k: &str, v: &str| kind_of(MapType::Hash, Syntax::Aliases, k, v);
        assert_eq!(a("postmaster", "root"), None);
        assert_eq!(a("team", "alice, bob,carol"), None);
        assert_eq!(a("with space", "x"), None);
        assert_eq!(a("a@b", "x"), Some(NameNotLocal));
        assert_eq!(a("a", ""), Some(EmptyValue));
    }

    #[test]
    fn duplicates_fold_case() {
        let errors = check_entries(
            MapType::Hash,
            Syntax::Postmap,
            [("User@Example.com", "a"), ("user@example.com", "b")],
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].index, 1);
        assert!(matches!(errors[0].kind, EntryErrorKind::Duplicate { .. }));
        // Patterns are case-sensitive text.
        assert!(check_entries(
            MapType::Regexp,
            Syntax::Regexp,
            [("/A/", "x"), ("/a/", "y")]
        )
        .is_empty());
    }
}
