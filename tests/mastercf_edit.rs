//! master.cf editing, differential against the real postconf.
//!
//! Inputs: every fixture in `tests/fixtures/mastercf/` (30 real-world
//! files, Debian's master.cf, the Postfix source's default) and seeded
//! generated files full of what trips up editors: comment and blank lines
//! inside entries, `{ }` options, glued `-oname=value`, continuation lines
//! with tabs, commented services followed by live `-o` lines (which belong
//! to the entry before, master.cf research §7), duplicates, CRLF, missing
//! final newlines, orphan lines at the start, NUL bytes.
//!
//! For each file:
//! * our parse agrees with `postconf -c DIR -M`, `-F` and `-P`;
//! * seeded random edit batches (every edit kind) give exactly the
//!   intended services, fields and options: the result agrees with
//!   postconf again, equals the intended services (worked out here, apart
//!   from the library), and postconf's `-F`/`-P` lines of every service
//!   the batch does not name are unchanged;
//! * every old line the batch did not touch is in the result byte for
//!   byte and in order (checked through the returned line-origin map);
//! * applying the same batch again changes nothing.
//!
//! Generated files per run: POSTFORM_MASTERCF_CASES (default 120); seed:
//! POSTFORM_MASTERCF_SEED (printed on failure).

mod support;

use postform::postfix::mastercf::{
    Field, MasterCf, MasterEdit, MasterEditError, NewService, Service, ServiceType, NEW_LINE,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::PathBuf;

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
}

