//! Editing master.cf while keeping every byte nobody asked to change.
//!
//! An entry is edited as the list of its data lines ("slots"); comment and
//! blank lines inside it are not slots, so they stay where they are. Each
//! edit first works out what the entry must mean afterwards (its 8 fields
//! and normalized arguments, as postconf reads them), then tries the
//! smallest change of text that means exactly that:
//!
//! * a field: replace that token on its line, taking the length difference
//!   out of (or into) the spaces after it so the next column stays put;
//! * an option value: replace the value token (`name=value`, or
//!   `{ name = value }` when the value has whitespace), every occurrence;
//! * a new option: one new line `<indent>-o name=value` after the line
//!   holding the last option (or the command), unless a non-option argument
//!   starts on that line; the indent is the entry's continuation indent
//!   (4 spaces when it has none);
//! * a removed option: its two tokens go, and a line left empty goes too;
//! * new non-option arguments: when the old ones start a line of their own
//!   (a pipe's `  flags=... argv=...`), those lines are replaced.
//!
//! When the small change is impossible (a one-line entry with arguments
//! after its options, glued `-oname=value` tokens, a token spanning lines),
//! or does not read back as intended, the entry is re-rendered in
//! postconf's folded layout (`postconf -Mf`) at the place of its first
//! line; every argument group no edit touched keeps its original text, so
//! the daemon sees what it saw before.
//!
//! New services go after a commented example of the same service and its
//! commented continuation lines, when the next data line there starts a
//! new entry (else the new entry would capture another entry's orphan
//! `-o` lines, master.cf research §7), or at the end, after a missing final
//! newline is added (postconf 3.7.11 glues the new entry onto the last
//! line). New lines use the file's line ending.
//!
//! Within a batch, a field, option or argument list of a service edited
//! more than once takes its last edit (as main.cf names do), and an entry
//! whose net change is nothing keeps its lines, so a batch applied twice
//! changes nothing the second time. The returned line-origin map traces
//! kept and edited-back lines, and matches rewritten lines with identical
//! old ones (a small LCS per gap).
//!
//! Finally the whole document is parsed again and every service compared
//! with what the edits asked for; any difference is an error and nothing
//! changes.

use super::parse::{
    self, analyze, classify, expects_value, option_end, split_nameval, valid_bool, valid_maxproc,
    valid_wakeup, Analysis, LineKind, NArg,
};
use super::render::{self, Piece, PieceKind};
use super::{Flag, MasterCf, MaxProc, ServiceType, Wakeup, NEW_LINE};
use crate::postfix::list::tokens_q;
use crate::postfix::space::is_space;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One edit of master.cf. Every edit names its entries by `(name, type)`
/// exactly as `postconf -M` does (the literal name: `smtp` and `25` are
/// different entries), and applies to every duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterEdit {
    /// Add a new service (an error if one with this name/type exists).
    Add(NewService),
    /// Remove every entry with this name/type, with all its continuation
    /// lines (comment lines inside it stay). Nothing to remove is no error.
    Remove { name: String, kind: ServiceType },
    /// Set one of the fields 3-8 to the text to write (`y`, `n`, `-`,
    /// `60`, `60?`, `100`, a command name).
    SetField {
        name: String,
        kind: ServiceType,
        field: Field,
        value: String,
    },
    /// Set a `-o name=value` option: every occurrence of that name in the
    /// option section; a new one goes after the last option, before the
    /// first non-option argument.
    SetOption {
        name: String,
        kind: ServiceType,
        option: String,
        value: String,
    },
    /// Remove every `-o option=...` of that name from the option section.
    RemoveOption {
        name: String,
        kind: ServiceType,
        option: String,
    },
    /// Replace the arguments after the options (e.g. a pipe's
    /// `flags=R user=vmail argv=/usr/bin/x ${recipient}`), keeping the
    /// options. The first must not start with `-` (Postfix would read it
    /// as an option) unless it is `--`.
    SetArgs {
        name: String,
        kind: ServiceType,
        args: Vec<String>,
    },
}

impl MasterEdit {
    /// The `(name, type)` the edit is about.
    pub fn target(&self) -> (&str, ServiceType) {
        match self {
            MasterEdit::Add(s) => (&s.name, s.kind),
            MasterEdit::Remove { name, kind }
            | MasterEdit::SetField { name, kind, .. }
            | MasterEdit::SetOption { name, kind, .. }
            | MasterEdit::RemoveOption { name, kind, .. }
            | MasterEdit::SetArgs { name, kind, .. } => (name, *kind),
        }
    }
}

/// The fields an edit can set (1 and 2, name and type, identify the entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Field 3, `y`, `n` or `-`.
    Private,
    /// Field 4, `y`, `n` or `-`.
    Unpriv,
    /// Field 5, `y`, `n` or `-`.
    Chroot,
    /// Field 6: seconds, optionally followed by `?`, or `-`.
    Wakeup,
    /// Field 7: a number or `-`.
    Maxproc,
    /// Field 8: the daemon program.
    Command,
}

impl Field {
    /// Every field, in file order.
    pub const ALL: [Field; 6] = [
        Field::Private,
        Field::Unpriv,
        Field::Chroot,
        Field::Wakeup,
        Field::Maxproc,
        Field::Command,
    ];

    /// Position in the entry (0-based: the name is 0, the command 7).
    pub fn index(self) -> usize {
        match self {
            Field::Private => 2,
            Field::Unpriv => 3,
            Field::Chroot => 4,
            Field::Wakeup => 5,
            Field::Maxproc => 6,
            Field::Command => 7,
        }
    }

    /// The name `postconf -F` uses (`unprivileged`, `process_limit`, ...).
    pub fn postconf_name(self) -> &'static str {
        match self {
            Field::Private => "private",
            Field::Unpriv => "unprivileged",
            Field::Chroot => "chroot",
            Field::Wakeup => "wakeup",
            Field::Maxproc => "process_limit",
            Field::Command => "command",
        }
    }

    /// Check a value for this field: what both postconf and master(8)
    /// accept (the typed fields of [`super::fields`]: no `?` or `-?`
    /// wakeup, numbers that fit a C int; a command that is one word and
    /// not `-`).
    pub fn check(self, value: &str) -> Result<(), MasterEditError> {
        let problem = match self {
            Field::Private | Field::Unpriv | Field::Chroot => {
                value.parse::<Flag>().err().map(|e| e.expected)
            }
            Field::Wakeup => value.parse::<Wakeup>().err().map(|e| e.expected),
            Field::Maxproc => value.parse::<MaxProc>().err().map(|e| e.expected),
            Field::Command => {
                let v = value.as_bytes();
                let ok = !v.is_empty()
                    && v != b"-"
                    && v[0] != b'#'
                    && v.iter()
                        .all(|&b| !is_space(b) && !b.is_ascii_control() && b != b'{' && b != b'}');
                (!ok).then_some(
                    "a program name without whitespace, braces or a leading # (arguments go in args)",
                )
            }
        };
        match problem {
            None => Ok(()),
            Some(expected) => Err(MasterEditError::BadField {
                field: self,
                value: value.to_string(),
                expected,
            }),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.postconf_name())
    }
}

