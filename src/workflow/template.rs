//! The two small template languages of a workflow:
//! `[run] response = "Hello, {name}!"` (`{{`/`}}` are literal braces) and prompt bodies with
//! `{{argument}}` placeholders.

use serde_json::{Map, Value};

/// Names used as `{name}` in a response template.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    walk_response(template, |piece| {
        if let Piece::Name(name) = piece {
            names.push(name.to_string());
        }
    });
    names
}

/// Fill `{name}` from `params`: strings as they are, arrays joined with ", ", other values as JSON.
pub fn render_response(template: &str, params: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    walk_response(template, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Name(name) => out.push_str(&display_value(params.get(name).unwrap_or(&Value::Null))),
    });
    out
}

/// Fill a JSON body template: a string that is exactly one `{name}` becomes the parameter's
/// own JSON value (a number stays a number); any other string is filled like a response.
pub fn render_json(template: &Value, params: &Map<String, Value>) -> Value {
    match template {
        Value::String(s) => {
            let names = placeholders(s);
            match names.as_slice() {
                [only] if *s == format!("{{{only}}}") => {
                    params.get(only).cloned().unwrap_or(Value::Null)
                }
                _ => Value::String(render_response(s, params)),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| render_json(v, params)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_json(v, params)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Fill a URL template: each value is percent-encoded, so `#W2611340` cannot end the path.
pub fn render_url(template: &str, params: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    walk_response(template, |piece| match piece {
        Piece::Text(text) => out.push_str(text),
        Piece::Name(name) => {
            let value = display_value(params.get(name).unwrap_or(&Value::Null));
            for byte in value.bytes() {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    });
    out
}

/// A value as a person reads it.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

fn walk_response<'a>(template: &'a str, mut emit: impl FnMut(Piece<'a>)) {
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        emit(Piece::Text(&rest[..i]));
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            emit(Piece::Text("{"));
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            emit(Piece::Text("}"));
            rest = after;
        } else if tail.starts_with('{')
            && let Some(end) = tail.find('}')
            && is_name(&tail[1..end])
        {
            emit(Piece::Name(&tail[1..end]));
            rest = &tail[end + 1..];
        } else {
            emit(Piece::Text(&tail[..1]));
            rest = &tail[1..];
        }
    }
    emit(Piece::Text(rest));
}

/// A `{{name}}` in a prompt body and its byte offset.
#[derive(Debug)]
pub struct PromptPlaceholder {
    pub name: String,
    pub offset: usize,
}

/// Every `{{name}}` of a prompt body.
pub fn prompt_placeholders(body: &str) -> Vec<PromptPlaceholder> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = body[from..].find("{{") {
        let start = from + start;
        let Some(len) = body[start + 2..].find("}}") else {
            break;
        };
        let name = body[start + 2..start + 2 + len].trim();
        if is_name(name) {
            found.push(PromptPlaceholder {
                name: name.to_string(),
                offset: start,
            });
        }
        from = start + 2 + len + 2;
    }
    found
}

/// Fill a prompt body's `{{name}}` from `arguments` (missing ones become empty).
pub fn render_prompt(body: &str, arguments: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut last = 0;
    for placeholder in prompt_placeholders(body) {
        out.push_str(&body[last..placeholder.offset]);
        out.push_str(&display_value(
            arguments.get(&placeholder.name).unwrap_or(&Value::Null),
        ));
        let close = body[placeholder.offset..]
            .find("}}")
            .map_or(body.len(), |i| placeholder.offset + i + 2);
        last = close;
    }
    out.push_str(&body[last..]);
    out
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn response_fills_names_and_keeps_literal_braces() {
        let p = params(json!({"name": "Ada", "n": 3, "ids": ["a", "b"]}));
        assert_eq!(
            render_response("Hi {name} {{x}} {n} [{ids}]", &p),
            "Hi Ada {x} 3 [a, b]"
        );
        assert_eq!(placeholders("{a} {{b}} {c d} {e}"), vec!["a", "e"]);
    }

    #[test]
    fn prompt_fills_double_brace_names() {
        let p = params(json!({"who": "Bo"}));
        assert_eq!(
            render_prompt("Hello {{who}}, {{ who }}! {x}", &p),
            "Hello Bo, Bo! {x}"
        );
        let names: Vec<String> = prompt_placeholders("{{a}} and {{b}}")
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, vec!["a", "b"]);
    }
}
