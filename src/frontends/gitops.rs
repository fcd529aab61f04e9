//! GitOps: a repository of host specs, validated as a whole, planned for
//! the whole fleet against captured configs, applied on each host.
//!
//! The repository convention:
//!
//! ```text
//! defaults.yaml            site-wide layer
//! groups/<group>.yaml      role and region layers (may nest in folders)
//! hosts/<host>.yaml        one spec per host, named by its FQDN
//! snapshots/<host>/main.cf captured configs (+ master.cf), or snapshots/<host>.json
//! ```
//!
//! A host file is a normal spec: the full form layers with
//! `extends: [../defaults.yaml, ../groups/mx.yaml]` (later layers and the
//! host file win; `null` removes), the short form stands alone.
//!
//! * [`Repo`]: discovery of hosts and layers, host lookup (with the list of
//!   known hosts when a name is missing), [`default_host_name`] for pull mode.
//! * [`validate_repo`]: every spec at once, each host against its snapshot's
//!   master.cf and main.cf when one exists; errors deduplicated across hosts
//!   that share a layer.
//! * [`fleet_plan`]: every host planned against its snapshot, in parallel.
//! * [`FleetPostfix`]: each host is checked against its own Postfix
//!   version: `--postfix-version` for all, else the version its snapshot
//!   recorded, else its spec's `postfix_version` (layered: a group or
//!   `defaults.yaml` may set it), else this machine's catalog
//!   ([`crate::engine::version::choose_postfix`]).
//!
//! Work per host is independent, so both run on `std::thread::scope`
//! workers; results keep the sorted host order whatever the scheduling.
//! Paths in messages are shown under the repository path as the user gave
//! it (`examples/gitops/groups/mx.yaml:3:3`), not as the absolute paths
//! `extends` resolution produces.

use crate::catalog::{Catalog, PostfixVersion};
use crate::engine::live::{LiveConfig, LiveFile};
use crate::engine::plan::{Change, Summary};
use crate::engine::policy::repo::{self as repo_policy, HostState, RepoPolicies, Violation};
use crate::engine::policy::Finding;
use crate::engine::service::ServiceAction;
use crate::engine::spec::{LayerCache, Location, Spec, SpecError, SpecErrors};
use crate::engine::version::{choose_postfix, HostPostfix, PostfixTarget, VersionSource};
use crate::postfix::mastercf::MasterCf;
use crate::postfix::mastercf::MasterCfError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Folder of host specs.
pub const HOSTS_DIR: &str = "hosts";
/// Folder of group layers.
pub const GROUPS_DIR: &str = "groups";
/// The site-wide layer.
pub const DEFAULTS_FILE: &str = "defaults.yaml";
/// Default folder of captured configs.
pub const SNAPSHOTS_DIR: &str = "snapshots";

/// A repository problem that stops the whole run (a host's own problems are
/// reported per host instead).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{}: not a postform repository: {why}\n  hint: a repository holds hosts/<host>.yaml (and optionally groups/*.yaml and defaults.yaml); see docs/gitops.md", path.display())]
    NotARepo { path: PathBuf, why: String },
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: host {host} is defined twice ({})", repo.display(), files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" and "))]
    DuplicateHost {
        repo: PathBuf,
        host: String,
        files: Vec<PathBuf>,
    },
    #[error("{}: no spec for host {host:?} (expected {}){}", repo.display(), expected.display(), known_hosts_hint(known))]
    UnknownHost {
        repo: PathBuf,
        host: String,
        expected: PathBuf,
        known: Vec<String>,
    },
    #[error("{0}\n{n} error(s) in {file}", n = .0 .0.len(), file = repo_policy::FILE)]
    Policies(SpecErrors),
    #[error("cannot tell this machine's name: `hostname -f` failed and /etc/hostname is empty or missing\n  hint: pass --host NAME")]
    NoHostname,
}

fn known_hosts_hint(known: &[String]) -> String {
    if known.is_empty() {
        return "\n  hint: the repository has no host specs yet; create hosts/<host>.yaml (postform import -o hosts/<host>.yaml)".into();
    }
    format!(
        "\n  hint: known hosts: {}; pass --host NAME",
        list_some(known, 20)
    )
}

/// One host of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// The host's name: the file name without `.yaml`/`.yml`.
    pub name: String,
    /// Its spec file (under the repository path as given).
    pub spec: PathBuf,
}

/// A GitOps repository of host specs.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The path as given (used to display file names).
    root: PathBuf,
    /// The canonical path (extends resolution produces paths under it).
    canonical: PathBuf,
    /// Layers loaded so far: hosts share groups and defaults.
    layers: Arc<LayerCache>,
}

impl Repo {
    /// Open a repository: `root` must be a directory holding `hosts/`.
    pub fn open(root: &Path) -> Result<Repo, RepoError> {
        let not_a_repo = |why: String| RepoError::NotARepo {
            path: root.to_path_buf(),
            why,
        };
        let canonical = std::fs::canonicalize(root).map_err(|e| not_a_repo(e.to_string()))?;
        if !canonical.is_dir() {
            return Err(not_a_repo("not a directory".into()));
        }
        if !canonical.join(HOSTS_DIR).is_dir() {
            return Err(not_a_repo(format!("no {HOSTS_DIR}/ folder")));
        }
        Ok(Repo {
            root: root.to_path_buf(),
            canonical,
            layers: Arc::default(),
        })
    }

    /// The repository path as given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `snapshots/` under the repository.
    pub fn default_snapshots(&self) -> PathBuf {
        self.root.join(SNAPSHOTS_DIR)
    }

    /// Every host, sorted by name.
    pub fn hosts(&self) -> Result<Vec<HostEntry>, RepoError> {
        let dir = self.root.join(HOSTS_DIR);
        let mut by_name: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for path in list_dir(&dir)? {
            if let Some(name) = spec_stem(&path) {
                if path.is_file() {
                    by_name.entry(name).or_default().push(path);
                }
            }
        }
        let mut hosts = Vec::with_capacity(by_name.len());
        for (name, mut files) in by_name {
            if files.len() > 1 {
                files.sort();
                return Err(RepoError::DuplicateHost {
                    repo: self.root.clone(),
                    host: name,
                    files,
                });
            }
            let spec = files.remove(0);
            hosts.push(HostEntry { name, spec });
        }
        Ok(hosts)
    }

