//! The YAML side of spec files: parsing with serde_yaml, locating keys,
//! and turning a layer's document into spec values.

use super::load::lexical_join;
use super::load::{load_layer, Bases, ExtendsRef, LoadContext};
use super::{Location, Spec, SpecError, SpecValue, FULL_FORM_KEYS};
use crate::engine::service::ServiceMode;

/// Work budget for flow collections (see [`flow_nesting_error`]): about a
/// second of a release build; a real spec needs a thousandth of it.
const MAX_FLOW_NESTING_WORK: u64 = 200_000_000;

/// libyaml (under serde_yaml) checks every open flow collection (`[`,
/// `{`) for each token it reads, so its time is the number of tokens times
/// the flow depth: 200 KB of `[[[[...` takes a minute, a few MB hours,
/// before its own recursion limit answers. A flow level needs an opening
/// bracket, so `sum over every '[' and '{' of the bytes after it` bounds
/// that work whatever the quoting; refuse a spec above the budget, before
/// parsing. (Block style, `- item` lines, costs nothing here.)
fn flow_nesting_error(text: &str, origin: &str) -> Option<SpecError> {
    let len = text.len() as u64;
    let mut work: u64 = 0;
    let mut first_over = None;
    for (i, b) in text.bytes().enumerate() {
        if b == b'[' || b == b'{' {
            work = work.saturating_add(len - i as u64);
            if work > MAX_FLOW_NESTING_WORK {
                first_over = Some(i);
                break;
            }
        }
    }
    let (line, column) = line_column(text.as_bytes(), first_over?);
    Some(SpecError {
        location: Location {
            file: origin.to_string(),
            line,
            column,
        },
        message: "too many or too deeply nested flow collections ([...] or {...}) for the YAML reader; refusing to parse".into(),
        hint: Some("write lists and mappings in block style (`- item` lines, `key: value` lines), or split the file".into()),
    })
}
/// Parse one layer's text and merge it onto `spec` (after its own
/// `extends` layers).
pub(super) fn apply_text(
    text: &str,
    origin: &str,
    base: &Bases,
    spec: &mut Spec,
    errors: &mut Vec<SpecError>,
    cx: &mut LoadContext<'_>,
) {
    if let Some(e) = flow_nesting_error(text, origin) {
        errors.push(e);
        return;
    }
    let keys = KeyIndex::new(text);
    let at = |key: &str, indent: Option<usize>| keys.locate(origin, key, indent);
    let doc: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            errors.push(yaml_error(&e, origin, &keys));
            return;
        }
    };
    let map = match doc {
        serde_yaml::Value::Null => return, // empty file: an empty spec
        serde_yaml::Value::Mapping(m) => m,
        other => {
            errors.push(SpecError {
                location: Location {
                    file: origin.to_string(),
                    line: 1,
                    column: 1,
                },
                message: format!(
                    "expected a mapping of parameters, found {}",
                    kind_of(&other)
                ),
                hint: Some("write `name: value` lines, e.g. `inet_protocols: ipv4`".into()),
            });
            return;
        }
    };
    let full_form = map
        .keys()
        .any(|k| k.as_str().is_some_and(|k| FULL_FORM_KEYS.contains(&k)));
    if !full_form {
        merge_parameters(&map, None, spec, errors, &at);
        return;
    }
    // Full form: extends first (base layers), then this file's sections.
    if let Some(ext) = map.get("extends") {
        let list: Vec<&serde_yaml::Value> = match ext {
            serde_yaml::Value::Sequence(s) => s.iter().collect(),
            serde_yaml::Value::String(_) => vec![ext],
            serde_yaml::Value::Null => vec![],
            other => {
                errors.push(SpecError {
                    location: at("extends", Some(0)),
                    message: format!(
                        "`extends` must be a list of spec file paths, found {}",
                        kind_of(other)
                    ),
                    hint: Some("extends: [../groups/relay.yaml]".into()),
                });
                vec![]
            }
        };
        let key_at = at("extends", Some(0));
        for item in list {
            match item.as_str() {
                Some(p) => {
                    let from = ExtendsRef {
                        at: keys
                            .locate_value(origin, p, key_at.line)
                            .unwrap_or(key_at.clone()),
                        written: p,
                    };
                    load_layer(
                        &base.fs.join(p),
                        &lexical_join(&base.shown, p),
                        Some(from),
                        spec,
                        errors,
                        cx,
                    )
                }
                None => errors.push(SpecError {
                    location: key_at.clone(),
                    message: format!(
                        "`extends` items must be file paths, found {}",
                        kind_of(item)
                    ),
                    hint: None,
                }),
            }
        }
    }
    for (k, v) in &map {
        let Some(key) = k.as_str() else {
            errors.push(SpecError {
                location: Location {
                    file: origin.to_string(),
                    ..Location::default()
                },
                message: format!("top-level keys must be strings, found {}", kind_of(k)),
                hint: None,
            });
            continue;
        };
        let loc = at(key, Some(0));
        match key {
            "extends" => {}
            "main" => match v {
                serde_yaml::Value::Mapping(m) => merge_parameters(m, Some(2), spec, errors, &at),
                serde_yaml::Value::Null => {}
                other => errors.push(SpecError {
                    location: loc,
                    message: format!(
                        "`main` must be a mapping of parameters, found {}",
                        kind_of(other)
                    ),
                    hint: Some("main:\n    inet_protocols: ipv4".into()),
                }),
            },
            "purge" => match v {
                serde_yaml::Value::Bool(b) => {
                    spec.purge = *b;
                    cx.purge_writes += 1;
                }
                other => errors.push(SpecError {
                    location: loc,
                    message: format!("`purge` must be true or false, found {}", kind_of(other)),
                    hint: Some("purge: true (remove parameters the spec does not name) or purge: false".into()),
                }),
            },
            "service" => match parse_service(v) {
                Ok(mode) => spec.service = Some(mode),
                Err(message) => errors.push(SpecError {
                    location: loc,
                    message,
                    hint: Some(
                        "service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}"
                            .into(),
                    ),
                }),
            },
            "custom_parameters" => match v {
                serde_yaml::Value::Sequence(s) => {
                    for item in s {
                        match item.as_str() {
                            Some(n) if is_parameter_name(n) => {
                                spec.custom_parameters.insert(n.to_string());
                            }
                            Some(n) => errors.push(SpecError {
                                location: keys
                                    .locate_value(origin, n, loc.line)
                                    .unwrap_or(loc.clone()),
                                message: format!(
                                    "`custom_parameters`: {n:?} is not a parameter name"
                                ),
                                hint: Some(
                                    "Postfix parameter names are letters, digits and underscores"
                                        .into(),
                                ),
                            }),
                            None => errors.push(SpecError {
                                location: loc.clone(),
                                message: format!(
                                    "`custom_parameters` items must be names, found {}",
                                    kind_of(item)
                                ),
                                hint: None,
                            }),
                        }
                    }
                }
                other => errors.push(SpecError {
                    location: loc,
                    message: format!(
                        "`custom_parameters` must be a list of names, found {}",
                        kind_of(other)
                    ),
                    hint: None,
                }),
            },
            other => errors.push(SpecError {
                location: loc,
                message: format!("unknown top-level key `{other}` in a full-form spec"),
                hint: Some(format!(
                    "the full form has only {}; put parameters under `main:`",
                    FULL_FORM_KEYS.join(", ")
                )),
            }),
        }
    }
}

