//! Lookup tables and aliases through the real `postform` binary, with the
//! real `postmap`/`postalias` as the oracle:
//!
//! * hash, btree, lmdb, cdb, texthash, regexp, pcre and cidr tables built
//!   from a spec answer exactly the spec's entries (in order for the
//!   ordered types);
//! * re-planning is "No changes" and re-applying writes nothing (index
//!   mtimes and inodes unchanged);
//! * changing one entry rebuilds that table only;
//! * a hand edit of a managed source is planned as drift and repaired; a
//!   missing index is rebuilt; an index holding other entries is rebuilt;
//! * modes: a secret table's source and index are 0600;
//! * removing a table removes its index too; a referenced one is refused;
//! * `aliases:` goes to alias_database's file, built with postalias.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A config dir with Debian's main.cf (aliases in the dir itself) and
/// master.cf, plus `extra` main.cf lines.
fn host(extra: &str) -> tempfile::TempDir {
    let main = fs::read_to_string(support::repo_root().join("examples/postfix/main.cf")).unwrap();
    let main = main
        .replace(
            "alias_maps = hash:/etc/aliases",
            "alias_maps = hash:$config_directory/aliases",
        )
        .replace(
            "alias_database = hash:/etc/aliases",
            "alias_database = hash:$config_directory/aliases",
        );
    let master = fs::read(support::repo_root().join("examples/postfix/master.cf")).unwrap();
    support::scratch_config_dir(format!("{main}{extra}").as_bytes(), Some(&master))
}

