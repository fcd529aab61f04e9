//! The JSON Schema of spec files.
//!
//! The full form's structure comes from the Rust types (schemars); the
//! parameters come from the catalog: every built-in Postfix parameter
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
//! references).

use crate::catalog::{
    known::{SERVICE_SUFFIXES, TIME_LIMIT_SUFFIX},
    read_only, value_rule, Catalog, ParamType, ValueRule, ValueRuleKind,
};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// Where the schema is published (its `$id`).
pub const SCHEMA_ID: &str = "https://postform.dev/schemas/spec.schema.json";

// The full form of a spec file. Used only to derive the schema: loading is
// in `spec.rs`, which reports every error with its location. Doc comments
// on the fields become the schema's descriptions.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FullForm {
    /// Spec files this one layers on (paths relative to this file); later
    /// layers and this file win.
    extends: Option<Extends>,
    /// main.cf parameters: `name: value` sets, `name: null` removes.
    main: Option<Map<String, Value>>,
    /// Also remove parameters this spec does not name (default false).
    purge: Option<bool>,
    /// auto | reload | restart | none, or commands {reload: [argv], restart: [argv]}.
    service: Option<ServiceSchema>,
    /// User-defined parameter names that are valid even if no value
    /// references them.
    custom_parameters: Option<Vec<ParameterName>>,
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum Extends {
    One(String),
    Many(Vec<String>),
}

#[allow(dead_code)]
#[derive(JsonSchema)]
struct ParameterName(#[schemars(pattern(r"^[A-Za-z0-9_]+$"))] String);

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum ServiceSchema {
    Mode(ServiceModeName),
    Commands(ServiceCommands),
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ServiceModeName {
    Auto,
    Reload,
    Restart,
    None,
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ServiceCommands {
    /// argv run to reload Postfix (no shell).
    reload: Option<Vec<String>>,
    /// argv run to restart Postfix (no shell).
    restart: Option<Vec<String>>,
}

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
            let item = format!("(!?({names})|[<>]=(({names})|(0[xX])?[0-9A-Fa-f]+))");
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

fn param_schema(name: &str, ty: ParamType, default: &str) -> Value {
    let link = format!("https://www.postfix.org/postconf.5.html#{name}");
    let rule = value_rule(name);
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

/// Remove `null` from every `type` list and `anyOf` of a schemars-made
/// schema: the loader rejects null for these keys (it is only accepted
/// where added back explicitly).
fn drop_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    m.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = m.get_mut("anyOf") {
                any.retain(|s| s != &null());
                if any.len() == 1 {
                    let only = any.remove(0);
                    m.remove("anyOf");
                    if let Value::Object(inner) = only {
                        m.extend(inner);
                    }
                }
            }
            for child in m.values_mut() {
                drop_null(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// The schema as a JSON value.
pub fn spec_schema(catalog: &Catalog) -> Value {
    let mut props = Map::new();
    for name in catalog.names() {
        if read_only(name) {
            continue;
        }
        if let Some(p) = catalog.get(name) {
            props.insert(name.to_string(), param_schema(name, p.ty, p.default));
        }
    }
    let parameters = json!({
        "type": "object",
        "description": "main.cf parameters: `name: value` sets, `name: null` removes. Every built-in parameter of Postfix 3.7 and the names derived from master.cf services.",
        "properties": props,
        "patternProperties": service_patterns(catalog),
        "additionalProperties": false
    });
    let full = serde_json::to_value(schemars::schema_for!(FullForm)).unwrap_or(Value::Null);
    let mut full_obj = match full {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let defs = full_obj.remove("$defs").unwrap_or_else(|| json!({}));
    full_obj.remove("$schema");
    full_obj.remove("title");
    full_obj.remove("description");
    let mut full_value = Value::Object(full_obj);
    drop_null(&mut full_value);
    let mut defs = defs;
    drop_null(&mut defs);
    if let Some(Value::Object(p)) = full_value.get_mut("properties") {
        // Both may be empty (null): a layer that only extends others.
        p.insert(
            "main".into(),
            json!({"anyOf": [{"$ref": "#/$defs/parameters"}, {"type": "null"}],
                   "description": "main.cf parameters: `name: value` sets, `name: null` removes."}),
        );
        if let Some(Value::Object(ext)) = p.get_mut("extends") {
            let inner = std::mem::take(ext);
            let mut any = match inner.get("anyOf") {
                Some(Value::Array(a)) => a.clone(),
                _ => vec![Value::Object(inner.clone())],
            };
            any.push(null());
            ext.insert("anyOf".into(), Value::Array(any));
            if let Some(d) = inner.get("description") {
                ext.insert("description".into(), d.clone());
            }
        }
    }
    let mut defs = match defs {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    defs.insert("parameters".into(), parameters);
    defs.insert("full_form".into(), full_value);
    defs.extend(type_defs());
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "postform spec",
        "description": "What Postfix's main.cf must say. Short form: a map of parameters. Full form: extends/main/purge/service/custom_parameters.",
        "anyOf": [
            {"$ref": "#/$defs/full_form", "anyOf": [
                {"required": ["main"]}, {"required": ["extends"]}, {"required": ["purge"]},
                {"required": ["service"]}, {"required": ["custom_parameters"]}
            ]},
            {"$ref": "#/$defs/parameters"},
            {"type": "null", "description": "An empty file: an empty spec."}
        ],
        "$defs": defs
    })
}

/// The schema as pretty JSON text (built-in 3.7.11 catalog, so the output
/// does not depend on the host).
pub fn spec_schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&spec_schema(Catalog::builtin())).unwrap_or_default();
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
