//! Reloading and restarting Postfix, only when a change needs it.
//!
//! `postfix reload` does not apply every parameter: the master reads
//! inet_interfaces, inet_protocols, config/queue/data directories,
//! import_environment and maillog_file only at startup, so those need a
//! stop and start (see `catalog::restart_class`). One action per apply: the
//! strongest any change needs.
//!
//! The state of Postfix (running? master pid?) is taken with
//! [`Service::snapshot`] *before* main.cf is replaced: a broken new main.cf
//! makes every `postfix` and `postconf` command fatal, `status` included.
//! When an action fails, Postfix's own words are collected from its
//! `maillog_file`, or, when the command logged nothing there (a fatal
//! configuration error goes to syslog, which may not exist), by asking
//! `postconf -n` and `postfix status` (under a pseudo-terminal, the only
//! way Postfix prints its errors on stderr) with the failing file.

use crate::io::process::ProcessError;
use crate::io::programs::Programs;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

/// What a change needs Postfix to do. Ordered: `None < Reload < Restart`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAction {
    #[default]
    None,
    Reload,
    Restart,
}

impl fmt::Display for ServiceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceAction::None => "none",
            ServiceAction::Reload => "reload",
            ServiceAction::Restart => "restart",
        })
    }
}

/// How the user wants the service handled.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceMode {
    /// Never touch the service (Ansible's default: leave it to a handler).
    None,
    /// Do what the plan needs, detecting how Postfix is managed.
    #[default]
    Auto,
    /// Reload whenever anything effective changed.
    Reload,
    /// Restart whenever anything effective changed.
    Restart,
    /// Do what the plan needs, with these commands (argv, no shell).
    Command {
        reload: Vec<String>,
        restart: Vec<String>,
    },
}

impl FromStr for ServiceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ServiceMode::Auto),
            "none" => Ok(ServiceMode::None),
            "reload" => Ok(ServiceMode::Reload),
            "restart" => Ok(ServiceMode::Restart),
            other => Err(format!(
                "unknown service mode {other:?}: expected auto, reload, restart or none"
            )),
        }
    }
}

impl fmt::Display for ServiceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceMode::None => "none",
            ServiceMode::Auto => "auto",
            ServiceMode::Reload => "reload",
            ServiceMode::Restart => "restart",
            ServiceMode::Command { .. } => "custom commands",
        })
    }
}

impl ServiceMode {
    /// The action to run for a plan that needs `needed`.
    pub fn action_for(&self, needed: ServiceAction) -> ServiceAction {
        match (self, needed) {
            (_, ServiceAction::None) | (ServiceMode::None, _) => ServiceAction::None,
            (ServiceMode::Reload, _) => ServiceAction::Reload,
            (ServiceMode::Restart, _) => ServiceAction::Restart,
            (ServiceMode::Auto | ServiceMode::Command { .. }, n) => n,
        }
    }
}

/// A service command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot run `{command}`: {source}; is Postfix installed and on PATH?")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){}", because(reason))]
    Failed {
        command: String,
        status: String,
        reason: String,
    },
    #[error("Postfix is not running after `{action}`{}", because(reason))]
    NotRunning { action: String, reason: String },
    #[error(
        "after `{action}` Postfix runs, but {service} is unusable: {what}{}",
        because(reason)
    )]
    Unusable {
        action: String,
        service: String,
        what: String,
        reason: String,
    },
    #[error(transparent)]
    Stuck(ProcessError),
}

/// What greeting a service after an action showed.
enum Greeted {
    Ok,
    /// Could not tell (nothing listens there, no answer): a note.
    Unverified(String),
    /// Connected, but no greeting came.
    Silent,
    /// The server process died or refused: the action failed.
    Failed(String),
}

