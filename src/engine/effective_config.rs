//! A config directory as Postfix sees it: main.cf's effective parameters,
//! filtered the way `postconf -n` filters them (names Postfix does not
//! know are "unused" and left out), with the warnings postconf prints.

use crate::catalog::is_list_param;
use crate::catalog::{read_only, Catalog, NameContext};
use crate::engine::equivalence::is_default;
use crate::engine::live::{FileState, LiveConfig, LiveError};
use crate::engine::spec::{MasterService, ServiceKey, SpecValue};
use crate::postfix::list::comparable_items;
use crate::postfix::maincf::{MainCf, MainCfError};
use crate::postfix::mastercf::Service;
use std::path::{Path, PathBuf};

/// The effective configuration of one config directory.
#[derive(Debug, Clone)]
pub struct EffectiveConfig {
    pub config_dir: PathBuf,
    pub main_cf: MainCf,
    pub main_cf_bytes: Vec<u8>,
    pub master_cf_bytes: Option<Vec<u8>>,
    /// master.cf's services in file order; `None` when master.cf could
    /// not be read or parsed (a warning says why).
    pub services: Option<Vec<Service>>,
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
        let master_services = match &master {
            Ok((_, parsed)) => match parsed {
                Ok(mc) => Some(mc.services.clone()),
                Err(e) => {
                    warnings.push(format!("{}: {e}", config_dir.join("master.cf").display()));
                    None
                }
            },
            Err(e) => {
                let why = crate::io::read::unread_reason(e);
                warnings.push(format!(
                    "{}: {why}; service-derived parameter names are not recognised",
                    config_dir.join("master.cf").display()
                ));
                None
            }
        };
        let services: &[Service] = master_services.as_deref().unwrap_or_default();
        let effective = main_cf.effective();
        let values: Vec<(String, String)> = effective
            .iter()
            .map(|e| (e.name_str().into_owned(), e.value_str().into_owned()))
            .collect();
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ctx = NameContext::new(catalog, services, &pairs, &[]);
        let with_services = catalog.with_services(services);
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
            services: master_services,
            parameters,
            warnings,
        })
    }

    /// What `postconf -n` prints, less its leading config_directory line.
    pub fn postconf_n(&self) -> Vec<u8> {
        self.postconf_n_with(false)
    }

    /// [`EffectiveConfig::postconf_n`] for display: credentials written
    /// inline are masked (engine::secrets).
    pub fn postconf_n_masked(&self) -> Vec<u8> {
        self.postconf_n_with(true)
    }

    fn postconf_n_with(&self, masked: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.parameters {
            let mut v = crate::postfix::maincf::normalize(value);
            if masked && crate::engine::secrets::holds_secret(name, &v) {
                v = crate::engine::secrets::mask_value(&String::from_utf8_lossy(&v)).into_bytes();
            }
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
                    crate::engine::secrets::shown(
                        k,
                        &String::from_utf8_lossy(&crate::postfix::maincf::normalize(v)),
                    )
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
            "main_cf": String::from_utf8_lossy(&crate::engine::secrets::mask_main_cf(&self.main_cf_bytes).unwrap_or_else(|| self.main_cf_bytes.clone())),
            "services": self.services_json(),
            "master_cf": self.master_cf_bytes.as_ref().map(|b| String::from_utf8_lossy(&crate::engine::secrets::mask_master_cf(b).unwrap_or_else(|| b.clone())).into_owned()),
        })
    }

    /// A spec reproducing this configuration, and warnings about what it
    /// cannot reproduce: the full form (`main:` and `master:` with every
    /// service) when master.cf was read, else the short form.
    pub fn to_spec_yaml(
        &self,
        catalog: &Catalog,
        non_default_only: bool,
        include_secrets: bool,
    ) -> (String, Vec<String>) {
        self.to_spec_yaml_with(catalog, non_default_only, include_secrets, "")
    }

    /// [`EffectiveConfig::to_spec_yaml`] followed by `tables` (the
    /// `maps:`/`aliases:` sections `import` writes): always the full form
    /// when there are any.
    pub fn to_spec_yaml_with(
        &self,
        catalog: &Catalog,
        non_default_only: bool,
        include_secrets: bool,
        tables: &str,
    ) -> (String, Vec<String>) {
        let mut warnings = self.warnings.clone();
        let mut entries = Vec::new();
        for (name, value) in &self.parameters {
            if non_default_only && is_default(catalog, name, value) {
                continue;
            }
            if !include_secrets && crate::engine::secrets::holds_secret(name, value) {
                warnings.push(format!(
                    "{name}: holds credentials inline; left out of the spec (applying it leaves the value as it is); --include-secrets writes it"
                ));
                continue;
            }
            match spec_value(name, value) {
                Ok(v) => entries.push((name.clone(), v)),
                Err(why) => warnings.push(format!(
                    "{name}: {why}, which a spec cannot carry; left out (applying the spec leaves it as it is)"
                )),
            }
        }
        let version = catalog
            .postfix_version()
            .map_or_else(|| "unknown".to_string(), |v| v.to_string());
        let Some(services) = &self.services else {
            if !tables.is_empty() {
                let header = format!(
                    "# Imported by postform {} from {} and the tables it names (Postfix {version}).\n# Applying this spec to the same configuration changes nothing.\n{EDITOR_HINT}",
                    env!("CARGO_PKG_VERSION"),
                    self.config_dir.join("main.cf").display(),
                );
                let mut text = crate::engine::spec::render_full_form(&header, &entries, &[]);
                text.push_str(tables);
                return (text, warnings);
            }
            let header = format!(
                "# Imported by postform {} from {} (Postfix {version}).\n# Applying this spec to the same main.cf changes nothing.\n{EDITOR_HINT}",
                env!("CARGO_PKG_VERSION"),
                self.config_dir.join("main.cf").display(),
            );
            return (
                crate::engine::spec::render_short_form(&header, &entries),
                warnings,
            );
        };
        let master_path = self.config_dir.join("master.cf");
        let (services, service_warnings) = spec_services(
            services,
            &master_path.display().to_string(),
            include_secrets,
        );
        warnings.extend(service_warnings);
        let header = format!(
            "# Imported by postform {} from {} and master.cf (Postfix {version}).\n# Applying this spec to the same configuration changes nothing; with\n# `purge: true` it also removes what others add later.\n{EDITOR_HINT}",
            env!("CARGO_PKG_VERSION"),
            self.config_dir.join("main.cf").display(),
        );
        let mut text = crate::engine::spec::render_full_form(&header, &entries, &services);
        text.push_str(tables);
        (text, warnings)
    }

    /// master.cf's services as JSON objects, in file order (`show --json`).
    pub fn services_json(&self) -> Option<serde_json::Value> {
        let services = self.services.as_ref()?;
        Some(serde_json::Value::Array(
            services
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "service": s.name,
                        "type": s.kind,
                        "private": s.private,
                        "unpriv": s.unpriv,
                        "chroot": s.chroot,
                        "wakeup": s.wakeup,
                        "maxproc": s.maxproc,
                        "command": s.command,
                        "args": s.non_option_args(),
                        "options": s.overrides.iter().map(|(n, v)| (n.clone(), serde_json::Value::from(crate::engine::secrets::shown(n, v).into_owned()))).collect::<serde_json::Map<_, _>>(),
                        "line": s.line,
                    })
                })
                .collect(),
        ))
    }

    /// master.cf's services the way `postconf -M` prints them (one line
    /// each), for `show`.
    pub fn services_text(&self) -> Option<String> {
        let services = self.services.as_ref()?;
        let mut out = String::new();
        for s in services {
            out.push_str(&crate::engine::secrets::shown_line(&s.canonical()));
            out.push('\n');
        }
        Some(out)
    }
}

