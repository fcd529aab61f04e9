//! Unit tests of the table document: parse, compare, edit. The oracle
//! tests with the real postmap/postalias are in tests/tables.rs.

use super::*;

fn given(syntax: Syntax, src: &str) -> Table {
    Table::parse(syntax, src.as_bytes())
}

fn edited(t: &Table, desired: &[(&str, &str)]) -> String {
    String::from_utf8(t.edit(desired).bytes).unwrap()
}

#[test]
fn an_unchanged_table_renders_byte_identical() {
    for src in [
        "# header\nkey value\n\n  # indented\nk2 a\n  continued\nbad\"line x\nnoeol v",
        "a b\r\nc d\r\n",
        "",
        "\n\n",
    ] {
        let t = given(Syntax::Postmap, src);
        let desired: Vec<(String, String)> = t
            .effective_entries()
            .iter()
            .map(|e| (e.key_str(), String::from_utf8_lossy(&e.value).into_owned()))
            .collect();
        let d: Vec<(&str, &str)> = desired
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let e = t.edit(&d);
        assert!(!e.has_changes(), "{src:?}: {:?}", e.changes);
        assert_eq!(e.bytes, src.as_bytes(), "{src:?}");
        assert_eq!(e.line_origin.len(), t.lines.len());
    }
}

#[test]
fn changing_one_entry_keeps_every_other_line() {
    let t = given(
        Syntax::Postmap,
        "# sasl\n[a.example]:587\tuser:old\r\n# keep me\nb.example  x\n",
    );
    let e = t.edit(&[("[a.example]:587", "user:new"), ("b.example", "x")]);
    assert_eq!(
        String::from_utf8(e.bytes).unwrap(),
        "# sasl\n[a.example]:587\tuser:new\r\n# keep me\nb.example  x\n"
    );
    assert_eq!(e.line_origin, vec![0, NEW_LINE, 2, 3]);
    assert_eq!(e.changes.len(), 1);
    assert_eq!(e.changes[0].kind, EntryChangeKind::Change);
    assert_eq!(e.changes[0].line, Some(2));
}

#[test]
fn keys_compare_folded_and_values_exactly() {
    let t = given(Syntax::Postmap, "User@Example.COM  OK\n");
    let e = t.edit(&[("user@example.com", "OK")]);
    assert!(!e.has_changes());
    let e = t.edit(&[("user@example.com", "ok")]);
    assert_eq!(e.changes.len(), 1);
}

#[test]
fn continued_entry_becomes_one_line() {
    let t = given(Syntax::Postmap, "k first\n  second\n# c\n\tthird\nz 1\n");
    assert_eq!(t.effective_entries()[0].value, b"first  second\tthird");
    assert_eq!(edited(&t, &[("k", "new"), ("z", "1")]), "k new\n# c\nz 1\n");
}

#[test]
fn remove_and_add() {
    let t = given(Syntax::Postmap, "a 1\n# about b\nb 2\nc 3");
    assert_eq!(
        edited(&t, &[("a", "1"), ("c", "3"), ("d", "4")]),
        "a 1\n# about b\nc 3\nd 4\n"
    );
}

#[test]
fn crlf_files_get_crlf_lines() {
    let t = given(Syntax::Postmap, "a 1\r\nb 2");
    assert_eq!(
        edited(&t, &[("a", "1"), ("b", "2"), ("c", "3")]),
        "a 1\r\nb 2\r\nc 3\r\n"
    );
}

#[test]
fn dead_duplicates_stay_until_the_table_changes() {
    let t = given(Syntax::Postmap, "a 1\nA 2\nb 3\n");
    assert_eq!(t.effective_entries().len(), 2);
    assert!(t
        .warnings()
        .iter()
        .any(|w| w.line == 2 && w.message.contains("duplicate")));
    let e = t.edit(&[("a", "1"), ("b", "3")]);
    assert!(!e.has_changes());
    let e = t.edit(&[("a", "1"), ("b", "4")]);
    assert_eq!(e.removed_duplicates, 1);
    assert_eq!(String::from_utf8(e.bytes).unwrap(), "a 1\nb 4\n");
}

#[test]
fn lines_postfix_skips_are_kept() {
    let t = given(Syntax::Postmap, "  orphan\nonlykey\na 1\n");
    assert_eq!(t.warnings().len(), 2);
    assert_eq!(edited(&t, &[("a", "2")]), "  orphan\nonlykey\na 2\n");
}

