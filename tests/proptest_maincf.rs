//! Property tests for the lossless main.cf document (the CI fallback of the
//! cargo-fuzz targets in `fuzz/`, which need nightly).
//!
//! * round trip: whenever bytes parse, rendering gives them back exactly,
//!   and re-parsing gives the same entries;
//! * edit: `set`/`remove` keep every other name's effective value, give the
//!   edited name exactly the intended value (or none), re-parse, keep every
//!   line outside the edited entries, and are idempotent;
//! * batch: `apply_edits` (what `plan` uses) is all or nothing, gives each
//!   edited name its last edit's value and the same configuration as the
//!   edits one by one, and is idempotent;
//! * the plan's unified diff equals a diff of the whole files.
//!
//! 512 cases per property by default; `PROPTEST_CASES=100000 cargo test
//! --release --test proptest_maincf` for a long run. Named regression tests
//! at the end come from fuzzing (see fuzz/README.md).

use postform::postfix::maincf::{normalize, Edit, EditError, MainCf, NewValue};
use postform::postfix::space::trim;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(512);
    ProptestConfig {
        cases,
        // Shrunk failures are reported in the panic message; do not
        // write proptest-regressions files into the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// --- generators -------------------------------------------------------------

const NAMES: &[&str] = &[
    "myhostname",
    "mynetworks",
    "inet_protocols",
    "relayhost",
    "smtpd_recipient_restrictions",
    "a",
    "b",
    "x_y",
    "caf\u{e9}",
];

/// Bytes Postfix treats specially, plus ordinary text.
fn text_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => prop::sample::select(b"abcxyz019_-.,:$[]{}/".to_vec()),
        2 => Just(b' '),
        1 => Just(b'\t'),
        1 => Just(b'='),
        1 => Just(b'#'),
        1 => prop::sample::select(vec![0x0b, 0x0c, b'\r', 0, 0xff, 0xc3, 0xa9]),
    ]
}

fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(text_byte(), 0..max)
}

fn ws() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(vec![b' ', b'\t', 0x0b, 0x0c]), 1..3)
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(|n| n.as_bytes().to_vec()),
        1 => prop::collection::vec(prop::sample::select(b"abz_09#\xff".to_vec()), 1..6)
            .prop_filter("a name cannot start with #", |n| n[0] != b'#'),
    ]
}

/// One physical line (without its terminator), main.cf-shaped.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // name = value
        6 => (name(), prop::option::of(ws()), prop::option::of(ws()), text(24)).prop_map(
            |(n, w1, w2, v)| [n, w1.unwrap_or_default(), b"=".to_vec(), w2.unwrap_or_default(), v].concat()
        ),
        // continuation
        2 => (ws(), prop::sample::select(b"abc$,{".to_vec()), text(16))
            .prop_map(|(w, first, t)| [w, vec![first], t].concat()),
        // comment, maybe a commented example
        2 => (prop::option::of(ws()), prop::bool::ANY, name(), text(16)).prop_map(|(w, example, n, t)| {
            let body = if example { [n, b" = ".to_vec(), t].concat() } else { t };
            [w.unwrap_or_default(), b"#".to_vec(), body].concat()
        }),
        // blank or whitespace-only
        1 => prop::option::of(ws()).prop_map(Option::unwrap_or_default),
        // anything
        1 => text(20),
    ]
}

/// A main.cf: lines joined with LF or CRLF, maybe without a final newline.
fn document() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((line(), prop::bool::weighted(0.2)), 0..24),
        prop::bool::ANY,
    )
        .prop_map(|(lines, final_newline)| {
            let mut out = Vec::new();
            let n = lines.len();
            for (i, (l, crlf)) in lines.into_iter().enumerate() {
                out.extend_from_slice(&l);
                if crlf {
                    out.push(b'\r');
                }
                if i + 1 < n || final_newline {
                    out.push(b'\n');
                }
            }
            out
        })
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..256)
}

#[derive(Debug, Clone)]
enum Op {
    Set(String, NewValue),
    Remove(String),
}

fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z0-9$.,:/\\[\\]{}_ -]{0,30}",
        1 => "[ \t]{0,2}[a-z#]{0,8}[ \t]{0,2}",
        1 => any::<String>(),
    ]
}

