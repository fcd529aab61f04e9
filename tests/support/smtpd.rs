//! Ask the real Postfix smtpd: does this main.cf + master.cf relay mail for
//! an unauthenticated client from an arbitrary Internet address?
//!
//! A Rust port of the research prototype (relay.md §7, relaytest.py):
//!
//! * Everything runs in a **private network namespace** (`unshare --net`):
//!   [`Netns::enter`] re-runs the calling test inside one. Nothing is
//!   reachable from outside, no port can clash with the host, DNS fails
//!   at once (no route).
//! * Inside, the client addresses 203.0.113.7 and 198.51.100.7 are made
//!   local with AnyIP routes (`ip route add local ... dev lo`), and
//!   2001:db8:7::7 is added to `lo`. The servers listen on 203.0.113.1,
//!   198.51.100.1 and [2001:db8:7::1], routed so that the kernel picks the
//!   matching client address as the source: a plain `connect` comes from
//!   an address that is **not** loopback. With `inet_interfaces =
//!   loopback-only` none of them is one of Postfix's own addresses, so a
//!   computed `mynetworks` (`mynetworks_style`) never covers them.
//! * One **throwaway instance per configuration** ([`Netns::run`]): the
//!   configuration's main.cf with harness lines appended (queue and data
//!   directories, log file, `inet_interfaces = loopback-only`, no alias
//!   maps: none of them is a relay parameter), and its master.cf with every
//!   `inet` service moved to the three server addresses on a private port
//!   and `chroot` off (a jail under the scratch queue has no /etc files).
//!   The queue directory is a copy of a template made once by `postfix
//!   check`; `quick-start` skips the start-up checks (about 0.05 s a start).
//! * Every smtpd `inet` service is probed from each client address with
//!   three strategies a real attacker has: `EHLO probe.example.org`, no
//!   HELO at all, and `EHLO 192.0.2.1` (a bare address); then
//!   `MAIL FROM:<probe@example.org>`, `RCPT TO:<victim@relay-target.example.net>`.
//!   [`Outcome::Relays`] when some probe gets a 2xx for RCPT,
//!   [`Outcome::Dead`] when smtpd exits at start (no greeting; the log's
//!   `fatal:` line is kept), else [`Outcome::Refuses`].
//! * The instance is always stopped (SIGTERM to its own master pid, which
//!   stops its process group) and its directory removed, also on panic.
//!   Every wait is time-limited.
//!
//! Not modelled: TLS (a service that answers `530 Must issue a STARTTLS
//! command first` is a harness error: choose configurations that do not
//! require it), SASL logins, DNS (DNS-based restrictions see failures).
//!
//! ```ignore
//! #[test]
//! fn my_test() {
//!     let Some(ns) = support::smtpd::Netns::enter("my_test", Duration::from_secs(120)) else {
//!         return; // ran in the child (and passed), or skipped
//!     };
//!     let report = ns.run(main_cf, master_cf).unwrap();
//!     ns.passed(1);
//! }
//! ```

use super::{find_program, is_root, skip_or_fail, write_backdated};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Set in the child: the run directory shared with the parent.
const NETNS_ENV: &str = "POSTFORM_SMTPD_NETNS";
/// The recipient: a domain the configurations do not serve.
pub const RCPT: &str = "victim@relay-target.example.net";
/// The envelope sender every probe uses.
pub const SENDER: &str = "probe@example.org";
/// The HELO names tried (`None`: no HELO at all).
pub const HELOS: [Option<&str>; 3] = [Some("probe.example.org"), None, Some("192.0.2.1")];
/// How long a probe waits for the greeting before calling the service dead.
const GREETING_LIMIT: Duration = Duration::from_secs(10);
/// Any other read or write of the dialogue.
const REPLY_LIMIT: Duration = Duration::from_secs(5);
/// `postfix start`, `postfix check`, `cp`, `ip`.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);

/// (server address, client address the kernel uses to reach it).
pub const LISTENERS: [(IpAddr, IpAddr); 3] = [
    (
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
    ),
    (
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
    ),
    (
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 7)),
    ),
];

