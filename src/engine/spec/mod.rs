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
//! `yaml.rs` is the only file that touches serde_yaml (deprecated upstream),
//! so the YAML library can be swapped in one place.

mod load;
mod render;
mod yaml;

pub use load::LayerCache;
pub use render::render_short_form;

use crate::engine::service::ServiceMode;
use load::{load_layer, Bases, LoadContext};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use yaml::apply_text;

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
