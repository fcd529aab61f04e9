//! Reading one logical line by the table's syntax.
//!
//! * postmap (`postmap/postmap.c`, `util/dict_thash.c`): the key ends at
//!   the first unquoted whitespace (`"` toggles quoting, `\` escapes the
//!   next byte; both stay in the key); the value is the rest, trimmed.
//!   An unbalanced quote, a missing key or value: the line is skipped.
//! * aliases (`postalias/postalias.c`): see `alias.rs`.
//! * regexp (`util/dict_regexp.c`), pcre (`util/dict_pcre.c`): a line
//!   starting with a letter or digit is `if PATTERN` / `endif` (any
//!   case) or unrecognized; else `[!]DELIM re DELIM flags` (regexp: also
//!   a second `!/re/`), whitespace, the result (empty: a warning, the
//!   rule is kept).
//! * cidr (`util/dict_cidr.c`): `if [!]pattern`, `endif`, or
//!   `[!]pattern result` split at the first whitespace.

use super::{alias, fold_key, Entry, ItemKind, Syntax};
use crate::postfix::space::{is_space, trim};
use std::fmt;

/// Why Postfix skips a logical line (each is a `warning:` when it reads
/// the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    /// A continuation line with nothing before it to continue.
    LeadingWhitespace,
    /// postmap: `unbalanced '"'`.
    UnbalancedQuote,
    /// postmap: `expected format: key whitespace value`.
    NoValue,
    /// postalias: `need name:value pair`.
    NeedNameValue,
    /// postalias: `name must be local`.
    NameNotLocal,
    /// regexp/pcre: no closing delimiter, unknown flag, no pattern.
    BadPattern(String),
    /// regexp/pcre/cidr: a line that is no rule, `if` or `endif`.
    Unrecognized,
    /// cidr: no result after the pattern.
    NoResult,
    /// `endif` followed by more text.
    TextAfterEndif,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::LeadingWhitespace => f.write_str(
                "logical line must not start with whitespace: Postfix skips it (a continuation line with nothing before it)",
            ),
            Ignored::UnbalancedQuote => f.write_str("unbalanced '\"': Postfix skips this line"),
            Ignored::NoValue => f.write_str("expected format: key whitespace value: Postfix skips this line"),
            Ignored::NeedNameValue => f.write_str("need name:value pair: Postfix skips this line"),
            Ignored::NameNotLocal => f.write_str("name must be local (no @ or %): Postfix skips this line"),
            Ignored::BadPattern(why) => write!(f, "{why}: Postfix skips this rule"),
            Ignored::Unrecognized => f.write_str("unrecognized line (not a rule, if or endif): Postfix skips it"),
            Ignored::NoResult => f.write_str("no lookup result: Postfix skips this rule"),
            Ignored::TextAfterEndif => f.write_str("text after endif: Postfix skips this line"),
        }
    }
}

/// Read one logical line.
pub(super) fn item(syntax: Syntax, text: &[u8]) -> ItemKind {
    if text.first().is_some_and(|&b| is_space(b)) {
        return ItemKind::Ignored(Ignored::LeadingWhitespace);
    }
    match syntax {
        Syntax::Postmap => postmap(text),
        Syntax::Aliases => alias::line(text),
        Syntax::Regexp | Syntax::Pcre => pattern_line(syntax, text),
        Syntax::Cidr => cidr(text),
    }
}

/// Where a postmap key ends: the first unquoted whitespace (`\`
/// escapes). `Err` for an unbalanced quote.
pub(super) fn postmap_key_end(text: &[u8]) -> Result<usize, ()> {
    let mut in_quotes = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' => {
                i += 1;
                if i >= text.len() {
                    break;
                }
            }
            b'"' => in_quotes = !in_quotes,
            b if is_space(b) && !in_quotes => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    if in_quotes {
        Err(())
    } else {
        Ok(text.len())
    }
}

fn postmap(text: &[u8]) -> ItemKind {
    let Ok(key_end) = postmap_key_end(text) else {
        return ItemKind::Ignored(Ignored::UnbalancedQuote);
    };
    let key = &text[..key_end];
    let (value_at, value_end) = value_span(text, key_end);
    if key.is_empty() || value_at == value_end {
        return ItemKind::Ignored(Ignored::NoValue);
    }
    entry(key, fold_key(key), text, value_at, value_end, None)
}