/// A service to add. Fields are the text to write (`-` for the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub name: String,
    pub kind: ServiceType,
    pub private: String,
    pub unpriv: String,
    pub chroot: String,
    pub wakeup: String,
    pub maxproc: String,
    pub command: String,
    /// The `-o name=value` options, in order.
    pub options: Vec<(String, String)>,
    /// The arguments after the options.
    pub args: Vec<String>,
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterEditError {
    #[error(
        "no service {name}/{kind} in master.cf (postconf -M lists the services; add it first)"
    )]
    NoSuchService { name: String, kind: ServiceType },
    #[error("service {name}/{kind} already exists ({}); edit its fields and options instead of adding it", match line { Some(l) => format!("line {l}"), None => "added by an earlier edit of this batch".to_string() })]
    AlreadyExists {
        name: String,
        kind: ServiceType,
        /// Its first line (1-based), `None` when an earlier edit of the
        /// batch added it.
        line: Option<usize>,
    },
    #[error("invalid service name {name:?}: {problem}")]
    BadServiceName { name: String, problem: &'static str },
    #[error("invalid {field} field {value:?}: expected {expected}")]
    BadField {
        field: Field,
        value: String,
        expected: &'static str,
    },
    #[error("invalid option name {option:?}: {problem}")]
    BadOptionName {
        option: String,
        problem: &'static str,
    },
    #[error("invalid value for option {option}: {value:?} {problem}")]
    BadOptionValue {
        option: String,
        value: String,
        problem: &'static str,
    },
    #[error("invalid argument {arg:?}: {problem}")]
    BadArgument { arg: String, problem: &'static str },
    #[error("option {option} of {name}/{kind} exists only in postconf's reading of the glued token {token:?} (postconf splits `-o...` at every 'o', the daemon does not); rewrite that token as `-o name=value` first")]
    MisreadOption {
        name: String,
        kind: ServiceType,
        option: String,
        token: String,
    },
    #[error("internal error: the edited entry {name}/{kind} would not read back as intended ({detail}); nothing was changed")]
    Internal {
        name: String,
        kind: ServiceType,
        detail: String,
    },
}

/// A batch of edits was refused: the index of the edit and why. Nothing
/// was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("master.cf edit {index}: {error}")]
pub struct MasterBatchError {
    pub index: usize,
    pub error: MasterEditError,
}

impl MasterCf {
    /// Apply every edit in one pass, in order (a later edit sees what the
    /// earlier ones did: `Remove` then `Add` of one service replaces it,
    /// `Add` then `SetOption` edits the new service). A field, an option or
    /// the argument list of a service edited more than once takes its last
    /// edit (unless the service is removed or added in between), so a
    /// batch applied twice changes nothing the second time. All or nothing:
    /// on error the document is unchanged and the error names the edit.
    ///
    /// Returns, for each physical line of the result, the index (0-based)
    /// of the line of the old document it is unchanged from, or
    /// [`NEW_LINE`] for a line the edits wrote or changed (a last line that
    /// gained its line ending included). Kept lines keep their order.
    pub fn apply_edits(&mut self, edits: &[MasterEdit]) -> Result<Vec<u32>, MasterBatchError> {
        let mut batch = Batch::new(self);
        let superseded = superseded(edits);
        for (index, edit) in edits.iter().enumerate() {
            batch
                .apply(edit, superseded[index])
                .map_err(|error| MasterBatchError { index, error })?;
        }
        let (bytes, origin, expected) = batch.assemble();
        // Blame the last edit naming the service that came out wrong (the
        // last edit when no service can be named).
        let internal = |service: Option<&Semantic>, detail: String| {
            let key = service.and_then(|s| {
                let name = String::from_utf8_lossy(s.fields.first()?).into_owned();
                let kind: ServiceType = std::str::from_utf8(s.fields.get(1)?).ok()?.parse().ok()?;
                Some((name, kind))
            });
            let index = key
                .as_ref()
                .and_then(|(name, kind)| {
                    edits
                        .iter()
                        .rposition(|e| e.target() == (name.as_str(), *kind))
                })
                .unwrap_or(edits.len().saturating_sub(1));
            let (name, kind) = key.unwrap_or_else(|| {
                let (name, kind) = edits
                    .get(index)
                    .map_or(("", ServiceType::Unix), MasterEdit::target);
                (name.to_string(), kind)
            });
            MasterBatchError {
                index,
                error: MasterEditError::Internal { name, kind, detail },
            }
        };
        let lines = parse::split_lines(&bytes);
        let parsed = parse::parse(&bytes, &lines);
        if let Some(e) = parsed.errors.first() {
            return Err(internal(None, format!("the result does not parse: {e}")));
        }
        let got: Vec<Semantic> = parsed
            .data_lines
            .iter()
            .map(|dl| {
                let texts: Vec<&[u8]> = dl
                    .iter()
                    .map(|&i| &bytes[lines[i].start..lines[i].end])
                    .collect();
                analyze_slots(&texts).map(|a| a.semantic())
            })
            .collect::<Option<_>>()
            .ok_or_else(|| internal(None, "an entry of the result does not parse".to_string()))?;
        if got != expected {
            let at = got
                .iter()
                .zip(&expected)
                .position(|(g, e)| g != e)
                .unwrap_or(got.len().min(expected.len()));
            return Err(internal(
                expected.get(at).or(got.get(at)),
                format!(
                    "service {} of the result differs from what was asked",
                    at + 1
                ),
            ));
        }
        self.bytes = bytes;
        self.lines = lines;
        self.services = parsed.services;
        self.data_lines = parsed.data_lines;
        self.warnings = parsed.warnings;
        Ok(origin)
    }
}

/// Which edits a later edit of the same field, option or argument list of
/// the same service overrides (with no `Remove` or `Add` of that service
/// in between).
fn superseded(edits: &[MasterEdit]) -> Vec<bool> {
    #[derive(PartialEq, Eq, Hash)]
    enum What<'a> {
        Field(Field),
        Option(&'a str),
        Args,
    }
    let mut later: HashMap<(&str, ServiceType), HashSet<What<'_>>> = HashMap::new();
    let mut out = vec![false; edits.len()];
    for (i, edit) in edits.iter().enumerate().rev() {
        let what = match edit {
            MasterEdit::Add(_) | MasterEdit::Remove { .. } => {
                later.remove(&edit.target());
                continue;
            }
            MasterEdit::SetField { field, .. } => What::Field(*field),
            MasterEdit::SetOption { option, .. } | MasterEdit::RemoveOption { option, .. } => {
                What::Option(option)
            }
            MasterEdit::SetArgs { .. } => What::Args,
        };
        out[i] = !later.entry(edit.target()).or_default().insert(what);
    }
    out
}

/// What an entry means to postconf: its 8 fields and normalized arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Semantic {
    fields: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl Analysis {
    fn semantic(&self) -> Semantic {
        Semantic {
            fields: self.fields.clone(),
            args: self.args.iter().map(|a| a.text.clone()).collect(),
        }
    }
}

/// One data line of an entry being edited.
#[derive(Debug, Clone)]
struct Slot {
    /// The old line at whose place this line is written.
    anchor: usize,
    text: Vec<u8>,
    /// `Some(i)` while the line is old line `i`, unchanged.
    origin: Option<usize>,
    /// `Some(i)` while the line is old line `i`, possibly with tokens
    /// replaced (it keeps that line's missing final newline).
    in_place: Option<usize>,
}

/// Where a new service goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Before this old line.
    Before(usize),
    /// At the end of the file.
    End,
}

#[derive(Debug, Clone)]
struct Work {
    name: Vec<u8>,
    kind: Vec<u8>,
    /// The entry's lines; `None` while untouched.
    slots: Option<Vec<Slot>>,
    removed: bool,
    /// `None` for entries of the old document.
    placement: Option<Placement>,
    /// The old entry's first line (0-based; `None` for a new entry).
    first_line: Option<usize>,
}

struct Batch<'a> {
    doc: &'a MasterCf,
    crlf: bool,
    entries: Vec<Work>,
    /// Commented examples found so far, by `(name, type)`.
    examples: HashMap<(String, ServiceType), Placement>,
}

impl<'a> Batch<'a> {
    fn new(doc: &'a MasterCf) -> Self {
        let entries = doc
            .services
            .iter()
            .zip(&doc.data_lines)
            .map(|(_, dl)| {
                let first = doc.line_text(dl[0]);
                let mut tokens = tokens_q(first, parse::is_master_blank).map(|(_, t)| t.to_vec());
                Work {
                    name: tokens.next().unwrap_or_default(),
                    kind: tokens.next().unwrap_or_default(),
                    slots: None,
                    removed: false,
                    placement: None,
                    first_line: Some(dl[0]),
                }
            })
            .collect();
        Batch {
            doc,
            crlf: doc.uses_crlf(),
            entries,
            examples: HashMap::new(),
        }
    }

    /// Indices of the live entries named `name/kind`.
    fn targets(&self, name: &str, kind: ServiceType) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                !w.removed && w.name == name.as_bytes() && w.kind == kind.as_str().as_bytes()
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Apply one edit; a `superseded` one is only checked.
    fn apply(&mut self, edit: &MasterEdit, superseded: bool) -> Result<(), MasterEditError> {
        let (name, kind) = edit.target();
        let op = match edit {
            MasterEdit::Add(new) => return self.add(new),
            MasterEdit::Remove { .. } => {
                for i in self.targets(name, kind) {
                    self.entries[i].removed = true;
                }
                return Ok(());
            }
            MasterEdit::SetField { field, value, .. } => {
                field.check(value)?;
                Op::SetField(*field, value.as_bytes().to_vec())
            }
            MasterEdit::SetOption { option, value, .. } => {
                check_option_name(option)?;
                check_option_value(option, value)?;
                Op::SetOption(option.as_bytes().to_vec(), value.as_bytes().to_vec())
            }
            MasterEdit::RemoveOption { option, .. } => {
                check_option_name(option)?;
                Op::RemoveOption(option.as_bytes().to_vec())
            }
            MasterEdit::SetArgs { args, .. } => {
                check_args(args)?;
                Op::SetArgs(args.iter().map(|a| a.as_bytes().to_vec()).collect())
            }
        };
        if superseded {
            return Ok(());
        }
        let targets = self.targets(name, kind);
        if targets.is_empty() {
            return Err(MasterEditError::NoSuchService {
                name: name.to_string(),
                kind,
            });
        }
        for i in targets {
            let slots = match self.entries[i].slots.take() {
                Some(slots) => slots,
                None => self.doc.data_lines[i]
                    .iter()
                    .map(|&l| Slot {
                        anchor: l,
                        text: self.doc.line_text(l).to_vec(),
                        origin: Some(l),
                        in_place: Some(l),
                    })
                    .collect(),
            };
            let edited = edit_entry(slots, &op, self.crlf).map_err(|failure| match failure {
                Failure::Internal(detail) => MasterEditError::Internal {
                    name: name.to_string(),
                    kind,
                    detail,
                },
                Failure::Misread { option, token } => MasterEditError::MisreadOption {
                    name: name.to_string(),
                    kind,
                    option,
                    token,
                },
            })?;
            self.entries[i].slots = Some(edited);
        }
        Ok(())
    }

    fn add(&mut self, new: &NewService) -> Result<(), MasterEditError> {
        check_service_name(&new.name)?;
        for (field, value) in [
            (Field::Private, &new.private),
            (Field::Unpriv, &new.unpriv),
            (Field::Chroot, &new.chroot),
            (Field::Wakeup, &new.wakeup),
            (Field::Maxproc, &new.maxproc),
            (Field::Command, &new.command),
        ] {
            field.check(value)?;
        }
        for (option, value) in &new.options {
            check_option_name(option)?;
            check_option_value(option, value)?;
        }
        check_args(&new.args)?;
        if let Some(&i) = self.targets(&new.name, new.kind).first() {
            return Err(MasterEditError::AlreadyExists {
                name: new.name.clone(),
                kind: new.kind,
                line: self.entries[i].first_line.map(|l| l + 1),
            });
        }
        let fields: [&[u8]; 8] = [
            new.name.as_bytes(),
            new.kind.as_str().as_bytes(),
            new.private.as_bytes(),
            new.unpriv.as_bytes(),
            new.chroot.as_bytes(),
            new.wakeup.as_bytes(),
            new.maxproc.as_bytes(),
            new.command.as_bytes(),
        ];
        let mut model = Model {
            fields: fields.iter().map(|f| f.to_vec()).collect(),
            args: Vec::new(),
            units: Vec::new(),
            dirty: HashSet::new(),
        };
        for (option, value) in &new.options {
            model.push_fresh(b"-o".to_vec());
            model.push_fresh([option.as_bytes(), b"=", value.as_bytes()].concat());
        }
        for arg in &new.args {
            model.push_fresh(arg.as_bytes().to_vec());
        }
        let expected = model.semantic();
        let lines = model.render(render::DEFAULT_INDENT);
        let slots: Vec<Slot> = lines
            .into_iter()
            .map(|text| new_slot(0, text, self.crlf))
            .collect();
        if slots_semantic(&slots).as_ref() != Some(&expected) {
            return Err(MasterEditError::Internal {
                name: new.name.clone(),
                kind: new.kind,
                detail: "the new entry does not read back as written".to_string(),
            });
        }
        let key = (new.name.clone(), new.kind);
        let placement = match self.examples.get(&key) {
            Some(p) => *p,
            None => {
                let p = placement(self.doc, &new.name, new.kind);
                self.examples.insert(key, p);
                p
            }
        };
        self.entries.push(Work {
            name: new.name.as_bytes().to_vec(),
            kind: new.kind.as_str().as_bytes().to_vec(),
            slots: Some(slots),
            removed: false,
            placement: Some(placement),
            first_line: None,
        });
        Ok(())
    }