    /// The host called `name`. When there is no `hosts/<name>.yaml` and
    /// `name` is a FQDN, its first label is tried too (`mx1` for
    /// `mx1.example.com`), so a repository may use short names.
    pub fn host(&self, name: &str) -> Result<HostEntry, RepoError> {
        let hosts = self.hosts()?;
        let short = name.split('.').next().unwrap_or(name);
        if let Some(h) = hosts
            .iter()
            .find(|h| h.name == name)
            .or_else(|| hosts.iter().find(|h| h.name == short))
        {
            return Ok(h.clone());
        }
        Err(RepoError::UnknownHost {
            repo: self.root.clone(),
            host: name.to_string(),
            expected: self.root.join(HOSTS_DIR).join(format!("{name}.yaml")),
            known: hosts.into_iter().map(|h| h.name).collect(),
        })
    }

    /// The layer files: `defaults.yaml` (when present) and every
    /// `groups/**/*.yaml`, sorted.
    pub fn layer_files(&self) -> Result<Vec<PathBuf>, RepoError> {
        let mut out = Vec::new();
        let defaults = self.root.join(DEFAULTS_FILE);
        if defaults.is_file() {
            out.push(defaults);
        }
        let groups = self.root.join(GROUPS_DIR);
        if groups.is_dir() {
            let mut stack = vec![groups];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                for path in list_dir(&dir)? {
                    if path.is_dir() {
                        stack.push(path);
                    } else if spec_stem(&path).is_some() {
                        found.push(path);
                    }
                }
            }
            found.sort();
            out.extend(found);
        }
        Ok(out)
    }

    /// Load a spec of this repository (with its `extends` layers), with
    /// every file name in its locations and errors shown under the
    /// repository path.
    pub fn load_spec(&self, path: &Path) -> Result<Spec, SpecErrors> {
        match self.load_spec_partial(path) {
            (spec, errors) if errors.is_empty() => Ok(spec),
            (_, errors) => Err(SpecErrors(errors)),
        }
    }

    /// [`Repo::load_spec`] that also returns what could be read when there
    /// are errors (see [`Spec::load_partial`]), for reporting every error.
    pub fn load_spec_partial(&self, path: &Path) -> (Spec, Vec<SpecError>) {
        let (mut spec, mut errors) = Spec::load_partial_cached(path, &self.layers);
        // A spec's locations name a few files many times over.
        let mut shown: Vec<(String, String)> = Vec::new();
        for loc in spec
            .locations_mut()
            .chain(errors.iter_mut().map(|e| &mut e.location))
        {
            match shown.iter().find(|(from, _)| *from == loc.file) {
                Some((_, to)) => loc.file.clone_from(to),
                None => {
                    let to = self.display_path(&loc.file);
                    shown.push((std::mem::replace(&mut loc.file, to.clone()), to));
                }
            }
        }
        for f in &mut spec.files {
            *f = PathBuf::from(self.display_path(&f.display().to_string()));
        }
        (spec, errors)
    }

    /// A file name as users should see it: under the repository path as
    /// given when the file is in the repository, `..` resolved.
    pub fn display_path(&self, file: &str) -> String {
        let p = lexical_normalize(Path::new(file));
        let rest = if p.is_absolute() {
            p.strip_prefix(&self.canonical).ok().map(Path::to_path_buf)
        } else {
            let root = lexical_normalize(&self.root);
            if root.as_os_str().is_empty() {
                Some(p.clone())
            } else {
                p.strip_prefix(&root).ok().map(Path::to_path_buf)
            }
        };
        match rest {
            Some(rest) => {
                let root = lexical_normalize(&self.root);
                if root.as_os_str().is_empty() {
                    rest.display().to_string()
                } else {
                    root.join(rest).display().to_string()
                }
            }
            None => p.display().to_string(),
        }
    }
}

impl Repo {
    /// The repository's policies.yaml ([`repo_policy::FILE`] at its root),
    /// parameter names checked against `catalog`: `Ok(None)` when there is
    /// none, else the rules or every problem of the file (with
    /// file:line:column) and the ids it names
    /// ([`RepoPolicies::ids_written`]).
    pub fn load_policies(
        &self,
        catalog: &Catalog,
    ) -> Result<Option<RepoPolicies>, (SpecErrors, Vec<String>)> {
        let path = self.root.join(repo_policy::FILE);
        let shown = self.display_path(&path.display().to_string());
        let at_file = |message: String, hint: &str| {
            (
                SpecErrors(vec![SpecError {
                    location: Location {
                        file: shown.clone(),
                        line: 0,
                        column: 0,
                    },
                    message,
                    hint: Some(hint.into()),
                }]),
                Vec::new(),
            )
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(at_file(
                    format!("cannot read: {e}"),
                    "make the file readable, or remove it (a repository needs no policies)",
                ))
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(at_file(
                "not UTF-8 text".into(),
                "save policies.yaml as UTF-8",
            ));
        };
        match RepoPolicies::parse(&text, &shown, catalog) {
            (policies, errors) if errors.is_empty() => Ok(Some(policies)),
            (policies, errors) => Err((SpecErrors(errors), policies.ids_written)),
        }
    }
}

/// The catalog policies.yaml's parameter names are checked against:
/// `--postfix-version`'s, else the fleet's fallback.
fn policies_catalog(postfix: &FleetPostfix) -> &Catalog {
    match postfix.flag {
        Some(v) => Catalog::builtin_for(v),
        None => &postfix.fallback.catalog,
    }
}