fn op() -> impl Strategy<Value = (Option<usize>, Op)> {
    let target = prop_oneof![Just(None), (0usize..64).prop_map(Some),];
    let new_name = prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(str::to_string),
        1 => "[a-z_#= ]{0,6}",
    ];
    let value = prop_oneof![
        value_text().prop_map(NewValue::Scalar),
        prop::collection::vec(
            prop_oneof![
                6 => "[a-z0-9.:/\\[\\]_-]{1,24}",
                1 => any::<String>(),
            ],
            0..8
        )
        .prop_map(NewValue::List),
    ];
    (
        target,
        new_name.clone(),
        prop_oneof![value.prop_map(Some), Just(None)],
    )
        .prop_map(|(target, name, value)| match value {
            Some(v) => (target, Op::Set(name, v)),
            None => (target, Op::Remove(name)),
        })
}

// --- properties -------------------------------------------------------------

fn check_round_trip(data: &[u8]) -> Result<(), TestCaseError> {
    let Ok(doc) = MainCf::parse(data) else {
        return Ok(());
    };
    prop_assert_eq!(doc.to_bytes(), data);
    let again = MainCf::parse(&doc.to_bytes()).expect("rendered bytes parse");
    prop_assert_eq!(again.entries(), doc.entries());
    prop_assert_eq!(again.warnings(), doc.warnings());
    for e in doc.entries() {
        prop_assert!(!e.name.is_empty());
        prop_assert_eq!(trim(&e.value), e.value.as_slice());
        prop_assert!(!e.value.contains(&0));
    }
    Ok(())
}

/// name -> effective raw value.
fn effective(doc: &MainCf) -> BTreeMap<Vec<u8>, Vec<u8>> {
    doc.effective()
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect()
}

fn apply(doc: &mut MainCf, op: &Op) -> Result<usize, EditError> {
    match op {
        Op::Set(name, value) => doc.set(name, value).map(|()| 1),
        Op::Remove(name) => doc.remove(name),
    }
}

/// Physical lines outside the spans of `name`'s entries.
fn untouched_lines(data: &[u8], doc: &MainCf, name: &[u8]) -> Vec<Vec<u8>> {
    let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.ends_with(b"\n") || data.is_empty() {
        pieces.pop();
    }
    let mut skip = vec![false; pieces.len()];
    for e in doc.entries().iter().filter(|e| e.name == name) {
        let (first, last) = e.span();
        for s in &mut skip[first - 1..last] {
            *s = true;
        }
    }
    pieces
        .into_iter()
        .zip(skip)
        .filter(|(_, s)| !s)
        .map(|(l, _)| l.to_vec())
        .collect()
}

fn check_edit(data: &[u8], target: Option<usize>, op: Op) -> Result<(), TestCaseError> {
    let Ok(original) = MainCf::parse(data) else {
        return Ok(());
    };
    // Often edit a name the document has.
    let op = match (target, op, original.entries()) {
        (Some(i), Op::Set(_, v), entries) if !entries.is_empty() => {
            Op::Set(entries[i % entries.len()].name_str().into_owned(), v)
        }
        (Some(i), Op::Remove(_), entries) if !entries.is_empty() => {
            Op::Remove(entries[i % entries.len()].name_str().into_owned())
        }
        (_, op, _) => op,
    };
    let name = match &op {
        Op::Set(n, _) | Op::Remove(n) => n.clone(),
    };
    let mut doc = original.clone();
    let count = doc.count(&name);
    match apply(&mut doc, &op) {
        Err(EditError::Reparse(e)) => {
            return Err(TestCaseError::fail(format!("edit broke the document: {e}")))
        }
        Err(_) => {
            prop_assert_eq!(doc.to_bytes(), data, "a refused edit changed bytes");
            return Ok(());
        }
        Ok(removed) => {
            if matches!(op, Op::Remove(_)) {
                prop_assert_eq!(removed, count);
            }
        }
    }
    let out = doc.to_bytes();
    let reparsed = MainCf::parse(&out).expect("edited document parses");
    prop_assert_eq!(reparsed.entries(), doc.entries());
    prop_assert_eq!(reparsed.warnings(), doc.warnings());

    let mut want = effective(&original);
    let mut got = effective(&doc);
    let edited = got.remove(name.as_bytes());
    want.remove(name.as_bytes());
    prop_assert_eq!(got, want, "another name's effective value changed");
    match &op {
        Op::Set(_, NewValue::Scalar(s)) => {
            prop_assert_eq!(edited.as_deref(), Some(trim(s.as_bytes())));
            prop_assert_eq!(doc.count(&name), 1);
        }
        Op::Set(_, NewValue::List(items)) => {
            let value = edited.expect("defined after set");
            prop_assert_eq!(normalize(&value), normalize(items.join(", ").as_bytes()));
            prop_assert_eq!(doc.count(&name), 1);
        }
        Op::Remove(_) => prop_assert_eq!(edited, None),
    }

    let kept = untouched_lines(data, &original, name.as_bytes());
    let have: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    let mut it = have.iter();
    let in_order = kept.iter().all(|k| {
        it.by_ref().any(|h| {
            *h == k.as_slice() || (h.len() == k.len() + 1 && h.starts_with(k) && h.ends_with(b"\r"))
        })
    });
    prop_assert!(
        in_order,
        "a line outside the edited entries was lost or moved"
    );

    let mut twice = doc.clone();
    let second = apply(&mut twice, &op).expect("second identical edit");
    if matches!(op, Op::Remove(_)) {
        prop_assert_eq!(second, 0);
    }
    prop_assert_eq!(effective(&twice), effective(&doc));
    if doc.uses_crlf() == original.uses_crlf() {
        prop_assert_eq!(twice.to_bytes(), out, "the same edit twice changed bytes");
    }
    Ok(())
}