fn cases() -> usize {
    std::env::var("POSTFORM_MASTERCF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

fn seed() -> u64 {
    std::env::var("POSTFORM_MASTERCF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x6d61_7374_6572)
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

// ---------------------------------------------------------------------------
// Inputs

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = support::repo_root().join("tests/fixtures/mastercf");
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path().join("master.cf"))
        .filter(|p| p.is_file())
        .map(|p: PathBuf| {
            let name = p
                .parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, fs::read(&p).expect("read fixture"))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 32, "debian + upstream + 30 real-world files");
    out
}

const NAMES: &[&str] = &[
    "smtp",
    "submission",
    "a",
    "b",
    "relay",
    "127.0.0.1:10025",
    "maildrop",
    "x-y",
];
const TYPES: &[&str] = &["inet", "unix", "unix", "unix", "fifo", "pass", "unix-dgram"];
const BOOLS: &[&str] = &["y", "n", "-"];
const WAKEUPS: &[&str] = &["-", "0", "60", "1000?"];
const MAXPROCS: &[&str] = &["-", "0", "1", "100"];
const COMMANDS: &[&str] = &["smtpd", "smtp", "pipe", "lmtp", "local", "cleanup"];
const OPTION_NAMES: &[&str] = &[
    "syslog_name",
    "smtpd_tls_security_level",
    "smtp_helo_name",
    "smtpd_client_restrictions",
    "content_filter",
    "mynetworks",
];
const OPTION_VALUES: &[&str] = &[
    "postfix/sub",
    "encrypt",
    "a",
    "$x",
    "permit_mynetworks,reject",
    "",
    "{a,b}",
];
const ARGS: &[&str] = &[
    "flags=R",
    "user=vmail",
    "argv=/bin/x",
    "${recipient}",
    "{a b}",
    "x",
    "{ spaced  arg }",
];
const INDENTS: &[&str] = &["  ", "\t", "    ", " ", "        "];
const TRIVIA: &[&str] = &["# comment inside", "", "   ", "\t# indented comment", "#"];

fn gen_option(r: &mut Rng) -> String {
    let name = *r.pick(OPTION_NAMES);
    let value = *r.pick(OPTION_VALUES);
    match r.below(10) {
        0 => format!("-o {{ {name} = {value} with space }}"),
        1 => format!("-o{name}={value}"), // glued: postconf splits at any 'o'
        2 => "-v".to_string(),
        3 => format!("-vo {name}={value}"),
        4 => format!("-o {{{name}={value}}}"),
        _ => format!("-o {name}={value}"),
    }
}

/// Separator between two tokens: a blank, or a line break with trivia
/// lines and a continuation indent.
fn sep(r: &mut Rng, eol: &str, out: &mut String) {
    if r.chance(30) {
        out.push_str(eol);
        while r.chance(25) {
            out.push_str(r.word(TRIVIA));
            out.push_str(eol);
        }
        out.push_str(r.word(INDENTS));
    } else {
        out.push_str(r.word(&[" ", "\t", "  "]));
    }
}

fn gen_entry(r: &mut Rng, eol: &str, out: &mut String) {
    out.push_str(r.word(NAMES));
    out.push_str(r.word(&[" ", "\t", "    "]));
    out.push_str(r.word(TYPES));
    let fields = [
        *r.pick(BOOLS),
        *r.pick(BOOLS),
        *r.pick(BOOLS),
        *r.pick(WAKEUPS),
        *r.pick(MAXPROCS),
        *r.pick(COMMANDS),
    ];
    for f in fields {
        if r.chance(5) {
            sep(r, eol, out);
        } else {
            out.push_str(r.word(&[" ", "\t", "       "]));
        }
        out.push_str(f);
    }
    for _ in 0..r.below(5) {
        sep(r, eol, out);
        out.push_str(&gen_option(r));
    }
    for _ in 0..r.below(4) {
        sep(r, eol, out);
        out.push_str(r.word(ARGS));
    }
    if r.chance(5) {
        out.push(' '); // trailing blank
    }
    if r.chance(3) {
        out.push_str(" x\0-o hidden=after_nul"); // C string: the rest is gone
    }
    out.push_str(eol);
}

fn gen_master_cf(r: &mut Rng) -> Vec<u8> {
    let eol = if r.chance(20) { "\r\n" } else { "\n" };
    let mut out = String::new();
    if r.chance(8) {
        out.push_str("  -o orphan=at_start");
        out.push_str(eol);
    }
    if r.chance(50) {
        out.push_str("# service type  private unpriv  chroot  wakeup  maxproc command + args");
        out.push_str(eol);
    }
    for _ in 0..1 + r.below(9) {
        match r.below(100) {
            0..=14 => {
                // A commented example, maybe with commented options.
                let name = *r.pick(&["submission", "smtps", "628", "new1"]);
                out.push_str(&format!(
                    "#{name} inet n       -       y       -       -       smtpd{eol}"
                ));
                for _ in 0..r.below(3) {
                    out.push_str(&format!("#  -o {}=x{eol}", r.pick(OPTION_NAMES)));
                }
                if r.chance(30) {
                    // Live -o lines under it: they continue the entry before.
                    out.push_str(&format!("  -o {}=orphan{eol}", r.pick(OPTION_NAMES)));
                }
            }
            15..=22 => {
                out.push_str(r.word(TRIVIA));
                out.push_str(eol);
            }
            _ => gen_entry(r, eol, &mut out),
        }
    }
    let mut bytes = out.into_bytes();
    if r.chance(15) {
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
    }
    bytes
}

// ---------------------------------------------------------------------------
// postconf's view, and ours

#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    m: Vec<String>,
    f: Vec<String>,
    p: Vec<String>,
}

fn postconf_view(master: &[u8]) -> View {
    let dir = support::scratch_config_dir(b"", Some(master));
    let run = |flag: &str| -> Vec<String> {
        let out = support::run_postconf(dir.path(), [flag]);
        assert!(
            out.status.success(),
            "postconf {flag} failed on {}: {}",
            show(master),
            support::describe(&out)
        );
        support::stdout(&out).lines().map(str::to_string).collect()
    };
    View {
        m: run("-M"),
        f: run("-F"),
        p: run("-P"),
    }
}

fn has_blank(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The arguments as postconf -M/-F print them after the command
/// (postconf_master.c, unfolded): a leading space per argument, `{}` around
/// option values and later arguments with blanks.
fn args_text(args: &[String]) -> String {
    let mut out = String::new();
    let mut in_options = true;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let mut value = None;
        let mut parens = false;
        if in_options {
            if !arg.starts_with('-') || arg == "--" {
                in_options = false;
            } else if matches!(arg.as_bytes().get(1), None | Some(b'o')) {
                if let Some(v) = args.get(i + 1) {
                    parens = has_blank(v);
                    value = Some(v);
                }
            }
        } else {
            parens = has_blank(arg);
        }
        out.push(' ');
        if !in_options && parens {
            out.push_str(&format!("{{{arg}}}"));
        } else {
            out.push_str(arg);
        }
        if let Some(v) = value {
            if parens {
                out.push_str(&format!(" {{{v}}}"));
            } else {
                out.push_str(&format!(" {v}"));
            }
            i += 1;
        }
        i += 1;
    }
    out
}

/// `postconf -F`: 8 lines per entry; a value that would pass 80 columns
/// goes on the next line (pcf_print_master_field).
fn f_lines(services: &[Service]) -> Vec<String> {
    let mut out = Vec::new();
    for s in services {
        let fields = [
            ("service", &s.name),
            ("type", &s.kind),
            ("private", &s.private),
            ("unprivileged", &s.unpriv),
            ("chroot", &s.chroot),
            ("wakeup", &s.wakeup),
            ("process_limit", &s.maxproc),
            ("command", &s.command),
        ];
        for (field, value) in fields {
            let mut text = format!("{}/{}/{field} = ", s.name, s.kind);
            if text.len() + value.len() > 80 {
                text.push_str("\n    ");
            }
            text.push_str(value);
            if field == "command" {
                text.push_str(&args_text(&s.args));
            }
            out.extend(text.split('\n').map(str::to_string));
        }
    }
    out
}

/// `postconf -P`: duplicates share one parameter dictionary (last value
/// wins); an entry prints the merged set once its name/type has one.
fn p_lines(services: &[Service]) -> Vec<String> {
    let mut merged: HashMap<(&str, &str), BTreeMap<&str, &str>> = HashMap::new();
    for s in services {
        let dict = merged.entry(s.key()).or_default();
        for (n, v) in &s.overrides {
            dict.insert(n, v);
        }
    }
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut out = Vec::new();
    for s in services {
        if !s.overrides.is_empty() {
            seen.insert(s.key());
        }
        if !seen.contains(&s.key()) {
            continue;
        }
        for (name, value) in &merged[&s.key()] {
            let words: Vec<&str> = value
                .split([' ', '\t', '\r', '\n'])
                .filter(|w| !w.is_empty())
                .collect();
            let line = format!("{}/{}/{} = {}", s.name, s.kind, name, words.join(" "));
            out.push(line.trim_end().to_string());
        }
    }
    out
}

fn our_view(doc: &MasterCf) -> View {
    View {
        m: doc.services().iter().map(Service::canonical).collect(),
        f: f_lines(doc.services()),
        p: p_lines(doc.services()),
    }
}

fn assert_views_agree(what: &str, bytes: &[u8], ours: &View, theirs: &View) {
    assert_eq!(
        ours.m,
        theirs.m,
        "{what}: postconf -M differs on {}",
        show(bytes)
    );
    assert_eq!(
        ours.f,
        theirs.f,
        "{what}: postconf -F differs on {}",
        show(bytes)
    );
    assert_eq!(
        ours.p,
        theirs.p,
        "{what}: postconf -P differs on {}",
        show(bytes)
    );
}

// ---------------------------------------------------------------------------
// Edit batches and what they must do (worked out here, apart from the
// library's own logic)

type Key = (String, ServiceType);

fn key_of(s: &Service) -> Option<Key> {
    Some((s.name.clone(), s.service_type()?))
}

fn gen_args(r: &mut Rng) -> Vec<String> {
    let mut args: Vec<String> = (0..r.below(5)).map(|_| r.pick(ARGS).to_string()).collect();
    if !args.is_empty() && r.chance(20) {
        args.push("-d".into()); // an option-looking argument, not first
    }
    if r.chance(10) {
        args.push("#not-a-comment".into());
    }
    args
}

fn gen_value(r: &mut Rng) -> String {
    r.pick(&[
        "new",
        "",
        "permit_sasl_authenticated, reject",
        "a  b",
        "{a,b}",
        "$mua_client_restrictions",
        "x=y",
        "{a b} c",
    ])
    .to_string()
}

fn gen_field(r: &mut Rng) -> (Field, String) {
    let field = *r.pick(&Field::ALL);
    let value = match field {
        Field::Private | Field::Unpriv | Field::Chroot => r.pick(BOOLS).to_string(),
        Field::Wakeup => r.pick(&["-", "0", "60", "300?"]).to_string(),
        Field::Maxproc => r.pick(&["-", "0", "2", "1000"]).to_string(),
        Field::Command => r.pick(&["smtpd", "smtp", "lmtp", "postscreen"]).to_string(),
    };
    (field, value)
}

fn gen_batch(r: &mut Rng, doc: &MasterCf, allow_add: bool) -> Vec<MasterEdit> {
    let mut live: Vec<Key> = Vec::new();
    for s in doc.services() {
        if let Some(k) = key_of(s) {
            if !live.contains(&k) {
                live.push(k);
            }
        }
    }
    let mut batch = Vec::new();
    for _ in 0..1 + r.below(4) {
        if live.is_empty() || (allow_add && r.chance(15)) {
            let name = r
                .pick(&["submission", "smtps", "628", "new1", "new2"])
                .to_string();
            let kind = *r.pick(&[ServiceType::Inet, ServiceType::Unix]);
            if live.contains(&(name.clone(), kind)) {
                continue;
            }
            if !allow_add {
                break;
            }
            let command = *r.pick(COMMANDS);
            batch.push(MasterEdit::Add(NewService {
                name: name.clone(),
                kind,
                private: r.pick(BOOLS).to_string(),
                unpriv: r.pick(BOOLS).to_string(),
                chroot: r.pick(BOOLS).to_string(),
                wakeup: r.pick(WAKEUPS).to_string(),
                maxproc: r.pick(MAXPROCS).to_string(),
                command: command.to_string(),
                options: (0..r.below(3))
                    .map(|_| (r.pick(OPTION_NAMES).to_string(), gen_value(r)))
                    .collect(),
                args: gen_args(r),
            }));
            live.push((name, kind));
            continue;
        }
        let (name, kind) = r.pick(&live).clone();
        let existing: Vec<String> = doc
            .services()
            .iter()
            .filter(|s| s.name == name)
            .flat_map(|s| s.overrides.iter().map(|(n, _)| n.clone()))
            .collect();
        let option = |r: &mut Rng| -> String {
            if !existing.is_empty() && r.chance(60) {
                r.pick(&existing).clone()
            } else {
                r.pick(OPTION_NAMES).to_string()
            }
        };
        let edit = match r.below(100) {
            0..=9 => {
                live.retain(|k| *k != (name.clone(), kind));
                MasterEdit::Remove { name, kind }
            }
            10..=34 => {
                let (field, value) = gen_field(r);
                MasterEdit::SetField {
                    name,
                    kind,
                    field,
                    value,
                }
            }
            35..=69 => MasterEdit::SetOption {
                name,
                kind,
                option: option(r),
                value: gen_value(r),
            },
            70..=84 => MasterEdit::RemoveOption {
                name,
                kind,
                option: option(r),
            },
            _ => MasterEdit::SetArgs {
                name,
                kind,
                args: gen_args(r),
            },
        };
        batch.push(edit);
    }
    batch
}

/// An entry as fields and normalized arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ent {
    key: (String, String),
    fields: [String; 6],
    args: Vec<String>,
}

