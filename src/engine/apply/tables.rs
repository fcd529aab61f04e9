//! Staging lookup tables in the apply's transaction.
//!
//! For each changed table, before anything is renamed:
//!
//! 1. the new source is written to a temp file beside the real one, with
//!    its final mode, owner and group ([`crate::io::index::stage_source`]);
//! 2. a text table Postfix reads into memory (regexp, pcre, cidr) is
//!    opened by the real `postmap -q` under that temp name: any warning
//!    refuses the apply (Postfix would skip the rule);
//! 3. an indexed table's index is built from the temp source by the real
//!    postmap/postalias into a temp name, then asked what it holds
//!    (`-q -` for every key, and `-s` for the count): anything but the
//!    planned entries refuses the apply;
//! 4. both are handed to the transaction, index first, so that the
//!    journal covers source and index: a crash at any moment leaves the
//!    old pair or the new pair (tests/crash_safety.rs).
//!
//! When only the index is rebuilt (missing, older than its source...), it
//! is built from a temp copy of the unchanged source, and only the index
//! is renamed. A removed table's index goes first, then its source.
//!
//! Messages about a secret table never hold its values: whatever the
//! tools print is redacted first.

use super::ApplyError;
use crate::engine::live::{Fingerprint, LiveConfig};
use crate::engine::plan::{FilePlan, TablePlan};
use crate::io::index::{self, Builder, Staged};
use crate::io::transaction::Transaction;
use crate::postfix::table::{MapType, Table};
use std::path::Path;

/// Stage table `f` (planned as `t`) into `txn`. Warnings of the builder
/// (about lines of the source that Postfix skips) go to `warnings`.
pub(super) fn stage_table(
    txn: &mut Transaction,
    config_dir: &Path,
    f: &FilePlan,
    t: &TablePlan,
    validate: bool,
    warnings: &mut Vec<String>,
) -> Result<(), ApplyError> {
    let redact = Redactor::new(f, t);
    let fail = |message: String| ApplyError::Table {
        path: f.path.clone(),
        message: redact.apply(&message),
    };
    let real = crate::io::atomic::resolve(&f.path).map_err(|e| fail(e.to_string()))?;
    let base = sha_of(&real);
    if t.remove {
        if let Some(i) = &t.index {
            if let Some(sha) = sha_of(&i.path) {
                txn.stage_removal(&i.path, &sha);
            }
        }
        if let Some(sha) = base {
            txn.stage_removal(&real, &sha);
        }
        return Ok(());
    }
    if let Some(dir) = real.parent() {
        // Temp files of a run killed before its journal was written.
        crate::io::atomic::clean_stale_temps(dir);
    }
    let staged: Option<Staged> = if t.write_source {
        Some(index::stage_source(&real, &f.after, t.perms).map_err(|e| fail(e.to_string()))?)
    } else {
        None
    };
    if let (true, Some(s)) = (validate && text_checked(t), &staged) {
        let problems = index::check_text_table(config_dir, t.kind.as_str(), &s.path, &f.path)
            .map_err(|e| fail(e.to_string()))?;
        // A problem on a line the live file already has is the live
        // file's (validation warned about it); only new ones refuse.
        let kept = |line: Option<usize>| {
            line.and_then(|l| f.line_origin.as_ref()?.get(l.checked_sub(1)?).copied())
                .is_some_and(|o| o != crate::postfix::table::NEW_LINE)
        };
        let (old, new): (Vec<_>, Vec<_>) = problems.into_iter().partition(|(l, _)| kept(*l));
        warnings.extend(
            old.into_iter()
                .map(|(_, m)| redact.apply(&format!("{m} (a line the live file already has)"))),
        );
        if !new.is_empty() {
            let list: Vec<String> = new.iter().map(|(_, m)| format!("  - {m}")).collect();
            return Err(fail(format!(
                "Postfix would skip rules of the new table; nothing was written:\n{}",
                list.join("\n")
            )));
        }
    }
    if let Some(ip) = t.index.as_ref().filter(|i| i.rebuild.is_some()) {
        let copy;
        let source = match &staged {
            Some(s) => s,
            None => {
                copy = index::stage_source(&real, &f.before, t.perms)
                    .map_err(|e| fail(e.to_string()))?;
                &copy
            }
        };
        let built = index::build_index(
            ip.builder,
            config_dir,
            t.kind.as_str(),
            ip.suffix,
            source,
            t.index_perms(),
        )
        .map_err(|e| fail(e.to_string()))?;
        warnings.extend(built.warnings.iter().map(|w| {
            format!(
                "{}: {}",
                f.path.display(),
                redact.apply(
                    w.trim_start_matches("postmap: ")
                        .trim_start_matches("postalias: ")
                )
            )
        }));
        let bytes = if t.write_source { &f.after } else { &f.before };
        verify(config_dir, t, ip.builder, &source.path, bytes).map_err(&fail)?;
        let target = crate::io::atomic::resolve(&ip.path).map_err(|e| fail(e.to_string()))?;
        let before = sha_of(&target);
        let sha = built.index.sha256.clone();
        let (path, file) = built.index.keep();
        txn.adopt(&target, path, file, before.as_deref(), sha);
    }
    if let Some(s) = staged {
        let sha = s.sha256.clone();
        let (path, file) = s.keep();
        txn.adopt(&real, path, file, base.as_deref(), sha);
    }
    Ok(())
}

