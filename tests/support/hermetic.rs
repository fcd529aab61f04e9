//! A throwaway Postfix daemon for end-to-end tests.
//!
//! Each [`HermeticPostfix`] owns a base directory `B` (a tempdir under /tmp)
//! with `B/etc` (config: main.cf + master.cf), `B/spool` (queue_directory)
//! and `B/data` (data_directory), an smtpd listening on a free high loopback
//! port, a unique `multi_instance_name`, and its own log file
//! `/var/log/postform-test-<name>.log` (Postfix refuses a `maillog_file`
//! outside `maillog_file_prefixes`, and there is no syslog socket here).
//! Instances are independent, so tests using them may run in parallel.
//!
//! Dropping the value stops the daemon (`postfix -c B/etc stop`, falling back
//! to killing the master from `master.pid`: with `inet_protocols = ipv4` and an
//! IPv6 address in `inet_interfaces` every postfix command is fatal) and
//! removes the base directory and the log file (the log is kept, and its tail
//! printed, when the test is panicking).

use super::{describe, find_program, is_root, run, skip_or_fail, wait_until};
use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ports handed out by this process, never reused (parallel tests).
static PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static INSTANCE_SEQ: AtomicU32 = AtomicU32::new(0);

/// How long to wait for the daemon to come up / go down / reload.
const SETTLE: Duration = Duration::from_secs(20);

/// A running, private Postfix instance. See the module docs.
#[derive(Debug)]
pub struct HermeticPostfix {
    base: tempfile::TempDir,
    name: String,
    port: u16,
    maillog: PathBuf,
    postfix_bin: PathBuf,
}

impl HermeticPostfix {
    /// Whether a hermetic daemon can run here (root, `postfix` installed).
    /// When not, it has already called [`skip_or_fail`] (panics under
    /// `POSTFORM_REQUIRE_REAL=1`, else a loud skip).
    #[track_caller]
    pub fn available() -> bool {
        if find_program("postfix").is_none() {
            skip_or_fail(
                "Postfix is not installed (Debian package `postfix`): no hermetic daemon.",
            );
            return false;
        }
        if !is_root() {
            skip_or_fail("Only root can start a Postfix daemon: hermetic daemon tests need root.");
            return false;
        }
        true
    }

    /// Starts an instance, or returns `None` after a loud skip when that is
    /// impossible here and real components are not required.
    /// Usage: `let Some(pf) = HermeticPostfix::try_start("") else { return };`
    #[track_caller]
    pub fn try_start(main_extra: &str) -> Option<Self> {
        if Self::available() {
            Some(Self::start(main_extra))
        } else {
            None
        }
    }

