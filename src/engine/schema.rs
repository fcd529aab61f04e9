//! The JSON Schema of spec files.
//!
//! The full form's structure comes from the enums the loader dispatches on
//! ([`Section`], [`ServiceField`], [`MapField`], [`ServiceType`],
//! [`MapType`]): each has an exhaustive `match` here, so a new section or
//! field cannot be loaded without being described. The parameters come
//! from the catalog: every built-in Postfix parameter
//! (except the read-only `process_id`, `process_name`, `service_name`) is a
//! property with its type, closed set of values, default and a link to its
//! postconf(5) entry, so a YAML editor completes and checks names and
//! values. Service-derived names (`<service>_destination_concurrency_limit`
//! ...) are allowed by pattern, typed like the parameter they default to.
//! `schemas/spec.schema.json` is this output, committed; a test keeps it
//! current and checks that it accepts the examples and rejects bad specs.
//!
//! The schema is a little stricter than `postform validate` in two
//! places, both on purpose: keyword values must be spelled in the case
//! postconf(5) uses (Postfix ignores case for some), so that the editor can
//! offer them; and user-defined parameters (valid when another value
//! references them as `$name`) are flagged, because a schema cannot see
//! references. Everything the schema accepts, postform accepts too, except
//! what needs the whole configuration (cross-parameter rules, `$name`
//! references), table files and secrets that must exist when the spec
//! loads, and a table `mode` written as a number with an 8 or 9 in it
//! (`mode: 0800`: JSON Schema cannot say "octal digits" of a number).

use crate::catalog::{
    known::{SERVICE_SUFFIXES, TIME_LIMIT_SUFFIX},
    read_only, value_rule, value_rule_for, Catalog, ParamType, PostfixVersion, ValueRule,
    ValueRuleKind,
};
use crate::engine::spec::{MapField, MapFormat, MapType, Section, ServiceField, ServiceType};
use serde_json::{json, Map, Value};

/// Where the schema is published (its `$id`).
pub const SCHEMA_ID: &str = "https://postform.dev/schemas/spec.schema.json";

/// A value Postfix expands at run time (`$name`, `${name?x}`...): postform
/// does not check its type, only that it is one line of text (as [`TEXT`])
/// with a `$` in it.
const MACRO: &str = r"^[ \t]*(\$|[^#\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0a-\x1f\x7f-\x9f]*\$)[^\x00-\x08\x0a-\x1f\x7f-\x9f]*$";
/// One line of text that does not start with `#` (after blanks): no
/// control characters except tab (they would inject lines into main.cf).
const TEXT: &str = r"^[ \t]*([^#\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0a-\x1f\x7f-\x9f]*)?$";
/// One list item: as [`TEXT`], not empty, and without `,` (which would
/// split it).
const LIST_ITEM: &str = r"^[ \t]*[^#,\s\x00-\x1f\x7f-\x9f][^,\x00-\x08\x0a-\x1f\x7f-\x9f]*$";

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn alternatives(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| regex_escape(v))
        .collect::<Vec<_>>()
        .join("|")
}

fn null() -> Value {
    json!({"type": "null"})
}

fn macro_string() -> Value {
    json!({"type": "string", "pattern": MACRO})
}

/// The shared value schemas, by type (in `$defs`, referenced by the
/// parameters; keeps the schema small).
fn type_defs() -> Map<String, Value> {
    let blank = r"[ \t]*";
    let mut defs = Map::new();
    let mut add = |name: &str, description: &str, mut any: Vec<Value>| {
        any.push(macro_string());
        any.push(null());
        defs.insert(
            name.to_string(),
            json!({"description": description, "anyOf": any}),
        );
    };
    add(
        "bool_value",
        "yes or no (YAML true/false are written as yes/no)",
        vec![
            json!({"type": "boolean"}),
            json!({"type": "string", "pattern": format!("^{blank}([Yy][Ee][Ss]|[Nn][Oo]){blank}$")}),
        ],
    );
    add(
        "int_value",
        "a whole number (C int)",
        vec![
            json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX}),
            json!({"type": "string", "pattern": format!("^{blank}[+-]?[0-9]+{blank}$")}),
        ],
    );
    add(
        "long_value",
        "a whole number (C long)",
        vec![
            json!({"type": "integer"}),
            json!({"type": "string", "pattern": format!("^{blank}[+-]?[0-9]+{blank}$")}),
        ],
    );
    add(
        "time_value",
        "a time: a number with an optional unit s, m, h, d or w (without one, the parameter's default unit)",
        vec![
            json!({"type": "integer", "minimum": 0, "maximum": i32::MAX}),
            json!({"type": "string", "pattern": format!("^{blank}[0-9]+[smhdw]?{blank}$")}),
        ],
    );
    add(
        "text_value",
        "text on one line, not starting with '#'; or a list of items (joined with \", \"), each without ','",
        vec![
            json!({"type": "string", "pattern": TEXT}),
            json!({"type": "integer"}),
            json!({"type": "boolean"}),
            json!({
                "type": "array",
                "items": {"anyOf": [
                    {"type": "string", "pattern": LIST_ITEM},
                    {"type": "integer"},
                    {"type": "boolean"}
                ]}
            }),
        ],
    );
    defs
}