/// Judge one host's desired state (its spec planned over its snapshot, or
/// over an empty main.cf without one) by the repository's policies.
/// `None` when the spec cannot be planned (its errors say why).
fn repo_violations(
    repo: &Repo,
    policies: &RepoPolicies,
    host: &str,
    spec: &Spec,
    snapshot: Option<&LoadedSnapshot>,
    catalog: &Catalog,
) -> Option<Vec<Violation>> {
    // Without a snapshot: the spec over an empty main.cf (a fresh host).
    let empty;
    let live = match snapshot {
        Some(l) => &l.live,
        None => {
            empty = LiveConfig::from_bytes(
                Path::new(""),
                PathBuf::from("main.cf"),
                Some(Vec::new()),
                None,
            );
            &empty
        }
    };
    let plan = crate::engine::plan::plan(spec, live, catalog).ok()?;
    Some(judge(repo, policies, host, spec, live, &plan, catalog))
}

/// [`RepoPolicies::evaluate`] of a planned host.
fn judge(
    repo: &Repo,
    policies: &RepoPolicies,
    host: &str,
    spec: &Spec,
    live: &LiveConfig,
    plan: &crate::engine::plan::Plan,
    catalog: &Catalog,
) -> Vec<Violation> {
    let shown = repo.display_path(&live.main.path.display().to_string());
    let snapshot = live.main_cf().ok().map(|(_, doc)| (shown.as_str(), doc));
    policies.evaluate(&HostState {
        host,
        spec,
        after: &plan.candidate.main,
        snapshot,
        catalog,
    })
}

/// A violation as a host error: at the file and line that set the value
/// (the host's spec file when nothing does), worded like a built-in
/// refusal.
fn violation_error(v: Violation, spec_file: &str) -> HostError {
    let f = v.finding;
    let (file, line, column) = match v.source {
        Some(l) => (l.file, Some(l.line), (l.column > 0).then_some(l.column)),
        None => (spec_file.to_string(), None, None),
    };
    let mut hint = f.hint.unwrap_or_default();
    hint.push_str(&format!(
        "\n  hint: if this host must run it anyway, list the policy in its spec: allow: [{}]",
        f.id
    ));
    HostError {
        file: Some(file),
        line,
        column,
        message: format!("refused by policy {}: {}: {}", f.id, f.subject, f.message),
        hint: Some(hint),
        policy: Some(f.id),
    }
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, RepoError> {
    let read = |source| RepoError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// `name` for `name.yaml` / `name.yml`.
fn spec_stem(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let stem = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))?;
    (!stem.is_empty()).then(|| stem.to_string())
}

/// Resolve `.` and `..` without touching the file system.
fn lexical_normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// This machine's name for pull mode: `hostname -f`, else /etc/hostname.
pub fn default_host_name() -> Result<String, RepoError> {
    let from_command = std::process::Command::new("hostname")
        .arg("-f")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    from_command
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .ok_or(RepoError::NoHostname)
}

/// A captured config of one host.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Where it was read (`DIR/<host>` or `DIR/<host>.json`).
    pub path: PathBuf,
    /// The main.cf path shown in plans.
    pub main_cf_path: PathBuf,
    pub main_cf: Vec<u8>,
    pub master_cf: Option<Vec<u8>>,
    /// The host's Postfix version, when the snapshot recorded it
    /// (`postform show --json` writes `postfix_version`).
    pub postfix_version: Option<PostfixVersion>,
}

/// Read the snapshot of `host` under `dir`: `dir/<host>/main.cf` (and
/// `master.cf` beside it), else `dir/<host>.json` as printed by
/// `postform show --json`. `Ok(None)` when there is neither.
pub fn read_snapshot(dir: &Path, host: &str) -> Result<Option<Snapshot>, String> {
    let folder = dir.join(host);
    let main = folder.join("main.cf");
    match crate::io::read::read_regular(&main) {
        Ok(bytes) => {
            let master = folder.join("master.cf");
            let master_cf = match crate::io::read::read_regular(&master) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("{}: cannot read: {e}", master.display())),
            };
            return Ok(Some(Snapshot {
                path: folder,
                main_cf_path: main,
                main_cf: bytes,
                master_cf,
                postfix_version: None,
            }));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: cannot read: {e}", main.display())),
    }
    let json_path = dir.join(format!("{host}.json"));
    let text = match crate::io::read::read_regular(&json_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", json_path.display())),
    };
    let bad = |why: &str| {
        format!(
            "{}: not a snapshot ({why})\n  hint: capture it with `postform show --json > {host}.json` on the host",
            json_path.display()
        )
    };
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
    let main_cf = value
        .get("main_cf")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("no \"main_cf\" string"))?;
    let master_cf = match value.get("master_cf") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad("\"master_cf\" is not a string"))?
                .as_bytes()
                .to_vec(),
        ),
    };
    let postfix_version = match value.get("postfix_version") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad("\"postfix_version\" is not a string"))
                .and_then(|t| {
                    PostfixVersion::parse(t).map_err(|e| bad(&format!("\"postfix_version\": {e}")))
                })?,
        ),
    };
    Ok(Some(Snapshot {
        main_cf_path: json_path.join("main.cf"),
        path: json_path,
        main_cf: main_cf.as_bytes().to_vec(),
        master_cf,
        postfix_version,
    }))
}

/// One problem of one host, located in a spec file when it comes from one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostError {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
    /// The policy that refused, for a policy violation.
    pub policy: Option<String>,
}

impl HostError {
    /// As `validate --json` lists it: the error's fields and the hosts it
    /// concerns.
    pub fn to_json(&self, hosts: &[String]) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["hosts"] = serde_json::json!(hosts);
        v
    }

    fn plain(message: impl Into<String>) -> Self {
        HostError {
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            policy: None,
        }
    }
}