impl Ent {
    fn of(s: &Service) -> Ent {
        Ent {
            key: (s.name.clone(), s.kind.clone()),
            fields: [
                s.private.clone(),
                s.unpriv.clone(),
                s.chroot.clone(),
                s.wakeup.clone(),
                s.maxproc.clone(),
                s.command.clone(),
            ],
            args: s.args.clone(),
        }
    }

    fn is(&self, name: &str, kind: ServiceType) -> bool {
        self.key.0 == name && self.key.1 == kind.as_str()
    }

    /// Index of the first argument after the options (postconf's scan:
    /// `-o` and a bare `-` take the next argument).
    fn option_end(&self) -> usize {
        let mut i = 0;
        while let Some(a) = self.args.get(i) {
            if !a.starts_with('-') || a == "--" {
                break;
            }
            if matches!(a.as_bytes().get(1), None | Some(b'o')) && i + 1 < self.args.len() {
                i += 1;
            }
            i += 1;
        }
        i.min(self.args.len())
    }

    /// Positions of `-o` whose value names `option`, in the option section.
    fn option_positions(&self, option: &str) -> Vec<usize> {
        let end = self.option_end();
        let mut found = Vec::new();
        let mut i = 0;
        while i < end {
            let a = &self.args[i];
            if matches!(a.as_bytes().get(1), None | Some(b'o')) && i + 1 < self.args.len() {
                let v = self.args[i + 1].trim_start();
                let name_len = v.find([' ', '\t', '=']).unwrap_or(v.len());
                let names_it =
                    &v[..name_len] == option && v[name_len..].trim_start().starts_with('=');
                if a == "-o" && names_it {
                    found.push(i);
                }
                i += 1;
            }
            i += 1;
        }
        found
    }
}

