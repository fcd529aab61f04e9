//! Postfix parameter-value macro syntax: `$name` references, their syntax
//! check, expansion, and `{ }` grouping in list values.
//!
//! This is a port of the Postfix 3.7 code that postconf and every daemon use:
//!
//! * `util/mac_parse.c` splits a value into literal text and macro
//!   expressions: `$name` (letters, digits, `_`), `${text}` and the legacy
//!   `$(text)` (only the bracket that opened is counted for nesting), and
//!   `$$` for a literal `$`. An unterminated `${` is "truncated macro
//!   reference"; a `$` not followed by a name or bracket is "empty macro name".
//! * `util/mac_expand.c` interprets each expression: `${name}`,
//!   `${name?text}`, `${name:text}`, `${name?{t}:{f}}`, `${name?{t}:f}`, and
//!   relational `${{a} == {b} ? {t} : {f}}` with `==, !=, <, <=, >=, >`
//!   (numeric when both sides are all digits), plus the `level` suffix
//!   (`<level`, `<=level`, ...) that `global/compat_level.c` registers for
//!   compatibility levels. Whitespace around names and `{}` operands is
//!   `" \t\r\n"` only (VT and FF are *not* skipped here, unlike in main.cf
//!   line handling; verified with postconf 3.7.11).
//! * `util/mystrtok.c` `mystrtokq` + `util/extpar.c`: list values split on
//!   `", \t\r\n"`, and an element that starts with `{` must be a balanced
//!   `{...}` group (`missing '}'`, `syntax error after '}'`).
//!
//! Postfix has two ways of walking a value. *Scan* mode (postconf's search
//! for user-defined names) visits both branches of every conditional;
//! *expand* mode visits only the branch that is taken. `postconf -n` warns
//! about syntax errors found while scanning but exits with `fatal: macro
//! processing error` only for errors met while expanding. [`check_syntax`]
//! is deliberately the stricter scan: an error hidden in a branch that is
//! not taken today is still an error the day the condition flips.
//! [`expand`] reproduces the expand-mode behaviour exactly.

use crate::postfix::number::compat_level;
use crate::postfix::space::until_nul;
use thiserror::Error;

/// A malformed macro expression. The messages are the warnings postconf
/// prints before it gives up with `fatal: macro processing error`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MacroError {
    /// `${` or `$(` without its closing bracket.
    #[error("truncated macro reference: \"{text}\"")]
    Truncated { text: String, offset: usize },
    /// `$` followed by neither a name nor a bracket (`$`, `$-x`, `${}`).
    #[error("empty macro name: \"{text}\"")]
    EmptyName { text: String, offset: usize },
    /// A character that cannot be part of a parameter name, e.g. `${my-name}`.
    #[error("attribute name syntax error at: \"...{before}>>>{after}\"")]
    NameSyntax {
        before: String,
        after: String,
        offset: usize,
    },
    /// A `{` operand without its `}`.
    #[error("unbalanced {{}} in attribute expression: \"{text}\"")]
    UnbalancedBraces { text: String, offset: usize },
    /// `${{a} =~ {b}}`: not one of the relational operators.
    #[error(
        "\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: \"...{left}}}>>>{after}\""
    )]
    ExpectedOperator {
        left: String,
        after: String,
        offset: usize,
    },
    /// `${{a} <lvl {b}}`: only the `level` suffix exists.
    #[error("bad operator suffix at: \"...{op}>>>{suffix}\"")]
    BadOperatorSuffix {
        op: String,
        suffix: String,
        offset: usize,
    },
    /// `${{a} == b}`: the right operand must be in `{}`.
    /// (`before` is the left operand and the operator, as in `{a} ==`.)
    #[error("\"{{expression}}\" expected at: \"...{before}>>>{after}\"")]
    ExpectedOperand {
        before: String,
        after: String,
        offset: usize,
    },
    /// `${{a} == {b} x}`: a relational expression must end or go on with `?`/`:`.
    #[error("\"?\" or \":\" expected at: \"...}}>>>{after}\"")]
    ExpectedCondition { after: String, offset: usize },
    /// `${x?{a} junk}`.
    #[error("\":\" expected at: \"...{text}}}>>>{after}\"")]
    ExpectedColon {
        text: String,
        after: String,
        offset: usize,
    },
    /// `${x?{a}:{b} junk}`.
    #[error("unexpected input at: \"...{text}}}>>>{after}\"")]
    UnexpectedInput {
        text: String,
        after: String,
        offset: usize,
    },
    /// An operand of a `<level`-style comparison that is not `major[.minor[.patch]]`.
    #[error("malformed compatibility level syntax: \"{text}\"")]
    BadCompatLevel { text: String, offset: usize },
    /// A numeric comparison operand that does not fit a C long.
    #[error("mac_exp_eval: bad conversion: {text}")]
    BadConversion { text: String, offset: usize },
    /// More than 100 nested expansions (e.g. `a = $b`, `b = $a`).
    #[error("unreasonable macro call nesting: \"{text}\"")]
    TooDeep { text: String, offset: usize },
}

