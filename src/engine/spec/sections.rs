//! One layer's YAML document -> what it says, as a [`Spec`] (with the
//! location of every item), and every structural problem with its place,
//! what was expected and a hint. An unusable item is left out and the rest
//! is still read, so that one run reports every problem.

use super::load::{resolve_secret, SecretError};
use super::yaml::{kind_of, Kind, Node, ScalarError, Value};
use super::{
    describe_char, EntryValue, Location, MapField, MapFormat, MapSpec, MapType, MasterService,
    SecretSource, Section, ServiceField, ServiceKey, ServiceKeyError, Spec, SpecError, SpecKey,
    SpecValue,
};
use super::{Flag, MaxProc, Wakeup};
use crate::catalog::PostfixVersion;
use crate::engine::service::ServiceMode;
use std::path::{Path, PathBuf};

/// The `extends` entries of a full-form document, in order: where each is
/// written and the path as written.
pub(super) fn extends(
    doc: &Node,
    origin: &str,
    errors: &mut Vec<SpecError>,
) -> Vec<(Location, String)> {
    let Some(entries) = full_form(doc) else {
        return Vec::new();
    };
    let Some((key, value)) = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(Section::Extends.as_str()))
    else {
        return Vec::new();
    };
    let items: Vec<&Node> = match &value.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Scalar(_) if value.is_null() => Vec::new(),
        Kind::Scalar(_) if value.as_str().is_some() => vec![value],
        _ => {
            errors.push(SpecError {
                location: key.mark.at(origin),
                message: format!(
                    "`extends` must be a list of spec file paths, found {}",
                    kind_of(value)
                ),
                hint: Some("extends: [../groups/relay.yaml]".into()),
            });
            Vec::new()
        }
    };
    let mut out = Vec::new();
    for item in items {
        match item.as_str() {
            Some(p) => out.push((item.mark.at(origin), p.to_string())),
            None => errors.push(SpecError {
                location: item.mark.at(origin),
                message: format!(
                    "`extends` items must be file paths, found {}",
                    kind_of(item)
                ),
                hint: Some("extends: [../groups/relay.yaml]".into()),
            }),
        }
    }
    out
}

/// What the document says, without its `extends` (loaded by the caller
/// first). `dir` is the directory `{file: ...}` secrets are relative to.
pub(super) fn read_layer(
    doc: &Node,
    origin: &str,
    dir: &Path,
    errors: &mut Vec<SpecError>,
) -> Spec {
    let mut r = Reader {
        origin,
        dir,
        errors,
        spec: Spec::default(),
    };
    match &doc.kind {
        _ if doc.is_null() => {} // an empty file: an empty spec
        Kind::Map(entries) => match full_form(doc) {
            Some(_) => r.full_form(entries),
            None => r.parameters(entries),
        },
        _ => r.error(
            doc,
            format!("expected a mapping of parameters, found {}", kind_of(doc)),
            "write `name: value` lines, e.g. `inet_protocols: ipv4`",
        ),
    }
    r.spec
}

/// The entries of a full-form document: a mapping with a section key.
fn full_form(doc: &Node) -> Option<&[(Node, Node)]> {
    match &doc.kind {
        Kind::Map(entries)
            if entries
                .iter()
                .any(|(k, _)| k.as_str().and_then(Section::from_key).is_some()) =>
        {
            Some(entries)
        }
        _ => None,
    }
}

/// A name for a message: control and invisible characters escaped, so that
/// a hostile key cannot write to the terminal (adversarial-review L4).
pub(super) fn shown(s: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:04x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `[A-Za-z0-9_]+`, the names `$name` can reference (util/mac_parse.c).
pub(super) fn is_parameter_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const VALUE_HINT: &str =
    "a value is a string, yes/no (or true/false), an integer, a list of strings, or null to remove";

struct Reader<'a> {
    origin: &'a str,
    dir: &'a Path,
    errors: &'a mut Vec<SpecError>,
    spec: Spec,
}

