//! The catalog of the installed Postfix: finding and running `postconf -d`,
//! and caching its output.
//!
//! `postconf -d` costs a process and about 6 ms of CPU, more than all the
//! rest of `postform show`. Its output depends only on the postconf
//! program, the master.cf of its default config directory (service-derived
//! names) and, for the three computed defaults (`myhostname`, `mydomain`,
//! `mynetworks`), the host name and the network interfaces. [`cached_defaults`]
//! keeps the output in a cache file that records the identity (device,
//! inode, size, mtime, ctime) of the program and of that master.cf, plus a
//! fingerprint of the host name and interface addresses; any difference, a
//! damaged file or a failed read makes it run postconf again. See
//! [`cache_dir`] for where the file lives.
//!
//! [`super::Param`] holds `&'static str` so that the embedded table needs
//! no allocation. Names and defaults read from `postconf -d` that differ
//! from the embedded ones (service-derived names, computed defaults such as
//! `myhostname`) are interned once per process: reading the same output
//! again allocates nothing, so the memory kept is bounded by the distinct
//! strings seen.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;
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

const TIMEOUT: Duration = Duration::from_secs(30);

/// The postconf program, as `io::programs::Programs` finds it
/// (`$POSTFORM_POSTCONF`, PATH, /usr/sbin, /usr/local/sbin).
pub fn find_postconf() -> Option<PathBuf> {
    crate::io::programs::Programs::get().postconf.clone()
}

pub(super) fn run_postconf_defaults(
    program: &Path,
    config_dir: Option<&Path>,
) -> Result<Catalog, HostCatalogError> {
    let out = run_postconf_d(program, config_dir)?;
    parse_defaults(program, &out)
}

fn parse_defaults(program: &Path, out: &str) -> Result<Catalog, HostCatalogError> {
    let catalog = Catalog::from_postconf_defaults(out);
    if catalog.is_empty() {
        return Err(HostCatalogError::Empty {
            program: program.to_path_buf(),
        });
    }
    Ok(catalog)
}

/// Run `program [-c config_dir] -d` and return its standard output.
fn run_postconf_d(program: &Path, config_dir: Option<&Path>) -> Result<String, HostCatalogError> {
    let mut cmd = Command::new(program);
    if let Some(dir) = config_dir {
        cmd.arg("-c").arg(dir);
    }
    cmd.arg("-d");
    let out = crate::io::process::output(&mut cmd, TIMEOUT).map_err(|e| match e {
        crate::io::process::ProcessError::Spawn { source, .. } => HostCatalogError::Spawn {
            program: program.to_path_buf(),
            source,
        },
        crate::io::process::ProcessError::TimedOut { .. } => HostCatalogError::Timeout {
            program: program.to_path_buf(),
            seconds: TIMEOUT.as_secs(),
        },
    })?;
    if !out.status.success() {
        return Err(HostCatalogError::Failed {
            program: program.to_path_buf(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// Environment variable: when set and not empty, [`cached_defaults`] runs
/// postconf every time and neither reads nor writes the cache.
pub const NO_CACHE_ENV: &str = "POSTFORM_NO_CACHE";

/// First line of a cache file; bump the version when the format changes.
const CACHE_MAGIC: &str = "postform postconf-d cache v1";

/// The catalog of `program -d` (no `-c`: the program's default config
/// directory, as `postconf -d` run by hand), from the cache when it is
/// still valid, else by running the program (and refreshing the cache).
/// Cache problems are never errors: the worst case is running postconf.
pub fn cached_defaults(program: &Path) -> Result<Catalog, HostCatalogError> {
    let file = match std::env::var_os(NO_CACHE_ENV).filter(|v| !v.is_empty()) {
        Some(_) => None,
        None => cache_dir().map(|dir| dir.join(cache_file_name(program))),
    };
    if let Some(catalog) = file.as_deref().and_then(|f| read_cache(f, program)) {
        return Ok(catalog);
    }
    // Identities are taken before postconf runs: a file that changes
    // while it runs then no longer matches, and the next run refreshes.
    let program_id = identity(program);
    let master_guess = master_cf_path(Catalog::builtin());
    let master_id = identity(&master_guess);
    let host = host_fingerprint();
    let out = run_postconf_d(program, None)?;
    let catalog = parse_defaults(program, &out)?;
    if let Some(file) = file {
        let master = master_cf_path(&catalog);
        if master == master_guess && identity(program) == program_id {
            let header = cache_header(program, &program_id, &master, &master_id, &host, &out);
            let mut bytes = header.into_bytes();
            bytes.extend_from_slice(out.as_bytes());
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::io::atomic::write_atomic(&file, &bytes);
        }
    }
    Ok(catalog)
}

/// Where the cache lives: `$XDG_CACHE_HOME/postform` when XDG_CACHE_HOME
/// is an absolute path, else `/var/cache/postform` for root, else
/// `~/.cache/postform`. `None` when none of these can be named.
pub fn cache_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(xdg) = absolute("XDG_CACHE_HOME") {
        return Some(xdg.join("postform"));
    }
    if effective_uid() == Some(0) {
        return Some(PathBuf::from("/var/cache/postform"));
    }
    absolute("HOME").map(|home| home.join(".cache").join("postform"))
}

/// One cache file per postconf program (tests and wrappers may name
/// several).
fn cache_file_name(program: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(program.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("postconf-d-{hex}")
}

/// The effective uid: the owner of /proc/self (Linux). `None` elsewhere.
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// What identifies a file's content without reading it: device, inode,
/// size, mtime and ctime (nanoseconds). A package upgrade replaces the
/// file (new inode, new ctime) even when it keeps size and mtime.
fn identity(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{} {} {} {}.{:09} {}.{:09}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        ),
        Err(e) => format!("unreadable ({:?})", e.kind()),
    }
}

/// The master.cf `postconf -d` (without `-c`) reads for service-derived
/// names: `$MAIL_CONFIG/master.cf`, else the program's `config_directory`.
fn master_cf_path(catalog: &Catalog) -> PathBuf {
    let dir = std::env::var_os("MAIL_CONFIG")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            catalog
                .get("config_directory")
                .map(|p| PathBuf::from(p.default))
        })
        .unwrap_or_else(|| PathBuf::from("/etc/postfix"));
    dir.join("master.cf")
}

/// What the computed defaults depend on: the host name (`myhostname`,
/// `mydomain`) and the interface addresses and routes (`mynetworks`).
/// Files that do not exist (not Linux) contribute nothing.
fn host_fingerprint() -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for f in [
        "/proc/sys/kernel/hostname",
        "/proc/net/if_inet6",
        "/proc/net/route",
    ] {
        h.update(f.as_bytes());
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0]);
    }
    crate::io::hash::sha256_hex(&h.finalize())
}

