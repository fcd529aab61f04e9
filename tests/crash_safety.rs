//! Crash safety: SIGKILL `postform apply` at random moments.
//!
//! The real binary applies varied specs (small and multi-megabyte main.cf,
//! changes, removals, purges, long appends, a symlinked main.cf, some runs
//! with --backup, a few with the candidate check) and is killed with
//! SIGKILL, at least `POSTFORM_CRASH_KILLS` (default 500) times per run,
//! from two workers in parallel. After every kill:
//!
//! * main.cf is byte-identical to the old or the new content (both parse,
//!   checked with the library and with the real `postconf` at setup), and
//!   keeps its mode, owner and group (0640 root:postfix as root);
//! * a temp file left behind is a prefix of the new content (or of the old
//!   one, for a backup in progress or the transaction's saved copy), or the
//!   transaction's journal: the writer never writes elsewhere;
//! * the next, unkilled run succeeds, leaves exactly the new content, and
//!   no temp file, `main.cf.tmp`, saved copy or journal anywhere.
//!
//! Kill moments: half are uniform in [0, 1.2 x the case's typical run
//! time, measured first]; the other half (for cases whose write window
//! was observed) wait until the temp file exists and then kill within the
//! measured write window, so kills land mid-write, between fsync and
//! rename, and just after the rename. Real timing only: no test hook.
//!
//! Seeded: the seed is printed; `POSTFORM_CRASH_SEED=N` reruns the same
//! sequence of cases, modes and delays (process timing itself varies).
//! Most runs use --no-validate to keep the suite fast; a few small ones
//! run the candidate check too, so kills also land inside it.

mod support;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::stress::{self, Rng};

const SEED_ENV: &str = "POSTFORM_CRASH_SEED";
const KILLS_ENV: &str = "POSTFORM_CRASH_KILLS";
const WORKERS: u64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    Small,
    Medium,
    Large,
}

struct Base {
    name: &'static str,
    size: Size,
    bytes: Vec<u8>,
}

struct SpecFile {
    name: &'static str,
    path: PathBuf,
    /// Only valid parameter names (the candidate check can run).
    validatable: bool,
    /// Largest base it runs on: planning N edits re-derives the document
    /// N times, so a purge of a multi-megabyte file takes minutes in a
    /// debug build (see the report on issue 7).
    max_size: Size,
}

/// One (base main.cf, spec) pair with its reference result and timing.
struct Case {
    label: String,
    size: Size,
    base: Vec<u8>,
    spec: PathBuf,
    validatable: bool,
    expected: Vec<u8>,
    /// Wall time of an unkilled run.
    typical: Duration,
    /// The same with the candidate check (small, validatable cases).
    typical_validated: Option<Duration>,
    /// Temp file seen at this offset after the start, gone at the second.
    window: Option<(Duration, Duration)>,
}

fn debian_main_cf() -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix/main.cf")).expect("examples main.cf")
}

fn master_cf() -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix/master.cf")).expect("examples master.cf")
}

/// Debian's main.cf plus `pairs` (comment, parameter) pairs: about 90
/// bytes a pair.
fn padded(pairs: usize) -> Vec<u8> {
    let mut b = debian_main_cf();
    for i in 0..pairs {
        b.extend_from_slice(
            format!(
                "# generated block {i}: padding so the file is large\nuser_param_{i} = value {i} alpha, beta, gamma\n"
            )
            .as_bytes(),
        );
    }
    b
}

fn bases() -> Vec<Base> {
    let debian = debian_main_cf();
    // CRLF, a non-UTF-8 comment, no final newline.
    let mut odd: Vec<u8> = Vec::new();
    for line in debian.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        odd.extend_from_slice(line);
        odd.extend_from_slice(b"\r\n");
    }
    odd.extend_from_slice(b"# caf\xe9 \xff\xfe latin-1 bytes\r\nsmtpd_banner = $myhostname ESMTP");
    vec![
        Base {
            name: "debian",
            size: Size::Small,
            bytes: debian,
        },
        Base {
            name: "crlf-latin1-nofinalnl",
            size: Size::Small,
            bytes: odd,
        },
        Base {
            name: "medium-300k",
            size: Size::Medium,
            bytes: padded(3_300),
        },
        Base {
            name: "large-3m",
            size: Size::Large,
            bytes: padded(33_000),
        },
    ]
}