/// Text tables whose rules Postfix compiles (and may skip) when it opens
/// them.
fn text_checked(t: &TablePlan) -> bool {
    matches!(t.kind, MapType::Regexp | MapType::Pcre | MapType::Cidr)
}

/// The content hash of the file at `path`, `None` when absent.
fn sha_of(path: &Path) -> Option<String> {
    match LiveConfig::current_fingerprint(path) {
        Fingerprint::Sha256(h) => Some(h),
        _ => None,
    }
}

/// Ask the built index (next to the temp source `source`) for every
/// planned entry, and for its size.
fn verify(
    config_dir: &Path,
    t: &TablePlan,
    builder: Builder,
    source: &Path,
    bytes: &[u8],
) -> Result<(), String> {
    let table = Table::parse(t.syntax, bytes);
    let entries = table.effective_entries();
    let keys: Vec<&[u8]> = entries.iter().map(|e| e.ident.as_slice()).collect();
    let found = index::query(builder, config_dir, t.kind.as_str(), source, &keys)
        .map_err(|e| e.to_string())?;
    for (e, got) in entries.iter().zip(&found) {
        if got.as_deref() != Some(e.stored.as_slice()) {
            return Err(format!(
                "the index built from the new source does not answer \"{}\" as planned{}; nothing was written",
                e.key_str(),
                if got.is_none() { " (not found)" } else { "" }
            ));
        }
    }
    if t.kind != MapType::Cdb {
        let held =
            index::dump(builder, config_dir, t.kind.as_str(), source).map_err(|e| e.to_string())?;
        if held.len() != entries.len() {
            return Err(format!(
                "the index built from the new source holds {} entries, {} were planned; nothing was written",
                held.len(),
                entries.len()
            ));
        }
    }
    Ok(())
}

/// Replaces a secret table's values in messages.
struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    fn new(f: &FilePlan, t: &TablePlan) -> Redactor {
        if !t.secret {
            return Redactor {
                secrets: Vec::new(),
            };
        }
        let mut secrets: Vec<String> = [&f.before, &f.after]
            .iter()
            .flat_map(|b| {
                Table::parse(t.syntax, b)
                    .effective_entries()
                    .into_iter()
                    .flat_map(|e| [e.value.clone(), e.stored.clone()])
                    .collect::<Vec<_>>()
            })
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .filter(|v| !v.is_empty())
            .collect();
        // Longest first, so that a value inside another is not left half.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), "(secret)");
        }
        out
    }
}