impl From<SpecError> for HostError {
    fn from(e: SpecError) -> Self {
        let Location { file, line, column } = e.location;
        HostError {
            file: Some(file),
            line: (line > 0).then_some(line),
            column: (line > 0).then_some(column),
            message: e.message,
            hint: e.hint,
            policy: None,
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(col)) => write!(f, "{file}:{line}:{col}: ")?,
            (Some(file), Some(line), None) => write!(f, "{file}:{line}: ")?,
            (Some(file), _, _) => write!(f, "{file}: ")?,
            _ => {}
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Run `f` over `items` on up to `jobs` threads, results in item order.
/// `done` counts finished items (for a progress bar).
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    done: &AtomicUsize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        return items
            .iter()
            .map(|item| {
                let r = f(item);
                done.fetch_add(1, Ordering::Relaxed);
                r
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| {
                    let mut local = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        local.push((i, f(item)));
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    local
                })
            })
            .collect();
        for w in workers {
            let results = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, r) in results {
                slots[i] = Some(r);
            }
        }
    });
    // Every index below items.len() was claimed by exactly one worker.
    slots.into_iter().flatten().collect()
}

/// The number of worker threads to use by default: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A parsed snapshot: the inputs validation and planning need.
struct LoadedSnapshot {
    /// Where it was read.
    path: PathBuf,
    /// Its files, read and parsed once for validation and the plan.
    live: LiveConfig,
    /// The host's Postfix version, when recorded.
    postfix_version: Option<PostfixVersion>,
}

/// Parsed master.cf files by content. A fleet shares a handful of
/// master.cf variants, and parsing one costs more than planning a host.
#[derive(Debug, Default)]
struct MasterCache(Mutex<HashMap<Vec<u8>, ParsedMaster>>);

/// A parsed master.cf, or why it could not be parsed.
type ParsedMaster = Result<Arc<MasterCf>, MasterCfError>;

