//! Saved plans (`postform plan -o FILE`, `postform apply FILE`).
//!
//! A plan file is JSON: the plan's public shape plus the candidate main.cf
//! (hex, since main.cf may hold any bytes) and the hash of the main.cf it
//! was planned against. Applying it re-reads main.cf under the lock and
//! refuses when the hash differs (someone changed the file since).

use crate::plan::{Change, Plan};
use crate::service::{ServiceAction, ServiceMode};
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
    Write(#[from] crate::atomic::WriteError),
}

/// Is this file a saved plan (rather than a spec)?
pub fn looks_like_plan_file(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| {
            let head = &b[..b.len().min(256)];
            head.starts_with(b"{") && head.windows(FORMAT.len()).any(|w| w == FORMAT.as_bytes())
        })
        .unwrap_or(false)
}

/// Save `plan` to `path`.
pub fn save(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let file = PlanFile {
        format: FORMAT.into(),
        format_version: 1,
        config_dir: plan.config_dir.clone(),
        main_cf: plan.main_cf.clone(),
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
    crate::atomic::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// Load a saved plan.
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
    if crate::plan::sha256_hex(&before) != f.base_sha256 {
        return Err(invalid(
            "base_sha256 does not match the recorded file".into(),
        ));
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
    })
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
