//! Credentials written inline in main.cf or master.cf: a
//! `*_password_maps` parameter (or `-o` option) whose value holds an
//! `inline:{ ... }` or `static:...` table carries the password itself.
//! Such values are masked in every output (plan text and JSON, diffs,
//! `show`, the Ansible result) and compared without being printed.
//!
//! Table files named by a parameter (`hash:/etc/postfix/sasl_passwd`) are
//! not secrets here: the value is a path.

use std::borrow::Cow;

/// What a masked credential shows.
pub const MASK: &str = "********";

/// Table types whose text is the data itself.
const INLINE_TYPES: [&str; 2] = ["inline:", "static:"];

/// Does parameter `name` with `value` hold credentials inline?
pub fn holds_secret(name: &str, value: &[u8]) -> bool {
    name.contains("password")
        && INLINE_TYPES
            .iter()
            .any(|t| value.windows(t.len()).any(|w| w == t.as_bytes()))
}

/// `value` with the contents of every `inline:{...}` and `static:...`
/// table replaced by [`MASK`] (the table types stay, so a reader sees
/// what kind of value it is).
pub fn mask_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    loop {
        let next = INLINE_TYPES
            .iter()
            .filter_map(|t| rest.find(t).map(|i| (i, *t)))
            .min_by_key(|(i, _)| *i);
        let Some((i, t)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + t.len()]);
        let after = &rest[i + t.len()..];
        let end = if let Some(group) = after.strip_prefix('{') {
            // inline:{ ... } up to the matching brace.
            let mut depth = 1usize;
            let mut end = after.len();
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j + 2;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push_str("{ ");
            out.push_str(MASK);
            out.push_str(" }");
            end
        } else {
            // static:text up to the next separator.
            let end = after
                .find(|c: char| c == ',' || c.is_whitespace())
                .unwrap_or(after.len());
            out.push_str(MASK);
            end
        };
        rest = &after[end..];
    }
}

/// A value for display: masked when it holds credentials.
pub fn shown<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if holds_secret(name, value.as_bytes()) {
        Cow::Owned(mask_value(value))
    } else {
        Cow::Borrowed(value)
    }
}

/// One master.cf line (`postconf -M` form) with credential-holding `-o`
/// values masked.
pub fn shown_line(line: &str) -> String {
    match mask_master_cf(line.as_bytes()) {
        Some(m) => String::from_utf8_lossy(&m).into_owned(),
        None => line.to_string(),
    }
}

/// main.cf text with every credential-holding entry masked, line for
/// line (a continuation line of such an entry becomes an indented
/// [`MASK`]), so a diff of two masked texts has the same line numbers as
/// the real one. `None` when nothing needs masking.
pub fn mask_main_cf(bytes: &[u8]) -> Option<Vec<u8>> {
    if !INLINE_TYPES
        .iter()
        .any(|t| bytes.windows(t.len()).any(|w| w == t.as_bytes()))
    {
        return None;
    }
    let doc = crate::postfix::maincf::MainCf::parse(bytes).ok()?;
    let mut masked_lines: std::collections::BTreeMap<usize, Vec<u8>> = Default::default();
    for e in doc.entries() {
        let name = e.name_str();
        if !holds_secret(&name, &e.value) {
            continue;
        }
        let value = mask_value(&e.value_str());
        for (k, &line) in e.data_lines.iter().enumerate() {
            let text = if k == 0 {
                format!("{name} = {value}")
            } else {
                format!("    {MASK}")
            };
            masked_lines.insert(line, text.into_bytes());
        }
    }
    if masked_lines.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        match masked_lines.get(&i) {
            Some(text) => {
                out.extend_from_slice(text);
                if line.ends_with(b"\r\n") {
                    out.extend_from_slice(b"\r\n");
                } else if line.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
            None => out.extend_from_slice(line),
        }
    }
    Some(out)
}

/// master.cf text with the value of every credential-holding `-o`
/// option masked. `None` when nothing needs masking.
pub fn mask_master_cf(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("password") || !INLINE_TYPES.iter().any(|t| text.contains(t)) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        let mut piece = String::new();
        // Every `NAME=VALUE` word (also inside `{ NAME = VALUE }`) whose
        // name holds "password".
        while let Some(i) = rest.find("password") {
            let name_start = rest[..i]
                .rfind(|c: char| c.is_whitespace() || c == '{')
                .map_or(0, |j| j + 1);
            let Some(eq) = rest[i..].find('=').map(|e| i + e) else {
                break;
            };
            let name = rest[name_start..eq].trim();
            let value_start = eq + 1 + (rest[eq + 1..].len() - rest[eq + 1..].trim_start().len());
            let value_end = table_end(rest, value_start);
            let value = &rest[value_start..value_end];
            piece.push_str(&rest[..value_start]);
            if holds_secret(name, value.as_bytes()) {
                piece.push_str(&mask_value(value));
                changed = true;
            } else {
                piece.push_str(value);
            }
            rest = &rest[value_end..];
        }
        piece.push_str(rest);
        out.push_str(&piece);
    }
    changed.then(|| out.into_bytes())
}

/// Where the value starting at `start` ends: after the matching brace of
/// an `inline:{`, else at whitespace or a `}` (the end of a `{ }` option).
fn table_end(text: &str, start: usize) -> usize {
    let value = &text[start..];
    if let Some(group) = value.strip_prefix("inline:{") {
        let mut depth = 1usize;
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return start + "inline:{".len() + j + 1;
                    }
                }
                _ => {}
            }
        }
        return text.len();
    }
    value
        .find(|c: char| c.is_whitespace() || c == '}')
        .map_or(text.len(), |e| start + e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_static_credentials_are_masked() {
        assert!(holds_secret(
            "smtp_sasl_password_maps",
            b"inline:{ [smtp.example.com]:587=alice:S3cr3t }"
        ));
        assert!(!holds_secret(
            "smtp_sasl_password_maps",
            b"hash:/etc/postfix/sasl_passwd"
        ));
        assert!(!holds_secret("smtpd_banner", b"static:OK"));
        assert_eq!(
            mask_value("inline:{ [smtp.example.com]:587=alice:S3cr3t }"),
            "inline:{ ******** }"
        );
        assert_eq!(
            mask_value("static:alice:S3cr3t, hash:/etc/postfix/sasl_passwd"),
            "static:********, hash:/etc/postfix/sasl_passwd"
        );
    }

    #[test]
    fn main_cf_is_masked_line_for_line() {
        let text = b"biff = no\nsmtp_sasl_password_maps = inline:{ a=alice:S3cr3t,\n    b=bob:S3cr3t2 }\nrelayhost = x\n";
        let masked = String::from_utf8(mask_main_cf(text).unwrap()).unwrap();
        assert_eq!(
            masked,
            "biff = no\nsmtp_sasl_password_maps = inline:{ ******** }\n    ********\nrelayhost = x\n"
        );
        assert!(mask_main_cf(b"smtp_sasl_password_maps = hash:/x\n").is_none());
    }

    #[test]
    fn master_cf_options_are_masked() {
        let text = "relay unix - - n - - smtp\n  -o smtp_sasl_password_maps=static:alice:S3cr3t\n  -o { smtp_sasl_password_maps = inline:{ a=b:c } }\n";
        let masked = String::from_utf8(mask_master_cf(text.as_bytes()).unwrap()).unwrap();
        assert!(!masked.contains("S3cr3t"), "{masked}");
        assert!(!masked.contains("b:c"), "{masked}");
        assert!(
            masked.contains("-o smtp_sasl_password_maps=static:********"),
            "{masked}"
        );
    }
}
