//! master.cf reader: a port of what postconf 3.7 does with the file.
//!
//! * Logical lines (`util/readlline.c` `readllines`): physical lines split on
//!   LF; a line that is all whitespace or whose first non-whitespace byte is
//!   `#` is dropped without ending the current entry; a line that starts
//!   with whitespace (C `isspace`, so VT and FF too) continues the current
//!   entry, its bytes appended as they are; a logical line that itself
//!   starts with whitespace is warned about and discarded. The logical line
//!   is a C string: it ends at the first NUL byte.
//! * Fields (`postconf_master.c` `pcf_parse_master_entry`): split on
//!   `" \t\r\n"` (not VT/FF) with `{...}` grouping (`argv_splitq`); fewer
//!   than 8 is `bad field count`; then `pcf_check_master_entry` checks type,
//!   private/unpriv/chroot, wakeup and maxproc; then
//!   `pcf_normalize_daemon_args` rewrites the arguments after the command.
//! * `-o name=value` overrides: collected like `register_user_parameters`
//!   (postconf_user.c) with `split_nameval`.

use super::{MasterCfError, MasterCfWarning, Service};
use crate::postfix::list::{balpar, tokens_q};
use crate::postfix::space::{is_space, trim};
use std::collections::HashMap;

pub(super) struct Parsed {
    pub services: Vec<Service>,
    pub warnings: Vec<MasterCfWarning>,
    pub errors: Vec<MasterCfError>,
}

const VALID_TYPES: [&str; 5] = ["unix", "unix-dgram", "fifo", "inet", "pass"];

pub(super) fn parse(bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        services: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for logical in logical_lines(bytes) {
        if logical.text.first().is_some_and(|&b| is_space(b)) {
            parsed.warnings.push(MasterCfWarning {
                line: logical.first_line(),
                message: format!(
                    "logical line must not start with whitespace: \"{}\"",
                    String::from_utf8_lossy(&logical.text)
                ),
            });
            continue;
        }
        match entry(&logical, bytes, &mut parsed.warnings) {
            Ok(service) => {
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
            }
            Err(mut errors) => parsed.errors.append(&mut errors),
        }
    }
    parsed
}

/// One logical line: the joined bytes and where each piece came from.
struct Logical {
    text: Vec<u8>,
    /// (offset in `text`, physical line number, offset of that line in the file)
    pieces: Vec<(usize, usize, usize)>,
}

impl Logical {
    fn first_line(&self) -> usize {
        self.pieces.first().map_or(1, |p| p.1)
    }

    fn last_line(&self) -> usize {
        self.pieces.last().map_or(1, |p| p.1)
    }

    /// Physical line and 1-based character column of a byte offset in `text`.
    fn position(&self, offset: usize, file: &[u8]) -> (usize, usize) {
        let Some(&(start, line, file_offset)) = self.pieces.iter().rev().find(|p| p.0 <= offset)
        else {
            return (1, 1);
        };
        let upto = (file_offset + offset - start).min(file.len());
        let prefix = &file[file_offset.min(upto)..upto];
        (line, String::from_utf8_lossy(prefix).chars().count() + 1)
    }
}

fn logical_lines(bytes: &[u8]) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut file_offset = 0;
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut number = 0;
    while let Some(line) = lines.next() {
        number += 1;
        let offset = file_offset;
        file_offset += line.len() + 1;
        if line.is_empty() && lines.peek().is_none() {
            break; // the empty remainder after a final LF is not a line
        }
        match line.iter().find(|&&b| !is_space(b)) {
            None | Some(b'#') => continue,
            Some(_) => {}
        }
        match current.as_mut() {
            Some(logical) if is_space(line[0]) => {
                logical.pieces.push((logical.text.len(), number, offset));
                logical.text.extend_from_slice(line);
            }
            _ => {
                out.extend(current.take());
                current = Some(Logical {
                    text: line.to_vec(),
                    pieces: vec![(0, number, offset)],
                });
            }
        }
    }
    out.extend(current);
    out
}

/// A token of the entry: its bytes and its offset in the logical line.
#[derive(Debug, Clone)]
struct Tok {
    text: Vec<u8>,
    offset: usize,
}

