//! Hostile and broken input, through the real binary.
//!
//! The file-system side (main.cf missing, a directory, unreadable, a FIFO,
//! on a read-only file system, in an unwritable directory, a symlink, a
//! dangling symlink, 100 MB, non-UTF-8, binary garbage; no master.cf) and
//! the spec side (empty, 20 MB, many parameters, deeply nested, YAML bombs,
//! binary, a device), plus tampered plan files. Every case: a clear error
//! naming the file and exit 1 (or success where it should), never a panic
//! or a death by signal, and a main.cf that is untouched (bytes, mtime,
//! inode, mode, owner) unless the apply succeeded. Mode, owner and group
//! survive an apply (0640 root:postfix).
//!
//! Root reads and writes everything: the unreadable and unwritable cases
//! run the binary as `nobody` (setpriv, else runuser), the read-only one
//! inside a private mount namespace with a read-only bind mount (unshare),
//! else with `chattr +i`. A case that cannot be set up says so loudly and
//! is skipped; the others still run.

mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::stress::{self, assert_clean_error, assert_no_panic, FileState, Rng, Run};

const DEBIAN_MYHOSTNAME: &[u8] = b"myhostname = mail.example.com\n";
/// Generous deadline for a debug build on two shared cores; the timings
/// printed by each case are what to compare.
const DEADLINE: Duration = Duration::from_secs(120);

fn debian_main_cf() -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix/main.cf")).unwrap()
}

fn master_cf() -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap()
}

/// `bytes` with the Debian `myhostname` line replaced.
fn with_myhostname(bytes: &[u8], host: &str) -> Vec<u8> {
    replace_once(
        bytes,
        DEBIAN_MYHOSTNAME,
        format!("myhostname = {host}\n").as_bytes(),
    )
}

fn replace_once(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = hay
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = hay[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&hay[at + from.len()..]);
    out
}

