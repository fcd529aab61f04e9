//! Comparing values the way Postfix reads them.
//!
//! Two spellings are the same value when Postfix cannot tell them apart:
//! whitespace runs and continuation lines join to single spaces; list
//! parameters split on commas and whitespace (`a, b` = `a b` = folded
//! lines, `{ ... }` groups one item); booleans ignore case.

use crate::catalog::{Catalog, ParamType};
use crate::postfix::maincf::normalize;

/// Parameters whose value is a list (split on `, \t\r\n` by
/// mail_parm_split / the table and restriction parsers).
pub fn is_list_param(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "mydestination",
        "mynetworks",
        "inet_interfaces",
        "inet_protocols",
        "relay_domains",
        "virtual_alias_domains",
        "virtual_mailbox_domains",
        "proxy_interfaces",
        "permit_mx_backup_networks",
        "smtpd_restriction_classes",
        "notify_classes",
        "authorized_submit_users",
        "authorized_mailq_users",
        "authorized_flush_users",
        "authorized_verp_clients",
        "authorized_xclient_hosts",
        "authorized_xforward_hosts",
        "debug_peer_list",
        "fast_flush_domains",
        "import_environment",
        "export_environment",
        "milter_protocol",
        "smtpd_milters",
        "non_smtpd_milters",
        "masquerade_domains",
        "masquerade_exceptions",
        "mynetworks_style",
        "propagate_unmatched_extensions",
        "smtpd_tls_mandatory_protocols",
        "smtpd_tls_protocols",
        "smtp_tls_mandatory_protocols",
        "smtp_tls_protocols",
        "lmtp_tls_mandatory_protocols",
        "lmtp_tls_protocols",
        "smtpd_tls_mandatory_exclude_ciphers",
        "smtpd_tls_exclude_ciphers",
        "smtp_tls_mandatory_exclude_ciphers",
        "smtp_tls_exclude_ciphers",
        "smtpd_sasl_security_options",
        "smtpd_sasl_tls_security_options",
        "smtp_sasl_security_options",
        "smtp_sasl_tls_security_options",
        "smtp_sasl_mechanism_filter",
        "postscreen_dnsbl_sites",
        "postscreen_access_list",
        "smtpd_discard_ehlo_keywords",
        "smtp_discard_ehlo_keywords",
        "smtpd_forbidden_commands",
        "local_recipient_maps",
        "relay_recipient_maps",
    ];
    const SUFFIXES: &[&str] = &[
        "_maps",
        "_restrictions",
        "_milters",
        "_networks",
        "_domains",
        "_checks",
        "_classes",
        "_interfaces",
        "_ehlo_keywords",
    ];
    EXACT.contains(&name) || SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Split a list value into items: separators `,` and whitespace, empty
/// items dropped, `{ ... }` keeps one item with its inner whitespace.
pub fn list_items(value: &[u8]) -> Vec<Vec<u8>> {
    let is_sep = |b: u8| matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n');
    let mut items = Vec::new();
    let mut i = 0;
    while i < value.len() {
        if is_sep(value[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut depth = 0usize;
        while i < value.len() {
            match value[i] {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b if depth == 0 && is_sep(b) => break,
                _ => {}
            }
            i += 1;
        }
        let item = &value[start..i];
        // `{ a b }` and `{a b}` are one item "a b" (extpar strips the
        // braces and the whitespace inside them).
        match item.strip_prefix(b"{").and_then(|t| t.strip_suffix(b"}")) {
            Some(inner) => {
                let mut v = b"{".to_vec();
                v.extend(normalize(inner));
                v.push(b'}');
                items.push(v);
            }
            None => items.push(normalize(item)),
        }
    }
    items
}

/// Is the raw main.cf value `current` the same, for Postfix, as `desired`?
pub fn equivalent(catalog: &Catalog, name: &str, current: &[u8], desired: &str) -> bool {
    let (a, b) = (normalize(current), normalize(desired.as_bytes()));
    if a == b {
        return true;
    }
    let is_bool = catalog
        .get(name)
        .is_some_and(|p| matches!(p.ty, ParamType::Bool | ParamType::Nbool));
    if is_bool {
        return a.eq_ignore_ascii_case(&b);
    }
    if is_list_param(name) {
        return list_items(current) == list_items(desired.as_bytes());
    }
    false
}

/// Is `value` what Postfix uses when `name` is not set at all?
pub fn is_default(catalog: &Catalog, name: &str, value: &[u8]) -> bool {
    catalog
        .get(name)
        .is_some_and(|p| equivalent(catalog, name, value, p.default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_compare_as_token_sequences() {
        let c = Catalog::builtin();
        assert!(equivalent(
            c,
            "mynetworks",
            b"127.0.0.0/8,\n    [::1]/128",
            "127.0.0.0/8 [::1]/128"
        ));
        assert!(!equivalent(
            c,
            "mynetworks",
            b"[::1]/128, 127.0.0.0/8",
            "127.0.0.0/8, [::1]/128"
        ));
        assert!(equivalent(
            c,
            "smtpd_recipient_restrictions",
            b"check_x { a b }, reject",
            "check_x {a b} reject"
        ));
        assert!(equivalent(
            c,
            "smtpd_recipient_restrictions",
            b"check_x { a b }, reject",
            "check_x { a b } reject"
        ));
    }

    #[test]
    fn scalars_only_collapse_whitespace() {
        let c = Catalog::builtin();
        assert!(equivalent(c, "smtpd_banner", b"a   b", "a b"));
        assert!(!equivalent(c, "smtpd_banner", b"a, b", "a b"));
    }

    #[test]
    fn booleans_ignore_case() {
        let c = Catalog::builtin();
        assert!(equivalent(c, "biff", b"NO", "no"));
        assert!(!equivalent(c, "smtpd_banner", b"NO", "no"));
        assert!(is_default(c, "biff", b"yes"));
    }
}