fn is_master_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn entry(
    logical: &Logical,
    file: &[u8],
    warnings: &mut Vec<MasterCfWarning>,
) -> Result<Service, Vec<MasterCfError>> {
    let text = match logical.text.iter().position(|&b| b == 0) {
        Some(n) => &logical.text[..n],
        None => &logical.text[..],
    };
    let error = |offset: usize, message: String| {
        let (line, column) = logical.position(offset, file);
        MasterCfError {
            line,
            column,
            message,
        }
    };
    let mut tokens: Vec<Tok> = tokens_q(text, is_master_blank)
        .map(|(offset, t)| Tok {
            text: t.to_vec(),
            offset,
        })
        .collect();
    if tokens.len() < 8 {
        return Err(vec![error(
            0,
            format!(
                "bad field count: expected 8 or more fields (service type private unpriv chroot wakeup maxproc command [args]), found {}",
                tokens.len()
            ),
        )]);
    }

    let mut errors = Vec::new();
    let kind = &tokens[1];
    if !VALID_TYPES.iter().any(|t| t.as_bytes() == kind.text) {
        errors.push(error(
            kind.offset,
            format!(
                "invalid type field \"{}\" (expected inet, unix, unix-dgram, fifo or pass)",
                lossy(&kind.text)
            ),
        ));
    }
    for (i, what) in [(2, "private"), (3, "unprivileged"), (4, "chroot")] {
        let t = &tokens[i];
        if !matches!(t.text.as_slice(), b"y" | b"n" | b"-") {
            errors.push(error(
                t.offset,
                format!(
                    "invalid {what} field \"{}\" (expected y, n or -)",
                    lossy(&t.text)
                ),
            ));
        }
    }
    let wakeup = &tokens[5];
    if !valid_wakeup(&wakeup.text) {
        errors.push(error(
            wakeup.offset,
            format!(
                "invalid wakeup field \"{}\" (expected seconds, optionally followed by ?, or -)",
                lossy(&wakeup.text)
            ),
        ));
    }
    let maxproc = &tokens[6];
    if maxproc.text != b"-" && !maxproc.text.iter().all(u8::is_ascii_digit) {
        errors.push(error(
            maxproc.offset,
            format!(
                "invalid process_limit field \"{}\" (expected a number or -)",
                lossy(&maxproc.text)
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut args = tokens.split_off(8);
    let mut warn = |offset: usize, message: String| {
        let (line, _) = logical.position(offset, file);
        warnings.push(MasterCfWarning { line, message });
    };
    normalize_daemon_args(&mut args, &mut warn);
    let overrides = collect_overrides(&args, &mut warn);
    let field = |i: usize| lossy(&tokens[i].text);
    Ok(Service {
        name: field(0),
        kind: field(1),
        private: field(2),
        unpriv: field(3),
        chroot: field(4),
        wakeup: field(5),
        maxproc: field(6),
        command: field(7),
        args: args.iter().map(|t| lossy(&t.text)).collect(),
        overrides,
        line: logical.first_line(),
        end_line: logical.last_line(),
    })
}

/// `pcf_check_master_entry` wakeup rule: `-`, or digits with an optional
/// trailing `?` (a lone `?` and `-?` pass too, as in postconf).
fn valid_wakeup(field: &[u8]) -> bool {
    let body = field.strip_suffix(b"?").unwrap_or(field);
    (field.first() == Some(&b'-') && body.len() == 1) || body.iter().all(u8::is_ascii_digit)
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
            };
            args[field].text.truncate(p);
            args.insert(field + 1, tail);
        }
        let arg = &args[field];
        if !matches!(arg.text.get(1), None | Some(b'o')) {
            field += 1;
            continue; // option without a value
        }
        let extract;
        if arg.text.len() > 2 {
            // Split "-oname=value" into "-o" "name=value".
            let value = Tok {
                text: arg.text[2..].to_vec(),
                offset: arg.offset + 2,
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
/// (`register_user_parameters`); malformed ones are warned about and skipped.
fn collect_overrides(args: &[Tok], warn: &mut impl FnMut(usize, String)) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut field = 0;
    while let Some(arg) = args.get(field) {
        if arg.text.first() != Some(&b'-') || arg.text == b"--" {
            break;
        }
        if arg.text == b"-o" {
            if let Some(value) = args.get(field + 1) {
                match split_nameval(&value.text) {
                    Ok((name, v)) => out.push((lossy(name), lossy(v))),
                    Err(problem) => warn(
                        value.offset,
                        format!("-o {problem}: \"{}\"", lossy(&value.text)),
                    ),
                }
                field += 1;
            }
        }
        field += 1;
    }
    out
}

/// `util/split_nameval.c`: `name = value` with C whitespace trimmed.
fn split_nameval(buf: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
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
        let lines = logical_lines(b"a b\n# c\n\n  d\n\x0be\nf\n   # g\n h");
        let texts: Vec<&[u8]> = lines.iter().map(|l| l.text.as_slice()).collect();
        assert_eq!(texts, [&b"a b  d\x0be"[..], b"f h"]);
        assert_eq!(lines[0].first_line(), 1);
        assert_eq!(lines[0].last_line(), 5);
        assert_eq!(lines[1].last_line(), 8);
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
}
