//! Safety policies: configurations Postfix accepts but a host should not
//! run. Each built-in policy has a stable id; a finding of a policy the
//! spec does not `allow:` refuses the change, an allowed one is a warning.
//! Like every other check, a problem the live configuration already has
//! is only a warning: restating the live state is never refused.
//!
//! Policies judge the values Postfix will use (per smtpd service: its
//! `-o` overrides over main.cf over the defaults at the compatibility
//! level in effect, `$name` expanded), after the change and, for the
//! downgrade policies, before it. docs/policies.md documents each one.

pub mod relay;
pub mod repo;
pub mod tls;
pub mod view;

use crate::postfix::mastercf::Service;
use serde::Serialize;
use view::View;

/// The built-in policies: id and what they refuse.
pub const POLICIES: [(&str, &str); 4] = [
    (
        "open_relay",
        "an smtpd service reachable from other hosts relays mail for an unauthenticated client from any Internet address to any domain",
    ),
    (
        "plaintext_auth",
        "an smtpd service reachable from other hosts offers SASL AUTH before TLS (passwords on the wire)",
    ),
    (
        "tls_downgrade",
        "the change lowers a TLS security level or weakens the mandatory TLS protocols or ciphers",
    ),
    (
        "compat_downgrade",
        "the change removes or lowers compatibility_level (Postfix falls back to older, less safe defaults)",
    ),
];

/// Is `id` one of the built-in policies ([`POLICIES`])?
pub fn is_builtin(id: &str) -> bool {
    POLICIES.iter().any(|(p, _)| *p == id)
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Refuses the change (unless allowed).
    Refuse,
    /// Said, never blocks.
    Warning,
}

/// One policy finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The policy id (`open_relay`...) or warning id.
    pub id: String,
    pub severity: Severity,
    /// What it is about: a parameter or a service (`smtp/inet`).
    pub subject: String,
    /// Where that is: `master.cf:12` or `main.cf:40`, when known.
    pub location: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// Refused but listed under `allow:` (so only a warning).
    pub allowed: bool,
    /// The live configuration has it already (so only a warning).
    pub already: bool,
}

impl Finding {
    /// Does this finding stop the change?
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Refuse && !self.allowed && !self.already
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .location
            .as_ref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        let why = match (self.already, self.allowed) {
            (true, _) => "already in the live configuration: ",
            (false, true) => "allowed by the spec: ",
            _ => "",
        };
        write!(
            f,
            "{why}policy {}: {}{at}: {}",
            self.id, self.subject, self.message
        )
    }
}

/// Evaluate every built-in policy on the configuration after the change
/// (`after`), comparing with the live one (`before`, `None` when there is
/// none). `allow`: the ids the spec allows.
pub fn evaluate(
    before: Option<&View<'_>>,
    after: &View<'_>,
    allow: &std::collections::BTreeSet<String>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    state_policies(after, &mut found);
    // A state finding the live configuration has too is already there.
    if let Some(before) = before {
        let mut old = Vec::new();
        state_policies(before, &mut old);
        for f in &mut found {
            f.already = old.iter().any(|o| o.id == f.id && o.subject == f.subject);
        }
        downgrades(before, after, &mut found);
    }
    for f in &mut found {
        f.allowed = f.severity == Severity::Refuse && allow.contains(&f.id);
    }
    found
}

/// smtpd services whose processes would exit at start ("specify at
/// least one working instance of: reject_unauth_destination, ..."): not a
/// policy but a configuration Postfix refuses, so it cannot be allowed.
/// Every smtpd service counts, reachable or not. Services that already
/// fail so in the live configuration are marked `already`.
pub fn startup_failures(before: Option<&View<'_>>, after: &View<'_>) -> Vec<Finding> {
    let failing = |v: &View<'_>| -> Vec<String> {
        v.services()
            .iter()
            .filter(|s| s.command == "smtpd" || s.command.ends_with("/smtpd"))
            .filter(|s| !relay::passes_startup_check(v, s))
            .map(service_key)
            .collect()
    };
    let old = before.map(failing).unwrap_or_default();
    after
        .services()
        .iter()
        .filter(|s| s.command == "smtpd" || s.command.ends_with("/smtpd"))
        .filter_map(|s| relay::startup_fatal(after, s).map(|f| (s, f)))
        .map(|(s, fatal)| Finding {
            id: "smtpd_startup".into(),
            severity: Severity::Refuse,
            subject: service_key(s),
            location: master_at(s),
            message: format!(
                "every smtpd process of this service would exit at start: \"{}\"",
                fatal.message
            ),
            hint: Some(fatal.hint),
            allowed: false,
            already: old.contains(&service_key(s)),
        })
        .collect()
}

