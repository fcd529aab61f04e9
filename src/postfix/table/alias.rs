//! Alias lines as `postalias` reads them (`postalias/postalias.c`,
//! `global/tok822_parse.c`).
//!
//! The logical line is split into RFC 822 tokens (`tok822_scan`): atoms,
//! `"quoted strings"`, `(comments)` (nested), `[domain literals]`, and the
//! operators `|%!()<>@,;:\".[]`; whitespace only separates. A backslash
//! takes the next byte literally (and disappears). The first `:` token
//! splits name and value; it needs something before and after it, and no
//! `,` before it; `@` or `%` before it makes the name non-local. Both are
//! warnings: the line is skipped.
//!
//! The name is stored *internalized* (quotes removed) and case-folded; the
//! value *externalized*: tokens re-serialized with `, ` after each comma,
//! one space between two words, quoted strings re-quoted. So `a,b`,
//! `a ,  b` and `a,\n  b` are all stored as `a, b`, and postform compares
//! values in that form.

use super::parse::{entry, Ignored};
use super::{fold_key, ItemKind};

/// `tok822_opchar`: `|%!` plus RFC 822's specials.
const OPCHAR: &[u8] = b"|%!()<>@,;:\\\".[]";

fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Comment(Vec<u8>),
    DomLit(Vec<u8>),
    Op(u8),
}

impl Tok {
    fn is_word(&self) -> bool {
        !matches!(self, Tok::Op(_))
    }
}

/// `tok822_scan`: tokens with their start offsets.
fn scan(s: &[u8]) -> Vec<(usize, Tok)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let ch = s[i];
        let start = i;
        if is_sep(ch) {
            i += 1;
            continue;
        }
        let tok = if ch == b'(' {
            // Kept in external form, nested, backslash pairs kept.
            let mut v = vec![b'('];
            i += 1;
            let mut level = 1;
            while i < s.len() {
                let c = s[i];
                v.push(c);
                i += 1;
                if c == b'(' {
                    level += 1;
                } else if c == b')' {
                    level -= 1;
                    if level == 0 {
                        break;
                    }
                } else if c == b'\\' {
                    if i >= s.len() {
                        break;
                    }
                    v.push(s[i]);
                    i += 1;
                }
            }
            Tok::Comment(v)
        } else if ch == b'[' || ch == b'"' {
            let close = if ch == b'[' { b']' } else { b'"' };
            i += 1;
            let v = collect(s, &mut i, |c| c != close);
            if i < s.len() {
                i += 1;
            }
            if ch == b'[' {
                Tok::DomLit(v)
            } else {
                Tok::Quoted(v)
            }
        } else if ch != b'\\' && OPCHAR.contains(&ch) {
            i += 1;
            Tok::Op(ch)
        } else {
            let v = collect(s, &mut i, |c| !is_sep(c) && !OPCHAR.contains(&c));
            // tok822_quote_atom: an atom holding a space, a control or an
            // operator byte (escaped in) becomes a quoted string.
            if v.iter()
                .any(|&c| c <= b' ' || c == 0x7f || OPCHAR.contains(&c))
            {
                Tok::Quoted(v)
            } else {
                Tok::Atom(v)
            }
        };
        out.push((start, tok));
    }
    out
}

/// `COLLECT`: bytes while `cond`, a backslash taking the next byte
/// whatever it is; whitespace becomes a space.
fn collect(s: &[u8], i: &mut usize, cond: impl Fn(u8) -> bool) -> Vec<u8> {
    let mut v = Vec::new();
    while *i < s.len() {
        let mut c = s[*i];
        if c == b'\\' {
            *i += 1;
            if *i >= s.len() {
                break;
            }
            c = s[*i];
        } else if !cond(c) {
            break;
        }
        v.push(if is_sep(c) { b' ' } else { c });
        *i += 1;
    }
    v
}

/// `tok822_append_space` for a flat token list.
fn space_after(tokens: &[Tok], i: usize) -> bool {
    let Some(next) = tokens.get(i + 1) else {
        return false;
    };
    matches!(next, Tok::Op(b'<')) || (tokens[i].is_word() && next.is_word())
}

/// `tok822_internalize`.
fn internalize(tokens: &[Tok]) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Tok::Atom(s) | Tok::Quoted(s) | Tok::Comment(s) => v.extend_from_slice(s),
            Tok::DomLit(s) => {
                v.push(b'[');
                v.extend_from_slice(s);
                v.push(b']');
            }
            Tok::Op(c) => v.push(*c),
        }
        if matches!(t, Tok::Op(b',')) || space_after(tokens, i) {
            v.push(b' ');
        }
    }
    v
}

/// `tok822_externalize` (no line breaks, no truncation).
fn externalize(tokens: &[Tok]) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Tok::Op(b',') => {
                v.extend_from_slice(b", ");
                continue;
            }
            Tok::Atom(s) | Tok::Comment(s) => v.extend_from_slice(s),
            Tok::Quoted(s) => {
                v.push(b'"');
                copy_quoted(&mut v, s, b"\"\\\r\n");
                v.push(b'"');
            }
            Tok::DomLit(s) => {
                v.push(b'[');
                copy_quoted(&mut v, s, b"\\\r\n");
                v.push(b']');
            }
            Tok::Op(c) => v.push(*c),
        }
        if space_after(tokens, i) {
            v.push(b' ');
        }
    }
    v
}