impl Reader<'_> {
    fn at(&self, node: &Node) -> Location {
        node.mark.at(self.origin)
    }

    fn error(&mut self, node: &Node, message: String, hint: impl Into<Option<&'static str>>) {
        let hint = hint.into().map(str::to_string);
        self.error_with(node, message, hint);
    }

    fn error_with(&mut self, node: &Node, message: String, hint: Option<String>) {
        self.errors.push(SpecError {
            location: self.at(node),
            message,
            hint,
        });
    }

    fn locate(&mut self, key: SpecKey, node: &Node) {
        let at = self.at(node);
        self.spec.locations.insert(key, at);
    }

    fn full_form(&mut self, entries: &[(Node, Node)]) {
        for (k, v) in entries {
            let Some(name) = k.as_str() else {
                self.error(
                    k,
                    format!("top-level keys must be strings, found {}", kind_of(k)),
                    None,
                );
                continue;
            };
            let Some(section) = Section::from_key(name) else {
                let known: Vec<&str> = Section::ALL.iter().map(|s| s.as_str()).collect();
                self.error_with(
                    k,
                    format!(
                        "unknown top-level key `{}` in a full-form spec",
                        shown(name)
                    ),
                    Some(format!(
                        "the full form has only {}; put parameters under `main:`",
                        known.join(", ")
                    )),
                );
                continue;
            };
            self.locate(SpecKey::Top(section), k);
            match section {
                Section::Extends => {} // read by `extends`, loaded first
                Section::Main => match &v.kind {
                    Kind::Map(params) => self.parameters(params),
                    _ if v.is_null() => {}
                    _ => self.error(
                        k,
                        format!(
                            "`main` must be a mapping of parameters, found {}",
                            kind_of(v)
                        ),
                        "main:\n    inet_protocols: ipv4",
                    ),
                },
                Section::Master => self.master(k, v),
                Section::Maps => self.maps(k, v),
                Section::Aliases => self.aliases(k, v),
                Section::Purge => match v.scalar().map(super::yaml::Scalar::resolve) {
                    Some(Ok(Value::Bool(b))) => {
                        self.spec.purge = b;
                        self.spec.purge_set = true;
                    }
                    _ => self.error(
                        k,
                        format!("`purge` must be true or false, found {}", kind_of(v)),
                        "purge: true (remove parameters the spec does not name) or purge: false",
                    ),
                },
                Section::Service => match parse_service(v) {
                    Ok(mode) => self.spec.service = Some(mode),
                    Err(message) => self.error(
                        k,
                        message,
                        "service: auto | reload | restart | none, or {reload: [argv...], restart: [argv...]}",
                    ),
                },
                Section::Allow => self.allow(k, v),
                Section::PostfixVersion => self.postfix_version(k, v),
                Section::CustomParameters => self.custom_parameters(k, v),
            }
        }
    }

    /// `name: value` pairs of main.cf parameters.
    fn parameters(&mut self, entries: &[(Node, Node)]) {
        for (k, v) in entries {
            let Some(name) = k.as_str() else {
                self.error(
                    k,
                    format!("parameter names must be strings, found {}", kind_of(k)),
                    "quote the name",
                );
                continue;
            };
            if let Some(c) = name.chars().find(|c| c.is_control()) {
                self.error(
                    k,
                    format!(
                        "`{}` is not a parameter name: it contains {}",
                        shown(name),
                        describe_char(c)
                    ),
                    "Postfix parameter names are letters, digits and underscores",
                );
                continue;
            }
            match to_spec_value(v) {
                Ok(value) => {
                    self.locate(SpecKey::Param(name.to_string()), k);
                    self.spec.main.insert(name.to_string(), value);
                }
                Err(message) => self.error(k, format!("{name}: {message}"), VALUE_HINT),
            }
        }
    }

    fn custom_parameters(&mut self, key: &Node, value: &Node) {
        let Kind::Seq(items) = &value.kind else {
            self.error(
                key,
                format!(
                    "`custom_parameters` must be a list of names, found {}",
                    kind_of(value)
                ),
                None,
            );
            return;
        };
        for item in items {
            match item.as_str() {
                Some(n) if is_parameter_name(n) => {
                    self.locate(SpecKey::CustomParameter(n.to_string()), item);
                    self.spec.custom_parameters.insert(n.to_string());
                }
                Some(n) => self.error(
                    item,
                    format!(
                        "`custom_parameters`: {:?} is not a parameter name",
                        shown(n)
                    ),
                    "Postfix parameter names are letters, digits and underscores",
                ),
                None => self.error(
                    key,
                    format!(
                        "`custom_parameters` items must be names, found {}",
                        kind_of(item)
                    ),
                    None,
                ),
            }
        }
    }

    fn allow(&mut self, key: &Node, value: &Node) {
        let items: Vec<&Node> = match &value.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ if value.is_null() => Vec::new(),
            Kind::Scalar(_) if value.as_str().is_some() => vec![value],
            _ => {
                self.error(
                    key,
                    format!(
                        "`allow` must be a list of policy ids, found {}",
                        kind_of(value)
                    ),
                    "allow: [open_relay]",
                );
                return;
            }
        };
        for item in items {
            match item.as_str() {
                Some(id)
                    if !id.is_empty()
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) =>
                {
                    self.locate(SpecKey::Allow(id.to_string()), item);
                    self.spec.allow.insert(id.to_string());
                }
                Some(id) => self.error(
                    item,
                    format!("`allow`: {:?} is not a policy id", shown(id)),
                    "a policy id is one word, as postform names it when it refuses a change (e.g. open_relay)",
                ),
                None => self.error(
                    item,
                    format!("`allow` items must be policy ids, found {}", kind_of(item)),
                    "allow: [open_relay]",
                ),
            }
        }
    }

    fn postfix_version(&mut self, key: &Node, value: &Node) {
        let scalar = value.scalar().map(super::yaml::Scalar::resolve);
        let number = match &scalar {
            Some(Err(ScalarError::Number(n))) => Some(n.clone()),
            Some(Ok(Value::Int(i))) => Some(i.to_string()),
            _ => None,
        };
        if let Some(n) = number {
            let read = n
                .parse::<f64>()
                .ok()
                .map(|f| f.to_string())
                .filter(|f| *f != n);
            let hint = match read {
                Some(f) => {
                    format!("YAML reads {n} as the number {f}; quote it: postfix_version: \"{n}\"")
                }
                None => format!("quote it: postfix_version: \"{n}\""),
            };
            self.error_with(
                key,
                format!("`postfix_version` must be a string, found the number {n}"),
                Some(hint),
            );
            return;
        }
        match value.as_str().map(|v| (v, PostfixVersion::parse(v))) {
            Some((_, Ok(version))) => self.spec.postfix_version = Some(version),
            Some((_, Err(e))) => self.error(
                key,
                format!("`postfix_version`: {e}"),
                "postfix_version: \"3.10\" (as `postconf -h mail_version` prints it)",
            ),
            None => self.error(
                key,
                format!(
                    "`postfix_version` must be a string, found {}",
                    kind_of(value)
                ),
                "postfix_version: \"3.10\" (as `postconf -h mail_version` prints it)",
            ),
        }
    }

    // --- master -----------------------------------------------------------

    fn master(&mut self, key: &Node, value: &Node) {
        let entries = match &value.kind {
            Kind::Map(entries) => entries,
            _ if value.is_null() => return,
            _ => {
                self.error(
                    key,
                    format!(
                        "`master` must be a mapping of services (service/type: fields), found {}",
                        kind_of(value)
                    ),
                    "master:\n    submission/inet:\n      command: smtpd",
                );
                return;
            }
        };
        for (k, v) in entries {
            let Some(written) = k.as_str() else {
                self.error(
                    k,
                    format!(
                        "service keys must be strings like smtp/inet, found {}",
                        kind_of(k)
                    ),
                    "quote the key",
                );
                continue;
            };
            let service: ServiceKey = match written.parse() {
                Ok(s) => s,
                Err(e) => {
                    let hint = service_key_hint(written, &e);
                    self.error_with(
                        k,
                        format!("`master`: `{}`: {e}", shown(written)),
                        Some(hint),
                    );
                    continue;
                }
            };
            match &v.kind {
                _ if v.is_null() => {
                    self.locate(SpecKey::Service(service.clone()), k);
                    self.spec.master.insert(service.clone(), None);
                    self.spec.replaced_services.insert(service);
                }
                Kind::Map(fields) => {
                    self.locate(SpecKey::Service(service.clone()), k);
                    let entry = self.service_fields(&service, fields);
                    self.spec.master.insert(service, Some(entry));
                }
                _ => self.error_with(
                    k,
                    format!(
                        "`{service}` must be a mapping of fields (or null to remove the service), found {}",
                        kind_of(v)
                    ),
                    Some(format!("the fields are {}", field_list())),
                ),
            }
        }
    }

    fn service_fields(&mut self, service: &ServiceKey, fields: &[(Node, Node)]) -> MasterService {
        let mut out = MasterService::default();
        for (k, v) in fields {
            let Some(name) = k.as_str() else {
                self.error(
                    k,
                    format!(
                        "`{service}`: field names must be strings, found {}",
                        kind_of(k)
                    ),
                    None,
                );
                continue;
            };
            let Some(field) = ServiceField::ALL.into_iter().find(|f| f.as_str() == name) else {
                let hint = match crate::catalog::closest(
                    name,
                    ServiceField::ALL.iter().map(|f| f.as_str()),
                ) {
                    Some(close) => {
                        format!("did you mean `{close}`? The fields are {}", field_list())
                    }
                    None => format!("the fields are {} (see master(5))", field_list()),
                };
                self.error_with(
                    k,
                    format!("`{service}`: unknown field `{}`", shown(name)),
                    Some(hint),
                );
                continue;
            };
            let problem = match field {
                ServiceField::Private | ServiceField::Unpriv | ServiceField::Chroot => {
                    match flag(v) {
                        Some(f) => {
                            let slot = match field {
                                ServiceField::Private => &mut out.private,
                                ServiceField::Unpriv => &mut out.unpriv,
                                _ => &mut out.chroot,
                            };
                            *slot = Some(f);
                            None
                        }
                        None => Some((
                            "y, n or - (or true/false)",
                            "y: yes, n: no, \"-\": the default of master(5) (quote the -); true and false work too",
                        )),
                    }
                }
                ServiceField::Wakeup => match wakeup(v) {
                    Some(w) => {
                        out.wakeup = Some(w);
                        None
                    }
                    None => Some((
                        "a number of seconds, that number followed by ? (wake up only when used), or -",
                        "e.g. wakeup: 60, wakeup: \"60?\" or wakeup: \"-\"",
                    )),
                },
                ServiceField::Maxproc => match maxproc(v) {
                    Some(m) => {
                        out.maxproc = Some(m);
                        None
                    }
                    None => Some((
                        "a process limit (a whole number, 0: no limit) or -",
                        "e.g. maxproc: 100, maxproc: 0 or maxproc: \"-\"",
                    )),
                },
                ServiceField::Command => match v.as_str() {
                    Some(c) if !c.is_empty() && !c.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                        out.command = Some(c.to_string());
                        None
                    }
                    Some(c) if c.chars().any(char::is_whitespace) && !c.trim().is_empty() => {
                        self.error(
                            k,
                            format!(
                                "`{service}` command: {:?} is more than one word",
                                shown(c)
                            ),
                            "the command is the program; put the words after it under args, e.g. command: smtpd and args: [-v]",
                        );
                        continue;
                    }
                    _ => Some((
                        "a program name (one word)",
                        "e.g. command: smtpd (the words after it go under args)",
                    )),
                },
                ServiceField::Args => {
                    if let Some(args) = self.args(service, k, v) {
                        out.args = Some(args);
                    }
                    continue;
                }
                ServiceField::Options => {
                    self.options(service, k, v, &mut out);
                    continue;
                }
            };
            match problem {
                None => self.locate(SpecKey::ServiceField(service.clone(), field), k),
                Some((expected, hint)) => self.error(
                    k,
                    format!(
                        "`{service}` {name}: expected {expected}, found {}",
                        found(v)
                    ),
                    hint,
                ),
            }
        }
        out
    }

    fn args(&mut self, service: &ServiceKey, key: &Node, value: &Node) -> Option<Vec<String>> {
        let Kind::Seq(items) = &value.kind else {
            self.error(
                key,
                format!(
                    "`{service}` args: expected a list of arguments, found {}",
                    found(value)
                ),
                "args: [flags=R, user=vmail, argv=/usr/bin/maildrop] (one item per word after the command's options; -o options go under options)",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let text = item.scalar().filter(|s| !s.is_null()).map(|s| s.as_text());
            match text {
                // The arguments start at the first word that is not an
                // option (`-o name=value`, `-v`, ...); later words are
                // data, e.g. a pipe's `argv=... -oi`.
                Some(Ok(t)) if out.is_empty() && ok && t.starts_with('-') => {
                    ok = false;
                    let hint = if t.starts_with("-o") {
                        "put -o name=value options under options: {name: value}, not under args"
                    } else {
                        "args are the words after the command's options (e.g. a pipe's flags=... user=... argv=...); options such as -v are left as master.cf has them"
                    };
                    self.error(
                        item,
                        format!(
                            "`{service}` args: {:?} is an option, not an argument",
                            shown(t)
                        ),
                        hint,
                    );
                }
                Some(Ok(t)) if !t.is_empty() && !t.chars().any(char::is_control) => {
                    out.push(t.to_string());
                }
                Some(Ok(_)) => {
                    ok = false;
                    self.error(
                        item,
                        format!("`{service}` args: an argument is empty or holds a line break or control character"),
                        "give each argument as one line of text",
                    );
                }
                Some(Err(e)) => {
                    ok = false;
                    self.error_with(item, format!("`{service}` args: {}", e.message()), None);
                }
                None => {
                    ok = false;
                    self.error(
                        item,
                        format!(
                            "`{service}` args: items must be text, found {}",
                            kind_of(item)
                        ),
                        "args: [-v] (one item per word after the command)",
                    );
                }
            }
        }
        if ok {
            self.locate(
                SpecKey::ServiceField(service.clone(), ServiceField::Args),
                key,
            );
            Some(out)
        } else {
            None
        }
    }

    fn options(&mut self, service: &ServiceKey, key: &Node, value: &Node, out: &mut MasterService) {
        let entries = match &value.kind {
            Kind::Map(entries) => entries,
            _ if value.is_null() => return,
            _ => {
                self.error(
                    key,
                    format!(
                        "`{service}` options: expected a mapping of -o parameter: value, found {}",
                        kind_of(value)
                    ),
                    "options:\n        syslog_name: postfix/submission\n        smtpd_tls_security_level: encrypt",
                );
                return;
            }
        };
        self.locate(
            SpecKey::ServiceField(service.clone(), ServiceField::Options),
            key,
        );
        for (k, v) in entries {
            let name = match k.as_str() {
                Some(n) if is_parameter_name(n) => n,
                Some(n) => {
                    self.error(
                        k,
                        format!(
                            "`{service}` options: {:?} is not a parameter name",
                            shown(n)
                        ),
                        "Postfix parameter names are letters, digits and underscores",
                    );
                    continue;
                }
                None => {
                    self.error(
                        k,
                        format!(
                            "`{service}` options: parameter names must be strings, found {}",
                            kind_of(k)
                        ),
                        "quote the name",
                    );
                    continue;
                }
            };
            match to_spec_value(v) {
                Ok(value) => {
                    self.locate(SpecKey::ServiceOption(service.clone(), name.to_string()), k);
                    out.set_option(name, value);
                }
                Err(message) => self.error(
                    k,
                    format!("`{service}` options: {name}: {message}"),
                    VALUE_HINT,
                ),
            }
        }
    }

    // --- maps -------------------------------------------------------------

    fn maps(&mut self, key: &Node, value: &Node) {
        let entries = match &value.kind {
            Kind::Map(entries) => entries,
            _ if value.is_null() => return,
            _ => {
                self.error(
                    key,
                    format!(
                        "`maps` must be a mapping of table files (path: table), found {}",
                        kind_of(value)
                    ),
                    "maps:\n    /etc/postfix/sasl_passwd:\n      type: hash\n      entries: {\"[smtp.example.com]:587\": \"user:password\"}",
                );
                return;
            }
        };
        for (k, v) in entries {
            let Some(path) = k.as_str() else {
                self.error(
                    k,
                    format!("table paths must be strings, found {}", kind_of(k)),
                    "quote the path",
                );
                continue;
            };
            if let Some(problem) = path_problem(path) {
                self.error_with(k, format!("`maps`: `{}`: {problem}", shown(path)), None);
                continue;
            }
            if let Some((prefix, rest)) = path.split_once(':') {
                if MapType::from_name(prefix).is_some() {
                    self.error_with(
                        k,
                        format!("`maps`: `{}` names the type in the path", shown(path)),
                        Some(format!("write the path alone and the type under it:\n    {rest}:\n      type: {prefix}")),
                    );
                    continue;
                }
            }
            match &v.kind {
                _ if v.is_null() => {
                    self.locate(SpecKey::Map(path.to_string()), k);
                    self.spec.maps.insert(path.to_string(), None);
                }
                Kind::Map(fields) => {
                    if let Some(table) = self.map_fields(path, k, fields) {
                        self.locate(SpecKey::Map(path.to_string()), k);
                        self.spec.maps.insert(path.to_string(), Some(table));
                    }
                }
                _ => self.error(
                    k,
                    format!(
                        "`{}` must be a mapping (type, entries, ...) or null to remove the table, found {}",
                        shown(path),
                        kind_of(v)
                    ),
                    "e.g.\n    /etc/postfix/access:\n      type: hash\n      entries: {10.0.0.1: OK}",
                ),
            }
        }
    }

    fn map_fields(&mut self, path: &str, key: &Node, fields: &[(Node, Node)]) -> Option<MapSpec> {
        let p = shown(path);
        let mut kind = None;
        let mut type_seen = false;
        let mut entries = Vec::new();
        let mut mode = None;
        let mut owner = None;
        let mut group = None;
        let mut secret = None;
        let mut format = MapFormat::Postmap;
        for (k, v) in fields {
            let Some(name) = k.as_str() else {
                self.error(
                    k,
                    format!("`{p}`: field names must be strings, found {}", kind_of(k)),
                    None,
                );
                continue;
            };
            let Some(field) = MapField::ALL.into_iter().find(|f| f.as_str() == name) else {
                let fields: Vec<&str> = MapField::ALL.iter().map(|f| f.as_str()).collect();
                let hint = match crate::catalog::closest(name, fields.iter().copied()) {
                    Some(close) => format!(
                        "did you mean `{close}`? The fields are {}",
                        fields.join(", ")
                    ),
                    None => format!("the fields are {}", fields.join(", ")),
                };
                self.error_with(
                    k,
                    format!("`{p}`: unknown field `{}`", shown(name)),
                    Some(hint),
                );
                continue;
            };
            let loc = SpecKey::MapField(path.to_string(), field);
            match field {
                MapField::Type => {
                    type_seen = true;
                    match v.as_str().map(|t| (t, MapType::from_name(t))) {
                        Some((_, Some(t))) => {
                            kind = Some(t);
                            self.locate(loc, k);
                        }
                        Some((t, None)) => self.error_with(
                            k,
                            format!("`{p}` type: unknown table type `{}`: expected {}", shown(t), map_types()),
                            Some(match crate::catalog::closest(t, MapType::ALL.iter().map(|t| t.as_str())) {
                                Some(close) => format!("did you mean `{close}`? postform manages table files; other lookup types (mysql:, ldap:, ...) are named in main.cf only"),
                                None => "postform manages table files; other lookup types (mysql:, ldap:, ...) are named in main.cf only".into(),
                            }),
                        ),
                        None => self.error_with(
                            k,
                            format!("`{p}` type: expected a table type ({}), found {}", map_types(), kind_of(v)),
                            None,
                        ),
                    }
                }
                MapField::Entries => match &v.kind {
                    Kind::Map(pairs) => {
                        self.locate(loc, k);
                        entries = self.map_entries(path, pairs);
                    }
                    _ if v.is_null() => self.locate(loc, k),
                    _ => self.error(
                        k,
                        format!(
                            "`{p}` entries must be a mapping of key: value, found {}",
                            kind_of(v)
                        ),
                        "entries:\n        \"[smtp.example.com]:587\": user:password\n  (in order: for regexp, pcre and cidr tables the first match wins)",
                    ),
                },
                MapField::Mode => match v.scalar().and_then(|s| s.as_text().ok()).and_then(octal_mode) {
                    Some(m) => {
                        mode = Some(m);
                        self.locate(loc, k);
                    }
                    None => self.error(
                        k,
                        format!("`{p}` mode: expected an octal mode like \"0600\", found {}", found(v)),
                        "mode is octal, as chmod takes it: \"0600\", \"0640\" or \"0644\"",
                    ),
                },
                MapField::Owner | MapField::Group => {
                    let what = if field == MapField::Owner { "user" } else { "group" };
                    let text = v.scalar().filter(|s| !s.is_null()).and_then(|s| s.as_text().ok());
                    match text {
                        Some(t) if !t.is_empty() && !t.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':') => {
                            if field == MapField::Owner {
                                owner = Some(t.to_string());
                            } else {
                                group = Some(t.to_string());
                            }
                            self.locate(loc, k);
                        }
                        _ => self.error_with(
                            k,
                            format!("`{p}` {name}: expected a {what} name or number, found {}", found(v)),
                            Some(format!("e.g. {name}: root")),
                        ),
                    }
                }
                MapField::Format => match v.as_str().and_then(|f| MapFormat::ALL.into_iter().find(|m| m.as_str() == f)) {
                    Some(f) => {
                        format = f;
                        self.locate(loc, k);
                    }
                    None => self.error(
                        k,
                        format!("`{p}` format: expected postmap or aliases, found {}", found(v)),
                        "format: aliases makes the file an aliases(5) file (name: value, built with postalias); the default is postmap",
                    ),
                },
                MapField::Secret => match v.scalar().map(super::yaml::Scalar::resolve) {
                    Some(Ok(Value::Bool(b))) => {
                        secret = Some(b);
                        self.locate(loc, k);
                    }
                    _ => self.error(
                        k,
                        format!("`{p}` secret: expected true or false, found {}", found(v)),
                        "secret: true (never print the entries; files are 0600 unless mode says otherwise)",
                    ),
                },
            }
        }
        let has_refs = entries
            .iter()
            .any(|(_, v): &(String, EntryValue)| v.is_secret());
        if secret == Some(false) && has_refs {
            self.error(
                key,
                format!("`{p}`: secret: false, but entries come from secret references"),
                "remove `secret: false`: a table with {file: ...} or {env: ...} values is secret",
            );
        }
        if !type_seen {
            self.error_with(
                key,
                format!("`{p}`: `type` is missing"),
                Some(format!("add type: hash (or another of {})", map_types())),
            );
        }
        Some(MapSpec {
            kind: kind?,
            entries,
            mode,
            owner,
            group,
            secret: secret.unwrap_or(false) || has_refs,
            format,
        })
    }

    fn map_entries(&mut self, path: &str, pairs: &[(Node, Node)]) -> Vec<(String, EntryValue)> {
        let p = shown(path);
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let key = match k.scalar().filter(|s| !s.is_null()).map(|s| s.as_text()) {
                Some(Ok(t)) if !t.is_empty() && !t.chars().any(char::is_control) => t.to_string(),
                Some(Err(e)) => {
                    self.error_with(k, format!("`{p}` entries: {}", e.message()), None);
                    continue;
                }
                _ => {
                    self.error(
                        k,
                        format!(
                            "`{p}` entries: a key must be one line of text, found {}",
                            found(k)
                        ),
                        "quote the key",
                    );
                    continue;
                }
            };
            let ks = shown(&key);
            // Never the value in a message: the table may be secret.
            let value = match &v.kind {
                Kind::Scalar(s) if s.is_null() => {
                    self.error(
                        k,
                        format!("`{p}` entry `{ks}`: no value"),
                        "a table entry needs a value; remove the entry to leave the key out",
                    );
                    continue;
                }
                Kind::Scalar(s) => match s.as_text() {
                    Ok(t) if !t.chars().any(|c| c.is_control() && c != '\t') => {
                        EntryValue::Text(t.to_string())
                    }
                    Ok(_) => {
                        self.error(
                            k,
                            format!("`{p}` entry `{ks}`: the value has a line break or a control character, which would inject lines into the table"),
                            "write the value on one line",
                        );
                        continue;
                    }
                    Err(e) => {
                        self.error_with(k, format!("`{p}` entry `{ks}`: {}", e.message()), None);
                        continue;
                    }
                },
                Kind::Map(reference) => match self.secret(reference) {
                    Ok(secret) => EntryValue::Secret(secret),
                    Err(message) => {
                        self.error(
                            k,
                            format!("`{p}` entry `{ks}`: {message}"),
                            "a value is text, or a secret from outside the spec: {file: path} (relative to this spec file) or {env: NAME}",
                        );
                        continue;
                    }
                },
                Kind::Seq(_) => {
                    self.error(
                        k,
                        format!("`{p}` entry `{ks}`: expected text or a secret reference, found a list"),
                        "a value is text, or a secret from outside the spec: {file: path} (relative to this spec file) or {env: NAME}",
                    );
                    continue;
                }
            };
            self.locate(SpecKey::MapEntry(path.to_string(), key.clone()), k);
            out.push((key, value));
        }
        out
    }

    /// `{file: path}` or `{env: NAME}`, read now.
    fn secret(&mut self, reference: &[(Node, Node)]) -> Result<super::Secret, String> {
        let [(k, v)] = reference else {
            return Err("a secret reference has exactly one key, file or env".into());
        };
        let text = v.as_str();
        let source = match (k.as_str(), text) {
            (Some("file"), Some(p)) if !p.is_empty() => SecretSource::File {
                written: p.to_string(),
                path: PathBuf::from(p),
            },
            (Some("env"), Some(n))
                if n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                SecretSource::Env(n.to_string())
            }
            (Some("file"), _) => return Err("`file` needs a path".into()),
            (Some("env"), _) => {
                return Err("`env` needs a variable name (letters, digits, _)".into())
            }
            _ => return Err("a secret reference is {file: path} or {env: NAME}".into()),
        };
        resolve_secret(source, self.dir).map_err(|e: SecretError| e.to_string())
    }

    // --- aliases ----------------------------------------------------------

    fn aliases(&mut self, key: &Node, value: &Node) {
        let entries = match &value.kind {
            Kind::Map(entries) => entries,
            _ if value.is_null() => return,
            _ => {
                self.error(
                    key,
                    format!(
                        "`aliases` must be a mapping of name: target(s), found {}",
                        kind_of(value)
                    ),
                    "aliases:\n    postmaster: root\n    team: [alice, bob]",
                );
                return;
            }
        };
        for (k, v) in entries {
            let name = match k.scalar().filter(|s| !s.is_null()).map(|s| s.as_text()) {
                Some(Ok(n)) => n,
                _ => {
                    self.error(
                        k,
                        format!("`aliases`: a name must be text, found {}", found(k)),
                        "quote the name",
                    );
                    continue;
                }
            };
            if let Some(c) = name
                .chars()
                .find(|c| c.is_whitespace() || c.is_control() || *c == ':')
                .or_else(|| name.starts_with('#').then_some('#'))
                .or_else(|| name.is_empty().then_some(' '))
            {
                let why = if name.is_empty() {
                    "is empty".to_string()
                } else {
                    format!("contains {}", describe_char(c))
                };
                self.error(
                    k,
                    format!("`aliases`: the name {:?} {why}", shown(name)),
                    "an alias name is a local part such as postmaster (aliases(5))",
                );
                continue;
            }
            let targets = match &v.kind {
                _ if v.is_null() => None,
                Kind::Scalar(s) => match s.as_text() {
                    Ok(t) => Some(vec![t.to_string()]),
                    Err(e) => {
                        self.error_with(k, format!("`aliases`: {name}: {}", e.message()), None);
                        continue;
                    }
                },
                Kind::Seq(items) => {
                    let texts: Option<Vec<String>> = items
                        .iter()
                        .map(|i| {
                            i.scalar()
                                .filter(|s| !s.is_null())
                                .and_then(|s| s.as_text().ok())
                                .map(str::to_string)
                        })
                        .collect();
                    match texts {
                        Some(t) if !t.is_empty() => Some(t),
                        Some(_) => {
                            self.error(
                                k,
                                format!("`aliases`: {name}: the list of targets is empty"),
                                "give at least one target, or null to remove the alias",
                            );
                            continue;
                        }
                        None => {
                            self.error(
                                k,
                                format!("`aliases`: {name}: every target must be text"),
                                "e.g. team: [alice, bob, /var/mail/team.log]",
                            );
                            continue;
                        }
                    }
                }
                Kind::Map(_) => {
                    self.error(
                        k,
                        format!("`aliases`: {name}: expected a target or a list of targets, found a mapping"),
                        "e.g. postmaster: root, or team: [alice, bob]",
                    );
                    continue;
                }
            };
            if let Some(bad) = targets
                .iter()
                .flatten()
                .find(|t| t.is_empty() || t.chars().any(char::is_control))
            {
                let why = if bad.is_empty() {
                    "is empty"
                } else {
                    "has a line break or a control character"
                };
                self.error_with(
                    k,
                    format!("`aliases`: {name}: a target {why}"),
                    Some("write each target as one line of text".into()),
                );
                continue;
            }
            self.locate(SpecKey::Alias(name.to_string()), k);
            self.spec.aliases.insert(name.to_string(), targets);
        }
    }
}

