//! parse -> render -> parse round trip of main.cf.
//!
//! * Whenever `MainCf::parse` accepts the bytes, rendering gives back
//!   exactly the input bytes.
//! * Parsing the rendered bytes gives the same entries and warnings.
//! * Every entry upholds the parser's invariants: a non-empty name without
//!   whitespace, `=` or NUL; a value trimmed at both ends and without NUL;
//!   a 1-based start line inside the file.
//! * The effective view keeps the last definition of each name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postform::postfix::maincf::MainCf;
use postform::postfix::space::is_space;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = MainCf::parse(data) else {
        return;
    };
    let rendered = doc.to_bytes();
    assert_eq!(rendered, data, "render is not byte-identical to the input");
    let again = MainCf::parse(&rendered).expect("rendered bytes no longer parse");
    assert_eq!(
        again.entries(),
        doc.entries(),
        "entries differ after a round trip"
    );
    assert_eq!(again.warnings(), doc.warnings());

    let lines = data.split(|&b| b == b'\n').count();
    for e in doc.entries() {
        assert!(!e.name.is_empty());
        assert!(e.name.iter().all(|&b| !is_space(b) && b != b'=' && b != 0));
        assert!(!e.value.contains(&0));
        assert!(e.value.first().is_none_or(|&b| !is_space(b)));
        assert!(e.value.last().is_none_or(|&b| !is_space(b)));
        assert!(e.line >= 1 && e.line <= lines);
        let (first, last) = e.span();
        assert!(first == e.line && first <= last && last <= lines);
        let _ = e.normalized_value();
    }
    let effective = doc.effective();
    for e in effective.iter() {
        let last = doc
            .entries()
            .iter()
            .rev()
            .find(|x| x.name == e.name)
            .expect("effective entry exists");
        assert_eq!(last, e, "effective entry is not the last definition");
    }
    let _ = effective.postconf_n(|_| true);
});
