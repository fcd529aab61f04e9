//! Helpers for the crash-safety, concurrency and hostile-input suites:
//! a seeded RNG, running the real binary with a deadline and a memory
//! reading, file snapshots (bytes, mtime, mode, owner), temp-file listing.
//!
//! Everything here goes through the real `postform` binary or plain
//! file-system calls; nothing reaches into the library's internals except
//! `sha256_hex` (the same hash the plan files carry).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Prefix of the atomic writer's temp files (`postform::io::atomic::TEMP_PREFIX`).
pub const TEMP_PREFIX: &str = ".postform-tmp-";

/// The message a stale apply prints.
pub const STALE_MESSAGE: &str = "changed since the plan was made";

/// splitmix64: small, fast, good enough to drive test choices, and the
/// same sequence on every platform for a given seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform duration in `[0, max]`.
    pub fn duration(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.unit())
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A child generator (independent stream) for worker `i`.
    pub fn fork(&mut self, i: u64) -> Rng {
        Rng::new(self.next_u64() ^ i.wrapping_mul(0xd134_2543_de82_ef95))
    }
}

/// Run `f(id, rng)` on `workers` threads, worker `id` with `rng.fork(id)`
/// (forked in order, so a seed replays the same workers); a worker that
/// panics gives an `Err`.
pub fn on_workers<T: Send>(
    workers: u64,
    rng: &mut Rng,
    f: impl Fn(u64, Rng) -> Result<T, String> + Sync,
) -> Vec<Result<T, String>> {
    let rngs: Vec<Rng> = (0..workers).map(|id| rng.fork(id)).collect();
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .zip(rngs)
            .map(|(id, wrng)| s.spawn(move || f(id, wrng)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect()
    })
}

/// The seed from `$var` (decimal or 0x-hex), else a fresh one from the
/// clock. Printed (to the real stderr, so it shows even for a passing
/// test) with the line that reproduces the run.
pub fn seed_from_env(var: &str, test: &str) -> u64 {
    let seed = match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("{var}={s:?} is not a u64: {e}"))
        }
        _ => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32))
            .unwrap_or(1),
    };
    let _ = writeln!(
        std::io::stderr(),
        "{test}: seed {seed} (rerun with {var}={seed})"
    );
    seed
}

/// A `usize` from `$var`, else `default`.
pub fn env_usize(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Write to the real stderr (libtest does not capture it), for progress
/// and measurements worth seeing in CI logs.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// A loud skip of one case that cannot run on this machine (not a missing
/// product component, so it never fails the run). Logged like
/// `support::skip_or_fail` so scripts/test lists it.
pub fn skip_loudly(what: &str) {
    let bar = "!".repeat(78);
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    let _ = std::io::stderr().write_all(
        format!("\n{bar}\n!!! SKIPPED (this case only): {test}\n!!! {what}\n{bar}\n").as_bytes(),
    );
    if let Some(path) = std::env::var_os(super::SKIP_LOG_ENV).filter(|p| !p.is_empty()) {
        if let Ok(mut f) = fs::File::options().create(true).append(true).open(path) {
            let _ = writeln!(f, "{test}: {}", what.replace('\n', " "));
        }
    }
}

/// SHA-256 hex, as in plan files.
pub fn sha256(bytes: &[u8]) -> String {
    postform::io::hash::sha256_hex(bytes)
}

/// The atomic writer's temp files in `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| is_transaction_leftover(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A name a postform write uses while it is in flight: its temp files,
/// Postfix's edit-lock files (`main.cf.tmp`, `master.cf.tmp`), the saved
/// old contents and the journal of a transaction.
pub fn is_transaction_leftover(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
        || name.starts_with(".postform-saved-")
        || name == ".postform-journal"
        || name.ends_with(".cf.tmp")
}

/// Names in `dir`, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What a file looks like, to prove an operation left it alone (or kept
/// its metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub bytes: Vec<u8>,
    pub mtime_ns: i128,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
}

/// Snapshot `path` (following symlinks).
pub fn file_state(path: &Path) -> FileState {
    let m = fs::metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    FileState {
        bytes: fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        ino: m.ino(),
    }
}

