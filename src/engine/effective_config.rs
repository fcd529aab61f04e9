//! A config directory as Postfix sees it: main.cf's effective parameters,
//! filtered the way `postconf -n` filters them (names Postfix does not
//! know are "unused" and left out), with the warnings postconf prints.

use crate::catalog::is_list_param;
use crate::catalog::{read_only, Catalog, NameContext};
use crate::engine::equivalence::is_default;
use crate::engine::live::{FileState, LiveConfig, LiveError};
use crate::engine::spec::SpecValue;
use crate::postfix::list::comparable_items;
use crate::postfix::maincf::{MainCf, MainCfError};
use std::path::{Path, PathBuf};

/// The effective configuration of one config directory.
#[derive(Debug, Clone)]
pub struct EffectiveConfig {
    pub config_dir: PathBuf,
    pub main_cf: MainCf,
    pub main_cf_bytes: Vec<u8>,
    pub master_cf_bytes: Option<Vec<u8>>,
    /// (name, raw value) of every effective parameter Postfix uses.
    pub parameters: Vec<(String, Vec<u8>)>,
    pub warnings: Vec<String>,
}

/// Reading a config directory failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Read(#[from] crate::engine::live::LiveError),
    #[error("{}:{error}", path.display())]
    Parse { path: PathBuf, error: MainCfError },
    /// A value Postfix's macro expander rejects: every Postfix program
    /// reading the file dies with "macro processing error".
    #[error("{}, line {line}: {name}: {error}; Postfix fails with \"macro processing error\"\n  hint: close the ${{...}} reference, or write a literal $ as $$", path.display())]
    Macro {
        path: PathBuf,
        line: usize,
        name: String,
        error: crate::postfix::macros::MacroError,
    },
}

impl EffectiveConfig {
    /// Read `DIR/main.cf` and `DIR/master.cf`.
    pub fn load(config_dir: &Path, catalog: &Catalog) -> Result<Self, LoadError> {
        Self::from_live(&LiveConfig::read(config_dir), catalog)
    }

    /// Build from bytes (a snapshot, or a file already read).
    pub fn from_bytes(
        config_dir: &Path,
        path: &Path,
        bytes: Vec<u8>,
        master: Option<Vec<u8>>,
        catalog: &Catalog,
    ) -> Result<Self, LoadError> {
        let live = LiveConfig::from_bytes(config_dir, path.to_path_buf(), Some(bytes), master);
        Self::from_live(&live, catalog)
    }

