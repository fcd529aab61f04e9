//! The only YAML reader of postform: spec text -> a small tree in which
//! every node knows where it starts (line and column).
//!
//! The parser is `saphyr-parser`'s event parser (YAML 1.2, spans on every
//! event). Scalars are kept as written (text, plain or not, tag) and
//! resolved here by postform's own rules ([`Scalar::resolve`]), not by a
//! YAML library's idea of types:
//!
//! * plain `null`, `~`, `Null`, `NULL` and nothing at all: null;
//! * plain `true`/`false` (also `True`, `TRUE`, ...): booleans. `yes`,
//!   `no`, `on`, `off`, `y`, `n` stay strings (YAML 1.2);
//! * plain decimal integers written canonically (`0`, `42`, `-7`): integers.
//!   Every other spelling YAML might read as a number (`0x10`, `0o10`,
//!   `0b1`, `+5`, `007`, `1_000`) stays the text as written, so that
//!   `smtpd_banner: 0x10` means `0x10`, and a parameter that needs a number
//!   refuses it in validation instead of getting a converted value;
//! * plain floats (`1.5`, `1e3`, `.inf`, `.nan`) and integers beyond 64
//!   bits are refused with a "quote it" hint (`3.10` would be `3.1`);
//! * tags: `!!str` (text as written), `!!int` (a decimal integer),
//!   `!!bool`, `!!null`, `!!map`, `!!seq`; `!!float`, `!!binary` and
//!   every other tag are refused.
//!
//! The tree refuses what a spec never needs and a hostile file would use:
//! more than one document, merge keys (`<<`), duplicate keys (both
//! locations are named), nesting deeper than [`MAX_DEPTH`], aliases that
//! expand to more than [`MAX_ALIAS_NODES`] nodes, control characters, and
//! pathological flow nesting ([`MAX_FLOW_WORK`], [`MAX_BUFFERED_INDICATORS`]).

use super::{Location, SpecError};
use saphyr_parser::{Event, Input, Parser, ScalarStyle, Span};
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

/// Deepest nesting of lists and mappings (a spec needs five).
pub(super) const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may add (a "billion laughs" file is refused).
pub(super) const MAX_ALIAS_NODES: usize = 250_000;

/// Where a node starts: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Mark {
    fn from_span(span: &Span) -> Mark {
        Mark {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }

    /// This mark in `file`.
    pub(crate) fn at(self, file: &str) -> Location {
        Location {
            file: file.to_string(),
            line: self.line,
            column: self.column,
        }
    }
}

/// A node of the document: a scalar, a list or a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) mark: Mark,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Key -> value pairs in the order written (no duplicate keys).
    Map(Vec<(Node, Node)>),
}

/// A scalar as written: its text (after YAML's quoting and folding), its
/// style and its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    /// Plain (unquoted, not a block scalar): the only style whose text is
    /// resolved to null, a boolean or a number.
    pub(super) plain: bool,
    /// `!!str`, `!foo`, ... as written (core tags as `!!name`).
    pub(super) tag: Option<String>,
}

/// A scalar's value by postform's rules (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
}

/// Why a scalar has no value postform accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScalarError {
    /// A float, or an integer beyond 64 bits: the text as written.
    Number(String),
    /// `!!binary`.
    Binary,
    /// A tag postform does not read.
    Tag(String),
    /// A core tag whose text does not fit it (`!!int abc`).
    Tagged { tag: String, text: String },
}

impl ScalarError {
    /// The message, for a value (`expected ...` is said by the caller).
    pub(crate) fn message(&self) -> String {
        match self {
            ScalarError::Number(n) => format!(
                "expected a string, yes/no, an integer or a list, found the number {n}; if you mean the text, quote it (\"{n}\") so that YAML keeps it as written"
            ),
            ScalarError::Binary => {
                "the YAML tag !!binary is not supported: a spec value is text; write the text itself"
                    .into()
            }
            ScalarError::Tag(t) => format!("unsupported YAML tag {t}"),
            ScalarError::Tagged { tag, text } => {
                format!("{text:?} is not a valid {tag} value")
            }
        }
    }
}