/// Greet `addr`, a few times over about five seconds: right after a
/// reload an old process may still hold the socket, and a new service
/// may take a moment to listen.
fn greet(addr: std::net::SocketAddr) -> Greeted {
    use crate::io::smtp_probe::{greeting, Greeting};
    let mut last = Greeted::Unverified("no answer".into());
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(500 * attempt));
        }
        last = match greeting(addr, std::time::Duration::from_secs(3)) {
            Greeting::Reply(line) if line.starts_with("220") => return Greeted::Ok,
            Greeting::Reply(line) => Greeted::Failed(format!("it answers {line:?}")),
            Greeting::Closed => {
                Greeted::Failed("connections are closed without a greeting (smtpd exits)".into())
            }
            Greeting::Silent => Greeted::Silent,
            Greeting::Refused => Greeted::Unverified("nothing listens there".into()),
            Greeting::NoAnswer(e) => Greeted::Unverified(e),
        };
    }
    last
}

fn because(reason: &str) -> String {
    if reason.is_empty() {
        "; Postfix gave no reason postform could find (see the mail log: syslog or maillog_file)"
            .to_string()
    } else {
        format!(". Postfix says: {reason}")
    }
}

/// How Postfix is run on this machine, for one config directory.
#[derive(Debug, Clone)]
pub struct Service {
    config_dir: PathBuf,
    manager: Manager,
    /// Log files Postfix may write its errors to (`maillog_file` of the new
    /// and of the previous main.cf).
    maillogs: Vec<PathBuf>,
    /// smtpd services to greet after an action (`name/type`, address).
    probes: Vec<(String, std::net::SocketAddr)>,
}

#[derive(Debug, Clone)]
enum Manager {
    /// systemd's postfix unit (only for /etc/postfix on a systemd host).
    Systemd,
    /// `postfix -c DIR reload|stop|start|status`.
    PostfixCommand,
    /// User-given argv for reload and restart; status via `postfix`.
    Custom {
        reload: Vec<String>,
        restart: Vec<String>,
    },
}

/// What a service step did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceOutcome {
    /// The action actually run (`None` when nothing ran).
    pub ran: ServiceAction,
    /// Human-readable account: command, result, or why nothing ran.
    pub message: String,
}

/// Postfix's state, taken before main.cf is replaced (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// Postfix (this instance) was running.
    pub running: bool,
    /// The master's pid, when running and found.
    pub master_pid: Option<u32>,
    /// queue_directory (where `pid/master.pid` is), when postconf said.
    queue_directory: Option<PathBuf>,
    /// Sizes of the log files, so only new lines count as the reason.
    log_offsets: Vec<(PathBuf, u64)>,
}

impl Service {
    /// Detect how Postfix for `config_dir` is managed. `maillog` is the
    /// effective `maillog_file`, read for Postfix's own error text.
    pub fn detect(config_dir: &Path, mode: &ServiceMode, maillog: Option<PathBuf>) -> Service {
        let manager = match mode {
            ServiceMode::Command { reload, restart } => Manager::Custom {
                reload: reload.clone(),
                restart: restart.clone(),
            },
            _ if Path::new("/run/systemd/system").is_dir()
                && config_dir == Path::new("/etc/postfix") =>
            {
                Manager::Systemd
            }
            _ => Manager::PostfixCommand,
        };
        Service {
            config_dir: config_dir.to_path_buf(),
            manager,
            maillogs: maillog.into_iter().collect(),
            probes: Vec::new(),
        }
    }

    /// After an action, greet these smtpd services (`name/type`,
    /// address): a connection that closes without a greeting, or a 4xx/5xx
    /// greeting, is a failed action (the smtpd processes die or refuse on
    /// the new configuration while the master runs).
    pub fn with_probes(mut self, probes: Vec<(String, std::net::SocketAddr)>) -> Service {
        self.probes = probes;
        self
    }

    /// Also read `maillog` for Postfix's error text (e.g. the previous
    /// main.cf's `maillog_file`, when a change moves it).
    pub fn with_maillog(mut self, maillog: Option<PathBuf>) -> Service {
        if let Some(p) = maillog {
            if !self.maillogs.contains(&p) {
                self.maillogs.push(p);
            }
        }
        self
    }

