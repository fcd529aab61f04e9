//! Validation of a spec's `master:` section, on the master.cf the plan
//! would write (so that a new transport `foo` makes
//! `foo_destination_concurrency_limit` valid in the same spec):
//!
//! * an inet service name must be something master(8) can listen on: a
//!   port (a number or a name in /etc/services), `host:port` or
//!   `[address]:port`, with a host that resolves;
//! * the command must exist in `daemon_directory` (or at the path given);
//! * the services Postfix cannot work without are not removed;
//! * `-o` names must be parameters Postfix knows (built-in, derived from a
//!   service, user-defined) and their values are checked like main.cf's
//!   (see [`super::check`]).

use crate::engine::spec::{MasterService, ServiceKey, ServiceType, Spec, SpecKey};
use crate::postfix::mastercf::{MasterCf, Service};

/// The services of master.cf once the spec's `master:` section is
/// applied: what name checks derive service parameters from.
pub(super) fn planned_services(spec: &Spec, master: Option<&MasterCf>) -> Vec<Service> {
    let live: &[Service] = master.map(|m| m.services.as_slice()).unwrap_or(&[]);
    let named = |s: &Service| -> Option<&Option<MasterService>> {
        let key = ServiceKey {
            name: s.name.clone(),
            kind: s.service_type()?,
        };
        spec.master.get(&key)
    };
    let mut out: Vec<Service> = Vec::new();
    for s in live {
        match named(s) {
            Some(None) => {}
            Some(Some(want)) => out.push(with_spec(s.clone(), want)),
            None if spec.purge && !spec.master.is_empty() => {}
            None => out.push(s.clone()),
        }
    }
    for (key, want) in &spec.master {
        let Some(want) = want else { continue };
        let exists = live
            .iter()
            .any(|s| s.name == key.name && s.service_type() == Some(key.kind));
        if !exists {
            let blank = Service {
                name: key.name.clone(),
                kind: key.kind.to_string(),
                ..Service::default()
            };
            out.push(with_spec(blank, want));
        }
    }
    out
}

/// `s` with the spec's command and options laid over it.
fn with_spec(mut s: Service, want: &MasterService) -> Service {
    if let Some(c) = &want.command {
        s.command = c.clone();
    }
    for (name, value) in &want.options {
        s.overrides.retain(|(n, _)| n != name);
        if let Some(v) = value {
            s.overrides.push((name.clone(), v.render()));
        }
    }
    s
}

/// Services Postfix cannot work without: removing one stops mail.
const REQUIRED: [&str; 10] = [
    "pickup", "cleanup", "qmgr", "rewrite", "bounce", "defer", "trace", "error", "retry",
    "proxymap",
];

/// One problem: where, what, hint.
pub(super) struct MasterProblem {
    pub at: SpecKey,
    pub message: String,
    pub hint: Option<String>,
}

