//! The fleet through Ansible: the collection's playbook
//! `postform.postfix.gitops` applies a GitOps repository (a copy of
//! examples/gitops) to three local "hosts" (`ansible_connection=local`, each
//! with its own config dir holding that host's snapshot). Check mode is the
//! fleet plan against the live hosts and must agree with
//! `postform plan --repo --all`; then apply; then an idempotent re-run; and
//! with `serial: 1` the first failing host stops the rollout.

use super::*;

const APPLY_TASK: &str = "Postfix is in the state the repository declares";
const HOSTS: [&str; 3] = [
    "mx2.example.com",
    "relay1.example.com",
    "relay2.example.com",
];

/// A scratch repository and one live config dir per host.
struct Fleet {
    root: tempfile::TempDir,
}

impl Fleet {
    fn new(hosts: &[&str]) -> Fleet {
        let root = tempfile::Builder::new()
            .prefix("postform-fleet-")
            .tempdir()
            .unwrap();
        let example = support::repo_root().join("examples/gitops");
        let repo = root.path().join("repo");
        copy_dir(&example.join("hosts"), &repo.join("hosts"));
        copy_dir(&example.join("groups"), &repo.join("groups"));
        fs::copy(example.join("defaults.yaml"), repo.join("defaults.yaml")).unwrap();
        for h in hosts {
            let live = root.path().join("live").join(h);
            fs::create_dir_all(&live).unwrap();
            let snap = example.join("snapshots").join(h);
            if snap.is_dir() {
                for f in ["main.cf", "master.cf"] {
                    support::write_backdated(&live.join(f), &fs::read(snap.join(f)).unwrap());
                }
            }
            if *h == "relay1.example.com" {
                // relay1 takes the relay role's $config_directory/sasl_passwd: its
                // credentials were provisioned before (postform refuses to
                // name a table whose index does not exist).
                provision_sasl_passwd(&live);
            }
        }
        Fleet { root }
    }

    fn repo(&self) -> PathBuf {
        self.root.path().join("repo")
    }

    fn live(&self, host: &str) -> PathBuf {
        self.root.path().join("live").join(host)
    }

    /// An inventory: every host local, with its own config dir.
    fn inventory(&self, hosts: &[&str]) -> PathBuf {
        let mut text = String::from("[postfix]\n");
        for h in hosts {
            text.push_str(&format!(
                "{h} ansible_connection=local postform_config_dir={}\n",
                self.live(h).display()
            ));
        }
        let path = self.root.path().join("inventory.ini");
        fs::write(&path, text).unwrap();
        path
    }

    fn main_cf(&self, host: &str) -> (Vec<u8>, SystemTime) {
        let p = self.live(host).join("main.cf");
        (
            fs::read(&p).unwrap(),
            fs::metadata(&p).unwrap().modified().unwrap(),
        )
    }

    /// `postform plan --repo REPO --all --snapshots LIVE --json`, per host.
    fn fleet_plan(&self) -> BTreeMapHosts {
        let out = support::run(
            Command::new(support::postform_bin())
                .args(["plan", "--all", "--json", "--repo"])
                .arg(self.repo())
                .arg("--snapshots")
                .arg(self.root.path().join("live")),
        );
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("fleet plan JSON: {e}\n{}", support::describe(&out)));
        v["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["host"].as_str().unwrap().to_string(), h.clone()))
            .collect()
    }

    fn run(&self, c: &Collection, inventory: &Path, extra: &[&str]) -> (Output, Report) {
        c.run_playbook_json(
            Path::new("postform.postfix.gitops"),
            inventory.to_str().unwrap(),
            json!({"postform_gitops_repo": self.repo()}),
            extra,
        )
    }
}

/// `sasl_passwd` and its index, built with the real postmap.
fn provision_sasl_passwd(live: &Path) {
    let Some(postmap) = support::postmap() else {
        support::skip_or_fail("postmap (Debian package postfix)");
        return;
    };
    let table = live.join("sasl_passwd");
    fs::write(
        &table,
        "[smtp.example.net]:587 relay-user:not-a-real-password\n",
    )
    .unwrap();
    let out = support::run(
        Command::new(postmap)
            .arg("-c")
            .arg(live)
            .arg(format!("hash:{}", table.display())),
    );
    assert!(out.status.success(), "postmap: {}", support::describe(&out));
}

