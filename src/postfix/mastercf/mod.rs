//! master.cf: the Postfix service table as a lossless, editable document.
//!
//! [`MasterCf`] is the file's physical lines, byte for byte; the services
//! ([`Service`]) are derived from them with exactly the rules postconf 3.7
//! uses (`postconf/postconf_master.c`, `util/readlline.c`; see `parse.rs`),
//! so they agree with `postconf -M`, `-F` and `-P`. An unchanged document
//! renders byte-identical ([`MasterCf::to_bytes`]): comments, blank lines,
//! tabs, CRLF, a missing final newline, non-UTF-8 bytes.
//!
//! [`MasterCf::apply_edits`] applies a batch of [`MasterEdit`]s in one pass,
//! all or nothing, and rewrites only the physical lines the edits touch
//! (see `edit.rs` for the rules):
//!
//! * a field change replaces that one token on its line, keeping the column
//!   layout; an option value change rewrites only that option's bytes; a
//!   new `-o` is one new continuation line after the entry's last option;
//!   removing an option that sits alone on its line deletes that line;
//! * anything else (e.g. a new option in a one-line entry with arguments
//!   after its options) re-renders the entry in postconf's folded layout at
//!   the place of its first line, keeping the original text of every
//!   argument no edit touched, and comment lines inside the entry where
//!   they are;
//! * a new service goes right after a commented example of it (Debian's
//!   `#submission inet ...` and its `#  -o ...` lines) when that is a
//!   logical-line boundary, else at the end of the file;
//! * every edit names its entries by the literal `name/type`, as
//!   `postconf -M` does, and applies to all duplicates;
//! * option values with whitespace are written `-o { name = value }`
//!   (Postfix 3.0+), never `-oname=value`; values that would end the line,
//!   that Postfix would trim, or with unbalanced braces are refused, and so
//!   are edits of options that only exist in postconf's misreading of a
//!   glued `-osyslog_name=x` token (it splits at every `o`; the daemon does
//!   not).
//!
//! After the edits the services and warnings are derived again from the
//! new lines, and every entry is checked against what the edits asked for:
//! a mismatch is an error, never a written file. A batch applied twice
//! changes nothing the second time.
//!
//! [`fields`] holds the typed field values ([`ServiceType`], [`Flag`],
//! [`Wakeup`], [`MaxProc`]) that specs use and edits are checked with.
//!
//! The services also feed the catalog: a `relay ... smtp` service creates
//! `relay_destination_concurrency_limit` and friends (see
//! [`crate::catalog::known`]), and `-o name=value` overrides count as
//! references to user-defined parameters.

mod edit;
pub mod fields;
mod parse;
mod render;

pub use crate::postfix::maincf::NEW_LINE;
pub use edit::{Field, MasterBatchError, MasterEdit, MasterEditError, NewService};
pub use fields::{FieldError, Flag, MaxProc, ServiceType, Wakeup};

use std::fmt;
use thiserror::Error;

/// A master.cf document: its physical lines plus the services derived from
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterCf {
    bytes: Vec<u8>,
    lines: Vec<parse::Line>,
    /// Every entry in file order (duplicates included: for postconf each one
    /// counts; the master daemon lets the last one win). Derived from the
    /// lines: read it, do not change it (edits go through
    /// [`MasterCf::apply_edits`], which derives it again).
    pub services: Vec<Service>,
    /// For each service, the indices (0-based) of its data lines.
    data_lines: Vec<Vec<usize>>,
    warnings: Vec<MasterCfWarning>,
}

/// One master.cf entry (one logical line).
///
/// Text fields are the file's bytes decoded as UTF-8 (invalid sequences
/// replaced); [`MasterCf::to_bytes`] still renders the exact original bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    /// Field 1, service name (for `inet`, may be `host:port`).
    pub name: String,
    /// Field 2: `inet`, `unix`, `unix-dgram`, `fifo` or `pass` (see
    /// [`Service::service_type`]).
    pub kind: String,
    /// Field 3: `y`, `n` or `-`.
    pub private: String,
    /// Field 4: `y`, `n` or `-`.
    pub unpriv: String,
    /// Field 5: `y`, `n` or `-`.
    pub chroot: String,
    /// Field 6: seconds, optionally followed by `?`, or `-`.
    pub wakeup: String,
    /// Field 7: a number or `-`.
    pub maxproc: String,
    /// Field 8: the daemon program (`smtpd`, `smtp`, `pipe`, ...).
    pub command: String,
    /// Every argument after the command, normalized like postconf does:
    /// `-oname=value` is split into `-o`, `name=value`; `-vo x` into `-v`,
    /// `-o`, `x`; a `{ ... }` argument loses its braces and surrounding
    /// whitespace; `-o { name = value }` becomes `name=value`.
    pub args: Vec<String>,
    /// The `-o name=value` daemon options, in order (duplicates kept; the
    /// last one wins, see [`Service::override_value`]). Only options before
    /// the first non-option argument count, as in Postfix.
    pub overrides: Vec<(String, String)>,
    /// First physical line of the entry (1-based).
    pub line: usize,
    /// Last physical line of the entry (1-based), continuation lines included.
    pub end_line: usize,
}