/// How a value looks in a message: a scalar quoted (escaped), else its kind.
fn found(node: &Node) -> String {
    match node.scalar() {
        Some(s) if !s.is_null() => format!("{:?}", shown(&s.text)),
        _ => kind_of(node).to_string(),
    }
}

fn field_list() -> String {
    ServiceField::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn map_types() -> String {
    MapType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn service_key_hint(written: &str, e: &ServiceKeyError) -> String {
    match e {
        ServiceKeyError::NoType => format!(
            "write `{0}/inet` for a TCP service or `{0}/unix` for a UNIX-domain one: the type as `postconf -M` shows it",
            shown(written)
        ),
        ServiceKeyError::BadType(t) => {
            match crate::catalog::closest(t, super::ServiceType::ALL.iter().map(|t| t.as_str())) {
                Some(close) => format!("did you mean `{close}`? A service is named service/type as `postconf -M` shows it"),
                None => "a service is named service/type as `postconf -M` shows it, e.g. smtp/inet or pickup/unix".into(),
            }
        }
        ServiceKeyError::EmptyName | ServiceKeyError::BadName(_) => {
            "a service is named service/type as `postconf -M` shows it, e.g. smtp/inet or 127.0.0.1:10025/inet".into()
        }
    }
}

/// `y`, `n`, `-`, `yes`, `no` (any case) or a YAML boolean.
fn flag(node: &Node) -> Option<Flag> {
    match node.scalar()?.resolve().ok()? {
        Value::Bool(true) => Some(Flag::Yes),
        Value::Bool(false) => Some(Flag::No),
        Value::Str(s) => match s.to_ascii_lowercase().as_str() {
            "yes" => Some(Flag::Yes),
            "no" => Some(Flag::No),
            _ => s.parse().ok(),
        },
        _ => None,
    }
}

/// An integer, `N`, `N?` or `-`.
fn wakeup(node: &Node) -> Option<Wakeup> {
    match node.scalar()?.resolve().ok()? {
        Value::Int(i) => format!("{i}").parse().ok(),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// An integer or `-`.
fn maxproc(node: &Node) -> Option<MaxProc> {
    match node.scalar()?.resolve().ok()? {
        Value::Int(i) => format!("{i}").parse().ok(),
        Value::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// `0600`, `600`, `0o600` (always octal digits, as chmod reads them).
fn octal_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777)
}

/// Why a table path is unusable, if it is.
fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("the path is empty".into());
    }
    path.chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '{' | '}'))
        .map(|c| {
            format!(
                "a table path cannot contain {} (Postfix splits table lists on it)",
                describe_char(c)
            )
        })
}