fn merge_parameters(
    map: &serde_yaml::Mapping,
    indent: Option<usize>,
    spec: &mut Spec,
    errors: &mut Vec<SpecError>,
    at: &dyn Fn(&str, Option<usize>) -> Location,
) {
    for (k, v) in map {
        let name = match k {
            serde_yaml::Value::String(s) => s.clone(),
            other => {
                errors.push(SpecError {
                    location: at("", None),
                    message: format!("parameter names must be strings, found {}", kind_of(other)),
                    hint: Some("quote the name".into()),
                });
                continue;
            }
        };
        let loc = at(&name, indent);
        match to_spec_value(v) {
            Ok(value) => spec.set(&name, value, loc),
            Err(message) => errors.push(SpecError {
                location: loc,
                message: format!("{name}: {message}"),
                hint: Some(
                    "a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove"
                        .into(),
                ),
            }),
        }
    }
}

/// `[A-Za-z0-9_]+`, the names `$name` can reference (util/mac_parse.c).
fn is_parameter_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn to_spec_value(v: &serde_yaml::Value) -> Result<Option<SpecValue>, String> {
    use serde_yaml::Value as Y;
    Ok(Some(match v {
        Y::Null => return Ok(None),
        Y::Bool(b) => SpecValue::Bool(*b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => SpecValue::Int(i),
            None => {
                return Err(format!(
                    "expected a string, yes/no, an integer or a list, found the number {n}; if you mean the text, quote it (\"{n}\") so that YAML keeps it as written"
                ))
            }
        },
        Y::String(s) => SpecValue::Str(s.clone()),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    Y::String(s) => s.clone(),
                    Y::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                    Y::Number(n) if n.as_i64().is_some() => n.to_string(),
                    other => {
                        return Err(format!(
                            "list items must be strings, found {}",
                            kind_of(other)
                        ))
                    }
                });
            }
            SpecValue::List(out)
        }
        Y::Mapping(_) => return Err("expected a value, found a mapping".into()),
        Y::Tagged(t) => return Err(format!("unsupported YAML tag {}", t.tag)),
    }))
}