const EDITOR_HINT: &str = "# Editor completion: `postform schema > spec.schema.json`, then make the first\n# line `# yaml-language-server: $schema=spec.schema.json`.\n";

/// A main.cf value (or `-o` value) as a spec value: a list for list
/// parameters with several items, else the normalized string. `Err` says
/// why a spec cannot carry it (not UTF-8, a control character such as VT
/// or FF, which Postfix keeps as data, or an item starting with '#').
fn spec_value(name: &str, value: &[u8]) -> Result<SpecValue, String> {
    let Ok(text) = std::str::from_utf8(value) else {
        return Err("the value is not UTF-8".into());
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
    let (subject, pieces) = match &v {
        SpecValue::List(items) => ("an item of the value", items.clone()),
        other => ("the value", vec![other.render()]),
    };
    match pieces.iter().find_map(|p| unrepresentable(p)) {
        Some(why) => Err(format!("{subject} {why}")),
        None => Ok(v),
    }
}

/// master.cf's services as spec services: every field, the command, the
/// arguments and the `-o` options as written, so applying the result to
/// a modified copy restores each service. A name/type defined more than
/// once gives the last entry (the one master(8) uses), with a warning.
fn spec_services(
    services: &[Service],
    shown: &str,
    include_secrets: bool,
) -> (Vec<(ServiceKey, MasterService)>, Vec<String>) {
    let mut out: Vec<(ServiceKey, MasterService)> = Vec::new();
    let mut warnings = Vec::new();
    for s in services {
        let at = format!("{shown}:{}", s.line);
        let Some(kind) = s.service_type() else {
            warnings.push(format!(
                "{at}: {}/{}: unknown service type; left out of the spec",
                s.name, s.kind
            ));
            continue;
        };
        let key = ServiceKey {
            name: s.name.clone(),
            kind,
        };
        let mut secret_options: Vec<String> = Vec::new();
        let parsed = (|| -> Result<MasterService, String> {
            let field = |what: &str, text: &str| format!("{what} {text:?} is not valid");
            let mut options = Vec::new();
            for (name, value) in &s.overrides {
                if !include_secrets && crate::engine::secrets::holds_secret(name, value.as_bytes())
                {
                    secret_options.push(name.clone());
                    continue;
                }
                match spec_value(name, value.as_bytes()) {
                    // An option given twice: the last value is the one
                    // the service gets (a YAML map names it once).
                    Ok(v) => match options
                        .iter_mut()
                        .find(|(n, _): &&mut (String, Option<SpecValue>)| n == name)
                    {
                        Some(slot) => slot.1 = Some(v),
                        None => options.push((name.clone(), Some(v))),
                    },
                    Err(why) => return Err(format!("option {name}: {why}")),
                }
            }
            Ok(MasterService {
                private: Some(
                    s.private
                        .parse()
                        .map_err(|_| field("private", &s.private))?,
                ),
                unpriv: Some(s.unpriv.parse().map_err(|_| field("unpriv", &s.unpriv))?),
                chroot: Some(s.chroot.parse().map_err(|_| field("chroot", &s.chroot))?),
                wakeup: Some(s.wakeup.parse().map_err(|_| field("wakeup", &s.wakeup))?),
                maxproc: Some(
                    s.maxproc
                        .parse()
                        .map_err(|_| field("maxproc", &s.maxproc))?,
                ),
                command: Some(s.command.clone()),
                args: Some(s.non_option_args().to_vec()),
                options,
            })
        })();
        for name in secret_options.drain(..) {
            warnings.push(format!(
                "{at}: {key} -o {name}: holds credentials inline; left out of the spec (applying it leaves the option as it is); --include-secrets writes it"
            ));
        }
        match parsed {
            Ok(m) => {
                if let Some(i) = out.iter().position(|(k, _)| *k == key) {
                    warnings.push(format!(
                        "{at}: {key} is defined more than once in master.cf; the spec has the last entry (the one master(8) uses)"
                    ));
                    out.remove(i);
                }
                out.push((key, m));
            }
            Err(why) => warnings.push(format!(
                "{at}: {key}: {why}, which a spec cannot carry; left out (applying the spec leaves the service as it is)"
            )),
        }
    }
    (out, warnings)
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
