//! Parameter extraction: typed values for a command's parameters, found in free text.
//!
//! STUB — to be replaced by the real extractor (patterns, enums with fuzzy match, numbers,
//! booleans, emails, ids, quoted strings, `key=value`, values linked by nearby words).

use serde_json::{Map, Value};

use crate::workflow::Command;
use crate::workflow::validate::FieldError;

/// What was found for one command.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// Values found, typed per the command's schema (only the command's own parameters).
    pub values: Map<String, Value>,
    /// Values the user clearly gave for a parameter but that fail its type, pattern or enum.
    pub invalid: Vec<FieldError>,
}

/// Everything `text` says about `command`'s parameters.
pub fn extract(command: &Command, text: &str) -> Extraction {
    let _ = (command, text);
    Extraction::default()
}

/// The user's answer to a question for the parameters `asking` (in that order): positional
/// comma-separated values, `key=value`, or natural words.
pub fn extract_answer(command: &Command, asking: &[&str], text: &str) -> Extraction {
    let _ = asking;
    extract(command, text)
}

#[allow(dead_code)]
fn _unused(_: Value) {}
