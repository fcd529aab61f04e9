//! Apply: write a plan's files in one transaction and run the service
//! action.
//!
//! 1. Lock the config directory (postform's lock, with a time limit), and
//!    finish or undo a transaction a killed run left.
//! 2. Take Postfix's own edit lock on main.cf and master.cf (the lock
//!    `postconf -e`/`-M` takes), re-read every file the plan was made
//!    from and refuse when any of them changed since.
//! 3. Check the candidate files with the real Postfix in a scratch copy.
//! 4. Keep backups when asked; take Postfix's state (running? master pid?).
//! 5. Stage every new file, write the journal, rename them into place in a
//!    fixed order (master.cf, then main.cf: a file never refers to what
//!    does not exist yet), mark the journal committed.
//! 6. Reload or restart only when the plan needs it; check Postfix runs.
//!    When it does not, every file is put back, Postfix is brought back
//!    up, and the error carries Postfix's words.

mod backup;
mod tables;
pub mod verify;

pub use backup::BackupError;

use crate::engine::candidate::{self, CandidateError};
use crate::engine::live::{Fingerprint, LiveConfig};
use crate::engine::plan::{FilePlan, ManagedFile, Plan};
use crate::engine::service::{Service, ServiceAction, ServiceError, ServiceMode, ServiceOutcome};
use crate::io::lock::{DirLock, EditLock, LockError};
use crate::io::transaction::{recover, Recovery, Transaction, TxnError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options for [`apply`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub service: ServiceMode,
    pub backup: bool,
    /// Check the candidate with the real postconf/postfix before writing.
    pub validate: bool,
    /// How long to wait for a lock another process holds.
    pub lock_timeout: Duration,
}

impl ApplyOptions {
    /// Options with the lock timeout from the environment.
    pub fn new(service: ServiceMode, backup: bool, validate: bool) -> Self {
        ApplyOptions {
            service,
            backup,
            validate,
            lock_timeout: crate::io::lock::lock_timeout(),
        }
    }
}

/// What apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The files written, as named in the config directory.
    pub written: Vec<PathBuf>,
    pub backup_files: Vec<PathBuf>,
    pub service: ServiceOutcome,
    pub warnings: Vec<String>,
}

