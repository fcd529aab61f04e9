//! A module binary that cannot start on the target fails with the cause and
//! the fix, not with Ansible's "Module result deserialization failed":
//! another CPU architecture, a glibc older than the binary needs, a remote
//! temporary directory mounted noexec.

use super::*;

/// Runs tests/ansible/main_cf.yml with `c` and returns the module's failure
/// message (after checking main.cf is untouched).
fn failure_msg(
    c: &Collection,
    extra_vars: Value,
    wrap: Option<&dyn Fn(Command) -> Command>,
) -> String {
    let dir = config_dir();
    let before = main_cf(&dir);
    let mut v = vars(&dir, json!({"inet_protocols": "ipv4"}));
    for (k, val) in extra_vars.as_object().unwrap() {
        v[k] = val.clone();
    }
    let cmd = c.playbook_command(
        &support::repo_root().join("tests/ansible/main_cf.yml"),
        "localhost,",
        v,
        &[],
        JSON_CALLBACK,
    );
    let mut cmd = match wrap {
        Some(w) => w(cmd),
        None => cmd,
    };
    let out = c.run(&mut cmd);
    let report = Report::parse(&out);
    let ctx = describe_report(&out, &report);
    assert!(!out.status.success(), "the play must fail\n{ctx}");
    let r = report.module();
    assert_eq!(r["failed"], json!(true), "{ctx}");
    assert_eq!(main_cf(&dir), before, "{ctx}");
    let msg = r["msg"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains("postform.postfix.main_cf: the module binary main_cf_linux_"),
        "no start-failure diagnosis\n{ctx}"
    );
    assert!(!msg.contains("deserialization"), "{ctx}");
    msg
}

#[test]
fn binary_for_another_architecture_is_named_as_such() {
    let Some(c) = collection_variant(Variant::ForeignArch) else {
        return;
    };
    let msg = failure_msg(c, json!({}), None);
    assert!(msg.contains("another CPU architecture"), "{msg}");
    assert!(msg.contains("Exec format error"), "{msg}");
    assert!(msg.contains("uname -m"), "{msg}");
}

#[test]
fn binary_needing_a_newer_glibc_names_the_version_and_the_static_build() {
    let Some(c) = collection_variant(Variant::OldGlibc) else {
        return;
    };
    let msg = failure_msg(c, json!({}), None);
    assert!(msg.contains("needs GLIBC_2.99"), "{msg}");
    assert!(msg.contains("static (musl) binaries"), "{msg}");
}

/// The remote temporary directory on a noexec tmpfs (in a private mount
/// namespace, so nothing outside the test sees it): exit 126, "Permission
/// denied", and the fix names ansible_remote_tmp.
#[test]
fn noexec_remote_tmp_names_ansible_remote_tmp() {
    let Some(c) = collection() else { return };
    if !support::is_root() {
        support::skip_or_fail("mounting a noexec tmpfs needs root (unshare -m, mount -t tmpfs)");
        return;
    }
    let Some(unshare) = support::find_program("unshare") else {
        support::skip_or_fail("`unshare` (util-linux) is not installed");
        return;
    };
    let mnt = tempfile::Builder::new()
        .prefix("noexec-")
        .tempdir_in(&c.root)
        .unwrap();
    let mnt_path = mnt.path().to_path_buf();
    let wrap = move |inner: Command| -> Command {
        let mut cmd = Command::new(&unshare);
        cmd.args(["-m", "/bin/sh", "-c"])
            .arg(
                "mount -t tmpfs -o noexec,mode=0700 postform-noexec \"$1\" && shift && exec \"$@\"",
            )
            .arg("sh")
            .arg(&mnt_path)
            .arg(inner.get_program())
            .args(inner.get_args());
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    };
    let msg = failure_msg(c, json!({"ansible_remote_tmp": mnt.path()}), Some(&wrap));
    assert!(msg.contains("does not allow executing files"), "{msg}");
    assert!(msg.contains("noexec"), "{msg}");
    assert!(msg.contains("ansible_remote_tmp"), "{msg}");
    assert!(
        msg.contains(&mnt.path().display().to_string()),
        "names the directory: {msg}"
    );
    assert!(msg.contains("exit code 126"), "{msg}");
}