/// What the real smtpd did for one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Some probe's RCPT got a 2xx reply.
    Relays,
    /// Every probe was refused (4xx/5xx for greeting, MAIL or RCPT).
    Refuses,
    /// smtpd exits at start: clients never get a greeting.
    Dead,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Relays => "RELAYS",
            Outcome::Refuses => "REFUSES",
            Outcome::Dead => "DEAD",
        })
    }
}

/// The verdict for one smtpd `inet` service of the configuration.
#[derive(Debug, Clone)]
pub struct ServiceReport {
    /// `name/inet` with the name as in the configuration's master.cf.
    pub service: String,
    pub outcome: Outcome,
    /// One line per probe (client, HELO, replies), and the fatal line.
    pub detail: Vec<String>,
}

/// Everything one instance showed.
#[derive(Debug, Clone)]
pub struct Report {
    /// Per smtpd inet service, keyed by `name/inet`.
    pub services: BTreeMap<String, ServiceReport>,
    /// The `fatal:` and `warning:` lines of the instance's log (each once).
    pub log: Vec<String>,
    /// Wall time of this instance (setup, start, probes, stop).
    pub took: Duration,
}

/// The private network namespace the calling test runs in (see the module
/// docs). Only exists in the child process.
#[derive(Debug)]
pub struct Netns {
    run_dir: PathBuf,
    template_spool: PathBuf,
    postfix: PathBuf,
    seq: AtomicUsize,
    next_port: AtomicU16,
}

impl Netns {
    /// In the test process: checks the real components (root, `unshare`,
    /// `ip`, Postfix's `postfix` and `smtpd`; [`skip_or_fail`] when one is
    /// missing), re-runs test `test` (its exact libtest name) inside
    /// `unshare --net`, waits at most `limit`, replays its output and
    /// panics unless it passed; returns `None`. In that child: sets up the
    /// namespace and returns it. The child must call [`Netns::passed`] at
    /// its end: a child that ran nothing (wrong name) fails the test.
    #[track_caller]
    pub fn enter(test: &str, limit: Duration) -> Option<Netns> {
        if let Some(dir) = std::env::var_os(NETNS_ENV).filter(|d| !d.is_empty()) {
            return Some(Self::inside(PathBuf::from(dir)));
        }
        let need = [
            ("unshare", "util-linux's `unshare` is not installed"),
            ("ip", "`ip` is not installed (Debian package iproute2)"),
            (
                "postfix",
                "Postfix is not installed (Debian package postfix)",
            ),
            ("cp", "`cp` is not installed"),
            ("kill", "`kill` is not installed (Debian package procps)"),
        ];
        for (program, why) in need {
            if find_program(program).is_none() {
                skip_or_fail(&format!("{why}: the relay differential test needs it."));
                return None;
            }
        }
        if smtpd_program().is_none() {
            skip_or_fail("Postfix's smtpd daemon is not installed (Debian package postfix).");
            return None;
        }
        if !Path::new("/proc/sys/net/ipv6").is_dir() {
            skip_or_fail(
                "IPv6 is disabled in this kernel: the relay differential test probes from an \
                 IPv6 client too.",
            );
            return None;
        }
        if !is_root() {
            skip_or_fail(
                "Only root can create a network namespace and start Postfix: the relay \
                 differential test needs root.",
            );
            return None;
        }
        // A container without CAP_SYS_ADMIN cannot make a namespace.
        let unshare = find_program("unshare").expect("unshare");
        let (status, text) = run_limited(
            Command::new(&unshare).args(["--net", "--", "true"]),
            COMMAND_LIMIT,
        );
        if !status.success() {
            skip_or_fail(&format!(
                "cannot create a network namespace here (`unshare --net true`: {}): the relay \
                 differential test needs one.",
                text.trim()
            ));
            return None;
        }
        let run = tempfile::Builder::new()
            .prefix("postform-relay-")
            .tempdir_in("/tmp")
            .expect("create run dir");
        fs::set_permissions(run.path(), fs::Permissions::from_mode(0o755)).expect("chmod run dir");
        let out = fs::File::create(run.path().join("child.out")).expect("child.out");
        let exe = std::env::current_exe().expect("current_exe");
        let started = Instant::now();
        let mut child = Command::new(&unshare)
            .arg("--net")
            .arg("--")
            .arg(&exe)
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, run.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn unshare --net {}: {e}", exe.display()));
        let status = wait_limited(&mut child, limit);
        // Whatever happened, no master of ours survives the run.
        kill_masters_under(run.path());
        let output = fs::read_to_string(run.path().join("child.out")).unwrap_or_default();
        let result = fs::read_to_string(run.path().join("result")).unwrap_or_default();
        // Replayed through print!: libtest shows it with --nocapture or on failure.
        print!("{output}");
        println!(
            "relay harness: child in a private network namespace took {:.1}s",
            started.elapsed().as_secs_f64()
        );
        match status {
            None => panic!(
                "the relay differential child did not finish within {limit:?} (killed); output above"
            ),
            Some(s) if !s.success() => panic!("the relay differential child failed ({s}); output above"),
            Some(_) if result.starts_with("passed") => {}
            Some(_) => panic!(
                "the relay differential child exited 0 without running the test (is {test:?} its \
                 exact name?); output above"
            ),
        }
        None
    }

