//! The Ansible collection `postform.postfix` against real ansible-core.
//!
//! Once per test process the collection is staged from `ansible/` with the
//! test build of postform as `files/bin/main_cf_linux_<arch>`, built into a
//! tarball with `ansible-galaxy collection build` and installed from it with
//! `ansible-galaxy collection install` into a private collections path.
//! Each test then runs `ansible-playbook -c local -i localhost,` on
//! `tests/ansible/main_cf.yml` against its own scratch copy of
//! `examples/postfix` (backdated), with `service: none` (no Postfix daemon
//! involved); the handler is a debug task that records the
//! `service_action` it saw. Results are read as JSON, printed by the small
//! stdout callback in `tests/ansible/callback_plugins/postform_json.py`.
//!
//! ansible-core is found in `$POSTFORM_VENV/bin`, else `target/venv/bin`,
//! else on `PATH`. When it is missing the tests skip loudly, or fail with
//! `POSTFORM_REQUIRE_REAL=1` (CI).

mod support;

#[path = "ansible/fleet.rs"]
mod fleet;
#[path = "ansible/options.rs"]
mod options;
#[path = "ansible/pending.rs"]
mod pending;
#[path = "ansible/startup.rs"]
mod startup;

use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

const HANDLER: &str = "postfix handler";
const TASK: &str = "converge main.cf";
/// tests/ansible/callback_plugins/postform_json.py (ansible-core bundles no
/// JSON callback; `json` redirects to the ansible.posix collection).
const JSON_CALLBACK: &str = "postform_json";

// ---------------------------------------------------------------------------
// Finding ansible-core

#[derive(Debug)]
struct Ansible {
    /// Directory holding ansible-playbook, ansible-galaxy, ansible-doc.
    bin_dir: PathBuf,
    /// The Python that runs them (also used as ansible_python_interpreter).
    python: PathBuf,
}

