//! Concurrency: many `postform apply` processes on one config directory.
//!
//! Each apply either writes on top of the state it read or refuses as
//! stale (exit 1, "changed since the plan was made"); the final main.cf is
//! what applying the successful ones one after the other gives; nothing
//! interleaves and no update is lost.
//!
//! How the serial order is recovered: every spec adds its own marker
//! parameter (`pf_writer_<round>_<n>`), which postform appends at the end
//! of the file, so the order of the markers in the final file is the order
//! of the writes. Besides the marker, the specs fight over shared
//! parameters (myhostname, relayhost, mynetworks), so the order matters.
//! The check replays the successful ones in that order on a scratch copy:
//! a spec through the binary, a saved plan by checking that its base hash
//! equals the replayed state (the hash chain) and taking its bytes. The
//! replay must end byte-identical to the live file, every success must
//! have its marker in it, and no refused apply may.
//!
//! Seeded start jitter (`POSTFORM_CONCURRENCY_SEED`). All runs use
//! --no-validate (the marker parameters are not Postfix parameters).

mod support;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::stress::{self, Rng, STALE_MESSAGE};

const SEED_ENV: &str = "POSTFORM_CONCURRENCY_SEED";
const DEADLINE: Duration = Duration::from_secs(120);

fn base_main_cf() -> Vec<u8> {
    let mut b = fs::read(support::repo_root().join("examples/postfix/main.cf")).unwrap();
    // Big enough (about 150 KB) that planning takes a while, so reads and
    // writes of different processes overlap.
    for i in 0..1500 {
        b.extend_from_slice(
            format!("# padding block {i}\nuser_param_{i} = value {i}, alpha, beta\n").as_bytes(),
        );
    }
    b
}

fn config_dir(main_cf: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("postform-conc-")
        .tempdir()
        .unwrap();
    fs::write(
        dir.path().join("master.cf"),
        fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap(),
    )
    .unwrap();
    let target = dir.path().join("main.cf");
    fs::write(&target, main_cf).unwrap();
    if support::is_root() {
        let gid = stress::group_gid("postfix").unwrap_or(0);
        stress::set_mode_owner(&target, 0o640, 0, gid);
    }
    dir
}

fn marker(round: usize, n: usize) -> String {
    format!("pf_writer_{round}_{n:02}")
}

/// A spec that adds its marker and fights over shared parameters.
fn spec_text(round: usize, n: usize) -> String {
    let mut s = format!(
        "main:\n  {}: \"written by process {n}\"\n  myhostname: host-{n}.example\n",
        marker(round, n)
    );
    match n % 3 {
        0 => s.push_str("  relayhost: null\n"),
        1 => s.push_str(&format!("  relayhost: \"[relay{n}.example]:587\"\n")),
        _ => {}
    }
    if n.is_multiple_of(4) {
        s.push_str(&format!("  mynetworks: [127.0.0.0/8, 10.{n}.0.0/16]\n"));
    }
    if n.is_multiple_of(5) {
        s.push_str(&format!("  user_param_{}: null\n", n * 7));
    }
    s
}

fn apply_spec_cmd(spec: &Path, dir: &Path) -> Command {
    let mut c = stress::postform_cmd();
    c.arg("apply").arg(spec).arg("-c").arg(dir).args([
        "--auto-approve",
        "--service",
        "none",
        "--no-validate",
    ]);
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Spec,
    SavedPlan,
}

struct Proc {
    n: usize,
    kind: Kind,
    spec: PathBuf,
    plan_file: Option<PathBuf>,
    start: Duration,
    gap: Duration,
}

struct Outcome {
    n: usize,
    kind: Kind,
    applied: bool,
    stale: bool,
    /// For a saved plan: the sha256 of the main.cf it was planned against
    /// and of the main.cf it plans.
    plan: Option<(String, String)>,
}