/// Warnings that never block: a main.cf value the spec sets that a
/// master.cf `-o` overrides for a service; `-o` lines that follow a
/// commented-out service line (they configure the previous live service);
/// a public MX (`smtp/inet`) that requires TLS. `spec_options` are the
/// (`name/type`, option) pairs the spec's own master section sets: an
/// override the spec declares is intended, not a surprise.
pub fn warnings(
    spec_main: &[&str],
    spec_options: &[(String, String)],
    after: &View<'_>,
) -> Vec<Finding> {
    let warn = |id: &str, subject: String, location: Option<String>, message: String| Finding {
        id: id.into(),
        severity: Severity::Warning,
        subject,
        location,
        message,
        hint: None,
        allowed: false,
        already: false,
    };
    let mut out = Vec::new();
    for name in spec_main {
        for s in after.services() {
            let declared = spec_options
                .iter()
                .any(|(svc, opt)| *svc == service_key(s) && opt == name);
            if declared {
                continue;
            }
            if let Some(v) = s.override_value(name) {
                out.push(warn(
                    "overridden_by_master",
                    (*name).to_string(),
                    master_at(s),
                    format!(
                        "the spec sets {name} in main.cf, but service {} overrides it with -o {name}={v}",
                        service_key(s)
                    ),
                ));
            }
        }
    }
    if let Some(master) = after.master {
        out.extend(orphan_options(master.as_bytes(), after.services()).into_iter().map(
            |(line, commented, owner)| {
                warn(
                    "orphan_options",
                    owner.clone(),
                    Some(format!("master.cf:{line}")),
                    format!(
                        "these indented lines follow the commented-out service line {commented} and belong to {owner}: Postfix applies them to {owner}, not to the commented service"
                    ),
                )
            },
        ));
    }
    for s in relay::reachable_smtpd_services(after) {
        let port25 = s.kind == "inet" && matches!(s.name.rsplit(':').next(), Some("smtp" | "25"));
        if port25 && tls::smtpd_level(after, Some(s)) == Some(2) {
            out.push(warn(
                "mx_requires_tls",
                service_key(s),
                master_at(s),
                "this public MX requires TLS: servers that cannot or do not start TLS can no longer deliver mail to it (RFC 3207 says a public MX must not require TLS)".into(),
            ));
        }
    }
    out
}

/// (first orphan line, the commented service line's number, the service
/// the lines attach to): indented lines after a commented-out service
/// line, with only comments or blank lines between (readllines joins them
/// to the previous live entry).
fn orphan_options(text: &[u8], services: &[Service]) -> Vec<(usize, usize, String)> {
    const TYPES: [&str; 5] = ["inet", "unix", "unix-dgram", "fifo", "pass"];
    let mut out = Vec::new();
    let mut commented: Option<usize> = None;
    let mut reported = false;
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(raw);
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some(body) = trimmed.strip_prefix('#') {
            let words: Vec<&str> = body.split_whitespace().collect();
            if line.starts_with('#') && words.len() >= 8 && TYPES.contains(&words[1]) {
                commented = Some(n);
                reported = false;
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with(|c: char| c.is_ascii_whitespace()) {
            if let (Some(c), false) = (commented, reported) {
                let owner = services
                    .iter()
                    .filter(|s| s.line < n)
                    .max_by_key(|s| s.line)
                    .map(service_key)
                    .unwrap_or_else(|| "no service (Postfix drops them)".into());
                out.push((n, c, owner));
                reported = true;
            }
            continue;
        }
        commented = None;
    }
    out
}

fn service_key(s: &Service) -> String {
    format!("{}/{}", s.name, s.kind)
}

/// The service of `v` with the name and type of `s` (the last one, as
/// Postfix uses it).
fn same_service<'a>(v: &View<'a>, s: &Service) -> Option<&'a Service> {
    v.services()
        .iter()
        .rev()
        .find(|o| o.name == s.name && o.kind == s.kind)
}

