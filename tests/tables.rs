//! Lookup tables against the real `postmap` and `postalias` (the oracle):
//!
//! * postform's parser (src/postfix/table) reads every fixture source the
//!   way postmap/postalias store it (`-s`);
//! * alias values compare in the form postalias stores;
//! * every key and value the format limits accept is read back by postmap
//!   exactly, and a sample the limits refuse really would not be;
//! * indexes built under a temp name and renamed answer like indexes
//!   built in place, with the mode, owner and group asked for;
//! * pattern tables are checked with `postmap -q`, warnings by line.

mod support;

use postform::io::index::{self, Builder, IndexState, Perms};
use postform::postfix::table::{check_entry, fold_key, MapType, Syntax, Table};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> Vec<u8> {
    fs::read(
        support::repo_root()
            .join("tests/fixtures/tables")
            .join(name),
    )
    .unwrap()
}

fn postmap_s(builder: &str, conf: &Path, spec: &str) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    let bin = support::find_program(builder).unwrap();
    let out = support::run(Command::new(bin).arg("-c").arg(conf).arg("-s").arg(spec));
    assert!(out.status.success(), "{}", support::describe(&out));
    let sep: &[u8] = if builder == "postalias" {
        b":\t"
    } else {
        b"\t"
    };
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let at = l.windows(sep.len()).position(|w| w == sep).unwrap();
            (l[..at].to_vec(), l[at + sep.len()..].to_vec())
        })
        .filter(|(k, _)| builder != "postalias" || !index::ALIAS_EXTRA_KEYS.contains(&k.as_slice()))
        .collect()
}

fn build(builder: &str, conf: &Path, spec: &str) -> String {
    let bin = support::find_program(builder).unwrap();
    let out = support::run(Command::new(bin).arg("-c").arg(conf).arg(spec));
    assert!(out.status.success(), "{spec}: {}", support::describe(&out));
    support::stderr(&out)
}

fn ours(t: &Table) -> BTreeSet<(Vec<u8>, Vec<u8>)> {
    t.effective_entries()
        .into_iter()
        .map(|e| (e.ident.clone(), e.stored.clone()))
        .collect()
}

#[test]
fn parser_reads_every_postmap_fixture_like_postmap() {
    if support::postmap().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    for name in [
        "fmt1.src",
        "cont2.src",
        "crlf.src",
        "crlf-cont.src",
        "nul.src",
        "noeol.src",
        "leadws.src",
        "quote.src",
        "utf8.src",
        "nonutf8.src",
        "longkey.src",
    ] {
        let bytes = fixture(name);
        let src = conf.path().join(name);
        fs::write(&src, &bytes).unwrap();
        let spec = format!("hash:{}", src.display());
        let warned = build("postmap", conf.path(), &spec);
        let table = Table::parse(Syntax::Postmap, &bytes);
        assert_eq!(
            ours(&table),
            postmap_s("postmap", conf.path(), &spec),
            "{name}"
        );
        // Every line postmap warns about, postform warns about too.
        let lines: BTreeSet<usize> = table.warnings().iter().map(|w| w.line).collect();
        for w in warned.lines().filter(|l| l.contains(", line ")) {
            let n: usize = w
                .split(", line ")
                .nth(1)
                .and_then(|r| r.split(':').next())
                .and_then(|d| d.parse().ok())
                .unwrap();
            if w.contains("is this an alias file") {
                continue; // stored anyway; postform refuses such keys in specs
            }
            assert!(
                lines.contains(&n),
                "{name}: postmap said {w:?}, postform {lines:?}"
            );
        }
    }
}

#[test]
fn parser_reads_every_alias_fixture_like_postalias() {
    if support::postalias().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    for name in ["aliases.src", "aliases-norm.src"] {
        let bytes = fixture(name);
        let src = conf.path().join(name);
        fs::write(&src, &bytes).unwrap();
        let spec = format!("hash:{}", src.display());
        build("postalias", conf.path(), &spec);
        let table = Table::parse(Syntax::Aliases, &bytes);
        assert_eq!(
            ours(&table),
            postmap_s("postalias", conf.path(), &spec),
            "{name}"
        );
    }
}