fn field_slot(field: Field) -> usize {
    Field::ALL.iter().position(|f| *f == field).unwrap()
}

/// The edits that take effect: of several edits of one field, option or
/// argument list of a service, the last (counting from the last `Add` or
/// `Remove` of the service).
fn effective(batch: &[MasterEdit]) -> Vec<&MasterEdit> {
    let mut out = Vec::new();
    for (i, edit) in batch.iter().enumerate() {
        let same = |other: &MasterEdit| -> bool {
            other.target() == edit.target()
                && match (edit, other) {
                    (
                        MasterEdit::SetField { field: a, .. },
                        MasterEdit::SetField { field: b, .. },
                    ) => a == b,
                    (
                        MasterEdit::SetOption { option: a, .. }
                        | MasterEdit::RemoveOption { option: a, .. },
                        MasterEdit::SetOption { option: b, .. }
                        | MasterEdit::RemoveOption { option: b, .. },
                    ) => a == b,
                    (MasterEdit::SetArgs { .. }, MasterEdit::SetArgs { .. }) => true,
                    _ => false,
                }
        };
        let overridden = batch[i + 1..]
            .iter()
            .take_while(|o| {
                !(o.target() == edit.target()
                    && matches!(o, MasterEdit::Add(_) | MasterEdit::Remove { .. }))
            })
            .any(same);
        if !overridden {
            out.push(edit);
        }
    }
    out
}

