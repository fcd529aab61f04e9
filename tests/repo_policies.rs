//! Repository policies (`policies.yaml` at a GitOps repository's root):
//! judged on each host's desired state by `postform validate REPO` and the
//! fleet plan, located at the file and line that set the value, turned
//! into warnings by `allow:`, and the file's own errors with line:column.
//!
//! Each test works on a copy of `examples/gitops` as `repo/` in a temp dir
//! (so paths in messages are `repo/...`), edited to break a rule.

mod support;

use support::{code, postform};

use postform::catalog::Catalog;
use postform::engine::policy::repo::{RepoPolicies, Rule};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temp dir holding a copy of the example repository as `repo/`.
fn repo_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_tree(&support::repo_root().join("examples/gitops"), &repo);
    (tmp, repo)
}

/// Replace exactly one occurrence of `from` in a file.
fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} in {}",
        path.display()
    );
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The 1-based line of `needle` in a file.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = fs::read_to_string(path).unwrap();
    1 + text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {}", path.display()))
}

fn validate(tmp: &Path) -> Output {
    postform(tmp, &["validate", "repo"])
}

fn fleet_json(tmp: &Path) -> (Output, serde_json::Value) {
    let out = postform(tmp, &["plan", "--repo", "repo", "--all", "--json"]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

fn host<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {v}"))
}

#[test]
fn the_example_repository_keeps_its_policies() {
    let root = support::repo_root();
    assert!(root.join("examples/gitops/policies.yaml").is_file());
    let out = postform(&root, &["validate", "examples/gitops"]);
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    assert!(!support::stderr(&out).contains("policy ipv4_only"));
    let text = fs::read_to_string(root.join("examples/gitops/policies.yaml")).unwrap();
    let (p, errors) = RepoPolicies::parse(&text, "policies.yaml", Catalog::builtin());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(p.ids(), ["ipv4_only", "outbound_tls"]);
    assert_eq!(p.policies[0].rule, Rule::Forbid);
    assert_eq!(p.policies[1].rule, Rule::Require);
}

#[test]
fn forbid_refuses_the_hosts_of_the_layer_that_sets_the_value() {
    let (tmp, repo) = repo_copy();
    let defaults = repo.join("defaults.yaml");
    // `all,` is `all` for Postfix (list separators).
    edit(
        &defaults,
        "  inet_protocols: ipv4\n",
        "  inet_protocols: \"all,\"\n",
    );
    let line = line_of(&defaults, "inet_protocols:");
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    let expected = format!(
        "repo/defaults.yaml:{line}:3: refused by policy ipv4_only: inet_protocols: `all` is forbidden: mail to Gmail over IPv6 bounces"
    );
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains(
            "used by: mx1.example.com, mx2.example.com, relay1.example.com, relay2.example.com"
        ),
        "{err}"
    );
    assert!(err.contains("allow: [ipv4_only]"), "{err}");
    // legacy sets ipv4 in its own file: accepted.
    assert!(!err.contains("legacy.example.com"), "{err}");
    assert!(err.ends_with("1 error(s).\n"), "{err}");

    // The fleet plan refuses the same hosts, like a built-in refusal.
    let (out, v) = fleet_json(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let mx1 = host(&v, "mx1.example.com");
    let errors = mx1["errors"].to_string();
    assert!(
        errors.contains("refused by policy ipv4_only: inet_protocols (repo/defaults.yaml:"),
        "{errors}"
    );
    let f = &mx1["findings"][0];
    assert_eq!(f["id"], "ipv4_only");
    assert_eq!(f["severity"], "refuse");
    assert_eq!(f["subject"], "inet_protocols");
    assert_eq!(f["location"], format!("repo/defaults.yaml:{line}:3"));
    assert_eq!(f["allowed"], false);
    assert_eq!(
        host(&v, "legacy.example.com")["errors"],
        serde_json::json!([])
    );
    assert_eq!(
        host(&v, "legacy.example.com")["findings"],
        serde_json::json!([])
    );
}

#[test]
fn a_value_no_spec_sets_is_located_in_the_snapshot() {
    let (tmp, repo) = repo_copy();
    let defaults = repo.join("defaults.yaml");
    edit(&defaults, "  inet_protocols: ipv4\n", "");
    // relay1 and relay2's snapshots say `inet_protocols = all`; mx1 and
    // mx2's say ipv4; legacy's spec says ipv4.
    let snap = |h: &str| repo.join("snapshots").join(h).join("main.cf");
    let l1 = line_of(&snap("relay1.example.com"), "inet_protocols");
    let l2 = line_of(&snap("relay2.example.com"), "inet_protocols");
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    for (h, l) in [("relay1.example.com", l1), ("relay2.example.com", l2)] {
        let at = format!("repo/snapshots/{h}/main.cf:{l}: refused by policy ipv4_only: inet_protocols: `all` is forbidden");
        assert!(err.contains(&at), "{at}\n{err}");
    }
    assert!(
        err.contains("the value is the snapshot's (no spec layer sets inet_protocols)"),
        "{err}"
    );
    assert!(
        !err.contains("mx1.example.com") && !err.contains("mx2.example.com"),
        "{err}"
    );
    assert!(err.ends_with("2 error(s).\n"), "{err}");
}

#[test]
fn list_values_compare_item_by_item() {
    let (tmp, repo) = repo_copy();
    // mx1 says `ipv4 ipv6`, mx2 `[ipv6, ipv4]` spelled as a list: both are
    // in the rule ([ipv4, ipv6] and [ipv6, ipv4] as list values).
    edit(
        &repo.join("hosts/mx1.example.com.yaml"),
        "  myhostname: mx1.example.com\n",
        "  myhostname: mx1.example.com\n  inet_protocols: ipv4 ipv6\n",
    );
    edit(
        &repo.join("hosts/mx2.example.com.yaml"),
        "  myhostname: mx2.example.com\n",
        "  myhostname: mx2.example.com\n  inet_protocols: [ipv6, ipv4]\n",
    );
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    for (h, value) in [("mx1", "ipv4, ipv6"), ("mx2", "ipv6, ipv4")] {
        let file = format!("hosts/{h}.example.com.yaml");
        let line = line_of(&repo.join(&file), "inet_protocols");
        let at = format!("repo/{file}:{line}:3: refused by policy ipv4_only: inet_protocols: `{value}` is forbidden");
        assert!(err.contains(&at), "{at}\n{err}");
    }
    assert!(err.ends_with("2 error(s).\n"), "{err}");
}

#[test]
fn require_judges_only_the_hosts_its_globs_match() {
    let (tmp, repo) = repo_copy();
    edit(
        &repo.join("hosts/relay2.example.com.yaml"),
        "smtp_tls_security_level: may",
        "smtp_tls_security_level: none",
    );
    // legacy runs with Postfix's default (empty, no TLS) but `hosts` does
    // not match it; relay2 breaks the rule.
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    let line = line_of(
        &repo.join("hosts/relay2.example.com.yaml"),
        "smtp_tls_security_level",
    );
    let expected = format!("repo/hosts/relay2.example.com.yaml:{line}:3: refused by policy outbound_tls: smtp_tls_security_level: `none` is not one of the required values");
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains("hint: set smtp_tls_security_level to one of `may`, `encrypt`"),
        "{err}"
    );
    assert!(err.ends_with("1 error(s).\n"), "{err}");

    // A rule for legacy only refuses legacy, at its spec file (nothing
    // sets the value: Postfix's default).
    edit(
        &repo.join("hosts/relay2.example.com.yaml"),
        "smtp_tls_security_level: none",
        "smtp_tls_security_level: may",
    );
    let policies = repo.join("policies.yaml");
    let mut text = fs::read_to_string(&policies).unwrap();
    text.push_str("- id: legacy_tls\n  description: even legacy must try TLS\n  hosts: [legacy*]\n  require:\n    smtp_tls_security_level: may\n");
    fs::write(&policies, text).unwrap();
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(err.contains("repo/hosts/legacy.example.com.yaml: refused by policy legacy_tls: smtp_tls_security_level: `` (not set: Postfix's default) is not one of the required values"), "{err}");
    assert!(err.ends_with("1 error(s).\n"), "{err}");
}