impl Scalar {
    /// The value by postform's rules.
    pub(crate) fn resolve(&self) -> Result<Value<'_>, ScalarError> {
        let text = self.text.as_str();
        match self.tag.as_deref() {
            None if self.plain => resolve_plain(text),
            None | Some("!!str") => Ok(Value::Str(text)),
            Some("!!null") if is_null(text) => Ok(Value::Null),
            Some("!!bool") => bool_word(text).map(Value::Bool).ok_or(ScalarError::Tagged {
                tag: "!!bool".into(),
                text: text.into(),
            }),
            Some("!!int") => {
                canonical_int(text.trim())
                    .map(Value::Int)
                    .ok_or(ScalarError::Tagged {
                        tag: "!!int".into(),
                        text: text.into(),
                    })
            }
            Some("!!float") => Err(ScalarError::Number(text.to_string())),
            Some("!!binary") => Err(ScalarError::Binary),
            Some(other) => Err(ScalarError::Tag(other.to_string())),
        }
    }

    /// The text as written, for places where every scalar is text (table
    /// entries, alias targets, master.cf arguments): refuses only tags.
    pub(super) fn as_text(&self) -> Result<&str, ScalarError> {
        match self.tag.as_deref() {
            None | Some("!!str") | Some("!!int") | Some("!!bool") => Ok(&self.text),
            Some("!!float") => Ok(&self.text),
            Some("!!binary") => Err(ScalarError::Binary),
            Some(other) => Err(ScalarError::Tag(other.to_string())),
        }
    }

    /// Null, by plain spelling or `!!null`.
    pub(super) fn is_null(&self) -> bool {
        matches!(self.resolve(), Ok(Value::Null))
    }
}

/// A plain scalar's value.
pub(super) fn resolve_plain(text: &str) -> Result<Value<'_>, ScalarError> {
    if is_null(text) {
        return Ok(Value::Null);
    }
    if let Some(b) = bool_word(text) {
        return Ok(Value::Bool(b));
    }
    if let Some(i) = canonical_int(text) {
        return Ok(Value::Int(i));
    }
    if is_float(text) || is_long_int(text) {
        return Err(ScalarError::Number(text.to_string()));
    }
    Ok(Value::Str(text))
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn bool_word(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0`, or an optional `-` and digits without a leading zero, in i64.
fn canonical_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// A canonical decimal integer too large for i64.
fn is_long_int(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// YAML 1.2 core schema floats: `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? )
/// ( [eE] [-+]? [0-9]+ )?` with a `.` or an exponent (plain digits are
/// integers), and `.inf`, `.nan` in their three spellings.
fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !t.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return false;
    }
    if matches!(t, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exponent_ok = match exponent {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
        None => true,
    };
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

/// What kind of value a node is, for messages ("found a list").
pub(crate) fn kind_of(node: &Node) -> &'static str {
    match &node.kind {
        Kind::Seq(_) => "a list",
        Kind::Map(_) => "a mapping",
        Kind::Scalar(s) => match s.resolve() {
            Ok(Value::Null) => "null",
            Ok(Value::Bool(_)) => "a boolean",
            Ok(Value::Int(_)) | Err(ScalarError::Number(_)) => "a number",
            Ok(Value::Str(_)) => "a string",
            Err(_) => "a tagged value",
        },
    }
}

impl Node {
    /// The scalar, if this is one.
    pub(crate) fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar that resolves to a string: its text.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self.scalar()?.resolve() {
            Ok(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A null scalar.
    pub(crate) fn is_null(&self) -> bool {
        self.scalar().is_some_and(Scalar::is_null)
    }
}

/// Parse a spec file's text into its one document (`None`: an empty file
/// or one with only comments). Errors that leave the rest readable (a
/// duplicate key: the second one is dropped) come with the tree; a syntax
/// error comes alone.
pub(crate) fn parse(text: &str, origin: &str) -> (Option<Node>, Vec<SpecError>) {
    if let Some(e) = control_character_error(text, origin) {
        return (None, vec![e]);
    }
    let mut builder = Builder {
        text,
        origin,
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        root: None,
        documents: 0,
        errors: Vec::new(),
        flow_depth: 0,
        flow_work: 0,
        ascii: text.is_ascii(),
        cursor: (0, 0),
    };
    let watch = Rc::new(Watch::default());
    let mut parser = Parser::new(Watched {
        rest: text,
        lookahead: 0,
        watch: Rc::clone(&watch),
    });
    let mut last = Mark { line: 1, column: 1 };
    let mut failed = None;
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((event, span))) => {
                watch.since_event.set(0);
                last = Mark::from_span(&span);
                match builder.event(event, &span) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            Some(Err(e)) => {
                let mark = Mark {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                };
                failed = Some(builder.syntax_error(mark, e.info()));
                break;
            }
        }
    }
    // Cut short, the parser saw an end of file that is not there: whatever
    // it said after that is not about the file.
    if watch.cut.get() {
        return (None, vec![builder.error(
            last,
            "too many or too deeply nested flow collections ([...] or {...}) for the YAML reader; refusing to parse".into(),
            "write lists and mappings in block style (`- item` lines, `key: value` lines), or split the file".into(),
        )]);
    }
    match failed {
        Some(e) => (None, vec![e]),
        None => {
            // Reported as each mapping ends (inner ones first): file order.
            let mut errors = builder.errors;
            errors.sort_by_key(|e| (e.location.line, e.location.column));
            (builder.root, errors)
        }
    }
}