/// A fatal master.cf problem: postconf (and master) refuse the file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct MasterCfError {
    /// Physical line (1-based).
    pub line: usize,
    /// Column (1-based, in characters).
    pub column: usize,
    pub message: String,
}

/// A non-fatal master.cf problem (postconf warns and goes on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterCfWarning {
    /// Physical line (1-based).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for MasterCfWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The daemon programs whose services create delivery-agent parameter
/// names (postconf_service.c), see [`crate::catalog::known`].
pub const DELIVERY_COMMANDS: [&str; 7] =
    ["local", "error", "virtual", "smtp", "lmtp", "pipe", "spawn"];

impl MasterCf {
    /// Parse master.cf bytes. Fails on the first fatal problem.
    pub fn parse(bytes: &[u8]) -> Result<MasterCf, MasterCfError> {
        Self::parse_all(bytes).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Parse master.cf bytes and report every fatal problem at once (the
    /// error vector is never empty).
    pub fn parse_all(bytes: &[u8]) -> Result<MasterCf, Vec<MasterCfError>> {
        let lines = parse::split_lines(bytes);
        let parsed = parse::parse(bytes, &lines);
        if parsed.errors.is_empty() {
            Ok(MasterCf {
                bytes: bytes.to_vec(),
                lines,
                services: parsed.services,
                data_lines: parsed.data_lines,
                warnings: parsed.warnings,
            })
        } else {
            Err(parsed.errors)
        }
    }

    /// The document's bytes: byte-identical to the input when unchanged.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The document's bytes: byte-identical to the input when unchanged.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Every entry in file order, duplicates included.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Non-fatal problems: orphan indented lines, `{}` and `-o` syntax that
    /// postconf warns about, duplicate name/type entries.
    pub fn warnings(&self) -> &[MasterCfWarning] {
        &self.warnings
    }

    /// The entry with this name and type. With duplicates the last one, as
    /// the master daemon uses.
    pub fn service(&self, name: &str, kind: &str) -> Option<&Service> {
        self.services
            .iter()
            .rev()
            .find(|s| s.name == name && s.kind == kind)
    }

    /// Every entry with this name and type, in file order.
    pub fn services_named<'a>(
        &'a self,
        name: &'a str,
        kind: ServiceType,
    ) -> impl Iterator<Item = &'a Service> + 'a {
        self.services
            .iter()
            .filter(move |s| s.name == name && s.kind == kind.as_str())
    }

    /// Number of physical lines.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// True when the file uses CRLF line endings (the majority of its
    /// terminated lines end in CR LF); new lines are written that way.
    pub fn uses_crlf(&self) -> bool {
        let (mut crlf, mut lf) = (0usize, 0usize);
        for line in self.lines.iter().filter(|l| l.lf) {
            if line.end > line.start && self.bytes[line.end - 1] == b'\r' {
                crlf += 1;
            } else {
                lf += 1;
            }
        }
        crlf > lf
    }

    /// Physical line `i` (0-based), without its LF.
    fn line_text(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.bytes[l.start..l.end]
    }
}

impl Service {
    /// The `(name, type)` pair that identifies an entry.
    pub fn key(&self) -> (&str, &str) {
        (&self.name, &self.kind)
    }

    /// The type field as a [`ServiceType`] (always `Some` for a parsed
    /// entry: postconf refuses other types).
    pub fn service_type(&self) -> Option<ServiceType> {
        self.kind.parse().ok()
    }