fn postform(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(support::postform_bin());
    cmd.args(args).arg("-c").arg(dir).env("NO_COLOR", "1").env(
        "PATH",
        format!(
            "{}:/usr/sbin:/sbin",
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    support::run(&mut cmd)
}

/// Write `text` as a spec beside the config dir and return its path.
fn spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.parent().unwrap().join(format!(
        "{}-{name}.yaml",
        dir.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&p, text).unwrap();
    p
}

fn apply(dir: &Path, spec: &Path) -> Output {
    let out = postform(
        dir,
        &[
            "apply",
            spec.to_str().unwrap(),
            "--auto-approve",
            "--service",
            "none",
        ],
    );
    assert!(
        out.status.success(),
        "apply failed:\n{}",
        support::describe(&out)
    );
    out
}

fn plan(dir: &Path, spec: &Path) -> Output {
    postform(
        dir,
        &["plan", spec.to_str().unwrap(), "--detailed-exitcode"],
    )
}

fn q(dir: &Path, builder: &str, key: &str, table: &str) -> Option<String> {
    let out = support::run(
        Command::new(support::find_program(builder).unwrap())
            .arg("-c")
            .arg(dir)
            .args(["-q", key, table]),
    );
    assert!(
        out.stderr.is_empty(),
        "{builder} -q {key} {table}: {}",
        support::describe(&out)
    );
    out.status
        .success()
        .then(|| support::stdout(&out).trim_end_matches('\n').to_string())
}

fn s(dir: &Path, builder: &str, table: &str) -> Vec<String> {
    let out = support::run(
        Command::new(support::find_program(builder).unwrap())
            .arg("-c")
            .arg(dir)
            .args(["-s", table]),
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    let mut lines: Vec<String> = support::stdout(&out)
        .lines()
        .filter(|l| {
            !["@", "YP_LAST_MODIFIED", "YP_MASTER_NAME"]
                .iter()
                .any(|k| l.starts_with(&format!("{k}:")) || l.starts_with(&format!("{k}\t")))
        })
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// (inode, mtime in ns) of a file.
fn stamp(p: &Path) -> (u64, i128) {
    let m = fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (
        m.ino(),
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    )
}

fn available(kind: &str, package: &str) -> bool {
    support::map_type_available(kind, package)
}

#[test]
fn every_type_answers_exactly_the_spec() {
    if support::postmap().is_none() || support::postconf().is_none() {
        return;
    }
    let mut types = vec![("hash", ".db"), ("btree", ".db"), ("texthash", "")];
    for (t, pkg, suffix) in [
        ("lmdb", "postfix-lmdb", ".lmdb"),
        ("cdb", "postfix-cdb", ".cdb"),
    ] {
        if available(t, pkg) {
            types.push((t, suffix));
        }
    }
    let pcre = available("pcre", "postfix-pcre");
    let d = host("");
    let dir = d.path();
    let mut text = String::from("maps:\n");
    for (t, _) in &types {
        text.push_str(&format!(
            "  {t}_table:\n    type: {t}\n    entries:\n      User@Example.COM: \"first value\"\n      \"[smtp.example.com]:587\": \"user:pass word\"\n      other.example: OK\n"
        ));
    }
    text.push_str("  checks.regexp:\n    type: regexp\n    entries:\n      \"/^From:.*spam/\": REJECT spam\n      \"/^From:/i\": DUNNO\n      \"/^Subject: (.*)/\": \"WARN subject $1\"\n");
    if pcre {
        text.push_str("  checks.pcre:\n    type: pcre\n    entries:\n      \"/^(\\\\w+)@example\\\\.com$/\": \"OK $1\"\n      \"/@example\\\\.com$/\": REJECT\n");
    }
    text.push_str("  clients.cidr:\n    type: cidr\n    entries:\n      10.1.0.0/16: REJECT inner\n      10.0.0.0/8: OK\n      \"2001:db8::/32\": OK6\n");
    let sp = spec(dir, "all", &text);
    let out = apply(dir, &sp);
    let stdout = support::stdout(&out);
    // texthash re-reads a file modified within the last second (2 s per
    // query): age it.
    support::backdate(&dir.join("texthash_table"));
    for (t, suffix) in &types {
        let table = format!("{t}:{}/{t}_table", dir.display());
        assert_eq!(
            q(dir, "postmap", "user@example.com", &table).as_deref(),
            Some("first value"),
            "{t}"
        );
        assert_eq!(
            q(dir, "postmap", "[smtp.example.com]:587", &table).as_deref(),
            Some("user:pass word"),
            "{t}"
        );
        assert_eq!(
            q(dir, "postmap", "OTHER.example", &table).as_deref(),
            Some("OK"),
            "{t}"
        );
        assert_eq!(q(dir, "postmap", "nothing", &table), None, "{t}");
        if *t != "cdb" {
            assert_eq!(
                s(dir, "postmap", &table).len(),
                3,
                "{t}: exactly the spec's entries"
            );
        }
        if !suffix.is_empty() {
            assert!(dir.join(format!("{t}_table{suffix}")).exists(), "{t}");
        }
    }
    // Ordered: the first match wins, in spec order.
    let re = format!("regexp:{}/checks.regexp", dir.display());
    assert_eq!(
        q(dir, "postmap", "From: spam@x", &re).as_deref(),
        Some("REJECT spam")
    );
    assert_eq!(
        q(dir, "postmap", "from: ok@x", &re).as_deref(),
        None,
        "the i flag makes it case-sensitive"
    );
    assert_eq!(
        q(dir, "postmap", "From: ok@x", &re).as_deref(),
        Some("DUNNO")
    );
    assert_eq!(
        q(dir, "postmap", "Subject: hello", &re).as_deref(),
        Some("WARN subject hello")
    );
    if pcre {
        let p = format!("pcre:{}/checks.pcre", dir.display());
        assert_eq!(
            q(dir, "postmap", "bob@example.com", &p).as_deref(),
            Some("OK bob")
        );
        assert_eq!(
            q(dir, "postmap", "a.b@example.com", &p).as_deref(),
            Some("REJECT")
        );
    }
    let c = format!("cidr:{}/clients.cidr", dir.display());
    assert_eq!(
        q(dir, "postmap", "10.1.2.3", &c).as_deref(),
        Some("REJECT inner")
    );
    assert_eq!(q(dir, "postmap", "10.2.2.3", &c).as_deref(), Some("OK"));
    assert_eq!(q(dir, "postmap", "2001:db8::1", &c).as_deref(), Some("OK6"));
    // The order is the spec's: swap the cidr rules and the outer one wins.
    let swapped = text.replace(
        "      10.1.0.0/16: REJECT inner\n      10.0.0.0/8: OK\n",
        "      10.0.0.0/8: OK\n      10.1.0.0/16: REJECT inner\n",
    );
    let sp2 = spec(dir, "swapped", &swapped);
    let out2 = apply(dir, &sp2);
    assert!(
        support::stdout(&out2).contains("(moved)"),
        "{}",
        support::stdout(&out2)
    );
    assert_eq!(q(dir, "postmap", "10.1.2.3", &c).as_deref(), Some("OK"));
    // What the plan said about the service: reload for text tables.
    assert!(stdout.contains("Service action: reload"), "{stdout}");
}

#[test]
fn replanning_is_no_change_and_reapplying_writes_nothing() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("smtp_sasl_password_maps = hash:$config_directory/sasl_passwd\n");
    let dir = d.path();
    let sp = spec(
        dir,
        "s",
        "maps:\n  sasl_passwd:\n    type: hash\n    secret: true\n    entries:\n      \"[relay.example]:587\": \"u:p\"\n  access.cidr:\n    type: cidr\n    entries: {10.0.0.0/8: OK}\naliases:\n  postmaster: root\n",
    );
    apply(dir, &sp);
    let files = [
        "sasl_passwd",
        "sasl_passwd.db",
        "access.cidr",
        "aliases",
        "aliases.db",
        "main.cf",
        "master.cf",
    ];
    let before: Vec<_> = files.iter().map(|f| stamp(&dir.join(f))).collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = plan(dir, &sp);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).starts_with("No changes."),
        "{}",
        support::describe(&out)
    );
    let out = apply(dir, &sp);
    assert!(
        support::stdout(&out).starts_with("No changes."),
        "{}",
        support::describe(&out)
    );
    let after: Vec<_> = files.iter().map(|f| stamp(&dir.join(f))).collect();
    assert_eq!(before, after, "nothing was rewritten");
}

#[test]
fn changing_one_entry_rebuilds_only_that_table() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("transport_maps = hash:$config_directory/transport\nvirtual_alias_maps = hash:$config_directory/virtual\n");
    let dir = d.path();
    let base = "maps:\n  transport:\n    type: hash\n    entries: {example.com: \"smtp:[a.example]\", example.org: \"smtp:[b.example]\"}\n  virtual:\n    type: hash\n    entries: {info@example.com: alice}\n";
    apply(dir, &spec(dir, "a", base));
    let t_db = stamp(&dir.join("transport.db"));
    let v_db = stamp(&dir.join("virtual.db"));
    let v_src = stamp(&dir.join("virtual"));
    let main = stamp(&dir.join("main.cf"));
    let changed = base.replace("smtp:[b.example]", "smtp:[c.example]");
    let out = plan(dir, &spec(dir, "b", &changed));
    assert_eq!(out.status.code(), Some(2));
    let text = support::stdout(&out);
    assert!(
        text.contains("example.org  \"smtp:[b.example]\" -> \"smtp:[c.example]\""),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to remove. Service action: none."),
        "{text}"
    );
    apply(dir, &spec(dir, "b", &changed));
    assert_ne!(
        stamp(&dir.join("transport.db")),
        t_db,
        "the changed table's index is new"
    );
    assert_eq!(stamp(&dir.join("virtual.db")), v_db);
    assert_eq!(stamp(&dir.join("virtual")), v_src);
    assert_eq!(stamp(&dir.join("main.cf")), main);
    let t = format!("hash:{}/transport", dir.display());
    assert_eq!(
        q(dir, "postmap", "example.org", &t).as_deref(),
        Some("smtp:[c.example]")
    );
}

