//! Postfix list values: elements separated by commas and whitespace, where
//! a `{ ... }` group is one element that may contain separators
//! (`mystrtokq`, `balpar`, `mail_parm_split`). Shared by main.cf values,
//! master.cf fields and the macro expander.

use crate::postfix::space;
use thiserror::Error;

/// A `{}` grouping problem in a list value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BraceError {
    /// An element starts with `{` that is never closed.
    #[error("missing '}}' in \"{element}\"")]
    Missing { element: String, offset: usize },
    /// Text follows the `}` that closes an element's group, e.g. `{a b}c`.
    #[error("syntax error after '}}' in \"{element}\"")]
    TextAfter { element: String, offset: usize },
}

impl BraceError {
    /// Byte offset of the offending element in the value.
    pub fn offset(&self) -> usize {
        match self {
            BraceError::Missing { offset, .. } | BraceError::TextAfter { offset, .. } => *offset,
        }
    }
}

/// Check `{ }` grouping the way `mail_parm_split` does: postconf warns about
/// it for every value, and daemons refuse to start when a list parameter
/// has it wrong.
pub fn check_braces(value: &[u8]) -> Result<(), BraceError> {
    list_items(value).map(|_| ())
}

/// Split a list value into its elements like `mail_parm_split`: separators
/// `", \t\r\n"` (runs of them, so empty elements vanish), and an element
/// entirely inside `{ }` has the braces removed and the inside trimmed, so
/// it may contain separators. `a, b` and `a b` and `{a}, b` all give the
/// same elements.
pub fn list_items(value: &[u8]) -> Result<Vec<&[u8]>, BraceError> {
    let value = space::until_nul(value);
    let mut items = Vec::new();
    for (start, token) in tokens_q(value, is_comma_space) {
        if token.first() != Some(&b'{') {
            items.push(token);
            continue;
        }
        match balpar(token) {
            None => {
                return Err(BraceError::Missing {
                    element: lossy(token),
                    offset: start,
                })
            }
            Some(len) if len != token.len() => {
                return Err(BraceError::TextAfter {
                    element: lossy(token),
                    offset: start,
                })
            }
            Some(len) => items.push(space::trim(&token[1..len - 1])),
        }
    }
    Ok(items)
}

/// Tokens of `value` separated by runs of `is_sep` bytes, where a `{`...`}`
/// group (nested) is never split (`mystrtokq`). Unbalanced `{` runs to the
/// end. Yields (byte offset, token).
pub fn tokens_q(value: &[u8], is_sep: impl Fn(u8) -> bool) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < value.len() && is_sep(value[pos]) {
            pos += 1;
        }
        if pos >= value.len() {
            return None;
        }
        let start = pos;
        let mut level = 0usize;
        while pos < value.len() {
            let b = value[pos];
            if b == b'{' {
                level += 1;
            } else if level > 0 && b == b'}' {
                level -= 1;
            } else if level == 0 && is_sep(b) {
                break;
            }
            pos += 1;
        }
        Some((start, &value[start..pos]))
    })
}

/// Length of the balanced `{...}` group at the start of `s` (including both
/// braces), or `None` when it never closes (`util/balpar.c`).
pub fn balpar(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'{') {
        return None;
    }
    let mut level = 1usize;
    for (i, &b) in s.iter().enumerate().skip(1) {
        if b == b'}' {
            level -= 1;
            if level == 0 {
                return Some(i + 1);
            }
        } else if b == b'{' {
            level += 1;
        }
    }
    None
}

/// `CHARS_COMMA_SP`: the list separators.
pub fn is_comma_space(b: u8) -> bool {
    matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n')
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_split_and_ungroup() {
        let items = list_items(b" a,b\t\r\n{ c d } ,, {e}").expect("ok");
        assert_eq!(items, [&b"a"[..], b"b", b"c d", b"e"]);
        assert_eq!(list_items(b"a{b c}d").expect("ok"), [&b"a{b c}d"[..]]);
        assert!(list_items(b"").expect("ok").is_empty());
    }

    #[test]
    fn braces_like_mail_parm_split() {
        assert_eq!(check_braces(b"a b, c"), Ok(()));
        assert_eq!(check_braces(b"a{b c}"), Ok(()));
        assert_eq!(check_braces(b"}"), Ok(()));
        assert_eq!(check_braces(b"permit }"), Ok(()));
        assert_eq!(
            check_braces(b"x, {a b").map_err(|e| e.to_string()),
            Err("missing '}' in \"{a b\"".to_string())
        );
        assert_eq!(
            check_braces(b"{a b}c").map_err(|e| e.to_string()),
            Err("syntax error after '}' in \"{a b}c\"".to_string())
        );
        assert_eq!(check_braces(b"x, {a b").map_err(|e| e.offset()), Err(3));
    }
}