    /// Running per the service manager, or, when `postfix status` cannot
    /// tell (a main.cf it cannot read), per the master's pid file.
    fn is_running_with(&self, queue: Option<&Path>) -> bool {
        match self.manager {
            Manager::Systemd => {
                run(Command::new("systemctl").args(["is-active", "--quiet", "postfix"]))
                    .is_ok_and(|o| o.status.success())
            }
            _ => {
                let status = run(Command::new(postfix_bin())
                    .arg("-c")
                    .arg(&self.config_dir)
                    .arg("status"));
                match status {
                    Ok(o) if o.status.success() => true,
                    _ => queue.and_then(live_master_pid).is_some(),
                }
            }
        }
    }

    /// Postfix's state now. Take it before replacing main.cf.
    pub fn snapshot(&self) -> ServiceState {
        let queue_directory = self.queue_directory();
        let running = self.is_running_with(queue_directory.as_deref());
        let master_pid = if running {
            queue_directory.as_deref().and_then(live_master_pid)
        } else {
            None
        };
        ServiceState {
            running,
            master_pid,
            queue_directory,
            log_offsets: self
                .maillogs
                .iter()
                .map(|p| (p.clone(), file_len(p)))
                .collect(),
        }
    }

    /// Run `action` if Postfix is running; after it, check Postfix runs.
    pub fn run(&self, action: ServiceAction) -> Result<ServiceOutcome, ServiceError> {
        let before = self.snapshot();
        self.run_from(&before, action)
    }

    /// Run `action` if Postfix was running in `before` (a snapshot taken
    /// before main.cf was replaced); after it, check Postfix runs.
    pub fn run_from(
        &self,
        before: &ServiceState,
        action: ServiceAction,
    ) -> Result<ServiceOutcome, ServiceError> {
        if action == ServiceAction::None {
            return Ok(ServiceOutcome {
                ran: ServiceAction::None,
                message: "no service action needed".into(),
            });
        }
        if !before.running {
            return Ok(ServiceOutcome {
                ran: ServiceAction::None,
                message: format!(
                    "Postfix is not running, so nothing was {}; the change takes effect when it starts",
                    past(action)
                ),
            });
        }
        let shown = self.perform(action, before)?;
        let queue = self.queue_directory().or(before.queue_directory.clone());
        if !self.is_running_with(queue.as_deref()) {
            return Err(ServiceError::NotRunning {
                action: shown,
                reason: self.reason(before),
            });
        }
        let mut notes = Vec::new();
        for (service, addr) in &self.probes {
            let greeted = match greet(*addr) {
                // Silence alone may be a slow host; with a fatal error in
                // the log since the action it is smtpd dying.
                Greeted::Silent => {
                    let logged = self.reason(before);
                    if logged.contains("fatal:") {
                        Greeted::Failed("no greeting: its processes exit".into())
                    } else {
                        Greeted::Unverified("no greeting within the time limit".into())
                    }
                }
                other => other,
            };
            match greeted {
                Greeted::Ok | Greeted::Silent => {}
                Greeted::Unverified(why) => {
                    notes.push(format!("{service} ({addr}) not verified: {why}"))
                }
                Greeted::Failed(what) => {
                    return Err(ServiceError::Unusable {
                        action: shown,
                        service: service.clone(),
                        what,
                        reason: self.reason(before),
                    })
                }
            }
        }
        let after = queue.as_deref().and_then(live_master_pid);
        let pids = match (before.master_pid, after) {
            (Some(b), Some(a)) if b != a => format!(", master pid {b} -> {a}"),
            (Some(b), Some(_)) => format!(", master pid {b} unchanged"),
            _ => String::new(),
        };
        let greeted = self.probes.len() - notes.len();
        let mut message = format!("ran `{shown}`; Postfix is running{pids}");
        if greeted > 0 {
            message.push_str(&if greeted == 1 {
                "; its smtpd service greets".to_string()
            } else {
                format!("; its {greeted} smtpd services greet")
            });
        }
        for n in notes {
            message.push_str(&format!("; {n}"));
        }
        Ok(ServiceOutcome {
            ran: action,
            message,
        })
    }