impl MacroError {
    /// Byte offset in the checked value where the problem was found. For a
    /// problem inside the value of a referenced parameter (recursive
    /// [`expand`]), the offset of that reference.
    pub fn offset(&self) -> usize {
        match self {
            MacroError::Truncated { offset, .. }
            | MacroError::EmptyName { offset, .. }
            | MacroError::NameSyntax { offset, .. }
            | MacroError::UnbalancedBraces { offset, .. }
            | MacroError::ExpectedOperator { offset, .. }
            | MacroError::BadOperatorSuffix { offset, .. }
            | MacroError::ExpectedOperand { offset, .. }
            | MacroError::ExpectedCondition { offset, .. }
            | MacroError::ExpectedColon { offset, .. }
            | MacroError::UnexpectedInput { offset, .. }
            | MacroError::BadCompatLevel { offset, .. }
            | MacroError::BadConversion { offset, .. }
            | MacroError::TooDeep { offset, .. } => *offset,
        }
    }
}

/// Every parameter name the value references, in order of first
/// appearance, without duplicates: `$name`, `${name}`, `$(name)`, the name
/// in `${name?..}` / `${name:..}`, and names inside both branches of
/// conditionals and inside relational operands, recursively. This is the
/// set postconf's scan visits (postconf_user.c). Scanning stops at the
/// first syntax error; names seen before it are returned.
pub fn references(value: &[u8]) -> Vec<String> {
    let mut engine = Engine::scan();
    // Errors are reported by check_syntax; here we only want the names.
    let _ = engine.expand_text(value, Base::At(0), &mut Vec::new());
    engine.names
}