/// A batch of edits (`apply_edits`, what `plan` uses): all or nothing;
/// the result re-parses to the same entries and warnings; every edited
/// name (its last edit) has exactly the intended value, or none; every
/// other name keeps its value; the same effective configuration as
/// applying the edits one by one; a second application changes nothing.
fn check_batch(data: &[u8], ops: Vec<(Option<usize>, Op)>) -> Result<(), TestCaseError> {
    let Ok(original) = MainCf::parse(data) else {
        return Ok(());
    };
    let entries = original.entries();
    let ops: Vec<Op> = ops
        .into_iter()
        .map(|(target, op)| match (target, op) {
            (Some(i), Op::Set(_, v)) if !entries.is_empty() => {
                Op::Set(entries[i % entries.len()].name_str().into_owned(), v)
            }
            (Some(i), Op::Remove(_)) if !entries.is_empty() => {
                Op::Remove(entries[i % entries.len()].name_str().into_owned())
            }
            (_, op) => op,
        })
        .collect();
    let edits: Vec<Edit<'_>> = ops
        .iter()
        .map(|op| match op {
            Op::Set(n, v) => (n.as_bytes(), Some(v)),
            Op::Remove(n) => (n.as_bytes(), None),
        })
        .collect();
    let mut doc = original.clone();
    if let Err(e) = doc.apply_edits(&edits) {
        prop_assert!(
            !matches!(e.error, EditError::Reparse(_)),
            "batch broke the document: {}",
            e
        );
        prop_assert_eq!(doc.to_bytes(), data, "a refused batch changed bytes");
        return Ok(());
    }
    let out = doc.to_bytes();
    let reparsed = MainCf::parse(&out).expect("edited document parses");
    prop_assert_eq!(reparsed.entries(), doc.entries());
    prop_assert_eq!(reparsed.warnings(), doc.warnings());

    let mut want = effective(&original);
    let mut last: BTreeMap<&str, &Op> = BTreeMap::new();
    for op in &ops {
        match op {
            Op::Set(n, _) | Op::Remove(n) => last.insert(n.as_str(), op),
        };
    }
    let got = effective(&doc);
    for (name, op) in &last {
        match op {
            Op::Set(_, v) => {
                let value = got.get(name.as_bytes()).expect("defined after set");
                let expected = match v {
                    NewValue::Scalar(s) => trim(s.as_bytes()).to_vec(),
                    NewValue::List(items) => normalize(items.join(", ").as_bytes()),
                };
                let value = match v {
                    NewValue::Scalar(_) => value.clone(),
                    NewValue::List(_) => normalize(value),
                };
                prop_assert_eq!(value, expected, "{} has the wrong value", name);
                prop_assert_eq!(doc.count(name), 1);
                want.insert(name.as_bytes().to_vec(), got[name.as_bytes()].clone());
            }
            Op::Remove(_) => {
                want.remove(name.as_bytes());
            }
        }
    }
    prop_assert_eq!(&got, &want, "another name's effective value changed");

    let mut one_by_one = original.clone();
    for op in &ops {
        apply(&mut one_by_one, op).expect("each edit of a valid batch is valid");
    }
    // Postfix's view (postconf -n): one by one, a mixed-ending file's
    // majority may flip between edits and put CRs inside a folded value,
    // which is whitespace to Postfix.
    let postconf_view = |m: &BTreeMap<Vec<u8>, Vec<u8>>| -> BTreeMap<Vec<u8>, Vec<u8>> {
        m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()
    };
    prop_assert_eq!(
        postconf_view(&effective(&one_by_one)),
        postconf_view(&got),
        "batch and one-by-one differ"
    );

    let mut twice = doc.clone();
    twice.apply_edits(&edits).expect("second identical batch");
    prop_assert_eq!(effective(&twice), effective(&doc));
    if doc.uses_crlf() == original.uses_crlf() {
        prop_assert_eq!(twice.to_bytes(), out, "the same batch twice changed bytes");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn batches_of_edits(data in document(), ops in prop::collection::vec(op(), 0..12)) {
        check_batch(&data, ops)?;
    }

    #[test]
    fn batches_on_any_bytes(data in any_bytes(), ops in prop::collection::vec(op(), 0..6)) {
        check_batch(&data, ops)?;
    }

    #[test]
    fn round_trip_documents(data in document()) {
        check_round_trip(&data)?;
    }

    #[test]
    fn round_trip_any_bytes(data in any_bytes()) {
        check_round_trip(&data)?;
    }

    #[test]
    fn documents_without_fatal_lines_parse(lines in prop::collection::vec(
        (name(), text(12)).prop_map(|(n, v)| [n, b" = ".to_vec(), v].concat()), 0..12)) {
        let data = lines.join(&b'\n');
        prop_assert!(MainCf::parse(&data).is_ok());
    }

    #[test]
    fn edits_keep_everything_else(data in document(), (target, op) in op()) {
        check_edit(&data, target, op)?;
    }

    #[test]
    fn edits_on_any_bytes(data in any_bytes(), (target, op) in op()) {
        check_edit(&data, target, op)?;
    }

    #[test]
    fn plan_diff_equals_whole_file_diff(
        base in prop::collection::vec("([a-c]{1,2} = [a-c]|# [a-c]|)", 0..40),
        edits in prop::collection::vec((0usize..40, prop::option::of("[a-d]{1,2} = [a-d]")), 0..4),
        final_newline in prop::bool::ANY,
        pad in (0usize..1200, 0usize..1200),
    ) {
        let join = |lines: &[String]| {
            let mut s = lines.join("\n");
            if final_newline && !lines.is_empty() {
                s.push('\n');
            }
            s
        };
        // Long common heads and tails (past the 4 KiB block compares).
        let padded = |lines: Vec<String>| -> Vec<String> {
            (0..pad.0)
                .map(|i| format!("head_{i} = x"))
                .chain(lines)
                .chain((0..pad.1).map(|i| format!("tail_{i} = y")))
                .collect()
        };
        let base = padded(base);
        let edits: Vec<(usize, Option<String>)> = edits
            .into_iter()
            .map(|(at, line)| (at + pad.0, line))
            .collect();
        let mut after_lines = base.clone();
        for (at, line) in edits {
            match line {
                Some(l) => {
                    let at = at.min(after_lines.len());
                    after_lines.insert(at, l);
                }
                None if !after_lines.is_empty() => {
                    let at = at % after_lines.len();
                    after_lines.remove(at);
                }
                None => {}
            }
        }
        let (before, after) = (join(&base), join(&after_lines));
        let ours = plan_diff(before.as_bytes(), after.as_bytes());
        let whole = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Myers)
            .diff_lines(before.as_str(), after.as_str())
            .unified_diff()
            .context_radius(3)
            .header("main.cf (live)", "main.cf (planned)")
            .missing_newline_hint(true)
            .to_string();
        prop_assert_eq!(ours, whole);
    }
}

