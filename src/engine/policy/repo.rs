//! Repository policies: a GitOps repository's own rules, in
//! `policies.yaml` at its root. Each rule `require`s a main.cf parameter
//! to have one of a few values, or `forbid`s some values, on the hosts its
//! `hosts` globs match (every host by default):
//!
//! ```yaml
//! - id: ipv4_only
//!   description: Gmail bounces our mail over IPv6 (no PTR records)
//!   forbid:
//!     inet_protocols: [all, ipv6]
//! ```
//!
//! A rule is judged on a host's desired state: the main.cf its spec layers
//! make of its snapshot (the candidate of its plan), the value Postfix
//! would use (the default when nothing sets it), compared the way Postfix
//! reads values (`engine::equivalence::equivalent`: list items
//! after separators, booleans without case, `$name` spellings). A
//! violation refuses the host like a built-in policy, unless the host's
//! spec lists the id under `allow:` (then it is a warning). It names the
//! file and line that set the value: the spec layer, else the snapshot's
//! main.cf. Nothing here prints.

use super::{Finding, Severity};
use crate::catalog::Catalog;
use crate::engine::equivalence::equivalent;
use crate::engine::policy::view::View;
use crate::engine::spec::yaml::{self, kind_of, Kind, Node};
use crate::engine::spec::{to_spec_value, Location, Section, Spec, SpecError, SpecKey};
use crate::postfix::maincf::MainCf;
use serde::Serialize;
use std::collections::BTreeMap;

/// The file name, at the repository root.
pub const FILE: &str = "policies.yaml";

/// Ids a repository policy may not take: the built-in policies, smtpd's
/// start-up check and the built-in warnings.
pub const RESERVED_IDS: [&str; 8] = [
    "open_relay",
    "plaintext_auth",
    "tls_downgrade",
    "compat_downgrade",
    "smtpd_startup",
    "overridden_by_master",
    "orphan_options",
    "mx_requires_tls",
];

/// The keys of one rule.
const KEYS: [&str; 5] = ["id", "description", "require", "forbid", "hosts"];

const EXAMPLE: &str = "- id: ipv4_only\n    description: why the rule exists\n    forbid:\n      inet_protocols: [all, ipv6]";

/// What a rule says about its parameters' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// The value must be one of these.
    Require,
    /// The value must be none of these.
    Forbid,
}

/// One parameter of a rule and its values (main.cf text, as a spec value
/// renders: `true` is `yes`, a list is its items joined with `, `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRule {
    pub name: String,
    pub values: Vec<String>,
    /// Where the parameter is named in policies.yaml.
    pub location: Location,
}

/// One repository policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPolicy {
    pub id: String,
    pub description: String,
    pub rule: Rule,
    pub params: Vec<ParamRule>,
    /// Host name globs (`*`, `?`; case-insensitive); empty: every host.
    pub hosts: Vec<String>,
    /// Where the rule starts in policies.yaml.
    pub location: Location,
}

impl RepoPolicy {
    /// Does this rule apply to `host`?
    pub fn applies_to(&self, host: &str) -> bool {
        self.hosts.is_empty() || self.hosts.iter().any(|g| glob_match(g, host))
    }
}

/// Every rule of a repository's policies.yaml, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoPolicies {
    pub policies: Vec<RepoPolicy>,
    /// Every well-formed id written, rules with errors included (so that a
    /// host's `allow:` is not reported while policies.yaml has errors).
    pub ids_written: Vec<String>,
}

/// A host's desired state, as the rules judge it.
#[derive(Debug, Clone, Copy)]
pub struct HostState<'a> {
    /// The host's name (what `hosts` globs match).
    pub host: &'a str,
    /// Its layered spec (for `allow:` and where each value was set).
    pub spec: &'a Spec,
    /// main.cf after the change: the spec over the snapshot.
    pub after: &'a MainCf,
    /// The snapshot's main.cf and the path to show for it, when there is one.
    pub snapshot: Option<(&'a str, &'a MainCf)>,
    /// The host's Postfix (defaults for parameters nothing sets).
    pub catalog: &'a Catalog,
}

/// A rule a host breaks: the finding (as built-in policies report) and
/// where the value was set (`None`: nothing sets it, it is Postfix's
/// default). For the snapshot's main.cf the column is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub finding: Finding,
    pub source: Option<Location>,
}

