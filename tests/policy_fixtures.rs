//! Every real-world fixture through the safety policies, with the findings
//! recorded in tests/fixtures/policy-findings.txt: a change in any verdict
//! shows up as a diff to review. Each main.cf is judged with Debian's
//! master.cf, each master.cf with Debian's main.cf.
//! `POSTFORM_BLESS=1` rewrites the snapshot.

mod support;

use postform::catalog::Catalog;
use postform::engine::live::LiveConfig;
use postform::engine::policy::{self, view::View};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn dirs(kind: &str) -> Vec<PathBuf> {
    let root = support::repo_root().join("tests/fixtures").join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn findings(main: Vec<u8>, master: Vec<u8>) -> Vec<String> {
    let live = LiveConfig::from_bytes(
        Path::new("cfg"),
        PathBuf::from("cfg/main.cf"),
        Some(main),
        Some(master),
    );
    let Ok((_, doc)) = live.main_cf() else {
        return vec!["main.cf: Postfix refuses it".into()];
    };
    let catalog = Catalog::builtin();
    let view = View::new(doc, live.master.doc(), catalog);
    let mut out: Vec<String> = policy::startup_failures(None, &view)
        .into_iter()
        .chain(policy::evaluate(None, &view, &Default::default()))
        .map(|f| format!("{} {}: {}", f.id, f.subject, f.message))
        .collect();
    if live.master.doc().is_none() {
        out.push("master.cf: Postfix refuses it".into());
    }
    out
}

#[test]
fn policy_verdicts_on_real_world_fixtures_are_recorded() {
    let root = support::repo_root();
    let debian_main = std::fs::read(root.join("examples/postfix/main.cf")).unwrap();
    let debian_master = std::fs::read(root.join("examples/postfix/master.cf")).unwrap();
    let mut text = String::from(
        "# Safety-policy findings on the real-world fixtures (tests/policy_fixtures.rs).\n\
         # main.cf files with Debian's master.cf, master.cf files with Debian's main.cf.\n",
    );
    for d in dirs("real-world/maincf") {
        let main = std::fs::read(d.join("main.cf")).unwrap();
        let found = findings(main, debian_master.clone());
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let _ = writeln!(
            text,
            "maincf/{name}: {}",
            if found.is_empty() {
                "none".into()
            } else {
                found.len().to_string()
            }
        );
        for f in found {
            let _ = writeln!(text, "  {f}");
        }
    }
    for d in dirs("mastercf") {
        let Ok(master) = std::fs::read(d.join("master.cf")) else {
            continue;
        };
        let found = findings(debian_main.clone(), master);
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let _ = writeln!(
            text,
            "mastercf/{name}: {}",
            if found.is_empty() {
                "none".into()
            } else {
                found.len().to_string()
            }
        );
        for f in found {
            let _ = writeln!(text, "  {f}");
        }
    }
    let snapshot = root.join("tests/fixtures/policy-findings.txt");
    if std::env::var_os("POSTFORM_BLESS").is_some() {
        std::fs::write(&snapshot, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if want != text {
        let diff = similar::TextDiff::from_lines(&want, &text)
            .unified_diff()
            .header("recorded", "now")
            .to_string();
        panic!("policy verdicts changed; review, then rerun with POSTFORM_BLESS=1:\n{diff}");
    }
}
