//! JSON Schema (draft 2020-12) of a command's parameters, generated from the metadata.

use serde_json::{Map, Value, json};

use super::catalog::{Param, ValueSpec};

/// The dialect every generated schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// `{"type": "object", "properties": …, "required": […], "additionalProperties": false}`.
pub fn input_schema(params: &[Param]) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in params {
        let mut property = value_schema(&param.spec);
        if !param.description.is_empty() {
            property.insert(
                "description".into(),
                Value::String(param.description.clone()),
            );
        }
        if let Some(default) = &param.default {
            property.insert("default".into(), default.clone());
        }
        if !param.examples.is_empty() {
            property.insert("examples".into(), Value::Array(param.examples.clone()));
        }
        properties.insert(param.name.clone(), Value::Object(property));
        if param.required {
            required.push(Value::String(param.name.clone()));
        }
    }
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DIALECT));
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

fn value_schema(spec: &ValueSpec) -> Map<String, Value> {
    let mut schema = Map::new();
    schema.insert("type".into(), json!(spec.ty.as_str()));
    if let Some(pattern) = &spec.pattern {
        schema.insert("pattern".into(), json!(pattern.as_str()));
    }
    if let Some(values) = &spec.enum_values {
        schema.insert("enum".into(), Value::Array(values.clone()));
    }
    if let Some(items) = &spec.items {
        schema.insert("items".into(), Value::Object(value_schema(items)));
    }
    schema
}
