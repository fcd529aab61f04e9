//! Spec files: what main.cf, master.cf, lookup tables and the aliases file
//! must say.
//!
//! Two forms. The short form is a plain map of main.cf parameters:
//!
//! ```yaml
//! inet_protocols: ipv4
//! ```
//!
//! The full form names sections (only these top-level keys exist, see
//! [`Section`]):
//!
//! ```yaml
//! extends: [../groups/relay.yaml]
//! main:
//!   inet_protocols: ipv4
//!   relayhost: null          # remove
//! master:
//!   submission/inet:         # service/type, as postconf -M names it
//!     private: n             # y | n | - (or true/false)
//!     command: smtpd
//!     options: {syslog_name: postfix/submission}
//!   smtps/inet: null         # remove the service
//! maps:
//!   /etc/postfix/sasl_passwd:
//!     type: hash
//!     secret: true
//!     entries:
//!       "[smtp.example.com]:587": {file: secrets/relay}  # or {env: NAME}
//! aliases:
//!   postmaster: root
//! allow: [open_relay]
//! postfix_version: "3.10"
//! purge: false
//! service: auto
//! custom_parameters: [my_checks]
//! ```
//!
//! # Layering
//!
//! `extends` names files that load first, in order; later files and then
//! the file itself win. Section by section:
//!
//! * `main`: a later layer's value replaces the earlier one; `null`
//!   removes the parameter.
//! * `master`: services merge field by field and `-o` option by option.
//!   A later layer's `null` service removes it; a later non-null entry after
//!   that re-adds it with only its own fields.
//! * `maps`: a later layer replaces a table's whole spec (`null`: the
//!   table file must not exist).
//! * `aliases`: merge by name; `null` removes a name.
//! * `allow`, `custom_parameters`: accumulate.
//! * `purge`, `service`, `postfix_version`: the last layer that sets one wins.
//!
//! # Secrets
//!
//! A table entry's value may be a reference instead of text, resolved when
//! the spec loads: `{file: path}` (the file's content without one trailing
//! newline; a relative path is relative to the spec file that says it) or
//! `{env: NAME}` (an environment variable). A table with a reference is
//! secret ([`MapSpec::secret`]). A secret's value is never part of an error
//! message or of `Debug` output ([`Secret`]).
//!
//! # Files
//!
//! `yaml.rs` is the only file that reads YAML (a span-aware parser: every
//! key and value knows its line and column), `sections.rs` turns a layer's
//! YAML into a [`Spec`], `load.rs` reads files and layers them, `render.rs`
//! writes the YAML `postform import` prints.

mod load;
mod render;
mod sections;
pub(crate) mod yaml;

pub use crate::postfix::mastercf::fields::{Flag, MaxProc, ServiceType, Wakeup};
pub use crate::postfix::table::MapType;
pub use load::LayerCache;
pub use render::{render_full_form, render_short_form, render_tables, TableYaml};
pub(crate) use sections::to_spec_value;

use crate::catalog::PostfixVersion;
use crate::engine::service::ServiceMode;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

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

/// Where something was written: file, line, column (1-based; the column
/// counts characters).
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

/// The top-level keys of the full form. The loader dispatches on this
/// enum and the JSON Schema is built from it, so a new section is one new
/// variant that both must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Extends,
    Main,
    Master,
    Maps,
    Aliases,
    Purge,
    Service,
    Allow,
    PostfixVersion,
    CustomParameters,
}

impl Section {
    /// Every section, in the order the documentation lists them.
    pub const ALL: [Section; 10] = [
        Section::Extends,
        Section::Main,
        Section::Master,
        Section::Maps,
        Section::Aliases,
        Section::Purge,
        Section::Service,
        Section::Allow,
        Section::PostfixVersion,
        Section::CustomParameters,
    ];