/// The services after `batch`: old ones in order, then the added ones.
fn intended(before: &[Service], batch: &[MasterEdit]) -> (Vec<Ent>, Vec<Ent>) {
    let mut old: Vec<Ent> = before.iter().map(Ent::of).collect();
    let mut added: Vec<Ent> = Vec::new();
    for edit in effective(batch) {
        let (name, kind) = edit.target();
        let all = old
            .iter_mut()
            .chain(added.iter_mut())
            .filter(|e| e.is(name, kind));
        match edit {
            MasterEdit::Add(s) => {
                let mut args = Vec::new();
                for (n, v) in &s.options {
                    args.push("-o".to_string());
                    args.push(format!("{n}={v}"));
                }
                args.extend(s.args.iter().cloned());
                added.push(Ent {
                    key: (s.name.clone(), s.kind.to_string()),
                    fields: [
                        s.private.clone(),
                        s.unpriv.clone(),
                        s.chroot.clone(),
                        s.wakeup.clone(),
                        s.maxproc.clone(),
                        s.command.clone(),
                    ],
                    args,
                });
            }
            MasterEdit::Remove { .. } => {
                old.retain(|e| !e.is(name, kind));
                added.retain(|e| !e.is(name, kind));
            }
            MasterEdit::SetField { field, value, .. } => {
                for e in all {
                    e.fields[field_slot(*field)] = value.clone();
                }
            }
            MasterEdit::SetOption { option, value, .. } => {
                for e in all {
                    let found = e.option_positions(option);
                    if found.is_empty() {
                        let k = e.option_end();
                        e.args
                            .splice(k..k, ["-o".to_string(), format!("{option}={value}")]);
                    }
                    for i in found {
                        e.args[i + 1] = format!("{option}={value}");
                    }
                }
            }
            MasterEdit::RemoveOption { option, .. } => {
                for e in all {
                    for i in e.option_positions(option).into_iter().rev() {
                        e.args.drain(i..i + 2);
                    }
                }
            }
            MasterEdit::SetArgs { args, .. } => {
                for e in all {
                    let k = e.option_end();
                    e.args.truncate(k);
                    e.args.extend(args.iter().cloned());
                }
            }
        }
    }
    (old, added)
}

/// Physical lines with their line endings.
fn phys_lines(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|&c| c == b'\n').collect()
}

fn check_batch(
    label: &str,
    original: &[u8],
    before: &MasterCf,
    theirs_before: &View,
    batch: &[MasterEdit],
) -> bool {
    let mut doc = before.clone();
    let origin = match doc.apply_edits(batch) {
        Ok(origin) => origin,
        Err(e) if matches!(e.error, MasterEditError::MisreadOption { .. }) => {
            // Refused: the option exists only in postconf's misreading of
            // a glued `-o...o...` token. Make sure there is one.
            let (name, kind) = batch[e.index].target();
            let lines = phys_lines(original);
            let glued = before
                .services()
                .iter()
                .filter(|s| s.name == name && s.kind == kind.as_str())
                .flat_map(|s| lines[s.line - 1..s.end_line].to_vec())
                .flat_map(|l| l.split(|b| b" \t\r\n".contains(b)))
                .any(|t| t.len() > 2 && t[0] == b'-' && t[2..].contains(&b'o'));
            assert!(
                glued,
                "{label}: {e} without a glued token: {}",
                show(original)
            );
            assert_eq!(&doc, before, "{label}: refused batch changed the document");
            return false;
        }
        Err(e) => panic!("{label}: {e}\nbatch {batch:#?}\non {}", show(original)),
    };
    let after = doc.to_bytes();
    let ctx = || {
        format!(
            "{label}: batch {batch:#?}\n{}\n->\n{}",
            show(original),
            show(&after)
        )
    };

    // postconf reads the result as we do.
    let theirs = postconf_view(&after);
    let fresh = MasterCf::parse(&after).unwrap_or_else(|e| panic!("{}: {e}", ctx()));
    assert_eq!(doc, fresh, "{}: document differs from a fresh parse", ctx());
    assert_views_agree(label, &after, &our_view(&doc), &theirs);

    // Exactly the intended services.
    let (old, added) = intended(before.services(), batch);
    let added_keys: BTreeSet<(String, String)> = added.iter().map(|e| e.key.clone()).collect();
    let got: Vec<Ent> = doc.services().iter().map(Ent::of).collect();
    let (mut got_added, got_old): (Vec<Ent>, Vec<Ent>) =
        got.into_iter().partition(|e| added_keys.contains(&e.key));
    assert_eq!(got_old, old, "{}", ctx());
    let mut want_added = added;
    want_added.sort_by(|a, b| a.key.cmp(&b.key));
    got_added.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(got_added, want_added, "{}", ctx());

    // postconf's own lines for services the batch does not name are
    // unchanged (the services are compared through -F and -P directly).
    let named: BTreeSet<String> = batch
        .iter()
        .map(|e| {
            let (n, k) = e.target();
            format!("{n}/{k}/")
        })
        .collect();
    let untouched = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !named.iter().any(|p| l.starts_with(p.as_str())) && !l.starts_with("    "))
            .cloned()
            .collect()
    };
    assert_eq!(
        untouched(&theirs.f),
        untouched(&theirs_before.f),
        "{}: -F",
        ctx()
    );
    assert_eq!(
        untouched(&theirs.p),
        untouched(&theirs_before.p),
        "{}: -P",
        ctx()
    );

    // Kept lines are byte-identical and in order; only lines of named
    // entries (and an unterminated last line that gained its LF) are gone.
    let old_lines = phys_lines(original);
    let new_lines = phys_lines(&after);
    assert_eq!(origin.len(), new_lines.len(), "{}", ctx());
    let mut kept = BTreeSet::new();
    let mut previous: Option<u32> = None;
    for (j, &o) in origin.iter().enumerate() {
        if o == NEW_LINE {
            continue;
        }
        assert!(
            previous.is_none_or(|p| p < o),
            "{}: origin not increasing",
            ctx()
        );
        previous = Some(o);
        assert_eq!(
            show(new_lines[j]),
            show(old_lines[o as usize]),
            "{}: line {j}",
            ctx()
        );
        kept.insert(o as usize);
    }
    let named_lines: BTreeSet<usize> = before
        .services()
        .iter()
        .filter(|s| {
            batch.iter().any(|e| {
                let (n, k) = e.target();
                s.name == n && s.kind == k.as_str()
            })
        })
        .flat_map(|s| s.line - 1..s.end_line)
        .collect();
    let last_unterminated = original.last().is_some_and(|&b| b != b'\n');
    for i in 0..old_lines.len() {
        let trivia = {
            let t = old_lines[i];
            let first = t
                .iter()
                .position(|&b| !postform::postfix::space::is_space(b));
            first.is_none_or(|p| t[p] == b'#')
        };
        let may_go = (named_lines.contains(&i) && !trivia)
            || (last_unterminated && i + 1 == old_lines.len());
        assert!(kept.contains(&i) || may_go, "{}: old line {i} lost", ctx());
    }

    // Applying the batch again changes nothing (when it can apply again:
    // no Add, which refuses an existing service, and no edit of a service
    // the batch also removes, which refuses a missing one).
    let removed: BTreeSet<(&str, ServiceType)> = batch
        .iter()
        .filter(|e| matches!(e, MasterEdit::Remove { .. }))
        .map(MasterEdit::target)
        .collect();
    let repeatable = batch.iter().all(|e| match e {
        MasterEdit::Add(_) => false,
        MasterEdit::Remove { .. } => true,
        other => !removed.contains(&other.target()),
    });
    if repeatable {
        let mut again = doc.clone();
        let origin = again
            .apply_edits(batch)
            .unwrap_or_else(|e| panic!("{}: second application: {e}", ctx()));
        assert_eq!(
            show(again.as_bytes()),
            show(&after),
            "{}: not idempotent",
            ctx()
        );
        assert!(
            origin.iter().enumerate().all(|(i, &o)| o as usize == i),
            "{}",
            ctx()
        );
    }
    true
}

