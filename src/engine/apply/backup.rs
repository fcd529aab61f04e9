//! `--backup`: a timestamped copy of each file before it is replaced,
//! beside it, with its mode, owner and group; the newest
//! [`BACKUPS_KEPT`] are kept.

use crate::io::atomic;
use std::path::{Path, PathBuf};

/// How many backups `--backup` keeps per file.
pub const BACKUPS_KEPT: usize = 10;

/// A backup could not be written; nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot keep a backup: {source}; nothing was written", path.display())]
pub struct BackupError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Copy the current bytes to `main.cf.postform-backup-<UTC time>` beside
/// the file, keeping the newest [`BACKUPS_KEPT`].
/// `private`: the backup is 0600 whatever the file's mode (a secret
/// table's old content).
pub fn backup(target: &Path, bytes: &[u8], private: bool) -> Result<PathBuf, BackupError> {
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
        Ok(_) if private => atomic::write_atomic_with_mode(&path, bytes, 0o600),
        Ok(meta) => atomic::write_atomic_like(&path, bytes, &meta),
        Err(_) => atomic::write_atomic_with_mode(&path, bytes, 0o600),
    };
    written.map_err(|e| BackupError {
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
pub(crate) fn utc_stamp() -> String {
    stamp_at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// `YYYYmmddTHHMMSSZ` for `secs` after the epoch, UTC.
fn stamp_at(secs: u64) -> String {
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
    /// Known dates, Howard Hinnant's algorithm checked at its edges.
    #[test]
    fn civil_dates() {
        assert_eq!(super::stamp_at(0), "19700101T000000Z");
        assert_eq!(super::stamp_at(951_782_400), "20000229T000000Z");
        assert_eq!(super::stamp_at(1_798_761_599), "20261231T235959Z");
        assert_eq!(super::stamp_at(4_107_542_400), "21000301T000000Z");
        assert_eq!(super::utc_stamp().len(), 16);
    }
}