/// The value after `from`: leading whitespace skipped, trailing trimmed.
pub(super) fn value_span(text: &[u8], from: usize) -> (usize, usize) {
    let mut at = from.min(text.len());
    while at < text.len() && is_space(text[at]) {
        at += 1;
    }
    let mut end = text.len();
    while end > at && is_space(text[end - 1]) {
        end -= 1;
    }
    (at, end)
}

pub(super) fn entry(
    key: &[u8],
    ident: Vec<u8>,
    text: &[u8],
    value_at: usize,
    value_end: usize,
    stored: Option<Vec<u8>>,
) -> ItemKind {
    let value = text[value_at..value_end].to_vec();
    ItemKind::Entry(Entry {
        key: key.to_vec(),
        stored: stored.unwrap_or_else(|| value.clone()),
        value,
        ident,
        value_at,
        value_end,
    })
}

/// `if`/`endif` (any case, not followed by a letter or digit): the rest
/// after the keyword.
fn keyword<'a>(text: &'a [u8], word: &[u8]) -> Option<&'a [u8]> {
    let n = word.len();
    (text.len() >= n
        && text[..n].eq_ignore_ascii_case(word)
        && !text.get(n).is_some_and(u8::is_ascii_alphanumeric))
    .then(|| &text[n..])
}

fn pattern_line(syntax: Syntax, text: &[u8]) -> ItemKind {
    if text[0].is_ascii_alphanumeric() {
        if let Some(rest) = keyword(text, b"if") {
            let cond = trim(rest);
            return match pattern_end(syntax, cond, false) {
                Ok(_) => ItemKind::If(cond.to_vec()),
                Err(why) => ItemKind::Ignored(Ignored::BadPattern(why)),
            };
        }
        if let Some(rest) = keyword(text, b"endif") {
            return if trim(rest).is_empty() {
                ItemKind::Endif
            } else {
                ItemKind::Ignored(Ignored::TextAfterEndif)
            };
        }
        return ItemKind::Ignored(Ignored::Unrecognized);
    }
    match pattern_end(syntax, text, syntax == Syntax::Regexp) {
        Ok(end) => {
            let (at, value_end) = value_span(text, end);
            entry(
                &text[..end],
                text[..end].to_vec(),
                text,
                at,
                value_end,
                None,
            )
        }
        Err(why) => ItemKind::Ignored(Ignored::BadPattern(why)),
    }
}

/// Where a regexp/pcre pattern (negations, delimiters, flags; with
/// `second`, regexp's optional `!/re2/`) ends in `text`.
pub(super) fn pattern_end(syntax: Syntax, text: &[u8], second: bool) -> Result<usize, String> {
    let end = one_pattern(syntax, text, 0)?;
    if second && text.get(end) == Some(&b'!') {
        return one_pattern(syntax, text, end);
    }
    Ok(end)
}

fn one_pattern(syntax: Syntax, text: &[u8], from: usize) -> Result<usize, String> {
    let mut p = from;
    while p < text.len() && (text[p] == b'!' || is_space(text[p])) {
        p += 1;
    }
    let Some(&delim) = text.get(p) else {
        return Err("no regexp".into());
    };
    p += 1;
    loop {
        match text.get(p) {
            None => {
                return Err(format!(
                    "no closing regexp delimiter \"{}\"",
                    char::from(delim)
                ))
            }
            Some(b'\\') if p + 1 < text.len() => p += 2,
            Some(b'\\') => {
                return Err(format!(
                    "no closing regexp delimiter \"{}\"",
                    char::from(delim)
                ))
            }
            Some(&b) if b == delim => break,
            Some(_) => p += 1,
        }
    }
    p += 1;
    let flags: &[u8] = match syntax {
        Syntax::Pcre => b"imsxAEUX",
        _ => b"imx",
    };
    while let Some(&b) = text.get(p) {
        if is_space(b) || (syntax == Syntax::Regexp && b == b'!') {
            break;
        }
        if !flags.contains(&b) {
            return Err(format!("unknown regexp option \"{}\"", char::from(b)));
        }
        p += 1;
    }
    Ok(p)
}