    /// Starts an instance; panics (with the daemon's log) when it cannot.
    ///
    /// main.cf holds the required settings (`compatibility_level = 3.6`,
    /// queue/data directories, `inet_interfaces = loopback-only`,
    /// `inet_protocols = all`, empty `mydestination`/`alias_maps`/
    /// `alias_database`, ...) followed by the lines of `main_extra`, which
    /// therefore override them (last definition wins).
    #[track_caller]
    pub fn start(main_extra: &str) -> Self {
        let postfix_bin = find_program("postfix").unwrap_or_else(|| {
            panic!("HermeticPostfix::start: `postfix` is not installed (use try_start to skip)")
        });
        assert!(
            is_root(),
            "HermeticPostfix::start: only root can start Postfix (use try_start to skip)"
        );
        let name = unique_name();
        let base = tempfile::Builder::new()
            .prefix("postform-pf-")
            .tempdir_in("/tmp")
            .expect("create base dir");
        let b = base.path();
        fs::set_permissions(b, fs::Permissions::from_mode(0o755)).expect("chmod 755 base dir");
        for sub in ["etc", "spool", "data"] {
            fs::create_dir(b.join(sub)).expect("mkdir base subdir");
            fs::set_permissions(b.join(sub), fs::Permissions::from_mode(0o755))
                .expect("chmod base subdir");
        }
        let (uid, gid) = postfix_ids();
        std::os::unix::fs::chown(b.join("data"), Some(uid), Some(gid))
            .expect("chown postfix data_directory");

        let maillog = PathBuf::from(format!("/var/log/postform-test-{name}.log"));
        let main = format!(
            "# postform test harness: hermetic instance {name}\n\
             compatibility_level = 3.6\n\
             queue_directory = {b}/spool\n\
             data_directory = {b}/data\n\
             multi_instance_name = {name}\n\
             maillog_file = {log}\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = all\n\
             mydestination =\n\
             alias_maps =\n\
             alias_database =\n\
             myhostname = {name}.postform.test\n\
             smtpd_banner = $myhostname ESMTP postform-test\n\
             {main_extra}{nl}",
            b = b.display(),
            log = maillog.display(),
            nl = if main_extra.is_empty() || main_extra.ends_with('\n') {
                ""
            } else {
                "\n"
            },
        );

        let mut pf = HermeticPostfix {
            base,
            name,
            port: 0,
            maillog,
            postfix_bin,
        };
        super::write_backdated(&pf.main_cf_path(), main.as_bytes());

        // From here on `pf` is dropped (daemon stopped) if anything panics.
        let mut attempt = 0;
        loop {
            attempt += 1;
            pf.port = pick_port();
            super::write_backdated(&pf.master_cf_path(), master_cf_for(pf.port).as_bytes());
            let out = pf.postfix(&["start"]);
            if out.status.success() && pf.wait_listening() {
                break;
            }
            let log = pf.maillog();
            let port_clash = log.contains("Address already in use");
            if port_clash && attempt < 4 {
                // Someone grabbed the port between our probe and the bind.
                let _ = pf.postfix(&["stop"]);
                pf.kill_master();
                continue;
            }
            panic!(
                "HermeticPostfix: `postfix -c {} start` failed (port {}).\n{}\n--- maillog {} ---\n{}",
                pf.config_dir().display(),
                pf.port,
                describe(&out),
                pf.maillog.display(),
                log
            );
        }
        pf
    }

    /// The base directory B.
    pub fn base_dir(&self) -> &Path {
        self.base.path()
    }

    /// The config directory B/etc (pass it as `postform -c`).
    pub fn config_dir(&self) -> PathBuf {
        self.base.path().join("etc")
    }

    /// B/etc/main.cf.
    pub fn main_cf_path(&self) -> PathBuf {
        self.config_dir().join("main.cf")
    }

    /// B/etc/master.cf.
    pub fn master_cf_path(&self) -> PathBuf {
        self.config_dir().join("master.cf")
    }

    /// Current bytes of main.cf.
    pub fn main_cf(&self) -> Vec<u8> {
        fs::read(self.main_cf_path()).expect("read main.cf")
    }

    /// Replaces main.cf (backdated). Does not reload.
    pub fn write_main_cf(&self, bytes: &[u8]) {
        super::write_backdated(&self.main_cf_path(), bytes);
    }

    /// Appends lines to main.cf (they win: last definition wins). Backdated.
    pub fn append_main_cf(&self, lines: &str) {
        let mut bytes = self.main_cf();
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(lines.as_bytes());
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        self.write_main_cf(&bytes);
    }

    /// The smtpd port (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance's `multi_instance_name` (also its syslog_name).
    pub fn instance_name(&self) -> &str {
        &self.name
    }