    /// After a reload left smtpd dying and the files were put back: stop
    /// and start Postfix on them (the master throttles a service whose
    /// processes died, and only a new master forgets that).
    pub fn restart_on_restored(&self) -> Result<String, ServiceError> {
        let now = self.snapshot();
        let cmd = self.perform(ServiceAction::Restart, &now)?;
        let queue = self.queue_directory().or(now.queue_directory.clone());
        if self.is_running_with(queue.as_deref()) {
            Ok(format!(
                "`{cmd}` was run so Postfix uses it afresh (a reload keeps a throttled service throttled), and Postfix is running"
            ))
        } else {
            Err(ServiceError::NotRunning {
                action: cmd,
                reason: self.reason(&now),
            })
        }
    }

    /// After a failed `action` and main.cf put back: bring Postfix back to
    /// what `before` saw, running on the restored file. Returns what was
    /// done; an error when Postfix does not run afterwards.
    pub fn recover(
        &self,
        before: &ServiceState,
        action: ServiceAction,
    ) -> Result<String, ServiceError> {
        if !before.running || action == ServiceAction::None {
            return Ok("Postfix was not running and was left alone".into());
        }
        let now = self.snapshot();
        let queue = now
            .queue_directory
            .clone()
            .or(before.queue_directory.clone());
        let (cmd, done) = if !now.running {
            let argv = match &self.manager {
                Manager::Systemd => svec(&["systemctl", "start", "postfix"]),
                _ => self.postfix_argv("start"),
            };
            self.exec(&argv, &now)?;
            let cmd = argv.join(" ");
            let done = format!("Postfix was started again with `{cmd}` and is running");
            (cmd, done)
        } else {
            let pid_now = queue.as_deref().and_then(live_master_pid);
            let untouched = before.master_pid.is_some() && pid_now == before.master_pid;
            if action == ServiceAction::Restart && untouched {
                // The stop never happened: the master still runs the
                // previous configuration, which is the restored file.
                return Ok(format!(
                    "Postfix kept running with the previous configuration (master pid {})",
                    pid_now.unwrap_or_default()
                ));
            }
            // A master that read the new file: make it read the old one.
            match self.perform(action, &now) {
                Ok(cmd) => {
                    let done =
                        format!("`{cmd}` was run again so Postfix uses it, and Postfix is running");
                    (cmd, done)
                }
                // A master that failed to start can still be exiting when
                // it is looked at: when it is gone now, start Postfix.
                Err(e) if !self.snapshot().running => {
                    let argv = match &self.manager {
                        Manager::Systemd => svec(&["systemctl", "start", "postfix"]),
                        _ => self.postfix_argv("start"),
                    };
                    self.exec(&argv, &now).map_err(|_| e)?;
                    let cmd = argv.join(" ");
                    let done = format!("Postfix was started again with `{cmd}` and is running");
                    (cmd, done)
                }
                Err(e) => return Err(e),
            }
        };
        if self.is_running_with(queue.as_deref()) {
            Ok(done)
        } else {
            Err(ServiceError::NotRunning {
                action: cmd,
                reason: self.reason(&now),
            })
        }
    }

    fn perform(
        &self,
        action: ServiceAction,
        before: &ServiceState,
    ) -> Result<String, ServiceError> {
        let steps: Vec<Vec<String>> = match (&self.manager, action) {
            (Manager::Systemd, ServiceAction::Reload) => {
                vec![svec(&["systemctl", "reload", "postfix"])]
            }
            (Manager::Systemd, _) => vec![svec(&["systemctl", "restart", "postfix"])],
            (Manager::PostfixCommand, ServiceAction::Reload) => vec![self.postfix_argv("reload")],
            (Manager::PostfixCommand, _) => {
                vec![self.postfix_argv("stop"), self.postfix_argv("start")]
            }
            (Manager::Custom { reload, .. }, ServiceAction::Reload) if !reload.is_empty() => {
                vec![reload.clone()]
            }
            (Manager::Custom { restart, .. }, ServiceAction::Restart) if !restart.is_empty() => {
                vec![restart.clone()]
            }
            // A custom config lacking this action: fall back to postfix.
            (Manager::Custom { .. }, ServiceAction::Reload) => vec![self.postfix_argv("reload")],
            (Manager::Custom { .. }, _) => {
                vec![self.postfix_argv("stop"), self.postfix_argv("start")]
            }
        };
        for step in &steps {
            self.exec(step, before)?;
        }
        Ok(steps
            .iter()
            .map(|s| s.join(" "))
            .collect::<Vec<_>>()
            .join(" && "))
    }

