//! master.cf reader: a port of what postconf 3.7 does with the file.
//!
//! * Physical lines: the bytes split on LF (a CR before the LF stays in the
//!   line's text, where it is a field separator).
//! * Logical lines (`util/readlline.c` `readllines`): a line that is all
//!   whitespace or whose first non-whitespace byte is `#` is dropped
//!   without ending the current entry; a line that starts with whitespace
//!   (C `isspace`, so VT and FF too) continues the current entry, its bytes
//!   appended as they are; a logical line that itself starts with
//!   whitespace is warned about and discarded. The logical line is a C
//!   string: it ends at the first NUL byte.
//! * Fields (`postconf_master.c` `pcf_parse_master_entry`): split on
//!   `" \t\r\n"` (not VT/FF) with `{...}` grouping (`argv_splitq`); fewer
//!   than 8 is `bad field count`; then `pcf_check_master_entry` checks type,
//!   private/unpriv/chroot, wakeup and maxproc; then
//!   `pcf_normalize_daemon_args` rewrites the arguments after the command.
//! * `-o name=value` overrides: collected like `register_user_parameters`
//!   (postconf_user.c) with `split_nameval`.
//!
//! The same analysis ([`analyze`]) serves the editor: it keeps, for every
//! normalized argument, the raw token it came from, so an edit can rewrite
//! exactly the bytes of one option.

use super::{MasterCfError, MasterCfWarning, Service};
use crate::postfix::list::{balpar, tokens_q};
use crate::postfix::space::{is_space, trim};
use std::collections::HashMap;

/// One physical line of the file: `start..end` of the bytes (without the
/// LF), and whether an LF ended it (only the last line may lack one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Line {
    pub start: usize,
    pub end: usize,
    pub lf: bool,
}

/// Split bytes into physical lines on LF.
pub(super) fn split_lines(bytes: &[u8]) -> Vec<Line> {
    let mut lines = Vec::with_capacity(bytes.len() / 40 + 1);
    let mut start = 0;
    while start < bytes.len() {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push(Line {
                    start,
                    end: start + i,
                    lf: true,
                });
                start += i + 1;
            }
            None => {
                lines.push(Line {
                    start,
                    end: bytes.len(),
                    lf: false,
                });
                start = bytes.len();
            }
        }
    }
    lines
}

/// How `readllines` sees a physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    /// Blank, whitespace-only, or comment (first non-space byte is `#`).
    Trivia,
    /// Starts with whitespace and has data: continues the logical line.
    Continuation,
    /// Starts with a non-space byte other than `#`: a new logical line.
    Start,
}

pub(super) fn classify(text: &[u8]) -> LineKind {
    match text.iter().position(|&b| !is_space(b)) {
        None => LineKind::Trivia,
        Some(i) if text[i] == b'#' => LineKind::Trivia,
        Some(0) => LineKind::Start,
        Some(_) => LineKind::Continuation,
    }
}

pub(super) struct Parsed {
    pub services: Vec<Service>,
    /// For each service, the indices (0-based) of its data lines: the first
    /// line and its continuation lines (interleaved comment and blank lines
    /// are not listed).
    pub data_lines: Vec<Vec<usize>>,
    pub warnings: Vec<MasterCfWarning>,
    pub errors: Vec<MasterCfError>,
}

pub(super) const VALID_TYPES: [&str; 5] = ["unix", "unix-dgram", "fifo", "inet", "pass"];