fn master_at(s: &Service) -> Option<String> {
    Some(format!("master.cf:{}", s.line))
}

/// open_relay and plaintext_auth: properties of one configuration.
fn state_policies(view: &View<'_>, out: &mut Vec<Finding>) {
    for s in relay::reachable_smtpd_services(view) {
        if !relay::passes_startup_check(view, s) {
            // Not a policy: smtpd refuses to start (validation reports it).
            continue;
        }
        if let relay::Verdict::Relays { through, list } = relay::verdict(view, s) {
            out.push(Finding {
                id: "open_relay".into(),
                severity: Severity::Refuse,
                subject: service_key(s),
                location: master_at(s),
                message: format!(
                    "an unauthenticated client from any Internet address can relay mail through it to any domain ({through}, in {list})"
                ),
                hint: Some(
                    "end smtpd_relay_restrictions with reject_unauth_destination (or defer_unauth_destination) before any permit an arbitrary client can reach, and keep mynetworks to your own networks".into(),
                ),
                allowed: false,
                already: false,
            });
        }
        if tls::offers_plaintext_auth(view, s) {
            out.push(Finding {
                id: "plaintext_auth".into(),
                severity: Severity::Refuse,
                subject: service_key(s),
                location: master_at(s),
                message: "SASL AUTH is offered before STARTTLS, so passwords can cross the network unencrypted".into(),
                hint: Some(
                    "set smtpd_tls_auth_only = yes (or smtpd_tls_security_level = encrypt for this service)".into(),
                ),
                allowed: false,
                already: false,
            });
        }
    }
}