/// The schema of a parameter's value for its type and value set (without
/// descriptions). Every parameter also takes `null` (remove it) and a
/// `$name` expression.
fn value_schema(ty: ParamType, rule: Option<ValueRule>) -> Value {
    let shared = match ty {
        ParamType::Bool | ParamType::Nbool => "bool_value",
        ParamType::Int | ParamType::Nint => "int_value",
        ParamType::Long => "long_value",
        ParamType::Time => "time_value",
        ParamType::Str | ParamType::StrFn | ParamType::Raw => match rule {
            Some(rule) => {
                let mut any = rule_schemas(&rule);
                any.push(macro_string());
                any.push(null());
                return json!({ "anyOf": any });
            }
            None => "text_value",
        },
    };
    json!({ "$ref": format!("#/$defs/{shared}") })
}

/// The accepted shapes of a parameter with a closed value set.
fn rule_schemas(rule: &ValueRule) -> Vec<Value> {
    let sep = r"[, \t]";
    match rule.kind {
        ValueRuleKind::One => {
            let mut values: Vec<&str> = rule.values.to_vec();
            if rule.allow_empty {
                values.push("");
            }
            vec![json!({"type": "string", "enum": values})]
        }
        ValueRuleKind::List => {
            let item = format!("({})", alternatives(rule.values));
            let list = format!("^{sep}*{item}({sep}+{item})*{sep}*$");
            let pattern = if rule.allow_empty {
                format!("^{sep}*$|{list}")
            } else {
                list
            };
            vec![
                json!({"type": "string", "pattern": pattern}),
                json!({
                    "type": "array",
                    "items": {"type": "string", "enum": rule.values},
                    "minItems": if rule.allow_empty { 0 } else { 1 }
                }),
            ]
        }
        ValueRuleKind::Protocols => {
            let names = alternatives(rule.values);
            // `>=`/`<=` bounds from Postfix 3.6 on.
            let item = if rule.protocol_bounds {
                format!("(!?({names})|[<>]=(({names})|(0[xX])?[0-9A-Fa-f]+))")
            } else {
                format!("(!?({names}))")
            };
            let psep = r"[, \t:]";
            vec![
                json!({"type": "string", "pattern": format!("^{psep}*$|^{psep}*{item}({psep}+{item})*{psep}*$")}),
                json!({"type": "array", "items": {"type": "string", "pattern": format!("^{item}$")}}),
            ]
        }
        ValueRuleKind::CompatLevel => vec![
            json!({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+){0,2}$", "examples": rule.values}),
            json!({"type": "integer", "minimum": 0}),
        ],
    }
}

fn param_schema(
    name: &str,
    ty: ParamType,
    default: &str,
    version: Option<PostfixVersion>,
) -> Value {
    let link = format!("https://www.postfix.org/postconf.5.html#{name}");
    let rule = match version {
        Some(v) => value_rule_for(name, v),
        None => value_rule(name),
    };
    let mut s = value_schema(ty, rule);
    let values = rule
        .filter(|r| r.kind != ValueRuleKind::CompatLevel)
        .map(|r| format!(" Values: {}.", r.values.join(", ")))
        .unwrap_or_default();
    // str_fn defaults (myhostname, mydomain, mynetworks) are computed by
    // Postfix on each host; the catalog's are from the machine that made it.
    let computed = ty == ParamType::StrFn;
    let (plain, markdown) = if computed {
        (
            "computed by Postfix on the host".to_string(),
            "computed by Postfix on the host".to_string(),
        )
    } else {
        (format!("{default:?}"), format!("`{default}`"))
    };
    if let Value::Object(m) = &mut s {
        m.insert(
            "description".into(),
            Value::String(format!(
                "Postfix parameter {name} ({ty}, default: {plain}).{values} {link}"
            )),
        );
        m.insert(
            "markdownDescription".into(),
            Value::String(format!(
                "Postfix parameter [`{name}`]({link}) ({ty}). Default: {markdown}.{values}"
            )),
        );
        if !default.is_empty() && !computed {
            m.insert("default".into(), Value::String(default.to_string()));
        }
    }
    s
}

/// patternProperties for the names Postfix derives from master.cf
/// services, typed like the built-in parameter each defaults to.
fn service_patterns(catalog: &Catalog) -> Map<String, Value> {
    let mut by_type: Vec<(ParamType, Vec<&str>)> = Vec::new();
    for (suffix, default) in SERVICE_SUFFIXES.iter().chain([&TIME_LIMIT_SUFFIX]) {
        let ty = catalog.get(default).map_or(ParamType::Str, |p| p.ty);
        match by_type.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, v)) => v.push(suffix),
            None => by_type.push((ty, vec![suffix])),
        }
    }
    let mut out = Map::new();
    for (ty, mut suffixes) in by_type {
        suffixes.sort_unstable();
        let pattern = format!(
            "^[A-Za-z0-9_.:-]+({})$",
            suffixes
                .iter()
                .map(|s| regex_escape(s))
                .collect::<Vec<_>>()
                .join("|")
        );
        let mut s = value_schema(ty, None);
        if let Value::Object(m) = &mut s {
            m.insert(
                "description".into(),
                Value::String(format!(
                    "A parameter Postfix derives from a master.cf service name ({ty}); valid when master.cf has that service. https://www.postfix.org/postconf.5.html#transport_destination_concurrency_limit"
                )),
            );
        }
        out.insert(pattern, s);
    }
    out
}