pub(super) fn parse(bytes: &[u8], lines: &[Line]) -> Parsed {
    let mut parsed = Parsed {
        services: Vec::new(),
        data_lines: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for logical in logical_lines(bytes, lines) {
        if logical.text.first().is_some_and(|&b| is_space(b)) {
            parsed.warnings.push(MasterCfWarning {
                line: logical.first_line(),
                message: format!(
                    "logical line must not start with whitespace: \"{}\" (ignored, as Postfix does; remove the indentation or the line)",
                    String::from_utf8_lossy(&logical.text)
                ),
            });
            continue;
        }
        let mut warn = |offset: usize, message: String| {
            let (line, _) = logical.position(offset, bytes);
            parsed.warnings.push(MasterCfWarning { line, message });
        };
        match analyze(&logical.text, &mut warn) {
            Ok(analysis) => {
                let service = analysis.service(logical.first_line(), logical.last_line());
                let key = (service.name.clone(), service.kind.clone());
                if let Some(previous) = seen.insert(key, service.line) {
                    parsed.warnings.push(MasterCfWarning {
                        line: service.line,
                        message: format!(
                            "duplicate service {}/{} (also on line {previous}); the master daemon uses this one",
                            service.name, service.kind
                        ),
                    });
                }
                parsed.services.push(service);
                parsed
                    .data_lines
                    .push(logical.pieces.iter().map(|p| p.line).collect());
            }
            Err(problems) => parsed
                .errors
                .extend(problems.into_iter().map(|(offset, message)| {
                    let (line, column) = logical.position(offset, bytes);
                    MasterCfError {
                        line,
                        column,
                        message,
                    }
                })),
        }
    }
    parsed
}

/// A piece of a logical line: one physical line.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Offset of the piece in the logical text.
    text_offset: usize,
    /// Physical line index (0-based).
    line: usize,
    /// Offset of the line in the file.
    file_offset: usize,
}

/// One logical line: the joined bytes and where each piece came from.
struct Logical {
    text: Vec<u8>,
    pieces: Vec<Piece>,
}

impl Logical {
    fn first_line(&self) -> usize {
        self.pieces.first().map_or(1, |p| p.line + 1)
    }

    fn last_line(&self) -> usize {
        self.pieces.last().map_or(1, |p| p.line + 1)
    }

    /// Physical line (1-based) and 1-based character column of a byte
    /// offset in `text`.
    fn position(&self, offset: usize, file: &[u8]) -> (usize, usize) {
        let Some(p) = self.pieces.iter().rev().find(|p| p.text_offset <= offset) else {
            return (1, 1);
        };
        let upto = (p.file_offset + offset - p.text_offset).min(file.len());
        let prefix = &file[p.file_offset.min(upto)..upto];
        (
            p.line + 1,
            String::from_utf8_lossy(prefix).chars().count() + 1,
        )
    }
}

fn logical_lines(bytes: &[u8], lines: &[Line]) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    for (i, line) in lines.iter().enumerate() {
        let text = &bytes[line.start..line.end];
        match classify(text) {
            LineKind::Trivia => {}
            LineKind::Continuation if current.is_some() => {
                if let Some(logical) = current.as_mut() {
                    logical.pieces.push(Piece {
                        text_offset: logical.text.len(),
                        line: i,
                        file_offset: line.start,
                    });
                    logical.text.extend_from_slice(text);
                }
            }
            LineKind::Continuation | LineKind::Start => {
                out.extend(current.take());
                current = Some(Logical {
                    text: text.to_vec(),
                    pieces: vec![Piece {
                        text_offset: 0,
                        line: i,
                        file_offset: line.start,
                    }],
                });
            }
        }
    }
    out.extend(current);
    out
}

/// A token of the entry: its bytes, its offset in the logical line, and
/// the raw token (index into [`Analysis::tokens`]) it came from.
#[derive(Debug, Clone)]
struct Tok {
    text: Vec<u8>,
    offset: usize,
    raw: usize,
}

/// A normalized argument after the command, and the raw token it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NArg {
    pub text: Vec<u8>,
    pub raw: usize,
}

/// A parsed entry (one logical line): its raw tokens and the normalized
/// arguments, each traced back to its raw token.
#[derive(Debug, Clone)]
pub(super) struct Analysis {
    /// `start..end` of every raw token in the logical text (fields first).
    pub tokens: Vec<(usize, usize)>,
    /// The 8 fields, raw.
    pub fields: Vec<Vec<u8>>,
    /// The arguments after the command, normalized like postconf.
    pub args: Vec<NArg>,
    /// The `-o` overrides, as `register_user_parameters` collects them.
    pub overrides: Vec<(Vec<u8>, Vec<u8>)>,
}

