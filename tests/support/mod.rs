//! Shared harness for postform's integration tests.
//!
//! Include it from a test file with `mod support;`. Every test binary uses a
//! different subset, so unused helpers are allowed here.
//!
//! Real components (Postfix's `postconf`/`postfix`, `ansible-playbook`) are
//! optional on a developer machine: a test that needs one calls the matching
//! helper (`postconf()`, `ansible_playbook()`, `HermeticPostfix::try_start`)
//! and returns early when it gets `None`; the helper has already printed a
//! loud SKIP message. With `POSTFORM_REQUIRE_REAL=1` (set by `scripts/test`
//! under CI) a missing component is a test failure instead.
//!
//! ```ignore
//! mod support;
//!
//! #[test]
//! fn agrees_with_postconf() {
//!     if support::postconf().is_none() {
//!         return;
//!     }
//!     let dir = support::scratch_config_dir(b"myhostname = a.example\n", None);
//!     let out = support::postconf_n(dir.path());
//!     assert!(out.status.success());
//! }
//! ```
#![allow(dead_code, unused_imports)]

mod hermetic;
pub mod smtpd;
pub mod stress;
pub mod yaml;

pub use hermetic::{free_port, ipv6_loopback_available, listeners_on, pick_port, HermeticPostfix};

use std::ffi::OsStr;
use std::fs::{self, File, FileTimes};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// Environment variable that turns "component missing -> skip" into a failure.
pub const REQUIRE_REAL_ENV: &str = "POSTFORM_REQUIRE_REAL";
/// File to which [`skip_or_fail`] appends one line per skipped test.
pub const SKIP_LOG_ENV: &str = "POSTFORM_SKIP_LOG";
/// Environment variable naming the Python venv that holds `ansible-core`.
pub const VENV_ENV: &str = "POSTFORM_VENV";

/// How far `backdate` moves mtimes into the past. Postfix re-reads a file
/// modified within the last second (and repeats its warnings).
pub const BACKDATE: Duration = Duration::from_secs(5);