    /// The key as written in a spec file.
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Extends => "extends",
            Section::Main => "main",
            Section::Master => "master",
            Section::Maps => "maps",
            Section::Aliases => "aliases",
            Section::Purge => "purge",
            Section::Service => "service",
            Section::Allow => "allow",
            Section::PostfixVersion => "postfix_version",
            Section::CustomParameters => "custom_parameters",
        }
    }

    /// The section a top-level key names, if any.
    pub fn from_key(key: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.as_str() == key)
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A master.cf service as `postconf -M` names it: `service/type`
/// (`smtp/inet` and `smtp/unix` are two services).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Field 1: the service name (for `inet`, `port`, `host:port` or
    /// `[v6]:port`).
    pub name: String,
    /// Field 2.
    pub kind: ServiceType,
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.kind)
    }
}

impl std::str::FromStr for ServiceKey {
    type Err = ServiceKeyError;

    /// `name/type`, split at the last `/` (an inet name may hold `/`-free
    /// `host:port` or `[v6]:port`; a unix name may hold `/`).
    fn from_str(s: &str) -> Result<Self, ServiceKeyError> {
        let Some((name, kind)) = s.rsplit_once('/') else {
            return Err(ServiceKeyError::NoType);
        };
        let kind = kind
            .parse::<ServiceType>()
            .map_err(|_| ServiceKeyError::BadType(kind.to_string()))?;
        if name.is_empty() {
            return Err(ServiceKeyError::EmptyName);
        }
        if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(ServiceKeyError::BadName(c));
        }
        Ok(ServiceKey {
            name: name.to_string(),
            kind,
        })
    }
}

/// Why a text is not a `service/type` key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceKeyError {
    #[error("a service is named service/type, e.g. smtp/inet")]
    NoType,
    #[error("unknown service type `{0}`: expected inet, unix, unix-dgram, fifo or pass")]
    BadType(String),
    #[error("the service name before the `/` is empty")]
    EmptyName,
    #[error("a service name cannot contain {}", describe_char(*.0))]
    BadName(char),
}

/// A character for a message: visible ones quoted, the others by code point.
pub(crate) fn describe_char(c: char) -> String {
    if c == ' ' {
        "a space".into()
    } else if c.is_control() || c.is_whitespace() {
        format!("the character U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

/// What a spec says about one master.cf service. A field that is `None`
/// is not managed: the live file's value stays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterService {
    /// Field 3.
    pub private: Option<Flag>,
    /// Field 4.
    pub unpriv: Option<Flag>,
    /// Field 5.
    pub chroot: Option<Flag>,
    /// Field 6.
    pub wakeup: Option<Wakeup>,
    /// Field 7.
    pub maxproc: Option<MaxProc>,
    /// Field 8: the program (one word).
    pub command: Option<String>,
    /// The words after the command, other than `-o` options (`Some(vec![])`:
    /// none).
    pub args: Option<Vec<String>>,
    /// The `-o name=value` options the spec names, in the order written
    /// (the first layer that names an option fixes its place). `None`: the
    /// option must not be set. Options not named are left as they are.
    pub options: Vec<(String, Option<SpecValue>)>,
}

impl MasterService {
    /// What the spec says about option `name`: `None` when it does not
    /// name it, `Some(None)` when it must not be set.
    pub fn option(&self, name: &str) -> Option<&Option<SpecValue>> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Set option `name`, keeping its place when already named.
    pub fn set_option(&mut self, name: &str, value: Option<SpecValue>) {
        match self.options.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.options.push((name.to_string(), value)),
        }
    }

    /// Layer `later` on top: its fields and options win, the others stay.
    fn merge(&mut self, later: MasterService) {
        let MasterService {
            private,
            unpriv,
            chroot,
            wakeup,
            maxproc,
            command,
            args,
            options,
        } = later;
        fn over<T>(slot: &mut Option<T>, later: Option<T>) {
            if later.is_some() {
                *slot = later;
            }
        }
        over(&mut self.private, private);
        over(&mut self.unpriv, unpriv);
        over(&mut self.chroot, chroot);
        over(&mut self.wakeup, wakeup);
        over(&mut self.maxproc, maxproc);
        over(&mut self.command, command);
        over(&mut self.args, args);
        for (name, value) in options {
            self.set_option(&name, value);
        }
    }
}

/// The fields of a [`MasterService`] as written in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceField {
    Private,
    Unpriv,
    Chroot,
    Wakeup,
    Maxproc,
    Command,
    Args,
    Options,
}