    /// The value of a `-o name=value` override (the last one wins).
    pub fn override_value(&self, name: &str) -> Option<&str> {
        self.overrides
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The arguments after the options: everything from the first argument
    /// that does not start with `-` (or is `--`), as [`MasterEdit::SetArgs`]
    /// replaces them (e.g. a pipe's `flags=R user=vmail argv=...`).
    pub fn non_option_args(&self) -> &[String] {
        let mut i = 0;
        while let Some(arg) = self.args.get(i) {
            if !arg.starts_with('-') || arg == "--" {
                break;
            }
            if parse::expects_value(arg.as_bytes()) && i + 1 < self.args.len() {
                i += 1;
            }
            i += 1;
        }
        &self.args[i.min(self.args.len())..]
    }

    /// True for services whose command is a delivery agent that creates
    /// `<service>_...` parameter names (local, error, virtual, smtp, lmtp,
    /// pipe, spawn).
    pub fn is_delivery_agent(&self) -> bool {
        DELIVERY_COMMANDS.contains(&self.command.as_str())
    }

    /// The entry on one line the way `postconf -M` prints it: fields at
    /// columns 0/11/17/25/33/41/49/57 (at least one space apart), then
    /// the arguments; option values and later arguments that contain
    /// whitespace are wrapped in `{ }` (postconf_master.c
    /// `pcf_print_master_entry`, unfolded).
    pub fn canonical(&self) -> String {
        let fields = [
            &self.name,
            &self.kind,
            &self.private,
            &self.unpriv,
            &self.chroot,
            &self.wakeup,
            &self.maxproc,
            &self.command,
        ];
        let mut out = render::fields_line(fields.map(|f| f.as_bytes()));
        let has_blank = |s: &str| s.bytes().any(parse::is_master_blank);
        let mut in_options = true;
        let mut i = 0;
        while let Some(arg) = self.args.get(i) {
            let mut value = None;
            let mut parens = false;
            if in_options {
                if !arg.starts_with('-') || arg == "--" {
                    in_options = false;
                } else if parse::expects_value(arg.as_bytes()) {
                    if let Some(v) = self.args.get(i + 1) {
                        parens = has_blank(v);
                        value = Some(v);
                    }
                }
            } else {
                parens = has_blank(arg);
            }
            out.push(b' ');
            if !in_options && parens {
                out.push(b'{');
                out.extend_from_slice(arg.as_bytes());
                out.push(b'}');
            } else {
                out.extend_from_slice(arg.as_bytes());
            }
            if let Some(v) = value {
                out.push(b' ');
                if parens {
                    out.push(b'{');
                    out.extend_from_slice(v.as_bytes());
                    out.push(b'}');
                } else {
                    out.extend_from_slice(v.as_bytes());
                }
                i += 1;
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_overrides() {
        let src = b"# comment\nsubmission inet n - y - - smtpd\n  -o syslog_name=postfix/submission\n  -o { smtpd_tls_security_level = encrypt }\n#  -o commented=out\n  -osmtpd_sasl_auth_enable=yes\n";
        let m = MasterCf::parse(src).expect("parses");
        assert_eq!(m.services.len(), 1);
        let s = &m.services[0];
        assert_eq!(s.key(), ("submission", "inet"));
        assert_eq!((s.line, s.end_line), (2, 6));
        assert_eq!(
            s.overrides,
            [
                ("syslog_name".to_string(), "postfix/submission".to_string()),
                (
                    "smtpd_tls_security_level".to_string(),
                    "encrypt".to_string()
                ),
                ("smtpd_sasl_auth_enable".to_string(), "yes".to_string()),
            ]
        );
        assert_eq!(s.override_value("smtpd_sasl_auth_enable"), Some("yes"));
        assert_eq!(m.to_bytes(), src.to_vec());
        assert_eq!(
            s.canonical(),
            "submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes"
        );
    }

    // The canonical strings below are what postconf 3.7.11 -M printed.
    #[test]
    fn canonical_matches_postconf() {
        let m = MasterCf::parse(b"a unix - - n - - smtp -o {x = y z} -oa=b -vo c=d\n").expect("ok");
        assert_eq!(
            m.services[0].canonical(),
            "a          unix  -       -       n       -       -       smtp -o {x=y z} -o a=b -v -o c=d"
        );
        let m = MasterCf::parse(b"a unix-dgram - - n - - smtp\n").expect("ok");
        assert_eq!(
            m.services[0].canonical(),
            "a          unix-dgram -  -       n       -       -       smtp"
        );
    }

    #[test]
    fn field_errors_like_postconf() {
        for (src, msg) in [
            (
                "a bogus - - n - - smtp\n",
                "line 1, column 3: invalid type field \"bogus\"",
            ),
            (
                "a unix x - n - - smtp\n",
                "line 1, column 8: invalid private field \"x\"",
            ),
            (
                "a unix - x n - - smtp\n",
                "line 1, column 10: invalid unprivileged field \"x\"",
            ),
            (
                "a unix - - yy - - smtp\n",
                "line 1, column 12: invalid chroot field \"yy\"",
            ),
            (
                "a unix - - n 5x - smtp\n",
                "line 1, column 14: invalid wakeup field \"5x\"",
            ),
            (
                "a unix - - n - 5x smtp\n",
                "line 1, column 16: invalid process_limit field \"5x\"",
            ),
            ("a unix - - n - -\n", "line 1, column 1: bad field count"),
            (
                "a unix\x0b- - n - - smtp\n",
                "line 1, column 1: bad field count",
            ),
            (
                "a unix {- } - n - - smtp\n",
                "line 1, column 8: invalid private field \"{- }\"",
            ),
        ] {
            let err = MasterCf::parse(src.as_bytes()).expect_err(src);
            assert!(err.to_string().starts_with(msg), "{src:?}: {err}");
        }
    }

    #[test]
    fn wakeup_and_maxproc_edge_cases_accepted_by_postconf() {
        for src in [
            "a unix - - n ? - smtp\n",
            "a unix - - n -? - smtp\n",
            "a unix - - n 1000? 0 tlsmgr\n",
            "a unix y n y 60 100 pickup\n",
        ] {
            assert!(MasterCf::parse(src.as_bytes()).is_ok(), "{src:?}");
        }
    }

    #[test]
    fn error_position_on_continuation_line() {
        let err = MasterCf::parse(b"ok unix - - n - - smtp\nbad unix - -\n    q - - smtp\n")
            .expect_err("bad chroot");
        assert_eq!((err.line, err.column), (3, 5));
        assert!(err.message.contains("invalid chroot field \"q\""), "{err}");
    }

    #[test]
    fn parse_all_reports_every_entry() {
        let errors =
            MasterCf::parse_all(b"a bogus - - n - - smtp\nb unix - - n - - smtp\nc unix - - n\n")
                .expect_err("two bad");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[1].line, 3);
    }

    #[test]
    fn orphan_indented_line_is_a_warning() {
        let m = MasterCf::parse(b"  a unix - - n - - smtp\nb unix - - n - - smtp\n").expect("ok");
        assert_eq!(m.services.len(), 1);
        assert_eq!(m.services[0].name, "b");
        assert_eq!(m.warnings().len(), 1);
        assert!(m.warnings()[0]
            .message
            .contains("logical line must not start with whitespace"));
    }

    #[test]
    fn options_stop_at_first_argument() {
        let m = MasterCf::parse(b"p unix - n n - - pipe -o a=1 flags=R -o b=2 argv=/bin/x {x y}\n")
            .expect("ok");
        let s = &m.services[0];
        assert_eq!(s.overrides, [("a".to_string(), "1".to_string())]);
        assert_eq!(
            s.args,
            ["-o", "a=1", "flags=R", "-o", "b=2", "argv=/bin/x", "x y"]
        );
    }

    #[test]
    fn crlf_and_no_final_newline() {
        let src = b"a unix - - n - - smtp\r\n  -o x=y\r\nb inet n - y - - smtpd";
        let m = MasterCf::parse(src).expect("ok");
        assert_eq!(m.services.len(), 2);
        assert_eq!(m.services[0].override_value("x"), Some("y"));
        assert_eq!(m.services[1].command, "smtpd");
        assert_eq!(m.as_bytes(), src);
    }

    #[test]
    fn duplicate_keys_last_wins_with_warning() {
        let m = MasterCf::parse(b"a unix - - n - - smtp\na unix - - n - - lmtp\n").expect("ok");
        assert_eq!(
            m.service("a", "unix").map(|s| s.command.as_str()),
            Some("lmtp")
        );
        assert_eq!(m.warnings().len(), 1);
    }

    #[test]
    fn brace_and_nameval_warnings() {
        let m = MasterCf::parse(b"a unix - - n - - smtp -o {x=y -o {novalue}\n").expect("ok");
        assert!(!m.warnings().is_empty());
        let m = MasterCf::parse(b"a unix - - n - - smtp -o { = y}\n").expect("ok");
        assert!(
            m.warnings()[0].message.contains("missing attribute name"),
            "{:?}",
            m.warnings()
        );
        assert!(m.services[0].overrides.is_empty());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            &b""[..],
            b"\n\n",
            b"-",
            b"a unix - - n - - smtp -",
            b"a unix - - n - - smtp - -o",
            b"a unix - - n - - smtp -oo x=y",
            b"a unix - - n - - smtp -o",
            b"a unix - - n - - smtp {",
            b"a unix - - n - - smtp \xff\xfe -o \xff=\xfe",
            b"\0a unix - - n - - smtp",
            b"a unix - - n - - smtp\0 junk",
        ] {
            let _ = MasterCf::parse_all(src);
        }
    }
}