/// A main.cf value (or a `-o` option value).
pub(crate) fn to_spec_value(v: &Node) -> Result<Option<SpecValue>, String> {
    Ok(Some(match &v.kind {
        Kind::Scalar(s) => match s.resolve() {
            Ok(Value::Null) => return Ok(None),
            Ok(Value::Bool(b)) => SpecValue::Bool(b),
            Ok(Value::Int(i)) => SpecValue::Int(i),
            Ok(Value::Str(s)) => SpecValue::Str(s.to_string()),
            Err(e) => return Err(e.message()),
        },
        Kind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let resolved = item.scalar().map(super::yaml::Scalar::resolve);
                out.push(match resolved {
                    Some(Ok(Value::Str(s))) => s.to_string(),
                    Some(Ok(Value::Bool(b))) => if b { "yes" } else { "no" }.to_string(),
                    Some(Ok(Value::Int(i))) => i.to_string(),
                    Some(Err(
                        e
                        @ (ScalarError::Binary | ScalarError::Tag(_) | ScalarError::Tagged { .. }),
                    )) => return Err(e.message()),
                    _ => {
                        return Err(format!(
                            "list items must be strings, found {}",
                            kind_of(item)
                        ))
                    }
                });
            }
            SpecValue::List(out)
        }
        Kind::Map(_) => return Err("expected a value, found a mapping".into()),
    }))
}