impl ServiceField {
    /// Every field, in master.cf order.
    pub const ALL: [ServiceField; 8] = [
        ServiceField::Private,
        ServiceField::Unpriv,
        ServiceField::Chroot,
        ServiceField::Wakeup,
        ServiceField::Maxproc,
        ServiceField::Command,
        ServiceField::Args,
        ServiceField::Options,
    ];

    /// The key as written in a spec file.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceField::Private => "private",
            ServiceField::Unpriv => "unpriv",
            ServiceField::Chroot => "chroot",
            ServiceField::Wakeup => "wakeup",
            ServiceField::Maxproc => "maxproc",
            ServiceField::Command => "command",
            ServiceField::Args => "args",
            ServiceField::Options => "options",
        }
    }
}

/// What a spec says about one lookup table file: its whole content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    /// `type:` (required).
    pub kind: MapType,
    /// Key -> value, in the order written (for regexp, pcre and cidr
    /// tables the first match wins, so order matters).
    pub entries: Vec<(String, EntryValue)>,
    /// File mode bits (`mode: "0600"`), when the spec says.
    pub mode: Option<u32>,
    /// Owner (a user name or number, as written), when the spec says.
    pub owner: Option<String>,
    /// Group (a group name or number, as written), when the spec says.
    pub group: Option<String>,
    /// Never print the entries' values: `secret: true`, or any entry is
    /// a secret reference.
    pub secret: bool,
    /// `format: aliases`: the file is an aliases(5) file (`name: value`
    /// lines, built with postalias); default `postmap` (`key value`, or
    /// the pattern syntax of regexp, pcre and cidr).
    pub format: MapFormat,
}

/// How a table's source file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapFormat {
    /// `key value` lines (or the pattern syntax of the type).
    #[default]
    Postmap,
    /// aliases(5): `name: value`, indexed with postalias.
    Aliases,
}

impl MapFormat {
    pub const ALL: [MapFormat; 2] = [MapFormat::Postmap, MapFormat::Aliases];

    pub fn as_str(self) -> &'static str {
        match self {
            MapFormat::Postmap => "postmap",
            MapFormat::Aliases => "aliases",
        }
    }
}

impl MapSpec {
    /// The value of `key`, if the table has it.
    pub fn entry(&self, key: &str) -> Option<&EntryValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The fields of a [`MapSpec`] as written in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapField {
    Type,
    Entries,
    Mode,
    Owner,
    Group,
    Secret,
    Format,
}

impl MapField {
    /// Every field.
    pub const ALL: [MapField; 7] = [
        MapField::Type,
        MapField::Entries,
        MapField::Mode,
        MapField::Owner,
        MapField::Group,
        MapField::Secret,
        MapField::Format,
    ];

    /// The key as written in a spec file.
    pub fn as_str(self) -> &'static str {
        match self {
            MapField::Type => "type",
            MapField::Entries => "entries",
            MapField::Mode => "mode",
            MapField::Owner => "owner",
            MapField::Group => "group",
            MapField::Secret => "secret",
            MapField::Format => "format",
        }
    }
}

/// A table entry's value: text from the spec, or a secret from outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryValue {
    Text(String),
    Secret(Secret),
}

impl EntryValue {
    /// The value, secret or not. Never put a secret's value in a message.
    pub fn expose(&self) -> &str {
        match self {
            EntryValue::Text(s) => s,
            EntryValue::Secret(s) => s.expose(),
        }
    }

    /// Came from a secret reference.
    pub fn is_secret(&self) -> bool {
        matches!(self, EntryValue::Secret(_))
    }
}

/// A value read from outside the spec. `Debug` shows where it came from,
/// never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: String,
    source: SecretSource,
}

