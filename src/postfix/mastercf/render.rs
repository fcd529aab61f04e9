//! Writing master.cf text: postconf's field columns and folded layout
//! (`postconf_master.c` `pcf_print_master_entry` with `PCF_FOLD_LINE`),
//! and the spelling of option values and arguments so that they read back
//! as exactly the text that was meant.

use super::parse::{is_master_blank, split_nameval};

/// Where postconf puts fields 1..8 (at least one space apart).
const COLUMN_GOALS: [usize; 8] = [0, 11, 17, 25, 33, 41, 49, 57];

/// Lines are folded before they reach this many columns.
pub(super) const LINE_LIMIT: usize = 80;

/// The indent of continuation lines when an entry has none to copy.
pub(super) const DEFAULT_INDENT: &[u8] = b"    ";

/// The 8 fields at postconf's columns.
pub(super) fn fields_line(fields: [&[u8]; 8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    for (field, goal) in fields.iter().zip(COLUMN_GOALS) {
        if !out.is_empty() {
            loop {
                out.push(b' ');
                if out.len() >= goal {
                    break;
                }
            }
        }
        out.extend_from_slice(field);
    }
    out
}

/// What an argument piece is, for the folded layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PieceKind {
    /// An option with its value (`-o name=value`): a line of its own.
    ValueOption,
    /// A generic option (`-v`, `-D`): fills like an argument.
    Option,
    /// A non-option argument: fills.
    Arg,
}

/// One unit of text after the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Piece {
    pub text: Vec<u8>,
    pub kind: PieceKind,
}

/// Display width of an indent (a TAB advances to the next multiple of 8).
pub(super) fn width(indent: &[u8]) -> usize {
    indent
        .iter()
        .fold(0, |w, &b| if b == b'\t' { (w / 8 + 1) * 8 } else { w + 1 })
}

/// postconf's folded layout: the fields line, then each option with a
/// value on a line of its own, other pieces filled to less than 80
/// columns. Continuation lines start with `indent`.
pub(super) fn fold(first: Vec<u8>, pieces: &[Piece], indent: &[u8]) -> Vec<Vec<u8>> {
    let indent_width = width(indent);
    let mut lines = vec![first];
    let mut line_len = lines[0].len();
    for piece in pieces {
        if piece.kind == PieceKind::ValueOption {
            line_len = LINE_LIMIT; // a line of its own
        }
        if line_len > indent_width {
            if line_len + 1 + piece.text.len() < LINE_LIMIT {
                if let Some(line) = lines.last_mut() {
                    line.push(b' ');
                }
                line_len += 1;
            } else {
                lines.push(indent.to_vec());
                line_len = indent_width;
            }
        }
        if let Some(line) = lines.last_mut() {
            line.extend_from_slice(&piece.text);
        }
        line_len += piece.text.len();
        if piece.kind == PieceKind::ValueOption {
            line_len = LINE_LIMIT;
        }
    }
    lines
}

/// Continuation lines holding `words`, filled to less than 80 columns.
pub(super) fn fill(words: &[Vec<u8>], indent: &[u8]) -> Vec<Vec<u8>> {
    let indent_width = width(indent);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut line_len = 0;
    for word in words {
        match lines.last_mut() {
            Some(line) if line_len + 1 + word.len() < LINE_LIMIT => {
                line.push(b' ');
                line.extend_from_slice(word);
                line_len += 1 + word.len();
            }
            _ => {
                let mut line = indent.to_vec();
                line.extend_from_slice(word);
                line_len = indent_width + word.len();
                lines.push(line);
            }
        }
    }
    lines
}

/// The value token of `-o name=value`: `name=value`, or
/// `{ name = value }` when the value contains whitespace (Postfix 3.0+).
pub(super) fn option_value(name: &[u8], value: &[u8]) -> Vec<u8> {
    if value.iter().any(|&b| is_master_blank(b)) {
        [b"{ ", name, b" = ", value, b" }"].concat()
    } else {
        [name, b"=", value].concat()
    }
}