/// Most flow indicators (`,` `:` `[` `]` `{` `}`) the parser may read
/// while working out one event. It holds every token it reads until it can
/// decide whether a flow collection is a mapping key (`[[a]: b]`, or a
/// whole `{...}` document as the key of a block mapping), which it only
/// knows at the end of that collection; so a large flow collection is held
/// all at once, about 170 bytes per token (saphyr-parser 0.3.4: 6 MB of
/// `[[x,x,...]]` took 1 GiB). A token ends at an indicator (or is one), so
/// this bounds what is held to about 100 MB; past it the input is cut and
/// the file refused. Block style and scalars, however long, read few
/// indicators per event.
pub(super) const MAX_BUFFERED_INDICATORS: usize = 300_000;

/// What the parser is doing: flow indicators read since it last returned
/// an event, and whether its input was cut.
#[derive(Debug, Default)]
struct Watch {
    since_event: Cell<usize>,
    cut: Cell<bool>,
}

/// The parser's input: the text, counting the flow indicators the parser
/// reads, and cut (the parser then sees its end) past
/// [`MAX_BUFFERED_INDICATORS`] without an event.
struct Watched<'a> {
    rest: &'a str,
    /// Characters the parser asked to have available (it only checks
    /// against this, see saphyr-parser's `StrInput`).
    lookahead: usize,
    watch: Rc<Watch>,
}

impl Watched<'_> {
    fn count(&self, c: char) {
        if matches!(c, ',' | ':' | '[' | ']' | '{' | '}') {
            self.watch.since_event.set(self.watch.since_event.get() + 1);
        }
    }
}

impl Input for Watched<'_> {
    fn lookahead(&mut self, count: usize) {
        if !self.watch.cut.get() && self.watch.since_event.get() > MAX_BUFFERED_INDICATORS {
            self.watch.cut.set(true);
            self.rest = "";
        }
        self.lookahead = self.lookahead.max(count);
    }

    fn buflen(&self) -> usize {
        self.lookahead
    }

    fn bufmaxlen(&self) -> usize {
        128
    }

    fn raw_read_ch(&mut self) -> char {
        let mut chars = self.rest.chars();
        match chars.next() {
            Some(c) => {
                self.rest = chars.as_str();
                self.count(c);
                c
            }
            None => '\0',
        }
    }

    fn raw_read_non_breakz_ch(&mut self) -> Option<char> {
        let mut chars = self.rest.chars();
        let c = chars
            .next()
            .filter(|&c| !matches!(c, '\0' | '\n' | '\r') && c != '\u{feff}')?;
        self.rest = chars.as_str();
        self.count(c);
        Some(c)
    }

    fn skip(&mut self) {
        let _ = self.raw_read_ch();
    }

    fn skip_n(&mut self, count: usize) {
        for _ in 0..count {
            if self.rest.is_empty() {
                break;
            }
            let _ = self.raw_read_ch();
        }
    }

    fn peek(&self) -> char {
        self.rest.chars().next().unwrap_or('\0')
    }

    fn peek_nth(&self, n: usize) -> char {
        self.rest.chars().nth(n).unwrap_or('\0')
    }

    fn peek_opt(&self) -> Option<char> {
        self.rest.chars().next()
    }
}

