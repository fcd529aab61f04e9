//! What a default means for a given configuration: the branch of a
//! compatibility-level default that applies, and the defaults Postfix
//! computes from the host it runs on.

use crate::postfix::number::compat_level;

/// The default that applies at compatibility level `level` (the raw
/// value of `compatibility_level` after the change; `None` when it is
/// unset, i.e. Postfix's own default `0`). Postfix writes the defaults
/// that changed with a compatibility level as
/// `${{$compatibility_level} <level {N} ? {A} : {B}}` (mail_params.h);
/// for those this picks A or B. Any other default is returned as is, and
/// so is this form when the level is not a plain number (e.g. `$x`).
pub fn default_at_level<'a>(default: &'a str, level: Option<&[u8]>) -> &'a str {
    let Some((threshold, below, above)) = compat_branches(default) else {
        return default;
    };
    let level = level.map(crate::postfix::space::trim).unwrap_or(b"0");
    match (compat_level(level), compat_level(threshold.as_bytes())) {
        (Some(level), Some(threshold)) if level < threshold => below,
        (Some(_), Some(_)) => above,
        _ => default,
    }
}

/// (N, A, B) of `${{$compatibility_level} <level {N} ? {A} : {B}}`.
fn compat_branches(default: &str) -> Option<(&str, &str, &str)> {
    let rest = default.strip_prefix("${{$compatibility_level} <level {")?;
    let (threshold, rest) = rest.split_once("} ? {")?;
    let rest = rest.strip_suffix("}}")?;
    let (below, above) = rest.split_once("} : {")?;
    Some((threshold, below, above))
}

/// For a parameter whose default Postfix computes from the host it runs
/// on (so `postconf -d` on one machine says nothing about another), what
/// the default is, in words.
pub fn host_computed_default(name: &str) -> Option<&'static str> {
    match name {
        "myhostname" => Some("this host's name"),
        "mydomain" => Some("the domain part of myhostname"),
        "mynetworks" => Some("this host's networks, per mynetworks_style"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_branches() {
        let d = "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}";
        assert_eq!(default_at_level(d, None), "md5");
        assert_eq!(default_at_level(d, Some(b"2")), "md5");
        assert_eq!(default_at_level(d, Some(b"3.6")), "sha256");
        assert_eq!(default_at_level(d, Some(b" 3.10 ")), "sha256");
        assert_eq!(default_at_level(d, Some(b"$level")), d);
        let empty = "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, defer_unauth_destination}}";
        assert_eq!(default_at_level(empty, Some(b"0")), "");
        assert_eq!(default_at_level("yes", Some(b"3.6")), "yes");
    }
}
