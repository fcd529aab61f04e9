//! Saved plans (`postform plan -o FILE`, `postform apply FILE`).
//!
//! A plan file records what the plan was computed from, not what to
//! write: the spec files (paths and hashes, every layer), the config
//! directory, the fingerprint of every file read, and the hash of each
//! planned file. `apply FILE` re-derives the plan from those same inputs
//! and refuses when any of them changed or the recomputed files differ
//! from the recorded hashes: what apply shows and writes is always what
//! it computes itself, so a plan file edited by hand cannot make it write
//! (or run) anything else. The file also carries the plan as JSON for
//! reviewers (ignored by apply). It holds no file contents.
//!
//! Writing one never replaces anything but a plan file: not a config
//! file, not the spec, not a symlink, device or FIFO (adversarial review
//! H1, H2); it is created 0600.

use crate::catalog::PostfixVersion;
use crate::engine::converge::{validate_and_plan, CheckedPlanError};
use crate::engine::live::Fingerprint;
use crate::engine::plan::{ManagedFile, Plan};
use crate::engine::spec::{Spec, SpecErrors};
use crate::engine::version::{choose_postfix, HostPostfix};
use crate::io::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Marker in every plan file.
pub const FORMAT: &str = "postform-plan";
/// The plan file format this postform writes and reads.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    format: String,
    format_version: u32,
    postform_version: String,
    config_dir: PathBuf,
    /// The spec given to `plan` (absolute).
    spec: PathBuf,
    /// Every file the spec was loaded from, base layers first.
    spec_files: Vec<Recorded>,
    /// Every configuration file the plan read.
    bases: Vec<(PathBuf, Fingerprint)>,
    /// The planned content of each managed file.
    planned: Vec<Planned>,
    /// Whether the spec was validated (apply validates the same way).
    validated: bool,
    /// `--postfix-version` of the plan (apply checks against the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    postfix_version: Option<PostfixVersion>,
    /// The plan as `plan --json` prints it, for reviewers.
    plan: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    path: PathBuf,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Planned {
    file: ManagedFile,
    path: PathBuf,
    sha256: String,
}