/// A node being built: a list or a mapping whose end has not come yet.
enum Frame {
    Seq {
        mark: Mark,
        anchor: usize,
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        mark: Mark,
        anchor: usize,
        flow: bool,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

impl Frame {
    fn mark(&self) -> Mark {
        match self {
            Frame::Seq { mark, .. } | Frame::Map { mark, .. } => *mark,
        }
    }

    fn is_flow(&self) -> bool {
        match self {
            Frame::Seq { flow, .. } | Frame::Map { flow, .. } => *flow,
        }
    }
}

struct Builder<'t> {
    text: &'t str,
    origin: &'t str,
    stack: Vec<Frame>,
    /// Anchored nodes by anchor id, with their node count.
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    root: Option<Node>,
    documents: usize,
    errors: Vec<SpecError>,
    /// Open flow collections (`[`, `{`), and the work they cost so far.
    flow_depth: usize,
    flow_work: u64,
    /// The text is ASCII: a character index is a byte offset.
    ascii: bool,
    /// (character index, byte offset) of the last lookup, to map the
    /// parser's character positions to bytes in one pass.
    cursor: (usize, usize),
}

impl Builder<'_> {
    /// Take one event; `Ok(false)` at the end of the stream.
    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<bool, SpecError> {
        let mark = Mark::from_span(span);
        self.flow_work += self.flow_depth.saturating_sub(FREE_FLOW_DEPTH) as u64;
        if self.flow_work > MAX_FLOW_WORK {
            return Err(self.error(
                mark,
                "too many or too deeply nested flow collections ([...] or {...}) for the YAML reader; refusing to parse".into(),
                "write lists and mappings in block style (`- item` lines, `key: value` lines), or split the file".into(),
            ));
        }
        match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::StreamEnd => return Ok(false),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.error(
                        mark,
                        "invalid YAML: more than one document in the file".into(),
                        "a spec file is one YAML document: remove the `---` line and what follows, or merge the documents".into(),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let scalar = Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| tag_name(&t.handle, &t.suffix)),
                };
                if self.is_awaiting_key()
                    && scalar.plain
                    && scalar.tag.is_none()
                    && scalar.text == "<<"
                {
                    return Err(self.error(
                        mark,
                        "invalid YAML: merge keys (`<<`) are not supported".into(),
                        "write the keys out in each mapping; to share settings between hosts, put them in a file that specs name under `extends`".into(),
                    ));
                }
                let node = Node {
                    mark,
                    kind: Kind::Scalar(scalar),
                };
                self.anchor(anchor, &node, 1);
                self.push(node)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(self.error(
                        mark,
                        "invalid YAML: an alias to an unknown anchor".into(),
                        "define the anchor (`&name`) before the alias (`*name`)".into(),
                    ));
                };
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(self.error(
                        mark,
                        format!(
                            "invalid YAML: aliases expand to more than {MAX_ALIAS_NODES} values"
                        ),
                        "use anchors and aliases sparingly; a spec does not need them nested"
                            .into(),
                    ));
                }
                // The copy is where the alias is, for messages.
                self.push(Node { mark, ..node })?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_collection_tag(
                    mark,
                    tag.map(|t| tag_name(&t.handle, &t.suffix)),
                    "!!seq",
                )?;
                let flow = self.opens_flow(span);
                self.open(Frame::Seq {
                    mark,
                    anchor,
                    flow,
                    items: Vec::new(),
                })?;
            }
            Event::MappingStart(anchor, tag) => {
                self.check_collection_tag(
                    mark,
                    tag.map(|t| tag_name(&t.handle, &t.suffix)),
                    "!!map",
                )?;
                let flow = self.opens_flow(span);
                self.open(Frame::Map {
                    mark,
                    anchor,
                    flow,
                    entries: Vec::new(),
                    key: None,
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(true);
                };
                if frame.is_flow() {
                    self.flow_depth = self.flow_depth.saturating_sub(1);
                }
                let (node, anchor) = match frame {
                    Frame::Seq {
                        mark,
                        anchor,
                        items,
                        ..
                    } => (
                        Node {
                            mark,
                            kind: Kind::Seq(items),
                        },
                        anchor,
                    ),
                    Frame::Map {
                        mark,
                        anchor,
                        entries,
                        ..
                    } => (
                        Node {
                            mark,
                            kind: Kind::Map(self.without_duplicates(entries)),
                        },
                        anchor,
                    ),
                };
                if anchor != 0 {
                    let size = count_nodes(&node);
                    self.anchor(anchor, &node, size);
                }
                self.push(node)?;
            }
        }
        Ok(true)
    }

    fn is_awaiting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn anchor(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }

    fn check_collection_tag(
        &self,
        mark: Mark,
        tag: Option<String>,
        allowed: &str,
    ) -> Result<(), SpecError> {
        match tag {
            Some(t) if t != allowed => Err(self.error(
                mark,
                format!("unsupported YAML tag {t}"),
                "remove the tag: a spec needs none".into(),
            )),
            _ => Ok(()),
        }
    }

    fn open(&mut self, frame: Frame) -> Result<(), SpecError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                frame.mark(),
                format!("invalid YAML: lists and mappings nested deeper than {MAX_DEPTH} levels"),
                "a spec needs only a few levels; check the indentation".into(),
            ));
        }
        if frame.is_flow() {
            self.flow_depth += 1;
        }
        self.stack.push(frame);
        Ok(())
    }

    /// A collection start is flow style when its event ends with the `[`
    /// or `{` (after an anchor or tag, if any); block starts end with
    /// indentation or are empty.
    fn opens_flow(&mut self, span: &Span) -> bool {
        if span.is_empty() {
            return false;
        }
        let last = span.end.index() - 1;
        let byte = self.byte_offset(last);
        matches!(self.text.as_bytes().get(byte), Some(b'[' | b'{'))
    }

    /// The byte offset of character `index` (the parser counts characters).
    fn byte_offset(&mut self, index: usize) -> usize {
        if self.ascii {
            return index;
        }
        // Collection starts come in text order, so the cursor only moves
        // forward and the whole text is walked once.
        if index < self.cursor.0 {
            self.cursor = (0, 0);
        }
        let (mut chars, mut bytes) = self.cursor;
        for c in self.text[bytes..].chars() {
            if chars == index {
                break;
            }
            chars += 1;
            bytes += c.len_utf8();
        }
        self.cursor = (chars, bytes);
        bytes
    }

    /// A finished node goes into the collection being built (or is the
    /// document).
    fn push(&mut self, node: Node) -> Result<(), SpecError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
        }
        Ok(())
    }

    /// A mapping's entries without the ones whose key repeats an earlier
    /// key (each reported, at the repeat, naming the first). Sorting the
    /// keys finds them without hashing or copying each key.
    fn without_duplicates(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        let text = |i: usize| entries[i].0.scalar().map(|s| s.text.as_str());
        let mut order: Vec<usize> = (0..entries.len()).filter(|&i| text(i).is_some()).collect();
        order.sort_by(|&a, &b| text(a).cmp(&text(b)).then(a.cmp(&b)));
        let mut repeats: Vec<(usize, usize)> = order
            .windows(2)
            .filter(|w| text(w[0]) == text(w[1]))
            .map(|w| (w[1], w[0]))
            .collect();
        if repeats.is_empty() {
            return entries;
        }
        // (repeat, first): a run of three names the first for both.
        let mut firsts: HashMap<usize, usize> = HashMap::new();
        for (repeat, previous) in &repeats {
            let first = firsts.get(previous).copied().unwrap_or(*previous);
            firsts.insert(*repeat, first);
        }
        repeats.sort_unstable();
        for (repeat, _) in &repeats {
            let first = firsts[repeat];
            let shown = super::sections::shown(text(*repeat).unwrap_or_default());
            let e = self.error(
                entries[*repeat].0.mark,
                format!("invalid YAML: duplicate key `{shown}`"),
                format!(
                    "a key may appear only once in a mapping; `{shown}` is first set at line {}",
                    entries[first].0.mark.line
                ),
            );
            self.errors.push(e);
        }
        let drop: std::collections::HashSet<usize> = repeats.iter().map(|(r, _)| *r).collect();
        entries
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, e)| e)
            .collect()
    }

    fn error(&self, mark: Mark, message: String, hint: String) -> SpecError {
        SpecError {
            location: mark.at(self.origin),
            message,
            hint: Some(hint),
        }
    }

    /// The parser's error as a spec error, with a better place and hint
    /// for the usual mistakes: a tab in the indentation, a flow collection
    /// or quoted string left open.
    fn syntax_error(&self, mut mark: Mark, info: &str) -> SpecError {
        let mut message = info.to_string();
        let mut hint =
            "a spec is a YAML mapping such as `inet_protocols: ipv4`; check indentation and quoting"
                .to_string();
        let tab_line = self
            .text
            .lines()
            .enumerate()
            .skip(mark.line.saturating_sub(1))
            .take(if info.contains("tab") { 2 } else { 1 })
            .find_map(|(i, line)| {
                let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
                indent.find('\t').map(|col| (i + 1, col + 1))
            });
        let open_flow = self.stack.iter().rev().find_map(|f| {
            let m = f.mark();
            let c = self.char_at(m)?;
            matches!(c, '[' | '{').then_some((m, c))
        });
        if let Some((line, column)) = tab_line {
            mark = Mark { line, column };
            message = "found a tab character that violates indentation".into();
            hint = "YAML indentation must be spaces; this line is indented with a tab".into();
        } else if info.contains("block sequence entries are not allowed") {
            hint = "a `-` followed by a space or the end of the line starts a list item in YAML; for master.cf's \"use the default\" write \"-\" in quotes".into();
        } else if info.contains("end of stream") {
            hint = "the file ends inside a quoted string, a [list] or a {mapping}: check for a missing closing quote or bracket".into();
        } else if let Some((m, c)) = open_flow {
            let close = if c == '[' { ']' } else { '}' };
            hint = format!(
                "the `{c}` at line {} column {} is not closed: check for a missing `{close}` or a missing comma",
                m.line, m.column
            );
        }
        SpecError {
            location: mark.at(self.origin),
            message: format!("invalid YAML: {message}"),
            hint: Some(hint),
        }
    }

    /// The character at `mark`.
    fn char_at(&self, mark: Mark) -> Option<char> {
        self.text
            .lines()
            .nth(mark.line.checked_sub(1)?)?
            .chars()
            .nth(mark.column.checked_sub(1)?)
    }
}

