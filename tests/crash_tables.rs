//! Crash safety of tables: SIGKILL `postform apply` while it changes a
//! large hash table, a cidr table and main.cf together (two states, A and
//! B, applied back and forth), `POSTFORM_CRASH_TABLE_KILLS` times (default
//! 24). Half the kills are uniform over the run, half land just after the
//! transaction's journal appears (between the renames).
//!
//! Right after each kill, before anything recovers:
//!
//! * the index exists and is whole: `postmap -s` reads it and it holds
//!   exactly A's entries or B's (never missing, empty or half-built);
//! * each file (main.cf, both sources) is A's or B's, byte for byte.
//!
//! After the next postform command (which finishes or undoes the
//! interrupted transaction) and once any orphaned postmap has exited:
//!
//! * every file is from the same state: main.cf, the sources and the
//!   index all A or all B; the index holds its source's entries and is not
//!   older than its source; the modes are kept;
//! * after the next apply, no temp file, saved copy or journal is left
//!   (a run killed before its journal existed leaves temp files, which
//!   apply sweeps under its lock).
//!
//! Seeded (`POSTFORM_CRASH_SEED`), like tests/crash_safety.rs.

mod support;

use postform::postfix::table::{Syntax, Table};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::stress::{self, Rng};

const KILLS_ENV: &str = "POSTFORM_CRASH_TABLE_KILLS";
const ENTRIES: usize = 3000;

struct State {
    spec: PathBuf,
    main: Vec<u8>,
    big: Vec<u8>,
    nets: Vec<u8>,
    entries: BTreeSet<(String, String)>,
}

fn spec_text(tag: &str, timeout: &str, skip: usize) -> String {
    let mut s = format!(
        "main:\n  smtp_helo_timeout: {timeout}\n  transport_maps: hash:$config_directory/big\n  smtpd_client_restrictions: check_client_access cidr:$config_directory/nets\nmaps:\n  nets:\n    type: cidr\n    entries:\n      10.0.0.0/8: {tag}\n      192.168.0.0/16: REJECT {tag}\n  big:\n    type: hash\n    mode: \"0640\"\n    entries:\n"
    );
    for i in (0..ENTRIES).filter(|i| i % 7 != skip) {
        s.push_str(&format!(
            "      host{i}.example: \"smtp:[{tag}-relay-{i}.example]\"\n"
        ));
    }
    s
}

fn postmap_s(dir: &Path) -> Option<BTreeSet<(String, String)>> {
    let out = support::run(
        Command::new(support::find_program("postmap").unwrap())
            .arg("-c")
            .arg(dir)
            .arg("-s")
            .arg(format!("hash:{}/big", dir.display())),
    );
    if !out.status.success() || !out.stderr.is_empty() {
        return None;
    }
    Some(
        support::stdout(&out)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn apply(dir: &Path, spec: &Path, validate: bool) -> Command {
    let mut c = stress::postform_cmd();
    c.arg("apply")
        .arg(spec)
        .arg("-c")
        .arg(dir)
        .args(["--auto-approve", "--service", "none"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !validate {
        c.arg("--no-validate");
    }
    c
}

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::describe(&out));
}

/// Postfix programs a killed postform left running (they are in their own
/// process group), still working in `dir`.
fn orphans(dir: &Path) -> usize {
    let needle = dir.display().to_string();
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .filter(|e| {
                    fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                        let c = String::from_utf8_lossy(&c);
                        (c.contains("postmap") || c.contains("postalias")) && c.contains(&needle)
                    })
                })
                .count()
        })
        .unwrap_or(0)
}

/// Which state `bytes` is: main.cf by its bytes; a table source by its
/// entries (minimal edits make the bytes depend on the way there).
fn which_state(
    states: &[State; 2],
    pick: impl Fn(&State) -> &[u8],
    bytes: &[u8],
    syntax: Option<Syntax>,
) -> Option<usize> {
    states.iter().position(|s| match syntax {
        None => pick(s) == bytes,
        Some(x) => Table::parse(x, pick(s)).same_entries(&Table::parse(x, bytes)),
    })
}

