//! Typing one raw piece of text as a parameter value: JSON type, pattern (with the
//! normalisations a pattern's literal prefix makes obvious), enum, array items.
//!
//! Shared by the explicit syntax and the free-text extractor so both accept the same forms.

use serde_json::Value;

use crate::workflow::catalog::{Param, ParamType, ValueSpec};
use crate::workflow::validate::{FieldError, check_value};

/// The literal text a pattern starts with (`^#W\d{7}$` → `#W`), used to complete near-misses.
pub(crate) fn literal_prefix(spec: &ValueSpec) -> String {
    let Some(pattern) = &spec.pattern else {
        return String::new();
    };
    let src = pattern.as_str();
    let Some(rest) = src.strip_prefix('^') else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || matches!(c, '#' | '_' | '-' | '@' | ':' | '/') {
            // A quantifier after the char makes it optional or repeated: not literal.
            if matches!(chars.peek(), Some('?' | '*' | '+' | '{')) {
                break;
            }
            out.push(c);
        } else {
            break;
        }
    }
    out
}

/// `raw` or an obvious correction of it that matches `spec`'s pattern: upper-cased, or with
/// (the missing part of) the pattern's literal prefix put in front (`W2611340` → `#W2611340`).
pub(crate) fn normalise_to_pattern(spec: &ValueSpec, raw: &str) -> Option<String> {
    let pattern = spec.pattern.as_ref()?;
    if pattern.is_match(raw) {
        return Some(raw.to_string());
    }
    let upper = raw.to_uppercase();
    let lower = raw.to_lowercase();
    for form in [&upper, &lower] {
        if pattern.is_match(form) {
            return Some(form.clone());
        }
    }
    let prefix = literal_prefix(spec);
    if prefix.is_empty() {
        return None;
    }
    let prefix_chars: Vec<(usize, char)> = prefix.char_indices().collect();
    for (at, _) in prefix_chars.iter().copied().chain([(prefix.len(), ' ')]) {
        let head = &prefix[..at];
        for form in [raw, upper.as_str()] {
            let candidate = format!("{head}{form}");
            if candidate != raw && pattern.is_match(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

/// An enum member equal to `raw` ignoring case and surrounding spaces.
pub(crate) fn enum_member(spec: &ValueSpec, raw: &str) -> Option<Value> {
    let allowed = spec.enum_values.as_ref()?;
    let raw = raw.trim();
    allowed
        .iter()
        .find(|v| match v {
            Value::String(s) => s.eq_ignore_ascii_case(raw),
            other => serde_json::from_str::<Value>(raw).ok().as_ref() == Some(other),
        })
        .cloned()
}

fn strip_quotes(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// Split an array written `["a", "b"]`, `[a, b]`, `a, b` or `a b` (when every piece is an
/// item of the right shape) into raw items.
pub(crate) fn split_array(raw: &str, items: Option<&ValueSpec>) -> Vec<String> {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw);
    if inner.trim().is_empty() {
        return Vec::new();
    }
    let by_comma: Vec<String> = inner
        .split(',')
        .map(|p| strip_quotes(p).to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if by_comma.len() > 1 {
        return by_comma;
    }
    let single = strip_quotes(inner).to_string();
    // Space-separated ids: only when each piece fits the item pattern, so a free-text item
    // with spaces stays whole.
    if let Some(items) = items
        && items.pattern.is_some()
        && single.contains(char::is_whitespace)
    {
        let pieces: Vec<String> = single.split_whitespace().map(str::to_string).collect();
        if pieces
            .iter()
            .all(|p| normalise_to_pattern(items, p).is_some())
        {
            return pieces;
        }
    }
    vec![single]
}

/// `raw` typed for `spec` when it can be; the error completes "<field> …".
pub(crate) fn typed(spec: &ValueSpec, raw: &str) -> Result<Value, String> {
    let raw_trim = strip_quotes(raw);
    let value = match spec.ty {
        ParamType::String => {
            if let Some(v) = enum_member(spec, raw_trim) {
                v
            } else if spec.pattern.is_some() {
                match normalise_to_pattern(spec, raw_trim) {
                    Some(s) => Value::String(s),
                    None => Value::String(raw_trim.to_string()),
                }
            } else {
                Value::String(raw_trim.to_string())
            }
        }
        ParamType::Integer => match raw_trim.replace('_', "").parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => return Err(format!("must be an integer, got \"{}\"", short(raw_trim))),
        },
        ParamType::Number => match raw_trim.parse::<f64>() {
            Ok(f) if f.is_finite() => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            _ => return Err(format!("must be a number, got \"{}\"", short(raw_trim))),
        },
        ParamType::Boolean => match parse_bool(raw_trim) {
            Some(b) => Value::Bool(b),
            None => {
                return Err(format!(
                    "must be true or false, got \"{}\"",
                    short(raw_trim)
                ));
            }
        },
        ParamType::Array => {
            let items = spec.items.as_deref();
            let mut out = Vec::new();
            for piece in split_array(raw, items) {
                match items {
                    Some(item_spec) => out.push(typed(item_spec, &piece)?),
                    None => out.push(Value::String(piece)),
                }
            }
            Value::Array(out)
        }
        ParamType::Object => match serde_json::from_str::<Value>(raw_trim) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err("must be a JSON object".to_string()),
        },
    };
    check_value(spec, &value)?;
    Ok(value)
}

/// Common spellings of yes and no.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A field error for `param` with one of its examples, like the server's validation says it.
pub(crate) fn field_error(param: &Param, problem: &str) -> FieldError {
    let message = match param.examples.first() {
        Some(example) => format!("{problem} (e.g. {example})"),
        None => problem.to_string(),
    };
    FieldError {
        field: param.name.clone(),
        message,
    }
}

/// `raw` typed for `param`, as a value or a field error.
pub(crate) fn typed_for(param: &Param, raw: &str) -> Result<Value, FieldError> {
    typed(&param.spec, raw).map_err(|problem| field_error(param, &problem))
}

fn short(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}