fn copy_quoted(v: &mut Vec<u8>, s: &[u8], quote: &[u8]) {
    for &c in s {
        if quote.contains(&c) {
            v.push(b'\\');
        }
        v.push(c);
    }
}

/// Read one alias line.
pub(super) fn line(text: &[u8]) -> ItemKind {
    let scanned = scan(text);
    if scanned.is_empty() {
        return ItemKind::Ignored(Ignored::NeedNameValue);
    }
    let Some(colon) = scanned.iter().position(|(_, t)| *t == Tok::Op(b':')) else {
        return ItemKind::Ignored(Ignored::NeedNameValue);
    };
    if colon == 0
        || colon + 1 == scanned.len()
        || scanned[..colon].iter().any(|(_, t)| *t == Tok::Op(b','))
    {
        return ItemKind::Ignored(Ignored::NeedNameValue);
    }
    if scanned[..colon]
        .iter()
        .any(|(_, t)| matches!(t, Tok::Op(b'@') | Tok::Op(b'%')))
    {
        return ItemKind::Ignored(Ignored::NameNotLocal);
    }
    let tokens: Vec<Tok> = scanned.iter().map(|(_, t)| t.clone()).collect();
    let name = internalize(&tokens[..colon]);
    let stored = externalize(&tokens[colon + 1..]);
    let key_end = {
        // The name as written: up to the colon, trailing whitespace off.
        let mut e = scanned[colon].0;
        while e > 0 && crate::postfix::space::is_space(text[e - 1]) {
            e -= 1;
        }
        e
    };
    let (value_at, value_end) = super::parse::value_span(text, scanned[colon].0 + 1);
    entry(
        &text[..key_end],
        fold_key(&name),
        text,
        value_at,
        value_end,
        Some(stored),
    )
}

/// The value `postalias` stores for `value` (as written after the
/// colon): what alias values are compared by.
pub fn alias_value(value: &[u8]) -> Vec<u8> {
    let tokens: Vec<Tok> = scan(value).into_iter().map(|(_, t)| t).collect();
    externalize(&tokens)
}

/// `name` as it must be written before the colon so that postalias reads
/// it back as `name`: as is when its tokens internalize to itself (atoms
/// joined by `.`, `!` or `|`, as in `first.last`), else in double quotes
/// (with `"` and `\` escaped).
pub fn quote_alias_name(name: &str) -> String {
    let b = name.as_bytes();
    let plain = !b.is_empty()
        && b[0] != b'#'
        && b.iter().all(|&c| {
            c > b' ' && c != 0x7f && (!OPCHAR.contains(&c) || matches!(c, b'.' | b'!' | b'|'))
        });
    if plain {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(v: &str) -> String {
        String::from_utf8(alias_value(v.as_bytes())).unwrap()
    }

    #[test]
    fn values_are_stored_re_serialized() {
        // tables-cases/aliases-norm.src, as `postalias -s` printed them.
        assert_eq!(stored("a,\n   b,\n\tc"), "a, b, c");
        assert_eq!(stored("a,b,,c"), "a, b, , c");
        assert_eq!(stored("a   b"), "a b");
        assert_eq!(stored("a (comment), b"), "a (comment), b");
        assert_eq!(stored("\\root, root"), "root, root");
        assert_eq!(
            stored("\"|cmd with  two  spaces\""),
            "\"|cmd with  two  spaces\""
        );
        assert_eq!(stored("|/bin/true"), "|/bin/true");
        assert_eq!(
            stored(":include:/etc/postfix/inc.list"),
            ":include:/etc/postfix/inc.list"
        );
        assert_eq!(stored("/var/mail/archive"), "/var/mail/archive");
        assert_eq!(stored("x # trailing hash"), "x # trailing hash");
        assert_eq!(stored("\"\""), "\"\"");
    }

    #[test]
    fn names() {
        let ItemKind::Entry(e) = line(b"\"with space\": someone") else {
            panic!()
        };
        assert_eq!(e.ident, b"with space");
        assert_eq!(e.key, b"\"with space\"");
        let ItemKind::Entry(e) = line(b"spaced  :   y") else {
            panic!()
        };
        assert_eq!(
            (e.ident.as_slice(), e.key.as_slice()),
            (&b"spaced"[..], &b"spaced"[..])
        );
        let ItemKind::Entry(e) = line(b"\"N9\": x") else {
            panic!()
        };
        assert_eq!(e.ident, b"n9");
        assert_eq!(
            line(b"nocolon value"),
            ItemKind::Ignored(Ignored::NeedNameValue)
        );
        assert_eq!(
            line(b"emptyval:"),
            ItemKind::Ignored(Ignored::NeedNameValue)
        );
        assert_eq!(
            line(b"a, b: multikey"),
            ItemKind::Ignored(Ignored::NeedNameValue)
        );
        assert_eq!(
            line(b"user@domain: x"),
            ItemKind::Ignored(Ignored::NameNotLocal)
        );
        assert_eq!(quote_alias_name("postmaster"), "postmaster");
        assert_eq!(quote_alias_name("with space"), "\"with space\"");
        assert_eq!(quote_alias_name("first.last"), "first.last");
        assert_eq!(quote_alias_name("a:b"), "\"a:b\"");
        assert_eq!(quote_alias_name("say\"hi"), "\"say\\\"hi\"");
    }
}