fn cidr(text: &[u8]) -> ItemKind {
    if let Some(rest) = keyword(text, b"if") {
        let cond = trim(rest);
        return if cond.iter().all(|&b| b == b'!' || is_space(b)) {
            ItemKind::Ignored(Ignored::BadPattern("no address pattern".into()))
        } else {
            ItemKind::If(cond.to_vec())
        };
    }
    if let Some(rest) = keyword(text, b"endif") {
        return if trim(rest).is_empty() {
            ItemKind::Endif
        } else {
            ItemKind::Ignored(Ignored::TextAfterEndif)
        };
    }
    let mut p = 0;
    while p < text.len() && (text[p] == b'!' || is_space(text[p])) {
        p += 1;
    }
    while p < text.len() && !is_space(text[p]) {
        p += 1;
    }
    let (at, end) = value_span(text, p);
    if at == end {
        return ItemKind::Ignored(Ignored::NoResult);
    }
    entry(&text[..p], text[..p].to_vec(), text, at, end, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(syntax: Syntax, text: &str) -> (String, String) {
        match item(syntax, text.as_bytes()) {
            ItemKind::Entry(e) => (
                String::from_utf8(e.key).unwrap(),
                String::from_utf8(e.value).unwrap(),
            ),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn postmap_key_keeps_quotes_and_escapes() {
        assert_eq!(
            e(Syntax::Postmap, "\"quoted key\" qv"),
            ("\"quoted key\"".into(), "qv".into())
        );
        assert_eq!(
            e(Syntax::Postmap, "a\\ b v1"),
            ("a\\ b".into(), "v1".into())
        );
        assert_eq!(
            e(Syntax::Postmap, "k  inner\tspace kept \r"),
            ("k".into(), "inner\tspace kept".into())
        );
        assert_eq!(
            e(Syntax::Postmap, "hash value # not a comment"),
            ("hash".into(), "value # not a comment".into())
        );
        assert_eq!(
            item(Syntax::Postmap, b"\"open v"),
            ItemKind::Ignored(Ignored::UnbalancedQuote)
        );
        assert_eq!(
            item(Syntax::Postmap, b"onlykey   "),
            ItemKind::Ignored(Ignored::NoValue)
        );
    }

    #[test]
    fn regexp_rules() {
        assert_eq!(
            e(Syntax::Regexp, "/^Subject: a b/ REJECT no"),
            ("/^Subject: a b/".into(), "REJECT no".into())
        );
        assert_eq!(e(Syntax::Regexp, "!/x/i OK"), ("!/x/i".into(), "OK".into()));
        assert_eq!(
            e(Syntax::Regexp, "/a/!/b/ DUNNO"),
            ("/a/!/b/".into(), "DUNNO".into())
        );
        assert_eq!(
            e(Syntax::Regexp, "|a\\|b| x"),
            ("|a\\|b|".into(), "x".into())
        );
        assert_eq!(e(Syntax::Regexp, "/a/"), ("/a/".into(), "".into()));
        assert!(matches!(
            item(Syntax::Regexp, b"/a/q x"),
            ItemKind::Ignored(Ignored::BadPattern(_))
        ));
        assert!(matches!(
            item(Syntax::Regexp, b"/open x"),
            ItemKind::Ignored(Ignored::BadPattern(_))
        ));
        assert_eq!(
            item(Syntax::Regexp, b"IF /a/"),
            ItemKind::If(b"/a/".to_vec())
        );
        assert_eq!(item(Syntax::Pcre, b"Endif "), ItemKind::Endif);
        assert_eq!(
            item(Syntax::Regexp, b"iffy x"),
            ItemKind::Ignored(Ignored::Unrecognized)
        );
        // pcre has no second pattern, but more flags.
        assert_eq!(e(Syntax::Pcre, "/a/U x"), ("/a/U".into(), "x".into()));
        assert!(matches!(
            item(Syntax::Pcre, b"/a/!/b/ x"),
            ItemKind::Ignored(Ignored::BadPattern(_))
        ));
    }

    #[test]
    fn cidr_rules() {
        assert_eq!(
            e(Syntax::Cidr, "192.168.0.0/16 REJECT local"),
            ("192.168.0.0/16".into(), "REJECT local".into())
        );
        assert_eq!(
            e(Syntax::Cidr, "!10.0.0.0/8\tOK"),
            ("!10.0.0.0/8".into(), "OK".into())
        );
        assert_eq!(
            item(Syntax::Cidr, b"10.0.0.1"),
            ItemKind::Ignored(Ignored::NoResult)
        );
        assert_eq!(
            item(Syntax::Cidr, b"if !10.0.0.0/8"),
            ItemKind::If(b"!10.0.0.0/8".to_vec())
        );
    }
}