    /// The new bytes, the origin of each line, and the services they must
    /// read as.
    fn assemble(mut self) -> (Vec<u8>, Vec<u32>, Vec<Semantic>) {
        let doc = self.doc;
        // An entry the batch changed and changed back keeps its lines (so
        // a batch applied twice changes nothing the second time, whatever
        // layout its intermediate steps chose).
        for (e, w) in self
            .entries
            .iter_mut()
            .enumerate()
            .take(doc.data_lines.len())
        {
            if let Some(slots) = &w.slots {
                let texts: Vec<&[u8]> = doc.data_lines[e]
                    .iter()
                    .map(|&l| doc.line_text(l))
                    .collect();
                let before = analyze_slots(&texts).map(|a| a.semantic());
                if before.is_some() && slots_semantic(slots) == before {
                    w.slots = None;
                }
            }
        }
        let n = doc.lines.len();
        // Old line -> the touched entry whose data line it is.
        let mut owner: Vec<Option<usize>> = vec![None; n];
        // Old line -> the old entry it starts.
        let mut starts: Vec<Option<usize>> = vec![None; n];
        for (e, dl) in doc.data_lines.iter().enumerate() {
            starts[dl[0]] = Some(e);
            let w = &self.entries[e];
            if w.removed || w.slots.is_some() {
                for &l in dl {
                    owner[l] = Some(e);
                }
            }
        }
        let mut before: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut appended: Vec<usize> = Vec::new();
        for (e, w) in self.entries.iter().enumerate().skip(doc.data_lines.len()) {
            if w.removed {
                continue;
            }
            match w.placement {
                Some(Placement::Before(at)) if at < n => before.entry(at).or_default().push(e),
                _ => appended.push(e),
            }
        }
        // (text, origin, is old line n-1 edited in place or kept)
        let mut out: Vec<(Vec<u8>, Option<usize>, bool)> = Vec::with_capacity(n + 8);
        let mut expected: Vec<Semantic> = Vec::with_capacity(self.entries.len());
        let semantic_of = |e: usize| -> Semantic {
            let w = &self.entries[e];
            match &w.slots {
                Some(slots) => slots_semantic(slots),
                None => {
                    let texts: Vec<&[u8]> = doc.data_lines[e]
                        .iter()
                        .map(|&l| doc.line_text(l))
                        .collect();
                    analyze_slots(&texts).map(|a| a.semantic())
                }
            }
            // A parsed entry always analyzes; an edited one was checked.
            .unwrap_or(Semantic {
                fields: Vec::new(),
                args: Vec::new(),
            })
        };
        let last = n.checked_sub(1);
        let push_new = |out: &mut Vec<(Vec<u8>, Option<usize>, bool)>, e: usize| {
            for slot in self.entries[e].slots.iter().flatten() {
                out.push((slot.text.clone(), None, false));
            }
        };
        for i in 0..n {
            for &e in before.get(&i).into_iter().flatten() {
                expected.push(semantic_of(e));
                push_new(&mut out, e);
            }
            if let Some(e) = starts[i] {
                if !self.entries[e].removed {
                    expected.push(semantic_of(e));
                }
            }
            match owner[i] {
                Some(e) => {
                    let w = &self.entries[e];
                    if w.removed {
                        continue;
                    }
                    for slot in w.slots.iter().flatten().filter(|s| s.anchor == i) {
                        // A line edited back to what it was is unchanged
                        // (lines written anew are matched with identical
                        // old ones by `refine_origin`).
                        let origin = slot
                            .origin
                            .or_else(|| slot.in_place.filter(|&l| slot.text == doc.line_text(l)));
                        out.push((
                            slot.text.clone(),
                            origin,
                            slot.in_place.is_some() && slot.in_place == last,
                        ));
                    }
                }
                None => out.push((doc.line_text(i).to_vec(), Some(i), Some(i) == last)),
            }
        }
        for &e in &appended {
            expected.push(semantic_of(e));
            push_new(&mut out, e);
        }
        // Only the last line can lack its LF: the old last line keeps that
        // when it is still last; anywhere else it gains an LF (CR LF in a
        // CRLF file).
        let unterminated = doc.lines.last().is_some_and(|l| !l.lf);
        let mut final_lf = true;
        if unterminated {
            if let Some(pos) = out.iter().position(|(_, _, was_last)| *was_last) {
                if pos + 1 == out.len() {
                    final_lf = false;
                } else {
                    let line = &mut out[pos];
                    if self.crlf && line.0.last() != Some(&b'\r') {
                        line.0.push(b'\r');
                    }
                    line.1 = None;
                }
            }
        }
        let count = out.len();
        let new_lf = |k: usize| k + 1 < count || final_lf;
        let mut from: Vec<Option<usize>> = out.iter().map(|l| l.1).collect();
        refine_origin(&mut from, n, |k, i| {
            out[k].0 == doc.line_text(i) && new_lf(k) == doc.lines[i].lf
        });
        let mut bytes = Vec::with_capacity(doc.bytes.len() + 256);
        let mut origin = Vec::with_capacity(count);
        for (k, ((text, _, _), from)) in out.into_iter().zip(from).enumerate() {
            bytes.extend_from_slice(&text);
            if new_lf(k) {
                bytes.push(b'\n');
            }
            origin.push(from.map_or(NEW_LINE, |i| u32::try_from(i).unwrap_or(NEW_LINE)));
        }
        (bytes, origin, expected)
    }
}

/// Match new lines with identical old lines no line was traced to: in each
/// gap between two traced lines (which keep their order), the longest
/// common subsequence of the untraced new and old lines. `same(k, i)`: new
/// line `k` equals old line `i`, line ending included. Gaps are small (the
/// lines of one edited entry); a big one is left as it is.
fn refine_origin(from: &mut [Option<usize>], old_len: usize, same: impl Fn(usize, usize) -> bool) {
    let mut bounds: Vec<(usize, usize)> = from
        .iter()
        .enumerate()
        .filter_map(|(k, o)| o.map(|i| (k, i)))
        .collect();
    bounds.push((from.len(), old_len));
    let (mut new_start, mut old_start) = (0, 0);
    for (k, i) in bounds {
        let (a, b) = (k.saturating_sub(new_start), i.saturating_sub(old_start));
        if a > 0 && b > 0 && a * b <= 1 << 16 {
            // lcs[x][y]: LCS of new[x..] and old[y..] within the gap.
            let mut lcs = vec![vec![0u32; b + 1]; a + 1];
            for x in (0..a).rev() {
                for y in (0..b).rev() {
                    lcs[x][y] = if same(new_start + x, old_start + y) {
                        lcs[x + 1][y + 1] + 1
                    } else {
                        lcs[x + 1][y].max(lcs[x][y + 1])
                    };
                }
            }
            let (mut x, mut y) = (0, 0);
            while x < a && y < b {
                if same(new_start + x, old_start + y) {
                    from[new_start + x] = Some(old_start + y);
                    x += 1;
                    y += 1;
                } else if lcs[x + 1][y] >= lcs[x][y + 1] {
                    x += 1;
                } else {
                    y += 1;
                }
            }
        }
        new_start = k + 1;
        old_start = i + 1;
    }
}

/// An edit of one entry, with values checked.
#[derive(Debug, Clone)]
enum Op {
    SetField(Field, Vec<u8>),
    SetOption(Vec<u8>, Vec<u8>),
    RemoveOption(Vec<u8>),
    SetArgs(Vec<Vec<u8>>),
}

/// The entry's slots analyzed: the logical line joined from them, and the
/// offset of each slot in it.
struct Analyzed {
    analysis: Analysis,
    /// The logical line.
    text: Vec<u8>,
    starts: Vec<usize>,
    lens: Vec<usize>,
}

impl Analyzed {
    fn semantic(&self) -> Semantic {
        self.analysis.semantic()
    }

    /// `(slot, start, end)` of raw token `t` when it lies on one line.
    fn locate(&self, t: usize) -> Option<(usize, usize, usize)> {
        let (start, end) = *self.analysis.tokens.get(t)?;
        let slot = self.starts.iter().rposition(|&s| s <= start)?;
        let base = self.starts[slot];
        (end - base <= self.lens[slot]).then_some((slot, start - base, end - base))
    }

    /// The bytes of raw token `t`.
    fn token(&self, t: usize) -> &[u8] {
        self.analysis
            .tokens
            .get(t)
            .map_or(&[][..], |&(s, e)| &self.text[s..e])
    }

    /// The slot holding the last byte of raw token `t`.
    fn end_slot(&self, t: usize) -> Option<usize> {
        let (_, end) = *self.analysis.tokens.get(t)?;
        self.starts.iter().rposition(|&s| s < end)
    }
}

/// Analyze an entry's lines as readllines would join them: the first must
/// start an entry, the others must be continuation lines.
fn analyze_slots<T: AsRef<[u8]>>(texts: &[T]) -> Option<Analyzed> {
    let mut text = Vec::new();
    let mut starts = Vec::with_capacity(texts.len());
    let mut lens = Vec::with_capacity(texts.len());
    for (k, t) in texts.iter().enumerate() {
        let t = t.as_ref();
        let kind = classify(t);
        let want = if k == 0 {
            LineKind::Start
        } else {
            LineKind::Continuation
        };
        if kind != want || t.contains(&b'\n') {
            return None;
        }
        starts.push(text.len());
        lens.push(t.len());
        text.extend_from_slice(t);
    }
    let analysis = analyze(&text, &mut |_, _| {}).ok()?;
    Some(Analyzed {
        analysis,
        text,
        starts,
        lens,
    })
}

fn slots_semantic(slots: &[Slot]) -> Option<Semantic> {
    let texts: Vec<&[u8]> = slots.iter().map(|s| s.text.as_slice()).collect();
    analyze_slots(&texts).map(|a| a.semantic())
}

fn new_slot(anchor: usize, mut text: Vec<u8>, crlf: bool) -> Slot {
    if crlf {
        text.push(b'\r');
    }
    Slot {
        anchor,
        text,
        origin: None,
        in_place: None,
    }
}

/// Why an entry edit failed.
#[derive(Debug)]
enum Failure {
    /// The result would not read back as intended (a bug).
    Internal(String),
    /// The option exists only in postconf's misreading of a glued token.
    Misread { option: String, token: String },
}