    /// The child: network set-up and the template queue directory.
    fn inside(run_dir: PathBuf) -> Netns {
        let ip = find_program("ip").expect("ip");
        let mut steps = vec![words("link set lo up")];
        for (server, client) in LISTENERS {
            match (server, client) {
                (IpAddr::V4(s), IpAddr::V4(c)) => {
                    let net = Ipv4Addr::from(u32::from(s) & 0xffff_ff00);
                    steps.push(words(&format!("route add local {c}/32 dev lo table local")));
                    steps.push(words(&format!(
                        "route add local {net}/24 dev lo table local src {c}"
                    )));
                }
                (IpAddr::V6(s), IpAddr::V6(c)) => {
                    let seg = s.segments();
                    let net = Ipv6Addr::new(seg[0], seg[1], seg[2], 0, 0, 0, 0, 0);
                    steps.push(words(&format!("-6 addr add {c}/128 dev lo nodad")));
                    steps.push(words(&format!(
                        "-6 route add local {net}/48 dev lo table local"
                    )));
                }
                _ => unreachable!("listener families match"),
            }
        }
        for step in steps {
            let out = run_limited(Command::new(&ip).args(&step), COMMAND_LIMIT);
            assert!(
                out.0.success(),
                "ip {}: {}\n(inside the private network namespace)",
                step.join(" "),
                out.1
            );
        }
        // This namespace's sysctls only. Listening on an AnyIP IPv6 address
        // needs non-local binds. A new namespace queues at most 10
        // datagrams per unix socket: postlogd logs its own start-up
        // warnings through its not-yet-served socket, and with a few
        // warning processes starting at once everybody blocks on logging
        // (seen: smtpd never greets).
        for (knob, value) in [
            ("/proc/sys/net/ipv6/ip_nonlocal_bind", "1"),
            ("/proc/sys/net/unix/max_dgram_qlen", "512"),
        ] {
            fs::write(knob, value)
                .unwrap_or_else(|e| panic!("set {knob} = {value} in the private namespace: {e}"));
        }

        let postfix = find_program("postfix").expect("postfix");
        let template = run_dir.join("template");
        let etc = template.join("etc");
        let spool = template.join("spool");
        for d in [&etc, &spool, &template.join("data")] {
            fs::create_dir_all(d).expect("mkdir template");
        }
        fs::set_permissions(&template, fs::Permissions::from_mode(0o755)).expect("chmod");
        let main = format!(
            "compatibility_level = 3.6\nqueue_directory = {}\ndata_directory = {}\n\
             alias_maps =\nalias_database =\nmaillog_file_prefixes = {}\nmaillog_file = {}\n",
            spool.display(),
            template.join("data").display(),
            run_dir.display(),
            template.join("maillog").display()
        );
        write_backdated(&etc.join("main.cf"), main.as_bytes());
        write_backdated(&etc.join("master.cf"), DEBIAN_MASTER_CF.as_bytes());
        // post-install create-missing: the queue subdirectories, owned right.
        let out = run_limited(
            Command::new(&postfix).arg("-c").arg(&etc).arg("check"),
            COMMAND_LIMIT,
        );
        assert!(
            out.0.success() && spool.join("maildrop").is_dir(),
            "postfix -c {} check (template queue directory): {}",
            etc.display(),
            out.1
        );
        Netns {
            run_dir,
            template_spool: spool,
            postfix,
            seq: AtomicUsize::new(0),
            next_port: AtomicU16::new(20000),
        }
    }

