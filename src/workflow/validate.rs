//! Checks a call's arguments against a command's parameters before any handler runs.
//!
//! The JSON Schema in `schema.rs` and these checks come from the same `Param` list, so what
//! clients are told and what the server enforces cannot drift apart.

use std::fmt;

use serde_json::{Map, Value};

use super::catalog::{Command, ObjectShape, ParamType, ValueSpec};

/// Longest string value accepted for any parameter (bytes).
pub const MAX_STRING_BYTES: usize = 16 * 1024;
/// Most items accepted in an array parameter.
pub const MAX_ARRAY_ITEMS: usize = 1000;

/// One rejected argument, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All problems of one call, joined for a single message.
pub fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Validate `args` (a JSON object, or absent) for `command`; returns them with defaults applied.
pub fn validate_params(
    command: &Command,
    args: Option<&Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let empty = Map::new();
    let args = match args {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(vec![FieldError {
                field: "parameters".into(),
                message: format!("must be an object, got {}", kind_of(other)),
            }]);
        }
    };
    let mut errors = Vec::new();
    for key in args.keys() {
        if command.param(key).is_none() {
            let expected: Vec<&str> = command.params.iter().map(|p| p.name.as_str()).collect();
            errors.push(FieldError {
                field: key.clone(),
                message: if expected.is_empty() {
                    format!("unknown parameter: {} takes no parameters", command.name)
                } else {
                    format!("unknown parameter (expected: {})", expected.join(", "))
                },
            });
        }
    }
    let mut out = Map::new();
    for param in &command.params {
        match args.get(&param.name) {
            Some(Value::Null) | None => {
                if let Some(default) = &param.default {
                    out.insert(param.name.clone(), default.clone());
                } else if param.required {
                    errors.push(FieldError {
                        field: param.name.clone(),
                        message: with_example("missing required parameter", param.examples.first()),
                    });
                }
            }
            Some(value) => match check_at(&param.spec, value) {
                Ok(()) => {
                    out.insert(param.name.clone(), normalize(&param.spec, value));
                }
                // Inside an object the field is its path (`address.city`); the example is of
                // the whole value, so it goes only with a problem of the value itself.
                Err((path, problem)) if path.is_empty() => errors.push(FieldError {
                    field: param.name.clone(),
                    message: with_example(&problem, param.examples.first()),
                }),
                Err((path, problem)) => errors.push(FieldError {
                    field: format!("{}{path}", param.name),
                    message: problem,
                }),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn with_example(message: &str, example: Option<&Value>) -> String {
    match example {
        Some(example) => format!("{message} (e.g. {example})"),
        None => message.to_string(),
    }
}

/// Is `value` a valid value for `spec`? The error completes "<field> …" (a problem inside an
/// object starts with its path: "at city: …").
pub fn check_value(spec: &ValueSpec, value: &Value) -> Result<(), String> {
    check_at(spec, value).map_err(|(path, problem)| {
        if path.is_empty() {
            problem
        } else {
            format!("at {}: {problem}", path.trim_start_matches('.'))
        }
    })
}

/// [`check_value`], the problem's path inside the value kept apart (`.city`, `[2].city`; empty
/// for the value itself).
fn check_at(spec: &ValueSpec, value: &Value) -> Result<(), (String, String)> {
    let here = |problem: String| (String::new(), problem);
    check_type_only(spec, value).map_err(here)?;
    if let (Some(pattern), Value::String(s)) = (&spec.pattern, value)
        && !pattern.is_match(s)
    {
        return Err(here(format!(
            "must match the pattern {}, got \"{}\"",
            pattern.as_str(),
            truncate(s)
        )));
    }
    if let Some(allowed) = &spec.enum_values
        && !allowed.iter().any(|a| a == value)
    {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Err(here(format!(
            "must be one of {}, got {}",
            allowed.join(", "),
            value
        )));
    }
    if let (Some(items), Value::Array(values)) = (&spec.items, value) {
        if values.len() > MAX_ARRAY_ITEMS {
            return Err(here(format!(
                "has {} items; at most {MAX_ARRAY_ITEMS} are accepted",
                values.len()
            )));
        }
        for (i, item) in values.iter().enumerate() {
            check_at(items, item).map_err(|(path, problem)| {
                if path.is_empty() {
                    (path, format!("item {i} {problem}"))
                } else {
                    (format!("[{i}]{path}"), problem)
                }
            })?;
        }
    }
    if let (Some(shape), Value::Object(map)) = (&spec.shape, value) {
        check_object(shape, map)?;
    }
    Ok(())
}

/// The members of an object against its declared properties: none unknown, every required
/// one present, each valid.
fn check_object(shape: &ObjectShape, map: &Map<String, Value>) -> Result<(), (String, String)> {
    for key in map.keys() {
        if !shape.properties.iter().any(|p| p.name == *key) {
            let expected: Vec<&str> = shape.properties.iter().map(|p| p.name.as_str()).collect();
            return Err((
                format!(".{}", truncate(key)),
                format!("unknown property (expected: {})", expected.join(", ")),
            ));
        }
    }
    for property in &shape.properties {
        match map.get(&property.name) {
            None | Some(Value::Null) => {
                if property.required {
                    return Err((
                        format!(".{}", property.name),
                        "missing required property".into(),
                    ));
                }
            }
            Some(value) => check_at(&property.spec, value)
                .map_err(|(path, problem)| (format!(".{}{path}", property.name), problem))?,
        }
    }
    Ok(())
}

/// Only the JSON type (and size bounds): used for enum members, which must not be checked
/// against themselves.
pub fn check_type_only(spec: &ValueSpec, value: &Value) -> Result<(), String> {
    let ok = match spec.ty {
        ParamType::String => value.is_string(),
        ParamType::Integer => as_integer(value).is_some(),
        ParamType::Number => value.is_number(),
        ParamType::Boolean => value.is_boolean(),
        ParamType::Array => value.is_array(),
        ParamType::Object => value.is_object(),
    };
    if !ok {
        return Err(format!(
            "must be {} {}, got {}",
            article(spec.ty),
            spec.ty.as_str(),
            kind_of(value)
        ));
    }
    if let Value::String(s) = value
        && s.len() > MAX_STRING_BYTES
    {
        return Err(format!(
            "is {} bytes long; at most {MAX_STRING_BYTES} are accepted",
            s.len()
        ));
    }
    Ok(())
}

/// `5.0` sent for an integer parameter becomes `5`, at any depth; a declared object gets the
/// defaults of the properties it leaves out.
fn normalize(spec: &ValueSpec, value: &Value) -> Value {
    match (spec.ty, value) {
        (ParamType::Integer, _) => as_integer(value).map_or_else(|| value.clone(), Value::from),
        (ParamType::Array, Value::Array(values)) => match &spec.items {
            Some(items) => Value::Array(values.iter().map(|v| normalize(items, v)).collect()),
            None => value.clone(),
        },
        (ParamType::Object, Value::Object(map)) => match &spec.shape {
            Some(shape) => {
                let mut out = Map::new();
                for property in &shape.properties {
                    match map.get(&property.name) {
                        Some(v) if !v.is_null() => {
                            out.insert(property.name.clone(), normalize(&property.spec, v));
                        }
                        _ => {
                            if let Some(default) = &property.default {
                                out.insert(property.name.clone(), default.clone());
                            }
                        }
                    }
                }
                Value::Object(out)
            }
            None => value.clone(),
        },
        _ => value.clone(),
    }
}

fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn article(ty: ParamType) -> &'static str {
    match ty {
        ParamType::Integer | ParamType::Array | ParamType::Object => "an",
        _ => "a",
    }
}

fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{}\"", truncate(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}
