//! Crash consistency of one apply over main.cf AND master.cf.
//!
//! The real binary applies specs that change both files in one
//! transaction (a service added with `-o` options, a field changed, a
//! service and an option removed, main.cf parameters changed and removed;
//! on Debian's files and on large ones) and is SIGKILLed at least
//! `POSTFORM_CRASH_KILLS` (default 500) times per run, from two workers in
//! parallel. After every kill:
//!
//! * right after the kill, each file is byte-identical to its old or its
//!   new content; a mixed pair (new master.cf, old main.cf: master.cf is
//!   committed first) only with the transaction's journal beside it, not
//!   yet marked committed; nothing but the transaction's own files (staged
//!   `.cf.tmp` / `.postform-tmp-*`, saved `.postform-saved-*`, the journal)
//!   is left in the directory;
//! * the next postform command (a random verb of `show`, `import`, `plan`,
//!   `apply`; none of them told about the crash) exits 0, says it finished
//!   or undid the interrupted run exactly when a journal was there, and
//!   leaves both files old or both new: byte for byte, and as the real
//!   Postfix reads them (`postconf -n`, `postconf -F`, `postconf -P`
//!   compared with their output on the reference old and new files); an
//!   uncommitted journal is undone (old), a committed one finished (new),
//!   `apply` ends at the new pair;
//! * no `.postform-*` file and no `*.cf.tmp` is left.
//!
//! Kill moments: a third uniform in [0, the case's typical run time,
//! measured first]; a third once a staged file exists (delay up to 1.2 x
//! the measured staging-to-journal time); a third once the journal exists
//! (delay up to 1.2 x its measured lifetime, a third of those at once), so kills land while the files are staged, between the two
//! renames, and while the journal is marked committed or removed. Real
//! timing only: no test hook.
//!
//! Seeded: the seed is printed; `POSTFORM_CRASH_SEED=N` reruns the same
//! sequence of cases, verbs and delays (process timing itself varies).
//! Most runs use --no-validate to keep the suite fast; about 5% of the
//! small ones run the candidate check too, so kills also land inside it.

mod support;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::stress::{self, Rng};

const SEED_ENV: &str = "POSTFORM_CRASH_SEED";
const KILLS_ENV: &str = "POSTFORM_CRASH_KILLS";
const WORKERS: u64 = 2;
const JOURNAL: &str = ".postform-journal";

fn example(name: &str) -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix").join(name)).expect("examples file")
}