fn cache_header(
    program: &Path,
    program_id: &str,
    master: &Path,
    master_id: &str,
    host: &str,
    body: &str,
) -> String {
    format!(
        "{CACHE_MAGIC}\nprogram\t{}\nprogram-id\t{program_id}\nmaster-cf\t{}\nmaster-cf-id\t{master_id}\nhost\t{host}\nbody-sha256\t{}\n\n",
        program.display(),
        master.display(),
        crate::io::hash::sha256_hex(body.as_bytes()),
    )
}

/// The cached catalog when the file is ours, intact, and every input of
/// `postconf -d` it records is unchanged.
fn read_cache(file: &Path, program: &Path) -> Option<Catalog> {
    use std::os::unix::fs::MetadataExt;
    let bytes = std::fs::read(file).ok()?;
    // Only trust a file written by this user (or root's own cache).
    let meta = std::fs::metadata(file).ok()?;
    if Some(meta.uid()) != effective_uid() && meta.uid() != 0 {
        return None;
    }
    let text = std::str::from_utf8(&bytes).ok()?;
    let split = text.find("\n\n")? + 2;
    let (header, body) = text.split_at(split);
    if !header.starts_with(CACHE_MAGIC) {
        return None;
    }
    let catalog = parse_defaults(program, body).ok()?;
    let master = master_cf_path(&catalog);
    let expected = cache_header(
        program,
        &identity(program),
        &master,
        &identity(&master),
        &host_fingerprint(),
        body,
    );
    (header == expected).then_some(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake postconf that counts its runs in `count`.
    fn counting_postconf(dir: &Path) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let count = dir.join("count");
        let program = dir.join("postconf");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\necho run >> '{}'\necho 'config_directory = {}'\necho 'inet_protocols = all'\necho 'zz_fake_param = 1'\n",
                count.display(),
                dir.display()
            ),
        )
        .expect("write fake postconf");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        (program, count)
    }

    fn runs(count: &Path) -> usize {
        std::fs::read_to_string(count).map_or(0, |s| s.lines().count())
    }

    #[test]
    fn cache_serves_repeat_runs_and_notices_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (program, count) = counting_postconf(dir.path());
        // Point the cache at the temp dir without touching the process
        // environment (tests run in parallel): use the file directly.
        let file = dir.path().join("cache").join(cache_file_name(&program));
        let run = || -> Catalog {
            if let Some(c) = read_cache(&file, &program) {
                return c;
            }
            let program_id = identity(&program);
            let master = master_cf_path(&Catalog::from_postconf_defaults(&format!(
                "config_directory = {}\n",
                dir.path().display()
            )));
            let master_id = identity(&master);
            let out = run_postconf_d(&program, None).expect("run");
            let header = cache_header(
                &program,
                &program_id,
                &master,
                &master_id,
                &host_fingerprint(),
                &out,
            );
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            crate::io::atomic::write_atomic(&file, format!("{header}{out}").as_bytes())
                .expect("write cache");
            parse_defaults(&program, &out).expect("parse")
        };
        if std::env::var_os("MAIL_CONFIG").is_some() {
            return;
        }
        let c = run();
        assert!(c.contains("zz_fake_param"));
        assert_eq!(runs(&count), 1);
        let c = run();
        assert!(c.contains("zz_fake_param"));
        assert_eq!(runs(&count), 1, "second run must come from the cache");

        // A new master.cf in the program's config directory: rerun.
        std::fs::write(dir.path().join("master.cf"), "smtp inet n - y - - smtpd\n")
            .expect("master.cf");
        run();
        assert_eq!(runs(&count), 2, "master.cf changed");
        run();
        assert_eq!(runs(&count), 2);

        // A damaged cache file: rerun, never a panic or a bad catalog.
        let mut bytes = std::fs::read(&file).expect("cache");
        let last = bytes.len() - 3;
        bytes[last] ^= 0x20;
        std::fs::write(&file, &bytes).expect("damage");
        assert!(read_cache(&file, &program).is_none());
        std::fs::write(&file, b"garbage\xff\n\n").expect("garbage");
        assert!(read_cache(&file, &program).is_none());
        std::fs::write(&file, b"").expect("empty");
        assert!(read_cache(&file, &program).is_none());
        run();
        assert_eq!(runs(&count), 3);

        // A replaced program (an upgrade): rerun.
        let (program2, _) = counting_postconf(dir.path());
        assert_eq!(program2, program);
        assert!(read_cache(&file, &program).is_none(), "program replaced");
    }

    #[test]
    fn cache_file_names_differ_per_program() {
        assert_ne!(
            cache_file_name(Path::new("/usr/sbin/postconf")),
            cache_file_name(Path::new("/usr/local/sbin/postconf"))
        );
    }

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