/// The checks of the `master:` section that do not need the catalog.
/// `daemon_directory`: where Postfix's programs are, when known on this
/// host (offline validation of a GitOps repository skips the check and
/// says so in `warnings`).
pub(super) fn check(
    spec: &Spec,
    master: Option<&MasterCf>,
    daemon_directory: Option<&str>,
    inet_protocols: &str,
    warnings: &mut Vec<String>,
) -> Vec<MasterProblem> {
    let mut out = Vec::new();
    if !spec.master.is_empty() && master.is_none() {
        warnings
            .push("master.cf could not be read: the master: section is checked without it".into());
    }
    let live: &[Service] = master.map(|m| m.services.as_slice()).unwrap_or(&[]);
    let mut checked_directory = false;
    let mut problem_note: Vec<String> = Vec::new();
    for (key, want) in &spec.master {
        let at = SpecKey::Service(key.clone());
        let Some(want) = want else {
            if REQUIRED.contains(&key.name.as_str()) {
                out.push(MasterProblem {
                    at,
                    message: format!(
                        "service {key} must not be removed: Postfix cannot deliver or accept mail without {}",
                        key.name
                    ),
                    hint: Some("keep the service (remove the null)".into()),
                });
            }
            continue;
        };
        // The live entry of this service: a problem it already has is a
        // warning (restating the live configuration is no change).
        let live_entry = live
            .iter()
            .rev()
            .find(|s| s.name == key.name && s.service_type() == Some(key.kind));
        let mut problem = |p: MasterProblem, restated: bool| {
            if restated {
                warnings.push(format!("already in the live master.cf: {}", p.message));
            } else {
                out.push(p);
            }
        };
        if key.kind == ServiceType::Inet {
            if let Err(why) = inet_name_problem(&key.name, inet_protocols) {
                problem(
                    MasterProblem {
                        at: at.clone(),
                        message: format!("service {key}: {why}"),
                        hint: Some(
                            "an inet service is a port (25, smtp), host:port or [address]:port"
                                .into(),
                        ),
                    },
                    live_entry.is_some(),
                );
            }
        }
        if key.kind != ServiceType::Inet && key.name.contains('/') {
            problem(MasterProblem {
                at: at.clone(),
                message: format!(
                    "service {key}: a {} service name must not contain '/' (postconf cannot edit it and the socket directory must exist)",
                    key.kind
                ),
                hint: None,
            }, live_entry.is_some());
        }
        if want.private == Some(crate::engine::spec::Flag::Yes) && key.kind == ServiceType::Inet {
            problem(MasterProblem {
                at: SpecKey::ServiceField(key.clone(), crate::engine::spec::ServiceField::Private),
                message: format!(
                    "service {key}: an inet service cannot be private (master(8) refuses to start: \"inet service cannot be private\")"
                ),
                hint: Some("private: n".into()),
            }, live_entry.is_some_and(|s| s.private == "y"));
        }
        let exists = live_entry.is_some();
        let command = match (&want.command, exists) {
            (Some(c), _) => Some(c),
            (None, true) => None,
            (None, false) => {
                problem(
                    MasterProblem {
                        at: at.clone(),
                        message: format!(
                            "service {key} is not in master.cf, and a new service needs a command"
                        ),
                        hint: Some(format!("add `command:` (e.g. smtpd) to {key}")),
                    },
                    false,
                );
                None
            }
        };
        if let Some(command) = command {
            match daemon_directory.filter(|d| std::path::Path::new(d).is_dir()) {
                Some(dir) => {
                    let path = if command.contains('/') {
                        std::path::PathBuf::from(command)
                    } else {
                        std::path::Path::new(dir).join(command)
                    };
                    if crate::io::process::which(&path.display().to_string()).is_none() {
                        problem(MasterProblem {
                            at: SpecKey::ServiceField(
                                key.clone(),
                                crate::engine::spec::ServiceField::Command,
                            ),
                            message: format!(
                                "service {key}: command {command} is not a program in {dir} (master(8) could not start it)"
                            ),
                            hint: Some(format!("ls {dir} lists the Postfix programs")),
                        }, live_entry.is_some_and(|s| s.command == *command));
                    }
                }
                None if !checked_directory => {
                    checked_directory = true;
                    problem_note.push(format!(
                        "daemon_directory {} is not on this host: master.cf commands were not checked",
                        daemon_directory.unwrap_or("(unknown)")
                    ));
                }
                None => {}
            }
        }
    }
    warnings.append(&mut problem_note);
    if spec.purge && !spec.master.is_empty() {
        for s in live {
            let named = s.service_type().is_some_and(|kind| {
                spec.master.contains_key(&ServiceKey {
                    name: s.name.clone(),
                    kind,
                })
            });
            if !named && REQUIRED.contains(&s.name.as_str()) {
                out.push(MasterProblem {
                    at: SpecKey::Top(crate::engine::spec::Section::Purge),
                    message: format!(
                        "purge would remove service {}/{}, which Postfix cannot work without",
                        s.name, s.kind
                    ),
                    hint: Some(format!(
                        "name {}/{} under master: (postform import writes every service)",
                        s.name, s.kind
                    )),
                });
            }
        }
    }
    out
}

/// Why master(8) could not listen on inet service `name`, if it could not
/// (util/host_port.c: `port`, `:port`, `host:port`, `[host]:port`).
fn inet_name_problem(name: &str, inet_protocols: &str) -> Result<(), String> {
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) => (Some(h), p),
        None => (None, name),
    };
    if port.is_empty() {
        return Err(format!("{name:?} has no port"));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        if !service_port_known(port) {
            return Err(format!(
                "port {port:?} is neither a number nor a service name in /etc/services"
            ));
        }
    } else if port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535) {
        return Err(format!("port {port} is not between 1 and 65535"));
    }
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    if host == "*" {
        return Err("`*` is not a host for master(8); leave the host out (\"25\") to listen on inet_interfaces".into());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ipv6_only_off = !inet_protocols
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .any(|p| p == "all" || p == "ipv6");
    match bare.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) if ipv6_only_off => Err(format!(
            "{host} is an IPv6 address but inet_protocols does not enable ipv6"
        )),
        Ok(_) => Ok(()),
        Err(_) => {
            use std::net::ToSocketAddrs;
            (bare, 0u16)
                .to_socket_addrs()
                .map(drop)
                .map_err(|_| format!("host {host:?} does not resolve"))
        }
    }
}

/// Is `name` a TCP service in /etc/services?
fn service_port_known(name: &str) -> bool {
    crate::io::services::tcp_port(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_names() {
        assert!(inet_name_problem("25", "all").is_ok());
        assert!(inet_name_problem("smtp", "all").is_ok());
        assert!(inet_name_problem("127.0.0.1:10025", "all").is_ok());
        assert!(inet_name_problem("[::1]:10025", "all").is_ok());
        assert!(inet_name_problem("[::1]:10025", "ipv4").is_err());
        assert!(inet_name_problem("*:25", "all").is_err());
        assert!(inet_name_problem("127.0.0.1:", "all").is_err());
        assert!(inet_name_problem("nosuchservice-xyz", "all").is_err());
        assert!(inet_name_problem("70000", "all").is_err());
    }
}