type BTreeMapHosts = std::collections::BTreeMap<String, Value>;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn change_names(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Check mode first (= `postform plan --repo --all` against the live
/// hosts, nothing written), then apply, then a re-run that changes nothing.
#[test]
fn fleet_playbook_plans_applies_and_converges() {
    let Some(c) = collection() else { return };
    let fleet = Fleet::new(&HOSTS);
    let inventory = fleet.inventory(&HOSTS);
    let plan = fleet.fleet_plan();
    let before: Vec<_> = HOSTS.iter().map(|h| fleet.main_cf(h)).collect();

    let (out, report) = fleet.run(c, &inventory, &["--check", "--diff"]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    for h in HOSTS {
        let r = report.result(h, APPLY_TASK);
        let p = &plan[h];
        assert_eq!(
            r["changed"], p["changed"],
            "{h}: changed, Ansible vs fleet plan\n{ctx}"
        );
        assert_eq!(r["service_action"], p["service_action"], "{h}\n{ctx}");
        assert_eq!(
            change_names(&r["changes"]),
            change_names(&p["changes"]),
            "{h}\n{ctx}"
        );
        if p["changed"] == json!(true) {
            assert!(
                r["diff"]["after"].is_string(),
                "{h}: --diff shows the change\n{ctx}"
            );
        }
    }
    // The example's expectations, so the comparison above is not vacuous.
    assert_eq!(plan["mx2.example.com"]["service_action"], json!("reload"));
    assert_eq!(
        plan["relay1.example.com"]["service_action"],
        json!("restart")
    );
    assert_eq!(
        plan["relay2.example.com"]["service_action"],
        json!("restart")
    );
    for (h, b) in HOSTS.iter().zip(&before) {
        assert_eq!(&fleet.main_cf(h), b, "{h}: check mode wrote main.cf\n{ctx}");
    }

    // Apply.
    let (out, report) = fleet.run(c, &inventory, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    for h in HOSTS {
        assert_eq!(
            report.result(h, APPLY_TASK)["changed"],
            json!(true),
            "{h}\n{ctx}"
        );
    }
    let after = fleet.fleet_plan();
    for h in HOSTS {
        assert_eq!(
            after[h]["changed"],
            json!(false),
            "{h} not converged: {:#}",
            after[h]
        );
        assert_eq!(after[h]["errors"], json!([]), "{h}: {:#}", after[h]);
    }

    // Converged: nothing changes, no handler, files untouched.
    let applied: Vec<_> = HOSTS.iter().map(|h| fleet.main_cf(h)).collect();
    let (out, report) = fleet.run(c, &inventory, &[]);
    let ctx = describe_report(&out, &report);
    assert!(out.status.success(), "{ctx}");
    for h in HOSTS {
        assert_eq!(
            report.result(h, APPLY_TASK)["changed"],
            json!(false),
            "{h}\n{ctx}"
        );
        assert_eq!(report.json["stats"][h]["changed"], json!(0), "{h}\n{ctx}");
    }
    for (h, a) in HOSTS.iter().zip(&applied) {
        assert_eq!(&fleet.main_cf(h), a, "{h}: re-run rewrote main.cf\n{ctx}");
    }
}

/// `serial: 1` with a host the repository does not know in the second
/// batch: the first host is applied, the unknown one fails naming the known
/// hosts, and the rollout stops: the third host is untouched.
#[test]
fn fleet_playbook_stops_at_the_first_failure() {
    let Some(c) = collection() else { return };
    let order = ["mx2.example.com", "ghost.example.com", "relay1.example.com"];
    let fleet = Fleet::new(&order);
    let inventory = fleet.inventory(&order);
    let relay1 = fleet.main_cf("relay1.example.com");
    let (out, report) = fleet.run(c, &inventory, &["-e", "postform_gitops_serial=1"]);
    let ctx = describe_report(&out, &report);
    assert!(!out.status.success(), "{ctx}");
    assert_eq!(
        report.result("mx2.example.com", APPLY_TASK)["changed"],
        json!(true),
        "{ctx}"
    );
    let ghost = report.result("ghost.example.com", APPLY_TASK);
    assert_eq!(ghost["failed"], json!(true), "{ctx}");
    let msg = ghost["msg"].as_str().unwrap_or_default();
    assert!(
        msg.contains("no spec for host \"ghost.example.com\""),
        "{ctx}"
    );
    assert!(msg.contains("known hosts:"), "{ctx}");
    assert!(
        report.results("relay1.example.com", APPLY_TASK).is_empty(),
        "the rollout went on after a failure\n{ctx}"
    );
    assert_eq!(fleet.main_cf("relay1.example.com"), relay1, "{ctx}");
}