impl MasterCache {
    fn parse(&self, bytes: &[u8]) -> ParsedMaster {
        if let Some(hit) = self.lock().get(bytes) {
            return hit.clone();
        }
        // Parse outside the lock; two workers may parse the same new
        // variant once each, which is harmless.
        let parsed = MasterCf::parse(bytes).map(Arc::new);
        self.lock().insert(bytes.to_vec(), parsed.clone());
        parsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, ParsedMaster>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn load_snapshot(
    dir: &Path,
    host: &str,
    masters: &MasterCache,
) -> Result<Option<LoadedSnapshot>, Box<HostError>> {
    let Some(snapshot) = read_snapshot(dir, host).map_err(|e| Box::new(HostError::plain(e)))?
    else {
        return Ok(None);
    };
    let dir = snapshot.path.clone();
    let postfix_version = snapshot.postfix_version;
    let master = match snapshot.master_cf {
        Some(bytes) => {
            let parsed = masters.parse(&bytes);
            LiveFile::from_parsed(dir.join("master.cf"), bytes, parsed)
        }
        None => LiveFile::from_bytes(dir.join("master.cf"), None),
    };
    let main = LiveFile::from_bytes(snapshot.main_cf_path.clone(), Some(snapshot.main_cf));
    let live = LiveConfig::from_files(&dir, main, master);
    if let Err(e) = live.main_cf() {
        return Err(Box::new(HostError::plain(format!(
            "{e}\n  hint: Postfix itself refuses this file"
        ))));
    }
    Ok(Some(LoadedSnapshot {
        path: dir,
        live,
        postfix_version,
    }))
}

/// One host loaded and validated: its spec, its snapshot, and what was
/// found on the way (warnings unprefixed).
struct CheckedHost {
    /// `None` when the spec did not load.
    spec: Option<Spec>,
    snapshot: Option<LoadedSnapshot>,
    /// The Postfix the host is checked against (`None` when its spec did
    /// not load far enough to tell).
    postfix: Option<PostfixTarget>,
    errors: Vec<HostError>,
    warnings: Vec<String>,
}

/// The Postfix versions a repository run checks hosts against.
#[derive(Debug, Clone)]
pub struct FleetPostfix {
    /// `--postfix-version`: every host, whatever its snapshot or spec say.
    pub flag: Option<PostfixVersion>,
    /// For a host whose snapshot and spec name no version: this machine's
    /// catalog (its `postconf -d`, else the built-in one).
    pub fallback: PostfixTarget,
}

impl FleetPostfix {
    /// With this machine's catalog as the fallback (runs `postconf -d`
    /// once, when Postfix is installed). Returns the warnings about it.
    pub fn local(flag: Option<PostfixVersion>) -> (FleetPostfix, Vec<String>) {
        FleetPostfix::from_local(flag, &crate::engine::version::local_postfix())
    }

    /// [`FleetPostfix::local`] with this machine's catalog already read
    /// (see [`crate::engine::version::local_postfix`]).
    pub fn from_local(
        flag: Option<PostfixVersion>,
        local: &Result<Option<Catalog>, String>,
    ) -> (FleetPostfix, Vec<String>) {
        let mut warnings = Vec::new();
        let probed = match local {
            Ok(c) => c.as_ref(),
            Err(why) => {
                warnings.push(format!(
                    "cannot read this machine's Postfix parameters ({why}); hosts that name no version are checked against the built-in catalog"
                ));
                None
            }
        };
        let (fallback, w) = choose_postfix(None, None, HostPostfix::Probed(probed));
        warnings.extend(w);
        (FleetPostfix { flag, fallback }, warnings)
    }

    /// The Postfix a host is checked against, and the warnings about it.
    fn for_host(
        &self,
        spec: &Spec,
        snapshot: Option<&LoadedSnapshot>,
    ) -> (PostfixTarget, Vec<String>) {
        let path = snapshot.map(|l| l.path.display().to_string());
        let recorded = snapshot
            .and_then(|l| l.postfix_version)
            .zip(path.as_deref());
        choose_postfix(
            self.flag,
            Some(spec),
            HostPostfix::Remote {
                snapshot: recorded,
                fallback: &self.fallback,
            },
        )
    }
}

/// How [`check_host`] checks a host.
#[derive(Debug, Clone, Copy)]
struct CheckMode<'a> {
    /// A missing snapshot is an error (nothing to plan against).
    require_snapshot: bool,
    /// Validate the spec.
    validate: bool,
    /// The repository's policy ids (`allow:` may name them).
    policy_ids: &'a [String],
}

/// Load `h`'s spec and snapshot and validate the spec against the
/// snapshot. Without a snapshot: an error when `require_snapshot` (nothing
/// to plan against), else validation against the catalog alone.
fn check_host(
    repo: &Repo,
    h: &HostEntry,
    snapshots: &Path,
    postfix: &FleetPostfix,
    masters: &MasterCache,
    mode: CheckMode<'_>,
) -> CheckedHost {
    let CheckMode {
        require_snapshot,
        validate,
        policy_ids,
    } = mode;
    let mut out = CheckedHost {
        spec: None,
        snapshot: None,
        postfix: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let (spec, load_errors) = repo.load_spec_partial(&h.spec);
    let complete = load_errors.is_empty();
    out.errors = load_errors.into_iter().map(HostError::from).collect();
    // Validating a repository (no snapshot required) goes on with what
    // could be read, so that one run lists every error; planning stops.
    if !complete && (require_snapshot || !validate) {
        return out;
    }
    match load_snapshot(snapshots, &h.name, masters) {
        Ok(Some(l)) => out.snapshot = Some(l),
        Ok(None) if require_snapshot => out.errors.push(HostError {
            hint: Some(format!(
                "capture it: copy the host's /etc/postfix/main.cf and master.cf into {}/ (docs/gitops.md shows an Ansible fetch), or save `postform show --json` as {}",
                snapshots.join(&h.name).display(),
                snapshots.join(format!("{}.json", h.name)).display()
            )),
            ..HostError::plain(format!(
                "no snapshot of {} under {}",
                h.name,
                snapshots.display()
            ))
        }),
        Ok(None) => {}
        Err(e) => out.errors.push(*e),
    }
    // This host's Postfix: --postfix-version, its snapshot's, its spec's.
    let (target, version_warnings) = postfix.for_host(&spec, out.snapshot.as_ref());
    out.warnings.extend(version_warnings);
    let catalog = &target.catalog;
    out.postfix = Some(target.clone());
    if validate && (out.errors.is_empty() || !complete) {
        // Without a snapshot: against the catalog alone.
        let empty;
        let live = match &out.snapshot {
            Some(l) => &l.live,
            None => {
                empty = LiveConfig::from_bytes(Path::new(""), PathBuf::from("main.cf"), None, None);
                &empty
            }
        };
        let mut warnings = Vec::new();
        let checked = crate::engine::validate::validate_with_policies(
            &spec,
            live,
            catalog,
            complete,
            &mut warnings,
            policy_ids,
        );
        if out.snapshot.is_some() {
            out.warnings.extend(warnings);
        }
        if let Err(SpecErrors(errors)) = checked {
            out.errors.extend(errors.into_iter().map(HostError::from));
        }
    }
    if complete {
        out.spec = Some(spec);
    }
    out
}

/// Errors from one host's spec in a repository-wide validation: the host
/// file and the layers it reaches.
#[derive(Debug, Clone, Default)]
pub struct RepoValidation {
    /// Distinct errors, sorted by file, line, column; each with the hosts
    /// whose validation found it (empty for a layer no host uses).
    pub errors: Vec<(HostError, Vec<String>)>,
    pub warnings: Vec<String>,
    /// Spec files checked (hosts and layers).
    pub files: usize,
    pub hosts: usize,
    /// Each host (sorted) with the Postfix version it was checked against
    /// (`None` when its spec did not load far enough to tell).
    pub postfix_versions: Vec<(String, Option<HostPostfixVersion>)>,
}

impl RepoValidation {
    /// `Postfix versions: 3.5 (old.example.com), 3.7 (mid.example.com)`:
    /// which hosts were checked against which version, when they differ
    /// (`None` when every host had the same).
    pub fn versions_line(&self) -> Option<String> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (host, v) in &self.postfix_versions {
            let Some(version) = v.as_ref().and_then(|v| v.version.as_ref()) else {
                continue;
            };
            match groups.iter_mut().find(|(g, _)| g == version) {
                Some((_, hosts)) => hosts.push(host.clone()),
                None => groups.push((version.clone(), vec![host.clone()])),
            }
        }
        if groups.len() < 2 {
            return None;
        }
        // Version order (3.5 before 3.10); unparsable last.
        groups.sort_by_key(|(v, _)| {
            (
                PostfixVersion::parse(v).ok().is_none(),
                PostfixVersion::parse(v).ok(),
            )
        });
        let parts: Vec<String> = groups
            .iter()
            .map(|(version, hosts)| format!("{version} ({})", list_some(hosts, 5)))
            .collect();
        Some(format!("Postfix versions: {}", parts.join(", ")))
    }

    /// Every error rendered (`file:line:column: message`, hint), with the
    /// hosts an error in a shared layer affects.
    /// The errors as JSON (`validate --json`): each with its location,
    /// message, hint, the policy id of a policy violation, and the hosts
    /// it concerns.
    pub fn errors_json(&self) -> Vec<serde_json::Value> {
        self.errors
            .iter()
            .map(|(e, hosts)| e.to_json(hosts))
            .collect()
    }

    pub fn rendered_errors(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.errors.len());
        for (e, hosts) in &self.errors {
            let mut text = e.to_string();
            let in_host_file = e.file.as_deref().is_some_and(|f| {
                Path::new(f).parent().and_then(Path::file_name) == Some(HOSTS_DIR.as_ref())
            });
            if !hosts.is_empty() && !in_host_file {
                text.push_str(&format!("\n  used by: {}", list_some(hosts, 5)));
            }
            out.push(text);
        }
        out
    }
}

fn list_some(items: &[String], shown: usize) -> String {
    let mut s = items
        .iter()
        .take(shown)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > shown {
        s.push_str(&format!(" and {} more", items.len() - shown));
    }
    s
}