/// True when tests that need real components must fail instead of skipping
/// (`POSTFORM_REQUIRE_REAL=1`; `scripts/test` sets it when `CI=true`).
pub fn require_real() -> bool {
    matches!(
        std::env::var(REQUIRE_REAL_ENV).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// A real component `what` is missing. Panics when real components are
/// required; otherwise prints a loud SKIP message to stderr and returns, and
/// the caller returns early from the test.
#[track_caller]
pub fn skip_or_fail(what: &str) {
    let caller = std::panic::Location::caller();
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    if require_real() {
        panic!(
            "{what}\n  {REQUIRE_REAL_ENV}=1 is set, so this test must run against the real \
             component instead of skipping (test {test}, {caller}).\n  Install the \
             dependencies with scripts/install-deps."
        );
    }
    // Written to the real stderr, not through eprintln!: libtest captures
    // the latter and would hide the message for a (passing) skipped test.
    let bar = "!".repeat(78);
    let msg = format!(
        "\n{bar}\n!!! SKIPPED: {test}\n!!! {what}\n!!! at {caller}\n!!! Set {REQUIRE_REAL_ENV}=1 \
         to make this a failure; scripts/install-deps installs the components.\n{bar}\n"
    );
    let _ = std::io::stderr().write_all(msg.as_bytes());
    // scripts/test counts the skips and lists them in its summary.
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV).filter(|p| !p.is_empty()) {
        if let Ok(mut f) = File::options().create(true).append(true).open(path) {
            let _ = writeln!(f, "{test}: {}", what.replace('\n', " "));
        }
    }
}

/// Path of the `postform` binary built for this test run.
pub fn postform_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_postform"))
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Looks for an executable on `PATH` and in the sbin directories (Postfix
/// lives in /usr/sbin, which is not on every user's PATH). No side effects.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Postfix's `postconf`, or `None` after [`skip_or_fail`].
#[track_caller]
pub fn postconf() -> Option<PathBuf> {
    let found = find_program("postconf");
    if found.is_none() {
        skip_or_fail("Postfix's `postconf` is not installed (Debian package `postfix`).");
    }
    found
}

/// Postfix's `postfix` command, or `None` after [`skip_or_fail`].
#[track_caller]
pub fn postfix() -> Option<PathBuf> {
    let found = find_program("postfix");
    if found.is_none() {
        skip_or_fail("Postfix's `postfix` command is not installed (Debian package `postfix`).");
    }
    found
}

/// Postfix's `postmap`, or `None` after [`skip_or_fail`].
#[track_caller]
pub fn postmap() -> Option<PathBuf> {
    let found = find_program("postmap");
    if found.is_none() {
        skip_or_fail("Postfix's `postmap` is not installed (Debian package `postfix`).");
    }
    found
}

/// Postfix's `postalias`, or `None` after [`skip_or_fail`].
#[track_caller]
pub fn postalias() -> Option<PathBuf> {
    let found = find_program("postalias");
    if found.is_none() {
        skip_or_fail("Postfix's `postalias` is not installed (Debian package `postfix`).");
    }
    found
}

/// True when Postfix can open tables of `type_name` (`postmap -q` on a
/// missing file does not say "unsupported dictionary type"); else
/// [`skip_or_fail`] naming the Debian package that adds it.
#[track_caller]
pub fn map_type_available(type_name: &str, package: &str) -> bool {
    let Some(postmap) = find_program("postmap") else {
        skip_or_fail("Postfix's `postmap` is not installed (Debian package `postfix`).");
        return false;
    };
    let dir = scratch_config_dir(b"", None);
    let out = run(Command::new(postmap).arg("-c").arg(dir.path()).args([
        "-q",
        "x",
        &format!("{type_name}:/nonexistent/postform-probe"),
    ]));
    if stderr(&out).contains("unsupported dictionary type") {
        skip_or_fail(&format!(
            "Postfix has no `{type_name}` tables (Debian package `{package}`; scripts/install-deps installs it)."
        ));
        return false;
    }
    true
}

/// The Python venv holding ansible-core: `$POSTFORM_VENV`, else
/// `<repo>/target/venv` (where scripts/install-deps puts it).
pub fn venv_dir() -> PathBuf {
    match std::env::var_os(VENV_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo_root().join("target").join("venv"),
    }
}

/// The venv's `python` (use it as `ansible_python_interpreter`; interpreter
/// discovery may pick a broken pyenv shim on these machines). No side effects.
pub fn venv_python() -> Option<PathBuf> {
    let p = venv_dir().join("bin").join("python");
    is_executable(&p).then_some(p)
}

/// An Ansible tool (`ansible-playbook`, `ansible-doc`, `ansible-galaxy`, ...)
/// from the venv, or `None` after [`skip_or_fail`]. Deliberately does not fall
/// back to `PATH`: the pinned ansible-core in the venv is what is tested.
#[track_caller]
pub fn ansible_tool(name: &str) -> Option<PathBuf> {
    let p = venv_dir().join("bin").join(name);
    if is_executable(&p) {
        Some(p)
    } else {
        skip_or_fail(&format!(
            "`{name}` not found at {} (set {VENV_ENV} or run scripts/install-deps).",
            p.display()
        ));
        None
    }
}

/// `ansible-playbook` from the venv, or `None` after [`skip_or_fail`].
#[track_caller]
pub fn ansible_playbook() -> Option<PathBuf> {
    ansible_tool("ansible-playbook")
}

/// True when the effective uid is 0 (read from /proc, no libc needed).
pub fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Sets a file's access and modification times `BACKDATE` into the past.
pub fn backdate(path: &Path) {
    let then = SystemTime::now() - BACKDATE;
    let f = File::options()
        .write(true)
        .open(path)
        .or_else(|_| File::open(path))
        .unwrap_or_else(|e| panic!("backdate: open {}: {e}", path.display()));
    f.set_times(FileTimes::new().set_accessed(then).set_modified(then))
        .unwrap_or_else(|e| panic!("backdate: set times on {}: {e}", path.display()));
}

/// Writes `bytes` to `path` (mode 0644) and backdates it.
pub fn write_backdated(path: &Path, bytes: &[u8]) {
    let mut f = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(bytes)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    drop(f);
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    backdate(path);
}

/// A throwaway Postfix config directory holding `main.cf` (and `master.cf`
/// when given; without it there is no master.cf, and `postconf` warns about
/// it only when it looks for unused parameters). Files are backdated. The
/// directory is removed when the returned `TempDir` drops.
pub fn scratch_config_dir(main_cf: &[u8], master_cf: Option<&[u8]>) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("postform-cfg-")
        .tempdir()
        .expect("create scratch config dir");
    write_backdated(&dir.path().join("main.cf"), main_cf);
    if let Some(m) = master_cf {
        write_backdated(&dir.path().join("master.cf"), m);
    }
    dir
}

/// Runs `postconf -c DIR -n`. Call [`postconf`] first to skip when Postfix is
/// missing; this panics if it is. Note that with `-c` Postfix also prints
/// `config_directory = DIR`.
pub fn postconf_n(dir: &Path) -> Output {
    run_postconf(dir, ["-n"])
}

/// Runs `postconf -c DIR ARGS...` (e.g. `["-h", "inet_protocols"]`, `["-d"]`).
pub fn run_postconf<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let bin = find_program("postconf")
        .expect("postconf is not installed (call support::postconf() first)");
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(dir).args(args);
    run(&mut cmd)
}

/// Runs a command to completion with stdin closed and returns its output.
/// `postform ARGS` run in `cwd`, without colour, stdin from /dev/null.
pub fn postform(cwd: &Path, args: &[&str]) -> Output {
    run(Command::new(postform_bin())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1"))
}

/// The exit code (-1 when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"))
}

/// Lossy UTF-8 of a command's stdout.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lossy UTF-8 of a command's stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Human-readable description of a command's result for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// Polls `cond` every 50 ms until it is true or `timeout` passes; returns
/// whether it became true.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