pub(super) fn is_master_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parse one logical line (which must not start with whitespace). Problems
/// are `(offset in text, message)`; warnings go to `warn` likewise.
pub(super) fn analyze(
    text: &[u8],
    warn: &mut impl FnMut(usize, String),
) -> Result<Analysis, Vec<(usize, String)>> {
    let text = match text.iter().position(|&b| b == 0) {
        Some(n) => &text[..n],
        None => text,
    };
    let spans: Vec<(usize, usize)> = tokens_q(text, is_master_blank)
        .map(|(offset, t)| (offset, offset + t.len()))
        .collect();
    if spans.len() < 8 {
        return Err(vec![(
            0,
            format!(
                "bad field count: expected 8 or more fields (service type private unpriv chroot wakeup maxproc command [args]), found {}",
                spans.len()
            ),
        )]);
    }
    let tok = |i: usize| &text[spans[i].0..spans[i].1];
    let mut errors = Vec::new();
    if !VALID_TYPES.iter().any(|t| t.as_bytes() == tok(1)) {
        errors.push((
            spans[1].0,
            format!(
                "invalid type field \"{}\" (expected inet, unix, unix-dgram, fifo or pass)",
                lossy(tok(1))
            ),
        ));
    }
    for (i, what) in [(2, "private"), (3, "unprivileged"), (4, "chroot")] {
        if !valid_bool(tok(i)) {
            errors.push((
                spans[i].0,
                format!(
                    "invalid {what} field \"{}\" (expected y, n or -)",
                    lossy(tok(i))
                ),
            ));
        }
    }
    if !valid_wakeup(tok(5)) {
        errors.push((
            spans[5].0,
            format!(
                "invalid wakeup field \"{}\" (expected seconds, optionally followed by ?, or -)",
                lossy(tok(5))
            ),
        ));
    }
    if !valid_maxproc(tok(6)) {
        errors.push((
            spans[6].0,
            format!(
                "invalid process_limit field \"{}\" (expected a number or -)",
                lossy(tok(6))
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let fields = (0..8).map(|i| tok(i).to_vec()).collect();
    let mut args: Vec<Tok> = (8..spans.len())
        .map(|i| Tok {
            text: tok(i).to_vec(),
            offset: spans[i].0,
            raw: i,
        })
        .collect();
    normalize_daemon_args(&mut args, warn);
    let args: Vec<NArg> = args
        .into_iter()
        .map(|t| NArg {
            text: t.text,
            raw: t.raw,
        })
        .collect();
    let overrides = collect_overrides(&args, &mut |raw: usize, message| {
        warn(spans.get(raw).map_or(0, |s| s.0), message)
    });
    Ok(Analysis {
        tokens: spans,
        fields,
        args,
        overrides,
    })
}

impl Analysis {
    /// The public view of the entry.
    pub fn service(&self, line: usize, end_line: usize) -> Service {
        let field = |i: usize| lossy(&self.fields[i]);
        Service {
            name: field(0),
            kind: field(1),
            private: field(2),
            unpriv: field(3),
            chroot: field(4),
            wakeup: field(5),
            maxproc: field(6),
            command: field(7),
            args: self.args.iter().map(|a| lossy(&a.text)).collect(),
            overrides: self
                .overrides
                .iter()
                .map(|(n, v)| (lossy(n), lossy(v)))
                .collect(),
            line,
            end_line,
        }
    }

    /// Index of the first non-option argument (`args.len()` when there is
    /// none): the end of the option section.
    pub fn option_end(&self) -> usize {
        option_end(&self.args)
    }
}

/// The end of the option section of normalized arguments: the first
/// argument that does not start with `-` or is `--`, skipping the value of
/// options that take one (`-o`, and a bare `-`, as in postconf).
pub(super) fn option_end(args: &[NArg]) -> usize {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg.text.first() != Some(&b'-') || arg.text == b"--" {
            return i;
        }
        if expects_value(&arg.text) && i + 1 < args.len() {
            i += 1;
        }
        i += 1;
    }
    args.len()
}

/// `strchr("o", arg[1]) != 0` in postconf: `-o...` and, quirk of C strings,
/// a bare `-` expect a value.
pub(super) fn expects_value(arg: &[u8]) -> bool {
    matches!(arg.get(1), None | Some(b'o'))
}

/// `y`, `n` or `-`.
pub(super) fn valid_bool(field: &[u8]) -> bool {
    matches!(field, b"y" | b"n" | b"-")
}

/// `pcf_check_master_entry` wakeup rule: `-`, or digits with an optional
/// trailing `?` (a lone `?` and `-?` pass too, as in postconf).
pub(super) fn valid_wakeup(field: &[u8]) -> bool {
    let body = field.strip_suffix(b"?").unwrap_or(field);
    (field.first() == Some(&b'-') && body.len() == 1) || body.iter().all(u8::is_ascii_digit)
}

/// `-` or digits.
pub(super) fn valid_maxproc(field: &[u8]) -> bool {
    field == b"-" || field.iter().all(u8::is_ascii_digit)
}

/// `pcf_normalize_daemon_args`.
fn normalize_daemon_args(args: &mut Vec<Tok>, warn: &mut impl FnMut(usize, String)) {
    let mut field = 0;
    while field < args.len() {
        let arg = &args[field];
        if arg.text.first() != Some(&b'-') || arg.text == b"--" {
            break;
        }
        // Split "-stuffozz" into "-stuff" and "-ozz".
        if let Some(p) = arg
            .text
            .iter()
            .skip(2)
            .position(|&b| b == b'o')
            .map(|p| p + 2)
        {
            let mut tail = b"-".to_vec();
            tail.extend_from_slice(&arg.text[p..]);
            let tail = Tok {
                text: tail,
                offset: arg.offset + p - 1,
                raw: arg.raw,
            };
            args[field].text.truncate(p);
            args.insert(field + 1, tail);
        }
        let arg = &args[field];
        if !expects_value(&arg.text) {
            field += 1;
            continue; // option without a value
        }
        let extract;
        if arg.text.len() > 2 {
            // Split "-oname=value" into "-o" "name=value".
            let value = Tok {
                text: arg.text[2..].to_vec(),
                offset: arg.offset + 2,
                raw: arg.raw,
            };
            args[field].text.truncate(2);
            args.insert(field + 1, value);
            field += 1;
            extract = args[field].text.first() == Some(&b'{');
        } else if field + 1 < args.len() {
            field += 1;
            extract = args[field].text.first() == Some(&b'{');
        } else {
            extract = false;
        }
        if extract {
            extract_field(&mut args[field], warn);
            if args[field - 1].text.get(1) == Some(&b'o') {
                let tok = &mut args[field];
                match split_nameval(&tok.text) {
                    Ok((name, value)) => {
                        let mut normalized = name.to_vec();
                        normalized.push(b'=');
                        normalized.extend_from_slice(value);
                        tok.text = normalized;
                    }
                    Err(problem) => {
                        warn(tok.offset, format!("{problem}: \"{}\"", lossy(&tok.text)))
                    }
                }
            }
        }
        field += 1;
    }
    for tok in &mut args[field..] {
        if tok.text.first() == Some(&b'{') {
            extract_field(tok, warn);
        }
    }
}

/// `pcf_extract_field`: `extpar(..., EXTPAR_FLAG_STRIP)` on a `{...}` token.
/// On error postconf warns and still uses the text it extracted.
fn extract_field(tok: &mut Tok, warn: &mut impl FnMut(usize, String)) {
    let (inner, problem) = match balpar(&tok.text) {
        None => (&tok.text[1..], Some("missing '}'")),
        Some(len) if len != tok.text.len() => {
            (&tok.text[1..len - 1], Some("syntax error after '}'"))
        }
        Some(len) => (&tok.text[1..len - 1], None),
    };
    if let Some(problem) = problem {
        warn(tok.offset, format!("{problem} in \"{}\"", lossy(&tok.text)));
    }
    tok.text = trim(inner).to_vec();
}

/// The `-o name=value` options before the first non-option argument
/// (`register_user_parameters`); malformed ones are warned about (at their
/// raw token) and skipped. As in postconf, every option that takes a value
/// (`-o...`, a bare `-`) consumes the next argument.
fn collect_overrides(
    args: &[NArg],
    warn: &mut impl FnMut(usize, String),
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut field = 0;
    while let Some(arg) = args.get(field) {
        if arg.text.first() != Some(&b'-') || arg.text == b"--" {
            break;
        }
        if expects_value(&arg.text) {
            if let Some(value) = args.get(field + 1) {
                if arg.text == b"-o" {
                    match split_nameval(&value.text) {
                        Ok((name, v)) => out.push((name.to_vec(), v.to_vec())),
                        Err(problem) => warn(
                            value.raw,
                            format!("-o {problem}: \"{}\"", lossy(&value.text)),
                        ),
                    }
                }
                field += 1;
            }
        }
        field += 1;
    }
    out
}

/// `util/split_nameval.c`: `name = value` with C whitespace trimmed.
pub(super) fn split_nameval(buf: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    let mut i = 0;
    while i < buf.len() && is_space(buf[i]) {
        i += 1;
    }
    if i == buf.len() || buf[i] == b'=' {
        return Err("missing attribute name");
    }
    let name_start = i;
    while i < buf.len() && !is_space(buf[i]) && buf[i] != b'=' {
        i += 1;
    }
    let name_end = i;
    while i < buf.len() && is_space(buf[i]) {
        i += 1;
    }
    if buf.get(i) != Some(&b'=') {
        return Err("missing '=' after attribute name");
    }
    Ok((&buf[name_start..name_end], trim(&buf[i + 1..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(bytes: &[u8]) -> Vec<Vec<u8>> {
        let lines = split_lines(bytes);
        logical_lines(bytes, &lines)
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn split_nameval_like_postfix() {
        assert_eq!(split_nameval(b" a = b c "), Ok((&b"a"[..], &b"b c"[..])));
        assert_eq!(split_nameval(b"a=").map(|(_, v)| v), Ok(&b""[..]));
        assert_eq!(split_nameval(b"=b"), Err("missing attribute name"));
        assert_eq!(split_nameval(b"   "), Err("missing attribute name"));
        assert_eq!(
            split_nameval(b"a b=c"),
            Err("missing '=' after attribute name")
        );
    }

    #[test]
    fn logical_lines_follow_readllines() {
        let src = b"a b\n# c\n\n  d\n\x0be\nf\n   # g\n h";
        assert_eq!(texts(src), [b"a b  d\x0be".to_vec(), b"f h".to_vec()]);
        let lines = split_lines(src);
        let logical = logical_lines(src, &lines);
        assert_eq!(logical[0].first_line(), 1);
        assert_eq!(logical[0].last_line(), 5);
        assert_eq!(logical[1].last_line(), 8);
    }

    #[test]
    fn wakeup_rule() {
        for ok in ["-", "0", "60", "1000?", "?", "-?"] {
            assert!(valid_wakeup(ok.as_bytes()), "{ok}");
        }
        for bad in ["5x", "--", "x", "1?1", "??"] {
            assert!(!valid_wakeup(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn arguments_remember_their_raw_token() {
        let a = analyze(
            b"a unix - - n - - smtp -vox=y -o {b = c d} flags=R",
            &mut |_, _| {},
        )
        .expect("parses");
        let shown: Vec<(&[u8], usize)> = a.args.iter().map(|a| (&a.text[..], a.raw)).collect();
        assert_eq!(
            shown,
            [
                (&b"-v"[..], 8),
                (b"-o", 8),
                (b"x=y", 8),
                (b"-o", 9),
                (b"b=c d", 10),
                (b"flags=R", 11)
            ]
        );
        assert_eq!(a.option_end(), 5);
    }

    // Recorded with postconf 3.7.11: a bare `-` takes the next argument as
    // its value, so `- -o x=y` defines no parameter.
    #[test]
    fn bare_dash_consumes_a_value_like_postconf() {
        let a = analyze(b"a unix - - n - - smtp - -o x=y", &mut |_, _| {}).expect("ok");
        assert!(a.overrides.is_empty());
        let b = analyze(b"b unix - - n - - smtp -o - -o z=1", &mut |_, _| {}).expect("ok");
        assert_eq!(b.overrides, [(b"z".to_vec(), b"1".to_vec())]);
    }
}