/// Debian's main.cf with `blocks` commented examples (two lines, about
/// 90 bytes each) before its last line, as a long annotated main.cf has.
fn padded_main_cf(blocks: usize) -> Vec<u8> {
    let debian = example("main.cf");
    let mut b = Vec::new();
    for i in 0..blocks {
        b.extend_from_slice(
            format!("# generated block {i}: a commented example\n#user_param_{i} = value {i} alpha, beta\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(&debian);
    b
}

/// Debian's master.cf plus `n` commented-out services with their
/// commented `-o` lines and `n / 10` live ones with an `-o` option each,
/// about 100 bytes a service. (Not `n` live transports: postconf's
/// service-derived parameter names make it take seconds on those.)
fn padded_master_cf(n: usize) -> Vec<u8> {
    let mut b = example("master.cf");
    for i in 0..n {
        b.extend_from_slice(
            format!("#relay{i}    unix  -       -       n       -       -       smtp\n#  -o syslog_name=postfix/relay{i}\n")
                .as_bytes(),
        );
    }
    for i in 0..n / 10 {
        b.extend_from_slice(
            format!("relay{i}    unix  -       -       n       -       -       smtp\n  -o syslog_name=postfix/relay{i}\n")
                .as_bytes(),
        );
    }
    b
}

/// What `postconf` says about a config directory: `-n` (less the
/// `config_directory` line `-c` adds), `-F`, `-P`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PostconfView {
    n: String,
    f: String,
    p: String,
}

fn postconf_view(dir: &Path) -> Result<PostconfView, String> {
    let run = |args: &[&str]| -> Result<String, String> {
        let out = support::run_postconf(dir, args);
        if !out.status.success() {
            return Err(format!(
                "postconf -c {} {}: {}",
                dir.display(),
                args.join(" "),
                support::describe(&out)
            ));
        }
        Ok(support::stdout(&out))
    };
    Ok(PostconfView {
        n: run(&["-n"])?
            .lines()
            .filter(|l| !l.starts_with("config_directory = "))
            .map(|l| format!("{l}\n"))
            .collect(),
        f: run(&["-F"])?,
        p: run(&["-P"])?,
    })
}

/// One (base files, spec) pair with its reference result and timing.
struct Case {
    label: String,
    large: bool,
    validatable: bool,
    spec: PathBuf,
    old_main: Vec<u8>,
    old_master: Vec<u8>,
    new_main: Vec<u8>,
    new_master: Vec<u8>,
    old_view: PostconfView,
    new_view: PostconfView,
    /// Wall time of an unkilled run (--no-validate), median.
    typical: Duration,
    /// The same with the candidate check.
    typical_validated: Option<Duration>,
    /// From the start: a staged file first seen, the journal first and
    /// last seen (longest of the timed runs).
    staged_at: Option<Duration>,
    journal: Option<(Duration, Duration)>,
}

fn specs(dir: &Path) -> Vec<(&'static str, PathBuf, bool)> {
    let specs: [(&str, &str, bool); 3] = [
        (
            "add-service+restart",
            "main:\n  inet_protocols: ipv4\n  myhostname: crash-a.example\nmaster:\n  127.0.0.1:10025/inet:\n    private: n\n    chroot: n\n    maxproc: 10\n    command: smtpd\n    options:\n      content_filter: \"\"\n      smtpd_banner: \"$myhostname filter return\"\n  smtp/inet:\n    chroot: n\n",
            true,
        ),
        (
            "remove-and-change",
            "main:\n  relayhost: null\n  mailbox_size_limit: null\n  smtpd_banner: \"$myhostname ESMTP crash-b\"\nmaster:\n  lmtp/unix: null\n  relay/unix:\n    options:\n      syslog_name: null\n  pickup/unix:\n    wakeup: 30\n  submission/inet:\n    command: smtpd\n    options:\n      syslog_name: postfix/submission\n      smtpd_tls_security_level: encrypt\n",
            true,
        ),
        (
            "options-and-args",
            "main:\n  myhostname: crash-c.example\n  smtpd_helo_required: yes\nmaster:\n  smtp/unix:\n    options:\n      smtp_helo_timeout: 120s\n      smtp_connect_timeout: 15s\n      syslog_name: postfix/smtp-out\n  relay/unix:\n    maxproc: 20\n    args: []\n",
            true,
        ),
    ];
    specs
        .iter()
        .map(|(name, text, validatable)| {
            let path = dir.join(format!("{name}.yaml"));
            fs::write(&path, text).unwrap();
            (*name, path, *validatable)
        })
        .collect()
}

fn apply_cmd(spec: &Path, dir: &Path, validate: bool, tmpdir: &Path) -> Command {
    let mut c = stress::postform_cmd();
    c.arg("apply")
        .arg(spec)
        .arg("-c")
        .arg(dir)
        .args(["--auto-approve", "--service", "none"])
        .env("TMPDIR", tmpdir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !validate {
        c.arg("--no-validate");
    }
    c
}

/// Put the old files back (mode 0644, as Postfix installs them).
fn reset(dir: &Path, main: &[u8], master: &[u8]) {
    for (name, bytes) in [("main.cf", main), ("master.cf", master)] {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
}

/// Names in `dir` other than the two files: leftovers of a transaction.
fn others(dir: &Path) -> Vec<String> {
    stress::dir_names(dir)
        .into_iter()
        .filter(|n| n != "main.cf" && n != "master.cf")
        .collect()
}

fn is_staged_file(name: &str) -> bool {
    name.ends_with(".cf.tmp") || name.starts_with(stress::TEMP_PREFIX)
}

/// An unkilled run, watched: (wall time, staged file first seen, journal
/// first and last seen).
fn timed_run(
    spec: &Path,
    dir: &Path,
    tmpdir: &Path,
) -> (Duration, Option<Duration>, Option<(Duration, Duration)>) {
    let start = Instant::now();
    let mut child = apply_cmd(spec, dir, false, tmpdir)
        .spawn()
        .expect("spawn postform");
    let (mut staged, mut first, mut last) = (None, None, None);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        let names = others(dir);
        let t = start.elapsed();
        if names.iter().any(|n| is_staged_file(n)) {
            staged.get_or_insert(t);
        }
        if names.iter().any(|n| n == JOURNAL) {
            first.get_or_insert(t);
            last = Some(t);
        }
        std::thread::sleep(Duration::from_micros(50));
    };
    assert!(status.success(), "reference apply failed: {status}");
    (start.elapsed(), staged, first.zip(last))
}

fn build_cases(work: &Path) -> Vec<Case> {
    let spec_dir = work.join("specs");
    let tmpdir = work.join("tmp");
    fs::create_dir_all(&spec_dir).unwrap();
    fs::create_dir_all(&tmpdir).unwrap();
    let bases: [(&str, bool, Vec<u8>, Vec<u8>); 2] = [
        ("debian", false, example("main.cf"), example("master.cf")),
        (
            "large",
            true,
            padded_main_cf(3_300),
            padded_master_cf(1_000),
        ),
    ];
    let mut cases = Vec::new();
    for (base, large, main, master) in &bases {
        for (name, spec, validatable) in specs(&spec_dir) {
            let label = format!("{base}+{name}");
            let dir = work.join(format!("ref-{label}"));
            fs::create_dir_all(&dir).unwrap();
            reset(&dir, main, master);
            support::backdate(&dir.join("main.cf"));
            support::backdate(&dir.join("master.cf"));
            let old_view = postconf_view(&dir).unwrap_or_else(|e| panic!("{label}: {e}"));
            let mut times = Vec::new();
            let (mut staged_at, mut journal) = (None, None::<(Duration, Duration)>);
            for _ in 0..3 {
                reset(&dir, main, master);
                let (t, s, j) = timed_run(&spec, &dir, &tmpdir);
                times.push(t);
                staged_at = match (staged_at, s) {
                    (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                    (a, b) => a.or(b),
                };
                journal = match (journal, j) {
                    (Some(a), Some(b)) if b.1 - b.0 > a.1 - a.0 => Some(b),
                    (a, b) => a.or(b),
                };
            }
            times.sort();
            let new_main = fs::read(dir.join("main.cf")).unwrap();
            let new_master = fs::read(dir.join("master.cf")).unwrap();
            assert!(
                new_main != *main && new_master != *master,
                "{label}: the spec must change both files"
            );
            assert!(
                others(&dir).is_empty(),
                "{label}: an unkilled apply left {:?}",
                others(&dir)
            );
            support::backdate(&dir.join("main.cf"));
            support::backdate(&dir.join("master.cf"));
            let new_view = postconf_view(&dir).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(
                new_view.n != old_view.n && (new_view.f != old_view.f || new_view.p != old_view.p),
                "{label}: postconf must see the change in both files"
            );
            // The candidate check accepts it, and gives the same files.
            let typical_validated = (!large && validatable).then(|| {
                reset(&dir, main, master);
                let start = Instant::now();
                let run = stress::run_with_deadline(
                    &mut apply_cmd(&spec, &dir, true, &tmpdir),
                    Duration::from_secs(120),
                );
                assert!(run.status.success(), "{label}: validated apply failed");
                assert_eq!(fs::read(dir.join("main.cf")).unwrap(), new_main);
                assert_eq!(fs::read(dir.join("master.cf")).unwrap(), new_master);
                start.elapsed()
            });
            cases.push(Case {
                label,
                large: *large,
                validatable,
                spec,
                old_main: main.clone(),
                old_master: master.clone(),
                new_main,
                new_master,
                old_view,
                new_view,
                typical: times[1],
                typical_validated,
                staged_at,
                journal,
            });
            fs::remove_dir_all(&dir).unwrap();
        }
    }
    cases
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Uniform,
    Staged,
    Journal,
}

#[derive(Debug, Default, Clone)]
struct Stats {
    iterations: usize,
    kills: usize,
    /// Exited on its own before the kill.
    finished: usize,
    /// Of those, by trigger (uniform, staged file, journal).
    finished_by_trigger: [usize; 3],
    /// State right after the kill.
    old_clean: usize,
    old_with_leftovers: usize,
    mixed: usize,
    new_journal_staged: usize,
    new_journal_committed: usize,
    new_clean: usize,
    /// Recovery by the next command.
    undone: usize,
    completed: usize,
    validated: usize,
    large: usize,
    by_verb: [usize; 4],
    postconf_checks: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.iterations += o.iterations;
        self.kills += o.kills;
        self.finished += o.finished;
        for i in 0..3 {
            self.finished_by_trigger[i] += o.finished_by_trigger[i];
        }
        self.old_clean += o.old_clean;
        self.old_with_leftovers += o.old_with_leftovers;
        self.mixed += o.mixed;
        self.new_journal_staged += o.new_journal_staged;
        self.new_journal_committed += o.new_journal_committed;
        self.new_clean += o.new_clean;
        self.undone += o.undone;
        self.completed += o.completed;
        self.validated += o.validated;
        self.large += o.large;
        for i in 0..4 {
            self.by_verb[i] += o.by_verb[i];
        }
        self.postconf_checks += o.postconf_checks;
    }
}

const VERBS: [&str; 4] = ["show", "import", "plan", "apply"];

/// The next postform command after the kill.
fn next_command(verb: &str, case: &Case, dir: &Path, tmpdir: &Path) -> Command {
    let mut c = stress::postform_cmd();
    c.env("TMPDIR", tmpdir);
    match verb {
        "show" | "import" => {
            c.arg(verb).arg("-c").arg(dir);
        }
        "plan" => {
            c.arg("plan").arg(&case.spec).arg("-c").arg(dir);
        }
        _ => {
            c.arg("apply").arg(&case.spec).arg("-c").arg(dir).args([
                "--auto-approve",
                "--service",
                "none",
                "--no-validate",
            ]);
        }
    }
    c
}

/// Journal state as written (`"state": "staged"` etc.), or why unreadable.
fn journal_state(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(JOURNAL)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(v.get("state")?.as_str()?.to_string())
}

fn worker(
    id: u64,
    mut rng: Rng,
    cases: &[Case],
    kills_wanted: usize,
    large_quota: usize,
    work: &Path,
) -> Result<Stats, String> {
    let dir = work.join(format!("w{id}"));
    let tmpdir = work.join(format!("w{id}-tmp"));
    fs::create_dir_all(&dir).unwrap();
    fs::create_dir_all(&tmpdir).unwrap();
    let small: Vec<&Case> = cases.iter().filter(|c| !c.large).collect();
    let large: Vec<&Case> = cases.iter().filter(|c| c.large).collect();
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
        let use_large = st.large < large_quota && rng.chance(0.25);
        let pool = if use_large { &large } else { &small };
        let case = pool[rng.below(pool.len() as u64) as usize];
        st.large += usize::from(use_large);
        let validate = !case.large && case.validatable && rng.chance(0.05);
        let trigger = match rng.below(3) {
            1 if case.staged_at.is_some() => Trigger::Staged,
            2 if case.journal.is_some() => Trigger::Journal,
            _ => Trigger::Uniform,
        };
        let delay = match trigger {
            Trigger::Uniform => {
                let t = if validate {
                    case.typical_validated.unwrap_or(case.typical)
                } else {
                    case.typical
                };
                rng.duration(t)
            }
            Trigger::Staged => {
                let staged = case.staged_at.unwrap_or_default();
                let journal = case.journal.map_or(case.typical, |j| j.0);
                rng.duration(journal.saturating_sub(staged).mul_f64(1.2))
            }
            Trigger::Journal => {
                let (a, b) = case.journal.unwrap_or_default();
                if rng.chance(0.3) {
                    Duration::ZERO
                } else {
                    rng.duration((b - a).mul_f64(1.2) + Duration::from_micros(200))
                }
            }
        };
        let verb = VERBS[rng.below(VERBS.len() as u64) as usize];
        let ctx = format!(
            "worker {id} iteration {} case {} (validate {validate}, trigger {trigger:?}, delay {delay:?}, next command {verb})",
            st.iterations, case.label
        );
        reset(&dir, &case.old_main, &case.old_master);

        let start = Instant::now();
        let mut child = apply_cmd(&case.spec, &dir, validate, &tmpdir)
            .spawn()
            .map_err(|e| format!("{ctx}: spawn: {e}"))?;
        if trigger != Trigger::Uniform {
            let limit = case.typical * 10 + Duration::from_secs(2);
            while start.elapsed() < limit {
                let names = others(&dir);
                let seen = match trigger {
                    Trigger::Staged => names.iter().any(|n| is_staged_file(n)),
                    _ => names.iter().any(|n| n == JOURNAL),
                };
                if seen || child.try_wait().map_err(|e| e.to_string())?.is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(30));
            }
        }
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().map_err(|e| format!("{ctx}: wait: {e}"))?;
        let killed = status.signal() == Some(9);
        if !killed && !status.success() {
            return Err(format!("{ctx}: apply failed on its own: {status}"));
        }

        // Right after the kill.
        let main = fs::read(dir.join("main.cf")).map_err(|e| format!("{ctx}: main.cf: {e}"))?;
        let master =
            fs::read(dir.join("master.cf")).map_err(|e| format!("{ctx}: master.cf: {e}"))?;
        let main_new = match () {
            _ if main == case.old_main => false,
            _ if main == case.new_main => true,
            _ => {
                let _ = fs::write(work.join("corrupt-main.cf"), &main);
                return Err(format!(
                    "{ctx}: main.cf is neither old nor new ({} bytes); saved as corrupt-main.cf",
                    main.len()
                ));
            }
        };
        let master_new = match () {
            _ if master == case.old_master => false,
            _ if master == case.new_master => true,
            _ => {
                let _ = fs::write(work.join("corrupt-master.cf"), &master);
                return Err(format!(
                    "{ctx}: master.cf is neither old nor new ({} bytes); saved as corrupt-master.cf",
                    master.len()
                ));
            }
        };
        let left = others(&dir);
        if let Some(stray) = left.iter().find(|n| !stress::is_transaction_leftover(n)) {
            return Err(format!(
                "{ctx}: {stray:?} in the config dir is not a file of the transaction ({left:?})"
            ));
        }
        let journal = journal_state(&dir);
        if left.iter().any(|n| n == JOURNAL) && journal.is_none() {
            return Err(format!("{ctx}: the journal is there but unreadable"));
        }
        match (master_new, main_new) {
            (false, true) => {
                return Err(format!(
                    "{ctx}: main.cf is new while master.cf is old: master.cf must be committed first"
                ))
            }
            (true, false) if journal.as_deref() != Some("staged") => {
                return Err(format!(
                    "{ctx}: new master.cf with old main.cf, and the journal that would undo it is {journal:?}"
                ))
            }
            _ => {}
        }
        if killed {
            st.kills += 1;
            match (master_new, main_new, journal.as_deref()) {
                (false, false, _) if left.is_empty() => st.old_clean += 1,
                (false, false, _) => st.old_with_leftovers += 1,
                (true, false, _) => st.mixed += 1,
                (true, true, Some("committed")) => st.new_journal_committed += 1,
                (true, true, Some(_)) => st.new_journal_staged += 1,
                _ => st.new_clean += 1,
            }
            st.validated += usize::from(validate);
        } else {
            st.finished += 1;
            st.finished_by_trigger[trigger as usize] += 1;
            if !(main_new && master_new && left.is_empty()) {
                return Err(format!(
                    "{ctx}: apply exited 0 but left main.cf new {main_new}, master.cf new {master_new}, {left:?}"
                ));
            }
        }

        // The next command, whatever it is, recovers first.
        let vi = VERBS.iter().position(|v| *v == verb).unwrap_or(0);
        st.by_verb[vi] += 1;
        let run = stress::run_with_deadline(
            &mut next_command(verb, case, &dir, &tmpdir),
            Duration::from_secs(120),
        );
        if !run.status.success() {
            return Err(format!(
                "{ctx}: `postform {verb}` after the kill failed\n{}",
                run.describe()
            ));
        }
        let said = run.stderr().contains("an interrupted postform run");
        if said != journal.is_some() {
            return Err(format!(
                "{ctx}: journal before {journal:?}, but `postform {verb}` {} the interrupted run\n{}",
                if said { "reported" } else { "did not report" },
                run.describe()
            ));
        }
        let main = fs::read(dir.join("main.cf")).unwrap_or_default();
        let master = fs::read(dir.join("master.cf")).unwrap_or_default();
        let both_old = main == case.old_main && master == case.old_master;
        let both_new = main == case.new_main && master == case.new_master;
        let expect_new = match (verb, journal.as_deref()) {
            ("apply", _) => true,
            (_, Some("committed")) => true,
            (_, Some(_)) => false,
            (_, None) => main_new,
        };
        if !(if expect_new { both_new } else { both_old }) {
            return Err(format!(
                "{ctx}: after `postform {verb}` (journal before: {journal:?}) the files are not both {}: main.cf {}, master.cf {}\n{}",
                if expect_new { "new" } else { "old" },
                if main == case.new_main { "new" } else if main == case.old_main { "old" } else { "neither" },
                if master == case.new_master { "new" } else if master == case.old_master { "old" } else { "neither" },
                run.describe()
            ));
        }
        match journal.as_deref() {
            Some("committed") => st.completed += 1,
            Some(_) => st.undone += 1,
            None => {}
        }
        let left = others(&dir);
        let stale: Vec<&String> = left
            .iter()
            .filter(|n| n.starts_with(".postform-") || n.ends_with(".cf.tmp"))
            .collect();
        if !left.is_empty() {
            return Err(format!(
                "{ctx}: `postform {verb}` left {left:?} (transaction files: {stale:?})\n{}",
                run.describe()
            ));
        }
        // As Postfix reads them. Cheap on the small files; every fourth
        // iteration on the large ones.
        if !case.large || st.iterations % 4 == 0 {
            support::backdate(&dir.join("main.cf"));
            support::backdate(&dir.join("master.cf"));
            let view = postconf_view(&dir).map_err(|e| format!("{ctx}: {e}"))?;
            let want = if expect_new {
                &case.new_view
            } else {
                &case.old_view
            };
            if &view != want {
                let which = [
                    ("-n", view.n == want.n),
                    ("-F", view.f == want.f),
                    ("-P", view.p == want.p),
                ]
                .iter()
                .filter(|(_, same)| !same)
                .map(|(o, _)| *o)
                .collect::<Vec<_>>()
                .join(", ");
                return Err(format!(
                    "{ctx}: postconf {which} differs from the {} files' output",
                    if expect_new { "new" } else { "old" }
                ));
            }
            st.postconf_checks += 1;
        }
    }
    Ok(st)
}

#[test]
fn sigkill_during_main_and_master_apply_leaves_both_old_or_both_new() {
    if support::postconf().is_none() {
        return;
    }
    let started = Instant::now();
    let seed = stress::seed_from_env(SEED_ENV, "crash_safety_master");
    let kills = stress::env_usize(KILLS_ENV, 500);
    let work = tempfile::Builder::new()
        .prefix("postform-crash-master-")
        .tempdir()
        .unwrap();
    let cases = build_cases(work.path());
    let setup = started.elapsed();
    for c in &cases {
        stress::note(&format!(
            "  case {:34} main {:>7} -> {:>7} bytes, master {:>7} -> {:>7}  typical {:>8.1?}  staged at {}  journal {}",
            c.label,
            c.old_main.len(),
            c.new_main.len(),
            c.old_master.len(),
            c.new_master.len(),
            c.typical,
            c.staged_at.map_or("not seen".into(), |t| format!("{t:.1?}")),
            c.journal
                .map_or("not seen".into(), |(a, b)| format!("{a:.1?}..{b:.1?}")),
        ));
    }
    // The large cases: a time budget of about 20 s per worker (each
    // iteration is a killed run plus the next command), at least 10.
    let large_mean = cases
        .iter()
        .filter(|c| c.large)
        .map(|c| c.typical)
        .sum::<Duration>()
        / cases.iter().filter(|c| c.large).count().max(1) as u32;
    let large_quota = ((20.0 / (2.0 * large_mean.as_secs_f64().max(0.001))) as usize).max(10);
    let mut rng = Rng::new(seed);
    let per_worker = kills.div_ceil(WORKERS as usize);
    let results = stress::on_workers(WORKERS, &mut rng, |id, wrng| {
        worker(id, wrng, &cases, per_worker, large_quota, work.path())
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
        "crash_safety_master: seed {seed}: {} kills in {} iterations ({} finished before the kill, by trigger uniform/staged/journal {:?}) in {:.1?} (setup {:.1?}); \
         right after the kill: {} old and clean, {} old with staged/saved files, {} mixed (new master.cf, old main.cf), \
         {} both new with the journal not committed, {} both new with the journal committed, {} both new and clean; \
         the next command undid {} and finished {} interrupted runs; next commands show/import/plan/apply {:?}; \
         {} with the candidate check, {} on the large files; {} postconf -n/-F/-P checks",
        total.kills,
        total.iterations,
        total.finished,
        total.finished_by_trigger,
        started.elapsed(),
        setup,
        total.old_clean,
        total.old_with_leftovers,
        total.mixed,
        total.new_journal_staged,
        total.new_journal_committed,
        total.new_clean,
        total.undone,
        total.completed,
        total.by_verb,
        total.validated,
        total.large,
        total.postconf_checks,
    ));
    assert!(
        errors.is_empty(),
        "crash consistency violated (seed {seed}, rerun with {SEED_ENV}={seed}):\n{}",
        errors.join("\n")
    );
    assert!(
        total.kills >= kills,
        "only {} kills (wanted {kills})",
        total.kills
    );
    // The kills must have covered the transaction: before it, with files
    // staged, inside the commit before it was marked committed (a mixed
    // pair, or both renamed), after the mark, and after it. (How many
    // land between the two renames depends on how long the file system
    // takes to fsync a directory: not asserted on its own.)
    assert!(
        total.old_clean > 0
            && total.old_with_leftovers > 0
            && total.mixed + total.new_journal_staged > 0
            && total.new_journal_committed > 0
            && total.undone + total.completed >= kills / 20
            && total.new_clean > 0,
        "kills did not cover the transaction (seed {seed}): {total:?}"
    );
}
