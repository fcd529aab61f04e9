//! Spec files: what main.cf must say.
//!
//! Two forms. The short form is a plain map of parameters:
//!
//! ```yaml
//! inet_protocols: ipv4
//! ```
//!
//! The full form names sections (only these top-level keys exist):
//!
//! ```yaml
//! extends: [../groups/relay.yaml]
//! main:
//!   inet_protocols: ipv4
//!   relayhost: null          # remove
//! purge: false
//! service: auto
//! custom_parameters: [my_checks]
//! ```
//!
//! This is the only module that touches serde_yaml (deprecated upstream), so
//! the YAML library can be swapped in one place.

use crate::engine::service::ServiceMode;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Largest spec file postform reads (a spec is a few kilobytes).
const MAX_SPEC_BYTES: u64 = 8 * 1024 * 1024;
/// Deepest `extends` chain.
const MAX_EXTENDS_DEPTH: usize = 32;

/// The keys of the full form.
pub const FULL_FORM_KEYS: &[&str] = &["extends", "main", "purge", "service", "custom_parameters"];

/// A desired parameter value, typed as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum SpecValue {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

impl SpecValue {
    /// The value as main.cf text: bool -> yes/no, integer -> decimal,
    /// list -> items joined with ", ".
    pub fn render(&self) -> String {
        match self {
            SpecValue::Str(s) => s.clone(),
            SpecValue::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            SpecValue::Int(i) => i.to_string(),
            SpecValue::List(items) => items.join(", "),
        }
    }
}

/// Where something was written: file, line, column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct SpecError {
    pub location: Location,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found in a spec (and the files it extends), all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A loaded, layered spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spec {
    /// Desired parameters: `Some(value)` = main.cf must say this;
    /// `None` = main.cf must not define it.
    pub main: BTreeMap<String, Option<SpecValue>>,
    /// Also remove parameters the spec does not name.
    pub purge: bool,
    /// How to reload/restart Postfix, when the spec says.
    pub service: Option<ServiceMode>,
    /// User-defined parameter names declared valid by the spec.
    pub custom_parameters: BTreeSet<String>,
    /// Where each parameter was set (the winning layer), for error messages.
    pub locations: BTreeMap<String, Location>,
    /// The files this spec was built from, base layers first.
    pub files: Vec<PathBuf>,
}