/// Assert `path` still has exactly the state `before` (bytes, mtime,
/// inode, mode, owner).
#[track_caller]
pub fn assert_untouched(path: &Path, before: &FileState, context: &str) {
    let after = file_state(path);
    assert!(
        after.bytes == before.bytes,
        "{context}: {} changed ({} -> {} bytes)",
        path.display(),
        before.bytes.len(),
        after.bytes.len()
    );
    assert_eq!(
        (after.mtime_ns, after.ino, after.mode, after.uid, after.gid),
        (
            before.mtime_ns,
            before.ino,
            before.mode,
            before.uid,
            before.gid
        ),
        "{context}: {} was rewritten or its metadata changed (mtime, inode, mode, uid, gid)",
        path.display()
    );
}

/// Set mode and owner (chown needs root; callers check).
pub fn set_mode_owner(path: &Path, mode: u32, uid: u32, gid: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// The gid of group `name` from /etc/group.
pub fn group_gid(name: &str) -> Option<u32> {
    third_field_of("/etc/group", name)
}

/// The uid of user `name` from /etc/passwd.
pub fn user_uid(name: &str) -> Option<u32> {
    third_field_of("/etc/passwd", name)
}

/// The numeric third field (uid or gid) of the `name:` line of `file`.
fn third_field_of(file: &str, name: &str) -> Option<u32> {
    fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
    /// Peak resident set (VmHWM) seen while polling, in KiB.
    pub peak_rss_kib: u64,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    pub fn describe(&self) -> String {
        let clip = |s: String| {
            if s.len() > 4000 {
                let mut end = 4000;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}... [{} bytes in all]", &s[..end], s.len())
            } else {
                s
            }
        };
        format!(
            "status: {} after {:?}, peak RSS {} KiB\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.elapsed,
            self.peak_rss_kib,
            clip(self.stdout()),
            clip(self.stderr())
        )
    }
}

/// A `postform` command with stdin closed and colour off.
pub fn postform_cmd() -> Command {
    let mut c = Command::new(super::postform_bin());
    c.env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

/// Run `cmd` to completion (stdout/stderr to temp files, so a huge output
/// never blocks it), killing it after `deadline`. Polls the child's
/// VmHWM for the peak memory reading.
pub fn run_with_deadline(cmd: &mut Command, deadline: Duration) -> Run {
    let out = tempfile::tempfile().expect("temp stdout");
    let err = tempfile::tempfile().expect("temp stderr");
    let start = Instant::now();
    let mut child: Child = cmd
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut peak = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        peak = peak.max(vm_hwm_kib(child.id()).unwrap_or(0));
        if start.elapsed() > deadline {
            let _ = child.kill();
            let s = child.wait().expect("wait");
            let mut r = collect(s, out, err, start.elapsed(), peak);
            r.stderr.extend_from_slice(
                format!("\n[test harness: killed after {deadline:?}]").as_bytes(),
            );
            panic!(
                "{cmd:?} did not finish within {deadline:?}\n{}",
                r.describe()
            );
        }
        std::thread::sleep(Duration::from_millis(
            if start.elapsed() < Duration::from_millis(200) {
                2
            } else {
                20
            },
        ));
    };
    collect(status, out, err, start.elapsed(), peak)
}

fn collect(
    status: ExitStatus,
    mut out: fs::File,
    mut err: fs::File,
    elapsed: Duration,
    peak: u64,
) -> Run {
    use std::io::{Read, Seek, SeekFrom};
    let read = |f: &mut fs::File| {
        let mut v = Vec::new();
        f.seek(SeekFrom::Start(0)).expect("seek");
        f.read_to_end(&mut v).expect("read");
        v
    };
    Run {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
        elapsed,
        peak_rss_kib: peak,
    }
}

/// VmHWM of a live process, KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The failure must be a clean one: exit status 1 (not a signal, not a
/// panic's 101), no panic message, and stderr naming `names` (every one of
/// them, e.g. the file and the reason).
#[track_caller]
pub fn assert_clean_error(run: &Run, names: &[&str], context: &str) {
    assert_no_panic(run, context);
    assert_eq!(
        run.code(),
        Some(1),
        "{context}: expected exit 1\n{}",
        run.describe()
    );
    let err = run.stderr();
    for n in names {
        assert!(
            err.contains(n),
            "{context}: stderr should mention {n:?}\n{}",
            run.describe()
        );
    }
}

/// No panic, no death by signal.
#[track_caller]
pub fn assert_no_panic(run: &Run, context: &str) {
    let err = run.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{context}: postform panicked\n{}",
        run.describe()
    );
    assert!(
        run.status.code().is_some(),
        "{context}: postform died by a signal (stack overflow? OOM kill?)\n{}",
        run.describe()
    );
}