// ---------------------------------------------------------------------------
// The tests

#[test]
fn fixtures_parse_like_postconf_m_f_p() {
    if support::postconf().is_none() {
        return;
    }
    for (name, bytes) in fixtures() {
        let doc = MasterCf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.as_bytes(), &bytes[..]);
        assert_views_agree(&name, &bytes, &our_view(&doc), &postconf_view(&bytes));
    }
}

#[test]
fn generated_files_parse_like_postconf_m_f_p() {
    if support::postconf().is_none() {
        return;
    }
    let mut r = Rng(seed());
    for i in 0..cases() {
        let bytes = gen_master_cf(&mut r);
        let doc = MasterCf::parse(&bytes)
            .unwrap_or_else(|e| panic!("case {i} (seed {}): {e}: {}", seed(), show(&bytes)));
        assert_eq!(doc.as_bytes(), &bytes[..]);
        let label = format!("case {i} (seed {})", seed());
        assert_views_agree(&label, &bytes, &our_view(&doc), &postconf_view(&bytes));
    }
}

#[test]
fn edit_batches_on_fixtures_do_exactly_what_they_say() {
    if support::postconf().is_none() {
        return;
    }
    let mut r = Rng(seed() ^ 0xf1c5);
    let (mut batches, mut refused) = (0, 0);
    for (name, bytes) in fixtures() {
        let doc = MasterCf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = postconf_view(&bytes);
        for b in 0..4 {
            let batch = gen_batch(&mut r, &doc, b % 2 == 0);
            let label = format!("fixture {name}, batch {b} (seed {})", seed());
            if check_batch(&label, &bytes, &doc, &theirs, &batch) {
                batches += 1;
            } else {
                refused += 1;
            }
        }
    }
    eprintln!(
        "mastercf differential: {batches} edit batches on fixtures agree with postconf ({refused} refused: glued -o tokens)"
    );
    assert!(batches > 100, "{batches}");
}

#[test]
fn edit_batches_on_generated_files_do_exactly_what_they_say() {
    if support::postconf().is_none() {
        return;
    }
    let mut r = Rng(seed() ^ 0xed17);
    let (mut batches, mut refused) = (0, 0);
    for i in 0..cases() {
        let bytes = gen_master_cf(&mut r);
        let Ok(doc) = MasterCf::parse(&bytes) else {
            panic!("case {i}: generated file does not parse: {}", show(&bytes));
        };
        let theirs = postconf_view(&bytes);
        for b in 0..2 {
            let batch = gen_batch(&mut r, &doc, b == 0);
            if batch.is_empty() {
                continue;
            }
            let label = format!("case {i}, batch {b} (seed {})", seed());
            if check_batch(&label, &bytes, &doc, &theirs, &batch) {
                batches += 1;
            } else {
                refused += 1;
            }
        }
    }
    eprintln!(
        "mastercf differential: {batches} edit batches on generated files agree with postconf ({refused} refused: glued -o tokens)"
    );
    assert!(batches >= cases(), "{batches}");
}