impl Secret {
    pub(crate) fn new(value: String, source: SecretSource) -> Secret {
        Secret { value, source }
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Where it came from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("value", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `{file: path}`: the path as written, and the file read.
    File { written: String, path: PathBuf },
    /// `{env: NAME}`.
    Env(String),
}

/// Names what a location belongs to. Typed, so that the service
/// `smtp/inet`, a parameter `smtp` and an alias `smtp` never collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecKey {
    /// A top-level key (`purge:`, `service:`, ...): the last layer that
    /// set it.
    Top(Section),
    /// A main.cf parameter under `main:` (or in the short form).
    Param(String),
    /// A master.cf service's key (`submission/inet:`).
    Service(ServiceKey),
    /// One field of a service (`chroot:`).
    ServiceField(ServiceKey, ServiceField),
    /// One `-o` option of a service (under `options:`).
    ServiceOption(ServiceKey, String),
    /// A table's key (its path as written).
    Map(String),
    /// One field of a table (`mode:`).
    MapField(String, MapField),
    /// One entry of a table: (path, key).
    MapEntry(String, String),
    /// An alias name.
    Alias(String),
    /// A policy id under `allow:`.
    Allow(String),
    /// A name under `custom_parameters:`.
    CustomParameter(String),
}

/// A loaded, layered spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spec {
    /// Desired parameters: `Some(value)` = main.cf must say this;
    /// `None` = main.cf must not define it.
    pub main: BTreeMap<String, Option<SpecValue>>,
    /// Desired master.cf services: `Some` = the service must exist with
    /// these fields and options (the others left as they are); `None` = it
    /// must not exist (`postconf -MX`).
    pub master: BTreeMap<ServiceKey, Option<MasterService>>,
    /// Desired lookup tables by path as written (absolute, or relative to
    /// the config directory): `Some` = the file's whole content; `None` =
    /// the table must not exist.
    pub maps: BTreeMap<String, Option<MapSpec>>,
    /// Desired aliases (in the file `alias_database` names): name ->
    /// targets (each as written; a string is one item and may itself list
    /// several, as aliases(5) allows); `None` = the name must not be there.
    pub aliases: BTreeMap<String, Option<Vec<String>>>,
    /// Safety-policy ids this host allows.
    pub allow: BTreeSet<String>,
    /// The Postfix version the spec is written for (`"3.10"`,
    /// `"3.10.13"`), if it says.
    pub postfix_version: Option<PostfixVersion>,
    /// Also remove parameters the spec does not name.
    pub purge: bool,
    /// How to reload/restart Postfix, when the spec says.
    pub service: Option<ServiceMode>,
    /// User-defined parameter names declared valid by the spec.
    pub custom_parameters: BTreeSet<String>,
    /// The files this spec was built from, base layers first.
    pub files: Vec<PathBuf>,
    /// Where each item was set (by the layer that won), for messages.
    locations: BTreeMap<SpecKey, Location>,
    /// Some layer set `purge` (which may be `false`).
    purge_set: bool,
    /// Services whose entry replaces, not merges onto, what layers below
    /// this spec say: they were removed (`null`) in it, maybe re-added
    /// later. Needed so that a cached layer applies like a fresh load.
    replaced_services: BTreeSet<ServiceKey>,
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
    /// together with every problem found. An item whose value is unusable
    /// is left out; the rest of the file is still read, so that validation
    /// can report its problems in the same run ("all errors at once", see
    /// [`crate::engine::validate::load_and_validate`]). Never use a spec
    /// with errors for anything but more error reporting.
    pub fn load_partial(path: &Path) -> (Spec, Vec<SpecError>) {
        load::load_file(path, None)
    }

    /// [`Spec::load`] that reuses the layers `cache` already holds (and
    /// adds the ones it reads), for runs that load many specs sharing
    /// layers (a fleet plan).
    pub fn load_cached(path: &Path, cache: &LayerCache) -> Result<Spec, SpecErrors> {
        let (spec, errors) = load::load_file(path, Some(cache));
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// [`Spec::load_partial`] with a [`LayerCache`].
    pub fn load_partial_cached(path: &Path, cache: &LayerCache) -> (Spec, Vec<SpecError>) {
        load::load_file(path, Some(cache))
    }

    /// Parse spec text. `extends` paths and `{file: ...}` secrets are
    /// relative to the current directory.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Spec, SpecErrors> {
        let (spec, errors) = load::load_text(text, origin);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// Build a spec from JSON (an Ansible option): a full-form object, or a
    /// plain map of parameters. Read by the same rules as YAML (JSON has no
    /// lines: messages name only `origin`). JSON objects come sorted by key
    /// (serde_json's map), so table entries given this way are in key order.
    pub fn from_json(value: &serde_json::Value, origin: &str) -> Result<Spec, SpecErrors> {
        let (spec, errors) = load::load_json(value, origin);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(SpecErrors(errors))
        }
    }