/// One line of text without control characters (tab allowed), not empty.
const LINE: &str = r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f]+$";
/// One word: no blanks, no control characters.
const WORD: &str = r"^[^\s\x00-\x1f\x7f-\x9f]+$";

/// The full form: one property per [`Section`].
fn full_form() -> Value {
    let mut props = Map::new();
    for section in Section::ALL {
        props.insert(section.as_str().to_string(), section_schema(section));
    }
    json!({
        "type": "object",
        "properties": props,
        "additionalProperties": false
    })
}

/// What a section's value may be (as the loader in src/engine/spec reads it).
fn section_schema(section: Section) -> Value {
    match section {
        Section::Extends => json!({
            "description": "Spec files this one layers on (paths relative to this file); later layers and this file win.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "null"}
            ]
        }),
        // May be empty (null): a layer that only extends others.
        Section::Main => json!({
            "description": "main.cf parameters: `name: value` sets, `name: null` removes.",
            "anyOf": [{"$ref": "#/$defs/parameters"}, {"type": "null"}]
        }),
        Section::Master => json!({
            "description": "master.cf services, keyed service/type as `postconf -M` names them (smtp/inet, pickup/unix, 127.0.0.1:10025/inet). Named fields and -o options are enforced, the others left as they are; null removes the service.",
            "anyOf": [
                {
                    "type": "object",
                    "propertyNames": {"pattern": format!(r"^\S+/({})$", alternatives(&ServiceType::ALL.map(ServiceType::as_str)))},
                    "additionalProperties": {"anyOf": [{"$ref": "#/$defs/master_service"}, {"type": "null"}]}
                },
                {"type": "null"}
            ]
        }),
        Section::Maps => json!({
            "description": "Lookup table files by path (absolute, or relative to the config directory), each with its whole content; null: the table must not exist.",
            "anyOf": [
                {
                    "type": "object",
                    "propertyNames": {
                        "pattern": r"^[^\s,{}\x00-\x1f\x7f-\x9f]+$",
                        "not": {"pattern": format!("^({}):", alternatives(&MapType::ALL.map(MapType::as_str)))}
                    },
                    "additionalProperties": {"anyOf": [{"$ref": "#/$defs/map"}, {"type": "null"}]}
                },
                {"type": "null"}
            ]
        }),
        Section::Aliases => json!({
            "description": "Aliases in the file alias_database names: name -> target or list of targets; null removes the name.",
            "anyOf": [
                {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[^\s:#\x00-\x1f\x7f-\x9f][^\s:\x00-\x1f\x7f-\x9f]*$"},
                    "additionalProperties": {"anyOf": [
                        {"type": "string", "pattern": LINE},
                        {"type": "number"},
                        {"type": "array", "minItems": 1, "items": {"anyOf": [
                            {"type": "string", "pattern": LINE}, {"type": "number"}
                        ]}},
                        {"type": "null"}
                    ]}
                },
                {"type": "null"}
            ]
        }),
        Section::Purge => json!({
            "description": "Also remove parameters this spec does not name (default false).",
            "type": "boolean"
        }),
        Section::Service => json!({
            "description": "auto | reload | restart | none, or commands {reload: [argv], restart: [argv]}.",
            "anyOf": [
                {"type": "string", "enum": ["auto", "reload", "restart", "none"]},
                {
                    "type": "object",
                    "properties": {
                        "reload": {"description": "argv run to reload Postfix (no shell).", "type": "array", "items": {"type": "string"}},
                        "restart": {"description": "argv run to restart Postfix (no shell).", "type": "array", "items": {"type": "string"}}
                    },
                    "additionalProperties": false,
                    "minProperties": 1
                }
            ]
        }),
        Section::Allow => {
            let id = json!({"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"});
            json!({
                "description": "Safety-policy ids this host allows (e.g. open_relay).",
                "anyOf": [id.clone(), {"type": "array", "items": id}, {"type": "null"}]
            })
        }
        Section::PostfixVersion => json!({
            "description": "The Postfix release the spec is written for, as a string (\"3.10\", \"3.10.13\"; unquoted, YAML reads 3.10 as the number 3.1).",
            "type": "string",
            "pattern": r"^\s*[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,4})?(-.*)?\s*$"
        }),
        Section::CustomParameters => json!({
            "description": "User-defined parameter names that are valid even if no value references them.",
            "type": "array",
            "items": {"type": "string", "pattern": r"^[A-Za-z0-9_]+$"}
        }),
    }
}

