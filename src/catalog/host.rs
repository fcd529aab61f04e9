//! The catalog of the installed Postfix: finding and running `postconf -d`.
//!
//! [`super::Param`] holds `&'static str` so that the embedded table needs
//! no allocation. Names and defaults read from `postconf -d` that differ
//! from the embedded ones (service-derived names, computed defaults such as
//! `myhostname`) are interned once per process: reading the same output
//! again allocates nothing, so the memory kept is bounded by the distinct
//! strings seen.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use thiserror::Error;

use super::Catalog;

/// Why `postconf -d` could not give a catalog.
#[derive(Debug, Error)]
pub enum HostCatalogError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} -d failed ({status}): {stderr}")]
    Failed {
        program: PathBuf,
        status: String,
        stderr: String,
    },
    #[error("{program} -d did not finish within {seconds} seconds")]
    Timeout { program: PathBuf, seconds: u64 },
    #[error("{program} -d printed no parameters")]
    Empty { program: PathBuf },
}

/// Environment variable naming the postconf program to use.
pub const POSTCONF_ENV: &str = "POSTFORM_POSTCONF";

const TIMEOUT: Duration = Duration::from_secs(30);

/// The postconf program: `$POSTFORM_POSTCONF` when set and not empty, else
/// `postconf` on PATH, else /usr/sbin/postconf or /usr/local/sbin/postconf
/// (Debian installs it in sbin, which is often not on a user's PATH).
pub fn find_postconf() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(POSTCONF_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("postconf"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin/postconf", "/usr/local/sbin/postconf"].map(PathBuf::from))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(super) fn run_postconf_defaults(
    program: &Path,
    config_dir: Option<&Path>,
) -> Result<Catalog, HostCatalogError> {
    let mut cmd = Command::new(program);
    if let Some(dir) = config_dir {
        cmd.arg("-c").arg(dir);
    }
    cmd.arg("-d")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let spawn_error = |source| HostCatalogError::Spawn {
        program: program.to_path_buf(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_error)?;
    // Read both pipes on threads so a full pipe cannot stall the child
    // while we wait for it with a timeout.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HostCatalogError::Timeout {
                    program: program.to_path_buf(),
                    seconds: TIMEOUT.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(spawn_error(e)),
        }
    };
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let out = join(stdout);
    let err = join(stderr);
    if !status.success() {
        return Err(HostCatalogError::Failed {
            program: program.to_path_buf(),
            status: status.to_string(),
            stderr: err.trim().to_string(),
        });
    }
    let catalog = Catalog::from_postconf_defaults(&out);
    if catalog.is_empty() {
        return Err(HostCatalogError::Empty {
            program: program.to_path_buf(),
        });
    }
    Ok(catalog)
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// A `&'static str` equal to `s`, allocated at most once per distinct string.
pub(super) fn intern(s: &str) -> &'static str {
    static TABLE: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut table = TABLE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = table.get(s) {
        return existing;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    table.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_dedupes() {
        let a = intern("postform-intern-test");
        let b = intern(&String::from("postform-intern-test"));
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn missing_program_is_an_error_not_a_panic() {
        let err =
            run_postconf_defaults(Path::new("/nonexistent/postconf"), None).expect_err("missing");
        assert!(matches!(err, HostCatalogError::Spawn { .. }), "{err}");
    }

    #[test]
    fn failing_program_is_an_error() {
        let err = run_postconf_defaults(Path::new("/bin/false"), None).expect_err("fails");
        assert!(matches!(err, HostCatalogError::Failed { .. }), "{err}");
        let err = run_postconf_defaults(Path::new("/bin/true"), None).expect_err("empty");
        assert!(matches!(err, HostCatalogError::Empty { .. }), "{err}");
    }
}
