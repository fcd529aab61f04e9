//! set/remove on main.cf keep everything they were not asked to change.
//!
//! The input is an operation (derived with `arbitrary` from the first
//! bytes) and a main.cf (the rest). When the document parses and the edit
//! is accepted:
//!
//! * every other name keeps exactly its effective raw value, and no name
//!   appears or disappears except the edited one;
//! * the edited name has exactly the intended value (`set`) or no
//!   definition at all (`remove`);
//! * the result re-parses to the same entries;
//! * the edit is idempotent (a second identical edit changes no value, and
//!   no byte unless the edit itself flipped the file's majority line ending);
//! * every physical line outside the edited entries survives, in order.
//!
//! A refused edit (bad name, injection, bad list item) leaves the bytes
//! untouched; an internal re-parse failure is a bug.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use postform::postfix::maincf::{normalize, EditError, MainCf, NewValue};
use postform::postfix::space::trim;

#[path = "common.rs"]
mod common;

use common::{effective, pick, Op, Val};

/// Physical lines (without LF) outside the spans of `name`'s entries.
fn untouched_lines(data: &[u8], doc: &MainCf, name: &[u8]) -> Vec<Vec<u8>> {
    let mut skip = vec![false; data.split(|&b| b == b'\n').count()];
    for e in doc.entries().iter().filter(|e| e.name == name) {
        let (first, last) = e.span();
        for s in &mut skip[first - 1..last] {
            *s = true;
        }
    }
    let mut lines: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .zip(skip)
        .filter(|(_, s)| !s)
        .map(|(l, _)| l.to_vec())
        .collect();
    // A file ending in LF splits into a last empty piece: not a line.
    if data.ends_with(b"\n") || data.is_empty() {
        lines.pop();
    }
    lines
}

/// `want` is a subsequence of `have`, a line also matching with a CR added
/// (the former last line of a CRLF file gains its CR when a line is
/// appended after it).
fn is_subsequence(want: &[Vec<u8>], have: &[&[u8]]) -> bool {
    let mut it = have.iter();
    want.iter().all(|w| {
        it.by_ref().any(|h| {
            *h == w.as_slice() || (h.len() == w.len() + 1 && h.starts_with(w) && h.ends_with(b"\r"))
        })
    })
}

fn apply(doc: &mut MainCf, op: &Op, name: &str) -> Result<usize, EditError> {
    match op {
        Op::Set(_, Val::Scalar(s)) => doc.set(name, &NewValue::Scalar(s.clone())).map(|()| 1),
        Op::Set(_, Val::List(items)) => doc.set(name, &NewValue::List(items.clone())).map(|()| 1),
        Op::Remove(_) => doc.remove(name),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(op) = Op::arbitrary(&mut u) else {
        return;
    };
    let text = u.take_rest();
    let Ok(original) = MainCf::parse(text) else {
        return;
    };
    let sel = match &op {
        Op::Set(s, _) | Op::Remove(s) => s,
    };
    let name = pick(sel, &original, text);
    let mut doc = original.clone();
    let before_count = doc.count(&name);
    match apply(&mut doc, &op, &name) {
        Err(EditError::Reparse(e)) => panic!("edit broke the document: {e}"),
        Err(_) => {
            assert_eq!(doc.to_bytes(), text, "a refused edit changed the document");
            return;
        }
        Ok(removed) => {
            if matches!(op, Op::Remove(_)) {
                assert_eq!(removed, before_count);
            }
        }
    }
    let out = doc.to_bytes();
    let reparsed = MainCf::parse(&out).expect("edited document re-parses");
    assert_eq!(reparsed.entries(), doc.entries());

    // Every other name keeps its effective value.
    let mut want = effective(&original);
    let mut got = effective(&doc);
    let edited = got.remove(name.as_bytes());
    want.remove(name.as_bytes());
    assert_eq!(got, want, "another entry's effective value changed");

    // The edited name has exactly the intended value.
    match &op {
        Op::Set(_, Val::Scalar(s)) => {
            assert_eq!(edited.as_deref(), Some(trim(s.as_bytes())));
            assert_eq!(doc.count(&name), 1, "duplicates left behind");
        }
        Op::Set(_, Val::List(items)) => {
            let value = edited.expect("set name is defined");
            assert_eq!(normalize(&value), normalize(items.join(", ").as_bytes()));
            assert_eq!(doc.count(&name), 1, "duplicates left behind");
        }
        Op::Remove(_) => assert_eq!(edited, None),
    }

    // Lines outside the edited entries survive, in order.
    let kept = untouched_lines(text, &original, name.as_bytes());
    let have: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert!(
        is_subsequence(&kept, &have),
        "a line outside the edited entries was lost or reordered"
    );

    // Idempotent.
    let mut twice = doc.clone();
    let second = apply(&mut twice, &op, &name).expect("second identical edit");
    if matches!(op, Op::Remove(_)) {
        assert_eq!(second, 0);
    }
    assert_eq!(
        effective(&twice),
        effective(&doc),
        "a second identical edit changed values"
    );
    // New lines take the majority line ending of the file; when the edit
    // itself tips a mixed LF/CRLF file over, the second edit writes the
    // other ending (same values, different bytes): not a change of state.
    if doc.uses_crlf() == original.uses_crlf() {
        assert_eq!(
            twice.to_bytes(),
            out,
            "the same edit twice is not idempotent"
        );
    }
});