/// Values that exercise postalias's re-serialization.
const ALIAS_VALUES: &[&str] = &[
    "root",
    "a,b,,c",
    "a ,  b",
    "a (comment), b",
    "a (nested (comment)), b",
    "\\root, root",
    "\"|cmd with  two  spaces\"",
    "\"|cmd\\\"quoted\\\"\"",
    "|/bin/true",
    ":include:/etc/postfix/inc.list",
    "/var/mail/archive",
    "x # trailing hash",
    "\"\"",
    "Name <a@example.com>",
    "<a@example.com>",
    "\"a b\"@example.com",
    "a@[192.0.2.1]",
    "a@[ipv6:2001:db8::1]",
    "user.name@example.com",
    "a\\,b",
    "a\\ b",
    "first last",
    "a;b",
    "a%b@c",
    "!bang",
    "ä@example.com",
    "a,",
    ",a",
];

#[test]
fn alias_values_compare_as_postalias_stores_them() {
    if support::postalias().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let src = conf.path().join("aliases");
    let mut text = String::new();
    for (i, v) in ALIAS_VALUES.iter().enumerate() {
        text.push_str(&format!("k{i}: {v}\n"));
    }
    fs::write(&src, &text).unwrap();
    let spec = format!("hash:{}", src.display());
    build("postalias", conf.path(), &spec);
    let stored = postmap_s("postalias", conf.path(), &spec);
    for (i, v) in ALIAS_VALUES.iter().enumerate() {
        let key = format!("k{i}").into_bytes();
        let theirs = stored
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        let mine = String::from_utf8_lossy(&postform::postfix::table::alias_value(v.as_bytes()))
            .into_owned();
        assert_eq!(Some(mine), theirs, "value {v:?}");
    }
}

/// Bytes that make keys and values interesting.
const PIECES: &[&str] = &[
    "a", "B", " ", "\t", "\"", "\\", "#", ":", "@", "%", ",", "\x0b", "\x0c", "ä", "ß", "[", "]",
    "/", "!", "$1", "(", ")", ".", "=", "{", "}",
];

/// Deterministic strings of 1-4 pieces.
fn samples() -> Vec<String> {
    let mut out = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..600 {
        let mut s = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = 1 + (seed % 4) as usize;
        for j in 0..n {
            let i = ((seed >> (8 * j + 3)) as usize) % PIECES.len();
            s.push_str(PIECES[i]);
        }
        out.push(s);
    }
    out
}

#[test]
fn every_key_and_value_the_limits_accept_reads_back_exactly() {
    if support::postmap().is_none() || support::postalias().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let samples = samples();
    for (syntax, builder) in [(Syntax::Postmap, "postmap"), (Syntax::Aliases, "postalias")] {
        let mut accepted: Vec<(String, String)> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut refused = 0;
        for (i, key) in samples.iter().enumerate() {
            let value = format!("v{}{}", samples[(i * 7 + 3) % samples.len()], i);
            match check_entry(MapType::Hash, syntax, i, key, &value) {
                Ok(()) if seen.insert(fold_key(key.as_bytes())) => {
                    accepted.push((key.clone(), value))
                }
                Ok(()) => {}
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().contains(&value), "{e}");
                }
            }
        }
        assert!(
            accepted.len() > 50 && refused > 50,
            "{syntax:?}: {} accepted, {refused} refused",
            accepted.len()
        );
        let pairs: Vec<(&str, &str)> = accepted
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let bytes = Table::render(syntax, &pairs);
        let src = conf.path().join(format!("limits-{builder}"));
        fs::write(&src, &bytes).unwrap();
        let spec = format!("hash:{}", src.display());
        let warnings = build(builder, conf.path(), &spec);
        assert_eq!(warnings, "", "{builder} warned about accepted entries");
        let stored = postmap_s(builder, conf.path(), &spec);
        let expected: BTreeSet<(Vec<u8>, Vec<u8>)> = ours(&Table::parse(syntax, &bytes));
        assert_eq!(stored, expected, "{builder}");
        // And the parse of what was rendered is what was asked for.
        let table = Table::parse(syntax, &bytes);
        assert_eq!(table.effective_entries().len(), accepted.len());
        for (e, (k, v)) in table.effective_entries().iter().zip(&accepted) {
            assert_eq!(e.ident, fold_key(k.as_bytes()), "{k:?}");
            if syntax == Syntax::Postmap {
                assert_eq!(e.value, v.as_bytes(), "{k:?}");
            }
        }
    }
}

