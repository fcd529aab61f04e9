//! Loading spec files: size and type checks, `extends` layers, the cache
//! of layers shared by a fleet's specs, and secrets referenced from table
//! entries (`{file: path}`, `{env: NAME}`).

use super::yaml::line_column;
use super::{sections, yaml, Location, Secret, SecretSource, Spec, SpecError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Largest spec file postform reads (a spec is a few kilobytes).
pub(super) const MAX_SPEC_BYTES: u64 = 8 * 1024 * 1024;
/// Deepest `extends` chain.
const MAX_EXTENDS_DEPTH: usize = 32;

/// Layer files already loaded in this run, each with what it (and the
/// layers it extends) does to a spec. Only layers that loaded without
/// errors are kept, so every message is produced exactly as without the
/// cache. Safe to share between threads.
#[derive(Debug, Default)]
pub struct LayerCache(Mutex<HashMap<(PathBuf, String), Arc<CachedLayer>>>);

/// One layer (a file and the files it extends) loaded onto an empty spec.
#[derive(Debug)]
struct CachedLayer {
    spec: Spec,
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

/// Load a spec file and its layers.
pub(super) fn load_file(path: &Path, cache: Option<&LayerCache>) -> (Spec, Vec<SpecError>) {
    let mut spec = Spec::default();
    let mut errors = Vec::new();
    let mut cx = LoadContext::new(cache);
    load_layer(path, path, None, &mut spec, &mut errors, &mut cx);
    (spec, errors)
}

/// Load a spec given as JSON; paths in it are relative to the current
/// directory.
pub(super) fn load_json(value: &serde_json::Value, origin: &str) -> (Spec, Vec<SpecError>) {
    let mut spec = Spec::default();
    let mut errors = Vec::new();
    let mut cx = LoadContext::new(None);
    let base = Bases {
        fs: PathBuf::from("."),
        shown: PathBuf::new(),
    };
    match yaml::from_json(value, origin) {
        Ok(doc) => apply_doc(&doc, origin, &base, &mut spec, &mut errors, &mut cx),
        Err(e) => errors.push(e),
    }
    (spec, errors)
}

/// Load spec text; paths in it are relative to the current directory.
pub(super) fn load_text(text: &str, origin: &str) -> (Spec, Vec<SpecError>) {
    let mut spec = Spec::default();
    let mut errors = Vec::new();
    let mut cx = LoadContext::new(None);
    let base = Bases {
        fs: PathBuf::from("."),
        shown: PathBuf::new(),
    };
    apply_text(text, origin, &base, &mut spec, &mut errors, &mut cx);
    (spec, errors)
}

/// State of one load: the chain of files being loaded (for cycles and the
/// depth limit), the cache, and what a cached layer needs recorded.
struct LoadContext<'a> {
    stack: Vec<(PathBuf, String)>,
    cache: Option<&'a LayerCache>,
    /// Deepest stack seen so far.
    max_depth: usize,
}

impl<'a> LoadContext<'a> {
    pub(super) fn new(cache: Option<&'a LayerCache>) -> Self {
        LoadContext {
            stack: Vec::new(),
            cache,
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
            spec.merge(layer.spec.clone());
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
        let outer_max = cx.max_depth;
        cx.max_depth = start_depth;
        let mut layer = Spec::default();
        let errors_before = errors.len();
        apply_text(&text, &shown_str, &base, &mut layer, errors, cx);
        layer.files.push(path.to_path_buf());
        let cached = CachedLayer {
            spec: layer,
            depth: cx.max_depth + 1 - start_depth,
        };
        spec.merge(cached.spec.clone());
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
/// The directories `extends` paths are relative to: for the file system
/// (the real directory of the file) and for messages (as the user named it).
struct Bases {
    fs: PathBuf,
    shown: PathBuf,
}

/// `a/b/../c` -> `a/c`, without touching the file system (for messages only).
pub(super) fn lexical_join(dir: &Path, rel: &str) -> PathBuf {
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

/// Parse one layer's text and put it onto `spec`: first the layers it
/// `extends`, then its own sections.
fn apply_text(
    text: &str,
    origin: &str,
    base: &Bases,
    spec: &mut Spec,
    errors: &mut Vec<SpecError>,
    cx: &mut LoadContext<'_>,
) {
    let (doc, found) = yaml::parse(text, origin);
    errors.extend(found);
    if let Some(doc) = doc {
        apply_doc(&doc, origin, base, spec, errors, cx);
    }
}

/// Put one layer's document onto `spec`: first the layers it `extends`,
/// then its own sections.
fn apply_doc(
    doc: &yaml::Node,
    origin: &str,
    base: &Bases,
    spec: &mut Spec,
    errors: &mut Vec<SpecError>,
    cx: &mut LoadContext<'_>,
) {
    for (at, written) in sections::extends(doc, origin, errors) {
        let from = ExtendsRef {
            at,
            written: &written,
        };
        load_layer(
            &base.fs.join(&written),
            &lexical_join(&base.shown, &written),
            Some(from),
            spec,
            errors,
            cx,
        );
    }
    let own = sections::read_layer(doc, origin, &base.fs, errors);
    spec.merge(own);
}

/// Largest secret file postform reads.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Why a secret reference could not be read. The messages never contain
/// the secret.
#[derive(Debug, thiserror::Error)]
pub(super) enum SecretError {
    #[error("cannot read the secret file `{written}`: {source}")]
    Read {
        written: String,
        source: std::io::Error,
    },
    #[error("the secret file `{0}` is larger than {MAX_SECRET_BYTES} bytes")]
    TooLarge(String),
    #[error("the secret file `{0}` is not UTF-8")]
    FileNotUtf8(String),
    #[error("the environment variable {0} is not set")]
    EnvUnset(String),
    #[error("the environment variable {0} is not UTF-8")]
    EnvNotUtf8(String),
    #[error("the secret from {0} is empty")]
    Empty(String),
    #[error("the secret from {0} has more than one line (or a control character), which would inject lines into the table")]
    MultiLine(String),
}

/// Read the secret `source` names; a relative file is relative to `dir`
/// (the directory of the spec file that names it). One trailing newline
/// (`\n` or `\r\n`) is dropped, as editors add one.
pub(super) fn resolve_secret(source: SecretSource, dir: &Path) -> Result<Secret, SecretError> {
    let (value, what) = match &source {
        SecretSource::File { written, path } => {
            let full = dir.join(path);
            let bytes = crate::io::read::open_regular(&full)
                .and_then(|(f, _)| {
                    use std::io::Read;
                    let mut b = Vec::new();
                    f.take(MAX_SECRET_BYTES + 1).read_to_end(&mut b).map(|_| b)
                })
                .map_err(|source| SecretError::Read {
                    written: written.clone(),
                    source,
                })?;
            if bytes.len() as u64 > MAX_SECRET_BYTES {
                return Err(SecretError::TooLarge(written.clone()));
            }
            let text =
                String::from_utf8(bytes).map_err(|_| SecretError::FileNotUtf8(written.clone()))?;
            (text, format!("`{written}`"))
        }
        SecretSource::Env(name) => {
            let value = std::env::var(name).map_err(|e| match e {
                std::env::VarError::NotPresent => SecretError::EnvUnset(name.clone()),
                std::env::VarError::NotUnicode(_) => SecretError::EnvNotUtf8(name.clone()),
            })?;
            (value, format!("${name}"))
        }
    };
    let value = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value)
        .to_string();
    if value.is_empty() {
        return Err(SecretError::Empty(what));
    }
    if value.chars().any(char::is_control) {
        return Err(SecretError::MultiLine(what));
    }
    Ok(Secret::new(value, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::service::ServiceMode;

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
