//! Saved plans (`postform plan -o FILE`, `postform apply FILE`).
//!
//! A plan file is JSON: the plan's public shape plus the candidate main.cf
//! (hex, since main.cf may hold any bytes) and the hash of the main.cf it
//! was planned against. Applying it re-reads main.cf under the lock and
//! refuses when the hash differs (someone changed the file since).

use crate::engine::plan::{Change, Plan};
use crate::engine::service::{ServiceAction, ServiceMode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Marker in every plan file.
pub const FORMAT: &str = "postform-plan";

#[derive(Debug, Serialize, Deserialize)]
struct PlanFile {
    format: String,
    format_version: u32,
    config_dir: PathBuf,
    main_cf: PathBuf,
    base_sha256: String,
    changes: Vec<Change>,
    service_action: ServiceAction,
    service_mode: Option<ServiceMode>,
    warnings: Vec<String>,
    before_hex: String,
    after_hex: String,
}

/// Reading or writing a plan file failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("{}: cannot read plan file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a postform plan file ({why}); create one with `postform plan -o FILE`", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error(transparent)]
    Write(#[from] crate::io::atomic::WriteError),
}

/// Is this file a saved plan (rather than a spec)? A regular file holding
/// a JSON object whose `format` is [`FORMAT`], wherever the key stands (a
/// plan re-serialized with sorted keys is still a plan). Never reads a
/// FIFO or a device (a spec named /dev/zero must not hang here), and reads
/// past the first bytes only when they open a JSON object.
pub fn looks_like_plan_file(path: &Path) -> bool {
    use std::io::Read;
    let Ok((mut f, _)) = crate::io::read::open_regular(path) else {
        return false;
    };
    let mut head = [0u8; 256];
    let n = f.read(&mut head).unwrap_or(0);
    if head[..n].iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    if head[..n]
        .windows(FORMAT.len())
        .any(|w| w == FORMAT.as_bytes())
    {
        return true;
    }
    #[derive(Deserialize)]
    struct Probe {
        format: String,
    }
    let mut all = head[..n].to_vec();
    f.read_to_end(&mut all).is_ok()
        && serde_json::from_slice::<Probe>(&all).is_ok_and(|p| p.format == FORMAT)
}

/// Save `plan` to `path`.
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    // Absolute, so that the plan applies to the same directory from
    // anywhere (cron, another shell): `-c postfix` is resolved now.
    let config_dir = absolute(&plan.config_dir);
    let file = PlanFile {
        format: FORMAT.into(),
        format_version: 1,
        main_cf: config_dir.join("main.cf"),
        config_dir,
        base_sha256: plan.base_sha256.clone(),
        changes: plan.changes.clone(),
        service_action: plan.service_action,
        service_mode: plan.service_mode.clone(),
        warnings: plan.warnings.clone(),
        before_hex: hex(&plan.before),
        after_hex: hex(&plan.after),
    };
    // Serializing plain data to a String cannot fail.
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    // The plan holds main.cf twice: a new plan file is private (0600), not
    // world-readable like the writer's default.
    crate::io::atomic::write_atomic_with_mode(path, text.as_bytes(), 0o600)?;
    Ok(())
}

/// `dir` as an absolute path: canonical when it exists (symlinks in the
/// directory path resolved; main.cf itself stays as named), else joined
/// to the current directory.
fn absolute(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    })
}

/// Load a saved plan. Plans saved by older versions may hold relative
/// paths; those are resolved against the current directory.
pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
    let invalid = |why: String| PlanFileError::Invalid {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let f: PlanFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if f.format != FORMAT || f.format_version != 1 {
        return Err(invalid(format!(
            "format {:?} version {}",
            f.format, f.format_version
        )));
    }
    let before = unhex(&f.before_hex).ok_or_else(|| invalid("bad before_hex".into()))?;
    let after = unhex(&f.after_hex).ok_or_else(|| invalid("bad after_hex".into()))?;
    if crate::io::hash::sha256_hex(&before) != f.base_sha256 {
        return Err(invalid(
            "base_sha256 does not match the recorded file".into(),
        ));
    }
    // Apply checks main.cf in config_dir and writes main_cf: they must be
    // the same file, or an edited plan could write anywhere.
    if f.main_cf != f.config_dir.join("main.cf") {
        return Err(invalid(format!(
            "main_cf {} is not main.cf in config_dir {}",
            f.main_cf.display(),
            f.config_dir.display()
        )));
    }
    // Never hand apply bytes Postfix cannot read (with --no-validate
    // nothing else would catch them).
    if let Err(e) = crate::postfix::maincf::MainCf::parse(&after) {
        return Err(invalid(format!(
            "the planned main.cf does not parse: {}",
            clip(&e.to_string())
        )));
    }
    Ok(Plan {
        config_dir: f.config_dir,
        main_cf: f.main_cf,
        changes: f.changes,
        service_action: f.service_action,
        service_mode: f.service_mode,
        before,
        after,
        base_sha256: f.base_sha256,
        warnings: f.warnings,
        // Not saved: a saved plan's diff is found by search.
        line_origin: None,
    })
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

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trip() {
        let b = vec![0u8, 1, 0x7f, 0x80, 0xff, b'\n'];
        assert_eq!(super::unhex(&super::hex(&b)).unwrap(), b);
        assert!(super::unhex("zz").is_none());
    }
}