/// A master.cf service: one property per [`ServiceField`].
fn master_service() -> Value {
    let mut props = Map::new();
    for field in ServiceField::ALL {
        props.insert(field.as_str().to_string(), service_field_schema(field));
    }
    json!({"type": "object", "properties": props, "additionalProperties": false})
}

fn service_field_schema(field: ServiceField) -> Value {
    let flag = |what: &str| {
        json!({
            "description": format!("{what}: y, n or - (the default), or true/false."),
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "pattern": "^(y|n|-|[Yy][Ee][Ss]|[Nn][Oo])$"}
            ]
        })
    };
    match field {
        ServiceField::Private => flag("Field 3, private (the socket is only for Postfix)"),
        ServiceField::Unpriv => flag("Field 4, unpriv (run as mail_owner, not root)"),
        ServiceField::Chroot => flag("Field 5, chroot (run chrooted to queue_directory)"),
        ServiceField::Wakeup => json!({
            "description": "Field 6: wake up every N seconds; \"N?\" only when the service is used; \"-\": never.",
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": i32::MAX},
                {"type": "string", "pattern": r"^([0-9]+\??|-)$"}
            ]
        }),
        ServiceField::Maxproc => json!({
            "description": "Field 7: most processes at once (0: no limit; \"-\": default_process_limit).",
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": i32::MAX},
                {"type": "string", "pattern": "^([0-9]+|-)$"}
            ]
        }),
        ServiceField::Command => json!({
            "description": "Field 8: the program (one word, e.g. smtpd).",
            "type": "string",
            "pattern": WORD
        }),
        ServiceField::Args => json!({
            "description": "The words after the command's options (not -o options: those go under options; the first word does not start with -).",
            "type": "array",
            "prefixItems": [{"anyOf": [
                {"type": "string", "pattern": r"^[^-\x00-\x08\x0a-\x1f\x7f-\x9f][^\x00-\x08\x0a-\x1f\x7f-\x9f]*$"},
                {"type": "number", "minimum": 0}
            ]}],
            "items": {"anyOf": [
                {"type": "string", "pattern": r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f]+$"},
                {"type": "number"}
            ]}
        }),
        ServiceField::Options => json!({
            "description": "The -o name=value overrides, typed like main.cf values; null: the option must not be set.",
            "anyOf": [
                {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[A-Za-z0-9_]+$"},
                    "additionalProperties": {"$ref": "#/$defs/text_value"}
                },
                {"type": "null"}
            ]
        }),
    }
}