#[test]
fn sigkill_never_leaves_an_index_missing_half_built_or_out_of_step() {
    if support::postmap().is_none() || support::postconf().is_none() {
        return;
    }
    let seed = stress::seed_from_env("POSTFORM_CRASH_SEED", "crash_tables");
    let mut rng = Rng::new(seed);
    let kills = stress::env_usize(KILLS_ENV, 24);
    let master = fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap();
    let main = fs::read_to_string(support::repo_root().join("examples/postfix/main.cf"))
        .unwrap()
        .replace("hash:/etc/aliases", "hash:$config_directory/aliases");
    let d = support::scratch_config_dir(main.as_bytes(), Some(&master));
    let dir = d.path();
    let work = tempfile::tempdir().unwrap();
    // Reference results: apply each state once, unkilled, and record it.
    let mut states: Vec<State> = Vec::new();
    for (i, (tag, timeout, skip)) in [("a", "300s", 3), ("b", "301s", 5)].into_iter().enumerate() {
        let spec = work.path().join(format!("{tag}.yaml"));
        fs::write(&spec, spec_text(tag, timeout, skip)).unwrap();
        let start = Instant::now();
        run_ok(&mut apply(dir, &spec, i == 0));
        stress::note(&format!(
            "crash_tables: unkilled apply of {tag}: {:?}",
            start.elapsed()
        ));
        states.push(State {
            spec,
            main: fs::read(dir.join("main.cf")).unwrap(),
            big: fs::read(dir.join("big")).unwrap(),
            nets: fs::read(dir.join("nets")).unwrap(),
            entries: postmap_s(dir).expect("the index reads"),
        });
    }
    let states: [State; 2] = states.try_into().map_err(|_| ()).unwrap();
    assert_ne!(states[0].entries, states[1].entries);
    // Typical run time of a transition (B -> A -> B).
    let start = Instant::now();
    run_ok(&mut apply(dir, &states[0].spec, false));
    let typical = start.elapsed();
    let mut current = 0usize;
    let mut landed_after_journal = 0;
    // How often a kill left the old state (undone) or the new (finished).
    let (mut old, mut new) = (0usize, 0usize);
    for k in 0..kills {
        let target = 1 - current;
        let validate = rng.chance(0.2);
        let mut child = apply(dir, &states[target].spec, validate).spawn().unwrap();
        let journal = dir.join(".postform-journal");
        if k % 2 == 0 {
            std::thread::sleep(rng.duration(typical.mul_f64(1.2)));
        } else {
            let limit = Instant::now() + typical * 4;
            while !journal.exists() && Instant::now() < limit {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            if journal.exists() {
                landed_after_journal += 1;
            }
            std::thread::sleep(rng.duration(Duration::from_millis(30)));
        }
        let _ = child.kill();
        let _ = child.wait();
        let ctx = format!("kill {k} (seed {seed}, {} -> {})", current, target);
        // Right after the kill: whole files, a whole index.
        let held = postmap_s(dir).unwrap_or_else(|| panic!("{ctx}: the index cannot be read"));
        assert!(
            held == states[0].entries || held == states[1].entries,
            "{ctx}: the index holds neither state ({} entries)",
            held.len()
        );
        for (name, pick, syntax) in [
            (
                "main.cf",
                (|s: &State| s.main.as_slice()) as fn(&State) -> &[u8],
                None,
            ),
            ("big", |s: &State| s.big.as_slice(), Some(Syntax::Postmap)),
            ("nets", |s: &State| s.nets.as_slice(), Some(Syntax::Cidr)),
        ] {
            let bytes = fs::read(dir.join(name)).unwrap();
            assert!(
                which_state(&states, pick, &bytes, syntax).is_some(),
                "{ctx}: {name} is neither state"
            );
        }
        // Recovery: the next command finishes or undoes the transaction.
        let limit = Instant::now() + Duration::from_secs(30);
        while orphans(dir) > 0 && Instant::now() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
        run_ok(
            stress::postform_cmd()
                .arg("plan")
                .arg(&states[target].spec)
                .arg("-c")
                .arg(dir)
                .arg("--no-validate"),
        );
        let main_state = which_state(
            &states,
            |s| &s.main,
            &fs::read(dir.join("main.cf")).unwrap(),
            None,
        );
        let big_state = which_state(
            &states,
            |s| &s.big,
            &fs::read(dir.join("big")).unwrap(),
            Some(Syntax::Postmap),
        );
        let nets_state = which_state(
            &states,
            |s| &s.nets,
            &fs::read(dir.join("nets")).unwrap(),
            Some(Syntax::Cidr),
        );
        let index_state = states
            .iter()
            .position(|s| Some(&s.entries) == postmap_s(dir).as_ref());
        assert!(
            main_state.is_some() && [big_state, nets_state, index_state].iter().all(|s| *s == main_state),
            "{ctx}: after recovery the files are from different states: main.cf {main_state:?}, big {big_state:?}, nets {nets_state:?}, index {index_state:?}"
        );
        let src = fs::metadata(dir.join("big")).unwrap();
        let idx = fs::metadata(dir.join("big.db")).unwrap();
        assert!(
            idx.modified().unwrap() >= src.modified().unwrap(),
            "{ctx}: the index is older than its source"
        );
        assert_eq!(
            (src.mode() & 0o777, idx.mode() & 0o777),
            (0o640, 0o640),
            "{ctx}: modes"
        );
        // The next apply (of the state the files are in: no change) sweeps
        // what a run killed before its journal existed left.
        let now = main_state.unwrap_or(current);
        run_ok(&mut apply(dir, &states[now].spec, false));
        let left = stress::temp_files(dir);
        assert!(left.is_empty(), "{ctx}: left behind: {left:?}");
        assert_eq!(postmap_s(dir).as_ref(), Some(&states[now].entries), "{ctx}");
        if main_state == Some(target) {
            new += 1;
        } else {
            old += 1;
        }
        current = main_state.unwrap_or(current);
    }
    stress::note(&format!(
        "crash_tables: {kills} kills (seed {seed}), {landed_after_journal} after the journal appeared; the old state {old} times, the new {new} times; typical run {typical:?}"
    ));
    assert!(
        old > 0 && new > 0 || kills < 10,
        "the kills never landed on both sides of the commit"
    );
}