/// Apply failed. Unless stated, no file was changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{}: changed since the plan was made; nothing was written\n  hint: run `postform plan` again and review the new plan (the plan was made against {expected}, the file now is {found})", path.display())]
    Stale {
        path: PathBuf,
        expected: Fingerprint,
        found: Fingerprint,
    },
    #[error(transparent)]
    Read(#[from] crate::engine::live::LiveError),
    #[error(transparent)]
    Candidate(#[from] CandidateError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("{0}; nothing was written")]
    Commit(#[source] TxnError),
    #[error("cannot finish or undo an interrupted postform run: {0}")]
    Recover(#[source] TxnError),
    /// A table could not be staged or built; nothing was written.
    #[error("{}: {message}", path.display())]
    Table { path: PathBuf, message: String },
    #[error("Postfix {action} failed: {error}\n  {restored} restored to the previous content (byte-identical); {recovery}{}", rolled_back_hint(*running, *validated))]
    ServiceRolledBack {
        action: ServiceAction,
        error: Box<ServiceError>,
        /// The files put back, e.g. "main.cf and master.cf were".
        restored: String,
        /// What was done to bring Postfix back, or why that failed.
        recovery: String,
        /// Postfix runs (on the restored files) afterwards.
        running: bool,
        /// The candidate check ran before the write.
        validated: bool,
    },
    #[error("Postfix {action} failed: {error}\n  and putting the previous files back failed too: {restore}\n  hint: the files hold the planned content; restore them by hand (postform plan shows the difference) and start Postfix")]
    RollbackFailed {
        action: ServiceAction,
        error: Box<ServiceError>,
        restore: String,
    },
}

fn rolled_back_hint(running: bool, validated: bool) -> &'static str {
    match (running, validated) {
        (false, _) => "\n  hint: Postfix is NOT running; start it (postfix start) once the cause above is fixed",
        (true, false) => "\n  hint: fix the spec; without --no-validate postform checks the new files with Postfix before writing them",
        (true, true) => "\n  hint: fix the spec and run postform again",
    }
}

/// Take the config directory's lock and finish or undo what an
/// interrupted run left (see [`crate::io::transaction::recover`]; also
/// the staged and saved files of a run killed before its journal was
/// written). Every command that reads the config directory runs this
/// first: when another postform holds the lock (an apply in progress),
/// nothing is recovered and `Ok(None)` is returned after a moment's wait
/// (a killed apply's lock can outlive it by the time its last child takes
/// to exec; see [`crate::io::lock::try_lock_briefly`]).
pub fn recover_interrupted(dir: &Path) -> Result<Option<Recovery>, ApplyError> {
    if !crate::io::transaction::may_need_recovery(dir) {
        return Ok(None);
    }
    match DirLock::try_acquire(dir)? {
        Some(_lock) => recover(dir).map_err(ApplyError::Recover),
        None => Ok(None),
    }
}

/// Apply `plan`.
pub fn apply(plan: &Plan, opts: &ApplyOptions) -> Result<ApplyReport, ApplyError> {
    let dir = &plan.config_dir;
    let _lock = DirLock::acquire(dir, opts.lock_timeout)?;
    let mut warnings = Vec::new();
    if let Some(r) = recover(dir).map_err(ApplyError::Recover)? {
        warnings.push(r.to_string());
    }
    if !plan.has_changes() {
        return Ok(ApplyReport {
            written: Vec::new(),
            backup_files: Vec::new(),
            service: ServiceOutcome {
                ran: ServiceAction::None,
                message: "no changes, so no service action".into(),
            },
            warnings,
        });
    }
    // Postfix's edit locks on the files this apply writes, taken before
    // they are read again: a concurrent postconf -e waits (and then edits
    // the result), or finished before (and the plan is stale).
    let changed: Vec<&FilePlan> = commit_order(plan);
    let mut locks: Vec<(ManagedFile, EditLock)> = Vec::new();
    for f in changed.iter().filter(|f| f.table.is_none()) {
        locks.push((f.file, EditLock::acquire(&f.path, opts.lock_timeout)?));
    }
    // Hashes only: the plan holds the parsed documents and the bytes.
    for (path, expected) in &plan.bases {
        let found = LiveConfig::current_fingerprint(path);
        if &found != expected {
            return Err(ApplyError::Stale {
                path: path.clone(),
                expected: expected.clone(),
                found,
            });
        }
    }
    // The files as the plan read them (their hashes were just checked),
    // borrowed from the plan.
    let live_bytes = |which: ManagedFile, name: &str| -> std::borrow::Cow<'_, [u8]> {
        match plan.file(which) {
            Some(f) => std::borrow::Cow::Borrowed(&f.before[..]),
            None => std::borrow::Cow::Owned(
                crate::io::read::read_regular(&dir.join(name)).unwrap_or_default(),
            ),
        }
    };
    let before_main = live_bytes(ManagedFile::MainCf, "main.cf");
    let after_main: &[u8] = plan
        .file(ManagedFile::MainCf)
        .map_or(&before_main[..], |f| &f.after[..]);
    let before_master = live_bytes(ManagedFile::MasterCf, "master.cf");
    let after_master: &[u8] = plan
        .file(ManagedFile::MasterCf)
        .map_or(&before_master[..], |f| &f.after[..]);
    if opts.validate {
        warnings.extend(candidate::check(
            dir,
            &before_main,
            after_main,
            &before_master,
            after_master,
        )?);
    }
    let mut backup_files = Vec::new();
    if opts.backup {
        for f in &changed {
            let table = f.table.as_deref();
            if table.is_some_and(|t| !t.exists) {
                continue;
            }
            let real = crate::io::atomic::resolve(&f.path).unwrap_or_else(|_| f.path.clone());
            let private = table.is_some_and(|t| t.secret);
            backup_files.push(backup::backup(&real, &f.before, private)?);
        }
    }
    let needed = plan.service_action;
    let action = opts.service.action_for(needed);
    let service = (action != ServiceAction::None).then(|| {
        let probes = plan
            .candidate
            .master
            .as_deref()
            .map(|m| verify::probes(&plan.candidate.main, m))
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.service, p.addr))
            .collect();
        Service::detect(dir, &opts.service, maillog_file(after_main))
            .with_maillog(maillog_file(&before_main))
            .with_probes(probes)
    });
    // Postfix's state before the write: with a broken new main.cf even
    // `postfix status` fails.
    let state = service.as_ref().map(Service::snapshot);
    let mut txn = Transaction::new(
        dir,
        format!("apply of {} needing a {needed}", names(&changed)),
    );
    for f in &changed {
        if let Some(t) = &f.table {
            tables::stage_table(&mut txn, dir, f, t, opts.validate, &mut warnings)?;
            continue;
        }
        let lock = locks
            .iter()
            .position(|(which, _)| *which == f.file)
            .map(|i| locks.remove(i).1);
        let before = plan
            .bases
            .iter()
            .find(|(p, _)| *p == f.path)
            .and_then(|(_, fp)| match fp {
                Fingerprint::Sha256(h) => Some(h.as_str()),
                _ => None,
            });
        txn.stage(&f.path, &f.after, before, lock, 0o644)
            .map_err(ApplyError::Commit)?;
    }
    let committed = txn.commit().map_err(ApplyError::Commit)?;
    let written: Vec<PathBuf> = changed.iter().map(|f| f.path.clone()).collect();
    let outcome = match (&service, &state) {
        (Some(service), Some(state)) => match service.run_from(state, action) {
            Ok(o) => o,
            Err(error) => {
                // Put every file back and bring Postfix back up with them.
                match committed.rollback() {
                    Ok(problems) if problems.is_empty() => {}
                    Ok(problems) => {
                        return Err(ApplyError::RollbackFailed {
                            action,
                            error: Box::new(error),
                            restore: problems.join("; "),
                        })
                    }
                    Err(e) => {
                        return Err(ApplyError::RollbackFailed {
                            action,
                            error: Box::new(error),
                            restore: e.to_string(),
                        })
                    }
                }
                // smtpd processes that died made the master throttle the
                // service (service_throttle_time, 60 s by default); a
                // reload keeps that, a restart clears it.
                let recovered = if matches!(error, ServiceError::Unusable { .. }) {
                    service.restart_on_restored()
                } else {
                    service.recover(state, action)
                };
                let (recovery, running) = match recovered {
                    Ok(done) => (done, true),
                    Err(e) => (format!("bringing Postfix back failed: {e}"), false),
                };
                return Err(ApplyError::ServiceRolledBack {
                    action,
                    error: Box::new(error),
                    restored: format!(
                        "{} {}",
                        names(&changed),
                        if changed.len() == 1 { "was" } else { "were" }
                    ),
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
    if let Err(e) = committed.finish() {
        warnings.push(format!(
            "{}: the change is complete, but removing the transaction's journal failed: {e}",
            dir.display()
        ));
    }
    if outcome.ran != ServiceAction::None && outcome.ran < needed {
        warnings.push(format!(
            "service mode {}: Postfix was only {}ed, but the change needs a {needed} to take effect (see the plan)",
            opts.service, outcome.ran
        ));
    }
    Ok(ApplyReport {
        written,
        backup_files,
        service: outcome,
        warnings,
    })
}

/// The file plans that change their file, in the order they are committed:
/// new and changed tables (each index before its source) first, then
/// master.cf, then main.cf (a file never refers to what does not exist
/// yet: main.cf may name a transport master.cf defines, or a table), and
/// removed tables last (nothing refers to them any more).
fn commit_order(plan: &Plan) -> Vec<&FilePlan> {
    let mut files: Vec<&FilePlan> = plan.changed_files().collect();
    files.sort_by_key(|f| match (f.file, f.table.as_deref()) {
        (_, Some(t)) if t.remove => 3,
        (ManagedFile::Table | ManagedFile::Aliases, _) => 0,
        (ManagedFile::MasterCf, _) => 1,
        (ManagedFile::MainCf, _) => 2,
    });
    files
}

/// "main.cf and master.cf" for messages.
fn names(files: &[&FilePlan]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.label()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The effective `maillog_file` of main.cf bytes (Postfix logs there when
/// there is no syslog).
pub(crate) fn maillog_file(main_cf: &[u8]) -> Option<PathBuf> {
    let doc = crate::postfix::maincf::MainCf::parse(main_cf).ok()?;
    let e = doc.get("maillog_file")?;
    let v = e.value_str().trim().to_string();
    (!v.is_empty() && v.starts_with('/')).then(|| PathBuf::from(v))
}