fn specs(dir: &Path) -> Vec<SpecFile> {
    let mut many = String::from("main:\n");
    for i in 0..300 {
        many.push_str(&format!(
            "  pf_added_{i}: \"value {i} for the crash test\"\n"
        ));
    }
    let networks: Vec<String> = (0..40).map(|i| format!("10.{i}.0.0/16")).collect();
    let list = format!(
        "myhostname: crash-c.example\nmynetworks: [{}]\npf_crash_new: x\n",
        networks.join(", ")
    );
    let files: Vec<(&'static str, String, bool, Size)> = vec![
        (
            "change",
            "myhostname: crash-a.example\ninet_protocols: ipv4\n".into(),
            true,
            Size::Large,
        ),
        (
            "remove-and-add",
            "main:\n  relayhost: null\n  mailbox_size_limit: null\n  smtpd_banner: \"$myhostname ESMTP crash-b\"\n"
                .into(),
            true,
            Size::Medium,
        ),
        ("folded-list", list, false, Size::Large),
        (
            "purge",
            // Keeps the compatibility level (below 1 smtpd could not
            // start: refused by policy) and allows the TLS levels to drop
            // to their defaults.
            "main:\n  myhostname: purged.example\n  mydestination: [localhost]\n  compatibility_level: '3.6'\nallow: [tls_downgrade]\npurge: true\n".into(),
            true,
            Size::Small,
        ),
        ("append-300", many, false, Size::Small),
    ];
    files
        .into_iter()
        .map(|(name, text, validatable, max_size)| {
            let path = dir.join(format!("{name}.yaml"));
            fs::write(&path, text).unwrap();
            SpecFile {
                name,
                path,
                validatable,
                max_size,
            }
        })
        .collect()
}

fn apply_cmd(spec: &Path, dir: &Path, validate: bool, backup: bool, tmpdir: &Path) -> Command {
    let mut c = stress::postform_cmd();
    c.arg("apply")
        .arg(spec)
        .arg("-c")
        .arg(dir)
        .args(["--auto-approve", "--service", "none"])
        .env("TMPDIR", tmpdir)
        .stdout(Stdio::null());
    if !validate {
        c.arg("--no-validate");
    }
    if backup {
        c.arg("--backup");
    }
    c
}