impl Spec {
    /// Load a spec file and the files it `extends` (later layers win).
    pub fn load(path: &Path) -> Result<Spec, SpecErrors> {
        let (spec, errors) = Spec::load_partial(path);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// Load a spec file like [`Spec::load`], but return what could be read
    /// together with every problem found. A parameter whose value is
    /// unusable is left out; the rest of the file is still read, so that
    /// validation can report its problems in the same run ("all errors at
    /// once", see [`crate::engine::validate::load_and_validate`]). Never use a
    /// spec with errors for anything but more error reporting.
    pub fn load_partial(path: &Path) -> (Spec, Vec<SpecError>) {
        Spec::load_partial_with(path, None)
    }

    /// [`Spec::load`] that reuses the layers `cache` already holds (and
    /// adds the ones it reads), for runs that load many specs sharing
    /// layers (a fleet plan).
    pub fn load_cached(path: &Path, cache: &LayerCache) -> Result<Spec, SpecErrors> {
        let (spec, errors) = Spec::load_partial_with(path, Some(cache));
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// [`Spec::load_partial`] with a [`LayerCache`].
    pub fn load_partial_cached(path: &Path, cache: &LayerCache) -> (Spec, Vec<SpecError>) {
        Spec::load_partial_with(path, Some(cache))
    }

    fn load_partial_with(path: &Path, cache: Option<&LayerCache>) -> (Spec, Vec<SpecError>) {
        let mut spec = Spec::default();
        let mut errors = Vec::new();
        let mut cx = LoadContext::new(cache);
        load_layer(path, path, None, &mut spec, &mut errors, &mut cx);
        (spec, errors)
    }

    /// Parse spec text (no `extends` resolution beyond `base_dir`).
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Spec, SpecErrors> {
        let mut spec = Spec::default();
        let mut errors = Vec::new();
        let mut cx = LoadContext::new(None);
        let base = Bases {
            fs: PathBuf::from("."),
            shown: PathBuf::new(),
        };
        apply_text(text, origin, &base, &mut spec, &mut errors, &mut cx);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// Build a spec from JSON (an Ansible option): a full-form object, or a
    /// plain map of parameters.
    pub fn from_json(value: &serde_json::Value, origin: &str) -> Result<Spec, SpecErrors> {
        // JSON is YAML: reuse the one code path (and its messages).
        let text = serde_json::to_string(value).map_err(|e| {
            SpecErrors(vec![SpecError {
                location: Location {
                    file: origin.to_string(),
                    ..Location::default()
                },
                message: format!("cannot read the spec: {e}"),
                hint: None,
            }])
        })?;
        Spec::from_yaml_str(&text, origin)
    }

    /// Set one parameter on top of this spec (a later layer).
    pub fn set(&mut self, name: &str, value: Option<SpecValue>, location: Location) {
        self.main.insert(name.to_string(), value);
        self.locations.insert(name.to_string(), location);
    }

    /// The location of `name`, or the spec's file when unknown.
    pub fn location_of(&self, name: &str) -> Location {
        self.locations
            .get(name)
            .cloned()
            .unwrap_or_else(|| Location {
                file: self
                    .files
                    .last()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                ..Location::default()
            })
    }
}

/// Layer files already loaded in this run, each with what it (and the
/// layers it extends) does to a spec. Only layers that loaded without
/// errors are kept, so every message is produced exactly as without the
/// cache. Safe to share between threads.
#[derive(Debug, Default)]
pub struct LayerCache(Mutex<HashMap<(PathBuf, String), Arc<CachedLayer>>>);

/// One layer loaded onto an empty spec.
#[derive(Debug)]
struct CachedLayer {
    spec: Spec,
    /// The layer or one it extends sets `purge` (which may be `false`).
    sets_purge: bool,
    /// How many files deep its `extends` chain goes (1: none).
    depth: usize,
}

impl LayerCache {
    fn get(&self, key: &(PathBuf, String)) -> Option<Arc<CachedLayer>> {
        self.lock().get(key).cloned()
    }

    fn insert(&self, key: (PathBuf, String), layer: CachedLayer) {
        self.lock().insert(key, Arc::new(layer));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(PathBuf, String), Arc<CachedLayer>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CachedLayer {
    /// Apply the layer onto `spec`, as loading it again would.
    fn apply_to(&self, spec: &mut Spec) {
        for (name, value) in &self.spec.main {
            spec.main.insert(name.clone(), value.clone());
        }
        for (name, location) in &self.spec.locations {
            spec.locations.insert(name.clone(), location.clone());
        }
        if self.sets_purge {
            spec.purge = self.spec.purge;
        }
        if self.spec.service.is_some() {
            spec.service.clone_from(&self.spec.service);
        }
        spec.custom_parameters
            .extend(self.spec.custom_parameters.iter().cloned());
        spec.files.extend(self.spec.files.iter().cloned());
    }
}

/// State of one load: the chain of files being loaded (for cycles and the
/// depth limit), the cache, and what a cached layer needs recorded.
struct LoadContext<'a> {
    stack: Vec<(PathBuf, String)>,
    cache: Option<&'a LayerCache>,
    /// Times `purge` was assigned so far.
    purge_writes: usize,
    /// Deepest stack seen so far.
    max_depth: usize,
}

impl<'a> LoadContext<'a> {
    fn new(cache: Option<&'a LayerCache>) -> Self {
        LoadContext {
            stack: Vec::new(),
            cache,
            purge_writes: 0,
            max_depth: 0,
        }
    }
}

/// Where an `extends` entry names another layer: the location of the
/// entry and the path as written.
struct ExtendsRef<'a> {
    at: Location,
    written: &'a str,
}

/// Load one layer: `path` is what the file system opens, `shown` how
/// messages name the file (relative to the file that extends it, as the
/// user wrote it). Problems with the file itself are reported at the
/// `extends` entry that names it, when there is one.
fn load_layer(
    path: &Path,
    shown: &Path,
    from: Option<ExtendsRef<'_>>,
    spec: &mut Spec,
    errors: &mut Vec<SpecError>,
    cx: &mut LoadContext<'_>,
) {
    let shown_str = shown.display().to_string();
    // A layer that loaded cleanly before loads the same way from any
    // chain: a cycle through it would have shown when it loaded.
    let key = (path.to_path_buf(), shown_str.clone());
    if let Some(layer) = cx.cache.and_then(|c| c.get(&key)) {
        if cx.stack.len() + layer.depth <= MAX_EXTENDS_DEPTH {
            layer.apply_to(spec);
            cx.purge_writes += usize::from(layer.sets_purge);
            cx.max_depth = cx.max_depth.max(cx.stack.len() + layer.depth);
            return;
        }
    }
    let err = |message: String, hint: Option<String>| match &from {
        Some(r) => SpecError {
            location: r.at.clone(),
            message: format!("extends `{}`: {message}", r.written),
            hint,
        },
        None => SpecError {
            location: Location {
                file: shown_str.clone(),
                ..Location::default()
            },
            message,
            hint,
        },
    };
    let canonical = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => {
            errors.push(err(
                format!("cannot read spec file: {e}"),
                Some(
                    "check the path; `extends` paths are relative to the file that names them"
                        .into(),
                ),
            ));
            return;
        }
    };
    if let Some(pos) = cx.stack.iter().position(|(c, _)| *c == canonical) {
        let chain: Vec<&str> = cx.stack[pos..]
            .iter()
            .map(|(_, s)| s.as_str())
            .chain([shown_str.as_str()])
            .collect();
        errors.push(err(
            format!("`extends` cycle: {}", chain.join(" -> ")),
            Some("a spec cannot extend itself, directly or through other files".into()),
        ));
        return;
    }
    if cx.stack.len() >= MAX_EXTENDS_DEPTH {
        errors.push(err(
            format!("`extends` nested deeper than {MAX_EXTENDS_DEPTH} files"),
            None,
        ));
        return;
    }
    match std::fs::metadata(&canonical) {
        Ok(m) if m.is_dir() => {
            errors.push(err(
                "is a directory, expected a YAML spec file".into(),
                Some("give the path of a YAML spec file".into()),
            ));
            return;
        }
        Ok(m) if m.len() > MAX_SPEC_BYTES => {
            errors.push(err(
                format!(
                    "spec file is {} bytes; the limit is {MAX_SPEC_BYTES}",
                    m.len()
                ),
                Some("a spec lists parameters; split or trim it".into()),
            ));
            return;
        }
        // A FIFO blocks and a device (/dev/zero) never ends.
        Ok(m) if !m.is_file() => {
            errors.push(err(
                "not a regular file (a FIFO, socket or device), expected a YAML spec file".into(),
                None,
            ));
            return;
        }
        _ => {}
    }
    // Bounded even if the file grows after the size check, and never a
    // FIFO swapped in after it.
    let bytes = match crate::io::read::open_regular(&canonical).and_then(|(f, _)| {
        use std::io::Read;
        let mut b = Vec::new();
        f.take(MAX_SPEC_BYTES + 1).read_to_end(&mut b).map(|_| b)
    }) {
        Ok(b) if b.len() as u64 > MAX_SPEC_BYTES => {
            errors.push(err(
                format!("spec file is larger than the limit of {MAX_SPEC_BYTES} bytes"),
                Some("a spec lists parameters; split or trim it".into()),
            ));
            return;
        }
        Ok(b) => b,
        Err(e) => {
            errors.push(err(format!("cannot read spec file: {e}"), None));
            return;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let (line, column) = line_column(e.as_bytes(), offset);
            errors.push(SpecError {
                location: Location {
                    file: shown_str.clone(),
                    line,
                    column,
                },
                message: format!("spec file is not UTF-8 (invalid byte at offset {offset})"),
                hint: Some("save the file as UTF-8".into()),
            });
            return;
        }
    };
    cx.stack.push((canonical.clone(), shown_str.clone()));
    let base = Bases {
        fs: canonical.parent().unwrap_or(Path::new(".")).to_path_buf(),
        shown: shown.parent().unwrap_or(Path::new("")).to_path_buf(),
    };
    let start_depth = cx.stack.len();
    cx.max_depth = cx.max_depth.max(start_depth);
    // Only extended layers are shared; a top-level file loads once.
    if cx.cache.is_some() && from.is_some() {
        // Load onto an empty spec, keep it when clean, then apply it.
        let (outer_purges, outer_max) = (cx.purge_writes, cx.max_depth);
        cx.max_depth = start_depth;
        let mut layer = Spec::default();
        let errors_before = errors.len();
        apply_text(&text, &shown_str, &base, &mut layer, errors, cx);
        layer.files.push(path.to_path_buf());
        let cached = CachedLayer {
            spec: layer,
            sets_purge: cx.purge_writes > outer_purges,
            depth: cx.max_depth + 1 - start_depth,
        };
        cached.apply_to(spec);
        cx.max_depth = cx.max_depth.max(outer_max);
        if errors.len() == errors_before {
            if let Some(cache) = cx.cache {
                cache.insert(key, cached);
            }
        }
    } else {
        apply_text(&text, &shown_str, &base, spec, errors, cx);
        spec.files.push(path.to_path_buf());
    }
    cx.stack.pop();
}

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

/// The directories `extends` paths are relative to: for the file system
/// (the real directory of the file) and for messages (as the user named it).
struct Bases {
    fs: PathBuf,
    shown: PathBuf,
}

/// `a/b/../c` -> `a/c`, without touching the file system (for messages only).
fn lexical_join(dir: &Path, rel: &str) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in dir.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Parse one layer's text and merge it onto `spec` (after its own
/// `extends` layers).
fn apply_text(
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

/// Render a short-form spec (a plain map of parameters) as YAML, after a
/// comment header.
pub fn render_short_form(header: &str, entries: &[(String, SpecValue)]) -> String {
    let mut map = serde_yaml::Mapping::new();
    for (name, value) in entries {
        let v = match value {
            SpecValue::Str(s) => serde_yaml::Value::String(s.clone()),
            SpecValue::Bool(b) => serde_yaml::Value::Bool(*b),
            SpecValue::Int(i) => serde_yaml::Value::Number((*i).into()),
            SpecValue::List(items) => serde_yaml::Value::Sequence(
                items
                    .iter()
                    .cloned()
                    .map(serde_yaml::Value::String)
                    .collect(),
            ),
        };
        map.insert(serde_yaml::Value::String(name.clone()), v);
    }
    let body = if map.is_empty() {
        "{}\n".to_string()
    } else {
        serde_yaml::to_string(&map).unwrap_or_default()
    };
    format!("{header}{body}")
}

/// 1-based (line, column) of byte `offset` in `bytes`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
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

    #[test]
    fn short_form_types() {
        let s = Spec::from_yaml_str(
            "inet_protocols: ipv4\nbiff: false\nmessage_size_limit: 1024\nmynetworks: [127.0.0.0/8, '[::1]/128']\nrelayhost: null\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(
            s.main["inet_protocols"],
            Some(SpecValue::Str("ipv4".into()))
        );
        assert_eq!(s.main["biff"], Some(SpecValue::Bool(false)));
        assert_eq!(s.main["biff"].as_ref().unwrap().render(), "no");
        assert_eq!(
            s.main["message_size_limit"].as_ref().unwrap().render(),
            "1024"
        );
        assert_eq!(
            s.main["mynetworks"].as_ref().unwrap().render(),
            "127.0.0.0/8, [::1]/128"
        );
        assert_eq!(s.main["relayhost"], None);
        assert_eq!(s.locations["biff"].line, 2);
    }

    #[test]
    fn full_form_sections() {
        let s = Spec::from_yaml_str(
            "main:\n  inet_protocols: ipv4\npurge: true\nservice: restart\n",
            "t.yaml",
        )
        .unwrap();
        assert!(s.purge);
        assert_eq!(s.service, Some(ServiceMode::Restart));
        assert_eq!(s.locations["inet_protocols"].line, 2);
        assert_eq!(s.locations["inet_protocols"].column, 3);
    }

    #[test]
    fn all_errors_at_once() {
        let e = Spec::from_yaml_str(
            "main:\n  a: {x: 1}\n  b: 1.5\npurge: maybe\nbogus: 1\n",
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 4, "{e}");
    }

    #[test]
    fn bad_yaml_has_location() {
        let e = Spec::from_yaml_str("a: [1, 2\n", "t.yaml").unwrap_err();
        assert!(e.0[0].location.line >= 1, "{e}");
        assert!(e.to_string().starts_with("t.yaml:"), "{e}");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Loading with a shared layer cache gives exactly what loading each
    /// spec on its own gives: values, removals, `purge: false` over an
    /// earlier `true`, service, custom parameters, locations and files.
    #[test]
    fn layer_cache_loads_like_a_fresh_load() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "base.yaml", "main:\n  biff: no\n  relayhost: '[r]:587'\npurge: true\nservice: reload\ncustom_parameters: [my_a]\n");
        write(d, "groups/g.yaml", "extends: [../base.yaml]\nmain:\n  relayhost: null\n  mynetworks: [127.0.0.0/8]\npurge: false\n");
        write(
            d,
            "groups/h.yaml",
            "extends: ../base.yaml\nmain:\n  biff: yes\n",
        );
        let hosts = [
            write(
                d,
                "hosts/a.yaml",
                "extends: [../groups/g.yaml]\nmain:\n  myhostname: a\n",
            ),
            write(
                d,
                "hosts/b.yaml",
                "extends: [../groups/h.yaml, ../groups/g.yaml]\nmain:\n  smtpd_banner: b\n",
            ),
            write(
                d,
                "hosts/c.yaml",
                "extends: [../groups/g.yaml, ../groups/h.yaml]\nservice: restart\n",
            ),
            write(d, "hosts/d.yaml", "extends: [../base.yaml]\n"),
        ];
        let cache = LayerCache::default();
        for round in 0..2 {
            for h in &hosts {
                let fresh = Spec::load(h).unwrap();
                let cached = Spec::load_cached(h, &cache).unwrap();
                assert_eq!(cached, fresh, "round {round}: {}", h.display());
            }
        }
        let c = Spec::load_cached(&hosts[2], &cache).unwrap();
        assert!(
            c.purge,
            "h.yaml's base.yaml (purge: true) comes after g.yaml's purge: false"
        );
        assert_eq!(c.service, Some(ServiceMode::Restart));
        let a = Spec::load_cached(&hosts[0], &cache).unwrap();
        assert!(!a.purge);
        assert_eq!(a.main["relayhost"], None);
        assert!(a.custom_parameters.contains("my_a"));
        assert_eq!(a.files.len(), 3);
        assert!(!cache.lock().is_empty());
    }

    /// A layer with an error is never cached: every load reports it again,
    /// at the same place.
    #[test]
    fn layer_cache_keeps_errors_and_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "bad.yaml", "main:\n  a: {x: 1}\n");
        write(d, "x.yaml", "extends: [y.yaml]\n");
        write(d, "y.yaml", "extends: [x.yaml]\n");
        let h1 = write(d, "h1.yaml", "extends: [bad.yaml]\n");
        let h2 = write(d, "h2.yaml", "extends: [x.yaml]\n");
        let cache = LayerCache::default();
        for _ in 0..2 {
            for h in [&h1, &h2] {
                assert_eq!(
                    Spec::load_cached(h, &cache).unwrap_err(),
                    Spec::load(h).unwrap_err()
                );
            }
        }
        assert!(cache.lock().is_empty());
    }

    /// The extends depth limit holds with cached layers: a chain cached
    /// from a short path is refused when reached from a longer one.
    #[test]
    fn layer_cache_respects_the_depth_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = MAX_EXTENDS_DEPTH;
        for i in 0..n {
            let text = if i + 1 < n {
                format!("extends: [l{}.yaml]\nmain:\n  p{i}: v\n", i + 1)
            } else {
                format!("main:\n  p{i}: v\n")
            };
            write(d, &format!("l{i}.yaml"), &text);
        }
        // top extends l1 (chain of n-1 layers + top = n files: allowed);
        // deeper extends top (n + 1 files: refused).
        let top = write(d, "top.yaml", "extends: [l1.yaml]\n");
        let deeper = write(d, "deeper.yaml", "extends: [top.yaml]\n");
        let cache = LayerCache::default();
        assert_eq!(
            Spec::load_cached(&top, &cache).unwrap(),
            Spec::load(&top).unwrap()
        );
        let fresh = Spec::load(&deeper).unwrap_err();
        assert!(fresh.to_string().contains("nested deeper"), "{fresh}");
        assert_eq!(Spec::load_cached(&deeper, &cache).unwrap_err(), fresh);
    }
}