#[test]
fn a_hand_edit_is_drift_and_is_repaired() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("relay_recipient_maps = hash:$config_directory/relay_recipients\n");
    let dir = d.path();
    let sp = spec(dir, "r", "maps:\n  relay_recipients:\n    type: hash\n    entries: {a@example.com: OK, b@example.com: OK}\n");
    apply(dir, &sp);
    let src = dir.join("relay_recipients");
    let db = dir.join("relay_recipients.db");
    // 1. A comment added by hand, postmap not run: the entries are the
    //    spec's, but the index is older than its source.
    let mut text = fs::read_to_string(&src).unwrap();
    text.insert_str(0, "# edited by hand\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&src, &text).unwrap();
    let out = plan(dir, &sp);
    let shown = support::stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{}", support::describe(&out));
    assert!(
        shown.contains("(index)  \"older than its source"),
        "{shown}"
    );
    apply(dir, &sp);
    assert!(
        stamp(&db).1 >= stamp(&src).1,
        "the index is not older than its source"
    );
    assert_eq!(fs::read_to_string(&src).unwrap(), text, "the comment stays");
    assert!(support::stdout(&plan(dir, &sp)).starts_with("No changes."));
    // 2. An entry added by hand and built by hand: the spec wins.
    fs::write(&src, format!("{text}c@example.com OK\n")).unwrap();
    support::run(
        Command::new(support::find_program("postmap").unwrap())
            .arg("-c")
            .arg(dir)
            .arg(format!("hash:{}", src.display())),
    );
    let out = plan(dir, &sp);
    assert!(
        support::stdout(&out).contains("- c@example.com"),
        "{}",
        support::describe(&out)
    );
    apply(dir, &sp);
    let t = format!("hash:{}", src.display());
    assert_eq!(q(dir, "postmap", "c@example.com", &t), None);
    // 3. An index that holds something else (an old copy put back).
    let other = dir.join("other");
    fs::write(&other, "z@example.com OK\n").unwrap();
    support::run(
        Command::new(support::find_program("postmap").unwrap())
            .arg("-c")
            .arg(dir)
            .arg(format!("hash:{}", other.display())),
    );
    fs::copy(dir.join("other.db"), &db).unwrap();
    let out = plan(dir, &sp);
    assert!(
        support::stdout(&out).contains("holds other entries than its source"),
        "{}",
        support::describe(&out)
    );
    apply(dir, &sp);
    assert_eq!(
        q(dir, "postmap", "a@example.com", &t).as_deref(),
        Some("OK")
    );
    assert_eq!(q(dir, "postmap", "z@example.com", &t), None);
}

