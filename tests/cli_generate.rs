//! What the packages take from the binary: `--version`, `completions SHELL`,
//! the hidden `man --out-dir DIR`, and `--version` on the Ansible module's
//! file name (scripts/package checks it on every shipped binary).

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

fn postform(args: &[&str]) -> Output {
    Command::new(support::postform_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run postform")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

/// The visible commands, as `postform --help` lists them.
fn visible_commands() -> Vec<String> {
    let help = stdout(&postform(&["--help"]));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn version_names_the_crate_version_and_the_postfix_catalogs() {
    for flag in ["--version", "-V"] {
        let out = postform(&[flag]);
        assert!(out.status.success(), "{flag}: {out:?}");
        assert_eq!(
            stdout(&out),
            format!(
                "postform {} (Postfix parameter catalogs: {})\n",
                env!("CARGO_PKG_VERSION"),
                postform::catalog::KNOWN_SERIES_RANGE
            )
        );
    }
}

/// Review finding #15: the collection's file answered `--version` with a
/// module failure ("cannot read the arguments file --version").
#[test]
fn the_module_file_name_answers_version_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let want = stdout(&postform(&["--version"]));
    for name in ["main_cf_linux_x86_64", "main_cf_linux_aarch64", "main_cf"] {
        let copy = dir.path().join(name);
        fs::copy(support::postform_bin(), &copy).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new(&copy).arg("--version").output().unwrap();
        assert!(out.status.success(), "{name} --version: {out:?}");
        assert_eq!(stdout(&out), want, "{name} --version");
        // An args file is still a module run: one JSON object on stdout.
        let args = dir.path().join("args");
        fs::write(&args, "not json").unwrap();
        let out = Command::new(&copy).arg(&args).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name} ARGS did not print JSON ({e}): {out:?}"));
        assert_eq!(v["failed"], true, "{v}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let cases = [
        ("bash", "complete -F _postform"),
        ("zsh", "#compdef postform"),
        ("fish", "complete -c postform"),
    ];
    for (shell, marker) in cases {
        let out = postform(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        for cmd in visible_commands() {
            assert!(script.contains(&cmd), "{shell} script lacks the verb {cmd}");
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error_listing_the_shells() {
    let out = postform(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
}

#[test]
fn man_writes_one_page_per_visible_command_and_stays_hidden() {
    let commands = visible_commands();
    assert!(
        !commands.iter().any(|c| c == "man"),
        "`man` is for packagers and must not be listed: {commands:?}"
    );
    assert!(commands.iter().any(|c| c == "completions"), "{commands:?}");

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("share/man/man1");
    let out = postform(&["man", "--out-dir", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");

    let mut want: Vec<String> = commands.iter().map(|c| format!("postform-{c}.1")).collect();
    want.push("postform.1".into());
    want.sort();
    let mut got: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);

    // The paths written are printed, one per line.
    assert_eq!(stdout(&out).lines().count(), want.len());

    let top = fs::read_to_string(out_dir.join("postform.1")).unwrap();
    assert!(top.contains(".TH postform 1 "), "{top}");
    assert!(
        top.contains(env!("CARGO_PKG_VERSION")),
        "version in the page footer"
    );
    let plan = fs::read_to_string(out_dir.join("postform-plan.1")).unwrap();
    assert!(plan.contains(".TH postform-plan 1"), "{plan}");
    assert!(
        plan.contains("detailed\\-exitcode"),
        "plan's flags are documented"
    );
}

#[test]
fn man_into_an_unwritable_place_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    let target = file.join("man1");
    let out = postform(&["man", "--out-dir", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&target.display().to_string()), "{err}");
    assert!(err.contains("--out-dir"), "{err}");
}