    /// The view of a live configuration read once.
    pub fn from_live(live: &LiveConfig, catalog: &Catalog) -> Result<Self, LoadError> {
        let path = &live.main.path;
        let config_dir = &live.dir;
        let (bytes, main_cf) = match live.main_cf() {
            Ok((bytes, doc)) => (bytes.to_vec(), doc.clone()),
            Err(LiveError::Parse { path, error }) => return Err(LoadError::Parse { path, error }),
            Err(e) => return Err(e.into()),
        };
        let master = match &live.master.state {
            FileState::Read { bytes, doc, .. } => Ok((bytes.clone(), doc)),
            FileState::Absent => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
            FileState::Unreadable(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        };
        let shown = path.display().to_string();
        let mut warnings: Vec<String> = main_cf
            .warnings()
            .iter()
            .map(|w| format!("{shown}:{}: {}", w.line(), w.message()))
            .collect();
        let services = match &master {
            Ok((_, parsed)) => match parsed {
                Ok(mc) => mc.services.clone(),
                Err(e) => {
                    warnings.push(format!("{}: {e}", config_dir.join("master.cf").display()));
                    Vec::new()
                }
            },
            Err(e) => {
                let why = crate::io::read::unread_reason(e);
                warnings.push(format!(
                    "{}: {why}; service-derived parameter names are not recognised",
                    config_dir.join("master.cf").display()
                ));
                Vec::new()
            }
        };
        let effective = main_cf.effective();
        let values: Vec<(String, String)> = effective
            .iter()
            .map(|e| (e.name_str().into_owned(), e.value_str().into_owned()))
            .collect();
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ctx = NameContext::new(catalog, &services, &pairs, &[]);
        let with_services = catalog.with_services(&services);
        let mut parameters = Vec::new();
        for e in effective.iter() {
            let name = e.name_str().into_owned();
            if read_only(&name) {
                warnings.push(format!(
                    "{shown}: read-only parameter assignment: {name}={}",
                    e.value_str()
                ));
            } else if ctx.is_known(catalog, &name) {
                // postconf -n expands every value it prints (main.cf
                // values, then defaults): malformed or endlessly recursive
                // references are fatal, unknown ones "undefined".
                let lookup = |r: &str| -> Option<Vec<u8>> {
                    effective
                        .get(r)
                        .map(|d| d.value.clone())
                        .or_else(|| with_services.get(r).map(|p| p.default.as_bytes().to_vec()))
                        // Legacy names are defined, with an empty default.
                        .or_else(|| crate::catalog::is_legacy(r).then(Vec::new))
                };
                // A user-defined parameter's own value is only scanned;
                // it is expanded when a built-in one reaches it. Raw
                // parameters (smtpd_expansion_filter...) are never
                // expanded by Postfix: their `$` is data.
                let raw = with_services
                    .get(&name)
                    .is_some_and(|p| p.ty == crate::catalog::ParamType::Raw);
                let result = if raw {
                    Ok(Default::default())
                } else if with_services.contains(&name) {
                    crate::postfix::macros::expand(&e.value, lookup)
                } else {
                    crate::postfix::macros::check_syntax(&e.value).map(|()| Default::default())
                };
                match result {
                    Err(error) => {
                        return Err(LoadError::Macro {
                            path: path.to_path_buf(),
                            line: e.line,
                            name,
                            error,
                        })
                    }
                    Ok(expanded) => {
                        for r in expanded.undefined {
                            let w = format!("{shown}: undefined parameter: {r}");
                            if !warnings.contains(&w) {
                                warnings.push(w);
                            }
                        }
                    }
                }
                parameters.push((name, e.value.clone()));
            } else {
                warnings.push(format!(
                    "{shown}: unused parameter: {name}={} (Postfix does not know it and ignores it)",
                    e.value_str()
                ));
            }
        }
        Ok(EffectiveConfig {
            config_dir: config_dir.to_path_buf(),
            main_cf,
            main_cf_bytes: bytes,
            master_cf_bytes: master.ok().map(|(b, _)| b),
            parameters,
            warnings,
        })
    }

    /// What `postconf -n` prints, less its leading config_directory line.
    pub fn postconf_n(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.parameters {
            let v = crate::postfix::maincf::normalize(value);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(if v.is_empty() { b" =" } else { b" = " });
            out.extend_from_slice(&v);
            out.push(b'\n');
        }
        out
    }

    /// JSON snapshot: parameters (normalized), warnings, raw files.
    pub fn to_json(&self) -> serde_json::Value {
        let params: serde_json::Map<String, serde_json::Value> = self
            .parameters
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    String::from_utf8_lossy(&crate::postfix::maincf::normalize(v))
                        .into_owned()
                        .into(),
                )
            })
            .collect();
        serde_json::json!({
            "format_version": 1,
            "config_dir": self.config_dir.display().to_string(),
            "parameters": params,
            "warnings": self.warnings,
            "main_cf": String::from_utf8_lossy(&self.main_cf_bytes),
            "master_cf": self.master_cf_bytes.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
        })
    }

    /// A short-form spec reproducing this main.cf, and warnings about
    /// what it cannot reproduce.
    pub fn to_spec_yaml(&self, catalog: &Catalog, non_default_only: bool) -> (String, Vec<String>) {
        let mut warnings = self.warnings.clone();
        let mut entries = Vec::new();
        for (name, value) in &self.parameters {
            if non_default_only && is_default(catalog, name, value) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(value) else {
                warnings.push(format!(
                    "{name}: value is not UTF-8 and cannot be written to a YAML spec; left out"
                ));
                continue;
            };
            let v = if is_list_param(name) && comparable_items(value).len() > 1 {
                SpecValue::List(
                    comparable_items(value)
                        .into_iter()
                        .map(|i| String::from_utf8_lossy(&i).into_owned())
                        .collect(),
                )
            } else {
                SpecValue::Str(
                    String::from_utf8_lossy(&crate::postfix::maincf::normalize(text.as_bytes()))
                        .into_owned(),
                )
            };
            // A value validation would refuse in a spec (a control
            // character such as VT or FF, which Postfix keeps as data, or
            // an item starting with '#') is left out: applying the spec
            // then leaves it as it is.
            let (subject, pieces) = match &v {
                SpecValue::List(items) => ("an item of the value", items.clone()),
                other => ("the value", vec![other.render()]),
            };
            if let Some(why) = pieces.iter().find_map(|p| unrepresentable(p)) {
                warnings.push(format!(
                    "{name}: {subject} {why}, which a spec cannot carry; left out (applying the spec leaves it as it is)"
                ));
                continue;
            }
            entries.push((name.clone(), v));
        }
        let version = catalog
            .get("mail_version")
            .map(|p| p.default)
            .unwrap_or("unknown");
        let header = format!(
            "# Imported by postform {} from {} (Postfix {version}).\n# Applying this spec to the same main.cf changes nothing.\n# Editor completion: `postform schema > spec.schema.json`, then make the first\n# line `# yaml-language-server: $schema=spec.schema.json`.\n",
            env!("CARGO_PKG_VERSION"),
            self.config_dir.join("main.cf").display(),
        );
        (
            crate::engine::spec::render_short_form(&header, &entries),
            warnings,
        )
    }
}

/// Why a value (or list item) cannot be written to a spec, if it cannot.
fn unrepresentable(piece: &str) -> Option<String> {
    if let Some(c) = piece.chars().find(|c| c.is_control()) {
        return Some(format!("contains the control character U+{:04X}", c as u32));
    }
    piece
        .starts_with('#')
        .then(|| "starts with '#'".to_string())
}