/// A world-traversable scratch area (the `nobody` cases need to reach it)
/// with a config dir `cfg` (main.cf 0644 + master.cf) and specs.
struct Env {
    root: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("postform-hostile-")
            .tempdir()
            .unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let e = Env { root };
        fs::create_dir(e.cfg()).unwrap();
        fs::set_permissions(e.cfg(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(e.cfg().join("master.cf"), master_cf()).unwrap();
        e.write_main_cf(&debian_main_cf());
        e
    }
    fn path(&self) -> &Path {
        self.root.path()
    }
    fn cfg(&self) -> PathBuf {
        self.path().join("cfg")
    }
    fn main_cf(&self) -> PathBuf {
        self.cfg().join("main.cf")
    }
    fn write_main_cf(&self, bytes: &[u8]) {
        support::write_backdated(&self.main_cf(), bytes);
    }
    fn spec(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path().join(name);
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }
    fn state(&self) -> FileState {
        stress::file_state(&self.main_cf())
    }
}

fn apply_args(spec: &Path, dir: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec!["apply".into(), spec.into(), "-c".into(), dir.into()];
    v.extend(["--auto-approve", "--service", "none"].map(Into::into));
    v
}

fn plan_args(spec: &Path, dir: &Path) -> Vec<std::ffi::OsString> {
    vec!["plan".into(), spec.into(), "-c".into(), dir.into()]
}

fn postform(args: &[std::ffi::OsString]) -> Run {
    stress::run_with_deadline(stress::postform_cmd().args(args), DEADLINE)
}

fn postform_with(args: &[std::ffi::OsString], extra: &[&str]) -> Run {
    stress::run_with_deadline(stress::postform_cmd().args(args).args(extra), DEADLINE)
}

/// Plan and apply must both fail cleanly, naming `names`, leaving main.cf
/// (when there is one) untouched and the directory without temp files.
#[track_caller]
fn both_fail(env: &Env, spec: &Path, names: &[&str], context: &str) -> (Run, Run) {
    let before = fs::metadata(env.main_cf())
        .ok()
        .filter(|m| m.is_file())
        .map(|_| env.state());
    let listing = stress::dir_names(&env.cfg());
    let plan = postform(&plan_args(spec, &env.cfg()));
    assert_clean_error(&plan, names, &format!("{context} (plan)"));
    let apply = postform(&apply_args(spec, &env.cfg()));
    assert_clean_error(&apply, names, &format!("{context} (apply)"));
    if let Some(before) = before {
        stress::assert_untouched(&env.main_cf(), &before, context);
    }
    assert_eq!(
        stress::dir_names(&env.cfg()),
        listing,
        "{context}: the config dir changed"
    );
    (plan, apply)
}

fn simple_spec(env: &Env) -> PathBuf {
    env.spec("spec.yaml", b"myhostname: hostile.example\n")
}

// ---------------------------------------------------------------------
// main.cf on the file system
// ---------------------------------------------------------------------

#[test]
fn main_cf_missing() {
    let env = Env::new();
    fs::remove_file(env.main_cf()).unwrap();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    both_fail(
        &env,
        &spec,
        &[&shown, "No such file or directory"],
        "missing main.cf",
    );
    assert!(!env.main_cf().exists(), "apply must not create main.cf");
}

#[test]
fn main_cf_is_a_directory() {
    let env = Env::new();
    fs::remove_file(env.main_cf()).unwrap();
    fs::create_dir(env.main_cf()).unwrap();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    both_fail(
        &env,
        &spec,
        &[&shown, "is a directory"],
        "main.cf is a directory",
    );
    assert!(fs::read_dir(env.main_cf()).unwrap().next().is_none());
}

#[test]
fn main_cf_is_a_fifo_or_a_device() {
    // Reading a FIFO blocks forever and /dev/zero never ends: both must be
    // refused up front, quickly.
    let env = Env::new();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    fs::remove_file(env.main_cf()).unwrap();
    let made = Command::new("mkfifo").arg(env.main_cf()).status();
    if made.is_ok_and(|s| s.success()) {
        let (p, _) = both_fail(
            &env,
            &spec,
            &[&shown, "not a regular file"],
            "main.cf is a FIFO",
        );
        assert!(p.elapsed < Duration::from_secs(10), "{:?}", p.elapsed);
        fs::remove_file(env.main_cf()).unwrap();
    } else {
        stress::skip_loudly("mkfifo is not available: the FIFO half of this case did not run");
    }
    std::os::unix::fs::symlink("/dev/zero", env.main_cf()).unwrap();
    let (p, a) = both_fail(
        &env,
        &spec,
        &[&shown, "not a regular file"],
        "main.cf -> /dev/zero",
    );
    assert!(p.elapsed < Duration::from_secs(10) && a.elapsed < Duration::from_secs(10));
    assert!(
        a.peak_rss_kib < 200 * 1024,
        "reading /dev/zero: {} KiB",
        a.peak_rss_kib
    );
}

/// How to run the binary as an unprivileged user: `None` when we are not
/// root (then we already are one), `Some(prefix)` for root. Skips loudly
/// (returns `Err`) when neither setpriv nor runuser works.
fn unprivileged(env: &Env) -> Result<Option<(Vec<String>, PathBuf)>, ()> {
    if !support::is_root() {
        return Ok(None);
    }
    // The binary must be executable by nobody: copy it into the scratch
    // area when the build directory is not reachable.
    let mut bin = support::postform_bin();
    let prefixes: Vec<Vec<String>> = [
        support::find_program("setpriv").map(|p| {
            vec![
                p.display().to_string(),
                "--reuid=65534".into(),
                "--regid=65534".into(),
                "--clear-groups".into(),
                "--".into(),
            ]
        }),
        support::find_program("runuser").map(|p| {
            vec![
                p.display().to_string(),
                "-u".into(),
                "nobody".into(),
                "--".into(),
            ]
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    for prefix in &prefixes {
        for attempt in 0..2 {
            let ok = Command::new(&prefix[0])
                .args(&prefix[1..])
                .arg(&bin)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return Ok(Some((prefix.clone(), bin)));
            }
            if attempt == 0 {
                let copy = env.path().join("postform-copy");
                if fs::copy(&bin, &copy).is_ok() {
                    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
                    bin = copy;
                }
            }
        }
    }
    stress::skip_loudly(
        "running as root and cannot run the binary as `nobody` (no working setpriv or runuser): \
         permission cases need an unprivileged user",
    );
    Err(())
}

fn run_unprivileged(env: &Env, args: &[std::ffi::OsString]) -> Option<Run> {
    match unprivileged(env) {
        Err(()) => None,
        Ok(None) => Some(postform(args)),
        Ok(Some((prefix, bin))) => {
            let mut c = Command::new(&prefix[0]);
            c.args(&prefix[1..])
                .arg(bin)
                .args(args)
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::null());
            Some(stress::run_with_deadline(&mut c, DEADLINE))
        }
    }
}

#[test]
fn main_cf_unreadable() {
    let env = Env::new();
    fs::set_permissions(env.main_cf(), fs::Permissions::from_mode(0o000)).unwrap();
    let before = env.state();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    for args in [plan_args(&spec, &env.cfg()), apply_args(&spec, &env.cfg())] {
        let Some(run) = run_unprivileged(&env, &args) else {
            return;
        };
        assert_clean_error(&run, &[&shown, "Permission denied"], "unreadable main.cf");
    }
    stress::assert_untouched(&env.main_cf(), &before, "unreadable main.cf");
}

#[test]
fn unwritable_config_directory() {
    // main.cf readable, directory not writable for the user: plan works,
    // apply fails before touching anything.
    let env = Env::new();
    if !support::is_root() {
        fs::set_permissions(env.cfg(), fs::Permissions::from_mode(0o555)).unwrap();
    }
    let before = env.state();
    let spec = simple_spec(&env);
    let Some(plan) = run_unprivileged(&env, &plan_args(&spec, &env.cfg())) else {
        return;
    };
    assert_no_panic(&plan, "plan in an unwritable directory");
    assert_eq!(plan.code(), Some(0), "plan only reads\n{}", plan.describe());
    let Some(apply) = run_unprivileged(&env, &apply_args(&spec, &env.cfg())) else {
        return;
    };
    let shown = env.main_cf().display().to_string();
    assert_clean_error(
        &apply,
        &[&shown, "Permission denied", "run as a user who may write"],
        "unwritable directory",
    );
    stress::assert_untouched(&env.main_cf(), &before, "unwritable directory");
    assert!(stress::temp_files(&env.cfg()).is_empty());
    fs::set_permissions(env.cfg(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn read_only_file_system() {
    let env = Env::new();
    let before = env.state();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    let args = apply_args(&spec, &env.cfg());
    if !support::is_root() {
        stress::skip_loudly("not root: cannot mount a read-only file system (unwritable_config_directory covers EACCES)");
        return;
    }
    // 1. A private mount namespace with a read-only bind mount of cfg.
    if let Some(unshare) = support::find_program("unshare") {
        let script = r#"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; shift; exec "$@""#;
        let mut c = Command::new(unshare);
        c.args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(env.cfg())
            .arg(support::postform_bin())
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        let run = stress::run_with_deadline(&mut c, DEADLINE);
        if run.code() != Some(97) && !run.stderr().contains("unshare:") {
            assert_clean_error(
                &run,
                &[&shown, "Read-only file system", "mounted read-only"],
                "read-only file system",
            );
            stress::assert_untouched(&env.main_cf(), &before, "read-only file system");
            assert!(stress::temp_files(&env.cfg()).is_empty());
            return;
        }
        stress::note(&format!(
            "read_only_file_system: unshare/mount unavailable, trying chattr +i\n{}",
            run.describe()
        ));
    }
    // 2. An immutable directory: no entry can be created in it.
    if let Some(chattr) = support::find_program("chattr") {
        let set = Command::new(&chattr).arg("+i").arg(env.cfg()).status();
        if set.is_ok_and(|s| s.success()) {
            let run = postform(&args);
            let _ = Command::new(&chattr).arg("-i").arg(env.cfg()).status();
            assert_clean_error(
                &run,
                &[&shown, "cannot create a temporary file"],
                "immutable directory",
            );
            stress::assert_untouched(&env.main_cf(), &before, "immutable directory");
            return;
        }
    }
    stress::skip_loudly(
        "cannot make a read-only file system here (no unshare/mount, no chattr +i)",
    );
}

#[test]
fn symlinked_main_cf_stays_a_link_and_the_target_is_updated() {
    let env = Env::new();
    let store = env.path().join("store");
    fs::create_dir(&store).unwrap();
    let real = store.join("main.cf.v1");
    fs::write(&real, debian_main_cf()).unwrap();
    if support::is_root() {
        stress::set_mode_owner(&real, 0o640, 0, stress::group_gid("postfix").unwrap_or(0));
    } else {
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    }
    // cfg/main.cf -> ../store/current.cf -> main.cf.v1 (a chain).
    std::os::unix::fs::symlink("main.cf.v1", store.join("current.cf")).unwrap();
    fs::remove_file(env.main_cf()).unwrap();
    std::os::unix::fs::symlink("../store/current.cf", env.main_cf()).unwrap();
    let before = stress::file_state(&real);
    let spec = env.spec("spec.yaml", b"myhostname: link.example\n");
    let run = postform(&apply_args(&spec, &env.cfg()));
    assert_no_panic(&run, "symlink");
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(
        fs::read_link(env.main_cf()).unwrap(),
        Path::new("../store/current.cf")
    );
    assert_eq!(
        fs::read_link(store.join("current.cf")).unwrap(),
        Path::new("main.cf.v1")
    );
    assert_eq!(
        fs::read(&real).unwrap(),
        with_myhostname(&debian_main_cf(), "link.example")
    );
    let after = stress::file_state(&real);
    assert_eq!(
        (after.mode, after.uid, after.gid),
        (before.mode, before.uid, before.gid)
    );
    assert!(stress::temp_files(&store).is_empty() && stress::temp_files(&env.cfg()).is_empty());
    assert_eq!(stress::dir_names(&store), ["current.cf", "main.cf.v1"]);
}

#[test]
fn dangling_symlink() {
    let env = Env::new();
    fs::remove_file(env.main_cf()).unwrap();
    std::os::unix::fs::symlink("../nowhere/main.cf", env.main_cf()).unwrap();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    both_fail(
        &env,
        &spec,
        &[&shown, "symlink", "../nowhere/main.cf"],
        "dangling symlink",
    );
    assert!(
        !env.path().join("nowhere").exists(),
        "nothing may be created at the link target"
    );
    assert_eq!(
        fs::read_link(env.main_cf()).unwrap(),
        Path::new("../nowhere/main.cf")
    );
}

#[test]
fn huge_main_cf_100_mb() {
    // 100 MB: Debian's main.cf, 100,000 parameters and a million comment
    // lines. It works (Postfix reads it too); time and memory are printed
    // and bounded.
    let env = Env::new();
    let mut big = debian_main_cf();
    big.reserve(101 << 20);
    let comment = format!("# {}\n", "x".repeat(96));
    let mut i = 0usize;
    while big.len() < 100 << 20 {
        if i.is_multiple_of(10) {
            big.extend_from_slice(format!("huge_param_{} = value {}\n", i / 10, i).as_bytes());
        } else {
            big.extend_from_slice(comment.as_bytes());
        }
        i += 1;
    }
    env.write_main_cf(&big);
    let spec = simple_spec(&env);
    let run = postform_with(&apply_args(&spec, &env.cfg()), &["--no-validate"]);
    assert_no_panic(&run, "100 MB main.cf");
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let expected = with_myhostname(&big, "hostile.example");
    assert!(
        fs::read(env.main_cf()).unwrap() == expected,
        "100 MB main.cf: wrong result"
    );
    stress::note(&format!(
        "huge_main_cf_100_mb: apply of {} bytes took {:.1?}, peak RSS {} MiB",
        big.len(),
        run.elapsed,
        run.peak_rss_kib / 1024
    ));
    // Memory stays a small multiple of the file.
    assert!(
        run.peak_rss_kib < 1536 * 1024,
        "100 MB main.cf: peak RSS {} MiB",
        run.peak_rss_kib / 1024
    );
    assert!(stress::temp_files(&env.cfg()).is_empty());
    // A purge removes the 100,000 parameters in one pass: every definition
    // but the one the spec names goes, every comment stays.
    let purge = env.spec(
        "purge.yaml",
        b"main:\n  myhostname: purged.example\npurge: true\n",
    );
    let run = postform_with(&apply_args(&purge, &env.cfg()), &["--no-validate"]);
    assert_no_panic(&run, "purge of a 100 MB main.cf");
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let mut expected = Vec::with_capacity(big.len());
    for line in big.split_inclusive(|&b| b == b'\n') {
        if line == DEBIAN_MYHOSTNAME {
            expected.extend_from_slice(b"myhostname = purged.example\n");
        } else if line.starts_with(b"#") || line == b"\n" {
            expected.extend_from_slice(line);
        }
    }
    assert!(
        fs::read(env.main_cf()).unwrap() == expected,
        "purge of a 100 MB main.cf: wrong result"
    );
    // The diff shows the removed definitions and the one written line,
    // no unchanged comment as removed and added again.
    let out = run.stdout();
    let added: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++ "))
        .collect();
    assert_eq!(added, ["+myhostname = purged.example"], "purge diff");
    let removed = out
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("--- "))
        .count();
    assert_eq!(
        removed,
        big.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
            .count(),
        "purge diff: one removed line per definition"
    );
    assert!(stress::temp_files(&env.cfg()).is_empty());
    stress::note(&format!(
        "huge_main_cf_100_mb: purge of {} bytes took {:.1?}, peak RSS {} MiB",
        big.len(),
        run.elapsed,
        run.peak_rss_kib / 1024
    ));
    assert!(
        run.peak_rss_kib < 1536 * 1024,
        "purge of a 100 MB main.cf: peak RSS {} MiB",
        run.peak_rss_kib / 1024
    );
}

#[test]
fn non_utf8_main_cf_keeps_every_byte() {
    let env = Env::new();
    let mut odd = debian_main_cf();
    odd.extend_from_slice(b"# caf\xe9 cr\xe8me \xff\xfe\xfd\n");
    odd.extend_from_slice(b"smtp_helo_name = caf\xe9 \xff.example\n");
    odd.extend_from_slice(b"virtual_alias_domains = \xe9t\xe9.example, caf\xe9.example\n");
    env.write_main_cf(&odd);
    // Change an ASCII parameter, and replace the non-UTF-8 value of another.
    let spec = env.spec(
        "spec.yaml",
        b"myhostname: utf8.example\nsmtp_helo_name: cafe.example\n",
    );
    let plan = postform_with(&plan_args(&spec, &env.cfg()), &["--json"]);
    assert_no_panic(&plan, "non-UTF-8 plan");
    assert_eq!(plan.code(), Some(0), "{}", plan.describe());
    let run = postform(&apply_args(&spec, &env.cfg()));
    assert_no_panic(&run, "non-UTF-8 apply");
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let mut expected = with_myhostname(&odd, "utf8.example");
    expected = replace_once(
        &expected,
        b"smtp_helo_name = caf\xe9 \xff.example\n",
        b"smtp_helo_name = cafe.example\n",
    );
    assert!(
        fs::read(env.main_cf()).unwrap() == expected,
        "non-UTF-8 bytes were not preserved"
    );
}

/// Seeded garbage with no '=' (so no line can parse), terminal escapes,
/// NULs and control bytes.
fn garbage(seed: u64, len: usize, newlines: bool) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut g: Vec<u8> = rng
        .bytes(len)
        .into_iter()
        .map(|b| match b {
            b'=' => b'?',
            b'\n' if !newlines => b'.',
            b => b,
        })
        .collect();
    g[0] = b'X';
    for (i, esc) in [
        &b"\x1b[2J\x1b[31m"[..],
        b"\x1b]0;pwned\x07",
        b"\x00\x08\x7f",
    ]
    .iter()
    .enumerate()
    {
        let at = 1 + i * 7;
        g[at..at + esc.len()].copy_from_slice(esc);
    }
    g
}

#[test]
fn binary_garbage_main_cf() {
    let seed = stress::seed_from_env("POSTFORM_HOSTILE_SEED", "binary_garbage_main_cf");
    let env = Env::new();
    let spec = simple_spec(&env);
    let shown = env.main_cf().display().to_string();
    for (len, newlines) in [(64 << 10, true), (4 << 20, false)] {
        env.write_main_cf(&garbage(seed, len, newlines));
        let (plan, apply) = both_fail(&env, &spec, &[&shown, "main.cf:1:"], "binary garbage");
        for run in [&plan, &apply] {
            // The message is short and cannot drive the terminal.
            assert!(
                run.stderr.len() < 4096,
                "garbage main.cf: {} bytes of error output (seed {seed})",
                run.stderr.len()
            );
            assert!(
                !run.stderr.contains(&0x1b)
                    && !run.stderr.contains(&0)
                    && !run.stderr.contains(&0x07),
                "garbage main.cf: control bytes reach the terminal (seed {seed}):\n{:?}",
                run.stderr()
            );
            assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
        }
    }
}

#[test]
fn config_dir_without_master_cf_works_with_a_warning() {
    let env = Env::new();
    fs::remove_file(env.cfg().join("master.cf")).unwrap();
    let spec = simple_spec(&env);
    let run = postform(&apply_args(&spec, &env.cfg()));
    assert_no_panic(&run, "no master.cf");
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert!(
        run.stderr().contains("master.cf"),
        "a warning names master.cf\n{}",
        run.describe()
    );
    assert_eq!(
        fs::read(env.main_cf()).unwrap(),
        with_myhostname(&debian_main_cf(), "hostile.example")
    );
    assert!(
        !env.cfg().join("master.cf").exists(),
        "apply must not create master.cf"
    );
}

/// A FIFO (or a device) as master.cf must not hang any command: it is
/// not read, the commands go on without service-derived names, and say so.
#[test]
fn master_cf_that_is_a_fifo_or_device_does_not_hang() {
    let env = Env::new();
    let master = env.cfg().join("master.cf");
    fs::remove_file(&master).unwrap();
    let made = Command::new("mkfifo").arg(&master).status();
    if !made.is_ok_and(|s| s.success()) {
        stress::skip_loudly("mkfifo is not available: the FIFO case uses /dev/zero only");
        std::os::unix::fs::symlink("/dev/zero", &master).unwrap();
    }
    let spec = simple_spec(&env);
    let cfg = env.cfg();
    let runs: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        (
            "validate",
            vec![
                "validate".into(),
                spec.clone().into(),
                "-c".into(),
                cfg.clone().into(),
            ],
        ),
        ("plan", plan_args(&spec, &cfg)),
        ("show", vec!["show".into(), "-c".into(), cfg.clone().into()]),
        ("apply", apply_args(&spec, &cfg)),
    ];
    for (what, args) in runs {
        let run = postform(&args);
        assert_no_panic(&run, what);
        assert!(
            run.elapsed < Duration::from_secs(10),
            "{what}: {:?}",
            run.elapsed
        );
        assert_eq!(run.code(), Some(0), "{what}\n{}", run.describe());
        assert!(
            run.stderr()
                .contains("master.cf: cannot read: not a regular file"),
            "{what}: a warning names master.cf and says why\n{}",
            run.describe()
        );
    }
    assert_eq!(
        fs::read(env.main_cf()).unwrap(),
        with_myhostname(&debian_main_cf(), "hostile.example")
    );
}

#[test]
fn mode_owner_and_group_survive_apply() {
    let env = Env::new();
    let gid = stress::group_gid("postfix");
    let (mode, uid, gid) = if support::is_root() {
        match gid {
            Some(g) => (0o640, 0, g),
            None => {
                if support::require_real() {
                    panic!("the postfix group is missing (Postfix must be installed in CI)");
                }
                stress::skip_loudly(
                    "no postfix group (Postfix not installed): using 0640 root:root",
                );
                (0o640, 0, 0)
            }
        }
    } else {
        let m = fs::metadata(env.main_cf()).unwrap();
        (0o640, m.uid(), m.gid())
    };
    if support::is_root() {
        stress::set_mode_owner(&env.main_cf(), mode, uid, gid);
    } else {
        fs::set_permissions(env.main_cf(), fs::Permissions::from_mode(mode)).unwrap();
    }
    for (i, host) in ["one.example", "two.example"].iter().enumerate() {
        let spec = env.spec(
            &format!("s{i}.yaml"),
            format!("myhostname: {host}\n").as_bytes(),
        );
        let run = postform_with(&apply_args(&spec, &env.cfg()), &["--backup"]);
        assert_eq!(run.code(), Some(0), "{}", run.describe());
        let st = env.state();
        assert_eq!(
            (st.mode, st.uid, st.gid),
            (mode, uid, gid),
            "main.cf after apply #{i}"
        );
    }
    // The backups hold the same data: same mode, owner and group as
    // main.cf, never more readable.
    let backups: Vec<String> = stress::dir_names(&env.cfg())
        .into_iter()
        .filter(|n| n.contains("postform-backup-"))
        .collect();
    assert!(!backups.is_empty());
    for b in backups {
        let m = fs::metadata(env.cfg().join(&b)).unwrap();
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (mode, uid, gid),
            "backup {b}"
        );
    }
    if support::is_root() {
        // A file owned by someone else keeps that owner too.
        let nobody = stress::user_uid("nobody").unwrap_or(65534);
        stress::set_mode_owner(&env.main_cf(), 0o600, nobody, gid);
        let spec = env.spec("s9.yaml", b"myhostname: three.example\n");
        let run = postform(&apply_args(&spec, &env.cfg()));
        assert_eq!(run.code(), Some(0), "{}", run.describe());
        let st = env.state();
        assert_eq!((st.mode, st.uid, st.gid), (0o600, nobody, gid));
    }
}

// ---------------------------------------------------------------------
// Spec files
// ---------------------------------------------------------------------

#[test]
fn empty_specs_change_nothing() {
    let env = Env::new();
    let before = env.state();
    for (i, text) in [
        "",
        "\n\n",
        "# only a comment\n",
        "---\n",
        "{}\n",
        "main:\n",
        "main: {}\npurge: false\n",
    ]
    .iter()
    .enumerate()
    {
        let spec = env.spec(&format!("empty{i}.yaml"), text.as_bytes());
        let run = postform(&apply_args(&spec, &env.cfg()));
        assert_no_panic(&run, "empty spec");
        assert_eq!(run.code(), Some(0), "spec {text:?}\n{}", run.describe());
        assert!(
            run.stdout().contains("No changes"),
            "spec {text:?}\n{}",
            run.describe()
        );
        stress::assert_untouched(&env.main_cf(), &before, &format!("empty spec {text:?}"));
    }
}

#[test]
fn huge_spec_is_refused_fast() {
    let env = Env::new();
    let mut text = String::with_capacity(21 << 20);
    let mut i = 0;
    while text.len() < 20 << 20 {
        text.push_str(&format!("param_{i}: {}\n", "v".repeat(100)));
        i += 1;
    }
    let spec = env.spec("huge.yaml", text.as_bytes());
    let shown = spec.display().to_string();
    let (p, a) = both_fail(&env, &spec, &[&shown, "limit"], "20 MB spec");
    assert!(p.elapsed < Duration::from_secs(10) && a.elapsed < Duration::from_secs(10));
    assert!(
        a.peak_rss_kib < 256 * 1024,
        "20 MB spec: {} KiB",
        a.peak_rss_kib
    );
}

#[test]
fn spec_that_is_a_device_or_fifo_is_refused() {
    let env = Env::new();
    let before = env.state();
    for dev in ["/dev/zero", "/dev/urandom"] {
        let run = postform(&apply_args(Path::new(dev), &env.cfg()));
        assert_clean_error(&run, &[dev], "spec is a device");
        assert!(
            run.elapsed < Duration::from_secs(10),
            "{dev}: {:?}",
            run.elapsed
        );
        assert!(
            run.peak_rss_kib < 256 * 1024,
            "{dev}: {} KiB",
            run.peak_rss_kib
        );
    }
    stress::assert_untouched(&env.main_cf(), &before, "device spec");
}

#[test]
fn many_parameters_in_a_spec_stay_fast() {
    // 10,000 distinct parameters (660 KB, under the size limit): planned,
    // or refused clearly, never a hang (a key scan per parameter and a
    // re-parse per edit made this take minutes). The deadline is generous
    // for a debug build on two busy cores; BENCHMARKS.md measures speed.
    let env = Env::new();
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("pf_many_{i}: value-{i}-{}\n", "v".repeat(40)));
    }
    let spec = env.spec("many.yaml", text.as_bytes());
    let before = env.state();
    let run = stress::run_with_deadline(
        stress::postform_cmd()
            .args(plan_args(&spec, &env.cfg()))
            .arg("--no-validate"),
        Duration::from_secs(60),
    );
    assert_no_panic(&run, "10,000 parameters");
    stress::note(&format!(
        "many_parameters_in_a_spec_stay_fast: plan {:.1?}, exit {:?}",
        run.elapsed,
        run.code()
    ));
    match run.code() {
        Some(0) => assert!(
            run.stdout()
                .contains("Plan: 10000 to add, 0 to change, 0 to remove."),
            "{}",
            run.describe()
        ),
        Some(1) => assert!(
            run.stderr().contains(&spec.display().to_string()),
            "{}",
            run.describe()
        ),
        _ => panic!("{}", run.describe()),
    }
    stress::assert_untouched(&env.main_cf(), &before, "many parameters");
}