/// The value with each plain reference spelled `$name`: `${name}` and
/// `$(name)` name the same parameter for Postfix (mac_parse.c), so two
/// values that differ only in that spelling expand alike. A reference is
/// rewritten only when the byte after it cannot extend the name
/// (`${a}b` stays as it is); `$$`, conditionals and expressions are kept.
pub fn canonical_references(value: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !value.contains(&b'$') {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b != b'$' {
            out.push(b);
            i += 1;
            continue;
        }
        match value.get(i + 1) {
            Some(b'$') => {
                out.extend_from_slice(b"$$");
                i += 2;
            }
            Some(&open @ (b'{' | b'(')) => {
                let close = if open == b'{' { b'}' } else { b')' };
                let start = i + 2;
                let mut end = start;
                while end < value.len() && is_name_byte(value[end]) {
                    end += 1;
                }
                let plain = end > start
                    && value.get(end) == Some(&close)
                    && !value.get(end + 1).is_some_and(|&n| is_name_byte(n));
                if plain {
                    out.push(b'$');
                    out.extend_from_slice(&value[start..end]);
                    i = end + 1;
                } else {
                    out.push(b'$');
                    i += 1;
                }
            }
            _ => {
                out.push(b'$');
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Check the macro syntax of a parameter value, visiting every branch (see
/// the module docs). Literal operands of `<level`-style comparisons must be
/// compatibility levels. Values of `raw` parameters are never expanded by
/// Postfix and should not be checked.
pub fn check_syntax(value: &[u8]) -> Result<(), MacroError> {
    let mut engine = Engine::scan();
    engine
        .expand_text(value, Base::At(0), &mut Vec::new())
        .map_err(|e| *e)
}

/// The result of [`expand`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The expanded value.
    pub value: Vec<u8>,
    /// Names that were used but had no value (lookup returned `None`), in
    /// order, without duplicates. Postfix expands them to nothing and
    /// postconf warns `undefined parameter`.
    pub undefined: Vec<String>,
}

/// Expand a value like Postfix does for main.cf (`mail_conf_eval`):
/// recursively, evaluating only the branches that are taken. `lookup`
/// returns the raw (unexpanded) value of a parameter, or `None` when it has
/// neither an explicit value nor a default.
pub fn expand(
    value: &[u8],
    mut lookup: impl FnMut(&str) -> Option<Vec<u8>>,
) -> Result<Expanded, MacroError> {
    let mut engine = Engine {
        scan: false,
        lookup: Some(&mut lookup),
        names: Vec::new(),
        undefined: Vec::new(),
        depth: 0,
    };
    let mut out = Vec::new();
    engine
        .expand_text(value, Base::At(0), &mut out)
        .map_err(|e| *e)?;
    Ok(Expanded {
        value: out,
        undefined: engine.undefined,
    })
}

/// `CHARS_SPACE` as used by mac_expand: VT and FF are not included.
fn is_expr_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `%.20s` of the postconf messages.
fn head20(b: &[u8]) -> String {
    lossy(&b[..b.len().min(20)])
}

type Res<T> = Result<T, Box<MacroError>>;

/// Errors are built out of line and boxed so that the frames of the
/// recursive parser stay small (its depth is bounded, but not tiny).
#[cold]
#[inline(never)]
fn fail<T>(make: impl FnOnce() -> MacroError) -> Res<T> {
    Err(Box::new(make()))
}

#[cold]
#[inline(never)]
fn boxed(e: MacroError) -> Box<MacroError> {
    Box::new(e)
}

/// Where a piece of text sits in the value being checked, for offsets.
#[derive(Debug, Clone, Copy)]
enum Base {
    /// The text starts at this offset of the checked value.
    At(usize),
    /// The text came from a lookup; report this offset (the reference).
    Fixed(usize),
}

impl Base {
    fn at(self, i: usize) -> usize {
        match self {
            Base::At(b) => b + i,
            Base::Fixed(o) => o,
        }
    }
    fn shift(self, i: usize) -> Base {
        match self {
            Base::At(b) => Base::At(b + i),
            fixed => fixed,
        }
    }
}

/// Relational operators (`mac_exp_op_table`).
#[derive(Debug, Clone, Copy)]
enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Ge,
    Gt,
}

impl RelOp {
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            RelOp::Eq => ord == Equal,
            RelOp::Ne => ord != Equal,
            RelOp::Lt => ord == Less,
            RelOp::Le => ord != Greater,
            RelOp::Ge => ord != Less,
            RelOp::Gt => ord == Greater,
        }
    }
}

/// mac_expand's per-context nesting limit.
const MAX_LEVEL: usize = 100;
/// A guard on total recursion across nested contexts (relational operands
/// start a new context in Postfix, which has no limit there); keeps
/// adversarial input from exhausting the stack.
const MAX_DEPTH: usize = 120;

type LookupFn<'a> = &'a mut dyn FnMut(&str) -> Option<Vec<u8>>;

struct Engine<'a> {
    /// Scan mode (MAC_EXP_FLAG_SCAN): visit every branch, expand nothing.
    scan: bool,
    lookup: Option<LookupFn<'a>>,
    /// Scan mode: names seen.
    names: Vec<String>,
    /// Expand mode: names without a value.
    undefined: Vec<String>,
    depth: usize,
}