#[test]
fn a_missing_index_is_rebuilt_with_a_reload() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("virtual_alias_maps = hash:$config_directory/virtual\n");
    let dir = d.path();
    let sp = spec(
        dir,
        "v",
        "maps:\n  virtual:\n    type: hash\n    entries: {info@example.com: alice}\n",
    );
    apply(dir, &sp);
    let src = stamp(&dir.join("virtual"));
    fs::remove_file(dir.join("virtual.db")).unwrap();
    let out = plan(dir, &sp);
    let text = support::stdout(&out);
    assert!(
        text.contains("~ (index)  \"missing\" -> \"rebuilt\""),
        "{text}"
    );
    assert!(text.contains("Service action: reload."), "{text}");
    apply(dir, &sp);
    assert_eq!(stamp(&dir.join("virtual")), src, "the source is left alone");
    assert_eq!(
        q(
            dir,
            "postmap",
            "info@example.com",
            &format!("hash:{}/virtual", dir.display())
        )
        .as_deref(),
        Some("alice")
    );
}

#[test]
fn secret_tables_are_0600_and_their_index_too() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("smtp_sasl_password_maps = hash:$config_directory/sasl_passwd\n");
    let dir = d.path();
    // A world-readable password table, as so many roles leave it.
    fs::write(dir.join("sasl_passwd"), "[relay.example]:587 u:p\n").unwrap();
    fs::set_permissions(
        dir.join("sasl_passwd"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    support::run(
        Command::new(support::find_program("postmap").unwrap())
            .arg("-c")
            .arg(dir)
            .arg(format!("hash:{}/sasl_passwd", dir.display())),
    );
    assert_eq!(
        fs::metadata(dir.join("sasl_passwd.db")).unwrap().mode() & 0o777,
        0o644
    );
    let sp = spec(dir, "s", "maps:\n  sasl_passwd:\n    type: hash\n    secret: true\n    entries:\n      \"[relay.example]:587\": \"u:p\"\n");
    let out = plan(dir, &sp);
    let text = support::stdout(&out);
    assert!(text.contains("~ (file)  \"0644 "), "{text}");
    assert!(text.contains("-> \"0600 "), "{text}");
    apply(dir, &sp);
    for f in ["sasl_passwd", "sasl_passwd.db"] {
        assert_eq!(
            fs::metadata(dir.join(f)).unwrap().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    assert!(support::stdout(&plan(dir, &sp)).starts_with("No changes."));
    // An explicit mode wins; the index follows the source.
    let sp = spec(dir, "m", "maps:\n  sasl_passwd:\n    type: hash\n    secret: true\n    mode: \"0640\"\n    entries:\n      \"[relay.example]:587\": \"u:p\"\n");
    apply(dir, &sp);
    for f in ["sasl_passwd", "sasl_passwd.db"] {
        assert_eq!(
            fs::metadata(dir.join(f)).unwrap().mode() & 0o777,
            0o640,
            "{f}"
        );
    }
}

#[test]
fn removing_a_table_removes_its_index_unless_it_is_named() {
    if support::postmap().is_none() {
        return;
    }
    let d = host("");
    let dir = d.path();
    apply(
        dir,
        &spec(
            dir,
            "a",
            "maps:\n  old:\n    type: hash\n    entries: {a: b}\n",
        ),
    );
    assert!(dir.join("old.db").exists());
    // Named by main.cf: refused, nothing written.
    let sp = spec(
        dir,
        "b",
        "main:\n  canonical_maps: hash:$config_directory/old\nmaps:\n  old: null\n",
    );
    let out = postform(dir, &["plan", sp.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", support::describe(&out));
    assert!(
        support::stderr(&out).contains("removes"),
        "{}",
        support::describe(&out)
    );
    let sp = spec(dir, "c", "maps:\n  old: null\n");
    let out = apply(dir, &sp);
    assert!(
        support::stdout(&out).contains("- (file)"),
        "{}",
        support::stdout(&out)
    );
    assert!(!dir.join("old").exists() && !dir.join("old.db").exists());
    assert!(support::stdout(&plan(dir, &sp)).starts_with("No changes."));
}

#[test]
fn aliases_go_to_the_alias_database_file_and_keep_other_names() {
    if support::postalias().is_none() {
        return;
    }
    let d = host("");
    let dir = d.path();
    fs::write(
        dir.join("aliases"),
        "# local aliases\npostmaster: root\nwebmaster: root\n",
    )
    .unwrap();
    let sp = spec(
        dir,
        "a",
        "aliases:\n  root: admin@example.com\n  team: [alice, bob]\n  webmaster: null\n",
    );
    let out = apply(dir, &sp);
    let text = support::stdout(&out);
    assert!(text.contains("+ root"), "{text}");
    assert!(text.contains("- webmaster"), "{text}");
    assert_eq!(
        fs::read_to_string(dir.join("aliases")).unwrap(),
        "# local aliases\npostmaster: root\nroot: admin@example.com\nteam: alice, bob\n"
    );
    let table = format!("hash:{}/aliases", dir.display());
    assert_eq!(
        q(dir, "postalias", "team", &table).as_deref(),
        Some("alice, bob")
    );
    assert_eq!(
        q(dir, "postalias", "postmaster", &table).as_deref(),
        Some("root")
    );
    assert_eq!(q(dir, "postalias", "webmaster", &table), None);
    assert!(support::stdout(&plan(dir, &sp)).starts_with("No changes."));
    // Without postmaster: a warning.
    let sp = spec(dir, "b", "aliases:\n  postmaster: null\n");
    let out = postform(dir, &["plan", sp.to_str().unwrap()]);
    assert!(
        support::stderr(&out).contains("no postmaster alias"),
        "{}",
        support::describe(&out)
    );
}

#[test]
fn import_lists_the_named_tables_and_plans_no_change() {
    if support::postmap().is_none() || support::postalias().is_none() {
        return;
    }
    let d = host(
        "smtp_sasl_password_maps = hash:$config_directory/sasl_passwd\n\
         transport_maps = hash:$config_directory/transport\n\
         smtpd_client_restrictions = check_client_access cidr:$config_directory/clients\n\
         header_checks = regexp:$config_directory/header_checks\n",
    );
    let dir = d.path();
    let pm = |t: &str| {
        support::run(
            Command::new(support::find_program("postmap").unwrap())
                .arg("-c")
                .arg(dir)
                .arg(t),
        );
    };
    fs::write(
        dir.join("sasl_passwd"),
        "[relay.example]:587 user:Imp0rtedS3cret\n",
    )
    .unwrap();
    fs::set_permissions(
        dir.join("sasl_passwd"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    pm(&format!("hash:{}/sasl_passwd", dir.display()));
    fs::write(
        dir.join("transport"),
        "# relays\nExample.COM\tsmtp:[a.example]\n\n.example.org smtp:[b.example]\n",
    )
    .unwrap();
    pm(&format!("hash:{}/transport", dir.display()));
    fs::write(dir.join("clients"), "10.1.0.0/16 REJECT\n10.0.0.0/8 OK\n").unwrap();
    fs::write(
        dir.join("header_checks"),
        "if /^Subject:/\n/spam/ REJECT\nendif\n",
    )
    .unwrap();
    fs::write(
        dir.join("aliases"),
        "postmaster: root\nteam: alice,\n  bob\n",
    )
    .unwrap();
    support::run(
        Command::new(support::find_program("postalias").unwrap())
            .arg("-c")
            .arg(dir)
            .arg(format!("hash:{}/aliases", dir.display())),
    );
    // Without --include-secrets: the secret table is left out, its value nowhere.
    let out = postform(dir, &["import"]);
    assert!(out.status.success(), "{}", support::describe(&out));
    let text = support::stdout(&out);
    assert!(!text.contains("Imp0rtedS3cret"), "{text}");
    assert!(
        text.contains("sasl_passwd (smtp_sasl_password_maps) is secret: left out"),
        "{text}"
    );
    assert!(
        text.contains("header_checks (header_checks): left out: it has if/endif blocks"),
        "{text}"
    );
    // The alias file (alias_database's) is not imported: `aliases:`
    // manages names in it one by one.
    assert!(
        !text.contains("team:") && !text.contains("format: aliases"),
        "{text}"
    );
    // With --include-secrets, applying the import to the same host changes nothing.
    let sp = dir.parent().unwrap().join(format!(
        "{}-imported.yaml",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let out = postform(
        dir,
        &["import", "--include-secrets", "-o", sp.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", support::describe(&out));
    let text = fs::read_to_string(&sp).unwrap();
    assert!(
        text.contains("secret: true") && text.contains("mode: \"0640\""),
        "{text}"
    );
    assert!(
        text.contains("type: cidr") && text.contains("10.1.0.0/16: REJECT"),
        "{text}"
    );
    let out = plan(dir, &sp);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{text}",
        support::describe(&out)
    );
}