impl RepoPolicies {
    /// Parse policies.yaml's text (`file`: its name for messages). Names
    /// are checked against `catalog`. Returns what could be read and every
    /// problem found; use the rules only when there is none.
    pub fn parse(text: &str, file: &str, catalog: &Catalog) -> (RepoPolicies, Vec<SpecError>) {
        let (doc, mut errors) = yaml::parse(text, file);
        let mut out = RepoPolicies::default();
        let Some(doc) = doc else {
            return (out, errors);
        };
        let items = match &doc.kind {
            Kind::Seq(items) => items,
            _ if doc.is_null() => return (out, errors),
            _ => {
                errors.push(error(
                    file,
                    &doc,
                    format!("expected a list of policies, found {}", kind_of(&doc)),
                    format!("policies.yaml is a YAML list, one item per rule:\n  {EXAMPLE}"),
                ));
                return (out, errors);
            }
        };
        let mut seen: BTreeMap<String, Location> = BTreeMap::new();
        for item in items {
            if let Some(p) = parse_rule(item, file, catalog, &mut errors, &mut out.ids_written) {
                if let Some(first) = seen.get(&p.id) {
                    errors.push(SpecError {
                        location: p.location.clone(),
                        message: format!("policy id `{}` is already used at {first}", p.id),
                        hint: Some(
                            "give every rule its own id (hosts allow a policy by its id)".into(),
                        ),
                    });
                    continue;
                }
                seen.insert(p.id.clone(), p.location.clone());
                out.policies.push(p);
            }
        }
        errors.sort_by_key(|e| (e.location.line, e.location.column));
        (out, errors)
    }

    /// The ids, in file order (what `allow:` may name besides the
    /// built-in ones).
    pub fn ids(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.id.clone()).collect()
    }

    /// Judge `state` by every rule that applies to its host. A violation
    /// the spec allows is a warning (`allowed`).
    pub fn evaluate(&self, state: &HostState<'_>) -> Vec<Violation> {
        let view = View::new(state.after, None, state.catalog);
        let mut out = Vec::new();
        for p in self.policies.iter().filter(|p| p.applies_to(state.host)) {
            for param in &p.params {
                let name = param.name.as_str();
                let raw = view.raw(name, None);
                let expanded = view.value(name, None);
                let is = |v: &str| {
                    raw.as_deref()
                        .is_some_and(|r| equivalent(state.catalog, name, r.as_bytes(), v))
                        || expanded
                            .as_deref()
                            .is_some_and(|e| equivalent(state.catalog, name, e.as_bytes(), v))
                };
                let hit = param.values.iter().find(|v| is(v));
                let broken = match p.rule {
                    Rule::Require => hit.is_none(),
                    Rule::Forbid => hit.is_some(),
                };
                if !broken {
                    continue;
                }
                let (source, set_by_spec) = source_of(state, name);
                let default = if state.after.get(name).is_some() {
                    ""
                } else {
                    " (not set: Postfix's default)"
                };
                // A forbidden value as the rule spells it (hosts that share
                // a layer get one message); a value that misses every
                // required one as it is.
                let shown = match (p.rule, hit, &raw) {
                    (Rule::Forbid, Some(v), _) => format!("`{v}`{default}"),
                    (_, _, Some(r)) => format!("`{}`{default}", r.trim()),
                    _ => "not set".to_string(),
                };
                let list = param
                    .values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (message, wanted) = match p.rule {
                    Rule::Require => (
                        format!(
                            "{shown} is not one of the required values: {}",
                            p.description
                        ),
                        format!("to one of {list}"),
                    ),
                    Rule::Forbid => (
                        format!("{shown} is forbidden: {}", p.description),
                        format!("to a value other than {list}"),
                    ),
                };
                let hint = if set_by_spec {
                    format!("set {name} {wanted}")
                } else if source.is_some() {
                    format!(
                        "the value is the snapshot's (no spec layer sets {name}): set {name} {wanted} in the host's spec or a layer it extends"
                    )
                } else {
                    format!("set {name} {wanted} in the host's spec or a layer it extends")
                };
                let location = source.as_ref().map(|l| {
                    if l.column == 0 {
                        format!("{}:{}", l.file, l.line)
                    } else {
                        l.to_string()
                    }
                });
                out.push(Violation {
                    finding: Finding {
                        id: p.id.clone(),
                        severity: Severity::Refuse,
                        subject: name.to_string(),
                        location,
                        message,
                        hint: Some(hint),
                        allowed: state.spec.allow.contains(&p.id),
                        already: false,
                    },
                    source,
                });
            }
        }
        out
    }
}

/// Where `name`'s value in the desired state comes from, and whether a
/// spec set it (or removed it, or purged it).
fn source_of(state: &HostState<'_>, name: &str) -> (Option<Location>, bool) {
    if state.spec.main.contains_key(name) {
        return (
            state
                .spec
                .location_if_known(&SpecKey::Param(name.to_string()))
                .cloned(),
            true,
        );
    }
    if state.spec.purge {
        return (
            state
                .spec
                .location_if_known(&SpecKey::Top(Section::Purge))
                .cloned(),
            true,
        );
    }
    match state
        .snapshot
        .and_then(|(path, m)| m.get(name).map(|e| (path, e.line)))
    {
        Some((path, line)) => (
            Some(Location {
                file: path.to_string(),
                line,
                column: 0,
            }),
            false,
        ),
        None => (None, false),
    }
}

