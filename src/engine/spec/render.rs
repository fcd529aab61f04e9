//! The YAML writer `postform import` uses.

use super::SpecValue;

/// Render a short-form spec (a plain map of parameters) as YAML, after a
/// comment header.
pub fn render_short_form(header: &str, entries: &[(String, SpecValue)]) -> String {
    let mut map = serde_yaml::Mapping::new();
    for (name, value) in entries {
        let v = match value {
            SpecValue::Str(s) => serde_yaml::Value::String(s.clone()),
            SpecValue::Bool(b) => serde_yaml::Value::Bool(*b),
            SpecValue::Int(i) => serde_yaml::Value::Number((*i).into()),
            SpecValue::List(items) => serde_yaml::Value::Sequence(
                items
                    .iter()
                    .cloned()
                    .map(serde_yaml::Value::String)
                    .collect(),
            ),
        };
        map.insert(serde_yaml::Value::String(name.clone()), v);
    }
    let body = if map.is_empty() {
        "{}\n".to_string()
    } else {
        serde_yaml::to_string(&map).unwrap_or_default()
    };
    format!("{header}{body}")
}