/// Apply one edit to an entry's slots: the smallest change of text that
/// reads back as intended, else a re-render.
fn edit_entry(slots: Vec<Slot>, op: &Op, crlf: bool) -> Result<Vec<Slot>, Failure> {
    let current = analyze_slots(&slots.iter().map(|s| &s.text).collect::<Vec<_>>())
        .ok_or_else(|| Failure::Internal("the entry does not parse".to_string()))?;
    let expected = expected_after(&current.semantic(), op);
    if expected == current.semantic() {
        return Ok(slots);
    }
    if let Op::SetOption(option, _) | Op::RemoveOption(option) = op {
        misread_check(&current, option)?;
    }
    if let Some(candidate) = minimal(&slots, &current, op, crlf) {
        if slots_semantic(&candidate).as_ref() == Some(&expected) {
            return Ok(candidate);
        }
    }
    let candidate = rerender(&slots, &current, op, crlf);
    if slots_semantic(&candidate).as_ref() == Some(&expected) {
        Ok(candidate)
    } else {
        Err(Failure::Internal(format!(
            "re-rendered as {:?}",
            String::from_utf8_lossy(
                &candidate
                    .iter()
                    .map(|s| s.text.as_slice())
                    .collect::<Vec<_>>()
                    .join(&b"\n"[..])
            )
        )))
    }
}

/// Refuse to edit an option that postconf sees only because it splits a
/// glued token like `-osyslog_name=x` at every `o` (`-o sysl`,
/// `-o g_name=x`): writing postconf's reading back would hand the daemon
/// options it dies on. A glued token postconf reads as one option (no `o`
/// in its value) is fine: it is rewritten as `-o name=value`.
fn misread_check(cur: &Analyzed, option: &[u8]) -> Result<(), Failure> {
    let args = &cur.analysis.args;
    let texts: Vec<&Vec<u8>> = args.iter().map(|a| &a.text).collect();
    let pairs = value_options(&texts);
    for i in occurrences(&texts, option) {
        let raw = args[i].raw;
        if pairs.iter().filter(|&&p| args[p].raw == raw).count() > 1 {
            return Err(Failure::Misread {
                option: String::from_utf8_lossy(option).into_owned(),
                token: String::from_utf8_lossy(cur.token(raw)).into_owned(),
            });
        }
    }
    Ok(())
}

/// Positions `i` of the `-o` arguments (value at `i + 1`) in the option
/// section whose value names `option`.
fn occurrences<T: AsRef<[u8]>>(args: &[T], option: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let arg = arg.as_ref();
        if arg.first() != Some(&b'-') || arg == b"--" {
            break;
        }
        if expects_value(arg) && i + 1 < args.len() {
            if arg == b"-o"
                && split_nameval(args[i + 1].as_ref()).is_ok_and(|(name, _)| name == option)
            {
                found.push(i);
            }
            i += 1;
        }
        i += 1;
    }
    found
}

fn option_end_of<T: AsRef<[u8]>>(args: &[T]) -> usize {
    let narg: Vec<NArg> = args
        .iter()
        .map(|a| NArg {
            text: a.as_ref().to_vec(),
            raw: 0,
        })
        .collect();
    option_end(&narg)
}

/// What the entry must mean after `op`.
fn expected_after(current: &Semantic, op: &Op) -> Semantic {
    let mut s = current.clone();
    match op {
        Op::SetField(field, value) => s.fields[field.index()] = value.clone(),
        Op::SetOption(option, value) => {
            let found = occurrences(&s.args, option);
            let text = [option.as_slice(), b"=", value].concat();
            if found.is_empty() {
                let k = option_end_of(&s.args);
                s.args.splice(k..k, [b"-o".to_vec(), text]);
            } else {
                for i in found {
                    s.args[i + 1] = text.clone();
                }
            }
        }
        Op::RemoveOption(option) => {
            for i in occurrences(&s.args, option).into_iter().rev() {
                s.args.drain(i..i + 2);
            }
        }
        Op::SetArgs(args) => {
            let k = option_end_of(&s.args);
            s.args.truncate(k);
            s.args.extend(args.iter().cloned());
        }
    }
    s
}

/// The continuation indent of an entry: the leading blanks of its first
/// continuation line, or 4 spaces.
fn entry_indent(slots: &[Slot]) -> Vec<u8> {
    slots
        .get(1)
        .map(|s| {
            s.text
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .copied()
                .collect::<Vec<u8>>()
        })
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| render::DEFAULT_INDENT.to_vec())
}

/// The smallest change of text for `op`, or `None` when there is none.
fn minimal(slots: &[Slot], cur: &Analyzed, op: &Op, crlf: bool) -> Option<Vec<Slot>> {
    let a = &cur.analysis;
    let mut out = slots.to_vec();
    match op {
        Op::SetField(field, value) => {
            let (slot, s, e) = cur.locate(field.index())?;
            replace_in_slot(&mut out[slot], s, e, value);
        }
        Op::SetOption(option, value) => {
            let found = occurrences(&a.args.iter().map(|x| &x.text).collect::<Vec<_>>(), option);
            let token = render::option_value(option, value);
            if found.is_empty() {
                let k = a.option_end();
                let after = match k.checked_sub(1) {
                    Some(last) => cur.end_slot(a.args[last].raw)?,
                    None => cur.end_slot(7)?,
                };
                if let Some(first) = a.args.get(k) {
                    let (start, _) = a.tokens[first.raw];
                    let shares_token = k > 0 && a.args[k - 1].raw == first.raw;
                    let start_slot = cur.starts.iter().rposition(|&s| s <= start)?;
                    if shares_token || start_slot <= after {
                        return None;
                    }
                }
                let text = [entry_indent(slots).as_slice(), b"-o ", &token].concat();
                out.insert(after + 1, new_slot(out[after].anchor, text, crlf));
            } else {
                // Right to left, so offsets on a line stay valid.
                let wanted = [option.as_slice(), b"=", value].concat();
                let mut places = Vec::new();
                for i in found {
                    let (opt, val) = (&a.args[i], &a.args[i + 1]);
                    if val.text == wanted {
                        continue; // already says so: left as written
                    }
                    if cur.token(opt.raw) != b"-o" || opt.raw == val.raw {
                        return None;
                    }
                    places.push(cur.locate(val.raw)?);
                }
                places.sort_unstable();
                for &(slot, s, e) in places.iter().rev() {
                    replace_in_slot(&mut out[slot], s, e, &token);
                }
            }
        }
        Op::RemoveOption(option) => {
            let found = occurrences(&a.args.iter().map(|x| &x.text).collect::<Vec<_>>(), option);
            // Token ranges to delete, per slot.
            let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
            for i in found {
                let (opt, val) = (&a.args[i], &a.args[i + 1]);
                if cur.token(opt.raw) != b"-o" || opt.raw == val.raw {
                    return None;
                }
                let o = cur.locate(opt.raw)?;
                let v = cur.locate(val.raw)?;
                if o.0 == v.0 {
                    ranges.push((o.0, o.1, v.2));
                } else {
                    ranges.push(o);
                    ranges.push(v);
                }
            }
            ranges.sort_unstable();
            for &(slot, s, e) in ranges.iter().rev() {
                delete_in_slot(&mut out[slot], s, e);
            }
            let mut k = 0;
            out.retain(|slot| {
                k += 1;
                k == 1 || !slot.text.iter().all(|&b| is_space(b))
            });
        }
        Op::SetArgs(args) => {
            let k = a.option_end();
            let words: Vec<Vec<u8>> = args.iter().map(|w| render::argument(w)).collect();
            let indent = entry_indent(slots);
            let at = match a.args.get(k) {
                None => out.len(),
                Some(first) => {
                    if k > 0 && a.args[k - 1].raw == first.raw {
                        return None;
                    }
                    let (slot, s, _) = cur.locate(first.raw)?;
                    let leading = &out[slot].text[..s];
                    if slot == 0 || !leading.iter().all(|&b| b == b' ' || b == b'\t') {
                        return None;
                    }
                    slot
                }
            };
            let anchor = out.get(at).map_or(out[at - 1].anchor, |s| s.anchor);
            let new: Vec<Slot> = render::fill(&words, &indent)
                .into_iter()
                .map(|t| new_slot(anchor, t, crlf))
                .collect();
            out.splice(at.., new);
        }
    }
    Some(out)
}

/// Replace bytes `s..e` of a line with `new`, moving the length difference
/// into the run of spaces after it so the next token keeps its column
/// (as far as there are spaces to take, and always one left).
fn replace_in_slot(slot: &mut Slot, s: usize, e: usize, new: &[u8]) {
    let text = &slot.text;
    let mut ws_end = e;
    while ws_end < text.len() && text[ws_end] == b' ' {
        ws_end += 1;
    }
    let next_token = ws_end > e && ws_end < text.len() && !parse::is_master_blank(text[ws_end]);
    let mut out = Vec::with_capacity(text.len() + new.len());
    out.extend_from_slice(&text[..s]);
    out.extend_from_slice(new);
    if next_token {
        let (old_len, ws) = (e - s, ws_end - e);
        let spaces = if new.len() <= old_len {
            ws + (old_len - new.len())
        } else {
            ws.saturating_sub(new.len() - old_len).max(1)
        };
        out.extend(std::iter::repeat_n(b' ', spaces));
        out.extend_from_slice(&text[ws_end..]);
    } else {
        out.extend_from_slice(&text[e..]);
    }
    if out != slot.text {
        slot.text = out;
        slot.origin = None;
    }
}

/// Delete bytes `s..e` of a line with the blanks after them (or, when
/// nothing follows on the line, the blanks before them).
fn delete_in_slot(slot: &mut Slot, s: usize, e: usize) {
    let text = &slot.text;
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut e2 = e;
    while e2 < text.len() && blank(text[e2]) {
        e2 += 1;
    }
    let next_token = e2 < text.len() && !parse::is_master_blank(text[e2]);
    let mut s2 = s;
    if !next_token {
        while s2 > 0 && blank(text[s2 - 1]) {
            s2 -= 1;
        }
    }
    let mut out = text[..s2].to_vec();
    out.extend_from_slice(&text[e2..]);
    slot.text = out;
    slot.origin = None;
}