fn error(file: &str, node: &Node, message: String, hint: impl Into<String>) -> SpecError {
    SpecError {
        location: node.mark.at(file),
        message,
        hint: Some(hint.into()),
    }
}

/// One rule (an item of the list); `None` when it is unusable.
fn parse_rule(
    item: &Node,
    file: &str,
    catalog: &Catalog,
    errors: &mut Vec<SpecError>,
    ids: &mut Vec<String>,
) -> Option<RepoPolicy> {
    let Kind::Map(entries) = &item.kind else {
        errors.push(error(
            file,
            item,
            format!("expected a policy (a mapping with id, description and require or forbid), found {}", kind_of(item)),
            format!("write each rule as a mapping:\n  {EXAMPLE}"),
        ));
        return None;
    };
    let before = errors.len();
    let mut id: Option<String> = None;
    let mut description = None;
    let mut rules: Vec<(Rule, &Node, &Node)> = Vec::new();
    let mut hosts = Vec::new();
    for (k, v) in entries {
        let key = k.as_str().unwrap_or("");
        match key {
            "id" => {
                id = parse_id(v, file, errors);
                ids.extend(id.clone());
            }
            "description" => match v.as_str().map(str::trim) {
                Some(d) if !d.is_empty() => {
                    description = Some(d.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                _ => errors.push(error(
                    file,
                    v,
                    format!(
                        "`description` must be a non-empty string, found {}",
                        kind_of(v)
                    ),
                    "say why the rule exists: it is part of every message about it",
                )),
            },
            "require" => rules.push((Rule::Require, k, v)),
            "forbid" => rules.push((Rule::Forbid, k, v)),
            "hosts" => hosts = parse_hosts(v, file, errors),
            _ => {
                let hint = match crate::catalog::closest(key, KEYS.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`? A policy has: {}", KEYS.join(", ")),
                    None => format!("a policy has: {}", KEYS.join(", ")),
                };
                errors.push(error(
                    file,
                    k,
                    format!(
                        "unknown policy key `{}`",
                        if key.is_empty() { "?" } else { key }
                    ),
                    hint,
                ));
            }
        }
    }
    let missing = |what: &str, hint: &str, errors: &mut Vec<SpecError>| {
        errors.push(error(
            file,
            item,
            format!("this policy has no `{what}`"),
            hint.to_string(),
        ));
    };
    if id.is_none() && !entries.iter().any(|(k, _)| k.as_str() == Some("id")) {
        missing(
            "id",
            "add `id: some_name` ([a-z0-9_]+): hosts allow a policy by its id",
            errors,
        );
    }
    if description.is_none()
        && !entries
            .iter()
            .any(|(k, _)| k.as_str() == Some("description"))
    {
        missing(
            "description",
            "add `description:` saying why the rule exists",
            errors,
        );
    }
    let (rule, params) = match rules.as_slice() {
        [] => {
            missing(
                "require` or `forbid",
                "add `require: {parameter: [allowed values]}` or `forbid: {parameter: [forbidden values]}`",
                errors,
            );
            return None;
        }
        [(rule, _, v)] => (*rule, parse_params(v, file, catalog, errors)),
        [.., (_, k, _)] => {
            errors.push(error(
                file,
                k,
                "a policy has either `require` or `forbid`, not both".into(),
                "split it into two policies with their own ids",
            ));
            return None;
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(RepoPolicy {
        id: id?,
        description: description?,
        rule,
        params,
        hosts,
        location: item.mark.at(file),
    })
}

fn parse_id(v: &Node, file: &str, errors: &mut Vec<SpecError>) -> Option<String> {
    let Some(id) = v.as_str() else {
        errors.push(error(
            file,
            v,
            format!("`id` must be a string, found {}", kind_of(v)),
            "an id is lowercase letters, digits and _ (e.g. ipv4_only)",
        ));
        return None;
    };
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        let suggestion: String = id
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        errors.push(error(
            file,
            v,
            format!(
                "invalid policy id {id:?}: expected lowercase letters, digits and _ ([a-z0-9_]+)"
            ),
            if suggestion.is_empty() {
                "name the rule, e.g. ipv4_only".to_string()
            } else {
                format!("e.g. {suggestion}")
            },
        ));
        return None;
    }
    if RESERVED_IDS.contains(&id) {
        let builtin = super::is_builtin(id);
        errors.push(error(
            file,
            v,
            format!(
                "policy id `{id}` is postform's own ({})",
                if builtin {
                    "a built-in policy"
                } else {
                    "a built-in check"
                }
            ),
            format!("choose another id, e.g. repo_{id}"),
        ));
        return None;
    }
    Some(id.to_string())
}

fn parse_hosts(v: &Node, file: &str, errors: &mut Vec<SpecError>) -> Vec<String> {
    let items: Vec<&Node> = match &v.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Scalar(_) if v.as_str().is_some() => vec![v],
        _ => {
            errors.push(error(
                file,
                v,
                format!(
                    "`hosts` must be a list of host name globs, found {}",
                    kind_of(v)
                ),
                "hosts: [\"mx*.example.com\", relay1.example.com]",
            ));
            return Vec::new();
        }
    };
    if items.is_empty() {
        errors.push(error(
            file,
            v,
            "`hosts` is empty: the policy would apply to no host".into(),
            "leave `hosts` out for every host, or list globs such as \"mx*\"",
        ));
    }
    let mut out = Vec::new();
    for item in items {
        match item.as_str() {
            Some(g) if !g.trim().is_empty() => out.push(g.trim().to_string()),
            _ => errors.push(error(
                file,
                item,
                format!("`hosts` items must be host name globs, found {}", kind_of(item)),
                "a glob matches host names with * and ? (e.g. \"relay*\"); quote a glob that starts with *",
            )),
        }
    }
    out
}

fn parse_params(
    v: &Node,
    file: &str,
    catalog: &Catalog,
    errors: &mut Vec<SpecError>,
) -> Vec<ParamRule> {
    let Kind::Map(entries) = &v.kind else {
        errors.push(error(
            file,
            v,
            format!("expected a mapping of main.cf parameters to values, found {}", kind_of(v)),
            "e.g. forbid: {inet_protocols: [all, ipv6]} or require: {smtpd_tls_security_level: [may, encrypt]}",
        ));
        return Vec::new();
    };
    if entries.is_empty() {
        errors.push(error(
            file,
            v,
            "no parameter: the rule would check nothing".into(),
            "name at least one main.cf parameter and its values",
        ));
    }
    let mut out = Vec::new();
    for (k, values) in entries {
        let Some(name) = k.as_str() else {
            errors.push(error(
                file,
                k,
                format!("expected a main.cf parameter name, found {}", kind_of(k)),
                "e.g. inet_protocols",
            ));
            continue;
        };
        if catalog.get(name).is_none() {
            let hint = match crate::catalog::closest(name, catalog.names()) {
                Some(c) => format!("did you mean `{c}`?"),
                None => {
                    "policies judge Postfix's own main.cf parameters (`postconf -d` lists them)"
                        .into()
                }
            };
            errors.push(error(
                file,
                k,
                format!("unknown parameter `{name}`: Postfix has no such main.cf parameter"),
                hint,
            ));
            continue;
        }
        let alternatives: Vec<&Node> = match &values.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![values],
        };
        if alternatives.is_empty() {
            errors.push(error(
                file,
                values,
                format!("no value listed for {name}"),
                "list one or more values: [a, b]; a list value inside the list is one value ([[a, b]])",
            ));
        }
        let mut rendered = Vec::new();
        for alt in alternatives {
            match to_spec_value(alt) {
                Ok(Some(value)) => {
                    let text = value.render();
                    if let Some(param) = catalog.get(name) {
                        if let Err(problem) = crate::catalog::check_value(param, &text) {
                            errors.push(error(
                                file,
                                alt,
                                format!("{name}: {problem}"),
                                "a value Postfix refuses can never match; fix the value",
                            ));
                            continue;
                        }
                    }
                    rendered.push(text);
                }
                Ok(None) => errors.push(error(
                    file,
                    alt,
                    format!("{name}: expected a value, found null"),
                    "write the value Postfix would see; \"\" is the empty value",
                )),
                Err(why) => errors.push(error(
                    file,
                    alt,
                    format!("{name}: {why}"),
                    "a value is a string, yes/no, a number, or a list of items ([a, b]) for one list value",
                )),
            }
        }
        out.push(ParamRule {
            name: name.to_string(),
            values: rendered,
            location: k.mark.at(file),
        });
    }
    out
}

/// Does the glob `pattern` (`*`: any run of characters, `?`: one)
/// match `name`? ASCII case does not matter (host names).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("mx*", "mx1.example.com"));
        assert!(glob_match("*.example.com", "relay2.example.com"));
        assert!(glob_match("relay?.example.com", "RELAY2.example.com"));
        assert!(!glob_match("relay?.example.com", "relay12.example.com"));
        assert!(!glob_match("mx*", "relay1.example.com"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }
}