impl Ansible {
    fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_ansible() -> Result<Ansible, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os(support::VENV_ENV).filter(|v| !v.is_empty()) {
        // Absolute: the tools run with another working directory.
        let v = std::path::absolute(&v).unwrap_or_else(|_| PathBuf::from(&v));
        candidates.push(v.join("bin"));
    }
    candidates.push(support::repo_root().join("target/venv/bin"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    let bin_dir = candidates
        .into_iter()
        .find(|d| {
            ["ansible-playbook", "ansible-galaxy", "ansible-doc"]
                .iter()
                .all(|t| is_executable(&d.join(t)))
        })
        .ok_or_else(|| {
            format!(
                "ansible-core (ansible-playbook, ansible-galaxy, ansible-doc) not found in \
                 ${}/bin, target/venv/bin or PATH (run scripts/install-deps or set {}).",
                support::VENV_ENV,
                support::VENV_ENV
            )
        })?;
    // The venv's python, else the interpreter named by ansible-playbook's
    // shebang line.
    let python = ["python3", "python"]
        .iter()
        .map(|n| bin_dir.join(n))
        .find(|p| is_executable(p))
        .or_else(|| {
            let text = fs::read(bin_dir.join("ansible-playbook")).ok()?;
            let first = text.split(|b| *b == b'\n').next()?;
            let first = String::from_utf8_lossy(first);
            let interp = first.strip_prefix("#!")?.split_whitespace().next()?;
            Some(PathBuf::from(interp))
        })
        .filter(|p| is_executable(p))
        .ok_or_else(|| {
            format!(
                "found ansible-playbook in {} but not the Python that runs it",
                bin_dir.display()
            )
        })?;
    Ok(Ansible { bin_dir, python })
}

// ---------------------------------------------------------------------------
// The collection, built and installed once per test process

#[derive(Debug)]
struct Collection {
    ansible: Ansible,
    /// Scratch root for this process (ANSIBLE_HOME, temp dirs, config).
    root: PathBuf,
    /// The built tarball.
    tarball: PathBuf,
    /// ANSIBLE_COLLECTIONS_PATH holding the installed collection.
    collections_path: PathBuf,
}

/// Which module binary a staged collection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// This build of postform (what every normal test uses).
    Normal,
    /// This build with its ELF header claiming another CPU architecture:
    /// the target answers "Exec format error" (a collection installed on
    /// the wrong architecture, or a damaged binary).
    ForeignArch,
    /// This build asking the dynamic loader for `GLIBC_2.99`: what a target
    /// whose glibc is older than the build machine's answers.
    OldGlibc,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Normal => "normal",
            Variant::ForeignArch => "foreign-arch",
            Variant::OldGlibc => "old-glibc",
        }
    }

    /// The module binary's bytes for this variant.
    fn binary(self) -> Vec<u8> {
        let mut bytes = fs::read(support::postform_bin()).unwrap();
        match self {
            Variant::Normal => {}
            Variant::ForeignArch => {
                // ELF e_machine (bytes 18-19, little endian): x86_64 is 62,
                // aarch64 183. Claim the one this machine is not.
                assert_eq!(&bytes[..4], b"\x7fELF", "the test binary is not ELF");
                let other: u16 = if target_arch() == "x86_64" { 183 } else { 62 };
                bytes[18..20].copy_from_slice(&other.to_le_bytes());
            }
            Variant::OldGlibc => {
                // Rename every GLIBC_2.3x version the binary needs to
                // GLIBC_2.99 (same length, in .dynstr): the loader then
                // looks for a version no glibc has and refuses to start it,
                // exactly as an older glibc refuses GLIBC_2.34.
                let mut found = 0;
                let needle = b"GLIBC_2.3";
                let mut i = 0;
                while i + needle.len() < bytes.len() {
                    if &bytes[i..i + needle.len()] == needle
                        && bytes[i + needle.len()].is_ascii_digit()
                        && bytes.get(i + needle.len() + 1) == Some(&0)
                    {
                        // "GLIBC_2.3x" -> "GLIBC_2.99"
                        bytes[i + 8] = b'9';
                        bytes[i + 9] = b'9';
                        found += 1;
                    }
                    i += 1;
                }
                assert!(
                    found > 0,
                    "the test binary needs no GLIBC_2.3x symbol version: it is not a dynamic \
                     glibc build, so this variant cannot simulate an old glibc"
                );
            }
        }
        bytes
    }
}

static COLLECTIONS: [OnceLock<Result<Collection, String>>; 3] =
    [OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// The installed collection, or `None` after a loud skip (ansible missing).
/// Panics when building or installing the collection fails.
#[track_caller]
fn collection() -> Option<&'static Collection> {
    collection_variant(Variant::Normal)
}

/// [`collection`] with the module binary of `variant`, installed in its own
/// collections path.
#[track_caller]
fn collection_variant(variant: Variant) -> Option<&'static Collection> {
    let slot = &COLLECTIONS[variant as usize];
    let c = slot.get_or_init(|| {
        let ansible = find_ansible()?;
        Ok(setup_collection(ansible, variant))
    });
    match c {
        Ok(c) => Some(c),
        Err(missing) => {
            support::skip_or_fail(missing);
            None
        }
    }
}

fn target_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no postform module binary name for architecture {other}"),
    }
}

/// Copies `src` to `dst` recursively, skipping build products.
fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if name_s == "__pycache__" || name_s.ends_with(".tar.gz") || name_s.ends_with(".pyc") {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type().unwrap().is_dir() {
            if from.ends_with("files/bin") {
                fs::create_dir_all(&to).unwrap();
                continue;
            }
            copy_tree(&from, &to);
        } else {
            fs::copy(&from, &to).unwrap();
        }
    }
}

