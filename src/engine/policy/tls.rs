//! TLS: whether an smtpd service offers AUTH before TLS, and whether a
//! change lowers a TLS security level or weakens the protocols or ciphers
//! TLS may use (smtpd.c pre_jail_init, tls/tls_level.c, tls/tls_misc.c).

use super::view::View;
use crate::postfix::mastercf::Service;

/// Does `s` offer SASL AUTH on a connection that has not started TLS?
/// `smtpd_sasl_auth_enable` and not (`smtpd_tls_auth_only`, wrapper mode,
/// or TLS enforced). A non-empty `smtpd_tls_security_level` overrides the
/// legacy `smtpd_enforce_tls`.
pub fn offers_plaintext_auth(view: &View<'_>, s: &Service) -> bool {
    let svc = Some(s);
    if !view.flag("smtpd_sasl_auth_enable", svc) {
        return false;
    }
    let level = view
        .value("smtpd_tls_security_level", svc)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let enforce = if level.is_empty() {
        view.flag("smtpd_enforce_tls", svc)
    } else {
        matches!(
            level.as_str(),
            "encrypt" | "verify" | "secure" | "fingerprint"
        )
    };
    !(view.flag("smtpd_tls_auth_only", svc) || view.flag("smtpd_tls_wrappermode", svc) || enforce)
}

/// The effective smtpd security level of `s`: 0 none, 1 may, 2 encrypt;
/// `None` for a value smtpd refuses (it exits with "invalid TLS level"),
/// which no TLS policy judges.
pub fn smtpd_level(view: &View<'_>, s: Option<&Service>) -> Option<u8> {
    let level = view
        .value("smtpd_tls_security_level", s)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match level.as_str() {
        "" if view.flag("smtpd_enforce_tls", s) || view.flag("smtpd_tls_wrappermode", s) => Some(2),
        "" if view.flag("smtpd_use_tls", s) => Some(1),
        "" | "none" => Some(0),
        "may" => Some(1),
        // smtpd treats the client-side levels as encrypt (with a warning).
        "encrypt" | "verify" | "secure" | "fingerprint" => Some(2),
        _ => None,
    }
}

/// A client (smtp/lmtp) security level, for comparing: the levels are not
/// totally ordered (`dane` falls back to plaintext without TLSA records,
/// so it is below `encrypt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLevel {
    None,
    May,
    Dane,
    Encrypt,
    DaneOnly,
    Fingerprint,
    Verify,
    Secure,
}

impl ClientLevel {
    pub fn parse(s: &str) -> Option<ClientLevel> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => ClientLevel::None,
            "may" => ClientLevel::May,
            "dane" => ClientLevel::Dane,
            "encrypt" => ClientLevel::Encrypt,
            "dane-only" => ClientLevel::DaneOnly,
            "fingerprint" => ClientLevel::Fingerprint,
            "verify" => ClientLevel::Verify,
            "secure" => ClientLevel::Secure,
            _ => return None,
        })
    }

    /// `self` gives at least `other`'s guarantees (docs/policies.md):
    /// none < may < dane < dane-only; may < encrypt < dane-only;
    /// encrypt < fingerprint; encrypt < verify < secure.
    pub fn at_least(self, other: ClientLevel) -> bool {
        use ClientLevel::*;
        if self == other {
            return true;
        }
        let below = |x: ClientLevel| -> &'static [ClientLevel] {
            match x {
                None => &[],
                May => &[None],
                Dane => &[None, May],
                Encrypt => &[None, May],
                DaneOnly => &[None, May, Dane, Encrypt],
                Fingerprint => &[None, May, Encrypt],
                Verify => &[None, May, Encrypt],
                Secure => &[None, May, Encrypt, Verify],
            }
        };
        below(self).contains(&other)
    }
}

/// The effective client level of `smtp` or `lmtp` (`prefix`) for a
/// transport service (or main.cf): empty means the legacy
/// `*_enforce_tls`/`*_use_tls`.
pub fn client_level(view: &View<'_>, prefix: &str, s: Option<&Service>) -> Option<ClientLevel> {
    let level = view.value(&format!("{prefix}_tls_security_level"), s)?;
    if !level.trim().is_empty() {
        return ClientLevel::parse(&level);
    }
    Some(if view.flag(&format!("{prefix}_enforce_tls"), s) {
        if view.flag(&format!("{prefix}_tls_enforce_peername"), s) {
            ClientLevel::Verify
        } else {
            ClientLevel::Encrypt
        }
    } else if view.flag(&format!("{prefix}_use_tls"), s) {
        ClientLevel::May
    } else {
        ClientLevel::None
    })
}

const PROTOCOLS: [&str; 6] = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/// The protocols a `*_tls_*protocols` value allows (tls_proto_mask_lims):
/// `>=V` and `<=V` bounds, `!NAME` excludes, any bare NAME makes the
/// list an include list. `None` when the syntax is invalid (Postfix then
/// disables TLS).
pub fn allowed_protocols(value: &str) -> Option<Vec<&'static str>> {
    let index = |v: &str| PROTOCOLS.iter().position(|p| *p == v);
    let (mut floor, mut ceiling) = (0usize, PROTOCOLS.len() - 1);
    let mut excluded = Vec::new();
    let mut included = Vec::new();
    for t in value
        .split(|c: char| c.is_ascii_whitespace() || c == ',' || c == ':')
        .filter(|t| !t.is_empty())
    {
        if let Some(v) = t.strip_prefix(">=") {
            floor = if v == "None" { 0 } else { index(v)? };
        } else if let Some(v) = t.strip_prefix("<=") {
            ceiling = if v == "None" {
                PROTOCOLS.len() - 1
            } else {
                index(v)?
            };
        } else if let Some(v) = t.strip_prefix('!') {
            excluded.push(index(v)?);
        } else {
            included.push(index(t)?);
        }
    }
    Some(
        (0..PROTOCOLS.len())
            .filter(|i| *i >= floor && *i <= ceiling)
            .filter(|i| !excluded.contains(i))
            .filter(|i| included.is_empty() || included.contains(i))
            .map(|i| PROTOCOLS[i])
            .collect(),
    )
}

/// Cipher grades, weakest first.
const GRADES: [&str; 5] = ["null", "export", "low", "medium", "high"];

pub fn cipher_grade(value: &str) -> Option<usize> {
    let v = value.trim().to_ascii_lowercase();
    GRADES.iter().position(|g| *g == v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lists() {
        assert_eq!(
            allowed_protocols(">=TLSv1.2").unwrap(),
            ["TLSv1.2", "TLSv1.3"]
        );
        assert_eq!(
            allowed_protocols("!SSLv2, !SSLv3").unwrap(),
            ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        );
        assert_eq!(
            allowed_protocols("TLSv1.2 TLSv1.3").unwrap(),
            ["TLSv1.2", "TLSv1.3"]
        );
        assert_eq!(allowed_protocols("").unwrap().len(), 6);
        assert_eq!(allowed_protocols(">=TLSv9"), None);
    }

    #[test]
    fn client_levels_are_partially_ordered() {
        use ClientLevel::*;
        assert!(Encrypt.at_least(May));
        assert!(!Dane.at_least(Encrypt), "dane may fall back to plaintext");
        assert!(Secure.at_least(Verify));
        assert!(!Verify.at_least(Secure));
        assert!(!DaneOnly.at_least(Verify) && !Verify.at_least(DaneOnly));
    }
}