fn parse_service(v: &serde_yaml::Value) -> Result<ServiceMode, String> {
    use serde_yaml::Value as Y;
    match v {
        Y::String(s) => s.parse::<ServiceMode>(),
        Y::Mapping(m) => {
            let argv = |key: &str| -> Result<Vec<String>, String> {
                match m.get(key) {
                    None => Ok(Vec::new()),
                    Some(Y::Sequence(s)) => s
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| format!("`service.{key}` items must be strings"))
                        })
                        .collect(),
                    Some(other) => Err(format!(
                        "`service.{key}` must be a list (argv, run without a shell), found {}",
                        kind_of(other)
                    )),
                }
            };
            for k in m.keys() {
                if !matches!(k.as_str(), Some("reload" | "restart")) {
                    return Err(format!(
                        "unknown key {:?} under `service`: expected reload and restart",
                        k.as_str().unwrap_or("?")
                    ));
                }
            }
            let (reload, restart) = (argv("reload")?, argv("restart")?);
            if reload.is_empty() && restart.is_empty() {
                return Err("`service` commands need at least one of reload or restart".into());
            }
            Ok(ServiceMode::Command { reload, restart })
        }
        other => Err(format!(
            "`service` must be auto, reload, restart, none or a mapping of commands, found {}",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &serde_yaml::Value) -> &'static str {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => "null",
        Y::Bool(_) => "a boolean",
        Y::Number(_) => "a number",
        Y::String(_) => "a string",
        Y::Sequence(_) => "a list",
        Y::Mapping(_) => "a mapping",
        Y::Tagged(_) => "a tagged value",
    }
}

/// Where keys stand in the YAML text. serde_yaml gives no spans for
/// values, so keys are found by a line scan: `key:` at the start of a line
/// (after indentation), optionally quoted.
struct KeyIndex<'a> {
    text: &'a str,
    /// `key:` starting a line (after indentation and an optional `- `):
    /// key -> (line, column, unindented), in line order. Built once, so
    /// locating every key of a spec is linear in its size (a scan per key
    /// made a 15,000-parameter spec take minutes).
    block: std::collections::HashMap<&'a str, Vec<(usize, usize, bool)>>,
    /// `key:` after `{` or `,` (flow mappings), built on first need.
    flow: std::cell::OnceCell<std::collections::HashMap<&'a str, Vec<(usize, usize)>>>,
}