/// Reading, writing or re-deriving a plan file failed; nothing was
/// written to the configuration.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("{}: cannot read plan file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a postform plan file ({why}); create one with `postform plan -o FILE`", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error("{}: made by postform {made_by} (plan format {format}); this is postform {} (plan format {}): run `postform plan` again", path.display(), env!("CARGO_PKG_VERSION"), FORMAT_VERSION)]
    OtherVersion {
        path: PathBuf,
        made_by: String,
        format: u32,
    },
    #[error("{}: the plan is for {}, not {}; a saved plan applies only to the config directory it was made for", path.display(), planned.display(), given.display())]
    OtherConfigDir {
        path: PathBuf,
        planned: PathBuf,
        given: PathBuf,
    },
    #[error("{}: {} changed since the plan was made; nothing was written\n  hint: run `postform plan` again and review the new plan", path.display(), changed.display())]
    Stale { path: PathBuf, changed: PathBuf },
    #[error("{}: already applied: the files hold what this plan writes; nothing was written\n  hint: `postform plan` shows whether anything is left to change", path.display())]
    AlreadyApplied { path: PathBuf },
    #[error("{}: applying it now would not write what the plan recorded ({}); nothing was written\n  hint: run `postform plan` again and review the new plan", path.display(), file.display())]
    Differs { path: PathBuf, file: PathBuf },
    #[error("{}: refusing to write a plan there: {why}\n  hint: give -o a new file name, or the name of an earlier plan file to replace it", path.display())]
    Target { path: PathBuf, why: String },
    #[error(transparent)]
    Spec(#[from] SpecErrors),
    #[error(transparent)]
    Plan(#[from] CheckedPlanError),
    #[error(transparent)]
    Write(#[from] crate::io::atomic::WriteError),
}

/// Is this file a saved plan (rather than a spec)? A regular file that
/// opens a JSON object with `"format": "postform-plan"` in its first
/// bytes (as postform writes it), or a JSON object whose `format` is
/// [`FORMAT`] anywhere (a plan re-serialized with sorted keys). A spec
/// that merely mentions the words is not a plan (adversarial review L9),
/// and a truncated plan is still recognised, so that apply says what is
/// wrong with it. Never reads a FIFO or a device.
pub fn looks_like_plan_file(path: &Path) -> bool {
    use std::io::Read;
    #[derive(Deserialize)]
    struct Probe {
        format: String,
    }
    let Ok((mut f, _)) = crate::io::read::open_regular(path) else {
        return false;
    };
    let mut head = [0u8; 256];
    let n = f.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    if head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    if format_marker_at_start(head) {
        return true;
    }
    let mut all = head.to_vec();
    f.read_to_end(&mut all).is_ok()
        && serde_json::from_slice::<Probe>(&all).is_ok_and(|p| p.format == FORMAT)
}

/// `"format"`, optional whitespace, `:`, optional whitespace, then
/// `"postform-plan"`, within `head`.
fn format_marker_at_start(head: &[u8]) -> bool {
    let key = b"\"format\"";
    head.windows(key.len())
        .enumerate()
        .filter(|(_, w)| *w == key)
        .any(|(i, _)| {
            let rest = &head[i + key.len()..];
            let rest = rest.trim_ascii_start();
            rest.strip_prefix(b":")
                .map(|r| r.trim_ascii_start())
                .is_some_and(|r| r.starts_with(format!("\"{FORMAT}\"").as_bytes()))
        })
}

/// Save `plan`, computed from the spec at `spec_path` (loaded as `spec`,
/// with `--postfix-version` when given), to `out`.
pub fn save(
    plan: &Plan,
    spec_path: &Path,
    spec: &Spec,
    validated: bool,
    postfix_version: Option<PostfixVersion>,
    out: &Path,
) -> Result<(), PlanFileError> {
    check_target(out, plan, spec)?;
    let mut spec_files = Vec::new();
    for f in &spec.files {
        let bytes = crate::io::read::read_regular(f).map_err(|source| PlanFileError::Read {
            path: f.clone(),
            source,
        })?;
        spec_files.push(Recorded {
            path: absolute(f),
            sha256: sha256_hex(&bytes),
        });
    }
    let file = PlanFile {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        postform_version: env!("CARGO_PKG_VERSION").into(),
        config_dir: absolute(&plan.config_dir),
        spec: absolute(spec_path),
        spec_files,
        bases: plan
            .bases
            .iter()
            .map(|(p, f)| (absolute(p), f.clone()))
            .collect(),
        planned: plan
            .files
            .iter()
            .map(|f| Planned {
                file: f.file,
                path: absolute(&f.path),
                sha256: sha256_hex(&f.after),
            })
            .collect(),
        validated,
        postfix_version,
        plan: plan.to_json(),
    };
    // Serializing plain data to a String cannot fail.
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    crate::io::atomic::write_new_private(out, text.as_bytes())?;
    Ok(())
}

/// Refuse to write a plan over anything but a plan file: a config file, a
/// spec, a symlink (planted by someone else in a shared directory), a
/// device, a FIFO, a directory.
fn check_target(out: &Path, plan: &Plan, spec: &Spec) -> Result<(), PlanFileError> {
    let refuse = |why: &str| {
        Err(PlanFileError::Target {
            path: out.to_path_buf(),
            why: why.to_string(),
        })
    };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return refuse(&format!("cannot inspect it: {e}")),
    };
    if meta.file_type().is_symlink() {
        return refuse("it is a symlink (a plan is never written through one)");
    }
    if !meta.is_file() {
        return refuse("it is not a regular file (a device, FIFO, socket or directory)");
    }
    let same = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.dev() == meta.dev() && m.ino() == meta.ino()
        })
    };
    if plan.bases.iter().any(|(p, _)| same(p)) {
        return refuse("it is a file of the Postfix configuration");
    }
    if spec.files.iter().any(|p| same(p)) {
        return refuse("it is the spec (or one of its layers)");
    }
    if !looks_like_plan_file(out) {
        return refuse("it exists and is not a postform plan file");
    }
    Ok(())
}