/// A table: one property per [`MapField`].
fn map_spec() -> Value {
    let mut props = Map::new();
    for field in MapField::ALL {
        props.insert(field.as_str().to_string(), map_field_schema(field));
    }
    json!({
        "type": "object",
        "properties": props,
        "required": [MapField::Type.as_str()],
        "additionalProperties": false
    })
}

fn map_field_schema(field: MapField) -> Value {
    let owner = |what: &str| {
        json!({
            "description": format!("The file's {what} (a name or a number)."),
            "anyOf": [
                {"type": "string", "pattern": r"^[^\s:\x00-\x1f\x7f-\x9f]+$"},
                {"type": "integer", "minimum": 0}
            ]
        })
    };
    match field {
        MapField::Type => json!({
            "description": "hash, lmdb, cdb and btree are built with postmap; regexp, pcre, cidr and texthash are read as text.",
            "type": "string",
            "enum": MapType::ALL.map(MapType::as_str)
        }),
        MapField::Entries => json!({
            "description": "key: value, in order (for regexp, pcre and cidr the first match wins). A value may come from outside the spec: {file: path} (relative to the spec file) or {env: NAME}.",
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": {"anyOf": [
                        {"type": "string", "pattern": LINE},
                        {"type": "number"},
                        {"type": "boolean"},
                        {"type": "object", "properties": {"file": {"type": "string", "minLength": 1}}, "required": ["file"], "additionalProperties": false},
                        {"type": "object", "properties": {"env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}}, "required": ["env"], "additionalProperties": false}
                    ]}
                },
                {"type": "null"}
            ]
        }),
        MapField::Mode => json!({
            "description": "File mode, octal as chmod takes it (\"0600\").",
            "anyOf": [
                {"type": "string", "pattern": "^(0o)?[0-7]{1,5}$"},
                {"type": "integer", "minimum": 0, "maximum": 7777}
            ]
        }),
        MapField::Owner => owner("owner"),
        MapField::Group => owner("group"),
        MapField::Secret => json!({
            "description": "Never print the entries (source and index 0600 unless mode says otherwise).",
            "type": "boolean"
        }),
        MapField::Format => json!({
            "description": "aliases: an aliases(5) file (name: value lines, built with postalias; hash, btree, lmdb or cdb). Default postmap.",
            "type": "string",
            "enum": MapFormat::ALL.map(MapFormat::as_str)
        }),
    }
}

/// The schema as a JSON value: the parameters of `catalog` with the value
/// rules of the built-in catalog (see [`spec_schema_for`]).
pub fn spec_schema(catalog: &Catalog) -> Value {
    schema_with(catalog, None)
}

/// The schema of a Postfix version: its catalog's parameters
/// ([`Catalog::for_version`]) with its value rules
/// ([`crate::catalog::value_rule_for`]).
pub fn spec_schema_for(version: PostfixVersion) -> Value {
    schema_with(&Catalog::for_version(version), Some(version))
}

fn schema_with(catalog: &Catalog, version: Option<PostfixVersion>) -> Value {
    let mut props = Map::new();
    for name in catalog.names() {
        if read_only(name) {
            continue;
        }
        if let Some(p) = catalog.get(name) {
            props.insert(
                name.to_string(),
                param_schema(name, p.ty, p.default, version),
            );
        }
    }
    let shown = match version {
        Some(v) => v.to_string(),
        None => "3.7".to_string(),
    };
    let parameters = json!({
        "type": "object",
        "description": format!("main.cf parameters: `name: value` sets, `name: null` removes. Every built-in parameter of Postfix {shown} and the names derived from master.cf services."),
        "properties": props,
        "patternProperties": service_patterns(catalog),
        "additionalProperties": false
    });
    let mut defs = Map::new();
    defs.insert("parameters".into(), parameters);
    defs.insert("full_form".into(), full_form());
    defs.insert("master_service".into(), master_service());
    defs.insert("map".into(), map_spec());
    defs.extend(type_defs());
    let (id, title) = match version {
        Some(v) => (
            format!("https://postform.dev/schemas/spec-postfix-{v}.schema.json"),
            format!("postform spec (Postfix {v})"),
        ),
        None => (SCHEMA_ID.to_string(), "postform spec".to_string()),
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "title": title,
        "description": "What Postfix's configuration must say. Short form: a map of main.cf parameters. Full form: the sections extends, main, master, maps, aliases, purge, service, allow, postfix_version, custom_parameters.",
        "anyOf": [
            {"$ref": "#/$defs/full_form", "anyOf": Section::ALL.map(|s| json!({"required": [s.as_str()]}))},
            {"$ref": "#/$defs/parameters"},
            {"type": "null", "description": "An empty file: an empty spec."}
        ],
        "$defs": defs
    })
}