/// Re-render the entry in postconf's folded layout at the place of its
/// first line, keeping the text of every argument group `op` leaves alone.
fn rerender(slots: &[Slot], cur: &Analyzed, op: &Op, crlf: bool) -> Vec<Slot> {
    let mut model = Model::from_analyzed(cur);
    model.apply(op);
    let anchor = slots[0].anchor;
    model
        .render(&entry_indent(slots))
        .into_iter()
        .map(|text| new_slot(anchor, text, crlf))
        .collect()
}

/// An entry as fields and normalized arguments, each argument remembering
/// the group of raw tokens ("unit") it came from, so untouched groups can
/// be written back verbatim.
#[derive(Debug, Clone)]
struct Model {
    fields: Vec<Vec<u8>>,
    args: Vec<MArg>,
    /// The original text of each unit (its raw tokens joined by a space).
    units: Vec<Vec<u8>>,
    /// Units an edit changed: their arguments are written afresh.
    dirty: HashSet<usize>,
}

#[derive(Debug, Clone)]
struct MArg {
    text: Vec<u8>,
    unit: Option<usize>,
}

impl Model {
    fn from_analyzed(cur: &Analyzed) -> Model {
        let a = &cur.analysis;
        let count = a.tokens.len();
        // Raw token -> unit leader: an option and its value are one unit
        // even when they are two raw tokens (`-o` `name=value`).
        let mut leader: Vec<usize> = (0..count).collect();
        for i in value_options(&a.args.iter().map(|x| &x.text).collect::<Vec<_>>()) {
            let (lo, hi) = (a.args[i].raw, a.args[i + 1].raw);
            for r in lo + 1..=hi.min(count - 1) {
                leader[r] = leader[lo];
            }
        }
        let mut unit_of: HashMap<usize, usize> = HashMap::new();
        let mut units: Vec<Vec<u8>> = Vec::new();
        for (r, &lead) in leader.iter().enumerate().skip(8) {
            let u = *unit_of.entry(lead).or_insert_with(|| {
                units.push(Vec::new());
                units.len() - 1
            });
            if !units[u].is_empty() {
                units[u].push(b' ');
            }
            units[u].extend_from_slice(cur.token(r));
        }
        Model {
            fields: a.fields.clone(),
            args: a
                .args
                .iter()
                .map(|x| MArg {
                    text: x.text.clone(),
                    unit: unit_of.get(&leader[x.raw]).copied(),
                })
                .collect(),
            units,
            dirty: HashSet::new(),
        }
    }

    fn push_fresh(&mut self, text: Vec<u8>) {
        self.args.push(MArg { text, unit: None });
    }

    fn texts(&self) -> Vec<&[u8]> {
        self.args.iter().map(|a| a.text.as_slice()).collect()
    }

    fn semantic(&self) -> Semantic {
        Semantic {
            fields: self.fields.clone(),
            args: self.args.iter().map(|a| a.text.clone()).collect(),
        }
    }

    fn touch(&mut self, i: usize) {
        if let Some(u) = self.args.get(i).and_then(|a| a.unit) {
            self.dirty.insert(u);
        }
    }

    /// Inserting at `k` splits a unit: write it afresh.
    fn touch_split(&mut self, k: usize) {
        if k > 0 && k < self.args.len() && self.args[k - 1].unit == self.args[k].unit {
            self.touch(k);
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::SetField(field, value) => self.fields[field.index()] = value.clone(),
            Op::SetOption(option, value) => {
                let found = occurrences(&self.texts(), option);
                let text = [option.as_slice(), b"=", value].concat();
                if found.is_empty() {
                    let k = option_end_of(&self.texts());
                    self.touch_split(k);
                    let fresh = [b"-o".to_vec(), text].map(|text| MArg { text, unit: None });
                    self.args.splice(k..k, fresh);
                } else {
                    for i in found {
                        self.touch(i + 1);
                        self.args[i + 1].text = text.clone();
                    }
                }
            }
            Op::RemoveOption(option) => {
                for i in occurrences(&self.texts(), option).into_iter().rev() {
                    self.touch(i);
                    self.touch(i + 1);
                    self.args.drain(i..i + 2);
                }
            }
            Op::SetArgs(args) => {
                let k = option_end_of(&self.texts());
                self.touch_split(k);
                self.args.truncate(k);
                for arg in args {
                    self.push_fresh(arg.clone());
                }
            }
        }
    }

    /// The argument pieces, for the folded layout.
    fn pieces(&self) -> Vec<Piece> {
        let texts = self.texts();
        let k = option_end_of(&texts);
        let with_value: HashSet<usize> = value_options(&texts).into_iter().collect();
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < self.args.len() {
            let clean = self.args[i].unit.filter(|u| !self.dirty.contains(u));
            if let Some(u) = clean {
                let mut j = i;
                while j < self.args.len() && self.args[j].unit == Some(u) {
                    j += 1;
                }
                let text = &self.units[u];
                // A group starting with `#` would be a comment at the start
                // of a line: spell its arguments afresh instead.
                if i < k || text.first() != Some(&b'#') {
                    let kind = if i >= k {
                        PieceKind::Arg
                    } else if (i..j).any(|x| with_value.contains(&x)) {
                        PieceKind::ValueOption
                    } else {
                        PieceKind::Option
                    };
                    pieces.push(Piece {
                        text: text.clone(),
                        kind,
                    });
                    i = j;
                    continue;
                }
            }
            let arg = &self.args[i].text;
            if with_value.contains(&i) {
                let value = &self.args[i + 1].text;
                let spelled = if arg == b"-o" {
                    render::existing_option_value(value)
                } else {
                    render::argument(value)
                };
                pieces.push(Piece {
                    text: [arg.as_slice(), b" ", &spelled].concat(),
                    kind: PieceKind::ValueOption,
                });
                i += 2;
            } else if i < k {
                pieces.push(Piece {
                    text: arg.clone(),
                    kind: PieceKind::Option,
                });
                i += 1;
            } else {
                pieces.push(Piece {
                    text: render::argument(arg),
                    kind: PieceKind::Arg,
                });
                i += 1;
            }
        }
        pieces
    }

    /// The entry's lines (without line endings).
    fn render(&self, indent: &[u8]) -> Vec<Vec<u8>> {
        let f = |i: usize| self.fields[i].as_slice();
        let first = render::fields_line([f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7)]);
        render::fold(first, &self.pieces(), indent)
    }
}

/// Positions of the options in the option section that take a value (the
/// value is at the next position).
fn value_options<T: AsRef<[u8]>>(args: &[T]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let arg = arg.as_ref();
        if arg.first() != Some(&b'-') || arg == b"--" {
            break;
        }
        if expects_value(arg) && i + 1 < args.len() {
            found.push(i);
            i += 1;
        }
        i += 1;
    }
    found
}

/// Where a new `name/kind` goes: after its last commented example (and the
/// commented continuation lines under it) that ends at a logical-line
/// boundary, else at the end.
fn placement(doc: &MasterCf, name: &str, kind: ServiceType) -> Placement {
    let n = doc.lines.len();
    let examples: Vec<usize> = (0..n)
        .filter(|&i| is_example(doc.line_text(i), name.as_bytes(), kind))
        .collect();
    for &example in examples.iter().rev() {
        let mut at = example + 1;
        while at < n && is_commented_continuation(doc.line_text(at)) {
            at += 1;
        }
        // The next data line must start an entry, or a new entry here
        // would capture continuation lines of another (orphan `-o` lines
        // under a commented service belong to the entry before it).
        let next = (at..n)
            .map(|j| classify(doc.line_text(j)))
            .find(|k| *k != LineKind::Trivia);
        if next == Some(LineKind::Continuation) {
            continue;
        }
        return if at < n {
            Placement::Before(at)
        } else {
            Placement::End
        };
    }
    Placement::End
}

/// `#name type private unpriv chroot wakeup maxproc command ...`: a
/// commented-out entry for `name/kind` (valid fields, so prose does not
/// match).
fn is_example(text: &[u8], name: &[u8], kind: ServiceType) -> bool {
    let Some(rest) = text.strip_prefix(b"#") else {
        return false;
    };
    let tokens: Vec<&[u8]> = tokens_q(rest, parse::is_master_blank)
        .map(|(_, t)| t)
        .take(8)
        .collect();
    tokens.len() == 8
        && tokens[0] == name
        && tokens[1] == kind.as_str().as_bytes()
        && tokens[2..5].iter().all(|t| valid_bool(t))
        && valid_wakeup(tokens[5])
        && valid_maxproc(tokens[6])
}

/// `#  -o name=value` under a commented example: `#`, then indented text
/// (two blanks or a tab, as a continuation line is indented), or `# -o`.
/// A comment such as `# Choose one: ...` (one blank, prose) starts the
/// next block and is not part of the example.
fn is_commented_continuation(text: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"#") else {
        return false;
    };
    let blanks = rest.iter().take_while(|&&b| is_space(b)).count();
    let body = &rest[blanks..];
    if body.is_empty() || blanks == 0 {
        return false;
    }
    blanks >= 2 || rest[0] == b'\t' || body.starts_with(b"-o")
}