/// Validate every spec of the repository: each host (with its layers)
/// against the catalog and its snapshot under `snapshots` (master.cf for
/// service-derived names, main.cf for referenced names and for telling
/// problems the host already has from new ones) when there is one; each
/// layer file on its own for syntax, and layers no host uses against the
/// catalog alone.
pub fn validate_repo(
    repo: &Repo,
    snapshots: &Path,
    postfix: &FleetPostfix,
    jobs: usize,
) -> Result<RepoValidation, RepoError> {
    let hosts = repo.hosts()?;
    let layers = repo.layer_files()?;
    let done = AtomicUsize::new(0);
    let masters = MasterCache::default();
    // The repository's policies; the file's own errors are reported with
    // the specs' (and its rules are then not applied).
    let (policies, policy_errors, policy_ids) = match repo.load_policies(policies_catalog(postfix))
    {
        Ok(p) => {
            let ids = p.as_ref().map(RepoPolicies::ids).unwrap_or_default();
            (p, Vec::new(), ids)
        }
        Err((SpecErrors(e), ids)) => (None, e, ids),
    };
    struct HostCheck {
        errors: Vec<HostError>,
        warnings: Vec<String>,
        /// The files of the host's layered spec; `None` when it did not load.
        files: Option<Vec<String>>,
        postfix: Option<HostPostfixVersion>,
    }
    let checks = parallel_map(&hosts, jobs, &done, |h| {
        let checked = check_host(
            repo,
            h,
            snapshots,
            postfix,
            &masters,
            CheckMode {
                require_snapshot: false,
                validate: true,
                policy_ids: &policy_ids,
            },
        );
        let mut warnings: Vec<String> = checked
            .warnings
            .iter()
            .map(|w| format!("{}: {w}", h.name))
            .collect();
        let mut errors = checked.errors;
        // A host whose spec has errors is not judged: its values may be
        // the wrong ones, and its errors say what to fix first.
        if let (Some(policies), Some(spec), Some(target), true) = (
            &policies,
            &checked.spec,
            &checked.postfix,
            errors.is_empty(),
        ) {
            let spec_file = repo.display_path(&h.spec.display().to_string());
            let found = repo_violations(
                repo,
                policies,
                &h.name,
                spec,
                checked.snapshot.as_ref(),
                &target.catalog,
            );
            for v in found.unwrap_or_default() {
                if v.finding.allowed {
                    warnings.push(format!("{}: {}", h.name, v.finding));
                } else {
                    errors.push(violation_error(v, &spec_file));
                }
            }
        }
        let files = checked.spec.as_ref().map(|spec| {
            warnings.extend(repeated_layers(&h.name, spec));
            spec.files.iter().map(|f| f.display().to_string()).collect()
        });
        HostCheck {
            errors,
            warnings,
            files,
            postfix: checked.postfix.as_ref().map(HostPostfixVersion::of),
        }
    });
    let mut result = RepoValidation {
        hosts: hosts.len(),
        ..RepoValidation::default()
    };
    let mut errors: BTreeMap<ErrorKey, (HostError, BTreeSet<String>)> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    // A host whose spec did not load may use any layer.
    let mut usage_known = true;
    let mut warnings = BTreeSet::new();
    for (h, check) in hosts.iter().zip(checks) {
        match check.files {
            Some(files) => used.extend(files),
            None => usage_known = false,
        }
        used.insert(repo.display_path(&h.spec.display().to_string()));
        for e in check.errors {
            add_error(&mut errors, e).insert(h.name.clone());
        }
        warnings.extend(check.warnings);
        result
            .postfix_versions
            .push((h.name.clone(), check.postfix));
    }
    for e in policy_errors {
        add_error(&mut errors, HostError::from(e));
    }
    for layer in &layers {
        let shown = repo.display_path(&layer.display().to_string());
        let is_used = used.contains(&shown);
        let found = match repo.load_spec(layer) {
            Err(SpecErrors(errs)) => errs,
            Ok(spec) if usage_known && !is_used => {
                warnings.insert(format!(
                    "{shown}: no host uses this layer; validated without a master.cf or main.cf"
                ));
                let mut w = Vec::new();
                let empty =
                    LiveConfig::from_bytes(Path::new(""), PathBuf::from("main.cf"), None, None);
                let (target, _) = postfix.for_host(&spec, None);
                crate::engine::validate::validate(&spec, &empty, &target.catalog, true, &mut w)
                    .err()
                    .map(|SpecErrors(errs)| errs)
                    .unwrap_or_default()
            }
            Ok(_) => Vec::new(),
        };
        for e in found {
            add_error(&mut errors, HostError::from(e));
        }
    }
    result.files = hosts.len() + layers.len();
    result.errors = errors
        .into_values()
        .map(|(e, hosts)| (e, hosts.into_iter().collect()))
        .collect();
    result.warnings = warnings.into_iter().collect();
    Ok(result)
}

/// Record `e` once; returns the hosts that found it, to add to.
fn add_error(
    errors: &mut BTreeMap<ErrorKey, (HostError, BTreeSet<String>)>,
    e: HostError,
) -> &mut BTreeSet<String> {
    &mut errors
        .entry(ErrorKey::of(&e))
        .or_insert_with(|| (e, BTreeSet::new()))
        .1
}

/// Sort key and identity of an error: where, then what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ErrorKey {
    file: String,
    line: usize,
    column: usize,
    message: String,
    hint: String,
}

impl ErrorKey {
    fn of(e: &HostError) -> Self {
        ErrorKey {
            file: e.file.clone().unwrap_or_default(),
            line: e.line.unwrap_or(0),
            column: e.column.unwrap_or(0),
            message: e.message.clone(),
            hint: e.hint.clone().unwrap_or_default(),
        }
    }
}

/// A layer reached twice in one host's chain is applied twice: its second
/// application overrides the layers between (a diamond through
/// defaults.yaml is the usual cause).
fn repeated_layers(host: &str, spec: &Spec) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for f in &spec.files {
        let shown = f.display().to_string();
        if !seen.insert(shown.clone()) {
            out.push(format!(
                "{host}: {shown} is layered twice (reached through more than one `extends`); its second application overrides the layers in between\n  hint: let only the host file extend shared layers such as defaults.yaml"
            ));
        }
    }
    out
}

/// Options of a fleet plan.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Folder of snapshots: `<host>/main.cf` (+ `master.cf`) or `<host>.json`.
    pub snapshots: PathBuf,
    /// Validate each host's spec against the catalog and its snapshot.
    pub validate: bool,
    /// Keep each host's unified diff (for JSON output).
    pub keep_diffs: bool,
    /// Worker threads.
    pub jobs: usize,
}

