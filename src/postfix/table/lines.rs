//! Physical and logical lines, as `util/readlline.c` (`readllines`) reads
//! them for postmap, postalias, texthash, regexp, pcre and cidr:
//!
//! * physical lines end at LF, which is not kept; a last line without LF
//!   is still read;
//! * a line that is empty, all whitespace, or whose first non-whitespace
//!   byte is `#` is dropped, and does *not* end a logical line (an
//!   indented `# ...` is a comment too);
//! * a line that starts with whitespace (C `isspace`: SP, TAB, LF, VT,
//!   FF, CR) continues the logical line before it, appended with its
//!   leading whitespace and without the newline;
//! * a logical line that starts with whitespace (nothing before it to
//!   continue) is skipped with a warning;
//! * the logical line is a C string: a NUL ends it.
//!
//! There are no comments inside a line and no backslash continuation.

use super::Line;
use crate::postfix::space::is_space;

/// Split `bytes` into physical lines.
pub(super) fn physical(bytes: &[u8]) -> Vec<Line> {
    let mut lines = Vec::with_capacity(bytes.len() / 32 + 1);
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            lines.push(Line {
                start,
                end: i,
                lf: true,
            });
            start = i + 1;
        }
    }
    if start < bytes.len() {
        lines.push(Line {
            start,
            end: bytes.len(),
            lf: false,
        });
    }
    lines
}

/// A logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Logical {
    /// 1-based number of its first physical line.
    pub(super) line: usize,
    /// The joined text, cut at the first NUL. Starts with whitespace only
    /// for an orphan continuation (which Postfix skips).
    pub(super) text: Vec<u8>,
    /// 0-based indices of the physical lines that carry it.
    pub(super) data_lines: Vec<usize>,
}

/// Is a physical line a comment or blank (dropped by readllines)?
pub(super) fn is_comment_or_blank(text: &[u8]) -> bool {
    match text.iter().find(|&&b| !is_space(b)) {
        None => true,
        Some(&b) => b == b'#',
    }
}

/// Join physical lines into logical lines.
pub(super) fn logical(bytes: &[u8], lines: &[Line]) -> Vec<Logical> {
    let mut out: Vec<Logical> = Vec::new();
    let mut current: Option<Logical> = None;
    for (i, l) in lines.iter().enumerate() {
        let text = &bytes[l.start..l.end];
        if is_comment_or_blank(text) {
            continue;
        }
        let continues = is_space(text[0]);
        match (&mut current, continues) {
            (Some(cur), true) => {
                cur.text.extend_from_slice(text);
                cur.data_lines.push(i);
            }
            _ => {
                if let Some(done) = current.take() {
                    out.push(done);
                }
                current = Some(Logical {
                    line: i + 1,
                    text: text.to_vec(),
                    data_lines: vec![i],
                });
            }
        }
    }
    if let Some(done) = current {
        out.push(done);
    }
    for l in &mut out {
        if let Some(n) = l.text.iter().position(|&b| b == 0) {
            l.text.truncate(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &[u8]) -> Vec<(usize, String, Vec<usize>)> {
        let lines = physical(src);
        logical(src, &lines)
            .into_iter()
            .map(|l| {
                (
                    l.line,
                    String::from_utf8_lossy(&l.text).into_owned(),
                    l.data_lines,
                )
            })
            .collect()
    }

    #[test]
    fn continuation_survives_comments_and_blank_lines() {
        // tables-cases/cont2.src: `k2 c`, blank line, `   d` -> `c   d`.
        let got = texts(b"k1 a\nk2 c\n\n# note\n  # indented note\n   d\nk3 e\\\n");
        assert_eq!(
            got,
            vec![
                (1, "k1 a".into(), vec![0]),
                (2, "k2 c   d".into(), vec![1, 5]),
                (7, "k3 e\\".into(), vec![6]),
            ]
        );
    }

    #[test]
    fn vt_ff_cr_start_a_continuation() {
        let got = texts(b"k a\n\x0bb\n\x0cc\n\rd\n\te");
        assert_eq!(
            got,
            vec![(1, "k a\x0bb\x0cc\rd\te".into(), vec![0, 1, 2, 3, 4])]
        );
    }

    #[test]
    fn orphan_and_nul() {
        let got = texts(b"  orphan\n more\nnul a\0b\n");
        assert_eq!(
            got,
            vec![
                (1, "  orphan more".into(), vec![0, 1]),
                (3, "nul a".into(), vec![2]),
            ]
        );
    }

    #[test]
    fn last_line_without_lf() {
        let lines = physical(b"a b\nc d");
        assert_eq!(lines.len(), 2);
        assert!(!lines[1].lf);
        assert_eq!(physical(b"").len(), 0);
        assert_eq!(physical(b"\n").len(), 1);
    }
}