fn parse_service(v: &Node) -> Result<ServiceMode, String> {
    match &v.kind {
        Kind::Scalar(_) if v.as_str().is_some() => {
            v.as_str().unwrap_or_default().parse::<ServiceMode>()
        }
        Kind::Map(entries) => {
            for (k, _) in entries {
                if !matches!(k.as_str(), Some("reload" | "restart")) {
                    return Err(format!(
                        "unknown key {:?} under `service`: expected reload and restart",
                        shown(k.as_str().unwrap_or("?"))
                    ));
                }
            }
            let argv = |key: &str| -> Result<Vec<String>, String> {
                match entries.iter().find(|(k, _)| k.as_str() == Some(key)) {
                    None => Ok(Vec::new()),
                    Some((
                        _,
                        Node {
                            kind: Kind::Seq(items),
                            ..
                        },
                    )) => items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| format!("`service.{key}` items must be strings"))
                        })
                        .collect(),
                    Some((_, other)) => Err(format!(
                        "`service.{key}` must be a list (argv, run without a shell), found {}",
                        kind_of(other)
                    )),
                }
            };
            let (reload, restart) = (argv("reload")?, argv("restart")?);
            if reload.is_empty() && restart.is_empty() {
                return Err("`service` commands need at least one of reload or restart".into());
            }
            Ok(ServiceMode::Command { reload, restart })
        }
        _ => Err(format!(
            "`service` must be auto, reload, restart, none or a mapping of commands, found {}",
            kind_of(v)
        )),
    }
}
