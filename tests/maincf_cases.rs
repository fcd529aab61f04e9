//! The recorded Postfix semantics cases (tests/fixtures/postfix-semantics):
//! for each parse case, postform's effective view equals what the real
//! `postconf -n` printed, its warnings and errors match in kind and line,
//! and parse -> render is byte-identical. Edit cases check that postform
//! edits where postconf -e/-X do, keeps what postconf keeps, and fixes
//! postconf 3.7.11's missing-final-newline bug.

use postform::catalog::Catalog;
use postform::engine::effective_config::{EffectiveConfig, LoadError};
use postform::postfix::maincf::{MainCf, NewValue};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postfix-semantics")
}

fn case_dirs(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// (kind, line) of a postconf warning/fatal line, or of ours.
fn classify(msg: &str) -> (String, Option<usize>) {
    const KINDS: &[&str] = &[
        "logical line must not start with whitespace",
        "overriding earlier entry",
        "unused parameter",
        "undefined parameter",
        "read-only parameter assignment",
        "missing '=' after attribute name",
        "missing attribute name",
        "truncated macro reference",
        "macro processing error",
    ];
    let kind = KINDS
        .iter()
        .find(|k| msg.contains(*k))
        .map(|k| k.to_string())
        .unwrap_or_else(|| format!("other: {msg}"));
    // Postfix writes "FILE, line N: ..."; postform "FILE:N: ..." (and
    // "line N" inside its error messages).
    let line = msg
        .split("line ")
        .nth(1)
        .or_else(|| msg.split("main.cf:").nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    (kind, line)
}

#[test]
fn there_are_fifteen_parse_cases_and_five_edit_cases() {
    assert_eq!(case_dirs("cases").len(), 15);
    assert_eq!(case_dirs("edit-cases").len(), 5);
}

#[test]
fn parse_cases_match_postconf() {
    let master = std::fs::read(fixtures().join("master.cf")).unwrap();
    let catalog = Catalog::builtin();
    for dir in case_dirs("cases") {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(dir.join("main.cf")).unwrap();
        let rc: i32 = std::fs::read_to_string(dir.join("expected_rc"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let stderr = std::fs::read_to_string(dir.join("expected_stderr.txt")).unwrap();
        // Postfix prints some warnings twice (truncated macro); compare
        // distinct messages in order.
        let mut expected: Vec<(String, Option<usize>)> = Vec::new();
        for l in stderr.lines().filter(|l| !l.trim().is_empty()) {
            let c = classify(l);
            if !expected.contains(&c) {
                expected.push(c);
            }
        }
        // Round trip: parse -> render is byte-identical whenever it parses.
        if let Ok(doc) = MainCf::parse(&bytes) {
            assert_eq!(doc.to_bytes(), bytes, "{name}: round trip");
        }
        let result = EffectiveConfig::from_bytes(
            &dir,
            &dir.join("main.cf"),
            bytes.clone(),
            Some(master.clone()),
            catalog,
        );
        match (rc, result) {
            (0, Ok(cfg)) => {
                let want = std::fs::read(dir.join("expected.txt")).unwrap();
                let want: Vec<u8> = want
                    .split_inclusive(|&b| b == b'\n')
                    .filter(|l| !l.starts_with(b"config_directory = "))
                    .flatten()
                    .copied()
                    .collect();
                assert_eq!(
                    String::from_utf8_lossy(&cfg.postconf_n()),
                    String::from_utf8_lossy(&want),
                    "{name}: effective view"
                );
                assert_eq!(cfg.postconf_n(), want, "{name}: effective view bytes");
                let mut ours: Vec<(String, Option<usize>)> = Vec::new();
                for w in &cfg.warnings {
                    let c = classify(w);
                    if !ours.contains(&c) {
                        ours.push(c);
                    }
                }
                // Same kinds, one for one; the same line wherever Postfix
                // names one (postform also names lines Postfix omits).
                assert_eq!(
                    ours.len(),
                    expected.len(),
                    "{name}: warnings {:?}",
                    cfg.warnings
                );
                for (kind, line) in &expected {
                    assert!(
                        ours.iter()
                            .any(|(k, l)| k == kind && (line.is_none() || l == line)),
                        "{name}: missing warning {kind} at {line:?}; ours: {:?}",
                        cfg.warnings
                    );
                }
            }
            (1, Err(e)) => {
                let ours = classify(&e.to_string());
                // The fatal line is the last one postconf printed.
                let fatal = expected.last().cloned().unwrap();
                match &e {
                    LoadError::Parse { .. } => assert_eq!(ours, fatal, "{name}: {e}"),
                    LoadError::Macro { .. } => {
                        assert!(
                            expected.iter().any(|x| x.0 == "truncated macro reference"),
                            "{name}: {e}"
                        );
                        assert_eq!(fatal.0, "macro processing error", "{name}");
                        assert_eq!(ours.0, "truncated macro reference", "{name}: {e}");
                    }
                    other => panic!("{name}: unexpected error {other}"),
                }
            }
            (rc, r) => panic!("{name}: expected rc {rc}, got {r:?}"),
        }
    }
}

#[test]
fn missing_equals_error_names_line_and_column() {
    let dir = fixtures().join("cases/10-missing-equals-fatal");
    let e = MainCf::parse(&std::fs::read(dir.join("main.cf")).unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2, column 15: missing '=' after attribute name: \"mydestination localhost\"; expected `name = value` (a value continued on the next line must start with whitespace)"
    );
}

fn edit_case(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = fixtures().join("edit-cases").join(name);
    (
        std::fs::read(dir.join("before.main.cf")).unwrap(),
        std::fs::read(dir.join("after.main.cf")).unwrap(),
    )
}

fn scalar(s: &str) -> NewValue {
    NewValue::Scalar(s.to_string())
}

/// E1: postconf -e rewrites every occurrence; postform rewrites the last in
/// place and removes the dead earlier one. Everything else postconf keeps
/// (interleaved comments, the commented example), postform keeps.
#[test]
fn e1_replace_keeps_interleaved_comments_and_dedupes() {
    let (before, postconf_after) = edit_case("E1-replace-all-duplicates-drop-continuations");
    let mut doc = MainCf::parse(&before).unwrap();
    doc.set("myhostname", &scalar("new.example")).unwrap();
    doc.set(
        "mydestination",
        &NewValue::List(vec!["x".into(), "y".into()]),
    )
    .unwrap();
    doc.set("relayhost", &scalar("")).unwrap();
    doc.set("alias_maps", &scalar("hash:/etc/aliases")).unwrap();
    doc.set("zz_new", &scalar("1")).unwrap();
    let ours = String::from_utf8(doc.to_bytes()).unwrap();
    assert_eq!(
        ours,
        "# header\n#myhostname = commented.example\nmydestination = x, y\n# interleaved comment\n\nmyhostname = new.example\nrelayhost = \nalias_maps = hash:/etc/aliases\nzz_new = 1\n"
    );
    // Postfix's view of both results is the same for every name.
    let eff = |b: &[u8]| MainCf::parse(b).unwrap().effective().postconf_n(|_| true);
    assert_eq!(eff(&doc.to_bytes()), eff(&postconf_after));
}

/// E2: -X removes every occurrence with its continuation lines and keeps
/// interleaved comments and blank lines: postform's remove does exactly that.
#[test]
fn e2_remove_matches_postconf_x_byte_for_byte() {
    let (before, postconf_after) = edit_case("E2-exclude");
    let mut doc = MainCf::parse(&before).unwrap();
    assert_eq!(doc.remove("myhostname").unwrap(), 2);
    assert_eq!(doc.remove("mydestination").unwrap(), 1);
    assert_eq!(doc.remove("nonexistent").unwrap(), 0);
    assert_eq!(doc.to_bytes(), postconf_after);
}

/// E3: -# comments entries out; postform never comments out, but reading
/// the commented file gives no definitions, like a removal.
#[test]
fn e3_commented_out_file_defines_nothing() {
    let (_, postconf_after) = edit_case("E3-comment-out");
    let doc = MainCf::parse(&postconf_after).unwrap();
    assert!(doc.get("myhostname").is_none());
    assert!(doc.get("mydestination").is_none());
    assert_eq!(doc.get("relayhost").unwrap().value, b"[old]:25");
}

/// E4: postconf 3.7.11 glues an appended line onto a last line without
/// LF (changing its value). postform adds the newline first.
#[test]
fn e4_missing_final_newline_is_not_glued() {
    let (before, postconf_after) = edit_case("E4-no-final-newline-bug");
    assert_eq!(postconf_after, b"myhostname = a.examplerelayhost = x\n");
    let mut doc = MainCf::parse(&before).unwrap();
    doc.set("relayhost", &scalar("x")).unwrap();
    assert_eq!(doc.to_bytes(), b"myhostname = a.example\nrelayhost = x\n");
    assert_eq!(doc.get("myhostname").unwrap().value, b"a.example");
}

/// E5: postconf writes LF-only replacement lines into a CRLF file;
/// postform uses the file's line ending.
#[test]
fn e5_crlf_file_keeps_crlf() {
    let (before, postconf_after) = edit_case("E5-crlf");
    let mut doc = MainCf::parse(&before).unwrap();
    doc.set("myhostname", &scalar("b")).unwrap();
    doc.set("mydestination", &scalar("z")).unwrap();
    assert_eq!(
        doc.to_bytes(),
        b"myhostname = b\r\nrelayhost = r\r\nmydestination = z\r\n"
    );
    let eff = |b: &[u8]| MainCf::parse(b).unwrap().effective().postconf_n(|_| true);
    assert_eq!(eff(&doc.to_bytes()), eff(&postconf_after));
}

#[test]
fn new_parameter_goes_after_its_commented_example() {
    let src = b"# intro\n#delay_warning_time = 4h\n\nbiff = no\n";
    let mut doc = MainCf::parse(src).unwrap();
    doc.set("delay_warning_time", &scalar("2h")).unwrap();
    assert_eq!(
        doc.to_bytes(),
        b"# intro\n#delay_warning_time = 4h\ndelay_warning_time = 2h\n\nbiff = no\n"
    );
}

#[test]
fn commented_example_inside_a_continuation_is_not_used() {
    // Inserting after the example would capture "  b" as a continuation.
    let src = b"mydestination = a,\n#relayhost = x\n  b\nbiff = no\n";
    let mut doc = MainCf::parse(src).unwrap();
    doc.set("relayhost", &scalar("y")).unwrap();
    assert_eq!(
        doc.to_bytes(),
        b"mydestination = a,\n#relayhost = x\n  b\nbiff = no\nrelayhost = y\n"
    );
    assert_eq!(
        doc.get("mydestination").unwrap().normalized_value(),
        b"a, b"
    );
}

#[test]
fn long_lists_fold_onto_four_space_lines() {
    let mut doc = MainCf::parse(b"").unwrap();
    let items: Vec<String> = (0..8).map(|i| format!("check_item_number_{i}")).collect();
    doc.set(
        "smtpd_recipient_restrictions",
        &NewValue::List(items.clone()),
    )
    .unwrap();
    let text = String::from_utf8(doc.to_bytes()).unwrap();
    assert!(
        text.starts_with(
            "smtpd_recipient_restrictions = check_item_number_0,\n    check_item_number_1,\n"
        ),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() <= 80));
    assert_eq!(
        doc.get("smtpd_recipient_restrictions")
            .unwrap()
            .normalized_value(),
        items.join(", ").into_bytes()
    );
}