/// The keys `s` starts with, as `key:`, `"key":` or `'key':` (spaces or
/// tabs may precede the colon). YAML caps implicit keys at 1024
/// characters; longer candidates are not keys.
fn keys_at(s: &str) -> impl Iterator<Item = &str> {
    const MAX_KEY: usize = 1024;
    let ws: &[char] = &[' ', '\t'];
    let colon_after = move |rest: &str| rest.trim_start_matches(ws).starts_with(':');
    let quoted = s
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
        .and_then(|q| {
            let body = &s[1..];
            body.char_indices()
                .take_while(|(i, _)| *i <= MAX_KEY)
                .filter(|(_, c)| *c == q)
                .map(|(i, _)| i)
                .find(|&i| colon_after(&body[i + 1..]))
                .map(|i| &body[..i])
        });
    // Plain: up to the first ':' (`a:b: x` also yields `a:b`, up to the
    // first ':' followed by a blank).
    let bytes = s.as_bytes();
    let first = s.find(':').filter(|&p| p <= MAX_KEY);
    let blank = s
        .char_indices()
        .take_while(|(i, _)| *i <= MAX_KEY)
        .filter(|(_, c)| *c == ':')
        .map(|(i, _)| i)
        .find(|&i| matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')));
    let plain = [first, blank.filter(|b| Some(*b) != first)]
        .into_iter()
        .flatten()
        .map(move |p| s[..p].trim_end_matches(ws));
    quoted.into_iter().chain(plain).filter(|k| !k.is_empty())
}

impl<'a> KeyIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut block: std::collections::HashMap<&'a str, Vec<(usize, usize, bool)>> =
            std::collections::HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim_start_matches([' ', '\t']);
            let unindented = trimmed.len() == line.len();
            let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            let column = line.len() - trimmed.len() + 1;
            for key in keys_at(trimmed) {
                let v = block.entry(key).or_default();
                if v.last().map(|e| e.0) != Some(i + 1) {
                    v.push((i + 1, column, unindented));
                }
            }
        }
        KeyIndex {
            text,
            block,
            flow: std::cell::OnceCell::new(),
        }
    }

    fn flow_keys(&self) -> &std::collections::HashMap<&'a str, Vec<(usize, usize)>> {
        self.flow.get_or_init(|| {
            let mut flow: std::collections::HashMap<&'a str, Vec<(usize, usize)>> =
                std::collections::HashMap::new();
            for (i, line) in self.text.lines().enumerate() {
                if line.trim_start().starts_with('#') {
                    continue;
                }
                for (j, _) in line.match_indices(['{', ',']) {
                    let rest = line[j + 1..].trim_start_matches([' ', '\t']);
                    // A flow key holds no flow indicator: bound each
                    // candidate by the next one, so the scan stays linear.
                    let end = rest.find([',', '{', '}', '[', ']']).unwrap_or(rest.len());
                    let column = line.len() - rest.len() + 1;
                    for key in keys_at(&rest[..end]) {
                        flow.entry(key).or_default().push((i + 1, column));
                    }
                }
            }
            flow
        })
    }

    /// Every `key:` that starts a line (after indentation), in order, as
    /// (line, column); with `indent == Some(0)` only unindented ones. Falls
    /// back to `key:` inside a flow mapping (`{key: value}`).
    fn occurrences(&self, key: &str, indent: Option<usize>) -> Vec<(usize, usize)> {
        if key.is_empty() {
            return Vec::new();
        }
        let only_unindented = indent == Some(0);
        let found: Vec<(usize, usize)> = self
            .block
            .get(key)
            .map(|v| {
                v.iter()
                    .filter(|(_, _, unindented)| *unindented || !only_unindented)
                    .map(|&(l, c, _)| (l, c))
                    .collect()
            })
            .unwrap_or_default();
        if !found.is_empty() {
            return found;
        }
        self.flow_keys().get(key).cloned().unwrap_or_default()
    }

    /// Where `key` is written: the first occurrence (for a duplicate key,
    /// which is an error anyway, the first is where users look).
    fn locate(&self, origin: &str, key: &str, indent: Option<usize>) -> Location {
        let (line, column) = self
            .occurrences(key, indent)
            .first()
            .copied()
            .unwrap_or((0, 0));
        Location {
            file: origin.to_string(),
            line,
            column,
        }
    }

    /// Where the scalar `value` is written, at or after line `from` (for
    /// `extends` entries, on the key's line or in the block list below it).
    fn locate_value(&self, origin: &str, value: &str, from: usize) -> Option<Location> {
        if value.is_empty() || from == 0 {
            return None;
        }
        self.text
            .lines()
            .enumerate()
            .skip(from - 1)
            .find_map(|(i, line)| {
                line.find(value).map(|col| Location {
                    file: origin.to_string(),
                    line: i + 1,
                    column: col + 1,
                })
            })
    }

    /// The text of a 1-based line.
    fn line(&self, line: usize) -> Option<&'a str> {
        line.checked_sub(1).and_then(|i| self.text.lines().nth(i))
    }
}

/// A YAML syntax error as a spec error: serde_yaml's message without its
/// " at line N column M" tail (the location goes in front), with a better
/// location and hint for the common cases.
fn yaml_error(e: &serde_yaml::Error, origin: &str, keys: &KeyIndex) -> SpecError {
    let (mut line, mut column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let full = e.to_string();
    let mut message = full.split(" at line ").next().unwrap_or(&full).to_string();
    let mut hint =
        "a spec is a YAML mapping such as `inet_protocols: ipv4`; check indentation and quoting"
            .to_string();
    // serde_yaml: `duplicate entry with key "k"`, prefixed with the path
    // of the mapping when nested (`main: duplicate entry ...`).
    if let Some(i) = message.find("duplicate entry with key ") {
        let key = message[i + "duplicate entry with key ".len()..]
            .trim_matches('"')
            .to_string();
        let found = keys.occurrences(&key, None);
        if let [first, second, ..] = found[..] {
            (line, column) = second;
            hint = format!(
                "a key may appear only once in a mapping; `{key}` is first set at line {}",
                first.0
            );
        } else {
            hint = "a key may appear only once in a mapping".into();
        }
        message = format!("duplicate key `{key}`");
    } else if message.contains("end of stream") {
        hint = "the file ends inside a quoted string, a [list] or a {mapping}: check for a missing closing quote or bracket".into();
    } else if let Some(text) = keys.line(line) {
        let indent: &str = &text[..text.len() - text.trim_start_matches([' ', '\t']).len()];
        if indent.contains('\t') {
            column = indent.find('\t').map_or(column, |i| i + 1);
            hint = "YAML indentation must be spaces; this line is indented with a tab".into();
        }
    }
    SpecError {
        location: Location {
            file: origin.to_string(),
            line,
            column,
        },
        message: format!("invalid YAML: {message}"),
        hint: Some(hint),
    }
}
/// 1-based (line, column) of byte `offset` in `bytes`.
pub(super) fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}