#[test]
fn the_limits_refuse_what_postmap_would_read_differently() {
    if support::postmap().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    // Each of these, written as `KEY VALUE`, is not stored as KEY -> VALUE.
    for (key, value) in [
        ("a b", "x"),
        ("#a", "x"),
        ("\"a", "x"),
        ("a\\", "x"),
        ("a", " x"),
        ("\x0ba", "x"),
    ] {
        assert!(
            check_entry(MapType::Hash, Syntax::Postmap, 0, key, value).is_err(),
            "{key:?}"
        );
        let src = conf.path().join("refused");
        fs::write(&src, format!("{key} {value}\n")).unwrap();
        let spec = format!("hash:{}", src.display());
        build("postmap", conf.path(), &spec);
        let stored = postmap_s("postmap", conf.path(), &spec);
        assert!(
            !stored.contains(&(fold_key(key.as_bytes()), value.as_bytes().to_vec())),
            "{key:?} {value:?} would have been fine: {stored:?}"
        );
    }
}

fn perms_for_test(dir: &Path, mode: u32) -> Perms {
    let m = fs::metadata(dir).unwrap();
    Perms {
        mode,
        uid: m.uid(),
        gid: m.gid(),
    }
}

/// Stage, build, rename into place: what apply does.
fn install(
    conf: &Path,
    target: &Path,
    kind: MapType,
    builder: Builder,
    bytes: &[u8],
    perms: Perms,
) -> Vec<String> {
    let staged = index::stage_source(target, bytes, perms).unwrap();
    let built = index::build_index(
        builder,
        conf,
        kind.as_str(),
        kind.index_suffix().unwrap(),
        &staged,
        perms,
    )
    .unwrap();
    let (ipath, _ilock) = built.index.keep();
    fs::rename(
        &ipath,
        index::index_path(target, kind.index_suffix().unwrap()),
    )
    .unwrap();
    let (spath, _slock) = staged.keep();
    fs::rename(&spath, target).unwrap();
    built.warnings
}