/// The plan of one host of the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct HostPlan {
    pub host: String,
    /// The host's spec file.
    pub spec: String,
    /// The snapshot planned against (`None` when missing).
    pub snapshot: Option<String>,
    /// The Postfix version the host was checked against, and why (`None`
    /// when its spec did not load).
    pub postfix_version: Option<HostPostfixVersion>,
    pub changed: bool,
    pub summary: Summary,
    pub service_action: ServiceAction,
    pub changes: Vec<Change>,
    /// Unified diff of main.cf (only with `keep_diffs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Every policy finding (built-in and the repository's), blocking ones
    /// included: `{id, severity, subject, location, message, hint,
    /// allowed, already}`.
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    pub errors: Vec<HostError>,
}

/// The Postfix version a host was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPostfixVersion {
    /// `3.10` as the spec or flag says it, `3.7.11` as a Postfix says it
    /// (`null` when unknown).
    pub version: Option<String>,
    /// Where it came from: `flag`, `snapshot`, `spec`, `host` (this
    /// machine's postconf), `default` (the built-in catalog).
    pub source: VersionSource,
}

impl HostPostfixVersion {
    fn of(target: &PostfixTarget) -> HostPostfixVersion {
        HostPostfixVersion {
            version: target.version().map(|v| v.to_string()),
            source: target.source,
        }
    }
}

/// Totals over the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetTotals {
    pub hosts: usize,
    /// Hosts whose main.cf would change.
    pub changed: usize,
    pub unchanged: usize,
    /// Hosts with errors (not planned).
    pub failed: usize,
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    /// Hosts whose change needs a restart / a reload.
    pub restart: usize,
    pub reload: usize,
}

/// The plan of every host of a repository.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    pub repo: PathBuf,
    pub snapshots: PathBuf,
    pub hosts: Vec<HostPlan>,
    /// Snapshots with no host spec (a host removed from the repository, or
    /// a typo in a file name).
    pub orphan_snapshots: Vec<String>,
}

/// Plan every host of `repo` against its snapshot. `done` counts planned
/// hosts (for a progress bar). Per-host problems (invalid spec, missing
/// snapshot, unreadable main.cf) are in that host's `errors`; only a
/// repository that cannot be read fails the whole run.
pub fn fleet_plan(
    repo: &Repo,
    postfix: &FleetPostfix,
    opts: &FleetOptions,
    done: &AtomicUsize,
) -> Result<FleetPlan, RepoError> {
    let hosts = repo.hosts()?;
    let masters = MasterCache::default();
    let policies = repo
        .load_policies(policies_catalog(postfix))
        .map_err(|(e, _)| RepoError::Policies(e))?;
    let planned = parallel_map(&hosts, opts.jobs, done, |h| {
        plan_host(repo, h, postfix, opts, &masters, policies.as_ref())
    });
    let names: BTreeSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let mut orphan_snapshots = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&opts.snapshots) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let name = if entry.path().is_dir() {
                file.as_str()
            } else {
                match file.strip_suffix(".json") {
                    Some(n) => n,
                    None => continue,
                }
            };
            if !name.starts_with('.') && !names.contains(name) {
                orphan_snapshots.push(name.to_string());
            }
        }
    }
    orphan_snapshots.sort();
    Ok(FleetPlan {
        repo: repo.root().to_path_buf(),
        snapshots: opts.snapshots.clone(),
        hosts: planned,
        orphan_snapshots,
    })
}

