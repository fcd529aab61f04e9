//! Comparing values the way Postfix reads them.
//!
//! Two spellings are the same value when Postfix cannot tell them apart:
//! whitespace runs and continuation lines join to single spaces; list
//! parameters split on commas and whitespace (`a, b` = `a b` = folded
//! lines, `{ ... }` groups one item); booleans ignore case.

use crate::catalog::{is_list_param, Catalog, ParamType};
use crate::postfix::list::comparable_items;
use crate::postfix::macros::canonical_references;
use crate::postfix::maincf::normalize;

/// Is the raw main.cf value `current` the same, for Postfix, as `desired`?
pub fn equivalent(catalog: &Catalog, name: &str, current: &[u8], desired: &str) -> bool {
    let (a, b) = (normalize(current), normalize(desired.as_bytes()));
    if a == b {
        return true;
    }
    // `$name`, `${name}` and `$(name)` are one reference (not in raw
    // parameters, which Postfix never expands).
    let raw = catalog.get(name).is_some_and(|p| p.ty == ParamType::Raw);
    if !raw {
        let (ca, cb) = (
            canonical_references(current),
            canonical_references(desired.as_bytes()),
        );
        if ca != std::borrow::Cow::Borrowed(current)
            || cb != std::borrow::Cow::Borrowed(desired.as_bytes())
        {
            return equivalent_spelled(catalog, name, &ca, &cb);
        }
    }
    equivalent_spelled(catalog, name, current, desired.as_bytes())
}

/// [`equivalent`] once the reference spelling is settled.
fn equivalent_spelled(catalog: &Catalog, name: &str, current: &[u8], desired: &[u8]) -> bool {
    let (a, b) = (normalize(current), normalize(desired));
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
        return comparable_items(current) == comparable_items(desired);
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
        assert!(equivalent(
            c,
            "smtp_tls_session_cache_database",
            b"btree:${data_directory}/smtp_scache",
            "btree:$data_directory/smtp_scache"
        ));
        assert!(!equivalent(c, "smtpd_expansion_filter", b"${a}", "$a"));
    }

    #[test]
    fn booleans_ignore_case() {
        let c = Catalog::builtin();
        assert!(equivalent(c, "biff", b"NO", "no"));
        assert!(!equivalent(c, "smtpd_banner", b"NO", "no"));
        assert!(is_default(c, "biff", b"yes"));
    }
}