/// Where postform writes for `dir/main.cf` (the link target's directory
/// for a symlink).
fn write_dir(dir: &Path) -> PathBuf {
    fs::canonicalize(dir.join("main.cf"))
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// Run an unkilled apply while watching for the temp file: (wall time,
/// window in which a temp file was seen).
fn timed_run(
    spec: &Path,
    dir: &Path,
    tmpdir: &Path,
) -> (
    Duration,
    Option<(Duration, Duration)>,
    std::process::ExitStatus,
) {
    let wdir = write_dir(dir);
    let start = Instant::now();
    let mut child = apply_cmd(spec, dir, false, false, tmpdir)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn postform");
    let (mut first, mut last) = (None, None);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if !stress::temp_files(&wdir).is_empty() {
            let t = start.elapsed();
            first.get_or_insert(t);
            last = Some(t);
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    let window = first.zip(last).map(|(a, b)| (a, b.max(a)));
    (start.elapsed(), window, status)
}

fn reset(dir: &Path, bytes: &[u8]) {
    let target = dir.join("main.cf");
    fs::write(&target, bytes).unwrap();
    if support::is_root() {
        let gid = stress::group_gid("postfix").unwrap_or(0);
        stress::set_mode_owner(&target, 0o640, 0, gid);
    } else {
        fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    }
}

fn parses(bytes: &[u8]) -> bool {
    postform::postfix::maincf::MainCf::parse(bytes).is_ok()
}

/// Build the cases: reference run (unkilled) on a scratch copy of each
/// base for each spec, timed and watched.
fn build_cases(work: &Path) -> Vec<Case> {
    let spec_dir = work.join("specs");
    fs::create_dir_all(&spec_dir).unwrap();
    let specs = specs(&spec_dir);
    let tmpdir = work.join("tmp");
    fs::create_dir_all(&tmpdir).unwrap();
    let mut cases = Vec::new();
    let postconf = support::find_program("postconf");
    for base in bases() {
        assert!(parses(&base.bytes), "base {} must parse", base.name);
        for spec in specs.iter().filter(|s| base.size as u8 <= s.max_size as u8) {
            let dir = work.join(format!("ref-{}-{}", base.name, spec.name));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("master.cf"), master_cf()).unwrap();
            reset(&dir, &base.bytes);
            let (first, window1, status) = timed_run(&spec.path, &dir, &tmpdir);
            assert!(
                status.success(),
                "reference run {} on {} failed",
                spec.name,
                base.name
            );
            let expected = fs::read(dir.join("main.cf")).unwrap();
            assert_ne!(
                expected, base.bytes,
                "{} must change {}",
                spec.name, base.name
            );
            assert!(
                parses(&expected),
                "{} on {}: result must parse",
                spec.name,
                base.name
            );
            if let Some(pc) = &postconf {
                // The real Postfix reads both versions without error.
                let out = support::run(Command::new(pc).arg("-c").arg(&dir).arg("-n"));
                assert!(
                    out.status.success(),
                    "postconf rejects {} on {}: {}",
                    spec.name,
                    base.name,
                    support::describe(&out)
                );
            }
            // Two more timings (the first run also warmed the page cache).
            let mut times = vec![first];
            let mut window = window1;
            let extra = if base.size == Size::Small { 2 } else { 1 };
            for _ in 0..extra {
                reset(&dir, &base.bytes);
                let (t, w, s) = timed_run(&spec.path, &dir, &tmpdir);
                assert!(s.success());
                times.push(t);
                window = window.or(w);
            }
            times.sort();
            let typical = times[times.len() / 2];
            let typical_validated = (base.size == Size::Small && spec.validatable).then(|| {
                reset(&dir, &base.bytes);
                let start = Instant::now();
                let out = support::run(&mut apply_cmd(&spec.path, &dir, true, false, &tmpdir));
                assert!(
                    out.status.success(),
                    "validated run {} on {}: {}",
                    spec.name,
                    base.name,
                    support::describe(&out)
                );
                assert_eq!(
                    fs::read(dir.join("main.cf")).unwrap(),
                    expected,
                    "validated run differs"
                );
                start.elapsed()
            });
            cases.push(Case {
                label: format!("{}+{}", base.name, spec.name),
                size: base.size,
                base: base.bytes.clone(),
                spec: spec.path.clone(),
                validatable: spec.validatable,
                expected,
                typical,
                typical_validated,
                window,
            });
            fs::remove_dir_all(&dir).unwrap();
        }
    }
    cases
}

#[derive(Debug, Default, Clone)]
struct Stats {
    iterations: usize,
    kills: usize,
    /// Killed, main.cf old, no temp: before the write started.
    before_write: usize,
    /// Killed with a temp file present: mid-write or before the rename.
    mid_write: usize,
    /// Killed after the rename: main.cf already new.
    after_rename: usize,
    /// Exited on its own before the kill.
    finished: usize,
    triggered: usize,
    validated: usize,
    backup: usize,
    symlink: usize,
    large_kills: usize,
    large_mid_write: usize,
    medium_iterations: usize,
    large_iterations: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.iterations += o.iterations;
        self.kills += o.kills;
        self.before_write += o.before_write;
        self.mid_write += o.mid_write;
        self.after_rename += o.after_rename;
        self.finished += o.finished;
        self.triggered += o.triggered;
        self.validated += o.validated;
        self.backup += o.backup;
        self.symlink += o.symlink;
        self.large_kills += o.large_kills;
        self.large_mid_write += o.large_mid_write;
        self.medium_iterations += o.medium_iterations;
        self.large_iterations += o.large_iterations;
    }
}

/// Poll until a temp file shows up in `wdir` or the child exits.
fn wait_for_temp(child: &mut Child, wdir: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !stress::temp_files(wdir).is_empty() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    false
}

fn is_prefix(prefix: &[u8], of: &[u8]) -> bool {
    of.len() >= prefix.len() && &of[..prefix.len()] == prefix
}

/// Iterations a worker may spend on medium and large cases: a time budget
/// over the measured run time (each iteration is a killed run plus a full
/// one), but never fewer than the minimum, so every run kills a
/// multi-megabyte apply several times.
#[derive(Debug, Clone, Copy)]
struct Quotas {
    medium: usize,
    large: usize,
}

const MEDIUM_BUDGET: Duration = Duration::from_secs(12);
const LARGE_BUDGET: Duration = Duration::from_secs(24);
const MIN_LARGE: usize = 6;