#[test]
fn booleans_compare_as_postfix_reads_them() {
    let (tmp, repo) = repo_copy();
    // groups/mx.yaml says `smtpd_helo_required: true` (yes); relays leave
    // the default (no).
    fs::write(
        repo.join("policies.yaml"),
        "- id: helo_required\n  description: clients must say HELO\n  hosts: [\"mx*\", \"relay*\"]\n  require:\n    smtpd_helo_required: [YES]\n",
    )
    .unwrap();
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        !err.contains("mx1.example.com.yaml") && !err.contains("mx2.example.com.yaml"),
        "{err}"
    );
    for h in ["relay1.example.com", "relay2.example.com"] {
        let at = format!("repo/hosts/{h}.yaml: refused by policy helo_required: smtpd_helo_required: `no` (not set: Postfix's default)");
        assert!(err.contains(&at), "{err}");
    }
    assert!(err.ends_with("2 error(s).\n"), "{err}");
}

#[test]
fn allow_in_a_host_or_a_group_makes_a_warning() {
    let (tmp, repo) = repo_copy();
    let defaults = repo.join("defaults.yaml");
    edit(
        &defaults,
        "  inet_protocols: ipv4\n",
        "  inet_protocols: all\n",
    );
    // mx1 allows it in its file, the relays through their group layer.
    edit(
        &repo.join("hosts/mx1.example.com.yaml"),
        "main:\n",
        "allow: [ipv4_only]\nmain:\n",
    );
    edit(
        &repo.join("groups/relay.yaml"),
        "allow: [tls_downgrade]",
        "allow: [tls_downgrade, ipv4_only]",
    );
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    // Only mx2 is refused.
    assert!(err.contains("used by: mx2.example.com\n"), "{err}");
    assert!(err.ends_with("1 error(s).\n"), "{err}");
    for h in [
        "mx1.example.com",
        "relay1.example.com",
        "relay2.example.com",
    ] {
        let w = format!("warning: {h}: allowed by the spec: policy ipv4_only: inet_protocols (repo/defaults.yaml:");
        assert!(err.contains(&w), "{w}\n{err}");
    }
    // The fleet plan plans the allowing hosts, with the finding.
    let (out, v) = fleet_json(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let mx1 = host(&v, "mx1.example.com");
    assert_eq!(mx1["errors"], serde_json::json!([]));
    let f = &mx1["findings"][0];
    assert_eq!(f["id"], "ipv4_only");
    assert_eq!(f["allowed"], true);
    assert_eq!(mx1["service_action"], "restart");
    assert_ne!(host(&v, "mx2.example.com")["errors"], serde_json::json!([]));
}

#[test]
fn policies_yaml_errors_name_line_and_column() {
    let (tmp, repo) = repo_copy();
    fs::write(
        repo.join("policies.yaml"),
        "- id: Bad-Id\n  description: x\n  forbid: {inet_protocls: all}\n- id: open_relay\n  descrption: y\n  require: {inet_protocols: ipv4}\n  forbid: {inet_protocols: all}\n- id: no_rule\n  description: z\n- id: bad_value\n  description: v\n  require: {smtpd_tls_security_level: [maybe]}\n",
    )
    .unwrap();
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    for expected in [
        "repo/policies.yaml:1:7: invalid policy id \"Bad-Id\": expected lowercase letters, digits and _ ([a-z0-9_]+)\n  hint: e.g. bad_id",
        "repo/policies.yaml:3:12: unknown parameter `inet_protocls`: Postfix has no such main.cf parameter\n  hint: did you mean `inet_protocols`?",
        "repo/policies.yaml:4:7: policy id `open_relay` is postform's own (a built-in policy)",
        "repo/policies.yaml:5:3: unknown policy key `descrption`\n  hint: did you mean `description`?",
        "repo/policies.yaml:7:3: a policy has either `require` or `forbid`, not both",
        "repo/policies.yaml:8:3: this policy has no `require` or `forbid`",
        "repo/policies.yaml:12:40: smtpd_tls_security_level: invalid value \"maybe\": expected one of: none, may, encrypt",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    // Hosts are still validated; the group's allow: of a repository id
    // written in the file is not reported as unknown.
    assert!(!err.contains("unknown policy id"), "{err}");
    assert!(err.ends_with("8 error(s).\n"), "{err}");

    // The fleet plan stops: nothing to judge hosts by.
    let out = postform(tmp.path(), &["plan", "--repo", "repo", "--all"]);
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("repo/policies.yaml:1:7: invalid policy id"),
        "{err}"
    );
    assert!(err.contains("8 error(s) in policies.yaml"), "{err}");

    // A YAML error.
    fs::write(repo.join("policies.yaml"), "- id: a\n  forbid: [x\n").unwrap();
    let out = validate(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("repo/policies.yaml:3:1: invalid YAML"),
        "{err}"
    );
    assert!(
        err.contains("hint: the `[` at line 2 column 11 is not closed"),
        "{err}"
    );
}

#[test]
fn parse_refuses_duplicates_nulls_and_empty_hosts() {
    let c = Catalog::builtin();
    let (_, e) = RepoPolicies::parse(
        "- id: a\n  description: x\n  forbid: {inet_protocols: all}\n- id: a\n  description: y\n  forbid: {inet_protocols: ipv6}\n",
        "p.yaml",
        c,
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].location.to_string(), "p.yaml:4:3");
    assert!(
        e[0].message.contains("`a` is already used at p.yaml:1:3"),
        "{e:?}"
    );
    let (_, e) = RepoPolicies::parse(
        "- id: a\n  description: x\n  hosts: []\n  forbid: {inet_protocols: ~}\n",
        "p.yaml",
        c,
    );
    let shown: Vec<String> = e
        .iter()
        .map(|e| format!("{}: {}", e.location, e.message))
        .collect();
    assert_eq!(
        shown,
        [
            "p.yaml:3:10: `hosts` is empty: the policy would apply to no host",
            "p.yaml:4:28: inet_protocols: expected a value, found null",
        ]
    );
    let (_, e) = RepoPolicies::parse("id: a\n", "p.yaml", c);
    assert_eq!(e[0].location.to_string(), "p.yaml:1:1");
    assert!(e[0]
        .message
        .starts_with("expected a list of policies, found a mapping"));
    let (p, e) = RepoPolicies::parse("# nothing yet\n", "p.yaml", c);
    assert!(e.is_empty() && p.policies.is_empty());
}

