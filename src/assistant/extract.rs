//! Parameter extraction: typed values for a command's parameters, found in free text.
//!
//! Metadata-driven (no command names): everything comes from the parameters' types,
//! patterns, enums, examples, names and descriptions. In order:
//! 1. `key=value` / `key: value` where the key is a parameter name or the start of one
//!    (`order=` → `order_id`, `new item:` → `new_item_ids`);
//! 2. tokens matching a parameter's pattern, as written, joined with the words before them
//!    (`gift card 0123456` → `gift_card_0123456`) or completed with the pattern's literal
//!    prefix (`W2611340` → `#W2611340`); two parameters with one pattern are told apart by
//!    the words before the value, and an array `new_x` next to an array `x` takes the values
//!    after a pairing word ("for", "->", "with", "by", "to");
//! 3. enums by token overlap, with the workflow's equivalents (`[assistant] equivalents`);
//! 4. roles recognised from names/descriptions: first/last name, address lines, city, state
//!    (two-letter codes from state names when the description asks for them), zip, country,
//!    and arithmetic expressions (when the description says so);
//! 5. values linked to a parameter by the words right before them (`city … to Austin`).
//!
//! Text longer than [`MAX_TEXT_BYTES`] is cut there: a user message is short, and the work
//! stays linear and bounded.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::syntax;
use super::text::Lexicon;
use crate::workflow::validate::FieldError;
use crate::workflow::{Command, Param, ParamType};
use values::{normalise_to_pattern, typed_for};

mod roles;
pub(crate) mod values;

/// Longest text looked at.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// What was found for one command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// Values found, typed per the command's schema (only the command's own parameters).
    pub values: Map<String, Value>,
    /// Values the user clearly gave for a parameter but that fail its type, pattern or enum.
    pub invalid: Vec<FieldError>,
}

/// Everything `text` says about `command`'s parameters.
pub(crate) fn extract(lexicon: &Lexicon, command: &Command, text: &str) -> Extraction {
    let params: Vec<&Param> = command.params.iter().collect();
    extract_for(lexicon, command, &params, text)
}

/// The user's answer to a question for the parameters `asking` (in that order): positional
/// comma-separated values, `key=value`, or natural words.
pub(crate) fn extract_answer(
    lexicon: &Lexicon,
    command: &Command,
    asking: &[&str],
    text: &str,
) -> Extraction {
    let params: Vec<&Param> = asking.iter().filter_map(|a| command.param(a)).collect();
    let text = clean(text);
    let trimmed = text.trim();
    if params.is_empty() || trimmed.is_empty() {
        return extract(lexicon, command, trimmed);
    }
    if let Some(pairs) = syntax::key_values(trimmed) {
        return syntax::from_pairs(command, &pairs);
    }
    let found = extract_for(lexicon, command, &params, trimmed);
    if params.len() == 1 {
        let param = params[0];
        if found.values.contains_key(&param.name) || !found.invalid.is_empty() {
            return found;
        }
        // A bare reply answers the one question, even when it does not fit: say why.
        let mut out = Extraction::default();
        match typed_for(param, trimmed) {
            Ok(v) => {
                out.values.insert(param.name.clone(), v);
            }
            Err(e) => out.invalid.push(e),
        }
        return out;
    }
    let parts = syntax::split_positional(trimmed);
    if parts.len() == params.len() && found.values.len() < params.len() {
        return syntax::positional(command, &params, trimmed);
    }
    found
}

/// Control characters become spaces; the text is cut at [`MAX_TEXT_BYTES`].
fn clean(text: &str) -> String {
    let mut end = text.len().min(MAX_TEXT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The parameter a user's key names: the exact name, or a name starting with the key's words
/// (`order` → `order_id`, `new item` → `new_item_ids`, `payment` → `payment_method_id`).
pub(crate) fn resolve_key<'c>(command: &'c Command, key: &str) -> Option<&'c Param> {
    let key = key.trim().to_lowercase().replace([' ', '-'], "_");
    if key.is_empty() {
        return None;
    }
    if let Some(p) = command.params.iter().find(|p| p.name.to_lowercase() == key) {
        return Some(p);
    }
    let prefixed: Vec<&Param> = command
        .params
        .iter()
        .filter(|p| {
            let name = p.name.to_lowercase();
            name.starts_with(&format!("{key}_")) || name.starts_with(&format!("{key}s"))
        })
        .collect();
    match prefixed.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// One whitespace-separated token: its byte range and its text without surrounding
/// punctuation.
#[derive(Debug, Clone)]
pub(crate) struct Token<'t> {
    pub start: usize,
    pub end: usize,
    pub word: &'t str,
    pub lower: String,
}

pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                let raw: &str = &text[s..i];
                let word = raw.trim_matches(|c: char| {
                    matches!(
                        c,
                        '"' | '\''
                            | '('
                            | ')'
                            | '['
                            | ']'
                            | '{'
                            | '}'
                            | ','
                            | '.'
                            | ';'
                            | ':'
                            | '!'
                            | '?'
                            | '`'
                    )
                });
                // `ada_1815's profile`: the possessive is not part of the value.
                let word = word
                    .strip_suffix("'s")
                    .or_else(|| word.strip_suffix("’s"))
                    .unwrap_or(word);
                if !word.is_empty() {
                    out.push(Token {
                        start: s,
                        end: i,
                        word,
                        lower: word.to_lowercase(),
                    });
                }
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    out
}

/// The spec a single matched token is checked against: the parameter's, or its items'.
fn value_spec(param: &Param) -> &crate::workflow::catalog::ValueSpec {
    match (&param.spec.ty, &param.spec.items) {
        (ParamType::Array, Some(items)) => items,
        _ => &param.spec,
    }
}

/// Words that put the next id in the "new" array of a pair (`X for Y`, `X -> Y`).
const PAIRING: &[&str] = &[
    "for", "->", "=>", "with", "by", "to", "into", "new", "become", "becomes",
];

static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9_]*(?:[ -][a-z][a-z0-9_]*)?)\s*(=|:)\s*").expect("static regex")
});

struct Found<'a> {
    values: Map<String, Value>,
    invalid: Vec<FieldError>,
    params: &'a [&'a Param],
}

impl Found<'_> {
    fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
    fn wants(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.name == name) && !self.has(name)
    }
    fn push_item(&mut self, name: &str, v: Value) {
        match self.values.get_mut(name) {
            Some(Value::Array(items)) => {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            _ => {
                self.values.insert(name.to_string(), Value::Array(vec![v]));
            }
        }
    }
}

fn extract_for(lexicon: &Lexicon, command: &Command, params: &[&Param], text: &str) -> Extraction {
    let text = clean(text);
    let mut found = Found {
        values: Map::new(),
        invalid: Vec::new(),
        params,
    };
    if params.is_empty() || text.trim().is_empty() {
        return Extraction::default();
    }
    let mut consumed: Vec<(usize, usize)> = Vec::new();
    keyed_values(command, &text, &mut found, &mut consumed);
    let toks: Vec<Token> = tokens(&text)
        .into_iter()
        .filter(|t| !consumed.iter().any(|&(s, e)| t.start < e && t.end > s))
        .collect();
    pattern_values(params, &toks, &mut found);
    for param in params {
        if param.spec.enum_values.is_some()
            && !found.has(&param.name)
            && let Some(v) = roles::fuzzy_enum(lexicon, param, &toks)
        {
            found.values.insert(param.name.clone(), v);
        }
    }
    roles::fill(params, &text, &toks, &mut found.values, &consumed);
    roles::scalars(params, &toks, &mut found.values);
    Extraction {
        values: found.values,
        invalid: found.invalid,
    }
}

/// `key=value` and `key: value` anywhere in the text, for keys naming a parameter.
fn keyed_values(
    command: &Command,
    text: &str,
    found: &mut Found,
    consumed: &mut Vec<(usize, usize)>,
) {
    let matches: Vec<_> = KEY_VALUE.captures_iter(text).collect();
    for (n, caps) in matches.iter().enumerate() {
        let (Some(whole), Some(key), Some(sep)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        // `my order: …` → try the whole key, then its last word.
        let param = resolve_key(command, key.as_str()).or_else(|| {
            key.as_str()
                .rsplit([' ', '-'])
                .next()
                .and_then(|last| resolve_key(command, last))
        });
        let Some(param) = param else { continue };
        if !found.wants(&param.name) {
            continue;
        }
        let rest = &text[whole.end()..];
        let next_key = matches
            .get(n + 1)
            .and_then(|c| c.get(0))
            .map_or(text.len(), |m| m.start());
        let free = param.spec.ty == ParamType::String
            && param.spec.pattern.is_none()
            && param.spec.enum_values.is_none();
        let long_free = free
            && param
                .examples
                .iter()
                .any(|e| e.as_str().is_some_and(|s| s.len() > 40 || s.contains(',')));
        let (raw, len) = if rest.starts_with(['"', '\'', '[']) {
            syntax::take_value(rest)
        } else if long_free {
            // A summary runs to the end (or the next key).
            let end = next_key.saturating_sub(whole.end()).min(rest.len());
            (rest[..end].trim().to_string(), end)
        } else if free || param.spec.enum_values.is_some() {
            let end = rest
                .find([',', ';', '.', '!', '?', '\n'])
                .unwrap_or(rest.len())
                .min(next_key.saturating_sub(whole.end()));
            (rest[..end].trim().to_string(), end)
        } else if sep.as_str() == ":" {
            let (v, l) = syntax::take_value(rest);
            (v.trim_end_matches([',', '.', ';', '!', '?']).to_string(), l)
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ',')
                .unwrap_or(rest.len());
            (rest[..end].to_string(), end)
        };
        if raw.is_empty() {
            continue;
        }
        match typed_for(param, &raw) {
            Ok(v) => {
                found.values.insert(param.name.clone(), v);
                consumed.push((whole.start(), whole.end() + len));
            }
            // An enum written loosely (`reason = no lnger needed`) is left to fuzzy matching.
            Err(_) if param.spec.enum_values.is_some() => {}
            Err(e) if sep.as_str() == "=" => {
                found.invalid.push(e);
                consumed.push((whole.start(), whole.end() + len));
            }
            Err(_) => {}
        }
    }
}