fn quotas(cases: &[Case]) -> Quotas {
    let quota = |size: Size, budget: Duration, min: usize| {
        let times: Vec<Duration> = cases
            .iter()
            .filter(|c| c.size == size)
            .map(|c| c.typical)
            .collect();
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        ((budget.as_secs_f64() / (2.0 * mean.as_secs_f64().max(0.001))) as usize).max(min)
    };
    Quotas {
        medium: quota(Size::Medium, MEDIUM_BUDGET, 10),
        large: quota(Size::Large, LARGE_BUDGET, MIN_LARGE),
    }
}

fn worker(
    id: u64,
    mut rng: Rng,
    cases: &[Case],
    kills_wanted: usize,
    quotas: Quotas,
    work: &Path,
) -> Result<Stats, String> {
    let root = support::is_root();
    let gid = if root {
        stress::group_gid("postfix").unwrap_or(0)
    } else {
        0
    };
    let plain = work.join(format!("w{id}-plain"));
    let linked = work.join(format!("w{id}-linked"));
    let real = work.join(format!("w{id}-real"));
    let tmpdir = work.join(format!("w{id}-tmp"));
    for d in [&plain, &linked, &real, &tmpdir] {
        fs::create_dir_all(d).unwrap();
    }
    for d in [&plain, &linked] {
        fs::write(d.join("master.cf"), master_cf()).unwrap();
    }
    fs::write(real.join("main.cf"), b"").unwrap();
    std::os::unix::fs::symlink(format!("../w{id}-real/main.cf"), linked.join("main.cf")).unwrap();
    let by_size = |s: Size| cases.iter().filter(|c| c.size == s).collect::<Vec<_>>();
    let (small, medium, large) = (
        by_size(Size::Small),
        by_size(Size::Medium),
        by_size(Size::Large),
    );
    let mut st = Stats::default();
    let max_iterations = kills_wanted * 3 + 50;
    while st.kills < kills_wanted {
        if st.iterations >= max_iterations {
            return Err(format!(
                "worker {id}: only {} kills in {} iterations (processes finish before the kill?)",
                st.kills, st.iterations
            ));
        }
        st.iterations += 1;
        // Large cases first come up often enough to use their quota early.
        let (mut used_medium, mut used_large) = (st.medium_iterations, st.large_iterations);
        let pool = match rng.below(100) {
            0..=54 => &small,
            55..=79 if used_medium < quotas.medium => {
                used_medium += 1;
                &medium
            }
            80..=99 if used_large < quotas.large => {
                used_large += 1;
                &large
            }
            _ => &small,
        };
        (st.medium_iterations, st.large_iterations) = (used_medium, used_large);
        let case = pool[rng.below(pool.len() as u64) as usize];
        let use_link = rng.chance(0.2);
        let dir = if use_link { &linked } else { &plain };
        let wdir = if use_link { &real } else { &plain };
        let validate = case.size == Size::Small && case.validatable && rng.chance(0.06);
        let backup = rng.chance(0.1);
        let p_trigger = if case.size == Size::Large { 0.75 } else { 0.5 };
        let triggered = case.window.is_some() && rng.chance(p_trigger);
        // Delay: uniform over the run, or after the temp file appears.
        let delay = if triggered {
            let (a, b) = case.window.unwrap();
            if rng.chance(0.3) {
                Duration::ZERO
            } else {
                rng.duration((b - a).mul_f64(1.5) + Duration::from_millis(1))
            }
        } else {
            let typical = if validate {
                case.typical_validated.unwrap_or(case.typical)
            } else {
                case.typical
            };
            rng.duration(typical.mul_f64(1.2))
        };
        reset(wdir, &case.base);
        let before_meta = stress::file_state(&dir.join("main.cf"));
        let ctx = format!(
            "worker {id} iteration {} case {} (link {use_link}, validate {validate}, backup {backup}, triggered {triggered}, delay {delay:?})",
            st.iterations, case.label
        );
        let mut child = apply_cmd(&case.spec, dir, validate, backup, &tmpdir)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{ctx}: spawn: {e}"))?;
        if triggered {
            wait_for_temp(&mut child, wdir, case.typical * 10 + Duration::from_secs(2));
        }
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().map_err(|e| format!("{ctx}: wait: {e}"))?;
        let killed = status.signal() == Some(9);
        if !killed && !status.success() {
            return Err(format!("{ctx}: apply failed on its own: {status}"));
        }
        // The state right after the kill.
        let target = dir.join("main.cf");
        if use_link
            && !fs::symlink_metadata(&target)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false)
        {
            return Err(format!("{ctx}: main.cf is no longer a symlink"));
        }
        let now = fs::read(&target)
            .map_err(|e| format!("{ctx}: main.cf unreadable after the kill: {e}"))?;
        let is_old = now == case.base;
        let is_new = now == case.expected;
        if !is_old && !is_new {
            let _ = fs::write(work.join("corrupt-main.cf"), &now);
            return Err(format!(
                "{ctx}: main.cf is neither the old nor the new content ({} bytes; old {}, new {}); saved as corrupt-main.cf",
                now.len(),
                case.base.len(),
                case.expected.len()
            ));
        }
        // Byte identity with a version that parsed at setup; parse again
        // anyway where it is cheap.
        if case.size != Size::Large && !parses(&now) {
            return Err(format!("{ctx}: main.cf does not parse after the kill"));
        }
        let meta = stress::file_state(&target);
        if (meta.mode, meta.uid, meta.gid) != (before_meta.mode, before_meta.uid, before_meta.gid) {
            return Err(format!(
                "{ctx}: mode/owner changed: {:o} {}:{} -> {:o} {}:{}",
                before_meta.mode, before_meta.uid, before_meta.gid, meta.mode, meta.uid, meta.gid
            ));
        }
        if root && (meta.mode, meta.uid, meta.gid) != (0o640, 0, gid) {
            return Err(format!(
                "{ctx}: expected 0640 root:postfix, found {:o} {}:{}",
                meta.mode, meta.uid, meta.gid
            ));
        }
        let temps = stress::temp_files(wdir);
        for t in &temps {
            let bytes = fs::read(t).map_err(|e| format!("{ctx}: read {}: {e}", t.display()))?;
            let name = t
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // The new content (staged in main.cf.tmp, or a temp file beside
            // a symlink's target), the old one (a backup in progress, or
            // the transaction's saved copy), or the transaction's journal.
            let ok = is_prefix(&bytes, &case.expected)
                || ((backup || name.starts_with(".postform-saved-"))
                    && is_prefix(&bytes, &case.base))
                || (name == ".postform-journal" || bytes.starts_with(b"{"))
                    && String::from_utf8_lossy(&bytes).contains("postform-journal")
                || bytes.is_empty();
            if !ok {
                return Err(format!(
                    "{ctx}: leftover {} ({} bytes) is not a prefix of the content being written",
                    t.display(),
                    bytes.len()
                ));
            }
        }
        if killed {
            st.kills += 1;
            if case.size == Size::Large {
                st.large_kills += 1;
            }
            if is_new {
                st.after_rename += 1;
            } else if !temps.is_empty() {
                st.mid_write += 1;
                if case.size == Size::Large {
                    st.large_mid_write += 1;
                }
            } else {
                st.before_write += 1;
            }
            st.triggered += usize::from(triggered);
            st.validated += usize::from(validate);
            st.backup += usize::from(backup);
            st.symlink += usize::from(use_link);
        } else {
            st.finished += 1;
            if !is_new {
                return Err(format!(
                    "{ctx}: apply exited 0 but main.cf is not the new content"
                ));
            }
        }
        // The next, unkilled run: succeeds, ends at the new content, and
        // sweeps every temp file.
        let run = stress::run_with_deadline(
            apply_cmd(&case.spec, dir, false, false, &tmpdir).stdout(Stdio::piped()),
            Duration::from_secs(120),
        );
        if !run.status.success() {
            return Err(format!(
                "{ctx}: the run after the kill failed\n{}",
                run.describe()
            ));
        }
        if fs::read(&target).ok().as_deref() != Some(&case.expected[..]) {
            return Err(format!(
                "{ctx}: after the next run main.cf is not the new content"
            ));
        }
        let left = stress::temp_files(wdir);
        if !left.is_empty() {
            return Err(format!(
                "{ctx}: temp files left after the next run: {left:?}\n{}",
                run.describe()
            ));
        }
        let meta = stress::file_state(&target);
        if (meta.mode, meta.uid, meta.gid) != (before_meta.mode, before_meta.uid, before_meta.gid) {
            return Err(format!(
                "{ctx}: mode/owner changed by the run after the kill"
            ));
        }
        if !stress::temp_files(dir).is_empty() {
            return Err(format!("{ctx}: temp files in the config dir"));
        }
        // Keep the directory small: drop backups between iterations.
        for name in stress::dir_names(wdir) {
            if name.contains(".postform-backup-") {
                let _ = fs::remove_file(wdir.join(name));
            }
        }
    }
    // A kill inside the candidate check leaves its scratch directory in
    // TMPDIR (SIGKILL runs no destructor); the next validated run removes
    // what dead runs left.
    let candidate_dirs = || -> Vec<String> {
        stress::dir_names(&tmpdir)
            .into_iter()
            .filter(|n| n.starts_with("postform-check-"))
            .collect()
    };
    let leaked = candidate_dirs().len();
    if let Some(case) = cases.first() {
        let dir = &plain;
        reset(&plain, &case.base);
        let run = stress::run_with_deadline(
            apply_cmd(&case.spec, dir, true, false, &tmpdir).stdout(Stdio::piped()),
            Duration::from_secs(120),
        );
        if !run.status.success() {
            return Err(format!(
                "worker {id}: the final validated run failed\n{}",
                run.describe()
            ));
        }
        let left = candidate_dirs();
        if !left.is_empty() {
            return Err(format!(
                "worker {id}: candidate-check scratch dir(s) still in TMPDIR after a validated run (of {leaked} left by killed runs): {left:?}\n{}",
                run.describe()
            ));
        }
    }
    stress::note(&format!(
        "worker {id}: {leaked} candidate-check scratch dir(s) left by killed runs, all removed by the next validated run"
    ));
    Ok(st)
}