    /// Starts a throwaway instance with this main.cf and master.cf, probes
    /// every smtpd `inet` service, stops it and removes its files. `Err`
    /// (with the log) when the harness itself cannot decide: Postfix does
    /// not start, or a service requires STARTTLS.
    pub fn run(&self, main_cf: &[u8], master_cf: &[u8]) -> Result<Report, String> {
        let started = Instant::now();
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let dir = self.run_dir.join(format!("case-{seq:03}"));
        let (master, services) =
            rewrite_master_cf(master_cf, || self.next_port.fetch_add(1, Ordering::SeqCst))?;
        let instance =
            Instance::create(&dir, &self.template_spool, main_cf, &master, &self.run_dir)?;
        let out = run_limited(
            Command::new(&self.postfix)
                .arg("-c")
                .arg(instance.dir.join("etc"))
                .arg("start"),
            COMMAND_LIMIT,
        );
        if !out.0.success() {
            return Err(format!(
                "postfix start failed ({}): {}\n--- log ---\n{}",
                out.0,
                out.1,
                instance.log_text()
            ));
        }
        let mut reports = BTreeMap::new();
        for (key, port) in services
            .iter()
            .filter(|s| s.smtpd)
            .map(|s| (&s.key, s.port))
        {
            let mut detail = Vec::new();
            let mut outcome = Outcome::Refuses;
            'probes: for (server, client) in LISTENERS {
                for helo in HELOS {
                    match probe(SocketAddr::new(server, port), helo, &instance.log) {
                        Ok(Probed::Relays(t)) => {
                            detail.push(format!("{client} helo={helo:?}: {t}"));
                            outcome = Outcome::Relays;
                            break 'probes;
                        }
                        Ok(Probed::Refuses(t)) => {
                            detail.push(format!("{client} helo={helo:?}: {t}"))
                        }
                        Ok(Probed::Dead(t)) => {
                            detail.push(format!("{client}: {t}"));
                            outcome = Outcome::Dead;
                            break 'probes;
                        }
                        Err(e) => {
                            return Err(format!(
                                "service {key}, from {client} helo={helo:?}: {e}\n--- log ---\n{}",
                                instance.log_text()
                            ))
                        }
                    }
                }
            }
            reports.insert(
                key.clone(),
                ServiceReport {
                    service: key.clone(),
                    outcome,
                    detail,
                },
            );
        }
        let mut log: Vec<String> = Vec::new();
        for line in instance.log_text().lines() {
            let text = line.split_once("]: ").map_or(line, |(_, r)| r);
            if (text.starts_with("fatal: ") || text.starts_with("warning: "))
                && !log.iter().any(|l| l == text)
            {
                log.push(text.to_string());
            }
        }
        drop(instance);
        Ok(Report {
            services: reports,
            log,
            took: started.elapsed(),
        })
    }

    /// Marks the child's test as having run `cases` cases (the parent
    /// checks for it).
    pub fn passed(&self, cases: usize) {
        fs::write(self.run_dir.join("result"), format!("passed {cases}\n")).expect("write result");
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Debian's master.cf (examples/postfix/master.cf), for the template.
const DEBIAN_MASTER_CF: &str = include_str!("../../examples/postfix/master.cf");

/// The smtpd daemon (`$daemon_directory/smtpd`, the compiled-in default:
/// there may be no /etc/postfix/main.cf).
fn smtpd_program() -> Option<PathBuf> {
    let postconf = find_program("postconf")?;
    let out = Command::new(postconf)
        .args(["-d", "-h", "daemon_directory"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let p = Path::new(&dir).join("smtpd");
    p.is_file().then_some(p)
}

/// One smtpd service found in master.cf.
#[derive(Debug)]
struct Listener {
    key: String,
    port: u16,
    smtpd: bool,
}

/// master.cf for the instance: each `inet` entry once per server address
/// (`203.0.113.1:PORT`...), `chroot` `n` everywhere; the rest unchanged.
fn rewrite_master_cf(
    text: &[u8],
    mut port: impl FnMut() -> u16,
) -> Result<(String, Vec<Listener>), String> {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut listeners = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let starts_entry = !line.is_empty()
            && !line.starts_with(|c: char| c.is_ascii_whitespace())
            && !line.starts_with('#');
        if !starts_entry {
            // Comment, blank line, or an orphan continuation (Postfix
            // drops it with a warning; keep it so the instance does too).
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut cont = Vec::new();
        while i < lines.len() {
            let l = lines[i];
            let t = l.trim_start();
            if t.is_empty() || t.starts_with('#') {
                // Skipped by Postfix inside a logical line.
                i += 1;
                continue;
            }
            if !l.starts_with(|c: char| c.is_ascii_whitespace()) {
                break;
            }
            cont.push(l);
            i += 1;
        }
        let mut head: Vec<String> = line.split_whitespace().map(String::from).collect();
        if head.len() < 5 {
            return Err(format!(
                "harness: master.cf entry {line:?} splits its fields over several lines; write them on one"
            ));
        }
        head[4] = "n".into();
        let all: Vec<&str> = line
            .split_whitespace()
            .chain(cont.iter().flat_map(|l| l.split_whitespace()))
            .collect();
        let command = all.get(7).copied().unwrap_or("");
        if head[1] == "inet" {
            let p = port();
            let key = format!("{}/inet", head[0]);
            listeners.push(Listener {
                key,
                port: p,
                smtpd: command == "smtpd" || command.ends_with("/smtpd"),
            });
            for (server, _) in LISTENERS {
                head[0] = match server {
                    IpAddr::V4(a) => format!("{a}:{p}"),
                    IpAddr::V6(a) => format!("[{a}]:{p}"),
                };
                out.push_str(&head.join(" "));
                out.push('\n');
                for l in &cont {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        } else {
            out.push_str(&head.join(" "));
            out.push('\n');
            for l in &cont {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    Ok((out, listeners))
}

/// The main.cf names the harness sets for every instance.
const HARNESS_NAMES: [&str; 7] = [
    "queue_directory",
    "data_directory",
    "maillog_file_prefixes",
    "maillog_file",
    "inet_interfaces",
    "alias_maps",
    "alias_database",
];

/// main.cf without the definitions of `names` (each with its
/// continuation lines), ending in a newline.
fn without_definitions(main_cf: &[u8], names: &[&str]) -> Vec<u8> {
    let text = String::from_utf8_lossy(main_cf);
    let mut out = String::new();
    let mut dropping = false;
    for line in text.lines() {
        let continuation = line.starts_with([' ', '\t']) && !line.trim().is_empty();
        if continuation && dropping {
            continue;
        }
        dropping = !continuation
            && line
                .split_once('=')
                .is_some_and(|(name, _)| names.contains(&name.trim_end()));
        if !dropping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// A configured instance directory; dropping it stops the master (if it
/// runs) and removes the directory.
#[derive(Debug)]
struct Instance {
    dir: PathBuf,
    log: PathBuf,
}

impl Instance {
    fn create(
        dir: &Path,
        template_spool: &Path,
        main_cf: &[u8],
        master_cf: &str,
        run_dir: &Path,
    ) -> Result<Instance, String> {
        fs::create_dir(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        // From here on, Drop cleans up.
        let inst = Instance {
            dir: dir.to_path_buf(),
            log: dir.join("maillog"),
        };
        let (etc, data, spool) = (dir.join("etc"), dir.join("data"), dir.join("spool"));
        for d in [&etc, &data] {
            fs::create_dir(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
        }
        for d in [dir, &etc, &data] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod {}: {e}", d.display()))?;
        }
        let (uid, gid) = postfix_ids();
        std::os::unix::fs::chown(&data, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", data.display()))?;
        let out = run_limited(
            Command::new("cp").arg("-a").arg(template_spool).arg(&spool),
            COMMAND_LIMIT,
        );
        if !out.0.success() {
            return Err(format!("cp -a {}: {}", template_spool.display(), out.1));
        }
        fs::write(spool.join("quick-start"), b"").map_err(|e| format!("quick-start: {e}"))?;
        // The harness's names replace the configuration's definitions
        // (appending duplicates would make every process warn).
        let mut main = without_definitions(main_cf, &HARNESS_NAMES);
        main.extend_from_slice(
            format!(
                "# --- relay harness (isolation only; none is a relay parameter) ---\n\
                 queue_directory = {spool}\n\
                 data_directory = {data}\n\
                 maillog_file_prefixes = {run}\n\
                 maillog_file = {log}\n\
                 inet_interfaces = loopback-only\n\
                 alias_maps =\n\
                 alias_database =\n",
                spool = spool.display(),
                data = data.display(),
                run = run_dir.display(),
                log = inst.log.display(),
            )
            .as_bytes(),
        );
        write_backdated(&etc.join("main.cf"), &main);
        write_backdated(&etc.join("master.cf"), master_cf.as_bytes());
        Ok(inst)
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        stop_master(&self.dir.join("spool/pid/master.pid"));
        for _ in 0..20 {
            match fs::remove_dir_all(&self.dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                // A child of the master may still be finishing a write.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// SIGTERM to the master whose pid file this is (it stops its process
/// group), then wait until it is gone or a zombie (re-parented, reaped
/// late); SIGKILL after 3 s.
fn stop_master(pid_file: &Path) {
    let Some(pid) = fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return;
    };
    if !alive(pid) {
        return;
    }
    let _ = run_limited(
        Command::new("kill").args(["-TERM", &pid.to_string()]),
        COMMAND_LIMIT,
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(pid) {
        if Instant::now() > deadline {
            let _ = run_limited(
                Command::new("kill").args(["-KILL", &pid.to_string()]),
                COMMAND_LIMIT,
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Running and not a zombie (/proc/PID/stat state).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}

/// After the child: stop any master still running under the run directory.
fn kill_masters_under(run_dir: &Path) {
    let Ok(entries) = fs::read_dir(run_dir) else {
        return;
    };
    for e in entries.flatten() {
        stop_master(&e.path().join("spool/pid/master.pid"));
    }
}

fn postfix_ids() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "postfix").then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
        .and_then(|(u, g)| Some((u?, g?)))
        .expect("no `postfix` user in /etc/passwd (is the postfix package installed?)")
}

/// Waits for `child` at most `limit`; kills it (SIGKILL) after that and
/// returns `None`.
fn wait_limited(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Runs a command with stdin closed and a time limit; (status, stdout +
/// stderr). A command over the limit is killed and reported as failed.
fn run_limited(cmd: &mut Command, limit: Duration) -> (ExitStatus, String) {
    let out = tempfile::tempfile().expect("tempfile");
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out.try_clone().expect("dup"))
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("failed to run {cmd:?}: {e}"),
    };
    let status = wait_limited(&mut child, limit);
    let mut text = String::new();
    let mut f = out;
    use std::io::Seek;
    let _ = f.seek(std::io::SeekFrom::Start(0));
    let _ = f.read_to_string(&mut text);
    match status {
        Some(s) => (s, text),
        None => {
            use std::os::unix::process::ExitStatusExt;
            (
                ExitStatus::from_raw(9),
                format!("{text}\n(killed after {limit:?}: {cmd:?})"),
            )
        }
    }
}

/// One probe's result.
enum Probed {
    Relays(String),
    Refuses(String),
    Dead(String),
}

/// One SMTP dialogue with the service at `addr` (see the module docs).
/// `Err`: the harness cannot decide (connection failure, STARTTLS needed).
fn probe(addr: SocketAddr, helo: Option<&str>, log: &Path) -> Result<Probed, String> {
    let log_from = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let stream = TcpStream::connect_timeout(&addr, REPLY_LIMIT)
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let mut smtp = Smtp {
        stream,
        buf: Vec::new(),
    };
    // The greeting, or smtpd's death (its fatal: line in the log).
    let deadline = Instant::now() + GREETING_LIMIT;
    let greeting = loop {
        match smtp.reply(Duration::from_millis(100)) {
            Ok(Some(r)) => break r,
            Ok(None) => {}
            Err(e) => {
                return Ok(Probed::Dead(format!(
                    "no greeting ({e}); {}",
                    fatal_since(log, log_from).unwrap_or_default()
                )))
            }
        }
        if let Some(fatal) = fatal_since(log, log_from) {
            return Ok(Probed::Dead(fatal));
        }
        if Instant::now() > deadline {
            let text = fs::read(log).unwrap_or_default();
            let new = String::from_utf8_lossy(text.get(log_from as usize..).unwrap_or_default());
            return Ok(Probed::Dead(format!(
                "no greeting within {GREETING_LIMIT:?}; log since connect:\n{new}"
            )));
        }
    };
    if greeting.0 != 220 {
        return Ok(Probed::Refuses(format!("greeting {}", greeting.1)));
    }
    let mut said = Vec::new();
    if let Some(h) = helo {
        let r = smtp.command(&format!("EHLO {h}"))?;
        // A rejected EHLO does not stop an attacker: MAIL may still work.
        said.push(format!("EHLO {}", r.0));
    }
    let r = smtp.command(&format!("MAIL FROM:<{SENDER}>"))?;
    said.push(format!("MAIL {}", r.1));
    if r.0 == 530 {
        return Err(format!(
            "MAIL got {:?}: the service requires STARTTLS, which this harness does not speak",
            r.1
        ));
    }
    if r.0 / 100 != 2 {
        let _ = smtp.command("QUIT");
        return Ok(Probed::Refuses(said.join("; ")));
    }
    let r = smtp.command(&format!("RCPT TO:<{RCPT}>"))?;
    said.push(format!("RCPT {}", r.1));
    let _ = smtp.command("QUIT");
    Ok(if r.0 / 100 == 2 {
        Probed::Relays(said.join("; "))
    } else {
        Probed::Refuses(said.join("; "))
    })
}

/// The first `fatal:` line of an smtpd process logged since offset `from`
/// (the master's "bad command startup" comes a second later; a dead
/// service without a fatal line is caught by the greeting time limit).
fn fatal_since(log: &Path, from: u64) -> Option<String> {
    let bytes = fs::read(log).ok()?;
    let new = String::from_utf8_lossy(bytes.get(from as usize..)?).into_owned();
    new.lines()
        .find(|l| l.contains("smtpd[") && l.contains(": fatal: "))
        .map(|l| l.split_once("]: ").map_or(l, |(_, r)| r).to_string())
}

/// A minimal SMTP client over a plain TCP stream.
struct Smtp {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Smtp {
    /// Sends a command and reads the (possibly multi-line) reply.
    fn command(&mut self, line: &str) -> Result<(u16, String), String> {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("send {line:?}: {e}"))?;
        match self.reply(REPLY_LIMIT) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(format!("no reply to {line:?} within {REPLY_LIMIT:?}")),
            Err(e) => Err(format!("reply to {line:?}: {e}")),
        }
    }

    /// One complete reply: `Ok(None)` when none arrived within `wait`,
    /// `Err` when the connection ended or failed.
    fn reply(&mut self, wait: Duration) -> Result<Option<(u16, String)>, String> {
        self.stream
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        loop {
            if let Some(r) = self.take_reply() {
                return Ok(Some(r));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// A complete reply from the buffer: lines up to one whose fourth
    /// byte is not `-`.
    fn take_reply(&mut self) -> Option<(u16, String)> {
        let mut start = 0;
        while let Some(end) = self.buf[start..].windows(2).position(|w| w == b"\r\n") {
            let line = &self.buf[start..start + end];
            let last = line.get(3) != Some(&b'-');
            start += end + 2;
            if last {
                let text = String::from_utf8_lossy(line).into_owned();
                let code = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                self.buf.drain(..start);
                return Some((code, text));
            }
        }
        None
    }
}
