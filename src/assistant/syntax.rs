//! Explicit syntax: `name key=value …` and `/name v1, v2, …` (positional values fill the
//! parameters in declaration order), or a command name alone.
//!
//! Decisions:
//! - `key=value` values may be quoted (`"…"` or `'…'`); arrays are `["a","b"]`, `a,b` inside
//!   brackets, or a single value (one-element array).
//! - Positional values are split on commas outside quotes and brackets; an empty slot (`, ,`)
//!   is an empty string for a string parameter and is skipped for other types. When there are
//!   more values than parameters and the last parameter is a free string (no pattern, no enum),
//!   the surplus is joined back with `, ` into it: a summary or an address line may contain
//!   commas. Otherwise the surplus is reported in `invalid`.
//! - `/name free text` with a single string parameter takes the whole text as that value
//!   (`/calculate 120 / 3`).
//! - Without the leading `/`, only `name` alone or `name key=value …` are explicit, so a
//!   sentence that happens to start with a command name is left to the free-text extractor.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::extract::values::typed_for;
use super::extract::{self, Extraction};
use crate::workflow::validate::FieldError;
use crate::workflow::{Catalog, Command, ParamType};

/// An explicit call: the command it names and the values it gives.
#[derive(Debug, Clone)]
pub struct ExplicitCall {
    pub command: Arc<Command>,
    pub extraction: Extraction,
}

/// `text` as an explicit call of one of `catalog`'s commands, if it is one.
pub fn parse_explicit(catalog: &Catalog, text: &str) -> Option<ExplicitCall> {
    let text = text.trim();
    let (slash, body) = match text.strip_prefix('/') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
    let name = &body[..name_end];
    let command = catalog.command(name)?.clone();
    let rest = body[name_end..].trim();
    let extraction = if rest.is_empty() {
        Extraction::default()
    } else if let Some(pairs) = key_values(rest) {
        from_pairs(&command, &pairs)
    } else if slash {
        positional(&command, &command.params.iter().collect::<Vec<_>>(), rest)
    } else {
        return None;
    };
    Some(ExplicitCall {
        command,
        extraction,
    })
}

/// `rest` as a sequence of `key=value` pairs (and nothing else), values unquoted.
pub(crate) fn key_values(rest: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut s = rest.trim_start();
    while !s.is_empty() {
        let eq = s.find('=')?;
        let key = s[..eq].trim();
        if !key.starts_with(|c: char| c.is_alphabetic() || c == '_')
            || !key
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return None;
        }
        let after = s[eq + 1..].trim_start();
        let (value, consumed) = take_value(after);
        pairs.push((key.to_string(), value));
        s = after[consumed..].trim_start();
        // Tolerate `a=1, b=2`.
        s = s.strip_prefix(',').unwrap_or(s).trim_start();
    }
    if pairs.is_empty() { None } else { Some(pairs) }
}

/// One value at the start of `s`: quoted, bracketed, or up to the next whitespace.
/// Returns the value (quotes removed, brackets kept) and the bytes consumed.
pub(crate) fn take_value(s: &str) -> (String, usize) {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            for (i, c) in chars {
                if c == q {
                    return (s[1..i].to_string(), i + 1);
                }
            }
            (s[1..].to_string(), s.len())
        }
        Some((_, '[')) => {
            let mut quote: Option<char> = None;
            for (i, c) in chars {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (None, '"' | '\'') => quote = Some(c),
                    (None, ']') => return (s[..=i].to_string(), i + 1),
                    _ => {}
                }
            }
            (s.to_string(), s.len())
        }
        Some(_) => {
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            (s[..end].to_string(), end)
        }
        None => (String::new(), 0),
    }
}

/// Values from `key=value` pairs; unknown keys and bad values go to `invalid`.
pub(crate) fn from_pairs(command: &Command, pairs: &[(String, String)]) -> Extraction {
    let mut out = Extraction::default();
    for (key, raw) in pairs {
        let Some(param) = extract::resolve_key(command, key) else {
            let expected: Vec<&str> = command.params.iter().map(|p| p.name.as_str()).collect();
            out.invalid.push(FieldError {
                field: key.clone(),
                message: if expected.is_empty() {
                    format!("unknown parameter: {} takes no parameters", command.name)
                } else {
                    format!("unknown parameter (expected: {})", expected.join(", "))
                },
            });
            continue;
        };
        match typed_for(param, raw) {
            Ok(v) => {
                out.values.insert(param.name.clone(), v);
            }
            Err(e) => out.invalid.push(e),
        }
    }
    out
}

/// Split on commas outside quotes and brackets.
pub(crate) fn split_positional(rest: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for c in rest.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') if current.trim().is_empty() => {
                quote = Some(c);
                current.push(c);
            }
            (None, '[') => {
                depth += 1;
                current.push(c);
            }
            (None, ']') => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            (None, ',') if depth == 0 => {
                parts.push(std::mem::take(&mut current).trim().to_string());
            }
            (None, c) => current.push(c),
        }
    }
    parts.push(current.trim().to_string());
    parts
}

/// Positional values for `params` (in that order).
pub(crate) fn positional(
    command: &Command,
    params: &[&crate::workflow::Param],
    rest: &str,
) -> Extraction {
    let mut out = Extraction::default();
    if params.is_empty() {
        out.invalid.push(FieldError {
            field: "parameters".into(),
            message: format!("{} takes no parameters", command.name),
        });
        return out;
    }
    let mut parts = split_positional(rest);
    if parts.len() > params.len() {
        let last = params[params.len() - 1];
        let free = last.spec.ty == ParamType::String
            && last.spec.pattern.is_none()
            && last.spec.enum_values.is_none();
        if free {
            let tail = parts.split_off(params.len() - 1).join(", ");
            parts.push(tail);
        } else {
            out.invalid.push(FieldError {
                field: "parameters".into(),
                message: format!(
                    "{} values given, {} takes {} ({})",
                    parts.len(),
                    command.name,
                    params.len(),
                    params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
            parts.truncate(params.len());
        }
    }
    let mut values = Map::new();
    for (param, raw) in params.iter().zip(parts) {
        if raw.is_empty() {
            if param.spec.ty == ParamType::String {
                values.insert(param.name.clone(), Value::String(String::new()));
            }
            continue;
        }
        match typed_for(param, &raw) {
            Ok(v) => {
                values.insert(param.name.clone(), v);
            }
            Err(e) => out.invalid.push(e),
        }
    }
    out.values = values;
    out
}