#[test]
fn sigkill_at_random_moments_never_corrupts_main_cf() {
    let started = Instant::now();
    let seed = stress::seed_from_env(SEED_ENV, "crash_safety");
    let kills = stress::env_usize(KILLS_ENV, 500);
    let work = tempfile::Builder::new()
        .prefix("postform-crash-")
        .tempdir()
        .unwrap();
    let cases = build_cases(work.path());
    let setup = started.elapsed();
    for c in &cases {
        stress::note(&format!(
            "  case {:40} {:>9} bytes -> {:>9}  typical {:>8.1?}  temp-file window {}",
            c.label,
            c.base.len(),
            c.expected.len(),
            c.typical,
            c.window
                .map(|(a, b)| format!("{a:.1?}..{b:.1?}"))
                .unwrap_or_else(|| "not observed".into())
        ));
    }
    let quotas = quotas(&cases);
    stress::note(&format!(
        "  per worker: {quotas:?} iterations on medium/large cases"
    ));
    let mut rng = Rng::new(seed);
    let per_worker = kills.div_ceil(WORKERS as usize);
    let results = stress::on_workers(WORKERS, &mut rng, |id, wrng| {
        worker(id, wrng, &cases, per_worker, quotas, work.path())
    });
    let mut total = Stats::default();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => total.add(&s),
            Err(e) => errors.push(e),
        }
    }
    stress::note(&format!(
        "crash_safety: seed {seed}: {} kills in {} iterations ({} finished before the kill) in {:.1?} (setup {:.1?}): \
         {} before the write, {} mid-write (temp file present), {} after the rename; \
         {} triggered by the temp file, {} with the candidate check, {} with --backup, {} through a symlink; \
         large files: {} kills, {} mid-write",
        total.kills,
        total.iterations,
        total.finished,
        started.elapsed(),
        setup,
        total.before_write,
        total.mid_write,
        total.after_rename,
        total.triggered,
        total.validated,
        total.backup,
        total.symlink,
        total.large_kills,
        total.large_mid_write,
    ));
    assert!(
        errors.is_empty(),
        "crash safety violated (seed {seed}, rerun with {SEED_ENV}={seed}):\n{}",
        errors.join("\n")
    );
    assert!(
        total.kills >= kills,
        "only {} kills (wanted {kills})",
        total.kills
    );
    // The kills must really have covered the write: some before it, some
    // inside it (on multi-megabyte files too), some after the rename.
    assert!(
        total.before_write > 0 && total.after_rename > 0 && total.mid_write >= kills / 20,
        "kills did not cover the write window (seed {seed}): {total:?}"
    );
    assert!(
        total.large_mid_write > 0,
        "no kill landed mid-write on a large file (seed {seed}): {total:?}"
    );
}