    fn postfix_argv(&self, verb: &str) -> Vec<String> {
        vec![
            postfix_bin(),
            "-c".into(),
            self.config_dir.display().to_string(),
            verb.into(),
        ]
    }

    fn exec(&self, argv: &[String], before: &ServiceState) -> Result<(), ServiceError> {
        let command = argv.join(" ");
        let Some((prog, args)) = argv.split_first() else {
            return Err(ServiceError::Failed {
                command,
                status: "empty command".into(),
                reason: String::new(),
            });
        };
        let out = run(Command::new(prog).args(args)).map_err(|e| match e {
            ProcessError::Spawn { source, .. } => ServiceError::Spawn {
                command: command.clone(),
                source,
            },
            e @ ProcessError::TimedOut { .. } => ServiceError::Stuck(e),
        })?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut parts: Vec<String> = Vec::new();
        let said = problem_lines(&stderr);
        if said.is_empty() {
            let text = stderr.trim();
            if !text.is_empty() {
                parts.push(text.lines().collect::<Vec<_>>().join(" "));
            }
        } else {
            parts.extend(said);
        }
        let logged = self.reason(before);
        if !logged.is_empty() {
            parts.push(logged);
        }
        Err(ServiceError::Failed {
            command,
            status: out.status.to_string(),
            reason: dedupe(parts).join("; "),
        })
    }

    /// Postfix's own words about a failure since `before`: fatal, error
    /// and panic lines from the log files, else what `postconf -n` and
    /// `postfix status` say about the current main.cf.
    fn reason(&self, before: &ServiceState) -> String {
        let mut lines = Vec::new();
        for path in &self.maillogs {
            let start = before
                .log_offsets
                .iter()
                .find(|(p, _)| p == path)
                .map_or(0, |(_, n)| *n);
            // What the log gained since the snapshot (at most 1 MiB): a
            // log may be large, or /dev/stdout in a container.
            let Some(bytes) = crate::io::read::read_regular_tail(path, start, 1 << 20) else {
                continue;
            };
            lines.extend(problem_lines(&String::from_utf8_lossy(&bytes)));
        }
        if lines.is_empty() {
            lines = self.diagnose();
        }
        dedupe(lines).join("; ")
    }

    /// Ask Postfix what is wrong with the current configuration, without
    /// touching the daemon. Without a terminal `postfix` writes errors only
    /// to syslog, so it runs under `script` (a pseudo-terminal) when that
    /// exists.
    fn diagnose(&self) -> Vec<String> {
        let postconf = run(Command::new(postconf_bin())
            .arg("-c")
            .arg(&self.config_dir)
            .arg("-n"));
        if let Ok(o) = postconf {
            let found = problem_lines(&String::from_utf8_lossy(&o.stderr));
            if !found.is_empty() {
                return found;
            }
        }
        if matches!(self.manager, Manager::Systemd) || Programs::get().script.is_none() {
            return Vec::new();
        }
        let cmd = format!(
            "{} -c {} status",
            shell_quote(&postfix_bin()),
            shell_quote(&self.config_dir.display().to_string())
        );
        run(Command::new("script").args(["-qec", &cmd, "/dev/null"]))
            .map(|o| problem_lines(&String::from_utf8_lossy(&o.stdout).replace('\r', "")))
            .unwrap_or_default()
    }

