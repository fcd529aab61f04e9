//! The effective view of main.cf: what Postfix ends up with after reading
//! every entry in order (the last definition of a name wins).

use super::{normalize, Entry};
use std::collections::BTreeMap;

/// Name -> effective entry, sorted by name bytes (postconf's output order).
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    map: BTreeMap<&'a [u8], &'a Entry>,
}

impl<'a> Effective<'a> {
    pub(crate) fn new(entries: &'a [Entry]) -> Self {
        let mut map = BTreeMap::new();
        for e in entries {
            map.insert(e.name.as_slice(), e);
        }
        Effective { map }
    }

    /// The effective entry of `name`.
    pub fn get(&self, name: &str) -> Option<&'a Entry> {
        self.map.get(name.as_bytes()).copied()
    }

    /// Effective entries in name order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Entry> + '_ {
        self.map.values().copied()
    }

    /// Number of distinct names defined.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is defined.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The lines `postconf -n` prints for the names `keep` accepts (postconf
    /// omits names it does not know), without postconf's leading
    /// `config_directory` line: `name = value` with the value normalized,
    /// or `name =` for an empty value. Raw bytes: values may be non-UTF-8.
    pub fn postconf_n(&self, mut keep: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, entry) in &self.map {
            if !keep(name) {
                continue;
            }
            out.extend_from_slice(name);
            let value = normalize(&entry.value);
            if value.is_empty() {
                out.extend_from_slice(b" =\n");
            } else {
                out.extend_from_slice(b" = ");
                out.extend_from_slice(&value);
                out.push(b'\n');
            }
        }
        out
    }
}