/// Removes scratch roots left by earlier test processes that have exited.
fn remove_stale_roots(parent: &Path) {
    let Ok(rd) = fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("ansible-") {
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

fn setup_collection(ansible: Ansible, variant: Variant) -> Collection {
    let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    remove_stale_roots(&parent);
    let root = parent
        .join(format!("ansible-{}", std::process::id()))
        .join(variant.name());
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    for d in ["home", "local_tmp", "remote_tmp", "dist", "collections"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    // An empty config file, so no ansible.cfg from the user or cwd applies.
    fs::write(root.join("ansible.cfg"), "").unwrap();

    // Stage the collection source with this build's postform as the module.
    let staged = root.join("src/postform/postfix");
    copy_tree(&support::repo_root().join("ansible"), &staged);
    let bin = staged.join(format!("files/bin/main_cf_linux_{}", target_arch()));
    // files/bin/ holds build products and is git-ignored: a fresh clone
    // does not have it.
    fs::create_dir_all(bin.parent().expect("files/bin")).unwrap();
    fs::write(&bin, variant.binary()).unwrap();
    fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let c = Collection {
        ansible,
        tarball: root.join(format!(
            "dist/postform-postfix-{}.tar.gz",
            env!("CARGO_PKG_VERSION")
        )),
        collections_path: root.join("collections"),
        root,
    };
    let out = c.run(
        Command::new(c.ansible.tool("ansible-galaxy"))
            .args(["collection", "build", "--force", "--output-path"])
            .arg(c.root.join("dist"))
            .arg(&staged),
    );
    assert!(
        out.status.success(),
        "ansible-galaxy collection build failed\n{}",
        support::describe(&out)
    );
    assert!(
        c.tarball.is_file(),
        "no tarball at {}\n{}",
        c.tarball.display(),
        support::describe(&out)
    );
    let out = c.run(
        Command::new(c.ansible.tool("ansible-galaxy"))
            .args(["collection", "install", "--force", "-p"])
            .arg(&c.collections_path)
            .arg(&c.tarball),
    );
    assert!(
        out.status.success(),
        "ansible-galaxy collection install failed\n{}",
        support::describe(&out)
    );
    c
}

impl Collection {
    fn installed_dir(&self) -> PathBuf {
        self.collections_path
            .join("ansible_collections/postform/postfix")
    }

    /// Runs an Ansible command with an isolated environment.
    fn run(&self, cmd: &mut Command) -> Output {
        cmd.current_dir(&self.root)
            .env("ANSIBLE_CONFIG", self.root.join("ansible.cfg"))
            .env("ANSIBLE_HOME", self.root.join("home"))
            .env("ANSIBLE_LOCAL_TEMP", self.root.join("local_tmp"))
            .env("ANSIBLE_REMOTE_TEMP", self.root.join("remote_tmp"))
            .env("ANSIBLE_COLLECTIONS_PATH", &self.collections_path)
            .env("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
            .env("ANSIBLE_GALAXY_SERVER_LIST", "")
            .env(
                "ANSIBLE_CALLBACK_PLUGINS",
                support::repo_root().join("tests/ansible/callback_plugins"),
            );
        support::run(cmd)
    }

    /// Runs tests/ansible/main_cf.yml with `vars` as extra vars.
    fn playbook(&self, vars: Value, extra_args: &[&str], callback: &str) -> Output {
        let playbook = support::repo_root().join("tests/ansible/main_cf.yml");
        self.run(&mut self.playbook_command(&playbook, "localhost,", vars, extra_args, callback))
    }

    /// `ansible-playbook -c local -i INVENTORY -e @vars.json ARGS PLAYBOOK`
    /// with the venv's Python as `ansible_python_interpreter`. Run it with
    /// [`Collection::run`] (which adds the isolated environment).
    fn playbook_command(
        &self,
        playbook: &Path,
        inventory: &str,
        vars: Value,
        extra_args: &[&str],
        callback: &str,
    ) -> Command {
        let mut vars = vars;
        vars["ansible_python_interpreter"] = json!(self.ansible.python);
        let vars_file = tempfile::Builder::new()
            .prefix("vars-")
            .suffix(".json")
            .tempfile_in(&self.root)
            .unwrap();
        fs::write(vars_file.path(), vars.to_string()).unwrap();
        // Kept until the root goes: the command runs after this returns.
        let (_, vars_path) = vars_file.keep().unwrap();
        let mut extra_vars = std::ffi::OsString::from("@");
        extra_vars.push(&vars_path);
        let mut cmd = Command::new(self.ansible.tool("ansible-playbook"));
        cmd.args(["-c", "local", "-i", inventory])
            .arg("-e")
            .arg(extra_vars)
            .args(extra_args)
            .arg(playbook)
            .env("ANSIBLE_STDOUT_CALLBACK", callback);
        cmd
    }

    /// Runs `playbook` with the JSON callback and parses the report.
    fn run_playbook_json(
        &self,
        playbook: &Path,
        inventory: &str,
        vars: Value,
        extra_args: &[&str],
    ) -> (Output, Report) {
        let mut cmd = self.playbook_command(playbook, inventory, vars, extra_args, JSON_CALLBACK);
        let out = self.run(&mut cmd);
        let report = Report::parse(&out);
        (out, report)
    }

    /// Runs the playbook with the JSON callback and parses the report.
    fn playbook_json(&self, vars: Value, extra_args: &[&str]) -> (Output, Report) {
        let out = self.playbook(vars, extra_args, JSON_CALLBACK);
        let report = Report::parse(&out);
        (out, report)
    }
}

/// The JSON callback's report.
struct Report {
    json: Value,
}

impl Report {
    fn parse(out: &Output) -> Report {
        let text = support::stdout(out);
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "ansible-playbook's JSON output does not parse ({e})\n{}",
                support::describe(out)
            )
        });
        Report { json }
    }

    /// Every (task name, localhost result) in run order, handlers included.
    fn tasks(&self) -> Vec<(String, Value)> {
        self.tasks_of("localhost")
    }

    /// Every (task name, `host`'s result) in run order, handlers included;
    /// `null` where the task did not run for that host.
    fn tasks_of(&self, host: &str) -> Vec<(String, Value)> {
        let mut v = Vec::new();
        for play in self.json["plays"].as_array().into_iter().flatten() {
            for t in play["tasks"].as_array().into_iter().flatten() {
                let name = t["task"]["name"].as_str().unwrap_or_default().to_string();
                v.push((name, t["hosts"][host].clone()));
            }
        }
        v
    }

    /// `host`'s results of the tasks named `name` (run order).
    fn results(&self, host: &str, name: &str) -> Vec<Value> {
        self.tasks_of(host)
            .into_iter()
            .filter(|(n, r)| n == name && !r.is_null())
            .map(|(_, r)| r)
            .collect()
    }

    /// The one result of task `name` for `host`.
    #[track_caller]
    fn result(&self, host: &str, name: &str) -> Value {
        let mut r = self.results(host, name);
        assert_eq!(
            r.len(),
            1,
            "expected one `{name}` result for {host}:\n{:#}",
            self.json
        );
        r.remove(0)
    }

    /// The module task's result.
    fn module(&self) -> Value {
        self.tasks()
            .into_iter()
            .find(|(n, _)| n == TASK)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no `{TASK}` task in the report:\n{:#}", self.json))
    }

    /// The handler's results (one per time it ran).
    fn handler_runs(&self) -> Vec<Value> {
        self.tasks()
            .into_iter()
            .filter(|(n, _)| n == HANDLER)
            .map(|(_, r)| r)
            .collect()
    }

    fn stat(&self, key: &str) -> i64 {
        self.json["stats"]["localhost"][key].as_i64().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------
// Scratch config dirs

fn example(name: &str) -> Vec<u8> {
    fs::read(support::repo_root().join("examples/postfix").join(name)).unwrap()
}

fn config_dir() -> tempfile::TempDir {
    support::scratch_config_dir(&example("main.cf"), Some(&example("master.cf")))
}

fn main_cf(dir: &tempfile::TempDir) -> (Vec<u8>, SystemTime) {
    let p = dir.path().join("main.cf");
    (
        fs::read(&p).unwrap(),
        fs::metadata(&p).unwrap().modified().unwrap(),
    )
}

fn vars(dir: &tempfile::TempDir, params: Value) -> Value {
    json!({"config_dir": dir.path(), "params": params})
}

fn describe_report(out: &Output, report: &Report) -> String {
    format!(
        "{}\n--- parsed ---\n{:#}",
        support::describe(out),
        report.json
    )
}

// ---------------------------------------------------------------------------
// Tests

/// (1) --check --diff: reports the change, the diff and the service
/// action, and leaves main.cf byte-identical.
#[test]
fn check_mode_with_diff_reports_and_writes_nothing() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let before = main_cf(&dir);

    let (out, report) = c.playbook_json(
        vars(&dir, json!({"inet_protocols": "ipv4"})),
        &["--check", "--diff"],
    );
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    assert_eq!(r["service_ran"], json!("none"), "{ctx}");
    assert_eq!(r["changes"][0]["name"], json!("inet_protocols"), "{ctx}");
    assert_eq!(r["changes"][0]["before"], json!("all"), "{ctx}");
    assert_eq!(r["changes"][0]["after"], json!("ipv4"), "{ctx}");
    assert_eq!(r["changes"][0]["action"], json!("restart"), "{ctx}");
    let diff = &r["diff"];
    assert!(
        diff["before"]
            .as_str()
            .unwrap_or_default()
            .contains("inet_protocols = all"),
        "{ctx}"
    );
    assert!(
        diff["after"]
            .as_str()
            .unwrap_or_default()
            .contains("inet_protocols = ipv4"),
        "{ctx}"
    );
    let header = diff["before_header"].as_str().unwrap_or_default();
    assert!(header.ends_with("main.cf"), "{ctx}");
    assert_eq!(
        main_cf(&dir),
        before,
        "check mode must not touch main.cf\n{ctx}"
    );

    // What a user sees: the default callback renders the unified diff.
    let out = c.playbook(
        vars(&dir, json!({"inet_protocols": "ipv4"})),
        &["--check", "--diff"],
        "default",
    );
    let text = support::stdout(&out);
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        text.contains("-inet_protocols = all"),
        "{}",
        support::describe(&out)
    );
    assert!(
        text.contains("+inet_protocols = ipv4"),
        "{}",
        support::describe(&out)
    );
    // The diff headers name the file once, not "before: main.cf (before)".
    assert!(
        text.contains("/main.cf") && !text.contains("(before)"),
        "{}",
        support::describe(&out)
    );
    assert_eq!(main_cf(&dir), before, "check mode must not touch main.cf");
}

/// (2) apply: changed, the handler fires once and sees `restart`;
/// (3) second run: nothing changes, no handler, main.cf's mtime unchanged.
#[test]
fn apply_notifies_handler_once_then_is_idempotent() {
    let Some(c) = collection() else { return };
    let dir = config_dir();

    let (out, report) = c.playbook_json(vars(&dir, json!({"inet_protocols": "ipv4"})), &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("restart"), "{ctx}");
    assert_eq!(
        r["service_ran"],
        json!("none"),
        "service: none must not touch Postfix\n{ctx}"
    );
    assert!(r.get("diff").is_none(), "no diff without --diff\n{ctx}");
    let runs = report.handler_runs();
    assert_eq!(runs.len(), 1, "the handler must run exactly once\n{ctx}");
    assert_eq!(
        runs[0]["msg"],
        json!("handler saw service_action=restart"),
        "{ctx}"
    );
    let (bytes, mtime) = main_cf(&dir);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("\ninet_protocols = ipv4\n"), "{text}");
    assert!(!text.contains("inet_protocols = all"), "{text}");
    // Everything else is untouched: only that one line differs.
    let orig = example("main.cf");
    let orig = String::from_utf8_lossy(&orig);
    assert_eq!(
        orig.replace("inet_protocols = all", "inet_protocols = ipv4"),
        text
    );

    let (out, report) = c.playbook_json(vars(&dir, json!({"inet_protocols": "ipv4"})), &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(
        r["changed"],
        json!(false),
        "second run must not change anything\n{ctx}"
    );
    assert_eq!(r["service_action"], json!("none"), "{ctx}");
    assert_eq!(r["changes"], json!([]), "{ctx}");
    assert_eq!(report.stat("changed"), 0, "{ctx}");
    assert!(
        report.handler_runs().is_empty(),
        "the handler must not run\n{ctx}"
    );
    assert_eq!(
        main_cf(&dir),
        (bytes, mtime),
        "main.cf (bytes and mtime) must be untouched\n{ctx}"
    );
}

/// (4) A reload-only parameter: the handler sees `reload`. Gathers the
/// platform facts first, so the action plugin takes the facts path.
#[test]
fn reload_only_parameter_asks_for_reload() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let mut v = vars(&dir, json!({"smtpd_banner": "$myhostname ESMTP postform"}));
    v["gather"] = json!(true);
    let (out, report) = c.playbook_json(v, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["changed"], json!(true), "{ctx}");
    assert_eq!(r["service_action"], json!("reload"), "{ctx}");
    assert_eq!(r["changes"][0]["action"], json!("reload"), "{ctx}");
    let runs = report.handler_runs();
    assert_eq!(runs.len(), 1, "{ctx}");
    assert_eq!(
        runs[0]["msg"],
        json!("handler saw service_action=reload"),
        "{ctx}"
    );
    let (bytes, _) = main_cf(&dir);
    assert!(
        String::from_utf8_lossy(&bytes).contains("\nsmtpd_banner = $myhostname ESMTP postform\n")
    );
}

/// (5) An unknown parameter name fails the task with postform's message and
/// suggestion; main.cf is unchanged; the handler does not run.
#[test]
fn unknown_parameter_fails_with_suggestion() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let before = main_cf(&dir);
    let (out, report) = c.playbook_json(vars(&dir, json!({"inet_protocol": "ipv4"})), &[]);
    let ctx = describe_report(&out, &report);
    assert!(!out.status.success(), "the play must fail\n{ctx}");
    let r = report.module();
    assert_eq!(r["failed"], json!(true), "{ctx}");
    let msg = r["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("inet_protocol"), "{ctx}");
    assert!(msg.contains("did you mean"), "{ctx}");
    assert!(msg.contains("inet_protocols"), "{ctx}");
    assert!(report.handler_runs().is_empty(), "{ctx}");
    assert_eq!(main_cf(&dir), before, "main.cf must be untouched\n{ctx}");
}

/// Option errors come from the module itself, in JSON, listing what is valid.
#[test]
fn bad_option_value_fails_clearly() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let before = main_cf(&dir);
    let mut v = vars(&dir, json!({"inet_protocols": "ipv4"}));
    v["service"] = json!("bounce");
    let (out, report) = c.playbook_json(v, &[]);
    let ctx = describe_report(&out, &report);
    assert!(!out.status.success(), "{ctx}");
    let r = report.module();
    assert_eq!(r["failed"], json!(true), "{ctx}");
    let msg = r["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("option service must be one of none, auto, reload, restart"),
        "{ctx}"
    );
    assert_eq!(main_cf(&dir), before, "{ctx}");
}

