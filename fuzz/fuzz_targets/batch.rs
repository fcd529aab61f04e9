//! A batch of edits (`MainCf::apply_edits`, what `plan` uses) keeps
//! everything it was not asked to change.
//!
//! The input is a list of operations (derived with `arbitrary` from the
//! first bytes) and a main.cf (the rest). When the document parses:
//!
//! * a refused batch (bad name, injection, bad list item) leaves the bytes
//!   untouched; an internal re-parse failure is a bug;
//! * otherwise the result re-parses to the same entries and warnings;
//! * each edited name (its last edit) has exactly the intended value,
//!   defined once, or no definition; every other name keeps exactly its
//!   effective raw value;
//! * the configuration Postfix sees equals applying the edits one by one;
//! * a second identical batch changes no value (and no byte unless the
//!   batch flipped the file's majority line ending).

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use postform::postfix::maincf::{normalize, Edit, EditError, MainCf, NewValue};
use postform::postfix::space::trim;
use std::collections::BTreeMap;

#[path = "common.rs"]
mod common;

use common::{effective, pick, Op, Val};

fn postconf_view(m: &BTreeMap<Vec<u8>, Vec<u8>>) -> BTreeMap<Vec<u8>, Vec<u8>> {
    m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(ops) = Vec::<Op>::arbitrary(&mut u) else {
        return;
    };
    if ops.len() > 16 {
        return;
    }
    let text = u.take_rest();
    let Ok(original) = MainCf::parse(text) else {
        return;
    };
    let resolved: Vec<(String, Option<NewValue>)> = ops
        .iter()
        .map(|op| match op {
            Op::Set(s, Val::Scalar(v)) => (pick(s, &original, text), Some(NewValue::Scalar(v.clone()))),
            Op::Set(s, Val::List(v)) => (pick(s, &original, text), Some(NewValue::List(v.clone()))),
            Op::Remove(s) => (pick(s, &original, text), None),
        })
        .collect();
    let edits: Vec<Edit<'_>> = resolved
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_ref()))
        .collect();
    let mut doc = original.clone();
    if let Err(e) = doc.apply_edits(&edits) {
        assert!(
            !matches!(e.error, EditError::Reparse(_)),
            "batch broke the document: {e}"
        );
        assert_eq!(doc.to_bytes(), text, "a refused batch changed the document");
        return;
    }
    let out = doc.to_bytes();
    let reparsed = MainCf::parse(&out).expect("edited document re-parses");
    assert_eq!(reparsed.entries(), doc.entries());
    assert_eq!(reparsed.warnings(), doc.warnings());

    let mut last: BTreeMap<&str, Option<&NewValue>> = BTreeMap::new();
    for (n, v) in &resolved {
        last.insert(n.as_str(), v.as_ref());
    }
    let got = effective(&doc);
    let mut want = effective(&original);
    for (name, value) in &last {
        match value {
            Some(v) => {
                let have = got.get(name.as_bytes()).expect("set name is defined");
                match v {
                    NewValue::Scalar(s) => assert_eq!(have.as_slice(), trim(s.as_bytes())),
                    NewValue::List(items) => {
                        assert_eq!(normalize(have), normalize(items.join(", ").as_bytes()))
                    }
                }
                assert_eq!(doc.count(name), 1, "duplicates left behind");
                want.insert(name.as_bytes().to_vec(), have.clone());
            }
            None => {
                want.remove(name.as_bytes());
            }
        }
    }
    assert_eq!(got, want, "another entry's effective value changed");

    let mut one_by_one = original.clone();
    for (n, v) in &resolved {
        match v {
            Some(v) => one_by_one.set(n, v).expect("each edit of a valid batch is valid"),
            None => {
                one_by_one.remove(n).expect("each edit of a valid batch is valid");
            }
        }
    }
    assert_eq!(
        postconf_view(&effective(&one_by_one)),
        postconf_view(&got),
        "batch and one-by-one differ"
    );

    let mut twice = doc.clone();
    twice.apply_edits(&edits).expect("second identical batch");
    assert_eq!(effective(&twice), effective(&doc), "a second batch changed values");
    if doc.uses_crlf() == original.uses_crlf() {
        assert_eq!(twice.to_bytes(), out, "the same batch twice is not idempotent");
    }
});