    /// `"127.0.0.1:<port>"`, as [`listeners`](Self::listeners) reports it.
    pub fn v4_listener(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `"[::1]:<port>"`, as [`listeners`](Self::listeners) reports it.
    pub fn v6_listener(&self) -> String {
        format!("[::1]:{}", self.port)
    }

    /// The master's pid from B/spool/pid/master.pid, only while that process
    /// is alive (the file outlives the daemon).
    pub fn master_pid(&self) -> Option<u32> {
        self.raw_master_pid()
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
    }

    fn raw_master_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.base.path().join("spool/pid/master.pid")).ok()?;
        text.trim().parse().ok()
    }

    /// Sorted listening TCP sockets on this instance's port, e.g.
    /// `["127.0.0.1:2525", "[::1]:2525"]` (from `ss -ltnH`, or /proc/net).
    pub fn listeners(&self) -> Vec<String> {
        listeners_on(self.port)
    }

    /// Reads the SMTP greeting from 127.0.0.1:port (panics with the log on
    /// failure). Sends QUIT afterwards.
    pub fn banner(&self) -> String {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port);
        self.try_banner(addr).unwrap_or_else(|e| {
            panic!(
                "no SMTP banner from {addr}: {e}\n--- maillog ---\n{}",
                self.maillog()
            )
        })
    }

    /// Reads the SMTP greeting from `addr` (e.g. `[::1]:port`).
    pub fn try_banner(&self, addr: SocketAddr) -> std::io::Result<String> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line)?;
        let _ = s.write_all(b"QUIT\r\n");
        Ok(line.trim_end().to_string())
    }

    /// `postfix -c B/etc status` exits 0.
    pub fn is_running(&self) -> bool {
        self.postfix(&["status"]).status.success()
    }

    /// The instance's log file contents ("" before anything was logged).
    pub fn maillog(&self) -> String {
        fs::read(&self.maillog)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Path of the instance's log file (under /var/log).
    pub fn maillog_path(&self) -> &Path {
        &self.maillog
    }

    /// Runs `postfix -c B/etc ARGS...` and returns its output (no checks).
    pub fn postfix(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.postfix_bin);
        cmd.arg("-c").arg(self.config_dir()).args(args);
        run(&mut cmd)
    }

    /// `postfix reload`, asserting success, then waits until the master has
    /// logged that it re-read its configuration.
    pub fn reload(&self) {
        let before = self.count_in_log("reload -- version");
        let out = self.postfix(&["reload"]);
        assert!(
            out.status.success(),
            "postfix reload failed\n{}\n--- maillog ---\n{}",
            describe(&out),
            self.maillog()
        );
        assert!(
            wait_until(SETTLE, || self.count_in_log("reload -- version") > before),
            "master did not log its reload\n--- maillog ---\n{}",
            self.maillog()
        );
    }

    /// Stops the daemon (`postfix stop`, asserting success) and waits until
    /// the master is gone and nothing listens on the port.
    pub fn stop(&self) {
        let out = self.postfix(&["stop"]);
        assert!(
            out.status.success(),
            "postfix stop failed\n{}\n--- maillog ---\n{}",
            describe(&out),
            self.maillog()
        );
        assert!(
            self.wait_stopped(),
            "postfix did not stop: pid {:?}, listeners {:?}",
            self.master_pid(),
            self.listeners()
        );
    }

    /// Starts the (stopped) daemon again with the current config files
    /// (`postfix start`, asserting success) and waits for its listeners.
    pub fn start_again(&self) {
        let out = self.postfix(&["start"]);
        assert!(
            out.status.success() && self.wait_listening(),
            "postfix start failed\n{}\n--- maillog ---\n{}",
            describe(&out),
            self.maillog()
        );
    }

    /// A full restart: [`stop`](Self::stop) then [`start_again`](Self::start_again).
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// Waits for a live master and the IPv4 listener.
    fn wait_listening(&self) -> bool {
        let v4 = self.v4_listener();
        wait_until(SETTLE, || {
            self.master_pid().is_some() && self.listeners().contains(&v4)
        })
    }

    /// Waits for the master to exit and the port to be released (smtpd
    /// children may hold the socket a moment longer than the master).
    fn wait_stopped(&self) -> bool {
        wait_until(SETTLE, || {
            self.master_pid().is_none() && self.listeners().is_empty()
        })
    }

    fn count_in_log(&self, needle: &str) -> usize {
        self.maillog().matches(needle).count()
    }

    /// Last resort: SIGTERM, then SIGKILL to the master's process group.
    fn kill_master(&self) {
        let Some(pid) = self.master_pid() else { return };
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .output();
        if wait_until(Duration::from_secs(5), || self.master_pid().is_none()) {
            return;
        }
        // The master calls setsid(), so its pid is its process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .output();
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .output();
        wait_until(Duration::from_secs(5), || self.master_pid().is_none());
    }
}

impl Drop for HermeticPostfix {
    fn drop(&mut self) {
        if self.master_pid().is_some() {
            // May fail (e.g. a config that makes every postfix command fatal).
            let stopped = self.postfix(&["stop"]).status.success();
            if !(stopped && wait_until(Duration::from_secs(10), || self.master_pid().is_none())) {
                self.kill_master();
            }
        }
        if std::thread::panicking() {
            let log = self.maillog();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "--- HermeticPostfix {}: last lines of {} (kept) ---",
                self.name,
                self.maillog.display()
            );
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        } else {
            let _ = fs::remove_file(&self.maillog);
        }
        // `base` (the TempDir) is removed after this.
    }
}