/// An inline spec with parameters on top, and a spec file on the target.
#[test]
fn spec_option_inline_and_file() {
    let Some(c) = collection() else { return };
    let dir = config_dir();
    let mut v = vars(&dir, json!({"biff": true}));
    v["spec"] = json!({"main": {"biff": false, "smtpd_banner": "$myhostname ESMTP"}});
    let (out, report) = c.playbook_json(v, &["--check"]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    let r = report.module();
    let names: Vec<&str> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["biff", "smtpd_banner"], "{ctx}");
    assert_eq!(
        r["changes"][0]["after"],
        json!("yes"),
        "parameters override the spec\n{ctx}"
    );

    let spec = dir.path().join("host.yaml");
    fs::write(&spec, "inet_protocols: ipv4\n").unwrap();
    let v = json!({"config_dir": dir.path(), "spec": spec});
    let (out, report) = c.playbook_json(v, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    assert_eq!(report.module()["service_action"], json!("restart"), "{ctx}");
    assert_eq!(report.handler_runs().len(), 1, "{ctx}");
}

/// (6) The collection installs from its tarball and ansible-doc shows the
/// module's documentation.
#[test]
fn collection_installs_from_tarball_and_documents_module() {
    let Some(c) = collection() else { return };
    let installed = c.installed_dir();
    for f in [
        "MANIFEST.json",
        "LICENSE",
        "changelogs/changelog.yaml",
        "plugins/modules/main_cf.py",
        "plugins/modules/service_action.py",
        "plugins/module_utils/argspecs.py",
        "plugins/plugin_utils/binary_module.py",
        "plugins/action/main_cf.py",
        "plugins/action/service_action.py",
        "plugins/lookup/host_spec.py",
        "roles/service/handlers/main.yml",
        "playbooks/gitops.yml",
    ] {
        let p = installed.join(f);
        assert!(p.is_file(), "{} missing after install", p.display());
    }
    assert_eq!(
        fs::read(installed.join("LICENSE")).unwrap(),
        fs::read(support::repo_root().join("LICENSE")).unwrap(),
        "ansible/LICENSE must be a copy of the repository's LICENSE"
    );
    // ansible-test sanity needs an ignore file per supported ansible-core.
    for minor in 15..=21 {
        let p = support::repo_root().join(format!("ansible/tests/sanity/ignore-2.{minor}.txt"));
        assert!(p.is_file(), "{} missing", p.display());
    }
    let bin = installed.join(format!("files/bin/main_cf_linux_{}", target_arch()));
    assert!(
        is_executable(&bin),
        "{} missing or not executable",
        bin.display()
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(installed.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["collection_info"]["version"],
        json!(env!("CARGO_PKG_VERSION")),
        "galaxy.yml version must match Cargo.toml"
    );
    assert_eq!(manifest["collection_info"]["namespace"], json!("postform"));
    assert_eq!(manifest["collection_info"]["name"], json!("postfix"));
    let info = &manifest["collection_info"];
    for key in ["repository", "documentation", "homepage"] {
        assert!(
            info[key]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "galaxy.yml {key}: {info:#}"
        );
    }
    let tags = info["tags"].as_array().unwrap();
    for tag in ["linux", "infrastructure"] {
        assert!(
            tags.contains(&json!(tag)),
            "galaxy.yml tags lack {tag}: {info:#}"
        );
    }

    let out = c.run(Command::new(c.ansible.tool("ansible-doc")).arg("postform.postfix.main_cf"));
    let text = support::stdout(&out);
    assert!(out.status.success(), "{}", support::describe(&out));
    for needle in [
        "Makes Postfix's",
        "parameters",
        "config_dir",
        "service_action",
        "inet_protocols: ipv4",
    ] {
        assert!(
            text.contains(needle),
            "ansible-doc output lacks {needle:?}\n{}",
            support::describe(&out)
        );
    }
    let out = c.run(Command::new(c.ansible.tool("ansible-doc")).args(["-l", "postform.postfix"]));
    assert!(out.status.success(), "{}", support::describe(&out));
    assert!(
        support::stdout(&out).contains("postform.postfix.main_cf"),
        "{}",
        support::describe(&out)
    );
}