    /// `queue_directory` per postconf (None when postconf fails, e.g. on a
    /// main.cf Postfix cannot read).
    fn queue_directory(&self) -> Option<PathBuf> {
        let out = run(Command::new(postconf_bin())
            .arg("-c")
            .arg(&self.config_dir)
            .args(["-h", "queue_directory"]))
        .ok()?;
        let queue = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && queue.starts_with('/')).then(|| PathBuf::from(queue))
    }
}

/// Run a service-side command with the time limit (see io/process.rs).
fn run(cmd: &mut Command) -> Result<std::process::Output, ProcessError> {
    crate::io::process::output(cmd, crate::io::process::timeout())
}

/// "reloaded" / "restarted".
fn past(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::None => "done",
        ServiceAction::Reload => "reloaded",
        ServiceAction::Restart => "restarted",
    }
}

/// The pid in `QUEUE/pid/master.pid` when that process is alive and is a
/// Postfix master (the file outlives the daemon).
fn live_master_pid(queue: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(queue.join("pid/master.pid")).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "master").then_some(pid)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// `fatal:`, `error:` and `panic:` messages in Postfix output or log
/// lines, from the keyword on ("postfix/postfix-script[12]: fatal: x" ->
/// "fatal: x").
fn problem_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(i) = ["fatal:", "error:", "panic:"]
            .iter()
            .filter_map(|k| line.find(k))
            .min()
        else {
            continue;
        };
        let msg = line[i..].trim().to_string();
        if !out.contains(&msg) {
            out.push(msg);
        }
    }
    out
}

fn dedupe(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn svec(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The `postfix` command (env `POSTFORM_POSTFIX` overrides), as found by
/// [`Programs`]; the bare name when it is not installed, so that running
/// it fails with a message that names it.
pub fn postfix_bin() -> String {
    program_or_name(Programs::get().postfix.as_deref(), "postfix")
}

/// The `postconf` command (env `POSTFORM_POSTCONF` overrides); see
/// [`postfix_bin`].
pub fn postconf_bin() -> String {
    program_or_name(Programs::get().postconf.as_deref(), "postconf")
}

fn program_or_name(found: Option<&Path>, name: &str) -> String {
    found.map_or_else(|| name.to_string(), |p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_action_wins_and_modes_override() {
        assert!(ServiceAction::Restart > ServiceAction::Reload);
        assert!(ServiceAction::Reload > ServiceAction::None);
        assert_eq!(
            ServiceMode::Auto.action_for(ServiceAction::Restart),
            ServiceAction::Restart
        );
        assert_eq!(
            ServiceMode::Reload.action_for(ServiceAction::Restart),
            ServiceAction::Reload
        );
        assert_eq!(
            ServiceMode::Restart.action_for(ServiceAction::None),
            ServiceAction::None
        );
        assert_eq!(
            ServiceMode::None.action_for(ServiceAction::Restart),
            ServiceAction::None
        );
        assert!("bogus".parse::<ServiceMode>().is_err());
    }

    #[test]
    fn problem_lines_keep_postfix_words() {
        let log = "Nov 28 13:16:28 vm pf/postfix-script[1]: starting the Postfix mail system\n\
                   Nov 28 13:16:28 vm pf/postfix[2]: fatal: config variable inet_interfaces: host not found: [::1]\n\
                   postfix: warning: main.cf, line 3: overriding earlier entry\n\
                   postfix: fatal: config variable inet_interfaces: host not found: [::1]\n";
        assert_eq!(
            problem_lines(log),
            vec!["fatal: config variable inet_interfaces: host not found: [::1]".to_string()]
        );
    }

    #[test]
    fn failure_text_names_command_and_reason() {
        let e = ServiceError::Failed {
            command: "postfix -c /x stop".into(),
            status: "exit status: 1".into(),
            reason: "fatal: boom".into(),
        };
        assert_eq!(
            e.to_string(),
            "`postfix -c /x stop` failed (exit status: 1). Postfix says: fatal: boom"
        );
        let e = ServiceError::NotRunning {
            action: "postfix -c /x start".into(),
            reason: String::new(),
        };
        assert!(e.to_string().contains("see the mail log"), "{e}");
    }
}