/// A JSON value (an Ansible option) as a tree, without parsing text:
/// strings are quoted scalars (always text), numbers, booleans and null
/// plain ones (read by the same rules as YAML). JSON has no places, so
/// every node is at line 0 (messages name only the origin).
pub(super) fn from_json(value: &serde_json::Value, origin: &str) -> Result<Node, SpecError> {
    json_node(value, origin, 0)
}

fn json_node(value: &serde_json::Value, origin: &str, depth: usize) -> Result<Node, SpecError> {
    use serde_json::Value as J;
    let scalar = |text: String, plain: bool| {
        Kind::Scalar(Scalar {
            text,
            plain,
            tag: None,
        })
    };
    let kind = match value {
        J::Null => scalar("null".into(), true),
        J::Bool(b) => scalar(b.to_string(), true),
        J::Number(n) => scalar(n.to_string(), true),
        J::String(s) => scalar(s.clone(), false),
        J::Array(_) | J::Object(_) if depth >= MAX_DEPTH => {
            return Err(SpecError {
                location: Mark::default().at(origin),
                message: format!("lists and mappings nested deeper than {MAX_DEPTH} levels"),
                hint: Some("a spec needs only a few levels".into()),
            })
        }
        J::Array(items) => Kind::Seq(
            items
                .iter()
                .map(|i| json_node(i, origin, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => Kind::Map(
            map.iter()
                .map(|(k, v)| {
                    let key = Node {
                        mark: Mark::default(),
                        kind: scalar(k.clone(), false),
                    };
                    Ok((key, json_node(v, origin, depth + 1)?))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Node {
        mark: Mark::default(),
        kind,
    })
}

/// A tag as users write it: `!!str` for the core schema, `!foo` for local.
fn tag_name(handle: &str, suffix: &str) -> String {
    match handle {
        "tag:yaml.org,2002:" => format!("!!{suffix}"),
        "!" => format!("!{suffix}"),
        other => format!("{other}{suffix}"),
    }
}

fn count_nodes(node: &Node) -> usize {
    // Iterative: a tree as deep as MAX_DEPTH is fine either way, but this
    // walks no deeper than needed.
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.kind {
            Kind::Scalar(_) => {}
            Kind::Seq(items) => stack.extend(items),
            Kind::Map(entries) => {
                for (k, v) in entries {
                    stack.push(k);
                    stack.push(v);
                }
            }
        }
    }
    count
}

/// YAML allows only printable characters in a stream (YAML 1.2 `c-printable`:
/// tab, line feed, carriage return, and the printable ranges); the parser
/// does not check it, so a file of terminal escapes would otherwise reach
/// messages. The first other character is refused, by code point.
fn control_character_error(text: &str, origin: &str) -> Option<SpecError> {
    let (offset, c) = text.char_indices().find(|&(_, c)| !is_printable(c))?;
    let (line, column) = line_column(text.as_bytes(), offset);
    let column = text[offset + 1 - column..offset].chars().count() + 1;
    Some(SpecError {
        location: Location {
            file: origin.to_string(),
            line,
            column,
        },
        message: "invalid YAML: control characters are not allowed".into(),
        hint: Some(format!(
            "remove the character U+{:04X}; to put one in a value, write it as an escape in double quotes (\"\\x{:02X}\")",
            c as u32, c as u32
        )),
    })
}

/// YAML 1.2 `c-printable`: what a YAML stream may hold as is.
pub(super) fn is_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
        || ('\u{a0}'..='\u{d7ff}').contains(&c)
        || ('\u{e000}'..='\u{fffd}').contains(&c)
        || c >= '\u{10000}'
}

/// Flow collections a spec may nest without cost (JSON from Ansible nests
/// four or five).
const FREE_FLOW_DEPTH: usize = 8;

/// Work budget for deep flow nesting. The YAML scanner keeps state for
/// every open flow collection (`[`, `{`) and looks at all of it for each
/// token it reads, so its time is tokens times flow depth (saphyr-parser
/// 0.3.4, release build: 4,000,000 items 250 levels deep take 5.9 s, the
/// same items one level deep a fraction of a second). Each event costs
/// the flow depth beyond [`FREE_FLOW_DEPTH`]; past this budget (about a
/// tenth of a second) the file is refused. Unlike a count of brackets in
/// the text, this does not refuse a large flat JSON spec, and quoting
/// cannot hide the depth: it comes from the parser's own events. Block
/// nesting costs nothing here; its depth is capped by [`MAX_DEPTH`], and
/// the parser caps flow nesting itself ("recursion limit exceeded").
pub(super) const MAX_FLOW_WORK: u64 = 20_000_000;

/// 1-based (line, column) of byte `offset` in `bytes` (the column counts
/// bytes).
pub(super) fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        let (node, errors) = parse(text, "t.yaml");
        assert!(errors.is_empty(), "{errors:?}");
        node.expect("a document")
    }

    fn value(text: &str) -> Result<Value<'static>, ScalarError> {
        let node = doc(&format!("v: {text}\n"));
        let Kind::Map(entries) = node.kind else {
            panic!("not a mapping")
        };
        let s = entries[0].1.scalar().expect("scalar").clone();
        // Leak: test-only, to return a borrowed value.
        let s: &'static Scalar = Box::leak(Box::new(s));
        s.resolve()
    }

    #[test]
    fn plain_scalars_resolve_by_postform_rules() {
        assert_eq!(value("~"), Ok(Value::Null));
        assert_eq!(value("NULL"), Ok(Value::Null));
        assert_eq!(value("True"), Ok(Value::Bool(true)));
        assert_eq!(value("false"), Ok(Value::Bool(false)));
        for s in ["yes", "no", "on", "y", "n", "Off"] {
            assert_eq!(value(s), Ok(Value::Str(s)), "{s}");
        }
        assert_eq!(value("42"), Ok(Value::Int(42)));
        assert_eq!(value("-7"), Ok(Value::Int(-7)));
        assert_eq!(value("0"), Ok(Value::Int(0)));
        // adversarial-review L2: kept as written, never converted.
        for s in ["0x10", "0o10", "0b101", "+5", "007", "1_000", "-0", "0600"] {
            assert_eq!(value(s), Ok(Value::Str(s)), "{s}");
        }
        for s in [
            "1.5", "3.10", "1e3", "-2.5E-3", ".5", "1.", ".inf", "-.Inf", ".nan",
        ] {
            assert_eq!(value(s), Err(ScalarError::Number(s.into())), "{s}");
        }
        assert_eq!(
            value("99999999999999999999"),
            Err(ScalarError::Number("99999999999999999999".into()))
        );
        assert_eq!(value("'1.5'"), Ok(Value::Str("1.5")));
        assert_eq!(value("\"true\""), Ok(Value::Str("true")));
        assert_eq!(value("1.2.3.4"), Ok(Value::Str("1.2.3.4")));
        assert_eq!(value("e3"), Ok(Value::Str("e3")));
    }

    #[test]
    fn tags() {
        assert_eq!(value("!!str 12"), Ok(Value::Str("12")));
        assert_eq!(value("!!str true"), Ok(Value::Str("true")));
        assert_eq!(value("!!int \"42\""), Ok(Value::Int(42)));
        assert_eq!(value("!!bool true"), Ok(Value::Bool(true)));
        assert_eq!(value("!!null ''"), Ok(Value::Null));
        // adversarial-review L1: refused, not taken as the base64 text.
        assert_eq!(value("!!binary aGVsbG8="), Err(ScalarError::Binary));
        assert_eq!(value("!foo x"), Err(ScalarError::Tag("!foo".into())));
        assert!(matches!(
            value("!!int 0x10"),
            Err(ScalarError::Tagged { .. })
        ));
        assert_eq!(value("!!float 1"), Err(ScalarError::Number("1".into())));
    }

    #[test]
    fn every_node_knows_its_place() {
        let d = doc("# c\nmain:\n  biff: no\n  list: [a, 'b']\n");
        let Kind::Map(top) = &d.kind else { panic!() };
        assert_eq!(top[0].0.mark, Mark { line: 2, column: 1 });
        let Kind::Map(main) = &top[0].1.kind else {
            panic!()
        };
        assert_eq!(main[0].0.mark, Mark { line: 3, column: 3 });
        assert_eq!(main[0].1.mark, Mark { line: 3, column: 9 });
        let Kind::Seq(items) = &main[1].1.kind else {
            panic!()
        };
        assert_eq!(
            items[1].mark,
            Mark {
                line: 4,
                column: 13
            }
        );
    }

    #[test]
    fn aliases_copy_their_anchor_and_bombs_are_refused() {
        let d = doc("a: &x [1, 2]\nb: *x\n");
        let Kind::Map(top) = &d.kind else { panic!() };
        assert_eq!(top[1].1.kind, top[0].1.kind);
        assert_eq!(top[1].1.mark, Mark { line: 2, column: 4 });
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        let mut prev = 'a';
        for name in "bcdefghi".chars() {
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
            prev = name;
        }
        let (_, errors) = parse(&bomb, "t.yaml");
        assert!(errors[0].message.contains("aliases expand"), "{errors:?}");
    }

    #[test]
    fn refusals() {
        let first = |t: &str| parse(t, "t.yaml").1.remove(0);
        let e = first("a: 1\nb: 2\na: 3\n");
        assert_eq!((e.location.line, e.location.column), (3, 1));
        assert_eq!(e.message, "invalid YAML: duplicate key `a`");
        // Every repeat, in file order, each naming the first; the rest is kept.
        let (node, errors) = parse("a: 1\nb:\n  x: 1\n  x: 2\na: 3\na: 4\nc: 5\n", "t.yaml");
        let got: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.location.line, e.hint.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    4,
                    "a key may appear only once in a mapping; `x` is first set at line 3"
                ),
                (
                    5,
                    "a key may appear only once in a mapping; `a` is first set at line 1"
                ),
                (
                    6,
                    "a key may appear only once in a mapping; `a` is first set at line 1"
                ),
            ]
        );
        let Some(Node {
            kind: Kind::Map(top),
            ..
        }) = node
        else {
            panic!()
        };
        let keys: Vec<&str> = top.iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let e = first("a: 1\n---\nb: 2\n");
        assert_eq!(e.location.line, 2);
        assert!(e.message.contains("more than one document"));
        // adversarial-review L3: a clear refusal.
        let e = first("x: &x {a: 1}\n<<: *x\n");
        assert_eq!(
            e.message,
            "invalid YAML: merge keys (`<<`) are not supported"
        );
        assert_eq!(e.location.line, 2);
        let e = first("a: \u{1b}[2J\n");
        assert_eq!(
            e.message,
            "invalid YAML: control characters are not allowed"
        );
        assert_eq!((e.location.line, e.location.column), (1, 4));
        assert!(!e.to_string().contains('\u{1b}'));
        let e = first(&format!("a:\n{}x\n", "- ".repeat(200)));
        assert!(e.message.contains("nested deeper"), "{e}");
        let e = first("a: !!set {x: null}\n");
        assert_eq!(e.message, "unsupported YAML tag !!set");
        // Quoted `<<` is an ordinary key.
        assert!(parse("'<<': 1\n", "t.yaml").1.is_empty());
    }

    /// Deep flow nesting with many items is refused early; a large flat
    /// flow document (JSON from Ansible) is not, however many brackets.
    #[test]
    fn flow_work_budget() {
        let deep = format!(
            "a: {}{}{}\n",
            "[".repeat(60),
            "x,".repeat(1_000_000),
            "]".repeat(60)
        );
        let (_, errors) = parse(&deep, "t.yaml");
        assert!(
            errors[0]
                .message
                .starts_with("too many or too deeply nested flow"),
            "{errors:?}"
        );
        // Refused early, not after reading everything.
        assert!(errors[0].location.column < deep.len() / 2, "{errors:?}");
        let flat: String = std::iter::once("{".to_string())
            .chain((0..20_000).map(|i| format!("\"p{i}\": [\"a\", {{\"k\": [1]}}],")))
            .chain(["\"last\": 1}".to_string()])
            .collect();
        let (node, errors) = parse(&flat, "t.json");
        assert!(errors.is_empty(), "{errors:?}");
        let Some(Node {
            kind: Kind::Map(entries),
            ..
        }) = node
        else {
            panic!("not a mapping")
        };
        assert_eq!(entries.len(), 20_001);
        // Flow detection maps character positions to bytes past non-ASCII text.
        let (node, errors) = parse("é: [a, {b: é}]\nü: &x\n  - [c]\n", "t.yaml");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(node.is_some());
    }

    /// A large flow collection inside another is refused before the parser
    /// holds all of its tokens; one large scalar is fine.
    #[test]
    fn lookahead_budget() {
        let nested = format!("a: [[{}]]\n", "x,".repeat(MAX_BUFFERED_INDICATORS));
        let (node, errors) = parse(&nested, "t.yaml");
        assert!(node.is_none());
        assert!(
            errors[0]
                .message
                .starts_with("too many or too deeply nested flow"),
            "{errors:?}"
        );
        let big = format!(
            "v: \"{}\"\nw: |\n  {}\n",
            "xxxx,".repeat(200_000),
            "y".repeat(1_000_000)
        );
        let (node, errors) = parse(&big, "t.yaml");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(node.is_some());
    }

    #[test]
    fn empty_documents() {
        for t in ["", "# only a comment\n", "---\n", "\n\n"] {
            let (node, errors) = parse(t, "t.yaml");
            assert!(errors.is_empty(), "{t:?}: {errors:?}");
            assert!(node.as_ref().is_none_or(Node::is_null), "{t:?}: {node:?}");
        }
    }
}

#[cfg(test)]
mod never_panics {
    use proptest::prelude::*;

    proptest! {
        /// Any text, YAML-ish or not: an answer, never a panic.
        #[test]
        fn any_text_loads_or_fails_cleanly(
            text in proptest::string::string_regex(
                "([a-z_/:.0-9]{0,8}|master|maps|aliases|smtp/inet|type|hash|entries|\\{file: x\\}|\\{env: X\\}|options|[-?:,\\[\\]{}#&*!|>'\"%@ \t\n\\\\]|<<|---|!!binary|!!str|~|\u{1b}|é){0,40}"
            ).unwrap()
        ) {
            let _ = super::parse(&text, "p.yaml");
            let _ = crate::engine::spec::Spec::from_yaml_str(&text, "p.yaml");
        }
    }
}
