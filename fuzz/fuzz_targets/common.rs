//! What the `edit` and `batch` targets share: how the input picks an
//! operation and a name, and the effective view they compare.

use arbitrary::Arbitrary;
use postform::postfix::maincf::MainCf;
use postform::postfix::space::trim;
use std::collections::BTreeMap;

/// Names worth trying beside the document's own.
pub const KNOWN: &[&str] = &[
    "inet_protocols",
    "inet_interfaces",
    "myhostname",
    "mynetworks",
    "relayhost",
    "smtpd_recipient_restrictions",
    "a",
    "b",
];

#[derive(Debug, Arbitrary)]
pub enum NameSel {
    /// The name of the document's n-th entry.
    Existing(u16),
    /// The name of the n-th commented example (`#name = ...`).
    Commented(u16),
    Known(u8),
    Literal(String),
}

#[derive(Debug, Arbitrary)]
pub enum Val {
    Scalar(String),
    List(Vec<String>),
}

#[derive(Debug, Arbitrary)]
pub enum Op {
    Set(NameSel, Val),
    Remove(NameSel),
}

pub fn commented_names(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == b'\n')
        .filter_map(|l| {
            let rest = l.strip_prefix(b"#")?;
            let rest = trim(rest);
            let end = rest
                .iter()
                .position(|&b| b == b'=' || b == b' ' || b == b'\t')?;
            std::str::from_utf8(&rest[..end]).ok().map(str::to_string)
        })
        .filter(|n| !n.is_empty())
        .collect()
}

pub fn pick(sel: &NameSel, doc: &MainCf, data: &[u8]) -> String {
    let known = |i: usize| KNOWN[i % KNOWN.len()].to_string();
    match sel {
        NameSel::Existing(i) => match doc.entries() {
            [] => known(*i as usize),
            entries => entries[*i as usize % entries.len()].name_str().into_owned(),
        },
        NameSel::Commented(i) => {
            let names = commented_names(data);
            if names.is_empty() {
                known(*i as usize)
            } else {
                names[*i as usize % names.len()].clone()
            }
        }
        NameSel::Known(i) => known(*i as usize),
        NameSel::Literal(s) => s.clone(),
    }
}

/// name -> effective raw value.
pub fn effective(doc: &MainCf) -> BTreeMap<Vec<u8>, Vec<u8>> {
    doc.effective()
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect()
}