/// tls_downgrade and compat_downgrade: the change against the live state.
fn downgrades(before: &View<'_>, after: &View<'_>, out: &mut Vec<Finding>) {
    // Where a main.cf parameter is: its line after the change (before it,
    // when the change removes it).
    let main_at = |name: &str| {
        after
            .main
            .get(name)
            .or_else(|| before.main.get(name))
            .map(|e| format!("main.cf:{}", e.line))
    };
    let refuse =
        |id: &str, subject: String, location: Option<String>, message: String, hint: &str| {
            Finding {
                id: id.into(),
                severity: Severity::Refuse,
                subject,
                location,
                message,
                hint: Some(hint.into()),
                allowed: false,
                already: false,
            }
        };
    // compatibility_level (removing it means 0).
    let (old, new) = (before.compat_level(None), after.compat_level(None));
    if new < old {
        let shown = |v: &View<'_>| {
            v.set_value("compatibility_level", None)
                .unwrap_or_else(|| "0 (not set)".into())
        };
        out.push(refuse(
            "compat_downgrade",
            "compatibility_level".into(),
            main_at("compatibility_level"),
            format!(
                "lowered from {} to {}: Postfix falls back to older defaults (below 1 smtpd_relay_restrictions becomes empty, below 2 mynetworks_style becomes subnet and relay_domains $mydestination, below 3.6 md5 fingerprints)",
                shown(before).trim(),
                shown(after).trim()
            ),
            "keep compatibility_level (set it in the spec to the live value)",
        ));
    }
    // A service's own -o compatibility_level (its processes use it):
    // compared with what the service used before (main.cf's level for a
    // new service).
    for s in after.services() {
        if s.override_value("compatibility_level").is_none() {
            continue;
        }
        let old_s = same_service(before, s);
        let (old, new) = (before.compat_level(old_s), after.compat_level(Some(s)));
        if new < old {
            let shown = |v: &View<'_>, svc: Option<&Service>| {
                v.value("compatibility_level", svc)
                    .map_or_else(|| "0 (not set)".into(), |v| v.trim().to_string())
            };
            out.push(refuse(
                "compat_downgrade",
                format!("compatibility_level for {}", service_key(s)),
                master_at(s),
                format!(
                    "lowered from {} to {} by -o compatibility_level: this service's processes fall back to older defaults",
                    shown(before, old_s),
                    shown(after, Some(s))
                ),
                "remove the -o compatibility_level override (the service then uses main.cf's level)",
            ));
        }
    }
    // Security levels: main.cf, then every service present before and after.
    let mut scopes: Vec<(Option<&Service>, Option<&Service>, String)> =
        vec![(None, None, String::new())];
    // A service has a scope of its own only where its -o sets a level
    // (otherwise it follows main.cf, judged above).
    let own_level = |s: &Service| {
        s.overrides.iter().any(|(n, _)| {
            n.ends_with("_tls_security_level")
                || n.ends_with("_use_tls")
                || n.ends_with("_enforce_tls")
        })
    };
    for s in after.services() {
        if let Some(old) = same_service(before, s) {
            if own_level(s) || own_level(old) {
                scopes.push((Some(old), Some(s), format!(" for {}", service_key(s))));
            }
        }
    }
    for (old_s, new_s, scope) in &scopes {
        // A service's finding is at its master.cf line, main.cf's at the
        // parameter's line.
        let at = |name: &str| new_s.and_then(master_at).or_else(|| main_at(name));
        let levels = (
            tls::smtpd_level(before, *old_s),
            tls::smtpd_level(after, *new_s),
        );
        let (Some(b), Some(a)) = levels else { continue };
        if a < b && (old_s.is_none() || new_s.is_some_and(|s| s.command.ends_with("smtpd"))) {
            let name = ["none", "may", "encrypt"];
            out.push(refuse(
                "tls_downgrade",
                format!("smtpd_tls_security_level{scope}"),
                at("smtpd_tls_security_level"),
                format!("lowered from {} to {}", name[b as usize], name[a as usize]),
                "keep the TLS security level",
            ));
        }
        for prefix in ["smtp", "lmtp"] {
            let relevant = old_s.is_none()
                || new_s.is_some_and(|s| {
                    s.command == prefix || s.command.ends_with(&format!("/{prefix}"))
                });
            if !relevant {
                continue;
            }
            let (b, a) = (
                tls::client_level(before, prefix, *old_s),
                tls::client_level(after, prefix, *new_s),
            );
            if let (Some(b), Some(a)) = (b, a) {
                if !a.at_least(b) {
                    out.push(refuse(
                        "tls_downgrade",
                        format!("{prefix}_tls_security_level{scope}"),
                        at(&format!("{prefix}_tls_security_level")),
                        format!("lowered from {b:?} to {a:?}").to_lowercase(),
                        "keep the TLS security level",
                    ));
                }
            }
        }
    }
    // Protocols and ciphers (main.cf).
    for side in ["smtpd", "smtp", "lmtp"] {
        for kind in ["mandatory_protocols", "protocols"] {
            let name = format!("{side}_tls_{kind}");
            let (b, a) = (before.value(&name, None), after.value(&name, None));
            if let (Some(b), Some(a)) = (b, a) {
                let (ob, oa) = (tls::allowed_protocols(&b), tls::allowed_protocols(&a));
                let weaker = match (ob, oa) {
                    (_, None) => true,
                    (Some(ob), Some(oa)) => oa.iter().any(|p| !ob.contains(p)),
                    (None, Some(_)) => false,
                };
                if weaker {
                    out.push(refuse(
                        "tls_downgrade",
                        name.clone(),
                        main_at(&name),
                        format!("allows weaker TLS protocols than before ({b:?} -> {a:?})"),
                        "keep the protocol list (or make it stricter)",
                    ));
                }
            }
        }
        for kind in ["mandatory_ciphers", "ciphers"] {
            let name = format!("{side}_tls_{kind}");
            let (b, a) = (before.value(&name, None), after.value(&name, None));
            if let (Some(b), Some(a)) = (b, a) {
                if let (Some(gb), Some(ga)) = (tls::cipher_grade(&b), tls::cipher_grade(&a)) {
                    if ga < gb {
                        out.push(refuse(
                            "tls_downgrade",
                            name.clone(),
                            main_at(&name),
                            format!("cipher grade lowered from {b} to {a}"),
                            "keep the cipher grade",
                        ));
                    }
                }
            }
        }
    }
}