    /// Set one parameter on top of this spec (a later layer).
    pub fn set(&mut self, name: &str, value: Option<SpecValue>, location: Location) {
        self.main.insert(name.to_string(), value);
        self.locations
            .insert(SpecKey::Param(name.to_string()), location);
    }

    /// Where `key` was set, or the spec's file when unknown.
    pub fn location(&self, key: &SpecKey) -> Location {
        self.locations
            .get(key)
            .cloned()
            .unwrap_or_else(|| self.file_location())
    }

    /// Where parameter `name` was set, or the spec's file when unknown.
    pub fn location_of(&self, name: &str) -> Location {
        self.location(&SpecKey::Param(name.to_string()))
    }

    /// Where `key` was set, if the spec says.
    pub fn location_if_known(&self, key: &SpecKey) -> Option<&Location> {
        self.locations.get(key)
    }

    /// Every known location.
    pub fn locations(&self) -> impl Iterator<Item = (&SpecKey, &Location)> {
        self.locations.iter()
    }

    /// Every known location, to rename files in (GitOps shows paths under
    /// the repository).
    pub fn locations_mut(&mut self) -> impl Iterator<Item = &mut Location> {
        self.locations.values_mut()
    }

    /// The last file, without a line.
    fn file_location(&self) -> Location {
        Location {
            file: self
                .files
                .last()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            ..Location::default()
        }
    }

    /// Put `later` (a layer loaded onto an empty spec) on top of this one,
    /// by the rules in the module documentation. Loading and the layer
    /// cache both layer through here, so they agree.
    fn merge(&mut self, later: Spec) {
        let Spec {
            main,
            master,
            maps,
            aliases,
            allow,
            postfix_version,
            purge,
            service,
            custom_parameters,
            files,
            locations,
            purge_set,
            replaced_services,
        } = later;
        self.main.extend(main);
        for (key, entry) in master {
            let replace = entry.is_none()
                || replaced_services.contains(&key)
                || !matches!(self.master.get(&key), Some(Some(_)));
            match (self.master.get_mut(&key), entry) {
                (Some(Some(current)), Some(entry)) if !replace => current.merge(entry),
                (_, entry) => {
                    if self.master.contains_key(&key) {
                        self.locations.retain(|k, _| !belongs_to_service(k, &key));
                    }
                    self.master.insert(key.clone(), entry);
                }
            }
            if replaced_services.contains(&key) || matches!(self.master.get(&key), Some(None)) {
                self.replaced_services.insert(key);
            }
        }
        for (path, table) in maps {
            if self.maps.contains_key(&path) {
                self.locations.retain(|k, _| !belongs_to_map(k, &path));
            }
            self.maps.insert(path, table);
        }
        self.aliases.extend(aliases);
        self.allow.extend(allow);
        self.custom_parameters.extend(custom_parameters);
        if postfix_version.is_some() {
            self.postfix_version = postfix_version;
        }
        if purge_set {
            self.purge = purge;
            self.purge_set = true;
        }
        if service.is_some() {
            self.service = service;
        }
        self.files.extend(files);
        self.locations.extend(locations);
    }
}

fn belongs_to_service(k: &SpecKey, key: &ServiceKey) -> bool {
    matches!(k, SpecKey::ServiceField(s, _) | SpecKey::ServiceOption(s, _) if s == key)
}

fn belongs_to_map(k: &SpecKey, path: &str) -> bool {
    matches!(k, SpecKey::MapField(p, _) | SpecKey::MapEntry(p, _) if p == path)
}

#[cfg(test)]
mod tests;
