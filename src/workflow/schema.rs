//! JSON Schema (draft 2020-12) of a command's parameters, generated from the metadata.
//!
//! Enums follow SEP-1330 (plain `enum`, titled `oneOf`/`anyOf` of `{const, title}`, legacy
//! `enumNames`), so the same keywords serve a tool's `inputSchema` and an elicitation form.
//! Named object types are emitted once under `$defs` and referenced with `$ref`.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::catalog::{EnumLabels, ObjectShape, Param, ValueSpec};

/// The dialect every generated schema declares.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// `{"type": "object", "properties": …, "required": […], "additionalProperties": false}`,
/// with `$defs` when a parameter uses a named type.
pub fn input_schema(params: &[Param]) -> Map<String, Value> {
    let mut defs = IndexMap::new();
    let (properties, required) = properties_schema(params, &mut defs);
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DIALECT));
    schema.insert("type".into(), json!("object"));
    if !defs.is_empty() {
        schema.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
    }
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

/// The `properties` and `required` of an object whose members are `params`.
fn properties_schema(
    params: &[Param],
    defs: &mut IndexMap<String, Value>,
) -> (Map<String, Value>, Vec<Value>) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in params {
        let mut property = value_schema(&param.spec, defs);
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
    (properties, required)
}

/// The schema of one value; named object types land in `defs` (once) and are referenced.
pub fn value_schema(spec: &ValueSpec, defs: &mut IndexMap<String, Value>) -> Map<String, Value> {
    let mut schema = Map::new();
    if let Some(shape) = &spec.shape {
        match &shape.name {
            Some(name) => {
                if !defs.contains_key(name) {
                    // Reserve the slot first: the loader refuses cycles, but a type used twice
                    // inside itself must still be written once.
                    defs.insert(name.clone(), Value::Null);
                    let def = object_schema(shape, defs);
                    defs.insert(name.clone(), Value::Object(def));
                }
                schema.insert("$ref".into(), json!(format!("#/$defs/{name}")));
            }
            None => schema = object_schema(shape, defs),
        }
        return schema;
    }
    schema.insert("type".into(), json!(spec.ty.as_str()));
    if let Some(pattern) = &spec.pattern {
        schema.insert("pattern".into(), json!(pattern.as_str()));
    }
    if let Some(values) = &spec.enum_values {
        match &spec.enum_labels {
            None => {
                schema.insert("enum".into(), Value::Array(values.clone()));
            }
            Some(EnumLabels::Titles(titles)) => {
                schema.insert("oneOf".into(), titled(values, titles));
            }
            Some(EnumLabels::LegacyNames(names)) => {
                schema.insert("enum".into(), Value::Array(values.clone()));
                schema.insert("enumNames".into(), json!(names));
            }
        }
    }
    if let Some(items) = &spec.items {
        let items_schema = match (&items.enum_values, &items.enum_labels) {
            // A titled multi-select: the items are any of the titled constants (SEP-1330).
            (Some(values), Some(EnumLabels::Titles(titles))) => {
                let mut map = Map::new();
                map.insert("anyOf".into(), titled(values, titles));
                map
            }
            _ => value_schema(items, defs),
        };
        schema.insert("items".into(), Value::Object(items_schema));
    }
    schema
}

/// `[{"const": value, "title": title}, …]`.
pub fn titled(values: &[Value], titles: &[String]) -> Value {
    Value::Array(
        values
            .iter()
            .zip(titles)
            .map(|(value, title)| json!({"const": value, "title": title}))
            .collect(),
    )
}