#[test]
fn deeply_nested_yaml_is_refused_fast() {
    let env = Env::new();
    let before = env.state();
    let n = 100_000;
    let cases: Vec<(&str, String)> = vec![
        (
            "flow sequences",
            format!("a: {}{}\n", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "flow mappings",
            format!("a: {}1{}\n", "{a: ".repeat(n), "}".repeat(n)),
        ),
        (
            "unclosed flow",
            format!("main:\n  a: {}\n", "[".repeat(n * 10)),
        ),
        (
            "flow in quotes",
            format!("a: [{}]\n", "'x', [".repeat(n / 2) + &"]".repeat(n / 2)),
        ),
        (
            "block mappings",
            (0..3000)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>()
                + &" ".repeat(3000)
                + "x\n",
        ),
        ("block sequences", format!("a:\n{}x\n", "- ".repeat(n))),
    ];
    for (what, text) in cases {
        let spec = env.spec("nested.yaml", text.as_bytes());
        let shown = spec.display().to_string();
        let run = postform(&apply_args(&spec, &env.cfg()));
        assert_clean_error(&run, &[&shown], &format!("deeply nested YAML ({what})"));
        assert!(
            run.elapsed < Duration::from_secs(10),
            "deeply nested YAML ({what}, {} bytes) took {:?}",
            text.len(),
            run.elapsed
        );
        stress::assert_untouched(&env.main_cf(), &before, what);
    }
}

#[test]
fn yaml_bombs_are_refused_fast() {
    let env = Env::new();
    let before = env.state();
    // Billion laughs: 9 levels of 9 aliases each.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for name in "bcdefghi".chars() {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
        prev = name;
    }
    let full = format!(
        "main:\n{}",
        bomb.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    // Aliases of mappings merged into the top level.
    let merge = "x: &x {a: 1, b: 2}\n<<: *x\n".to_string();
    for (what, text) in [
        ("short form", bomb),
        ("full form", full),
        ("merge key", merge),
    ] {
        let spec = env.spec("bomb.yaml", text.as_bytes());
        let shown = spec.display().to_string();
        let run = postform(&apply_args(&spec, &env.cfg()));
        assert_clean_error(&run, &[&shown], &format!("YAML bomb ({what})"));
        assert!(
            run.elapsed < Duration::from_secs(10),
            "YAML bomb ({what}): {:?}",
            run.elapsed
        );
        assert!(
            run.peak_rss_kib < 256 * 1024,
            "YAML bomb ({what}): {} KiB",
            run.peak_rss_kib
        );
        stress::assert_untouched(&env.main_cf(), &before, what);
    }
}

#[test]
fn specs_that_are_not_yaml_are_refused() {
    let seed = stress::seed_from_env(
        "POSTFORM_HOSTILE_SEED",
        "specs_that_are_not_yaml_are_refused",
    );
    let mut rng = Rng::new(seed);
    let env = Env::new();
    let before = env.state();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("random bytes", rng.bytes(10_000), "not UTF-8"),
        (
            "ELF header",
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00".to_vec(),
            "control characters",
        ),
        ("NUL bytes", b"myhostname: a\x00b\n".to_vec(), ""),
        (
            "control characters",
            b"\x1b[2J\x07\x08: \x01\n".to_vec(),
            "",
        ),
        (
            "a scalar",
            b"just some words\n".to_vec(),
            "expected a mapping",
        ),
        (
            "a list",
            b"- inet_protocols\n- ipv4\n".to_vec(),
            "expected a mapping",
        ),
        ("JSON array", b"[1, 2, 3]\n".to_vec(), "expected a mapping"),
        ("tabs", b"main:\n\tmyhostname: x\n".to_vec(), ""),
        ("BOM and garbage", b"\xef\xbb\xbf{{{{\n".to_vec(), ""),
        ("two documents", b"a: 1\n---\nb: 2\n".to_vec(), ""),
    ];
    for (what, bytes, expect) in cases {
        let spec = env.spec("bad.yaml", &bytes);
        let shown = spec.display().to_string();
        let mut names = vec![shown.as_str()];
        if !expect.is_empty() {
            names.push(expect);
        }
        let run = postform(&apply_args(&spec, &env.cfg()));
        assert_clean_error(&run, &names, &format!("spec: {what} (seed {seed})"));
        assert!(
            !run.stderr.contains(&0x1b),
            "spec: {what}: terminal escapes in the error"
        );
        stress::assert_untouched(&env.main_cf(), &before, what);
    }
}

