//! Differential tests against the real postconf.
//!
//! A seeded generator writes main.cf files full of what trips up parsers
//! (continuations with interleaved comments and blank lines, CRLF, tabs,
//! VT/FF, duplicates, empty values, `#` mid-value, NUL bytes, 8-bit bytes,
//! orphan indented lines, missing final newlines, the odd fatal line).
//! For each:
//! * postform's effective view equals `postconf -c DIR -n` (and both
//!   refuse the same files);
//! * parse -> render is byte-identical;
//! * after `set`/`remove` of one name, `postconf -n` shows exactly the
//!   intended value for it and the same value for every other name, and
//!   the edit touched only that name's lines.
//!
//! Cases per run: POSTFORM_DIFF_CASES (default 1000). Seed:
//! POSTFORM_DIFF_SEED (default fixed, printed on failure).

mod support;

use postform::catalog::Catalog;
use postform::engine::effective_config::EffectiveConfig;
use postform::postfix::maincf::{MainCf, NewValue};
use std::path::Path;

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn bytes(&mut self, items: &[&'static [u8]]) -> &'static [u8] {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "myhostname",
    "mydestination",
    "relayhost",
    "smtpd_banner",
    "mynetworks",
    "alias_maps",
    "biff",
    "message_size_limit",
    "smtpd_helo_restrictions",
    "my_checks",   // user-defined: referenced by some values below
    "not_a_param", // unknown: postconf omits it
    "relay_destination_concurrency_limit", // service-derived (master.cf relay)
    "recipient_delimiter",
];

const WORDS: &[&[u8]] = &[
    b"a.example",
    b"localhost",
    b"$myhostname",
    b"${myhostname}",
    b"$my_checks",
    b"[relay.example]:587",
    b"hash:/etc/aliases",
    b"#",
    b"a#b",
    b"=",
    b"x=y",
    b",",
    b"yes",
    b"10240000",
    b"caf\xc3\xa9",
    b"\xff\xfe",
    b"{ a b }",
    b"$$",
    b"\\",
    b"\"q\"",
];

const SPACE: &[&[u8]] = &[b" ", b"\t", b"\x0b", b"\x0c", b"  ", b" \t"];

fn gen_value(r: &mut Rng, out: &mut Vec<u8>, eol: &[u8]) {
    let words = r.below(4);
    for i in 0..words {
        if i > 0 {
            out.extend_from_slice(r.bytes(&[b" ".as_slice(), b", ", b",", b"\t", b"  "]));
        }
        out.extend_from_slice(r.bytes(WORDS));
    }
    if r.chance(10) {
        out.extend_from_slice(r.bytes(SPACE)); // trailing whitespace
    }
    // Continuation lines, with comments and blank lines in between.
    let conts = if r.chance(35) { 1 + r.below(3) } else { 0 };
    for _ in 0..conts {
        while r.chance(30) {
            out.extend_from_slice(r.bytes(&[
                b"# interleaved comment".as_slice(),
                b"",
                b"   ",
                b"\t# indented comment",
                b"#",
            ]));
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(eol);
        out.extend_from_slice(r.bytes(SPACE));
        out.extend_from_slice(r.bytes(WORDS));
        if r.chance(30) {
            out.push(b',');
        }
    }
}

fn gen_main_cf(r: &mut Rng) -> Vec<u8> {
    let crlf = r.chance(20);
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::new();
    let lines = 1 + r.below(12);
    for _ in 0..lines {
        let eol_here: &[u8] = if r.chance(5) { b"\r\n" } else { eol };
        match r.below(100) {
            0..=9 => out.extend_from_slice(b"# a comment = with equals"),
            10..=14 => {}
            15..=16 => {
                // An orphan indented line (dropped with a warning) only
                // right at the start, else it is a continuation.
                out.extend_from_slice(b"  orphan_or_continuation = 1");
            }
            17 if r.chance(10) => out.extend_from_slice(b"missing_equals value"),
            18 if r.chance(10) => out.extend_from_slice(b"smtpd_banner = ${unterminated"),
            19 if r.chance(20) => out.extend_from_slice(b"smtpd_banner = a\x00b"),
            _ => {
                let name = r.pick(NAMES);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(r.bytes(&[
                    b" = ".as_slice(),
                    b"=",
                    b"\t=\t",
                    b" =",
                    b"\x0b=\x0b",
                    b"= ",
                ]));
                gen_value(r, &mut out, eol_here);
            }
        }
        out.extend_from_slice(eol_here);
    }
    if r.chance(15) {
        while out.last() == Some(&b'\n') || out.last() == Some(&b'\r') {
            out.pop();
        }
    }
    out
}

fn master_cf() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/postfix/master.cf")).unwrap()
}

struct Oracle {
    ok: bool,
    stdout: Vec<u8>,
}

fn oracle(main_cf: &[u8]) -> Oracle {
    let dir = support::scratch_config_dir(main_cf, Some(&master_cf()));
    let out = support::postconf_n(dir.path());
    // postconf adds config_directory (sorted among the others).
    let line = format!("config_directory = {}\n", dir.path().display());
    let stdout: Vec<u8> = out
        .stdout
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| *l != line.as_bytes())
        .flatten()
        .copied()
        .collect();
    Oracle {
        ok: out.status.success(),
        stdout,
    }
}

fn ours(main_cf: &[u8]) -> Result<Vec<u8>, String> {
    let dir = Path::new("/nonexistent-scratch");
    EffectiveConfig::from_bytes(
        dir,
        &dir.join("main.cf"),
        main_cf.to_vec(),
        Some(master_cf()),
        Catalog::builtin(),
    )
    .map(|c| c.postconf_n())
    .map_err(|e| e.to_string())
}

fn cases() -> usize {
    std::env::var("POSTFORM_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn seed() -> u64 {
    std::env::var("POSTFORM_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_2026_1128)
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

#[test]
fn round_trip_is_byte_identical_for_generated_files() {
    let mut r = Rng(seed());
    for i in 0..20_000 {
        let f = gen_main_cf(&mut r);
        if let Ok(doc) = MainCf::parse(&f) {
            assert_eq!(doc.to_bytes(), f, "case {i}: {}", show(&f));
        }
    }
}

#[test]
fn effective_view_equals_postconf_n() {
    if support::postconf().is_none() {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    }
    let n = cases();
    let mut r = Rng(seed());
    let (mut compared, mut fatal) = (0, 0);
    for i in 0..n {
        let f = gen_main_cf(&mut r);
        let want = oracle(&f);
        let got = ours(&f);
        match (&got, want.ok) {
            (Ok(g), true) => assert_eq!(
                show(g),
                show(&want.stdout),
                "case {i} (seed {}): main.cf = {}",
                seed(),
                show(&f)
            ),
            (Err(_), false) => fatal += 1,
            _ => panic!(
                "case {i} (seed {}): postconf ok={} but postform {:?}; main.cf = {}",
                seed(),
                want.ok,
                got.as_ref().map(|g| show(g)),
                show(&f)
            ),
        }
        compared += 1;
    }
    eprintln!("differential: {compared} generated main.cf files agree with postconf -n ({fatal} refused by both)");
    assert!(compared >= n);
}

/// Lines that are not part of any definition of `name`.
fn lines_without(doc: &MainCf, bytes: &[u8], name: &str) -> Vec<Vec<u8>> {
    let mut skip = std::collections::HashSet::new();
    for e in doc.entries().iter().filter(|e| e.name == name.as_bytes()) {
        let (a, b) = e.span();
        for l in a..=b {
            skip.insert(l);
        }
    }
    // Keep interleaved trivia: only the entry's data lines are "its" lines,
    // but comments inside a span are kept by edits too, so compare the
    // lines outside spans plus trivia inside them.
    bytes
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, l)| {
            let trivia = {
                let t: Vec<u8> = l.iter().copied().filter(|&b| b != b'\n').collect();
                let first = t
                    .iter()
                    .position(|&b| !postform::postfix::space::is_space(b));
                first.is_none_or(|p| t[p] == b'#')
            };
            !skip.contains(&(i + 1)) || trivia
        })
        .map(|(_, l)| l.to_vec())
        .collect()
}

/// The file's last kept line may gain a line ending when postform appends
/// after it (postconf 3.7.11 would glue the new line onto it instead).
fn without_final_eol(mut lines: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if let Some(l) = lines.last_mut() {
        while matches!(l.last(), Some(b'\n' | b'\r')) {
            l.pop();
        }
    }
    lines
}

#[test]
fn edits_change_only_the_edited_name() {
    if support::postconf().is_none() {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    }
    let n = cases() / 2;
    let mut r = Rng(seed() ^ 0xed17);
    let known = [
        "myhostname",
        "mydestination",
        "relayhost",
        "smtpd_banner",
        "mynetworks",
        "biff",
        "recipient_delimiter",
        "delay_warning_time",
    ];
    let mut edited = 0;
    while edited < n {
        let f = gen_main_cf(&mut r);
        let Ok(before_doc) = MainCf::parse(&f) else {
            continue;
        };
        let before = oracle(&f);
        if !before.ok {
            continue;
        }
        let name = *r.pick(&known);
        let mut doc = before_doc.clone();
        let intended: Option<String> = if r.chance(25) {
            doc.remove(name).unwrap();
            None
        } else if r.chance(30) {
            let items: Vec<String> = (0..1 + r.below(12))
                .map(|i| format!("item{i}.example"))
                .collect();
            doc.set(name, &NewValue::List(items.clone())).unwrap();
            Some(items.join(", "))
        } else {
            let v = r
                .pick(&["new.example", "", "a b  c", "$mail_name ESMTP", "[r]:25"])
                .to_string();
            doc.set(name, &NewValue::Scalar(v.clone())).unwrap();
            Some(v.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        let after_bytes = doc.to_bytes();
        let after = oracle(&after_bytes);
        assert!(after.ok, "edit made postconf fail: {}", show(&after_bytes));
        let parse = |o: &Oracle| -> std::collections::BTreeMap<String, String> {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(" =")?;
                    Some((k.to_string(), v.trim_start().to_string()))
                })
                .collect()
        };
        let (mut b, mut a) = (parse(&before), parse(&after));
        assert_eq!(
            a.remove(name),
            intended,
            "{name} after edit of {}",
            show(&f)
        );
        b.remove(name);
        // A user-defined name is visible only while some value references
        // it: when the edit drops the only `$my_checks`, Postfix rightly
        // stops printing my_checks ("unused parameter").
        let referenced_elsewhere = before_doc
            .entries()
            .iter()
            .any(|e| e.name != name.as_bytes() && e.value.windows(9).any(|w| w == b"my_checks"));
        if !referenced_elsewhere {
            a.remove("my_checks");
            b.remove("my_checks");
        }
        assert_eq!(
            a,
            b,
            "other names changed when editing {name} in {}",
            show(&f)
        );
        // The diff touches only the edited entries.
        let after_doc = MainCf::parse(&after_bytes).unwrap();
        let kept_before = without_final_eol(lines_without(&before_doc, &f, name));
        let kept_after = without_final_eol(lines_without(&after_doc, &after_bytes, name));
        assert_eq!(
            kept_after,
            kept_before,
            "edit of {name} touched other lines: {} -> {}",
            show(&f),
            show(&after_bytes)
        );
        edited += 1;
    }
    eprintln!("edit property: {edited} set/remove edits verified with postconf -n");
}

/// Regression: raw parameters (smtpd_expansion_filter, whose default holds
/// a `$`) are never expanded by Postfix; postform used to call their own
/// default a macro error. Checked against the real postconf.
#[test]
fn raw_parameters_are_not_expanded() {
    let f: &[u8] = b"smtpd_expansion_filter = \\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\npostscreen_expansion_filter = $smtpd_expansion_filter\n";
    let got = ours(f).expect("postform accepts raw parameters as Postfix does");
    assert!(got.starts_with(b"postscreen_expansion_filter = $smtpd_expansion_filter\n"));
    if support::postconf().is_none() {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    }
    let want = oracle(f);
    assert!(want.ok);
    assert_eq!(show(&got), show(&want.stdout));
}

/// Postfix's legacy parameters (`postconf -d` does not list them): setting
/// one or referencing one draws no warning from postconf, and none from
/// postform; an unknown name draws the same warnings from both.
#[test]
fn legacy_parameters_are_known() {
    let Some(postconf) = support::postconf() else {
        support::skip_or_fail("postconf (Debian package postfix)");
        return;
    };
    let warnings_of = |main_cf: &[u8]| -> (Vec<String>, Vec<String>) {
        let dir = support::scratch_config_dir(main_cf, Some(&master_cf()));
        let theirs = std::process::Command::new(&postconf)
            .arg("-c")
            .arg(dir.path())
            .arg("-n")
            .output()
            .unwrap();
        let theirs: Vec<String> = String::from_utf8_lossy(&theirs.stderr)
            .lines()
            .filter_map(|l| l.split_once("warning: ").map(|(_, w)| w.to_string()))
            .collect();
        let ours = EffectiveConfig::load(dir.path(), Catalog::builtin())
            .expect("postform reads it")
            .warnings
            .iter()
            .map(|w| w.split(" (").next().unwrap().to_string())
            .collect();
        (ours, theirs)
    };
    for name in postform::catalog::LEGACY_PARAMS
        .iter()
        .chain(&["no_such_legacy_name"])
    {
        for main_cf in [
            format!("myorigin = ${name}\n"),
            format!("{name} = some value\n"),
        ] {
            let (ours, theirs) = warnings_of(main_cf.as_bytes());
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{main_cf}: ours {ours:?}, postconf {theirs:?}"
            );
            if *name == "no_such_legacy_name" {
                assert_eq!(theirs.len(), 1, "{main_cf}: {theirs:?}");
            }
        }
    }
    // Also when the parameter that replaced it is set (so no default
    // references the legacy name).
    let both = b"postscreen_blacklist_action = drop\npostscreen_denylist_action = enforce\n";
    let (ours, theirs) = warnings_of(both);
    assert_eq!(
        (ours.len(), theirs.len()),
        (0, 0),
        "ours {ours:?}, postconf {theirs:?}"
    );
}

/// After edits (including appends, which derive only the new lines), the
/// in-memory document equals a fresh parse of its own bytes: entries, line
/// numbers and warnings.
#[test]
fn edited_document_equals_a_fresh_parse_of_its_bytes() {
    let mut r = Rng(seed() ^ 0xa99e);
    for i in 0..5_000 {
        let f = gen_main_cf(&mut r);
        let Ok(mut doc) = MainCf::parse(&f) else {
            continue;
        };
        for k in 0..1 + r.below(4) {
            let name = *r.pick(&["relayhost", "brand_new_param", "smtpd_banner", "mynetworks"]);
            let name = if name == "brand_new_param" {
                format!("{name}_{k}")
            } else {
                name.to_string()
            };
            if r.chance(20) {
                doc.remove(&name).unwrap();
            } else {
                doc.set(&name, &NewValue::Scalar(format!("v{k}"))).unwrap();
            }
            let fresh = MainCf::parse(&doc.to_bytes()).unwrap();
            assert_eq!(doc, fresh, "case {i} edit {k} ({name}) of {}", show(&f));
        }
    }
}