/// The schema as pretty JSON text: with `None` from the built-in 3.7.11
/// catalog (so the output does not depend on the host), with
/// `Some(version)` the schema of that Postfix version ([`spec_schema_for`]).
pub fn spec_schema_json_for(version: Option<PostfixVersion>) -> String {
    let schema = match version {
        Some(v) => spec_schema_for(v),
        None => spec_schema(Catalog::builtin()),
    };
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parameter_is_a_property_except_read_only_ones() {
        let schema = spec_schema(Catalog::builtin());
        let props = schema["$defs"]["parameters"]["properties"]
            .as_object()
            .expect("properties");
        assert_eq!(props.len(), Catalog::builtin().len() - 3);
        assert!(!props.contains_key("process_id"));
        let p = &props["inet_protocols"];
        assert_eq!(p["default"], "all");
        assert!(p["description"]
            .as_str()
            .unwrap()
            .contains("https://www.postfix.org/postconf.5.html#inet_protocols"));
        assert_eq!(props["biff"]["$ref"], "#/$defs/bool_value");
        let smtpd = &props["smtpd_tls_security_level"]["anyOf"][0];
        assert_eq!(smtpd["enum"], json!(["none", "may", "encrypt", ""]));
    }

    #[test]
    fn a_versions_schema_has_its_parameters_and_value_rules() {
        let v = |t: &str| PostfixVersion::parse(t).expect("version");
        let props = |s: &Value| s["$defs"]["parameters"]["properties"].clone();
        let s35 = spec_schema_for(v("3.5"));
        let s310 = spec_schema_for(v("3.10"));
        assert_eq!(s310["title"], "postform spec (Postfix 3.10)");
        assert!(props(&s310).get("smtp_tlsrpt_enable").is_some());
        assert!(props(&s35).get("smtp_tlsrpt_enable").is_none());
        assert!(props(&s35).get("postscreen_blacklist_action").is_some());
        assert!(props(&s310).get("postscreen_blacklist_action").is_none());
        // TLS protocol bounds from 3.6; bare-newline `note` from 3.9.
        let pattern = |s: &Value| props(s)["smtp_tls_protocols"]["anyOf"][0]["pattern"].clone();
        assert!(!pattern(&s35).as_str().expect("pattern").contains("[<>]="));
        assert!(pattern(&s310).as_str().expect("pattern").contains("[<>]="));
        let bare = |s: &Value| props(s)["smtpd_forbid_bare_newline"]["anyOf"][0]["enum"].clone();
        assert_eq!(
            bare(&spec_schema_for(v("3.7"))),
            json!(["normalize", "yes", "reject", "no"])
        );
        assert_eq!(
            bare(&s310),
            json!(["normalize", "yes", "note", "reject", "no"])
        );
        // The default schema is the built-in catalog's, unchanged.
        assert_eq!(
            spec_schema_json_for(None),
            format!(
                "{}\n",
                serde_json::to_string_pretty(&spec_schema(Catalog::builtin())).expect("json")
            )
        );
    }

    #[test]
    fn full_form_keys_are_not_nullable_where_the_loader_refuses_null() {
        let schema = spec_schema(Catalog::builtin());
        let full = &schema["$defs"]["full_form"]["properties"];
        assert_eq!(full["purge"]["type"], "boolean");
        assert!(full["service"]
            .get("anyOf")
            .is_none_or(|a| !a.as_array().unwrap().contains(&null())));
        assert!(full["main"]["anyOf"].as_array().unwrap().contains(&null()));
        assert!(full["extends"]["anyOf"]
            .as_array()
            .unwrap()
            .contains(&null()));
    }
}