// ---------------------------------------------------------------------
// Saved plan files
// ---------------------------------------------------------------------

fn saved_plan(env: &Env) -> (PathBuf, serde_json::Value) {
    let spec = simple_spec(env);
    let pf = env.path().join("tfplan");
    let run = postform_with(&plan_args(&spec, &env.cfg()), &["-o", pf.to_str().unwrap()]);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let mode = fs::metadata(&pf).unwrap().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "a plan file holds main.cf: it must not be world-readable"
    );
    let v = serde_json::from_slice(&fs::read(&pf).unwrap()).unwrap();
    (pf, v)
}

#[test]
fn tampered_or_broken_plan_files_are_refused() {
    let env = Env::new();
    let before = env.state();
    let (pf, good) = saved_plan(&env);
    // Format 2 records inputs and hashes, never bytes to write: every
    // edit of them is refused (apply computes the plan again).
    let mut unknown_field = good.clone();
    unknown_field["after_hex"] = "6e6f7420612076616c7565".into();
    let mut elsewhere = good.clone();
    let victim = env.path().join("victim");
    fs::write(&victim, b"precious\n").unwrap();
    elsewhere["config_dir"] = env.path().display().to_string().into();
    let mut bad_hash = good.clone();
    bad_hash["bases"][0][1]["sha256"] = "00".repeat(32).into();
    let mut bad_planned = good.clone();
    bad_planned["planned"][0]["sha256"] = "00".repeat(32).into();
    // As postform writes it (pretty, `format` first), cut in half.
    let mut truncated = fs::read(&pf).unwrap();
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a field apply does not know",
            serde_json::to_vec(&unknown_field).unwrap(),
            "unknown field `after_hex`",
        ),
        (
            "config_dir points elsewhere",
            serde_json::to_vec(&elsewhere).unwrap(),
            "changed since the plan was made",
        ),
        (
            "base hash does not match",
            serde_json::to_vec(&bad_hash).unwrap(),
            "changed since the plan was made",
        ),
        (
            "planned hash does not match",
            serde_json::to_vec(&bad_planned).unwrap(),
            "would not write what the plan recorded",
        ),
        ("truncated", truncated, "not a postform plan file"),
    ];
    for (what, bytes, expect) in cases {
        fs::write(&pf, bytes).unwrap();
        let run = postform(&[
            "apply".into(),
            pf.clone().into(),
            "--auto-approve".into(),
            "--service".into(),
            "none".into(),
            "--no-validate".into(),
        ]);
        assert_clean_error(
            &run,
            &[&pf.display().to_string(), expect],
            &format!("plan file: {what}"),
        );
        stress::assert_untouched(&env.main_cf(), &before, what);
        assert_eq!(fs::read(&victim).unwrap(), b"precious\n");
    }
}
