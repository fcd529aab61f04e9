//! YAML -> JSON the way a YAML 1.2 tool sees it (an editor's language
//! server checking the JSON Schema, a CI workflow, a playbook), for tests.
//!
//! postform itself reads specs with its own scalar rules
//! (src/engine/spec/yaml.rs); this is the plain YAML 1.2 core schema:
//! `0x10` is 16, `yes` is a string, `1.5` a float. Anchors and aliases
//! work; tags other than the core ones are ignored.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

enum Frame {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<String>, usize),
}

/// Parse one YAML document into JSON (an empty document is `null`).
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut root = Value::Null;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            format!(
                "{} at line {} column {}",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            )
        })?;
        let (value, anchor) = match event {
            Event::StreamEnd => break,
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Map::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => (Value::Array(items), anchor),
                Some(Frame::Map(map, _, anchor)) => (Value::Object(map), anchor),
                None => return Err("unbalanced collection end".into()),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                (core_scalar(&text, style, tag.as_deref()), anchor)
            }
            Event::Alias(id) => (
                anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("unknown alias at line {}", span.start.line()))?,
                0,
            ),
            _ => continue,
        };
        if anchor != 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => root = value,
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, key, _)) => match key.take() {
                None => {
                    *key = Some(match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                }
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
    Ok(root)
}

fn core_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if style != ScalarStyle::Plain || tag == Some("str") {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let int = if let Some(h) = text.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = text.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else {
        text.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Value::Number(i.into());
    }
    let float_like = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if float_like {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}
