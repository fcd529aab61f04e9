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

/// The elements of a list value in a form that compares the way Postfix
/// reads them: separators dropped, a `{ ... }` group kept as one element
/// with its inside whitespace-normalized (`{ a  b }` and `{a b}` are the
/// same element; extpar strips the braces and the space inside them).
pub fn comparable_items(value: &[u8]) -> Vec<Vec<u8>> {
    tokens_q(value, is_comma_space)
        .map(
            |(_, item)| match item.strip_prefix(b"{").and_then(|t| t.strip_suffix(b"}")) {
                Some(inner) => {
                    let mut v = b"{".to_vec();
                    v.extend(crate::postfix::maincf::normalize(inner));
                    v.push(b'}');
                    v
                }
                None => crate::postfix::maincf::normalize(item),
            },
        )
        .collect()
}

/// Why one item given for a list value cannot be written as one element
/// (items are joined with `, ` and may be folded onto continuation lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemProblem {
    /// Nothing but whitespace.
    Empty,
    /// Starts with `#`: folded onto its own line it would be a comment.
    Comment,
    /// A `,` outside every `{ ... }` group: it would split the item.
    Separator,
    /// A `{` that is never closed: the group would swallow the items
    /// after it.
    Unbalanced,
}

impl std::fmt::Display for ItemProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ItemProblem::Empty => "is empty",
            ItemProblem::Comment => {
                "starts with '#', which Postfix would read as a comment when the value is folded"
            }
            ItemProblem::Separator => {
                "contains ',' outside a { } group, which separates list items"
            }
            ItemProblem::Unbalanced => "has unbalanced { } braces",
        })
    }
}

/// The one rule for list items, used by validation and by the main.cf
/// writer: see [`ItemProblem`]. A comma inside a balanced group is data
/// (`{ inet:localhost:8891, default_action=accept }`).
pub fn item_problem(item: &str) -> Option<ItemProblem> {
    let trimmed = item.trim();
    if trimmed.is_empty() {
        return Some(ItemProblem::Empty);
    }
    if trimmed.starts_with('#') {
        return Some(ItemProblem::Comment);
    }
    let mut depth = 0usize;
    let mut comma = false;
    for b in item.bytes() {
        match b {
            b'{' => depth += 1,
            // A stray `}` closes nothing and splits nothing (mystrtokq).
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => comma = true,
            _ => {}
        }
    }
    if depth != 0 {
        Some(ItemProblem::Unbalanced)
    } else if comma {
        Some(ItemProblem::Separator)
    } else {
        None
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparable_items_keep_groups() {
        assert_eq!(
            comparable_items(b"a,\n    b { c  d } ,,{e}"),
            [&b"a"[..], b"b", b"{c d}", b"{e}"]
        );
    }

    #[test]
    fn item_rules() {
        assert_eq!(item_problem("permit"), None);
        assert_eq!(
            item_problem("{ inet:localhost:8891, default_action=accept }"),
            None
        );
        assert_eq!(item_problem("inline:{ {a=b}, {c=d} }"), None);
        assert_eq!(item_problem("a,b"), Some(ItemProblem::Separator));
        assert_eq!(item_problem("{a, b"), Some(ItemProblem::Unbalanced));
        assert_eq!(item_problem("a}"), None);
        assert_eq!(item_problem("  "), Some(ItemProblem::Empty));
        assert_eq!(item_problem(" #x"), Some(ItemProblem::Comment));
    }

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