#[test]
fn indexes_built_under_a_temp_name_answer_after_the_rename() {
    if support::postmap().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let entries = [
        ("[smtp.example.com]:587", "user:secret one"),
        ("Other@Example.com", "x"),
    ];
    let bytes = Table::render(Syntax::Postmap, &entries);
    for (kind, package) in [
        (MapType::Hash, "postfix"),
        (MapType::Btree, "postfix"),
        (MapType::Lmdb, "postfix-lmdb"),
        (MapType::Cdb, "postfix-cdb"),
    ] {
        if !support::map_type_available(kind.as_str(), package) {
            continue;
        }
        let target = conf.path().join(format!("sasl_{kind}"));
        let perms = perms_for_test(conf.path(), 0o600);
        let warnings = install(conf.path(), &target, kind, Builder::Postmap, &bytes, perms);
        assert!(warnings.is_empty(), "{kind}: {warnings:?}");
        let idx = index::index_path(&target, kind.index_suffix().unwrap());
        let m = fs::metadata(&idx).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o600, "{kind}");
        assert_eq!((m.uid(), m.gid()), (perms.uid, perms.gid));
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
        // The real postmap -q, one key at a time, answers the entries.
        for (k, v) in entries {
            let out = support::run(
                Command::new(support::find_program("postmap").unwrap())
                    .arg("-c")
                    .arg(conf.path())
                    .args([
                        "-q",
                        &k.to_lowercase(),
                        &format!("{kind}:{}", target.display()),
                    ]),
            );
            assert_eq!(support::stdout(&out), format!("{v}\n"), "{kind} {k}");
        }
        // query() agrees; unknown keys are None.
        let got = index::query(
            Builder::Postmap,
            conf.path(),
            kind.as_str(),
            &target,
            &[b"[smtp.example.com]:587", b"missing", b"other@example.com"],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![Some(b"user:secret one".to_vec()), None, Some(b"x".to_vec())]
        );
        if kind != MapType::Cdb {
            let all = index::dump(Builder::Postmap, conf.path(), kind.as_str(), &target).unwrap();
            assert_eq!(all.len(), 2, "{kind}");
        }
        let state = index::inspect(
            &target,
            kind.index_suffix().unwrap(),
            fs::metadata(&target).unwrap().modified().ok(),
        );
        assert_eq!(state.state, IndexState::Current, "{kind}");
        // No temp file is left.
        let left: Vec<PathBuf> = fs::read_dir(conf.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".postform")
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn alias_indexes_are_built_by_postalias() {
    if support::postalias().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let target = conf.path().join("aliases");
    let bytes = Table::render(
        Syntax::Aliases,
        &[
            ("postmaster", "root"),
            ("team", "alice,bob"),
            ("with space", "x"),
        ],
    );
    let perms = perms_for_test(conf.path(), 0o644);
    install(
        conf.path(),
        &target,
        MapType::Hash,
        Builder::Postalias,
        &bytes,
        perms,
    );
    let got = index::dump(Builder::Postalias, conf.path(), "hash", &target).unwrap();
    let got: BTreeSet<(Vec<u8>, Vec<u8>)> = got.into_iter().collect();
    assert_eq!(got, ours(&Table::parse(Syntax::Aliases, &bytes)));
    let q = index::query(
        Builder::Postalias,
        conf.path(),
        "hash",
        &target,
        &[b"TEAM", b"nobody"],
    )
    .unwrap();
    assert_eq!(q, vec![Some(b"alice, bob".to_vec()), None]);
}

#[test]
fn a_failed_build_leaves_no_temp_file() {
    if support::postmap().is_none() {
        return;
    }
    if !support::map_type_available("lmdb", "postfix-lmdb") {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let target = conf.path().join("long");
    // postmap stores lmdb keys with their NUL: 511 bytes is one too many.
    let bytes = format!("{} v\n", "k".repeat(511));
    let perms = perms_for_test(conf.path(), 0o644);
    let staged = index::stage_source(&target, bytes.as_bytes(), perms).unwrap();
    let e = index::build_index(
        Builder::Postmap,
        conf.path(),
        "lmdb",
        ".lmdb",
        &staged,
        perms,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("MDB_BAD_VALSIZE"), "{msg}");
    assert!(
        msg.contains(&target.display().to_string()),
        "names the real file: {msg}"
    );
    drop(staged);
    let left: Vec<String> = fs::read_dir(conf.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "main.cf")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn pattern_tables_are_checked_by_postmap_q() {
    if support::postmap().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    for (kind, package, good, bad, bad_lines) in [
        (
            "regexp",
            "postfix",
            "good.regexp",
            "bad.regexp",
            vec![1, 3, 4, 5, 6, 7, 8],
        ),
        ("pcre", "postfix-pcre", "good.pcre", "bad.pcre", vec![1, 3]),
        ("cidr", "postfix", "good.cidr", "bad.cidr", vec![1, 2, 3]),
    ] {
        if !support::map_type_available(kind, package) {
            continue;
        }
        for (name, expected) in [(good, vec![]), (bad, bad_lines)] {
            let src = conf.path().join(name);
            fs::write(&src, fixture(name)).unwrap();
            let shown = Path::new("/etc/postfix").join(name);
            let problems = index::check_text_table(conf.path(), kind, &src, &shown).unwrap();
            let lines: BTreeSet<usize> = problems.iter().filter_map(|(l, _)| *l).collect();
            let expected: BTreeSet<usize> = expected.into_iter().collect();
            assert_eq!(lines, expected, "{name}: {problems:?}");
            for (_, m) in &problems {
                assert!(
                    m.contains("/etc/postfix/"),
                    "the shown name, not the temp one: {m}"
                );
            }
        }
    }
}

#[test]
fn postconf_m_lists_the_types_and_missing_ones_are_told_apart() {
    if support::postconf().is_none() {
        return;
    }
    let conf = support::scratch_config_dir(b"", None);
    let listed = index::listed_types(conf.path()).unwrap();
    for t in ["hash", "btree", "regexp", "cidr", "texthash"] {
        assert!(listed.iter().any(|l| l == t), "{t} in {listed:?}");
        assert!(index::type_supported(conf.path(), t).unwrap(), "{t}");
    }
    assert!(!index::type_supported(conf.path(), "nosuchtype").unwrap());
    // dbm is not built into Debian's Postfix.
    assert!(!index::type_supported(conf.path(), "dbm").unwrap());
    // A plugin dynamicmaps.cf lists but whose library is not installed:
    // postconf -m lists it, Postfix cannot open it.
    let meta = tempfile::tempdir().unwrap();
    fs::write(
        meta.path().join("dynamicmaps.cf"),
        "# test\nldap\tpostfix-ldap-not-installed.so\tdict_ldap_open\ncdb\tpostfix-cdb.so\tdict_cdb_open\tmkmap_cdb_open\n",
    )
    .unwrap();
    let conf = support::scratch_config_dir(
        format!("meta_directory = {}\n", meta.path().display()).as_bytes(),
        None,
    );
    assert!(index::listed_types(conf.path())
        .unwrap()
        .iter()
        .any(|t| t == "ldap"));
    let got = index::types_supported(conf.path(), &["ldap", "hash", "pcre"]).unwrap();
    assert_eq!(
        got,
        vec![false, true, false],
        "ldap's library is missing; pcre is not listed"
    );
}
