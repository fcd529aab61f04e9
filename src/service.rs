//! Reloading and restarting Postfix, only when a change needs it.
//!
//! `postfix reload` does not apply every parameter: the master reads
//! inet_interfaces, inet_protocols, config/queue/data directories,
//! import_environment and maillog_file only at startup, so those need a
//! stop and start (see `catalog::restart_class`). One action per apply: the
//! strongest any change needs.

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
    #[error("cannot run {command}: {source}; is Postfix installed and on PATH?")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{command} failed ({status}){}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    Failed {
        command: String,
        status: String,
        reason: String,
    },
    #[error("Postfix is not running after {action}{}", if reason.is_empty() { String::new() } else { format!(": {reason}") })]
    NotRunning { action: String, reason: String },
}

/// How Postfix is run on this machine, for one config directory.
#[derive(Debug, Clone)]
pub struct Service {
    config_dir: PathBuf,
    manager: Manager,
    maillog: Option<PathBuf>,
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
            maillog,
        }
    }

    /// Is Postfix (this instance) running?
    pub fn is_running(&self) -> bool {
        match self.manager {
            Manager::Systemd => Command::new("systemctl")
                .args(["is-active", "--quiet", "postfix"])
                .status()
                .is_ok_and(|s| s.success()),
            _ => Command::new(postfix_bin())
                .arg("-c")
                .arg(&self.config_dir)
                .arg("status")
                .output()
                .is_ok_and(|o| o.status.success()),
        }
    }

    /// The master's pid, when Postfix writes one we can find.
    pub fn master_pid(&self) -> Option<u32> {
        let out = Command::new(postconf_bin())
            .arg("-c")
            .arg(&self.config_dir)
            .args(["-h", "queue_directory"])
            .output()
            .ok()?;
        let queue = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let pid = std::fs::read_to_string(Path::new(&queue).join("pid/master.pid")).ok()?;
        pid.trim().parse().ok()
    }

    /// Run `action` if Postfix is running; after it, check Postfix runs.
    pub fn run(&self, action: ServiceAction) -> Result<ServiceOutcome, ServiceError> {
        if action == ServiceAction::None {
            return Ok(ServiceOutcome {
                ran: ServiceAction::None,
                message: "no service action needed".into(),
            });
        }
        if !self.is_running() {
            return Ok(ServiceOutcome {
                ran: ServiceAction::None,
                message: format!(
                    "Postfix is not running, so nothing was {}ed; the change takes effect when it starts",
                    action
                ),
            });
        }
        let log_start = self.maillog_len();
        let before = self.master_pid();
        let shown = self.perform(action, log_start)?;
        if !self.is_running() {
            return Err(ServiceError::NotRunning {
                action: shown,
                reason: self.log_reason(log_start),
            });
        }
        let after = self.master_pid();
        let pids = match (before, after) {
            (Some(b), Some(a)) if b != a => format!(" (master pid {b} -> {a})"),
            (Some(b), Some(_)) => format!(" (master pid {b} unchanged)"),
            _ => String::new(),
        };
        Ok(ServiceOutcome {
            ran: action,
            message: format!("{shown}: Postfix is running{pids}"),
        })
    }

    /// Start Postfix if it is not running (used after a rollback).
    pub fn ensure_started(&self) -> Result<(), ServiceError> {
        if self.is_running() {
            return Ok(());
        }
        let log_start = self.maillog_len();
        let argv = match &self.manager {
            Manager::Systemd => svec(&["systemctl", "start", "postfix"]),
            _ => self.postfix_argv("start"),
        };
        self.exec(&argv, log_start)?;
        Ok(())
    }

    fn perform(&self, action: ServiceAction, log_start: u64) -> Result<String, ServiceError> {
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
        let shown = steps
            .iter()
            .map(|s| s.join(" "))
            .collect::<Vec<_>>()
            .join(" && ");
        for step in &steps {
            self.exec(step, log_start)?;
        }
        Ok(shown)
    }

    fn postfix_argv(&self, verb: &str) -> Vec<String> {
        vec![
            postfix_bin(),
            "-c".into(),
            self.config_dir.display().to_string(),
            verb.into(),
        ]
    }

    fn exec(&self, argv: &[String], log_start: u64) -> Result<(), ServiceError> {
        let command = argv.join(" ");
        let (prog, args) = argv.split_first().ok_or_else(|| ServiceError::Failed {
            command: command.clone(),
            status: "empty command".into(),
            reason: String::new(),
        })?;
        let out = Command::new(prog)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| ServiceError::Spawn {
                command: command.clone(),
                source,
            })?;
        if out.status.success() {
            return Ok(());
        }
        let mut reason = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let logged = self.log_reason(log_start);
        if !logged.is_empty() {
            if !reason.is_empty() {
                reason.push_str("; ");
            }
            reason.push_str(&logged);
        }
        Err(ServiceError::Failed {
            command,
            status: out.status.to_string(),
            reason,
        })
    }

    fn maillog_len(&self) -> u64 {
        self.maillog
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// Postfix's own words: fatal/error/panic lines logged since `start`.
    fn log_reason(&self, start: u64) -> String {
        let Some(path) = &self.maillog else {
            return String::new();
        };
        let Ok(bytes) = std::fs::read(path) else {
            return String::new();
        };
        let start = usize::try_from(start).unwrap_or(0).min(bytes.len());
        let text = String::from_utf8_lossy(&bytes[start..]);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("fatal:") || l.contains("error:") || l.contains("panic:"))
            .collect();
        let mut seen = Vec::new();
        for l in lines {
            let msg = l.split_once(": ").map_or(l, |(_, m)| m).trim();
            // "postfix/postfix-script[12]: fatal: ..." -> "fatal: ..."
            let msg = msg
                .find("fatal:")
                .or_else(|| msg.find("error:"))
                .or_else(|| msg.find("panic:"))
                .map_or(msg, |i| &msg[i..]);
            if !seen.iter().any(|s: &String| s == msg) {
                seen.push(msg.to_string());
            }
        }
        seen.join("; ")
    }
}

fn svec(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The `postfix` command (env `POSTFORM_POSTFIX` overrides).
pub fn postfix_bin() -> String {
    std::env::var("POSTFORM_POSTFIX").unwrap_or_else(|_| "postfix".into())
}

/// The `postconf` command (env `POSTFORM_POSTCONF` overrides).
pub fn postconf_bin() -> String {
    std::env::var("POSTFORM_POSTCONF").unwrap_or_else(|_| "postconf".into())
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
}