/// `FilePlan::unified_diff` of a plan whose before/after are the given
/// bytes (no line map: the searched diff).
fn plan_diff(before: &[u8], after: &[u8]) -> String {
    postform::engine::plan::FilePlan {
        file: postform::engine::plan::ManagedFile::MainCf,
        path: std::path::PathBuf::from("main.cf"),
        before: before.to_vec(),
        after: after.to_vec(),
        changes: Vec::new(),
        line_origin: None,
        table: None,
    }
    .unified_diff()
}

// --- regressions found by fuzzing (fuzz/README.md) ------------------------------

/// fuzz edit, crash-68c441082da01ce88c680751ea7318b00b4d9046: setting the
/// last entry of a file without a final newline gained a newline when the
/// entry spanned several lines (a folded list), so a second identical set
/// changed bytes. The missing final newline is now kept either way.
#[test]
fn regression_set_keeps_missing_final_newline_of_multiline_entry() {
    let mut doc = MainCf::parse(b"a = 1\nb = one,\n    two").expect("parse");
    doc.set("b", &NewValue::Scalar("x".into())).expect("set");
    assert_eq!(doc.to_bytes(), b"a = 1\nb = x");

    let items: Vec<String> = (0..12).map(|i| format!("item-number-{i}")).collect();
    let mut doc = MainCf::parse(b"a = 1\nb = 2").expect("parse");
    doc.set("b", &NewValue::List(items.clone())).expect("set");
    let once = doc.to_bytes();
    assert!(once.contains(&b'\n') && !once.ends_with(b"\n"), "{once:?}");
    doc.set("b", &NewValue::List(items)).expect("set again");
    assert_eq!(doc.to_bytes(), once, "a second identical set changed bytes");

    // A comment inside the entry is kept and ends the file, with its LF.
    let mut doc = MainCf::parse(b"b = 1\n# note\n    2").expect("parse");
    doc.set("b", &NewValue::Scalar("x".into())).expect("set");
    assert_eq!(doc.to_bytes(), b"b = x\n# note\n");
}