/// Spell an existing (normalized) `-o` value so that it reads back as the
/// same text: as is when it is one plain token, else in braces.
pub(super) fn existing_option_value(text: &[u8]) -> Vec<u8> {
    if !text.is_empty() && !text.iter().any(|&b| is_master_blank(b)) && text[0] != b'{' {
        return text.to_vec();
    }
    match split_nameval(text) {
        Ok((name, value)) => option_value(name, value),
        Err(_) => [b"{", text, b"}"].concat(),
    }
}

/// Spell a non-option argument so that it reads back as `arg`: in braces
/// when it is empty, contains whitespace, or starts with `{` (which would
/// be taken as braces) or `#` (which would start a comment at the start of
/// a line).
pub(super) fn argument(arg: &[u8]) -> Vec<u8> {
    let needs_braces =
        arg.is_empty() || arg.iter().any(|&b| is_master_blank(b)) || matches!(arg[0], b'{' | b'#');
    if needs_braces {
        [b"{", arg, b"}"].concat()
    } else {
        arg.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str, kind: PieceKind) -> Piece {
        Piece {
            text: text.as_bytes().to_vec(),
            kind,
        }
    }

    // What postconf 3.7.11 -Me wrote for
    // `x unix - n n - 2 pipe -v -o { smtp_helo_name = a b } -o x=1 flags=DRXhu
    // user=vmail argv=/usr/bin/maildrop -d ${recipient} {a b} and more args to
    // exceed the eighty column limit` (case edit-Me-braces-and-fold), except
    // that postform writes `{ name = value }` where postconf writes `{name=value}`.
    #[test]
    fn folds_like_postconf() {
        let first = fields_line([b"x", b"unix", b"-", b"n", b"n", b"-", b"2", b"pipe"]);
        let mut pieces = vec![
            piece("-v", PieceKind::Option),
            piece("-o {smtp_helo_name=a b}", PieceKind::ValueOption),
            piece("-o x=1", PieceKind::ValueOption),
        ];
        for w in "flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} {a b} and more args to exceed the eighty column limit".split(' ') {
            pieces.push(piece(w, PieceKind::Arg));
        }
        // "{a b}" is one piece in postconf's view.
        let joined: Vec<Piece> = {
            let mut out: Vec<Piece> = Vec::new();
            for p in pieces {
                match out.last_mut() {
                    Some(last) if last.text == b"{a" => {
                        last.text.extend_from_slice(b" ");
                        last.text.extend_from_slice(&p.text);
                    }
                    _ => out.push(p),
                }
            }
            out
        };
        let lines: Vec<String> = fold(first, &joined, DEFAULT_INDENT)
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "x          unix  -       n       n       -       2       pipe -v",
                "    -o {smtp_helo_name=a b}",
                "    -o x=1",
                "    flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} {a b} and",
                "    more args to exceed the eighty column limit",
            ]
        );
    }

    #[test]
    fn spelling_reads_back() {
        assert_eq!(option_value(b"a", b"b"), b"a=b");
        assert_eq!(option_value(b"a", b"b, c"), b"{ a = b, c }");
        assert_eq!(option_value(b"a", b""), b"a=");
        assert_eq!(existing_option_value(b"x=y z"), b"{ x = y z }");
        assert_eq!(existing_option_value(b""), b"{}");
        assert_eq!(existing_option_value(b"novalue here"), b"{novalue here}");
        assert_eq!(argument(b"a b"), b"{a b}");
        assert_eq!(argument(b"#x"), b"{#x}");
        assert_eq!(argument(b""), b"{}");
        assert_eq!(argument(b"${recipient}"), b"${recipient}");
    }

    #[test]
    fn fill_stays_under_80_columns() {
        let words: Vec<Vec<u8>> = (0..40).map(|i| format!("word{i}").into_bytes()).collect();
        for line in fill(&words, b"  ") {
            assert!(
                line.len() < LINE_LIMIT,
                "{}",
                String::from_utf8_lossy(&line)
            );
            assert!(line.starts_with(b"  w"));
        }
    }
}