#[test]
fn pull_mode_judges_the_host_by_the_repository_policies() {
    let (tmp, repo) = repo_copy();
    edit(&repo.join("defaults.yaml"), "  inet_protocols: ipv4\n", "");
    let plan = |tmp: &Path| {
        postform(
            tmp,
            &[
                "plan",
                "--repo",
                "repo",
                "--host",
                "relay2.example.com",
                "-c",
                "repo/snapshots/relay2.example.com",
            ],
        )
    };
    let out = plan(tmp.path());
    assert_eq!(code(&out), 1, "{}", support::describe(&out));
    let err = support::stderr(&out);
    let line = line_of(
        &repo.join("snapshots/relay2.example.com/main.cf"),
        "inet_protocols",
    );
    let expected = format!("Error: refused by policy ipv4_only: inet_protocols (repo/snapshots/relay2.example.com/main.cf:{line}): `all` is forbidden");
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains("allow: [ipv4_only]") && err.contains("nothing was written"),
        "{err}"
    );
    // allow: of the repository's id is known in pull mode too.
    let host = repo.join("hosts/relay2.example.com.yaml");
    let text = fs::read_to_string(&host).unwrap();
    fs::write(&host, format!("allow: [ipv4_only]\n{text}")).unwrap();
    let out = plan(tmp.path());
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("warning: allowed by the spec: policy ipv4_only: inet_protocols"),
        "{err}"
    );
}

/// `resolve --repo` (what the Ansible GitOps playbook applies) leaves a
/// repository policy id out of `allow:`, says so, and keeps the built-in
/// ones: the resolved spec loads where policies.yaml is not.
#[test]
fn resolve_leaves_repository_policy_ids_out_of_allow() {
    let (tmp, repo) = repo_copy();
    edit(
        &repo.join("hosts/relay1.example.com.yaml"),
        "main:\n",
        "allow: [ipv4_only]\nmain:\n",
    );
    let out = postform(
        tmp.path(),
        &["resolve", "--repo", "repo", "--host", "relay1.example.com"],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["allow"], serde_json::json!(["tls_downgrade"]));
    assert!(
        support::stderr(&out).contains(
            "host relay1.example.com: allow: ipv4_only left out: repository policies are judged by validate REPO"
        ),
        "{}",
        support::describe(&out)
    );
    let resolved = tmp.path().join("resolved.json");
    fs::write(&resolved, &out.stdout).unwrap();
    let out = postform(
        tmp.path(),
        &[
            "validate",
            "resolved.json",
            "-c",
            "repo/snapshots/relay1.example.com",
        ],
    );
    assert_eq!(code(&out), 0, "{}", support::describe(&out));
}