impl Engine<'_> {
    fn scan() -> Self {
        Engine {
            scan: true,
            lookup: None,
            names: Vec::new(),
            undefined: Vec::new(),
            depth: 0,
        }
    }

    /// A fresh `mac_expand` call (new nesting-level counter).
    fn expand_text(&mut self, text: &[u8], base: Base, out: &mut Vec<u8>) -> Res<()> {
        let mut level = 0;
        self.parse(text, base, out, &mut level)
    }

    /// `mac_parse`: literal text and `$` expressions.
    fn parse(&mut self, value: &[u8], base: Base, out: &mut Vec<u8>, level: &mut usize) -> Res<()> {
        let v = until_nul(value);
        let mut i = 0;
        while i < v.len() {
            if v[i] != b'$' {
                if !self.scan {
                    out.push(v[i]);
                }
                i += 1;
                continue;
            }
            if v.get(i + 1) == Some(&b'$') {
                if !self.scan {
                    out.push(b'$');
                }
                i += 2;
                continue;
            }
            let dollar = i;
            i += 1;
            let (expr_start, expr_end) = match v.get(i) {
                Some(&open @ (b'{' | b'(')) => {
                    let close = if open == b'{' { b'}' } else { b')' };
                    let start = i + 1;
                    let mut depth = 1usize;
                    let mut ep = start;
                    while depth > 0 {
                        let Some(&b) = v.get(ep) else {
                            return fail(|| MacroError::Truncated {
                                text: lossy(v),
                                offset: base.at(dollar),
                            });
                        };
                        if b == open {
                            depth += 1;
                        }
                        if b == close {
                            depth -= 1;
                        }
                        ep += 1;
                    }
                    i = ep;
                    (start, ep - 1)
                }
                _ => {
                    let start = i;
                    while i < v.len() && is_name_byte(v[i]) {
                        i += 1;
                    }
                    (start, i)
                }
            };
            if expr_start == expr_end {
                return fail(|| MacroError::EmptyName {
                    text: lossy(v),
                    offset: base.at(dollar),
                });
            }
            self.expression(&v[expr_start..expr_end], base.shift(expr_start), out, level)?;
        }
        Ok(())
    }

    /// `mac_expand_callback` for one expression (the text inside `${}`).
    fn expression(
        &mut self,
        expr: &[u8],
        base: Base,
        out: &mut Vec<u8>,
        level: &mut usize,
    ) -> Res<()> {
        *level += 1;
        self.depth += 1;
        if *level > MAX_LEVEL || self.depth > MAX_DEPTH {
            return fail(|| MacroError::TooDeep {
                text: lossy(expr),
                offset: base.at(0),
            });
        }
        let result = self.expression_inner(expr, base, out, level);
        *level -= 1;
        self.depth -= 1;
        result
    }

    fn expression_inner(
        &mut self,
        expr: &[u8],
        base: Base,
        out: &mut Vec<u8>,
        level: &mut usize,
    ) -> Res<()> {
        let lookup: Option<Vec<u8>>;
        let op: Option<u8>;
        let mut cp;
        if let Some(brace) = find_left_curly(expr, 0) {
            // Relational expression.
            let (value, next) = self.relational(expr, brace, base)?;
            lookup = value;
            cp = next;
            match expr.get(cp) {
                None => op = None,
                Some(&c @ (b'?' | b':')) => {
                    op = Some(c);
                    cp += 1;
                }
                Some(_) => {
                    return fail(|| MacroError::ExpectedCondition {
                        after: head20(&expr[cp..]),
                        offset: base.at(cp),
                    })
                }
            }
        } else {
            // Named parameter, optionally followed by ? or :.
            let start = skip_space(expr, 0);
            cp = start;
            let name_end;
            loop {
                let t = skip_space(expr, cp);
                match expr.get(t) {
                    None => {
                        name_end = cp;
                        op = None;
                        break;
                    }
                    Some(&c @ (b'?' | b':')) => {
                        name_end = cp;
                        op = Some(c);
                        cp = t + 1;
                        break;
                    }
                    Some(_) => {}
                }
                // cp <= t < expr.len(), so expr[cp] exists.
                if !is_name_byte(expr[cp]) {
                    return fail(|| MacroError::NameSyntax {
                        before: lossy(&expr[..cp]),
                        after: head20(&expr[cp..]),
                        offset: base.at(cp),
                    });
                }
                cp += 1;
            }
            // Name bytes are ASCII (checked above), so this is lossless.
            let name = lossy(&expr[start..name_end]);
            lookup = self.look_up(name);
        }

        let taken = matches!(&lookup, Some(v) if !v.is_empty());
        match op {
            Some(first) => {
                let mut c = first;
                if c == b'?' {
                    let (t_start, t_end, next) = operand(expr, cp, base)?;
                    if taken || self.scan {
                        self.parse(&expr[t_start..t_end], base.shift(t_start), out, level)?;
                    }
                    cp = next;
                    if cp >= expr.len() {
                        return Ok(());
                    }
                    if expr[cp] != b':' {
                        return fail(|| MacroError::ExpectedColon {
                            text: lossy(&expr[t_start..t_end]),
                            after: head20(&expr[cp..]),
                            offset: base.at(cp),
                        });
                    }
                    cp += 1;
                    c = b':';
                }
                if c == b':' {
                    let (f_start, f_end, next) = operand(expr, cp, base)?;
                    if !taken || self.scan {
                        self.parse(&expr[f_start..f_end], base.shift(f_start), out, level)?;
                    }
                    if next < expr.len() {
                        return fail(|| MacroError::UnexpectedInput {
                            text: lossy(&expr[f_start..f_end]),
                            after: head20(&expr[next..]),
                            offset: base.at(next),
                        });
                    }
                }
            }
            None => {
                if self.scan {
                    return Ok(());
                }
                if let Some(v) = lookup {
                    if !v.is_empty() {
                        // MAC_EXP_FLAG_RECURSE: main.cf values are expanded again.
                        self.parse(&v, Base::Fixed(base.at(0)), out, level)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Look up a name (in USE mode for `$x`, TEST mode for `${x?..}` and
    /// `${x:..}`; both warn alike when it has no value).
    fn look_up(&mut self, name: String) -> Option<Vec<u8>> {
        if self.scan {
            if !name.is_empty() && !self.names.contains(&name) {
                self.names.push(name);
            }
            return None;
        }
        let value = self.lookup.as_mut().and_then(|f| f(&name));
        // postconf's lookup wrapper warns "undefined parameter" for every
        // lookup without a value, in TEST mode (`${x?..}`, `${x:..}`) too
        // (verified with postconf 3.7.11).
        if value.is_none() && !self.undefined.contains(&name) {
            self.undefined.push(name);
        }
        value
    }

    /// `mac_exp_parse_relational`: `{left} op {right}` starting at the `{`.
    /// Returns the fake lookup result ("true" or "") and the index after
    /// the right operand and its trailing whitespace.
    fn relational(
        &mut self,
        expr: &[u8],
        brace: usize,
        base: Base,
    ) -> Res<(Option<Vec<u8>>, usize)> {
        let (l_start, l_end, mut cp) = extract_curly(expr, brace, base)?;
        let op_start = cp;
        while cp < expr.len() && b"<>!=?+-*/~&|%".contains(&expr[cp]) {
            cp += 1;
        }
        let op = match &expr[op_start..cp] {
            b"==" => RelOp::Eq,
            b"!=" => RelOp::Ne,
            b"<" => RelOp::Lt,
            b"<=" => RelOp::Le,
            b">=" => RelOp::Ge,
            b">" => RelOp::Gt,
            _ => {
                return fail(|| MacroError::ExpectedOperator {
                    left: lossy(&expr[l_start..l_end]),
                    after: head20(&expr[op_start..]),
                    offset: base.at(op_start),
                })
            }
        };
        let op_end = cp;
        let mut compat = false;
        if expr.get(cp).is_some_and(|b| b.is_ascii_alphanumeric()) {
            let s = cp;
            while expr.get(cp).is_some_and(|b| b.is_ascii_alphanumeric()) {
                cp += 1;
            }
            if &expr[s..cp] != b"level" {
                return fail(|| MacroError::BadOperatorSuffix {
                    op: lossy(&expr[op_start..op_end]),
                    suffix: lossy(&expr[s..cp]),
                    offset: base.at(s),
                });
            }
            compat = true;
        }
        let Some(r_brace) = find_left_curly(expr, cp) else {
            return fail(|| MacroError::ExpectedOperand {
                before: format!(
                    "{{{}}} {}",
                    lossy(&expr[l_start..l_end]),
                    lossy(&expr[op_start..op_end])
                ),
                after: head20(&expr[cp..]),
                offset: base.at(cp),
            });
        };
        let (r_start, r_end, next) = extract_curly(expr, r_brace, base)?;

        let mut left = Vec::new();
        self.expand_text(&expr[l_start..l_end], base.shift(l_start), &mut left)?;
        let mut right = Vec::new();
        self.expand_text(&expr[r_start..r_end], base.shift(r_start), &mut right)?;

        if self.scan {
            // Postfix does not evaluate while scanning. We still insist that
            // literal compatibility levels are well formed: postconf -n
            // evaluates them (fatal) and so does every daemon.
            if compat {
                for (s, e) in [(l_start, l_end), (r_start, r_end)] {
                    let text = &expr[s..e];
                    if !text.contains(&b'$') && compat_level(text).is_none() {
                        return fail(|| MacroError::BadCompatLevel {
                            text: lossy(text),
                            offset: base.at(s),
                        });
                    }
                }
            }
            return Ok((None, next));
        }

        let ord = if compat {
            let l = compat_level(&left).ok_or_else(|| {
                boxed(MacroError::BadCompatLevel {
                    text: lossy(&left),
                    offset: base.at(l_start),
                })
            })?;
            let r = compat_level(&right).ok_or_else(|| {
                boxed(MacroError::BadCompatLevel {
                    text: lossy(&right),
                    offset: base.at(r_start),
                })
            })?;
            l.cmp(&r)
        } else if all_digits(&left) && all_digits(&right) {
            let l = parse_long(&left).ok_or_else(|| {
                boxed(MacroError::BadConversion {
                    text: lossy(&left),
                    offset: base.at(l_start),
                })
            })?;
            let r = parse_long(&right).ok_or_else(|| {
                boxed(MacroError::BadConversion {
                    text: lossy(&right),
                    offset: base.at(r_start),
                })
            })?;
            l.cmp(&r)
        } else {
            left.cmp(&right)
        };
        let value = if op.holds(ord) {
            b"true".to_vec()
        } else {
            Vec::new()
        };
        Ok((Some(value), next))
    }
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_expr_space(s[i]) {
        i += 1;
    }
    i
}

/// `MAC_EXP_FIND_LEFT_CURLY`: index of a `{` after optional whitespace.
fn find_left_curly(s: &[u8], i: usize) -> Option<usize> {
    let t = skip_space(s, i);
    (s.get(t) == Some(&b'{')).then_some(t)
}

/// `mac_exp_extract_curly_payload`: the balanced `{...}` at `brace`.
/// Returns (payload start, payload end, index after `}` and whitespace).
fn extract_curly(s: &[u8], brace: usize, base: Base) -> Res<(usize, usize, usize)> {
    let mut level = 1usize;
    let mut i = brace + 1;
    loop {
        match s.get(i) {
            None => {
                return fail(|| MacroError::UnbalancedBraces {
                    text: lossy(&s[brace..]),
                    offset: base.at(brace),
                })
            }
            Some(b'{') => level += 1,
            Some(b'}') => {
                level -= 1;
                if level == 0 {
                    break;
                }
            }
            Some(_) => {}
        }
        i += 1;
    }
    Ok((brace + 1, i, skip_space(s, i + 1)))
}

/// The result operand after `?` or `:`: a `{...}` group, or all the rest.
fn operand(s: &[u8], cp: usize, base: Base) -> Res<(usize, usize, usize)> {
    match find_left_curly(s, cp) {
        Some(brace) => extract_curly(s, brace, base),
        None => Ok((cp.min(s.len()), s.len(), s.len())),
    }
}

fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn parse_long(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_spellings() {
        let c =
            |v: &str| String::from_utf8(canonical_references(v.as_bytes()).into_owned()).unwrap();
        assert_eq!(c("btree:${data_directory}/x"), "btree:$data_directory/x");
        assert_eq!(c("$(a) ${b}"), "$a $b");
        assert_eq!(c("${a}b"), "${a}b");
        assert_eq!(c("$${a} ${a?x} ${a:y}"), "$${a} ${a?x} ${a:y}");
        assert_eq!(c("no refs"), "no refs");
    }

    fn refs(v: &str) -> Vec<String> {
        references(v.as_bytes())
    }

    fn lookup_table<'a>(
        table: &'a [(&'a str, &'a str)],
    ) -> impl FnMut(&str) -> Option<Vec<u8>> + 'a {
        move |name| {
            table
                .iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_bytes().to_vec())
        }
    }

    fn exp(v: &str, table: &[(&str, &str)]) -> String {
        let e = expand(v.as_bytes(), lookup_table(table)).expect("expands");
        String::from_utf8(e.value).expect("utf8")
    }

    #[test]
    fn references_cover_every_form() {
        assert_eq!(refs("$a ${b} $(c) $$d"), ["a", "b", "c"]);
        assert_eq!(refs("${x?{$y}:{$z}}"), ["x", "y", "z"]);
        assert_eq!(refs("${x:$y}"), ["x", "y"]);
        assert_eq!(
            refs("${{$a} == {${b}} ? {$c} : {$d}}"),
            ["a", "b", "c", "d"]
        );
        assert_eq!(refs("$a $a ${a}"), ["a"]);
        assert_eq!(refs("${ spaced }"), ["spaced"]);
        assert_eq!(refs("$name.suffix$other"), ["name", "other"]);
        // names stop at non-ASCII bytes
        assert_eq!(references(b"$ab\xc3\xa9"), ["ab"]);
        assert!(refs("no macros, just $$ money").is_empty());
    }

    #[test]
    fn references_of_catalog_style_defaults() {
        assert_eq!(
            refs("${{$compatibility_level} <level {1} ? {yes} : {no}}"),
            ["compatibility_level"]
        );
        assert_eq!(
            refs(
                "${smtpd_per_record_deadline?{$smtpd_per_record_deadline}:{${stress?{yes}:{no}}}}"
            ),
            ["smtpd_per_record_deadline", "stress"]
        );
    }

    // Expectations below were established with postconf 3.7.11 (`postconf -n`
    // exit status and warnings with the value as smtpd_banner).
    #[test]
    fn syntax_accepted_by_postconf() {
        for v in [
            "${x?{a}:{b}}",
            "${x?{a}:{b}} junk",
            "${{a} == {b}}",
            "${{a} == {b} ? {t} : {f}}",
            "${{a} <= {b} ? {x}}",
            "${x:${y}}",
            "${x:$y}",
            "${x?a:b}",
            "${x:a?b}",
            "${x?{a}:b}",
            "${{a} == {b} ? }",
            "${ {a} == {b} }",
            "${ myhostname }",
            "${?x}",
            "${ }",
            "${:x}",
            "${{} == {}}",
            "${{3.6} <level {1} ? {x}}",
            "${{2} <level {1}}",
            "${x ? {a} : {b}}",
            "$(x?a)",
            "${x?${y}:{z}}",
            "${{a}=={b}}",
            "${my_flag?{on}:{off}} ${my_unset:dflt} $(myhostname) $$HOME ${{$my_flag} == {yes} ? {Y} : {N}}",
            "$$",
            "",
        ] {
            assert_eq!(check_syntax(v.as_bytes()), Ok(()), "{v}");
        }
    }

    #[test]
    fn syntax_rejected_by_postconf() {
        for (v, msg) in [
            ("${myhostname ESMTP", "truncated macro reference: \"${myhostname ESMTP\""),
            ("$", "empty macro name: \"$\""),
            ("a $ b", "empty macro name: \"a $ b\""),
            ("$-x", "empty macro name: \"$-x\""),
            ("${}", "empty macro name: \"${}\""),
            ("$()", "empty macro name: \"$()\""),
            ("${my-host}", "attribute name syntax error at: \"...my>>>-host\""),
            ("${myhostname?", "truncated macro reference: \"${myhostname?\""),
            ("${x?{a} junk}", "\":\" expected at: \"...a}>>>junk\""),
            ("${x?{a}:{b} junk}", "unexpected input at: \"...b}>>>junk\""),
            (
                "${{a} =~ {b}}",
                "\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: \"...a}>>>=~ {b}\"",
            ),
            ("${{a} == b}", "\"{expression}\" expected at: \"...{a} ==>>> b\""),
            ("${{a} == {b} x}", "\"?\" or \":\" expected at: \"...}>>>x\""),
            ("${{a} <level {1} ? {x}}", "malformed compatibility level syntax: \"a\""),
            ("${{3.6} <lvl {1} ? {x}}", "bad operator suffix at: \"...<>>>lvl\""),
            ("$(myhostname", "truncated macro reference: \"$(myhostname\""),
            ("$(a}", "truncated macro reference: \"$(a}\""),
            ("${a)", "truncated macro reference: \"${a)\""),
            ("${x:{a}", "truncated macro reference: \"${x:{a}\""),
            ("$x$", "empty macro name: \"$x$\""),
            ("${x?{a}b}", "\":\" expected at: \"...a}>>>b\""),
            ("${{a}}", "\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: \"...a}>>>\""),
            ("${x?{a}:{b}:c}", "unexpected input at: \"...b}>>>:c\""),
            ("${x:{a}{b}}", "unexpected input at: \"...a}>>>{b}\""),
            ("${{a} ==  {b} ? {x} : {y} z}", "unexpected input at: \"...y}>>>z\""),
            ("${\x0bx}", "attribute name syntax error at: \"...>>>\x0bx\""),
            ("${x\x0b}", "attribute name syntax error at: \"...x>>>\x0b\""),
            ("${{a} <level {1}}", "malformed compatibility level syntax: \"a\""),
        ] {
            let err = check_syntax(v.as_bytes()).expect_err(v);
            assert_eq!(err.to_string(), msg, "{v}");
        }
    }

    #[test]
    fn errors_stay_small() {
        // Callers embed MacroError in their own error enums.
        assert!(std::mem::size_of::<MacroError>() <= 64);
    }

    #[test]
    fn scan_is_stricter_than_postconf_eval() {
        // postconf -n accepts this (the true branch is not taken, x is
        // unset) but the broken branch is a latent error.
        assert!(check_syntax(b"${x?{$(}:{b}}").is_err());
    }

    #[test]
    fn error_offsets_point_into_the_value() {
        assert_eq!(check_syntax(b"ok ${broken").map_err(|e| e.offset()), Err(3));
        assert_eq!(check_syntax(b"a ${my-x}").map_err(|e| e.offset()), Err(6));
        assert_eq!(
            check_syntax(b"${x?{$y}:{$}}").map_err(|e| e.offset()),
            Err(10)
        );
    }

    #[test]
    fn nul_ends_the_value() {
        assert_eq!(check_syntax(b"ok\0${"), Ok(()));
        assert_eq!(references(b"$a\0$b"), ["a"]);
    }

    #[test]
    fn expands_like_mac_expand() {
        let t = [("a", "A"), ("b", "$a$a"), ("empty", ""), ("n", "10")];
        assert_eq!(exp("$a ${a} $(a) $$a", &t), "A A A $a");
        assert_eq!(exp("$b", &t), "AA");
        assert_eq!(exp("${a?yes}", &t), "yes");
        assert_eq!(exp("${empty?yes}", &t), "");
        assert_eq!(exp("${missing:no}", &t), "no");
        assert_eq!(exp("${empty:no}", &t), "no");
        assert_eq!(exp("${a?{ t }:{ f }}", &t), " t ");
        assert_eq!(exp("${missing?{t}:f}", &t), "f");
        assert_eq!(exp("${{$n} > {9} ? {big} : {small}}", &t), "big");
        assert_eq!(exp("${{$n} > {9x} ? {big} : {small}}", &t), "small");
        assert_eq!(exp("${{$a} == {A}}", &t), "true");
        assert_eq!(exp("${{3.10} >level {3.9} ? {newer}}", &t), "newer");
        assert_eq!(
            exp("${{3.10} > {3.9} ? {newer} : {string-older}}", &t),
            "string-older"
        );
        assert_eq!(exp("${x?a:b}", &[("x", "1")]), "a:b");
    }

    #[test]
    fn expands_catalog_compat_defaults() {
        let v = "${{$compatibility_level} <level {3.6} ? {no} : {yes}}";
        assert_eq!(exp(v, &[("compatibility_level", "0")]), "no");
        assert_eq!(exp(v, &[("compatibility_level", "3.6")]), "yes");
        assert_eq!(exp(v, &[("compatibility_level", "3.7")]), "yes");
    }

    #[test]
    fn expand_reports_undefined_and_eval_errors() {
        // postconf 3.7.11 warns "undefined parameter" for all three forms.
        let e = expand(b"$nope ${nope2:x} ${nope3?y}", |_| None).expect("ok");
        assert_eq!(e.undefined, ["nope", "nope2", "nope3"]);
        assert_eq!(e.value, b" x ");
        // postconf: "malformed compatibility level syntax" for an empty operand
        assert!(matches!(
            expand(b"${{$x} <level {1}}", |_| None),
            Err(MacroError::BadCompatLevel { .. })
        ));
        // eval mode only visits the taken branch (postconf -n exits 0 here)
        assert!(expand(b"${x?{$(}:{b}}", |_| None).is_ok());
        assert!(expand(b"${x:{$(}}", |_| None).is_err());
    }

    #[test]
    fn recursion_is_bounded() {
        let err = expand(b"$a", |n| {
            Some(if n == "a" {
                b"$b".to_vec()
            } else {
                b"$a".to_vec()
            })
        })
        .expect_err("loops");
        assert!(matches!(err, MacroError::TooDeep { .. }), "{err}");
        assert_eq!(err.offset(), 1, "the name of the outermost reference");
        let deep = "${{".repeat(5000);
        assert!(check_syntax(deep.as_bytes()).is_err());
        let nested = format!("{}x{}", "${{".repeat(500), "} == {a}}".repeat(500));
        // Bounded well below a small (1 MiB) thread stack, even unoptimized.
        let worker = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || check_syntax(nested.as_bytes()).is_err())
            .expect("spawn");
        assert_eq!(worker.join().ok(), Some(true));
    }
}