/// Edits that postconf itself can make give the same services as
/// postconf's own edit (postconf -Pe/-PX/-Fe/-MX on a copy).
#[test]
fn same_result_as_postconf_own_edits() {
    if support::postconf().is_none() {
        return;
    }
    let debian = fixtures()
        .into_iter()
        .find(|(n, _)| n == "debian")
        .map(|(_, b)| b)
        .unwrap();
    let cases: Vec<(Vec<&str>, Vec<MasterEdit>)> = vec![
        (
            vec!["-Pe", "smtp/inet/smtpd_upstream_proxy_protocol=haproxy"],
            vec![MasterEdit::SetOption {
                name: "smtp".into(),
                kind: ServiceType::Inet,
                option: "smtpd_upstream_proxy_protocol".into(),
                value: "haproxy".into(),
            }],
        ),
        (
            vec![
                "-Pe",
                "maildrop/unix/maildrop_destination_recipient_limit=1",
            ],
            vec![MasterEdit::SetOption {
                name: "maildrop".into(),
                kind: ServiceType::Unix,
                option: "maildrop_destination_recipient_limit".into(),
                value: "1".into(),
            }],
        ),
        (
            vec!["-PX", "relay/unix/syslog_name"],
            vec![MasterEdit::RemoveOption {
                name: "relay".into(),
                kind: ServiceType::Unix,
                option: "syslog_name".into(),
            }],
        ),
        (
            vec!["-Fe", "pickup/unix/wakeup=30"],
            vec![MasterEdit::SetField {
                name: "pickup".into(),
                kind: ServiceType::Unix,
                field: Field::Wakeup,
                value: "30".into(),
            }],
        ),
        (
            vec![
                "-Fe",
                "maildrop/unix/command=pipe flags=R user=mail argv=/bin/cat {a b}",
            ],
            vec![MasterEdit::SetArgs {
                name: "maildrop".into(),
                kind: ServiceType::Unix,
                args: ["flags=R", "user=mail", "argv=/bin/cat", "a b"]
                    .map(String::from)
                    .to_vec(),
            }],
        ),
        (
            vec!["-MX", "relay/unix"],
            vec![MasterEdit::Remove {
                name: "relay".into(),
                kind: ServiceType::Unix,
            }],
        ),
    ];
    for (args, edits) in cases {
        let dir = support::scratch_config_dir(b"", Some(&debian));
        let out = support::run_postconf(dir.path(), &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            support::describe(&out)
        );
        let theirs = fs::read(dir.path().join("master.cf")).unwrap();
        let mut doc = MasterCf::parse(&debian).unwrap();
        doc.apply_edits(&edits).unwrap();
        assert_eq!(
            postconf_view(doc.as_bytes()),
            postconf_view(&theirs),
            "{args:?}"
        );
        // And we moved no comment: every comment line keeps its neighbours
        // (postconf's -Pe/-Fe hoist them above the entry).
        let comments = |b: &[u8]| -> Vec<Vec<u8>> {
            phys_lines(b)
                .into_iter()
                .filter(|l| l.starts_with(b"#"))
                .map(<[u8]>::to_vec)
                .collect()
        };
        assert_eq!(comments(doc.as_bytes()), comments(&debian), "{args:?}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn edits_strategy() -> impl Strategy<Value = Vec<(u8, u8, String, String)>> {
        proptest::collection::vec(
            (
                any::<u8>(),
                any::<u8>(),
                "[ -~\t\r\n{}#=\x0b]{0,12}",
                "[ -~\t\r\n{}#=]{0,12}",
            ),
            0..6,
        )
    }

    fn edit_of(doc: &MasterCf, (op, which, a, b): &(u8, u8, String, String)) -> MasterEdit {
        let names: Vec<&Service> = doc.services().iter().collect();
        let (name, kind) = if names.is_empty() || *which % 5 == 0 {
            (a.clone(), ServiceType::Unix)
        } else {
            let s = names[*which as usize % names.len()];
            (
                s.name.clone(),
                s.service_type().unwrap_or(ServiceType::Unix),
            )
        };
        match op % 6 {
            0 => MasterEdit::Add(NewService {
                // Often a valid name, so duplicate Adds happen too.
                name: match which % 4 {
                    0 => "x".to_string(),
                    1 => "smtp".to_string(),
                    _ => a.clone(),
                },
                kind,
                private: "n".into(),
                unpriv: b.clone(),
                chroot: "-".into(),
                wakeup: "-".into(),
                maxproc: "-".into(),
                command: "smtpd".into(),
                options: vec![(b.clone(), a.clone())],
                args: vec![a.clone(), b.clone()],
            }),
            1 => MasterEdit::Remove { name, kind },
            2 => MasterEdit::SetField {
                name,
                kind,
                field: Field::ALL[*which as usize % 6],
                value: b.clone(),
            },
            3 => MasterEdit::SetOption {
                name,
                kind,
                option: a.clone(),
                value: b.clone(),
            },
            4 => MasterEdit::RemoveOption {
                name,
                kind,
                option: a.clone(),
            },
            _ => MasterEdit::SetArgs {
                name,
                kind,
                args: vec![b.clone(), a.clone()],
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Arbitrary bytes and arbitrary edits never panic; an accepted
        /// batch leaves a document that equals a fresh parse of its bytes,
        /// and a refused one leaves the document as it was.
        #[test]
        fn arbitrary_bytes_and_edits_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            edits in edits_strategy(),
        ) {
            if let Ok(doc) = MasterCf::parse(&bytes) {
                let batch: Vec<MasterEdit> = edits.iter().map(|e| edit_of(&doc, e)).collect();
                let mut edited = doc.clone();
                match edited.apply_edits(&batch) {
                    Ok(origin) => {
                        let fresh = MasterCf::parse(edited.as_bytes()).expect("result parses");
                        prop_assert_eq!(&edited, &fresh);
                        prop_assert_eq!(origin.len(), edited.line_count());
                    }
                    Err(_) => prop_assert_eq!(&edited, &doc),
                }
            }
        }

        /// The same on master.cf-like text, where most edits apply.
        #[test]
        fn master_like_text_and_edits(
            seed in any::<u64>(),
            edits in edits_strategy(),
        ) {
            let mut r = Rng(seed | 1);
            let bytes = gen_master_cf(&mut r);
            let doc = MasterCf::parse(&bytes).expect("generated files parse");
            let batch: Vec<MasterEdit> = edits.iter().map(|e| edit_of(&doc, e)).collect();
            let mut edited = doc.clone();
            match edited.apply_edits(&batch) {
                Ok(_) => {
                    let fresh = MasterCf::parse(edited.as_bytes()).expect("result parses");
                    prop_assert_eq!(&edited, &fresh);
                }
                Err(e) => {
                    prop_assert!(!matches!(e.error, MasterEditError::Internal { .. }), "{}", e);
                    prop_assert_eq!(&edited, &doc);
                }
            }
        }
    }
}

/// On every real file: a field edit changes exactly one line, and a new
/// option in an entry without non-option arguments is exactly one new
/// line; nothing else moves.
#[test]
fn edits_of_real_files_are_minimal() {
    let (mut fields, mut options) = (0, 0);
    for (name, bytes) in fixtures() {
        let doc = MasterCf::parse(&bytes).unwrap();
        let n = doc.line_count();
        for s in doc.services() {
            let Some(kind) = s.service_type() else {
                continue;
            };
            let mut edited = doc.clone();
            let flipped = if s.chroot == "y" { "n" } else { "y" };
            let origin = edited
                .apply_edits(&[MasterEdit::SetField {
                    name: s.name.clone(),
                    kind,
                    field: Field::Chroot,
                    value: flipped.into(),
                }])
                .unwrap();
            let changed: Vec<usize> = (0..n).filter(|&i| origin[i] != i as u32).collect();
            // Duplicates are all edited: one line each.
            let copies = doc.services_named(&s.name, kind).count();
            assert_eq!(origin.len(), n, "{name}: {s:?}");
            assert_eq!(changed.len(), copies, "{name}: {s:?}: {changed:?}");
            fields += 1;

            if !s.non_option_args().is_empty() {
                continue;
            }
            let mut edited = doc.clone();
            let origin = edited
                .apply_edits(&[MasterEdit::SetOption {
                    name: s.name.clone(),
                    kind,
                    option: "postform_test_option".into(),
                    value: "x y".into(),
                }])
                .unwrap();
            let new: Vec<usize> = (0..origin.len())
                .filter(|&i| origin[i] == NEW_LINE)
                .collect();
            assert_eq!(origin.len(), n + copies, "{name}: {s:?}");
            assert_eq!(new.len(), copies, "{name}: {s:?}");
            let kept: Vec<u32> = origin.iter().copied().filter(|&o| o != NEW_LINE).collect();
            assert_eq!(kept, (0..n as u32).collect::<Vec<_>>(), "{name}: {s:?}");
            let line = String::from_utf8_lossy(edited.as_bytes())
                .lines()
                .nth(new[0])
                .unwrap()
                .to_string();
            assert!(
                line.trim_end_matches('\r')
                    .ends_with("-o { postform_test_option = x y }"),
                "{name}: {line:?}"
            );
            options += 1;
        }
    }
    eprintln!("minimal edits: {fields} field edits, {options} new options on real files");
    assert!(fields > 700 && options > 500, "{fields} {options}");
}