fn plan_host(
    repo: &Repo,
    h: &HostEntry,
    postfix: &FleetPostfix,
    opts: &FleetOptions,
    masters: &MasterCache,
    policies: Option<&RepoPolicies>,
) -> HostPlan {
    let mut out = HostPlan {
        host: h.name.clone(),
        spec: repo.display_path(&h.spec.display().to_string()),
        snapshot: None,
        postfix_version: None,
        changed: false,
        summary: Summary::default(),
        service_action: ServiceAction::None,
        changes: Vec::new(),
        diff: None,
        findings: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    let checked = check_host(
        repo,
        h,
        &opts.snapshots,
        postfix,
        masters,
        CheckMode {
            require_snapshot: true,
            validate: opts.validate,
            policy_ids: &policies.map(RepoPolicies::ids).unwrap_or_default(),
        },
    );
    out.warnings = checked.warnings;
    out.postfix_version = checked.postfix.as_ref().map(HostPostfixVersion::of);
    out.snapshot = checked
        .snapshot
        .as_ref()
        .map(|l| l.path.display().to_string());
    let (Some(spec), Some(loaded), Some(target), true) = (
        checked.spec,
        checked.snapshot,
        checked.postfix,
        checked.errors.is_empty(),
    ) else {
        out.errors = checked.errors;
        return out;
    };
    let catalog = &target.catalog;
    match crate::engine::plan::plan(&spec, &loaded.live, catalog) {
        Ok(mut plan) => {
            // The safety policies judge the host's plan as they judge a
            // local one: a refusal is the host's error.
            if opts.validate {
                use crate::engine::converge::{check_policies, refusal_text, CheckedPlanError};
                let mut findings = match check_policies(&spec, &loaded.live, &plan, catalog) {
                    Ok(findings) | Err(CheckedPlanError::Refused(findings)) => findings,
                    Err(e) => {
                        out.errors.push(HostError::plain(e.to_string()));
                        return out;
                    }
                };
                if let Some(policies) = policies {
                    let found = judge(repo, policies, &h.name, &spec, &loaded.live, &plan, catalog);
                    findings.extend(found.into_iter().map(|v| v.finding));
                }
                out.findings.clone_from(&findings);
                if findings.iter().any(Finding::blocks) {
                    out.errors.push(HostError::plain(refusal_text(&findings)));
                    return out;
                }
                plan.findings = findings;
                out.warnings
                    .extend(plan.findings.iter().map(ToString::to_string));
            }
            out.changed = plan.has_changes();
            if out.changed {
                out.summary = plan.summary();
                out.service_action = plan.service_action;
                if opts.keep_diffs {
                    out.diff = Some(plan.changed_files().map(|f| f.unified_diff()).collect());
                }
                out.changes = plan.changes().cloned().collect();
            }
            out.warnings.extend(plan.warnings);
        }
        Err(e) => out.errors.push(HostError::plain(e.to_string())),
    }
    out
}

impl FleetPlan {
    /// Counts over every host.
    pub fn totals(&self) -> FleetTotals {
        let mut t = FleetTotals {
            hosts: self.hosts.len(),
            ..FleetTotals::default()
        };
        for h in &self.hosts {
            if !h.errors.is_empty() {
                t.failed += 1;
                continue;
            }
            if !h.changed {
                t.unchanged += 1;
                continue;
            }
            t.changed += 1;
            t.add += h.summary.add;
            t.change += h.summary.change;
            t.remove += h.summary.remove;
            match h.service_action {
                ServiceAction::Restart => t.restart += 1,
                ServiceAction::Reload => t.reload += 1,
                ServiceAction::None => {}
            }
        }
        t
    }

    /// Exit code: 1 when any host has errors, else 2 when any host would
    /// change, else 0 (`plan --detailed-exitcode` semantics).
    pub fn exit_code(&self) -> u8 {
        let t = self.totals();
        if t.failed > 0 {
            1
        } else if t.changed > 0 {
            2
        } else {
            0
        }
    }

    /// The per-host summary table, the totals line, then every error.
    pub fn render_text(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color && !code.is_empty() {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        const HEAD: [&str; 7] = [
            "HOST", "POSTFIX", "ADD", "CHANGE", "REMOVE", "SERVICE", "ERRORS",
        ];
        let width = self
            .hosts
            .iter()
            .map(|h| h.host.chars().count())
            .chain([HEAD[0].len()])
            .max()
            .unwrap_or(4);
        let versions: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                h.postfix_version
                    .as_ref()
                    .and_then(|p| p.version.clone())
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        let vwidth = versions
            .iter()
            .map(String::len)
            .chain([HEAD[1].len()])
            .max()
            .unwrap_or(7);
        let mut out = format!(
            "{:width$}  {:vwidth$}  {:>3}  {:>6}  {:>6}  {:7}  {:>6}\n",
            HEAD[0],
            HEAD[1],
            HEAD[2],
            HEAD[3],
            HEAD[4],
            HEAD[5],
            HEAD[6],
            width = width,
            vwidth = vwidth
        );
        for (h, version) in self.hosts.iter().zip(&versions) {
            let line = if !h.errors.is_empty() {
                let row = format!(
                    "{:width$}  {:vwidth$}  {:>3}  {:>6}  {:>6}  {:7}  {:>6}",
                    h.host,
                    version,
                    "-",
                    "-",
                    "-",
                    "-",
                    h.errors.len(),
                    width = width,
                    vwidth = vwidth
                );
                paint("31", &row)
            } else {
                let action = if h.changed {
                    h.service_action.to_string()
                } else {
                    "none".to_string()
                };
                let code = match (h.changed, h.service_action) {
                    (false, _) => "",
                    (true, ServiceAction::Restart) => "1;33",
                    (true, _) => "33",
                };
                let row = format!(
                    "{:width$}  {:vwidth$}  {:>3}  {:>6}  {:>6}  {:7}  {:>6}",
                    h.host,
                    version,
                    h.summary.add,
                    h.summary.change,
                    h.summary.remove,
                    action,
                    0,
                    width = width,
                    vwidth = vwidth
                );
                paint(code, &row)
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let t = self.totals();
        out.push('\n');
        out.push_str(&format!(
            "Fleet: {} host{}: {} to change, {} unchanged, {} with errors. Changes: {} to add, {} to change, {} to remove. Service actions: {} restart, {} reload.\n",
            t.hosts,
            if t.hosts == 1 { "" } else { "s" },
            t.changed,
            t.unchanged,
            t.failed,
            t.add,
            t.change,
            t.remove,
            t.restart,
            t.reload
        ));
        let failed: Vec<&HostPlan> = self.hosts.iter().filter(|h| !h.errors.is_empty()).collect();
        if !failed.is_empty() {
            out.push_str("\nErrors:\n");
            for h in failed {
                for e in &h.errors {
                    let text = e.to_string().replace('\n', "\n    ");
                    out.push_str(&format!("  {}: {}\n", h.host, paint("31", &text)));
                }
            }
        }
        out
    }

    /// The documented JSON shape (`format_version` 1).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "format_version": 1,
            "repo": self.repo.display().to_string(),
            "snapshots": self.snapshots.display().to_string(),
            "hosts": self.hosts,
            "orphan_snapshots": self.orphan_snapshots,
            "totals": self.totals(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalize_resolves_parents() {
        assert_eq!(
            lexical_normalize(Path::new("/r/hosts/../groups/./mx.yaml")),
            PathBuf::from("/r/groups/mx.yaml")
        );
        assert_eq!(lexical_normalize(Path::new("./a/b")), PathBuf::from("a/b"));
    }

    #[test]
    fn spec_stems() {
        assert_eq!(
            spec_stem(Path::new("h/mx1.example.com.yaml")).as_deref(),
            Some("mx1.example.com")
        );
        assert_eq!(spec_stem(Path::new("h/a.yml")).as_deref(), Some("a"));
        assert_eq!(spec_stem(Path::new("h/README.md")), None);
        assert_eq!(spec_stem(Path::new("h/.yaml")), None);
    }

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<usize> = (0..1000).collect();
        let done = AtomicUsize::new(0);
        let out = parallel_map(&items, 4, &done, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(done.load(Ordering::Relaxed), 1000);
    }

    #[test]
    fn unknown_host_lists_known_ones() {
        let e = RepoError::UnknownHost {
            repo: "r".into(),
            host: "x".into(),
            expected: "r/hosts/x.yaml".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            "r: no spec for host \"x\" (expected r/hosts/x.yaml)\n  hint: known hosts: a, b; pass --host NAME"
        );
    }
}
