//! The JSON Schema of spec files.
//!
//! The full form's structure comes from the Rust types (schemars); the
//! parameters come from the catalog: every built-in Postfix parameter is a
//! property with its type, closed enumeration, default and a link to its
//! postconf(5) entry, so a YAML editor completes and checks names.
//! Service-derived names (`<service>_destination_concurrency_limit`...) are
//! allowed by pattern. `schemas/spec.schema.json` is this output,
//! committed; a test keeps it current.

use crate::catalog::{enum_values, Catalog, ParamType};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// Where the schema is published (its `$id`).
pub const SCHEMA_ID: &str = "https://postform.dev/schemas/spec.schema.json";

/// The full form of a spec file (used only to derive the schema; loading
/// is in `spec.rs`, which reports every error with its location).
#[allow(dead_code)]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FullForm {
    /// Spec files this one layers on (paths relative to this file); later
    /// layers and this file win.
    extends: Option<Vec<String>>,
    /// main.cf parameters: `name: value` sets, `name: null` removes.
    main: Option<Map<String, Value>>,
    /// Also remove parameters this spec does not name.
    purge: Option<bool>,
    /// auto | reload | restart | none, or commands {reload: [argv], restart: [argv]}.
    service: Option<ServiceSchema>,
    /// User-defined parameter names that are valid even if no value
    /// references them.
    custom_parameters: Option<Vec<String>>,
}

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

/// The suffixes Postfix derives from master.cf service names.
const SERVICE_SUFFIX_PATTERN: &str = "^[A-Za-z0-9_.:-]+_(delivery_slot_cost|delivery_slot_discount|delivery_slot_loan|destination_concurrency_failed_cohort_limit|destination_concurrency_limit|destination_concurrency_negative_feedback|destination_concurrency_positive_feedback|destination_rate_delay|destination_recipient_limit|extra_recipient_limit|initial_destination_concurrency|minimum_delivery_slots|recipient_limit|recipient_refill_delay|recipient_refill_limit|transport_rate_delay|time_limit)$";

fn param_schema(name: &str, ty: ParamType, default: &str) -> Value {
    let link = format!("https://www.postfix.org/postconf.5.html#{name}");
    let description = format!("Postfix parameter {name} (default: {default:?}). {link}");
    let mut s = match ty {
        ParamType::Bool | ParamType::Nbool => json!({
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "pattern": "^([Yy][Ee][Ss]|[Nn][Oo]|\\$.*|.*\\$.*)$"},
                {"type": "null"}
            ]
        }),
        ParamType::Int | ParamType::Nint | ParamType::Long => json!({
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": "^(-?[0-9]+|.*\\$.*)$"},
                {"type": "null"}
            ]
        }),
        ParamType::Time => json!({
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^([0-9]+[smhdw]?|.*\\$.*)$"},
                {"type": "null"}
            ]
        }),
        _ => match enum_values(name) {
            Some(values) if !crate::value::is_list_param(name) => json!({
                "anyOf": [
                    {"type": "string", "enum": values},
                    {"type": "string", "pattern": "\\$"},
                    {"type": "null"}
                ]
            }),
            _ => json!({
                "anyOf": [
                    {"type": "string"},
                    {"type": "integer"},
                    {"type": "boolean"},
                    {"type": "array", "items": {"type": ["string", "integer", "boolean"]}},
                    {"type": "null"}
                ]
            }),
        },
    };
    if let Value::Object(m) = &mut s {
        m.insert("description".into(), Value::String(description));
        m.insert(
            "markdownDescription".into(),
            Value::String(format!(
                "Postfix parameter [`{name}`]({link}). Default: `{default}`"
            )),
        );
        if !default.is_empty() {
            m.insert("default".into(), Value::String(default.to_string()));
        }
    }
    s
}

/// The schema as a JSON value.
pub fn spec_schema(catalog: &Catalog) -> Value {
    let mut props = Map::new();
    for name in catalog.names() {
        if let Some(p) = catalog.get(name) {
            props.insert(name.to_string(), param_schema(name, p.ty, p.default));
        }
    }
    let parameters = json!({
        "type": "object",
        "properties": props,
        "patternProperties": { SERVICE_SUFFIX_PATTERN: {"description": "A parameter derived from a master.cf service name."} },
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
    if let Some(Value::Object(p)) = full_obj.get_mut("properties") {
        p.insert("main".into(), json!({"$ref": "#/$defs/parameters"}));
    }
    let mut defs = match defs {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    defs.insert("parameters".into(), parameters);
    defs.insert("full_form".into(), Value::Object(full_obj));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "postform spec",
        "description": "What Postfix's main.cf must say. Short form: a map of parameters. Full form: extends/main/purge/service/custom_parameters.",
        "anyOf": [
            {"$ref": "#/$defs/full_form", "required": [], "anyOf": [
                {"required": ["main"]}, {"required": ["extends"]}, {"required": ["purge"]},
                {"required": ["service"]}, {"required": ["custom_parameters"]}
            ]},
            {"$ref": "#/$defs/parameters"}
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