/// (base, planned) sha256 of main.cf in a plan file (format 2: bases
/// `[path, {"sha256": ...}]`, planned `{file, path, sha256}`).
fn read_plan_file(path: &Path) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let base = v["bases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b[0].as_str().unwrap().ends_with("/main.cf"))
        .map(|b| b[1]["sha256"].as_str().unwrap().to_string())
        .unwrap();
    let planned = v["planned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "main.cf")
        .map(|f| f["sha256"].as_str().unwrap().to_string())
        .unwrap();
    (base, planned)
}

fn run_proc(p: &Proc, dir: &Path) -> Result<Outcome, String> {
    std::thread::sleep(p.start);
    let mut plan = None;
    let apply = match p.kind {
        Kind::Spec => stress::run_with_deadline(&mut apply_spec_cmd(&p.spec, dir), DEADLINE),
        Kind::SavedPlan => {
            let pf = p.plan_file.as_ref().unwrap();
            let out = stress::run_with_deadline(
                stress::postform_cmd()
                    .arg("plan")
                    .arg(&p.spec)
                    .arg("-c")
                    .arg(dir)
                    .arg("-o")
                    .arg(pf)
                    .arg("--no-validate"),
                DEADLINE,
            );
            if out.code() != Some(0) {
                return Err(format!(
                    "process {}: `plan -o {}` failed (it must never fail because of concurrent applies)\n{}",
                    p.n,
                    pf.display(),
                    out.describe()
                ));
            }
            plan = Some(read_plan_file(pf));
            std::thread::sleep(p.gap);
            stress::run_with_deadline(
                stress::postform_cmd().arg("apply").arg(pf).args([
                    "--auto-approve",
                    "--service",
                    "none",
                    "--no-validate",
                ]),
                DEADLINE,
            )
        }
    };
    stress::assert_no_panic(&apply, &format!("process {}", p.n));
    let applied = apply.code() == Some(0) && apply.stdout().contains("Wrote");
    let stale = apply.code() == Some(1) && apply.stderr().contains(STALE_MESSAGE);
    if !applied && !stale {
        return Err(format!(
            "process {} ({:?}): neither applied nor refused as stale\n{}",
            p.n,
            p.kind,
            apply.describe()
        ));
    }
    Ok(Outcome {
        n: p.n,
        kind: p.kind,
        applied,
        stale,
        plan,
    })
}

/// Positions of this round's markers in `bytes`, in file order.
fn marker_order(bytes: &[u8], round: usize) -> Vec<usize> {
    let prefix = format!("pf_writer_{round}_");
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest[..2].parse::<usize>().unwrap())
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    applied: [usize; 2],
    stale: [usize; 2],
    longest_chain: usize,
}