fn check_service_name(name: &str) -> Result<(), MasterEditError> {
    let b = name.as_bytes();
    let problem = if b.is_empty() {
        Some("it is empty")
    } else if b.iter().any(|&c| is_space(c) || c.is_ascii_control()) {
        Some("it contains whitespace or a control character")
    } else if b[0] == b'#' {
        Some("it starts with # (the line would be a comment)")
    } else if b.contains(&b'=') {
        Some("it contains '=' (postconf cannot edit a master.cf with such a name)")
    } else if b.contains(&b'/') {
        Some("it contains '/' (postconf cannot name it; use a name without '/')")
    } else if b.iter().any(|&c| c == b'{' || c == b'}') {
        Some("it contains braces")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(MasterEditError::BadServiceName {
            name: name.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

fn check_option_name(option: &str) -> Result<(), MasterEditError> {
    let b = option.as_bytes();
    let problem = if b.is_empty() {
        Some("it is empty")
    } else if b.iter().any(|&c| is_space(c) || c.is_ascii_control()) {
        Some("it contains whitespace or a control character")
    } else if b.contains(&b'=') {
        Some("it contains '='")
    } else if b.iter().any(|&c| c == b'{' || c == b'}') {
        Some("it contains braces")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(MasterEditError::BadOptionName {
            option: option.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

/// What is wrong with a value for master.cf, if anything: characters that
/// would end the line or that Postfix drops, and unbalanced braces.
fn value_problem(value: &[u8]) -> Option<&'static str> {
    if value.contains(&b'\n') {
        Some("contains a newline; master.cf values are one line")
    } else if value.contains(&b'\r') {
        Some("contains a carriage return")
    } else if value.contains(&0) {
        Some("contains a NUL byte")
    } else if value.iter().any(|&b| b == 0x0b || b == 0x0c) {
        Some("contains a vertical tab or form feed")
    } else if value.first().is_some_and(|&b| is_space(b))
        || value.last().is_some_and(|&b| is_space(b))
    {
        Some("starts or ends with whitespace, which Postfix drops; trim it")
    } else if !balanced(value) {
        Some("has unbalanced braces: every '{' needs a later '}' and every '}' an earlier '{'")
    } else {
        None
    }
}

fn balanced(value: &[u8]) -> bool {
    let mut level = 0usize;
    for &b in value {
        match b {
            b'{' => level += 1,
            b'}' => match level.checked_sub(1) {
                Some(l) => level = l,
                None => return false,
            },
            _ => {}
        }
    }
    level == 0
}

fn check_option_value(option: &str, value: &str) -> Result<(), MasterEditError> {
    match value_problem(value.as_bytes()) {
        Some(problem) => Err(MasterEditError::BadOptionValue {
            option: option.to_string(),
            value: value.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

fn check_args(args: &[String]) -> Result<(), MasterEditError> {
    for arg in args {
        if let Some(problem) = value_problem(arg.as_bytes()) {
            return Err(MasterEditError::BadArgument {
                arg: arg.clone(),
                problem,
            });
        }
    }
    match args.first() {
        Some(first) if first.starts_with('-') && first != "--" => {
            Err(MasterEditError::BadArgument {
                arg: first.clone(),
                problem: "the first argument starts with '-', so Postfix would read it as a daemon option; set -o options with SetOption",
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `given(src).edit(...)` helpers in the toml_edit style.
    fn edited(src: &str, edits: &[MasterEdit]) -> String {
        let mut doc = MasterCf::parse(src.as_bytes()).expect("test input parses");
        doc.apply_edits(edits)
            .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{src}"));
        let out = String::from_utf8(doc.to_bytes()).expect("utf-8");
        // The document equals a fresh parse of its own bytes.
        assert_eq!(doc, MasterCf::parse(out.as_bytes()).expect("result parses"));
        // Applying the same edits again changes nothing (no Add in them).
        if !edits.iter().any(|e| matches!(e, MasterEdit::Add(_))) {
            let mut again = doc.clone();
            let origin = again.apply_edits(edits).expect("second application");
            assert_eq!(again.to_bytes(), out.as_bytes(), "not idempotent");
            let n = u32::try_from(origin.len()).unwrap();
            assert_eq!(origin, (0..n).collect::<Vec<_>>());
        }
        out
    }

    fn refused(src: &str, edits: &[MasterEdit]) -> MasterBatchError {
        let mut doc = MasterCf::parse(src.as_bytes()).expect("test input parses");
        let before = doc.clone();
        let err = doc.apply_edits(edits).expect_err("must be refused");
        assert_eq!(doc, before, "a refused batch changed the document");
        err
    }

    fn field(name: &str, kind: ServiceType, field: Field, value: &str) -> MasterEdit {
        MasterEdit::SetField {
            name: name.into(),
            kind,
            field,
            value: value.into(),
        }
    }

    fn option(name: &str, kind: ServiceType, option: &str, value: &str) -> MasterEdit {
        MasterEdit::SetOption {
            name: name.into(),
            kind,
            option: option.into(),
            value: value.into(),
        }
    }

    fn remove_option(name: &str, kind: ServiceType, option: &str) -> MasterEdit {
        MasterEdit::RemoveOption {
            name: name.into(),
            kind,
            option: option.into(),
        }
    }

    fn args(name: &str, kind: ServiceType, args: &[&str]) -> MasterEdit {
        MasterEdit::SetArgs {
            name: name.into(),
            kind,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn remove(name: &str, kind: ServiceType) -> MasterEdit {
        MasterEdit::Remove {
            name: name.into(),
            kind,
        }
    }

    fn new_service(name: &str, kind: ServiceType, command: &str) -> NewService {
        NewService {
            name: name.into(),
            kind,
            private: "n".into(),
            unpriv: "-".into(),
            chroot: "y".into(),
            wakeup: "-".into(),
            maxproc: "-".into(),
            command: command.into(),
            options: Vec::new(),
            args: Vec::new(),
        }
    }

    use ServiceType::{Inet, Unix};

    const DEBIAN_PART: &str = "\
# header
smtp      inet  n       -       y       -       -       smtpd
#smtp      inet  n       -       y       -       1       postscreen
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
#     Instead of specifying complex smtpd_<xxx>_restrictions here,
#  -o milter_macro_daemon_name=ORIGINATING
#smtps     inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5
showq     unix  n       -       y       -       -       showq
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
#
# comment after maildrop
";

    #[test]
    fn no_edits_no_change() {
        let mut doc = MasterCf::parse(DEBIAN_PART.as_bytes()).unwrap();
        let origin = doc.apply_edits(&[]).unwrap();
        assert_eq!(doc.as_bytes(), DEBIAN_PART.as_bytes());
        assert_eq!(origin, (0..18).collect::<Vec<u32>>());
    }

    #[test]
    fn field_edit_replaces_one_token_and_keeps_columns() {
        let out = edited(
            DEBIAN_PART,
            &[
                field("smtp", Inet, Field::Chroot, "n"),
                field("pickup", Unix, Field::Wakeup, "1000?"),
                field("showq", Unix, Field::Maxproc, "1234567890"),
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            "smtp      inet  n       -       n       -       -       smtpd"
        );
        assert_eq!(
            lines[9],
            "pickup    unix  n       -       y       1000?   1       pickup"
        );
        // Longer than the column: one space is kept.
        assert_eq!(
            lines[13],
            "showq     unix  n       -       y       -       1234567890 showq"
        );
        let changed: Vec<usize> = [1, 9, 13].to_vec();
        for (i, (a, b)) in DEBIAN_PART.lines().zip(out.lines()).enumerate() {
            assert_eq!(a == b, !changed.contains(&i), "line {i}: {a:?} -> {b:?}");
        }
    }

    #[test]
    fn field_edit_of_command() {
        let out = edited(
            DEBIAN_PART,
            &[field("smtp", Inet, Field::Command, "postscreen")],
        );
        assert!(
            out.contains("\nsmtp      inet  n       -       y       -       -       postscreen\n")
        );
    }

    #[test]
    fn new_option_in_one_line_entry_is_one_new_line() {
        let mut doc = MasterCf::parse(DEBIAN_PART.as_bytes()).unwrap();
        let origin = doc
            .apply_edits(&[option(
                "smtp",
                Inet,
                "smtpd_upstream_proxy_protocol",
                "haproxy",
            )])
            .unwrap();
        let out = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(out.starts_with(
            "# header\nsmtp      inet  n       -       y       -       -       smtpd\n    -o smtpd_upstream_proxy_protocol=haproxy\n#smtp      inet"
        ));
        let mut want: Vec<u32> = vec![0, 1, NEW_LINE];
        want.extend(2..18);
        assert_eq!(origin, want);
        assert_eq!(
            doc.service("smtp", "inet").unwrap().overrides,
            [(
                "smtpd_upstream_proxy_protocol".to_string(),
                "haproxy".to_string()
            )]
        );
    }

    #[test]
    fn new_option_goes_after_the_last_option_line_with_the_entrys_indent() {
        let out = edited(
            DEBIAN_PART,
            &[option("relay", Unix, "smtp_helo_timeout", "5")],
        );
        assert!(out.contains(
            "relay     unix  -       -       y       -       -       smtp\n        -o syslog_name=postfix/$service_name\n        -o smtp_helo_timeout=5\n#       -o smtp_helo_timeout=5 -o smtp_connect_timeout=5\n"
        ), "{out}");
    }

    #[test]
    fn new_option_goes_before_a_pipes_argument_line() {
        let out = edited(
            DEBIAN_PART,
            &[option(
                "maildrop",
                Unix,
                "maildrop_destination_recipient_limit",
                "1",
            )],
        );
        assert!(out.ends_with(
            "maildrop  unix  -       n       n       -       -       pipe\n  -o maildrop_destination_recipient_limit=1\n  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n#\n# comment after maildrop\n"
        ), "{out}");
    }

    #[test]
    fn option_value_with_whitespace_is_braced() {
        let out = edited(
            DEBIAN_PART,
            &[option(
                "smtp",
                Inet,
                "smtpd_client_restrictions",
                "permit_sasl_authenticated, reject",
            )],
        );
        assert!(out.contains(
            "smtpd\n    -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
        ));
        let doc = MasterCf::parse(out.as_bytes()).unwrap();
        assert_eq!(
            doc.service("smtp", "inet")
                .unwrap()
                .override_value("smtpd_client_restrictions"),
            Some("permit_sasl_authenticated, reject")
        );
    }

    #[test]
    fn option_value_change_rewrites_only_that_token_everywhere() {
        let src = "sub inet n - y - - smtpd\n  -o a=1 -o b=2\n# c\n  -o { a = x y }\n  -o c=3\n";
        let out = edited(src, &[option("sub", Inet, "a", "new")]);
        assert_eq!(
            out,
            "sub inet n - y - - smtpd\n  -o a=new -o b=2\n# c\n  -o a=new\n  -o c=3\n"
        );
        let out = edited(src, &[option("sub", Inet, "b", "two words")]);
        assert_eq!(
            out,
            "sub inet n - y - - smtpd\n  -o a=1 -o { b = two words }\n# c\n  -o { a = x y }\n  -o c=3\n"
        );
    }

    #[test]
    fn an_occurrence_that_already_has_the_value_is_left_as_written() {
        let src = "a unix - - n - - smtp\n  -o { x = 1 }\n  -o x=2\n";
        let out = edited(src, &[option("a", Unix, "x", "1")]);
        assert_eq!(out, "a unix - - n - - smtp\n  -o { x = 1 }\n  -o x=1\n");
    }

    #[test]
    fn removing_an_option_alone_on_its_line_deletes_the_line() {
        let src =
            "sub inet n - y - - smtpd -o a=0\n  -o a=1 -o b=2\n# c\n  -o { a = x y }\n  -o c=3\n";
        let mut doc = MasterCf::parse(src.as_bytes()).unwrap();
        let origin = doc.apply_edits(&[remove_option("sub", Inet, "a")]).unwrap();
        assert_eq!(
            String::from_utf8(doc.to_bytes()).unwrap(),
            "sub inet n - y - - smtpd\n  -o b=2\n# c\n  -o c=3\n"
        );
        assert_eq!(origin, [NEW_LINE, NEW_LINE, 2, 4]);
        // Absent: nothing to do.
        let out = edited(src, &[remove_option("sub", Inet, "nosuch")]);
        assert_eq!(out, src);
    }

    #[test]
    fn one_line_entry_with_arguments_after_options_is_re_rendered() {
        let src =
            "# x\np unix - n n - - pipe -o a=1 flags=R user=u argv=/bin/x ${recipient}\n# y\n";
        let out = edited(src, &[option("p", Unix, "b", "2")]);
        assert_eq!(
            out,
            "# x\np          unix  -       n       n       -       -       pipe\n    -o a=1\n    -o b=2\n    flags=R user=u argv=/bin/x ${recipient}\n# y\n"
        );
    }

    #[test]
    fn re_render_keeps_comment_lines_and_untouched_argument_text() {
        // Glued -oname=value tokens mean something else to postconf than
        // to the daemon: an untouched one is written back as it was.
        let src =
            "p unix - n n - - pipe -osyslog_name=x\n# inside\n  -o { a = 1 } flags=R {a  b}\n";
        let out = edited(src, &[option("p", Unix, "b", "2")]);
        assert_eq!(
            out,
            "p          unix  -       n       n       -       -       pipe\n  -osyslog_name=x\n  -o { a = 1 }\n  -o b=2\n  flags=R {a  b}\n# inside\n"
        );
    }

    #[test]
    fn set_args_replaces_the_argument_lines() {
        let out = edited(
            DEBIAN_PART,
            &[args(
                "maildrop",
                Unix,
                &[
                    "flags=R",
                    "user=mail",
                    "argv=/usr/bin/maildrop",
                    "-d",
                    "${user}@${domain}",
                ],
            )],
        );
        assert!(out.ends_with(
            "maildrop  unix  -       n       n       -       -       pipe\n  flags=R user=mail argv=/usr/bin/maildrop -d ${user}@${domain}\n#\n# comment after maildrop\n"
        ), "{out}");
        // Arguments with whitespace are braced; none left removes the line.
        let out = edited(
            DEBIAN_PART,
            &[args("maildrop", Unix, &["argv=/bin/x", "a b"])],
        );
        assert!(out.contains("pipe\n  argv=/bin/x {a b}\n#\n"), "{out}");
        let out = edited(DEBIAN_PART, &[args("maildrop", Unix, &[])]);
        assert!(out.contains("pipe\n#\n"), "{out}");
        // None before: a new line after the entry.
        let out = edited(DEBIAN_PART, &[args("showq", Unix, &["x"])]);
        assert!(out.contains("showq\n    x\nmaildrop"), "{out}");
    }

    #[test]
    fn set_args_sharing_a_line_with_options_re_renders() {
        let src = "p unix - n n - - pipe -o a=1 flags=R argv=/bin/x\n";
        let out = edited(src, &[args("p", Unix, &["flags=F", "argv=/bin/y"])]);
        assert_eq!(
            out,
            "p          unix  -       n       n       -       -       pipe\n    -o a=1\n    flags=F argv=/bin/y\n"
        );
    }

    #[test]
    fn long_arguments_fold_under_80_columns() {
        let words: Vec<String> = (0..30).map(|i| format!("argument{i}")).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let out = edited(DEBIAN_PART, &[args("maildrop", Unix, &refs)]);
        let doc = MasterCf::parse(out.as_bytes()).unwrap();
        assert_eq!(doc.service("maildrop", "unix").unwrap().args, words);
        for line in out.lines() {
            assert!(line.len() < 80, "{line}");
        }
    }

    #[test]
    fn remove_takes_every_data_line_and_leaves_comments() {
        let src = "a unix - - n - - smtp\n  -o x=1\n# inside\n\n  -o y=2\nb unix - - n - - smtp\na unix - - n - - lmtp\n  -o z=3\n";
        let mut doc = MasterCf::parse(src.as_bytes()).unwrap();
        let origin = doc.apply_edits(&[remove("a", Unix)]).unwrap();
        assert_eq!(
            String::from_utf8(doc.to_bytes()).unwrap(),
            "# inside\n\nb unix - - n - - smtp\n"
        );
        assert_eq!(origin, [2, 3, 5]);
        // Nothing to remove is no error.
        let out = edited(src, &[remove("nosuch", Unix)]);
        assert_eq!(out, src);
    }

    #[test]
    fn duplicates_all_get_field_and_option_edits() {
        let src = "a unix - - n - - smtp\nb unix - - n - - smtp\na unix - - y - - lmtp\n";
        let out = edited(
            src,
            &[
                field("a", Unix, Field::Chroot, "y"),
                option("a", Unix, "x", "1"),
            ],
        );
        assert_eq!(
            out,
            "a unix - - y - - smtp\n    -o x=1\nb unix - - n - - smtp\na unix - - y - - lmtp\n    -o x=1\n"
        );
    }

    #[test]
    fn orphan_options_under_a_commented_service_belong_to_the_entry_before() {
        // §7: the -o lines continue `smtp`, so they are its options, a new
        // option goes after them, and removing smtp removes them.
        let src = "smtp      inet  n       -       y       -       -       smtpd\n#submission inet n       -       y       -       -       smtpd\n  -o syslog_name=postfix/submission\npickup    unix  n       -       y       60      1       pickup\n";
        let out = edited(src, &[option("smtp", Inet, "a", "b")]);
        assert_eq!(
            out,
            "smtp      inet  n       -       y       -       -       smtpd\n#submission inet n       -       y       -       -       smtpd\n  -o syslog_name=postfix/submission\n  -o a=b\npickup    unix  n       -       y       60      1       pickup\n"
        );
        let out = edited(src, &[remove("smtp", Inet)]);
        assert_eq!(
            out,
            "#submission inet n       -       y       -       -       smtpd\npickup    unix  n       -       y       60      1       pickup\n"
        );
        // A new submission must not go under its example: it would steal
        // smtp's -o line. It goes to the end.
        let mut sub = new_service("submission", Inet, "smtpd");
        sub.options = vec![("syslog_name".into(), "postfix/submission".into())];
        let out = edited(src, &[MasterEdit::Add(sub)]);
        assert_eq!(
            out,
            format!("{src}submission inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/submission\n")
        );
    }

    #[test]
    fn new_service_goes_after_its_commented_example() {
        let mut sub = new_service("submission", Inet, "smtpd");
        sub.options = vec![
            ("syslog_name".into(), "postfix/submission".into()),
            ("smtpd_tls_security_level".into(), "encrypt".into()),
        ];
        let mut doc = MasterCf::parse(DEBIAN_PART.as_bytes()).unwrap();
        let origin = doc.apply_edits(&[MasterEdit::Add(sub)]).unwrap();
        let out = String::from_utf8(doc.to_bytes()).unwrap();
        assert!(out.contains(
            "#  -o milter_macro_daemon_name=ORIGINATING\nsubmission inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/submission\n    -o smtpd_tls_security_level=encrypt\n#smtps     inet"
        ), "{out}");
        let mut want: Vec<u32> = (0..8).collect();
        want.extend([NEW_LINE; 3]);
        want.extend(8..18);
        assert_eq!(origin, want);
        // Without an example: at the end.
        let out = edited(
            DEBIAN_PART,
            &[MasterEdit::Add(new_service("new", Unix, "smtp"))],
        );
        assert_eq!(
            out,
            format!("{DEBIAN_PART}new        unix  n       -       y       -       -       smtp\n")
        );
        // The example of smtp/inet (a postscreen line) is taken for a new
        // smtp/inet after the old one is removed.
        let out = edited(
            DEBIAN_PART,
            &[
                remove("smtp", Inet),
                MasterEdit::Add(new_service("smtp", Inet, "postscreen")),
            ],
        );
        assert!(out.starts_with("# header\n#smtp      inet  n       -       y       -       1       postscreen\nsmtp       inet  n       -       y       -       -       postscreen\n#submission"), "{out}");
    }

    #[test]
    fn missing_final_newline() {
        // Appending adds it first (postconf 3.7.11 would glue the lines).
        let src = "a unix - - n - - smtp";
        let mut doc = MasterCf::parse(src.as_bytes()).unwrap();
        let origin = doc
            .apply_edits(&[MasterEdit::Add(new_service("b", Unix, "lmtp"))])
            .unwrap();
        assert_eq!(
            String::from_utf8(doc.to_bytes()).unwrap(),
            "a unix - - n - - smtp\nb          unix  n       -       y       -       -       lmtp\n"
        );
        assert_eq!(origin, [NEW_LINE, NEW_LINE]);
        // An in-place edit of the last line keeps it unterminated.
        let out = edited(src, &[field("a", Unix, Field::Chroot, "y")]);
        assert_eq!(out, "a unix - - y - - smtp");
        // A new line after it terminates it.
        let out = edited(src, &[option("a", Unix, "x", "1")]);
        assert_eq!(out, "a unix - - n - - smtp\n    -o x=1\n");
        // Removing the last line leaves the line before it as it was.
        let out = edited(
            "a unix - - n - - smtp\n  -o x=1",
            &[remove_option("a", Unix, "x")],
        );
        assert_eq!(out, "a unix - - n - - smtp\n");
    }

    #[test]
    fn crlf_files_get_crlf_lines() {
        let src = "a unix - - n - - smtp\r\n  -o x=1\r\n# c\r\nb unix - - n - - smtp\r\n";
        let out = edited(
            src,
            &[
                option("a", Unix, "y", "2"),
                option("a", Unix, "x", "one two"),
                field("b", Unix, Field::Chroot, "y"),
                MasterEdit::Add(new_service("c", Unix, "lmtp")),
            ],
        );
        assert_eq!(
            out,
            "a unix - - n - - smtp\r\n  -o { x = one two }\r\n  -o y=2\r\n# c\r\nb unix - - y - - smtp\r\nc          unix  n       -       y       -       -       lmtp\r\n"
        );
        // Unterminated CRLF last line: gains CR LF before an append.
        let out = edited(
            "a unix - - n - - smtp\r\nb unix - - n - - smtp",
            &[MasterEdit::Add(new_service("c", Unix, "lmtp"))],
        );
        assert_eq!(
            out,
            "a unix - - n - - smtp\r\nb unix - - n - - smtp\r\nc          unix  n       -       y       -       -       lmtp\r\n"
        );
    }

    #[test]
    fn add_then_edit_and_remove_then_add_in_one_batch() {
        let out = edited(
            "",
            &[
                MasterEdit::Add(new_service("a", Unix, "smtp")),
                option("a", Unix, "x", "1"),
                field("a", Unix, Field::Maxproc, "5"),
            ],
        );
        assert_eq!(
            out,
            "a          unix  n       -       y       -       5       smtp\n    -o x=1\n"
        );
        let err = refused(
            "a unix - - n - - smtp\n",
            &[MasterEdit::Add(new_service("a", Unix, "smtp"))],
        );
        assert_eq!(err.index, 0);
        assert!(
            matches!(
                err.error,
                MasterEditError::AlreadyExists { line: Some(1), .. }
            ),
            "{err}"
        );
        let err = refused(
            "",
            &[
                MasterEdit::Add(new_service("a", Unix, "smtp")),
                MasterEdit::Add(new_service("a", Unix, "smtp")),
            ],
        );
        assert_eq!(err.index, 1);
        assert!(
            err.to_string().contains("added by an earlier edit"),
            "{err}"
        );
        let out = edited(
            "a unix - - n - - smtp\n",
            &[
                remove("a", Unix),
                MasterEdit::Add(new_service("a", Unix, "lmtp")),
            ],
        );
        assert_eq!(
            out,
            "a          unix  n       -       y       -       -       lmtp\n"
        );
    }

    #[test]
    fn new_service_with_everything_folds_like_postconf() {
        let mut s = new_service("x", Unix, "pipe");
        s.private = "-".into();
        s.unpriv = "n".into();
        s.chroot = "n".into();
        s.maxproc = "2".into();
        s.options = vec![
            ("smtp_helo_name".into(), "a b".into()),
            ("x".into(), "1".into()),
        ];
        s.args = "flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}"
            .split(' ')
            .map(String::from)
            .chain(["a b".to_string()])
            .chain(
                "and more args to exceed the eighty column limit"
                    .split(' ')
                    .map(String::from),
            )
            .collect();
        let out = edited("", &[MasterEdit::Add(s)]);
        assert_eq!(
            out,
            "x          unix  -       n       n       -       2       pipe\n    -o { smtp_helo_name = a b }\n    -o x=1\n    flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} {a b} and\n    more args to exceed the eighty column limit\n"
        );
    }

    #[test]
    fn values_that_would_break_the_file_are_refused() {
        let src = "a unix - - n - - smtp\n";
        for (edit, what) in [
            (option("a", Unix, "x", "1\n  -o y=2"), "newline"),
            (option("a", Unix, "x", "a\rb"), "carriage return"),
            (option("a", Unix, "x", "a\0b"), "NUL"),
            (option("a", Unix, "x", "{a"), "unbalanced"),
            (option("a", Unix, "x", "a}"), "unbalanced"),
            (option("a", Unix, "x", " a"), "whitespace"),
            (option("a", Unix, "x=y", "1"), "'='"),
            (option("a", Unix, "", "1"), "empty"),
            (option("a", Unix, "a b", "1"), "whitespace"),
            (field("a", Unix, Field::Chroot, "yes"), "y, n or -"),
            (field("a", Unix, Field::Wakeup, "-?"), "seconds"),
            (field("a", Unix, Field::Wakeup, "60x"), "seconds"),
            (field("a", Unix, Field::Maxproc, "-1"), "number"),
            (field("a", Unix, Field::Command, "a b"), "program"),
            (field("a", Unix, Field::Command, "#x"), "program"),
            (field("a", Unix, Field::Command, "-"), "program"),
            (args("a", Unix, &["-v"]), "starts with '-'"),
            (args("a", Unix, &["x", "{"]), "unbalanced"),
            (args("a", Unix, &["x\ny"]), "newline"),
            (option("nosuch", Unix, "x", "1"), "no service"),
            (field("a", Inet, Field::Chroot, "n"), "no service"),
        ] {
            let err = refused(src, &[field("a", Unix, Field::Chroot, "y"), edit.clone()]);
            assert_eq!(err.index, 1, "{edit:?}");
            assert!(err.to_string().contains(what), "{edit:?}: {err}");
        }
        for name in ["", "a b", "#a", "a=b", "a/b", "{a}"] {
            let err = refused(src, &[MasterEdit::Add(new_service(name, Unix, "smtp"))]);
            assert!(
                matches!(err.error, MasterEditError::BadServiceName { .. }),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn option_values_postfix_reads_back() {
        for value in [
            "", "a{b}c", "{a,b}", "$x ${y}", "a  b", "x=y", "a\tb", "{a b} c",
        ] {
            let out = edited("a unix - - n - - smtp\n", &[option("a", Unix, "p", value)]);
            let doc = MasterCf::parse(out.as_bytes()).unwrap();
            assert_eq!(doc.services[0].override_value("p"), Some(value), "{out}");
        }
        for value in ["", "{x}", "a b", "#x", "{a b} c", "}{"] {
            if !balanced(value.as_bytes()) {
                continue;
            }
            let out = edited(
                "a unix - - n - - pipe\n",
                &[args("a", Unix, &["argv=/x", value])],
            );
            let doc = MasterCf::parse(out.as_bytes()).unwrap();
            assert_eq!(doc.services[0].args, ["argv=/x", value], "{out}");
        }
    }

    #[test]
    fn token_spanning_lines_forces_a_re_render() {
        // A brace group continued on the next line is one token.
        let src = "a unix - - n - - smtp -o {x = a\n   b} -o y=1\n";
        let out = edited(src, &[option("a", Unix, "x", "c")]);
        assert_eq!(
            out,
            "a          unix  -       -       n       -       -       smtp\n   -o x=c\n   -o y=1\n"
        );
    }

    #[test]
    fn several_new_services_at_one_example_keep_edit_order() {
        let out = edited(
            DEBIAN_PART,
            &[
                MasterEdit::Add(new_service("submission", Inet, "smtpd")),
                MasterEdit::Add(new_service("other", Unix, "smtp")),
                MasterEdit::Add(new_service("smtps", Inet, "smtpd")),
            ],
        );
        // submission after its example block; smtps after its example
        // (the line before pickup); other at the end.
        assert!(out.contains("ORIGINATING\nsubmission inet  n       -       y       -       -       smtpd\n#smtps"), "{out}");
        assert!(out.contains("#smtps     inet  n       -       y       -       -       smtpd\nsmtps      inet  n       -       y       -       -       smtpd\npickup"), "{out}");
        assert!(out.ends_with("# comment after maildrop\nother      unix  n       -       y       -       -       smtp\n"), "{out}");
    }

    #[test]
    fn options_postconf_misreads_in_glued_tokens_are_refused() {
        // postconf reads `-osyslog_name=x` as `-o sysl -o g_name=x`; the
        // daemon as syslog_name=x. Writing postconf's reading would break
        // the daemon, so editing g_name is refused, and syslog_name (which
        // postconf does not see) is added after it.
        let src = "a unix - - n - - smtp -osyslog_name=x\n";
        let err = refused(src, &[remove_option("a", Unix, "g_name")]);
        assert!(
            matches!(err.error, MasterEditError::MisreadOption { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("\"-osyslog_name=x\""), "{err}");
        let out = edited(src, &[option("a", Unix, "syslog_name", "y")]);
        assert_eq!(
            out,
            "a unix - - n - - smtp -osyslog_name=x\n    -o syslog_name=y\n"
        );
        // A glued token postconf reads as one option is rewritten.
        let out = edited(
            "a unix - - n - - smtp -ax=1\n",
            &[option("a", Unix, "ax", "2")],
        );
        assert_eq!(out, "a unix - - n - - smtp -ax=1\n    -o ax=2\n");
        let out = edited(
            "a unix - - n - - smtp -ox=1 z\n",
            &[option("a", Unix, "x", "2")],
        );
        assert_eq!(
            out,
            "a          unix  -       -       n       -       -       smtp\n    -o x=2\n    z\n"
        );
    }

    #[test]
    fn the_last_edit_of_an_option_field_or_args_wins() {
        let src = "a unix - - n - - smtp\n  -o x=1\n  -o y=2\n";
        // Removing x and setting it again updates it in place (it does not
        // move x after y, which a second run would move again).
        let out = edited(
            src,
            &[remove_option("a", Unix, "x"), option("a", Unix, "x", "3")],
        );
        assert_eq!(out, "a unix - - n - - smtp\n  -o x=3\n  -o y=2\n");
        let out = edited(
            src,
            &[
                field("a", Unix, Field::Chroot, "y"),
                field("a", Unix, Field::Chroot, "-"),
                args("a", Unix, &["b"]),
                args("a", Unix, &["c"]),
            ],
        );
        assert_eq!(out, "a unix - - - - - smtp\n  -o x=1\n  -o y=2\n  c\n");
        // Superseded edits are still checked.
        let err = refused(
            src,
            &[option("a", Unix, "x", "1\n"), option("a", Unix, "x", "2")],
        );
        assert_eq!(err.index, 0);
        // A Remove or Add in between ends the run: the earlier edit
        // applied to the old service, the later one to the new.
        let out = edited(
            src,
            &[
                option("a", Unix, "x", "5"),
                remove("a", Unix),
                MasterEdit::Add(new_service("a", Unix, "lmtp")),
                option("a", Unix, "x", "6"),
            ],
        );
        assert_eq!(
            out,
            "a          unix  n       -       y       -       -       lmtp\n    -o x=6\n"
        );
    }

    #[test]
    fn a_batch_that_changes_an_entry_back_leaves_its_lines() {
        let src = "a unix - - n - - smtp -o x=1 foo\n";
        let mut doc = MasterCf::parse(src.as_bytes()).unwrap();
        let origin = doc
            .apply_edits(&[option("a", Unix, "y", "2"), remove_option("a", Unix, "y")])
            .unwrap();
        assert_eq!(doc.as_bytes(), src.as_bytes());
        assert_eq!(origin, [0]);
    }

    #[test]
    fn field_edit_on_a_continuation_line() {
        let src = "a unix - -\n   n - - smtp\n";
        let out = edited(src, &[field("a", Unix, Field::Chroot, "y")]);
        assert_eq!(out, "a unix - -\n   y - - smtp\n");
    }
}