/// Unique across parallel tests and concurrent test processes.
fn unique_name() -> String {
    let seq = INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("pft-{}-{seq}-{:x}", std::process::id(), nanos & 0xffff)
}

/// uid/gid of the `postfix` user (from /etc/passwd, no libc).
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

/// Whether [::1] can be bound on this machine.
pub fn ipv6_loopback_available() -> bool {
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// A port free on 127.0.0.1 (and on [::1] when IPv6 exists) that no
/// instance of this process uses or will use: for a second listener a test
/// adds to an instance's master.cf.
pub fn free_port() -> u16 {
    pick_port()
}

/// A port free on 127.0.0.1 (and on [::1] when IPv6 exists), not handed out
/// before by this process.
pub fn pick_port() -> u16 {
    let v6 = ipv6_loopback_available();
    for _ in 0..200 {
        let l4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = l4.local_addr().expect("local_addr").port();
        if port < 1024 {
            continue;
        }
        if v6 && TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        let mut guard = PORTS.lock().unwrap_or_else(|e| e.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("could not find a free loopback port");
}

/// The system master.cf with the `smtp inet` service moved to `port` and
/// every service unchrooted (a chroot would need a populated B/spool).
fn master_cf_for(port: u16) -> String {
    let src = [
        "/etc/postfix/master.cf",
        "/usr/share/postfix/master.cf.dist",
    ]
    .iter()
    .map(PathBuf::from)
    .chain(std::iter::once(
        super::repo_root().join("examples/postfix/master.cf"),
    ))
    .find_map(|p| fs::read_to_string(p).ok())
    .unwrap_or_else(|| FALLBACK_MASTER_CF.to_string());
    let mut out = String::new();
    let mut have_smtpd = false;
    for line in src.lines() {
        let starts_service = line
            .chars()
            .next()
            .is_some_and(|c| !c.is_whitespace() && c != '#');
        let fields: Vec<&str> = line.split_whitespace().collect();
        if starts_service && fields.len() >= 8 {
            let mut f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
            if f[0] == "smtp" && f[1] == "inet" {
                f[0] = port.to_string();
                have_smtpd = true;
            }
            f[4] = "n".to_string();
            out.push_str(&f.join("  "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(have_smtpd, "master.cf template has no `smtp inet` service");
    out
}

/// Used only when no master.cf exists on the machine.
const FALLBACK_MASTER_CF: &str = "\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

/// Listening TCP sockets on `port`, sorted, as `ss` prints them.
pub fn listeners_on(port: u16) -> Vec<String> {
    let suffix = format!(":{port}");
    let mut v: Vec<String> = match Command::new(find_program("ss").unwrap_or_else(|| "ss".into()))
        .args(["-ltnH"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3))
            .filter(|a| a.ends_with(&suffix))
            .map(str::to_string)
            .collect(),
        _ => proc_net_listeners(port),
    };
    v.sort();
    v.dedup();
    v
}

/// Fallback without iproute2: parse /proc/net/tcp and /proc/net/tcp6.
fn proc_net_listeners(port: u16) -> Vec<String> {
    let mut v = Vec::new();
    for (file, is_v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 || f[3] != "0A" {
                continue; // not LISTEN
            }
            let Some((addr_hex, port_hex)) = f[1].split_once(':') else {
                continue;
            };
            if u16::from_str_radix(port_hex, 16).ok() != Some(port) {
                continue;
            }
            let words: Option<Vec<[u8; 4]>> = (0..addr_hex.len() / 8)
                .map(|i| {
                    u32::from_str_radix(&addr_hex[i * 8..i * 8 + 8], 16)
                        .ok()
                        .map(u32::to_ne_bytes)
                })
                .collect();
            let Some(words) = words else { continue };
            let bytes: Vec<u8> = words.concat();
            if is_v6 && bytes.len() == 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&bytes);
                v.push(format!("[{}]:{port}", Ipv6Addr::from(a)));
            } else if !is_v6 && bytes.len() == 4 {
                v.push(format!(
                    "{}:{port}",
                    Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
                ));
            }
        }
    }
    v
}
