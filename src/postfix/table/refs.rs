//! Which table files a parameter value names.
//!
//! Postfix splits lookup-table lists and restriction lists with
//! `mystrtokq(", \t\r\n", "{}")` (global/maps.c, smtpd/smtpd_check.c,
//! util/match_list.c): separators are commas and whitespace, `{...}`
//! groups are one token. A token `type:name` names a table. Rules for the
//! file-backed types postform can manage or check:
//!
//! * `proxy:type:name` names `type:name`;
//! * `unionmap:{a, b}` and `pipemap:{a, b}` name the tables inside;
//! * `type:{inline text}` (`inline:`, `regexp:{...}`, ...) is no file;
//! * a `{ type:name, { search = ... } }` group (3.7 `map_search`) names
//!   its first element;
//! * the argument of `check_policy_service` is an endpoint, not a table;
//! * match lists skip `[...]` tokens (`[::1]:25` is an address), and
//!   strip a leading `!`.
//!
//! The value must already be `$name`-expanded (with the real
//! `config_directory`).

use crate::postfix::list::{balpar, is_comma_space, tokens_q};
use crate::postfix::space::trim;

/// Types whose name is a file of table data (a source, or the base name
/// of an index).
pub const FILE_TYPES: &[&str] = &[
    "hash", "btree", "lmdb", "cdb", "dbm", "sdbm", "regexp", "pcre", "cidr", "texthash",
];

/// One table a value names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableRef {
    /// The type before the `:` (`hash`).
    pub kind: String,
    /// The name after it, as written (a path).
    pub name: String,
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// The file-backed tables `value` names, in order, each once.
pub fn references(value: &[u8]) -> Vec<TableRef> {
    let mut out = Vec::new();
    walk(value, &mut out, 0);
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.clone()));
    out
}

fn walk(value: &[u8], out: &mut Vec<TableRef>, depth: usize) {
    if depth > 16 {
        return;
    }
    let mut after_policy = false;
    for (_, token) in tokens_q(value, is_comma_space) {
        if std::mem::take(&mut after_policy) {
            continue;
        }
        if token.eq_ignore_ascii_case(b"check_policy_service") {
            after_policy = true;
            continue;
        }
        if token.first() == Some(&b'{') {
            if let Some(len) = balpar(token) {
                let inside = trim(&token[1..len - 1]);
                // `{ type:name, { search = ... } }`: the first element.
                if let Some((_, first)) = tokens_q(inside, is_comma_space).next() {
                    table(first, out, depth);
                }
            }
            continue;
        }
        table(token, out, depth);
    }
}

fn table(token: &[u8], out: &mut Vec<TableRef>, depth: usize) {
    let token = token.strip_prefix(b"!").unwrap_or(token);
    if token.first() == Some(&b'[') {
        return;
    }
    let Some(colon) = token.iter().position(|&b| b == b':') else {
        return;
    };
    let (kind, name) = (&token[..colon], &token[colon + 1..]);
    match kind {
        b"proxy" => table(name, out, depth + 1),
        b"unionmap" | b"pipemap" => {
            if let Some(len) = balpar(name) {
                walk(&name[1..len - 1], out, depth + 1);
            }
        }
        _ if name.first() == Some(&b'{') || name.is_empty() => {}
        _ => {
            let kind = String::from_utf8_lossy(kind);
            if FILE_TYPES.contains(&kind.as_ref()) {
                out.push(TableRef {
                    kind: kind.into_owned(),
                    name: String::from_utf8_lossy(name).into_owned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(v: &str) -> Vec<String> {
        references(v.as_bytes())
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    #[test]
    fn lists_and_restrictions() {
        assert_eq!(
            refs("hash:/etc/postfix/sasl_passwd"),
            ["hash:/etc/postfix/sasl_passwd"]
        );
        assert_eq!(
            refs("permit_mynetworks, check_client_access cidr:/etc/postfix/clients,\n reject_unauth_destination check_policy_service unix:private/policy, check_recipient_access hash:/etc/postfix/rcpt"),
            ["cidr:/etc/postfix/clients", "hash:/etc/postfix/rcpt"]
        );
        assert_eq!(
            refs("check_policy_service { inet:127.0.0.1:9998, timeout=10s }, pcre:/etc/postfix/x.pcre"),
            ["pcre:/etc/postfix/x.pcre"]
        );
    }

    #[test]
    fn proxy_union_inline_and_search() {
        assert_eq!(refs("proxy:hash:/etc/postfix/v"), ["hash:/etc/postfix/v"]);
        assert_eq!(
            refs("unionmap:{hash:/a, proxy:lmdb:/b}, inline:{x=y}, regexp:{ {/a/ b} }"),
            ["hash:/a", "lmdb:/b"]
        );
        assert_eq!(
            refs("{ hash:/etc/postfix/m, { search = address } }, static:OK"),
            ["hash:/etc/postfix/m"]
        );
        assert_eq!(
            refs("mysql:/etc/postfix/mysql.cf, ldap:/x"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn match_lists() {
        assert_eq!(
            refs("127.0.0.0/8 [::1]/128 !cidr:/etc/postfix/deny cidr:/etc/postfix/nets hash:/etc/postfix/nets"),
            ["cidr:/etc/postfix/deny", "cidr:/etc/postfix/nets", "hash:/etc/postfix/nets"]
        );
        assert_eq!(refs("smtp:[relay.example]:587"), Vec::<String>::new());
    }
}