/// One round: `procs` processes (a `saved_plans` share of them through
/// `plan -o` + `apply PLANFILE`) on one config dir; then the checks.
fn round(round: usize, procs: usize, saved_plans: usize, rng: &mut Rng, tally: &mut Tally) {
    let base = base_main_cf();
    let dir = config_dir(&base);
    let specs = tempfile::tempdir().unwrap();
    let meta_before = stress::file_state(&dir.path().join("main.cf"));
    let plan: Vec<Proc> = (0..procs)
        .map(|n| {
            let spec = specs.path().join(format!("spec-{n:02}.yaml"));
            fs::write(&spec, spec_text(round, n)).unwrap();
            let kind = if n < saved_plans {
                Kind::SavedPlan
            } else {
                Kind::Spec
            };
            // Half the plan files go into the config directory itself,
            // where concurrent applies sweep temp files.
            let plan_file = (kind == Kind::SavedPlan).then(|| {
                if n % 2 == 0 {
                    dir.path().join(format!("plan-{n:02}.json"))
                } else {
                    specs.path().join(format!("plan-{n:02}.json"))
                }
            });
            Proc {
                n,
                kind,
                spec,
                plan_file,
                // Spread over about ten plan times: bursts that collide
                // (stale) and stragglers that read a newer state (chains).
                // Saved plans spread wider, so some plan and apply in a lull.
                start: rng.duration(Duration::from_millis(if kind == Kind::SavedPlan {
                    3000
                } else {
                    1500
                })),
                gap: rng.duration(Duration::from_millis(150)),
            }
        })
        .collect();
    let started = Instant::now();
    let results: Vec<Result<Outcome, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = plan
            .iter()
            .map(|p| {
                let d = dir.path();
                s.spawn(move || run_proc(p, d))
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let took = started.elapsed();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "round {round}: {}",
        errors
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let outcomes: Vec<Outcome> = results.into_iter().map(Result::unwrap).collect();
    let live = dir.path().join("main.cf");
    let final_bytes = fs::read(&live).unwrap();
    let order = marker_order(&final_bytes, round);

    // No lost update, and no write by a refused apply: the markers in the
    // file are exactly those of the successful applies, once each.
    let mut applied: Vec<usize> = outcomes.iter().filter(|o| o.applied).map(|o| o.n).collect();
    applied.sort();
    let mut seen = order.clone();
    seen.sort();
    assert_eq!(
        seen, applied,
        "round {round}: markers in the final main.cf (in write order {order:?}) differ from the successful applies {applied:?}"
    );
    assert!(!applied.is_empty(), "round {round}: nobody applied");

    // Replay in write order on a scratch copy.
    let scratch = config_dir(&base);
    let scratch_main = scratch.path().join("main.cf");
    for (step, &n) in order.iter().enumerate() {
        let o = outcomes.iter().find(|o| o.n == n).unwrap();
        let current = fs::read(&scratch_main).unwrap();
        match o.kind {
            Kind::Spec => {
                let r = stress::run_with_deadline(
                    &mut apply_spec_cmd(&plan[n].spec, scratch.path()),
                    DEADLINE,
                );
                assert!(
                    r.code() == Some(0) && r.stdout().contains("Wrote"),
                    "round {round} replay step {step} (process {n}): {}",
                    r.describe()
                );
            }
            Kind::SavedPlan => {
                let (base_sha, planned_sha) = o.plan.as_ref().unwrap();
                assert_eq!(
                    base_sha,
                    &stress::sha256(&current),
                    "round {round}: saved plan of process {n} applied as write #{step} but was planned against \
                     a different state than the one before it (hash chain broken): a stale plan was written"
                );
                // What the plan wrote is its spec applied to that state.
                let r = stress::run_with_deadline(
                    &mut apply_spec_cmd(&plan[n].spec, scratch.path()),
                    DEADLINE,
                );
                assert!(
                    r.code() == Some(0),
                    "round {round} replay step {step}: {}",
                    r.describe()
                );
                assert_eq!(
                    &stress::sha256(&fs::read(&scratch_main).unwrap()),
                    planned_sha,
                    "round {round}: saved plan of process {n} wrote something else than it planned"
                );
            }
        }
    }
    let replayed = fs::read(&scratch_main).unwrap();
    if replayed != final_bytes {
        let keep = std::env::temp_dir().join(format!("postform-conc-round{round}"));
        let _ = fs::create_dir_all(&keep);
        let _ = fs::write(keep.join("final.cf"), &final_bytes);
        let _ = fs::write(keep.join("replayed.cf"), &replayed);
        panic!(
            "round {round}: the final main.cf is not the serial result of the successful applies in write order {order:?} \
             (kept in {})",
            keep.display()
        );
    }
    // Stale refusals said which hashes differed and wrote nothing; the
    // directory holds no temp file; mode and owner survived.
    assert!(
        stress::temp_files(dir.path()).is_empty(),
        "round {round}: temp files left: {:?}",
        stress::temp_files(dir.path())
    );
    let meta = stress::file_state(&live);
    assert_eq!(
        (meta.mode, meta.uid, meta.gid),
        (meta_before.mode, meta_before.uid, meta_before.gid),
        "round {round}: mode/owner changed"
    );
    for o in &outcomes {
        let k = usize::from(o.kind == Kind::SavedPlan);
        tally.applied[k] += usize::from(o.applied);
        tally.stale[k] += usize::from(o.stale);
    }
    tally.longest_chain = tally.longest_chain.max(order.len());
    stress::note(&format!(
        "  round {round}: {procs} processes ({saved_plans} via saved plans) in {took:.1?}: {} applied in order {order:?}, {} refused as stale",
        applied.len(),
        outcomes.iter().filter(|o| o.stale).count()
    ));
}

#[test]
fn concurrent_applies_serialize_without_lost_updates() {
    let seed = stress::seed_from_env(SEED_ENV, "concurrency");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let started = Instant::now();
    for r in 0..3 {
        round(r, 20, 0, &mut rng, &mut tally);
    }
    for r in 3..5 {
        round(r, 24, 12, &mut rng, &mut tally);
    }
    stress::note(&format!(
        "concurrency: seed {seed}: {:.1?}; spec applies: {} applied, {} stale; saved plans: {} applied, {} stale; longest chain {}",
        started.elapsed(),
        tally.applied[0],
        tally.stale[0],
        tally.applied[1],
        tally.stale[1],
        tally.longest_chain
    ));
    // Both outcomes must have happened, or the race was not a race.
    assert!(
        tally.stale[0] > 0 && tally.longest_chain > 1,
        "seed {seed}: no contention observed: {tally:?}"
    );
}

/// Wait until `pid` is blocked on a flock (it shows in /proc/locks as a
/// waiter: `N: -> FLOCK ... <pid> ...`).
fn wait_blocked_on_flock(pid: u32, limit: Duration) -> bool {
    support::wait_until(limit, || {
        fs::read_to_string("/proc/locks")
            .map(|s| {
                s.lines().any(|l| {
                    l.contains("->")
                        && l.contains("FLOCK")
                        && l.split_whitespace().any(|w| w == pid.to_string())
                })
            })
            .unwrap_or(false)
    })
}

/// Deterministic: apply waits for the directory lock, then re-reads and
/// refuses when main.cf changed while it waited; it writes nothing before
/// it holds the lock.
#[test]
fn apply_waits_for_the_lock_and_rechecks_under_it() {
    let base = base_main_cf();
    let dir = config_dir(&base);
    let live = dir.path().join("main.cf");
    let spec = dir.path().join("spec.yaml");
    fs::write(&spec, "myhostname: locked.example\n").unwrap();

    // 1. Someone else holds the lock and changes main.cf meanwhile.
    let lock = File::open(dir.path()).unwrap();
    lock.lock().unwrap();
    let child = apply_spec_cmd(&spec, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_blocked_on_flock(child.id(), Duration::from_secs(60)),
        "apply never blocked on the directory lock"
    );
    assert_eq!(
        fs::read(&live).unwrap(),
        base,
        "apply wrote without the lock"
    );
    assert!(
        stress::temp_files(dir.path()).is_empty(),
        "apply created a temp file without the lock"
    );
    let mut changed = base.clone();
    changed.extend_from_slice(b"# changed by another writer while postform waited\n");
    let tmp = dir.path().join("other-writer.tmp");
    fs::write(&tmp, &changed).unwrap();
    fs::rename(&tmp, &live).unwrap();
    let other = stress::file_state(&live);
    drop(lock);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stale apply must exit 1: {err}");
    assert!(err.contains(STALE_MESSAGE), "stale message expected: {err}");
    assert!(err.contains("main.cf"), "the message names the file: {err}");
    stress::assert_untouched(&live, &other, "stale apply");

    // 2. The lock holder changes nothing: the waiting apply proceeds.
    let lock = File::open(dir.path()).unwrap();
    lock.lock().unwrap();
    let child = apply_spec_cmd(&spec, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_blocked_on_flock(child.id(), Duration::from_secs(60)));
    stress::assert_untouched(&live, &other, "waiting apply");
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = fs::read(&live).unwrap();
    assert!(String::from_utf8_lossy(&now).contains("\nmyhostname = locked.example\n"));
    assert!(now.ends_with(b"# changed by another writer while postform waited\n"));
}

/// Deterministic: a saved plan applies once, and only on the state it was
/// planned against.
#[test]
fn stale_saved_plan_is_refused() {
    let base = base_main_cf();
    let dir = config_dir(&base);
    let live = dir.path().join("main.cf");
    let work = tempfile::tempdir().unwrap();
    let plan = |name: &str, text: &str| -> PathBuf {
        let spec = work.path().join(format!("{name}.yaml"));
        fs::write(&spec, text).unwrap();
        let pf = work.path().join(format!("{name}.json"));
        let out = stress::run_with_deadline(
            stress::postform_cmd()
                .arg("plan")
                .arg(&spec)
                .arg("-c")
                .arg(dir.path())
                .arg("-o")
                .arg(&pf)
                .arg("--no-validate"),
            DEADLINE,
        );
        assert_eq!(out.code(), Some(0), "{}", out.describe());
        pf
    };
    let apply = |pf: &Path| {
        stress::run_with_deadline(
            stress::postform_cmd().arg("apply").arg(pf).args([
                "--auto-approve",
                "--service",
                "none",
                "--no-validate",
            ]),
            DEADLINE,
        )
    };
    let p1 = plan("one", "myhostname: one.example\n");
    let p2 = plan("two", "myhostname: two.example\n");
    let (_, after1) = read_plan_file(&p1);
    let r = apply(&p1);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(stress::sha256(&fs::read(&live).unwrap()), after1);
    let s1 = stress::file_state(&live);
    // p2 was planned against the original: refused, nothing written.
    let r = apply(&p2);
    stress::assert_clean_error(&r, &[STALE_MESSAGE, "main.cf"], "stale saved plan");
    stress::assert_untouched(&live, &s1, "stale saved plan");
    // Applying p1 again is refused too (its base is gone), and says why:
    // the files already hold what it writes (L13).
    let r = apply(&p1);
    stress::assert_clean_error(
        &r,
        &["one.json: already applied: the files hold what this plan writes"],
        "re-applied saved plan",
    );
    stress::assert_untouched(&live, &s1, "re-applied saved plan");
    // A fresh plan applies.
    let p3 = plan("three", "myhostname: two.example\n");
    let r = apply(&p3);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert!(
        String::from_utf8_lossy(&fs::read(&live).unwrap()).contains("\nmyhostname = two.example\n")
    );
    assert!(stress::temp_files(dir.path()).is_empty());
}
