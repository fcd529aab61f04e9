//! Apply: write a plan's main.cf safely and run the service action.
//!
//! Under an exclusive lock on the config directory: re-read main.cf and
//! refuse when it changed since the plan; check the candidate with the real
//! Postfix when asked; keep a backup when asked; write through the atomic
//! writer; reload or restart only when the plan needs it. When the service
//! action fails (Postfix refuses the new file), the previous bytes are put
//! back, Postfix is brought back up, and the error carries Postfix's words.

use crate::engine::candidate::{self, CandidateError};
use crate::engine::plan::Plan;
use crate::engine::service::{Service, ServiceAction, ServiceError, ServiceMode, ServiceOutcome};
use crate::io::atomic::{self, WriteError};
use crate::io::hash::sha256_hex;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How many backups `--backup` keeps per main.cf.
pub const BACKUPS_KEPT: usize = 10;

/// Options for [`apply`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub service: ServiceMode,
    pub backup: bool,
    /// Check the candidate with the real postconf/postfix before writing.
    pub validate: bool,
}

/// What apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub written: bool,
    pub backup_file: Option<PathBuf>,
    pub service: ServiceOutcome,
    pub warnings: Vec<String>,
}

/// Apply failed. Unless stated, main.cf was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{}: cannot lock the config directory: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: changed since the plan was made; nothing was written\n  hint: run `postform plan` again and review the new plan (the plan was made against sha256 {}, the file now has {})", path.display(), short(expected), short(found))]
    Stale {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Read(#[from] crate::engine::plan::PlanError),
    #[error(transparent)]
    Candidate(#[from] CandidateError),
    #[error("{}: cannot keep a backup: {source}; nothing was written", path.display())]
    Backup {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("Postfix {action} failed: {error}\n  main.cf was restored to its previous content (byte-identical); {recovery}{}", rolled_back_hint(*running, *validated))]
    ServiceRolledBack {
        action: ServiceAction,
        error: ServiceError,
        /// What was done to bring Postfix back, or why that failed.
        recovery: String,
        /// Postfix runs (on the restored main.cf) afterwards.
        running: bool,
        /// The candidate check ran before the write.
        validated: bool,
    },
    #[error("Postfix {action} failed: {error}\n  and restoring the previous main.cf failed too: {restore}\n  hint: main.cf now holds the planned content; restore it by hand (postform plan shows the difference) and start Postfix")]
    RollbackFailed {
        action: ServiceAction,
        error: ServiceError,
        restore: String,
    },
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn rolled_back_hint(running: bool, validated: bool) -> &'static str {
    match (running, validated) {
        (false, _) => "\n  hint: Postfix is NOT running; start it (postfix start) once the cause above is fixed",
        (true, false) => "\n  hint: fix the spec; without --no-validate postform checks the new main.cf with Postfix before writing it",
        (true, true) => "\n  hint: fix the spec and run postform again",
    }
}

/// Apply `plan`.
pub fn apply(plan: &Plan, opts: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let mut warnings = Vec::new();
    if !plan.has_changes() {
        // Still sweep temp files an interrupted run left, under the lock
        // (every writer holds it, so none of them is in flight).
        if let Some(dir) = atomic::resolve(&plan.main_cf)
            .ok()
            .and_then(|t| t.parent().map(Path::to_path_buf))
        {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            if let Ok(lock) = File::open(&dir) {
                if lock.lock().is_ok() {
                    let removed = atomic::clean_stale_temps(&dir);
                    if removed > 0 {
                        warnings.push(format!(
                            "{}: removed {removed} temporary file(s) left by an interrupted postform run",
                            dir.display()
                        ));
                    }
                }
            }
        }
        return Ok(ApplyReport {
            written: false,
            backup_file: None,
            service: ServiceOutcome {
                ran: ServiceAction::None,
                message: "no changes, so no service action".into(),
            },
            warnings,
        });
    }
    let target = atomic::resolve(&plan.main_cf)?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let lock = File::open(&dir).map_err(|source| ApplyError::Lock {
        path: dir.clone(),
        source,
    })?;
    lock.lock().map_err(|source| ApplyError::Lock {
        path: dir.clone(),
        source,
    })?;
    let removed = atomic::clean_stale_temps(&dir);
    if removed > 0 {
        warnings.push(format!(
            "{}: removed {removed} temporary file(s) left by an interrupted postform run",
            dir.display()
        ));
    }
    let (_, current) = crate::engine::plan::read_main_cf(&plan.config_dir)?;
    let found = sha256_hex(&current);
    if found != plan.base_sha256 {
        return Err(ApplyError::Stale {
            path: plan.main_cf.clone(),
            expected: plan.base_sha256.clone(),
            found,
        });
    }
    if opts.validate {
        warnings.extend(candidate::check(
            &plan.config_dir,
            &plan.before,
            &plan.after,
        )?);
    }
    let backup_file = if opts.backup {
        Some(backup(&target, &current)?)
    } else {
        None
    };
    let needed = plan.service_action;
    let action = opts.service.action_for(needed);
    let service = (action != ServiceAction::None).then(|| {
        Service::detect(&plan.config_dir, &opts.service, maillog_file(&plan.after))
            .with_maillog(maillog_file(&plan.before))
    });
    // Postfix's state before the write: with a broken new main.cf even
    // `postfix status` fails.
    let state = service.as_ref().map(Service::snapshot);
    atomic::write_atomic(&plan.main_cf, &plan.after)?;
    let outcome = match (&service, &state) {
        (Some(service), Some(state)) => match service.run_from(state, action) {
            Ok(o) => o,
            Err(error) => {
                // Put the old file back and bring Postfix back up with it.
                if let Err(e) = atomic::write_atomic(&plan.main_cf, &current) {
                    return Err(ApplyError::RollbackFailed {
                        action,
                        error,
                        restore: e.to_string(),
                    });
                }
                let (recovery, running) = match service.recover(state, action) {
                    Ok(done) => (done, true),
                    Err(e) => (format!("bringing Postfix back failed: {e}"), false),
                };
                return Err(ApplyError::ServiceRolledBack {
                    action,
                    error,
                    recovery,
                    running,
                    validated: opts.validate,
                });
            }
        },
        _ if needed == ServiceAction::None => ServiceOutcome {
            ran: ServiceAction::None,
            message: "the change needs no reload or restart".into(),
        },
        _ => ServiceOutcome {
            ran: ServiceAction::None,
            message: format!(
                "skipped by service mode none; Postfix needs a {needed} for the change to take effect"
            ),
        },
    };
    if outcome.ran != ServiceAction::None && outcome.ran < needed {
        warnings.push(format!(
            "service mode {}: Postfix was only {}ed, but the change needs a {needed} to take effect (see the plan)",
            opts.service, outcome.ran
        ));
    }
    drop(lock);
    Ok(ApplyReport {
        written: true,
        backup_file,
        service: outcome,
        warnings,
    })
}

/// The effective `maillog_file` of main.cf bytes (Postfix logs there when
/// there is no syslog).
pub(crate) fn maillog_file(main_cf: &[u8]) -> Option<PathBuf> {
    let doc = crate::postfix::maincf::MainCf::parse(main_cf).ok()?;
    let e = doc.get("maillog_file")?;
    let v = e.value_str().trim().to_string();
    (!v.is_empty() && v.starts_with('/')).then(|| PathBuf::from(v))
}

/// Copy the current bytes to `main.cf.postform-backup-<UTC time>` beside
/// the file, keeping the newest [`BACKUPS_KEPT`].
fn backup(target: &Path, bytes: &[u8]) -> Result<PathBuf, ApplyError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "main.cf".into());
    let prefix = format!("{name}.postform-backup-");
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut path = dir.join(format!("{prefix}{}", utc_stamp()));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("{prefix}{}-{n}", utc_stamp()));
        n += 1;
    }
    // Mode, owner and group of main.cf: a backup is never more readable.
    let written = match std::fs::metadata(target) {
        Ok(meta) => atomic::write_atomic_like(&path, bytes, &meta),
        Err(_) => atomic::write_atomic_with_mode(&path, bytes, 0o600),
    };
    written.map_err(|e| ApplyError::Backup {
        path: path.clone(),
        source: e.source,
    })?;
    let mut old: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    old.sort();
    while old.len() > BACKUPS_KEPT {
        let _ = std::fs::remove_file(old.remove(0));
    }
    Ok(path)
}

/// `YYYYmmddTHHMMSSZ` for now, UTC.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamp_shape() {
        let s = super::utc_stamp();
        assert_eq!(s.len(), 16, "{s}");
        assert!(s.starts_with("20"), "{s}");
        assert!(s.ends_with('Z'));
    }
}