/// How well the words before token `i` point at `param` (its name or description words).
fn context_score(param: &Param, toks: &[Token], i: usize) -> usize {
    let name_words: Vec<String> = param
        .name
        .to_lowercase()
        .split('_')
        .filter(|w| w.len() > 1 && *w != "id" && *w != "ids")
        .map(str::to_string)
        .collect();
    let mut score = 0;
    for t in toks[i.saturating_sub(3)..i].iter() {
        let w = t.lower.trim_end_matches('s');
        if name_words.iter().any(|n| n.trim_end_matches('s') == w) {
            score += 2;
        }
    }
    score
}

/// Tokens that match a parameter's pattern (as written, joined with the previous words, or
/// completed with the pattern's literal prefix).
fn pattern_values(params: &[&Param], toks: &[Token], found: &mut Found) {
    let patterned: Vec<&Param> = params
        .iter()
        .copied()
        .filter(|p| value_spec(p).pattern.is_some())
        .collect();
    if patterned.is_empty() {
        return;
    }
    // For `new_x` / `x` array pairs: is the current id in the "new" half?
    let mut in_new = false;
    for (i, tok) in toks.iter().enumerate() {
        let mut matched: Vec<(&Param, String)> = Vec::new();
        for level in 0..3 {
            for p in &patterned {
                let spec = value_spec(p);
                let candidate = match level {
                    0 => spec
                        .pattern
                        .as_ref()
                        .filter(|re| re.is_match(tok.word))
                        .map(|_| tok.word.to_string()),
                    1 => joined_with_previous(spec, toks, i),
                    _ => normalise_to_pattern(spec, tok.word),
                };
                if let Some(c) = candidate {
                    matched.push((p, c));
                }
            }
            if !matched.is_empty() {
                break;
            }
        }
        if matched.is_empty() {
            continue;
        }
        // The pairing word right before the id (`for X`, `-> X`, `with item X`).
        let before = |k: usize| i.checked_sub(k).and_then(|j| toks.get(j));
        let is_marker = |t: &Token| {
            PAIRING.contains(&t.lower.as_str()) || t.word.ends_with("->") || t.word.ends_with("=>")
        };
        let filler =
            |t: &Token| matches!(t.lower.as_str(), "item" | "items" | "the" | "id" | "ids");
        let marker = before(1).is_some_and(is_marker)
            || (before(1).is_some_and(filler) && before(2).is_some_and(is_marker));
        // Prefer parameters still empty (scalars) and pointed at by the words before.
        let choice = if matched.len() == 1 {
            Some(matched.swap_remove(0))
        } else {
            let pair_new = matched.iter().position(|(p, _)| {
                p.name.starts_with("new_")
                    && matched
                        .iter()
                        .any(|(q, _)| p.name.strip_prefix("new_") == Some(q.name.as_str()))
            });
            if let Some(new_idx) = pair_new {
                if marker {
                    in_new = true;
                }
                let old_name = matched[new_idx].0.name["new_".len()..].to_string();
                let want_new = in_new;
                matched.into_iter().find(|(p, _)| {
                    if want_new {
                        p.name.starts_with("new_")
                    } else {
                        p.name == old_name
                    }
                })
            } else {
                let best = matched
                    .iter()
                    .enumerate()
                    .max_by_key(|(k, (p, _))| {
                        (
                            context_score(p, toks, i),
                            !found.has(&p.name),
                            usize::MAX - k,
                        )
                    })
                    .map(|(k, _)| k)
                    .unwrap_or(0);
                Some(matched.swap_remove(best))
            }
        };
        let Some((param, value)) = choice else {
            continue;
        };
        if param.spec.ty == ParamType::Array {
            found.push_item(&param.name, Value::String(value));
        } else if !found.has(&param.name) {
            found
                .values
                .insert(param.name.clone(), Value::String(value));
        }
    }
}

/// `gift card 0123456` → `gift_card_0123456` when that matches the pattern and the token
/// alone does not look like it already.
fn joined_with_previous(
    spec: &crate::workflow::catalog::ValueSpec,
    toks: &[Token],
    i: usize,
) -> Option<String> {
    let pattern = spec.pattern.as_ref()?;
    for back in 1..=2usize {
        if i < back {
            break;
        }
        let mut parts: Vec<&str> = toks[i - back..i].iter().map(|t| t.lower.as_str()).collect();
        if parts
            .iter()
            .any(|p| !p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            break;
        }
        let lower = toks[i].lower.as_str();
        parts.push(lower);
        let candidate = parts.join("_");
        if pattern.is_match(&candidate) {
            return Some(candidate);
        }
    }
    None
}