#[test]
fn new_file() {
    assert_eq!(
        Table::render(Syntax::Postmap, &[("a", "1"), ("b", "x y")]),
        b"a 1\nb x y\n"
    );
    assert_eq!(
        Table::render(
            Syntax::Aliases,
            &[("postmaster", "root"), ("with space", "a, b")]
        ),
        b"postmaster: root\n\"with space\": a, b\n"
    );
}

#[test]
fn aliases_compare_stored_values() {
    let t = given(
        Syntax::Aliases,
        "# aliases\nPostmaster:root\nteam: alice,\n  bob\n",
    );
    let e = t.edit(&[("postmaster", "root"), ("team", "alice, bob")]);
    assert!(!e.has_changes(), "{:?}", e.changes);
    assert_eq!(
        edited(&t, &[("postmaster", "root"), ("team", "alice, carol")]),
        "# aliases\nPostmaster:root\nteam: alice, carol\n"
    );
}

#[test]
fn ordered_tables_keep_rules_in_place() {
    let src = "# checks\n/^a/ REJECT a\n/^b/ REJECT b\n# c rule\n/^c/ REJECT c\n";
    let t = given(Syntax::Regexp, src);
    // Insert between a and b, change c.
    let e = t.edit(&[
        ("/^a/", "REJECT a"),
        ("/^x/", "REJECT x"),
        ("/^b/", "REJECT b"),
        ("/^c/", "REJECT cc"),
    ]);
    assert_eq!(
        String::from_utf8(e.bytes).unwrap(),
        "# checks\n/^a/ REJECT a\n/^x/ REJECT x\n/^b/ REJECT b\n# c rule\n/^c/ REJECT cc\n"
    );
    let kinds: Vec<_> = e.changes.iter().map(|c| (c.key.as_str(), c.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("/^x/", EntryChangeKind::Add),
            ("/^c/", EntryChangeKind::Change)
        ]
    );
    // Reorder: a moves after c.
    let e = t.edit(&[
        ("/^b/", "REJECT b"),
        ("/^c/", "REJECT c"),
        ("/^a/", "REJECT a"),
    ]);
    assert_eq!(
        String::from_utf8(e.bytes.clone()).unwrap(),
        "# checks\n/^b/ REJECT b\n# c rule\n/^c/ REJECT c\n/^a/ REJECT a\n"
    );
    assert_eq!(e.changes.len(), 1);
    assert_eq!(e.changes[0].kind, EntryChangeKind::Move);
    // Same rules, other order: not the same entries.
    let moved = Table::parse(Syntax::Regexp, &e.bytes);
    assert!(!moved.same_entries(&t));
}

#[test]
fn conditions_are_rules_a_spec_does_not_have() {
    let t = given(Syntax::Cidr, "if 10.0.0.0/8\n10.1.0.0/16 OK\nendif\n");
    assert!(t.has_conditions());
    let e = t.edit(&[("10.1.0.0/16", "OK")]);
    assert_eq!(String::from_utf8(e.bytes).unwrap(), "10.1.0.0/16 OK\n");
    let keys: Vec<_> = e.changes.iter().map(|c| (c.key.as_str(), c.kind)).collect();
    assert_eq!(
        keys,
        [
            ("if 10.0.0.0/8", EntryChangeKind::Remove),
            ("endif", EntryChangeKind::Remove)
        ]
    );
}

#[test]
fn same_entries_ignores_layout() {
    let a = given(Syntax::Postmap, "# x\na 1\nb 2\n");
    let b = given(Syntax::Postmap, "B   2\n\na\t1\n");
    assert!(a.same_entries(&b));
    let c = given(Syntax::Postmap, "a 1\nb 3\n");
    assert!(!a.same_entries(&c));
}

#[test]
fn map_types() {
    assert_eq!(MapType::Hash.index_suffix(), Some(".db"));
    assert_eq!(MapType::Lmdb.index_suffix(), Some(".lmdb"));
    assert_eq!(MapType::Cdb.index_suffix(), Some(".cdb"));
    assert!(MapType::Texthash.is_read_into_memory());
    assert_eq!(MapType::Pcre.debian_package(), Some("postfix-pcre"));
    assert_eq!(MapType::Texthash.syntax(), Syntax::Postmap);
}