/// `p` as an absolute path: canonical when it exists, else joined to the
/// current directory.
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// Load the plan file at `path` and re-derive its plan: the spec files
/// and the configuration must be as they were, and the recomputed files
/// must be the recorded ones. `config_dir`: the directory the user named
/// (`-c`), which must be the plan's. `postfix_version`: `--postfix-version`
/// of the apply, else the plan's own is used (the Postfix version is then
/// chosen as for any plan, [`choose_postfix`]). Returns the plan (computed
/// now) and its warnings.
pub fn load(
    path: &Path,
    config_dir: Option<&Path>,
    postfix_version: Option<PostfixVersion>,
) -> Result<(Plan, Vec<String>), PlanFileError> {
    let invalid = |why: String| PlanFileError::Invalid {
        path: path.to_path_buf(),
        why,
    };
    let bytes = crate::io::read::read_regular(path).map_err(|source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    #[derive(Deserialize)]
    struct Head {
        format: String,
        format_version: u32,
        #[serde(default)]
        postform_version: Option<String>,
    }
    let head: Head = serde_json::from_slice(&bytes).map_err(|e| invalid(clip(&e.to_string())))?;
    if head.format != FORMAT {
        return Err(invalid(format!("format {:?}", head.format)));
    }
    let made_by = head
        .postform_version
        .unwrap_or_else(|| "0.1.0 or older".into());
    if head.format_version != FORMAT_VERSION || made_by != env!("CARGO_PKG_VERSION") {
        return Err(PlanFileError::OtherVersion {
            path: path.to_path_buf(),
            made_by,
            format: head.format_version,
        });
    }
    let f: PlanFile = serde_json::from_slice(&bytes).map_err(|e| invalid(clip(&e.to_string())))?;
    if let Some(given) = config_dir {
        if absolute(given) != f.config_dir {
            return Err(PlanFileError::OtherConfigDir {
                path: path.to_path_buf(),
                planned: f.config_dir,
                given: given.to_path_buf(),
            });
        }
    }
    let stale = |changed: &Path| PlanFileError::Stale {
        path: path.to_path_buf(),
        changed: changed.to_path_buf(),
    };
    for r in &f.spec_files {
        let now = crate::io::read::read_regular(&r.path).map(|b| sha256_hex(&b));
        if now.ok().as_deref() != Some(r.sha256.as_str()) {
            return Err(stale(&r.path));
        }
    }
    let spec = Spec::load(&f.spec)?;
    let loaded: Vec<PathBuf> = spec.files.iter().map(|p| absolute(p)).collect();
    let recorded: Vec<PathBuf> = f.spec_files.iter().map(|r| r.path.clone()).collect();
    if loaded != recorded {
        return Err(invalid(format!(
            "its spec {} is not made of the spec files it records",
            f.spec.display()
        )));
    }
    let (target, mut warnings) = choose_postfix(
        postfix_version.or(f.postfix_version),
        Some(&spec),
        HostPostfix::Local,
    );
    let live = crate::engine::tables::read_live(&f.config_dir, &spec, &target.catalog);
    for (p, fingerprint) in &f.bases {
        let now = live
            .fingerprints()
            .into_iter()
            .find(|(q, _)| absolute(q) == *p)
            .map(|(_, f)| f);
        if now.as_ref() != Some(fingerprint) {
            // Every file already holds what the plan would write: it was
            // applied (by this plan or an equal one).
            let applied = f.planned.iter().all(|planned| {
                crate::io::read::read_regular(&planned.path)
                    .is_ok_and(|b| sha256_hex(&b) == planned.sha256)
            });
            if applied {
                return Err(PlanFileError::AlreadyApplied {
                    path: path.to_path_buf(),
                });
            }
            return Err(stale(p));
        }
    }
    let (plan, more) = validate_and_plan(&spec, &live, &target.catalog, f.validated)?;
    warnings.extend(more);
    for planned in &f.planned {
        let now = plan
            .files
            .iter()
            .find(|fp| fp.file == planned.file && absolute(&fp.path) == absolute(&planned.path))
            .map(|fp| sha256_hex(&fp.after));
        if now.as_deref() != Some(planned.sha256.as_str()) {
            return Err(PlanFileError::Differs {
                path: path.to_path_buf(),
                file: planned.path.clone(),
            });
        }
    }
    if plan.files.len() != f.planned.len() {
        return Err(invalid(
            "it does not cover the files the spec manages".into(),
        ));
    }
    Ok((plan, warnings))
}

/// At most 200 characters of `s`, control characters escaped (a hostile
/// file must not write terminal escapes or megabytes into a message).
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(200).flat_map(char::escape_debug).collect();
    if s.chars().nth(200).is_some() {
        out.push_str("...");
    }
    out
}
