//! Validation: no bad configuration reaches main.cf.
//!
//! Checks, all reported at once with the spec's file:line:column:
//! * names: built-in, service-derived (master.cf), user-defined and
//!   referenced as `$name`, listed in smtpd_restriction_classes, or
//!   declared in `custom_parameters`; otherwise an error with a
//!   "did you mean" suggestion;
//! * values: line injection, macro syntax, unbalanced `{}`, types (bool,
//!   int, long, time), closed enumerations;
//! * cross-parameter rules on the resulting configuration.
//!
//! Problems the live main.cf already has are warnings; only problems the
//! spec introduces are errors.

use crate::catalog::{check_value, read_only, Catalog, NameContext};
use crate::maincf::MainCf;
use crate::mastercf::MasterCf;
use crate::spec::{Spec, SpecError, SpecErrors, SpecValue};
use std::collections::BTreeMap;
use std::path::Path;

/// Validation errors (the same shape as spec errors: location, message, hint).
pub type ValidationErrors = SpecErrors;

/// Validate `spec` for the config dir (its master.cf and main.cf give
/// service-derived and referenced names). Returns warnings.
pub fn validate(
    spec: &Spec,
    config_dir: &Path,
    catalog: &Catalog,
) -> Result<Vec<String>, SpecErrors> {
    let mut warnings = Vec::new();
    let master = match std::fs::read(config_dir.join("master.cf")) {
        Ok(bytes) => match MasterCf::parse(&bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(format!(
                    "{}: {e}; service-derived parameter names are not known",
                    config_dir.join("master.cf").display()
                ));
                None
            }
        },
        Err(_) => {
            warnings.push(format!(
                "{}: not found; service-derived parameter names (e.g. relay_destination_concurrency_limit) are not known",
                config_dir.join("master.cf").display()
            ));
            None
        }
    };
    let live = std::fs::read(config_dir.join("main.cf"))
        .ok()
        .and_then(|b| MainCf::parse(&b).ok());
    let live_values: BTreeMap<String, String> = live
        .as_ref()
        .map(|d| {
            d.effective()
                .iter()
                .map(|e| (e.name_str().into_owned(), e.value_str().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    validate_against(spec, catalog, master.as_ref(), &live_values, &mut warnings)?;
    Ok(warnings)
}

/// Validate against already-loaded inputs (used by the fleet plan, which
/// reads snapshots instead of a live directory).
pub fn validate_against(
    spec: &Spec,
    catalog: &Catalog,
    master: Option<&MasterCf>,
    live: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), SpecErrors> {
    let mut errors = Vec::new();
    // The configuration after the change: live values overlaid with the spec.
    let mut after: BTreeMap<String, String> = if spec.purge {
        BTreeMap::new()
    } else {
        live.clone()
    };
    for (name, value) in &spec.main {
        match value {
            Some(v) => {
                after.insert(name.clone(), v.render());
            }
            None => {
                after.remove(name);
            }
        }
    }
    let services = master.map(|m| m.services.as_slice()).unwrap_or(&[]);
    let values: Vec<(&str, &str)> = after
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let extra: Vec<String> = spec.custom_parameters.iter().cloned().collect();
    let names = NameContext::new(catalog, services, &values, &extra);
    for (name, value) in &spec.main {
        let at = spec.location_of(name);
        let mut err = |message: String, hint: Option<String>| {
            errors.push(SpecError {
                location: at.clone(),
                message,
                hint,
            })
        };
        if read_only(name) {
            err(
                format!("{name} is read-only: Postfix sets it itself and ignores main.cf"),
                Some(format!("remove {name} from the spec")),
            );
            continue;
        }
        let Some(value) = value else {
            // Removing any name is fine, known or not (it cleans up junk).
            continue;
        };
        if !names.is_known(catalog, name) {
            let known = names.known_names();
            let suggestion = catalog.suggest(name, &known);
            err(
                format!("unknown parameter `{name}`: Postfix 3.7 has no such parameter and would ignore it (\"unused parameter\")"),
                Some(match suggestion {
                    Some(s) => format!("did you mean `{s}`? If `{name}` is your own parameter, use it as ${name} in another value or list it under custom_parameters"),
                    None => format!("check the spelling (postconf -d lists every parameter); if `{name}` is your own parameter, use it as ${name} in another value or list it under custom_parameters"),
                }),
            );
            continue;
        }
        for problem in value_problems(name, value) {
            err(problem.0, problem.1);
        }
        let rendered = value.render();
        if !rendered.contains('$') {
            if let Some(param) = catalog.get(name) {
                if let Err(p) = check_value(param, &rendered) {
                    err(
                        format!("{name}: invalid value {rendered:?}: {p}"),
                        Some(format!(
                            "see https://www.postfix.org/postconf.5.html#{name}"
                        )),
                    );
                }
            }
        }
    }
    // Cross-parameter rules: errors only when the spec introduces them.
    let before = cross_rules(live);
    for finding in cross_rules(&after) {
        let already = before.iter().any(|b| b.message == finding.message);
        if already || !finding.blocking {
            warnings.push(format!(
                "{}{}",
                if already {
                    "already in the live main.cf: "
                } else {
                    ""
                },
                finding.message
            ));
            continue;
        }
        let at = finding
            .names
            .iter()
            .find(|n| spec.main.contains_key(**n))
            .map(|n| spec.location_of(n))
            .unwrap_or_else(|| spec.location_of(""));
        errors.push(SpecError {
            location: at,
            message: finding.message,
            hint: finding.hint,
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by(|a, b| {
            (a.location.file.as_str(), a.location.line, a.location.column).cmp(&(
                b.location.file.as_str(),
                b.location.line,
                b.location.column,
            ))
        });
        Err(SpecErrors(errors))
    }
}

/// Injection and syntax problems of one value: (message, hint).
fn value_problems(name: &str, value: &SpecValue) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let pieces: Vec<String> = match value {
        SpecValue::List(items) => items.clone(),
        other => vec![other.render()],
    };
    for piece in &pieces {
        let control = piece
            .chars()
            .find(|c| c.is_control() && *c != '\t')
            .map(|c| match c {
                '\n' => "a newline".to_string(),
                '\r' => "a carriage return".to_string(),
                '\0' => "a NUL byte".to_string(),
                c => format!("the control character U+{:04X}", c as u32),
            });
        if let Some(what) = control {
            out.push((
                format!("{name}: value contains {what}, which would inject lines into main.cf"),
                Some("write the value on one line; for a long list use a YAML list".into()),
            ));
            continue;
        }
        if piece.trim_start().starts_with('#') {
            out.push((
                format!("{name}: value starts with '#', which Postfix would read as a comment when the value is folded"),
                Some("remove the '#'; main.cf has no inline comments".into()),
            ));
        }
    }
    if !out.is_empty() {
        return out;
    }
    let rendered = value.render();
    if let Err(e) = crate::macros::check_syntax(rendered.as_bytes()) {
        out.push((
            format!("{name}: {e}"),
            Some("write $name, ${name}, ${name?value} or ${name:value}; a literal $ is $$".into()),
        ));
    }
    if let Err(e) = crate::macros::check_braces(rendered.as_bytes()) {
        out.push((
            format!("{name}: {e}"),
            Some("balance the braces: { ... } groups one list item".into()),
        ));
    }
    out
}

/// A cross-parameter finding.
#[derive(Debug, Clone)]
struct Finding {
    names: Vec<&'static str>,
    message: String,
    hint: Option<String>,
    /// Postfix refuses to run (error) or just ignores something (warning).
    blocking: bool,
}

fn tokens(v: &str) -> Vec<String> {
    crate::value::list_items(v.as_bytes())
        .into_iter()
        .map(|t| String::from_utf8_lossy(&t).to_lowercase())
        .collect()
}

fn is_ipv6_literal(t: &str) -> bool {
    let t = t.trim_start_matches('[');
    t.contains(':')
        && t.chars()
            .all(|c| c.is_ascii_hexdigit() || ":.[]/%".contains(c) || c.is_ascii_alphanumeric())
}

fn is_ipv4_literal(t: &str) -> bool {
    let t = t.split('/').next().unwrap_or(t);
    t.parse::<std::net::Ipv4Addr>().is_ok()
}

fn parse_size(v: Option<&String>) -> Option<u64> {
    v.and_then(|s| s.trim().parse::<u64>().ok())
}

/// Rules real operators hit, evaluated on a whole configuration.
fn cross_rules(cfg: &BTreeMap<String, String>) -> Vec<Finding> {
    let mut out = Vec::new();
    let protocols = cfg
        .get("inet_protocols")
        .map(|v| tokens(v))
        .unwrap_or_else(|| vec!["all".into()]);
    let has = |p: &str| protocols.iter().any(|t| t == p || t == "all");
    let interfaces = cfg
        .get("inet_interfaces")
        .map(|v| tokens(v))
        .unwrap_or_default();
    if !has("ipv6") {
        let v6: Vec<&String> = interfaces.iter().filter(|t| is_ipv6_literal(t)).collect();
        if !v6.is_empty() {
            out.push(Finding {
                names: vec!["inet_interfaces", "inet_protocols"],
                message: format!(
                    "inet_interfaces lists the IPv6 address {} but inet_protocols does not enable ipv6: Postfix will refuse to start (\"host not found\")",
                    v6.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: Some("remove the IPv6 addresses from inet_interfaces (loopback-only and all follow inet_protocols), or add ipv6 to inet_protocols".into()),
                blocking: true,
            });
        }
        let nets = cfg.get("mynetworks").map(|v| tokens(v)).unwrap_or_default();
        let v6nets: Vec<&String> = nets.iter().filter(|t| is_ipv6_literal(t)).collect();
        if !v6nets.is_empty() {
            out.push(Finding {
                names: vec!["mynetworks", "inet_protocols"],
                message: format!(
                    "mynetworks lists IPv6 networks ({}) while inet_protocols is IPv4-only: they are ignored",
                    v6nets.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: None,
                blocking: false,
            });
        }
    }
    if !has("ipv4") {
        let v4: Vec<&String> = interfaces.iter().filter(|t| is_ipv4_literal(t)).collect();
        if !v4.is_empty() {
            out.push(Finding {
                names: vec!["inet_interfaces", "inet_protocols"],
                message: format!(
                    "inet_interfaces lists the IPv4 address {} but inet_protocols does not enable ipv4: Postfix will refuse to start",
                    v4.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                hint: Some("add ipv4 to inet_protocols or remove the IPv4 addresses".into()),
                blocking: true,
            });
        }
    }
    // local(8) refuses mail when message_size_limit exceeds a non-zero
    // mailbox_size_limit ("fatal: main.cf configuration error:
    // mailbox_size_limit is smaller than message_size_limit").
    let message = parse_size(cfg.get("message_size_limit")).unwrap_or(10_240_000);
    let mailbox = parse_size(cfg.get("mailbox_size_limit")).unwrap_or(51_200_000);
    if mailbox != 0 && message > mailbox {
        out.push(Finding {
            names: vec!["message_size_limit", "mailbox_size_limit"],
            message: format!(
                "message_size_limit ({message}) is larger than mailbox_size_limit ({mailbox}): local delivery fails with a fatal configuration error"
            ),
            hint: Some("raise mailbox_size_limit (0 = unlimited) or lower message_size_limit".into()),
            blocking: true,
        });
    }
    let vmailbox = parse_size(cfg.get("virtual_mailbox_limit")).unwrap_or(51_200_000);
    if vmailbox != 0 && message > vmailbox {
        out.push(Finding {
            names: vec!["message_size_limit", "virtual_mailbox_limit"],
            message: format!(
                "message_size_limit ({message}) is larger than virtual_mailbox_limit ({vmailbox}): virtual(8) delivery fails with a fatal configuration error"
            ),
            hint: Some("raise virtual_mailbox_limit (0 = unlimited) or lower message_size_limit".into()),
            blocking: true,
        });
    }
    // TLS without a certificate.
    let level = cfg
        .get("smtpd_tls_security_level")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let has_cert = [
        "smtpd_tls_cert_file",
        "smtpd_tls_chain_files",
        "smtpd_tls_eccert_file",
        "smtpd_tls_dcert_file",
    ]
    .iter()
    .any(|k| cfg.get(*k).is_some_and(|v| !v.trim().is_empty()));
    if (level == "encrypt" || level == "may") && !has_cert {
        out.push(Finding {
            names: vec!["smtpd_tls_security_level", "smtpd_tls_cert_file", "smtpd_tls_chain_files"],
            message: format!(
                "smtpd_tls_security_level = {level} but no server certificate is configured (smtpd_tls_chain_files or smtpd_tls_cert_file): {}",
                if level == "encrypt" { "every SMTP session will fail" } else { "STARTTLS will not be offered" }
            ),
            hint: Some("set smtpd_tls_chain_files (or smtpd_tls_cert_file and smtpd_tls_key_file)".into()),
            blocking: level == "encrypt",
        });
    }
    let smtp_level = cfg
        .get("smtp_tls_security_level")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    if smtp_level.starts_with("dane")
        && cfg.get("smtp_dns_support_level").map(|s| s.trim()) != Some("dnssec")
    {
        out.push(Finding {
            names: vec!["smtp_tls_security_level", "smtp_dns_support_level"],
            message: format!(
                "smtp_tls_security_level = {smtp_level} needs smtp_dns_support_level = dnssec; without it Postfix falls back to 'may'"
            ),
            hint: Some("set smtp_dns_support_level: dnssec".into()),
            blocking: false,
        });
    }
    if cfg
        .get("smtpd_tls_auth_only")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"))
        && (level.is_empty() || level == "none")
        && cfg
            .get("smtpd_use_tls")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("yes"))
    {
        out.push(Finding {
            names: vec!["smtpd_tls_auth_only", "smtpd_tls_security_level"],
            message: "smtpd_tls_auth_only = yes while TLS is off: SMTP AUTH will never be offered"
                .into(),
            hint: Some("set smtpd_tls_security_level: may (with a certificate)".into()),
            blocking: false,
        });
    }
    out
}