/// fuzz edit, crash-dfe5408522dfd5a81060d33f3e64620c732f0a3b: in a file with
/// as many CRLF as LF lines, an edit that tips the majority makes the next
/// identical edit write the other line ending. Values stay the same (the
/// plan reports no change the second time); only bytes differ, which is
/// what the properties above allow.
#[test]
fn regression_mixed_line_endings_second_set_keeps_values() {
    let data = b"a = 1\r\nb = 2,\n  3\nc = 4\r\n";
    let original = MainCf::parse(data).expect("parse");
    assert!(!original.uses_crlf());
    let mut doc = original.clone();
    doc.set("b", &NewValue::Scalar("x".into())).expect("set");
    assert!(doc.uses_crlf(), "the edit tipped the majority");
    let mut twice = doc.clone();
    twice
        .set("b", &NewValue::Scalar("x".into()))
        .expect("set again");
    assert_eq!(effective(&twice), effective(&doc));
    assert_eq!(twice.to_bytes(), b"a = 1\r\nb = x\r\nc = 4\r\n");
}

/// The plan diff decodes only the changed middle of the files; invalid
/// UTF-8 (and multi-byte characters) around the change must come out as in
/// a diff of the whole files.
#[test]
fn plan_diff_of_non_utf8_file_matches_whole_file_diff() {
    let mut before = Vec::new();
    for i in 0..400 {
        before.extend_from_slice(format!("p{i} = caf\u{e9} ").as_bytes());
        if i % 7 == 0 {
            before.extend_from_slice(b"\xff\xc3");
        }
        before.push(b'\n');
    }
    let mut after = before.clone();
    let at = after.len() / 2;
    let at = at + after[at..].iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
    after.splice(at..at, b"new = \xe9t\xc3\n".iter().copied());
    let whole = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .diff_lines(
            String::from_utf8_lossy(&before).as_ref(),
            String::from_utf8_lossy(&after).as_ref(),
        )
        .unified_diff()
        .context_radius(3)
        .header("main.cf (live)", "main.cf (planned)")
        .missing_newline_hint(true)
        .to_string();
    assert_eq!(plan_diff(&before, &after), whole);
}