fn object_schema(shape: &ObjectShape, defs: &mut IndexMap<String, Value>) -> Map<String, Value> {
    let (properties, required) = properties_schema(&shape.properties, defs);
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    if shape.name.is_some() && !shape.description.is_empty() {
        schema.insert("description".into(), json!(shape.description));
    }
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::workflow::loader::load_texts;
    use crate::workflow::validate::validate_params;

    const ENUMS: &str = r#"
description = "Pick."
[parameters.plain]
type = "string"
enum = ["a", "b"]
[parameters.titled]
type = "string"
enum = [{ value = "a", title = "Option A" }, { value = "b", title = "Option B" }]
[parameters.legacy]
type = "string"
enum = ["a", "b"]
enum_names = ["A", "B"]
[parameters.many]
type = "array"
items = { type = "string", enum = ["a", "b"] }
[parameters.many_titled]
type = "array"
items = { type = "string", enum = [{ value = "a", title = "A" }, { value = "b", title = "B" }] }
[run]
kind = "template"
response = "ok"
"#;

    #[test]
    fn every_enum_form_has_its_keywords_and_accepts_exactly_its_values() {
        let catalog = load_texts("", &[("pick", ENUMS)]).expect("loads");
        let command = catalog.command("pick").expect("command");
        let schema = Value::Object((*command.input_schema).clone());
        let p = &schema["properties"];
        assert_eq!(p["plain"], json!({"type": "string", "enum": ["a", "b"]}));
        assert_eq!(
            p["titled"],
            json!({"type": "string", "oneOf": [
                {"const": "a", "title": "Option A"}, {"const": "b", "title": "Option B"}
            ]})
        );
        assert_eq!(
            p["legacy"],
            json!({"type": "string", "enum": ["a", "b"], "enumNames": ["A", "B"]})
        );
        assert_eq!(
            p["many"],
            json!({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}})
        );
        assert_eq!(
            p["many_titled"],
            json!({"type": "array", "items": {"anyOf": [
                {"const": "a", "title": "A"}, {"const": "b", "title": "B"}
            ]}})
        );
        let good = json!({"plain": "a", "titled": "b", "legacy": "b", "many": ["a", "b"],
                          "many_titled": ["b"]});
        assert!(validate_params(command, Some(&good)).is_ok());
        for (field, bad) in [
            ("plain", json!("A")),
            ("titled", json!("Option A")),
            ("legacy", json!("A")),
            ("many", json!(["a", "c"])),
            ("many_titled", json!(["B"])),
        ] {
            let mut args = good.clone();
            args[field] = bad;
            let errors = validate_params(command, Some(&args)).expect_err("refused");
            assert_eq!(errors[0].field, field);
            assert!(errors[0].message.contains("must be one of"), "{errors:?}");
        }
    }

    const ADDRESS: &str = r#"
[types.address]
description = "A postal address"
[types.address.properties.street]
type = "string"
required = false
[types.address.properties.city]
type = "string"
[types.address.properties.zip]
type = "integer"
default = 10000
"#;

    const SHIP: &str = r#"
description = "Ship."
[parameters.to]
type = "address"
[parameters.via]
type = "array"
items = { type = "address" }
required = false
[parameters.note]
type = "object"
required = false
[parameters.note.properties.text]
type = "string"
[run]
kind = "template"
response = "ok"
"#;

    #[test]
    fn named_types_are_defined_once_and_referenced() {
        let catalog = load_texts(ADDRESS, &[("ship", SHIP)]).expect("loads");
        let command = catalog.command("ship").expect("command");
        let schema = Value::Object((*command.input_schema).clone());
        assert_eq!(
            schema["$defs"]["address"],
            json!({
                "type": "object",
                "description": "A postal address",
                "properties": {
                    "street": {"type": "string"},
                    "city": {"type": "string"},
                    "zip": {"type": "integer", "default": 10000}
                },
                "required": ["city"],
                "additionalProperties": false
            })
        );
        assert_eq!(schema["$defs"].as_object().map(|d| d.len()), Some(1));
        assert_eq!(
            schema["properties"]["to"],
            json!({"$ref": "#/$defs/address"})
        );
        assert_eq!(
            schema["properties"]["via"]["items"],
            json!({"$ref": "#/$defs/address"})
        );
        assert_eq!(
            schema["properties"]["note"],
            json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": false
            })
        );
        assert_eq!(schema["additionalProperties"], json!(false));
    }

    #[test]
    fn object_arguments_are_checked_property_by_property() {
        let catalog = load_texts(ADDRESS, &[("ship", SHIP)]).expect("loads");
        let command = catalog.command("ship").expect("command");
        let ok = validate_params(
            command,
            Some(&json!({"to": {"city": "Paris", "zip": 75001.0}})),
        )
        .expect("valid");
        // Integers normalized and property defaults applied inside objects too.
        assert_eq!(ok["to"], json!({"city": "Paris", "zip": 75001}));
        let ok = validate_params(command, Some(&json!({"to": {"city": "Paris"}}))).expect("ok");
        assert_eq!(ok["to"]["zip"], json!(10000));
        let field = |args: Value| {
            let errors = validate_params(command, Some(&args)).expect_err("refused");
            (errors[0].field.clone(), errors[0].message.clone())
        };
        assert_eq!(
            field(json!({"to": {"street": "x"}})),
            ("to.city".into(), "missing required property".into())
        );
        assert_eq!(
            field(json!({"to": {"city": 5}})),
            ("to.city".into(), "must be a string, got number 5".into())
        );
        let (path, message) = field(json!({"to": {"city": "P", "planet": "Mars"}}));
        assert_eq!(path, "to.planet");
        assert!(message.contains("unknown property (expected: street, city, zip)"));
        let (path, _) = field(json!({"to": {"city": "P"}, "via": [{"city": "Q"}, {}]}));
        assert_eq!(path, "via[1].city");
        let (path, _) = field(json!({"to": {"city": "P"}, "note": {"text": 1}}));
        assert_eq!(path, "note.text");
        let (path, message) = field(json!({"to": "Paris"}));
        assert_eq!(
            (path.as_str(), message.as_str()),
            ("to", "must be an object, got string \"Paris\"")
        );
    }
}
