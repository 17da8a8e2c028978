//! Completing arguments from the metadata: a prompt argument's `enum` and `examples`; a
//! resource-template variable's parameter — its enum, its examples, and the values its
//! `available_from` commands show when they are read-only and the arguments given so far
//! are enough to run them. The conversation template completes to the channel's conversations.

use serde_json::{Map, Value};

use super::requests::{GetAllConversations, Limit};
use super::resources::{CONVERSATION_TEMPLATE, coerce};
use super::{App, EngineError};
use crate::domain::Caller;
use crate::workflow::{Param, validate};

/// At most this many values in one answer (MCP's limit).
pub const MAX_VALUES: usize = 100;

/// What is being completed.
#[derive(Debug, Clone, Copy)]
pub enum CompletionTarget<'a> {
    Prompt(&'a str),
    /// A resource template, by its URI template.
    Template(&'a str),
}

/// The values that start with what was typed, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    /// At most [`MAX_VALUES`].
    pub values: Vec<String>,
    /// How many matched in all.
    pub total: usize,
}

impl Completions {
    fn from_candidates(candidates: impl IntoIterator<Item = String>, typed: &str) -> Self {
        let typed = typed.to_lowercase();
        let mut values: Vec<String> = Vec::new();
        for value in candidates {
            if value.to_lowercase().starts_with(&typed) && !values.contains(&value) {
                values.push(value);
            }
        }
        let total = values.len();
        values.truncate(MAX_VALUES);
        Self { values, total }
    }

    pub fn has_more(&self) -> bool {
        self.total > self.values.len()
    }
}

impl App {
    /// Complete `argument` (typed so far: `typed`) of `target`; `known` holds the other
    /// arguments the client already resolved.
    pub async fn complete(
        &self,
        caller: &Caller,
        target: CompletionTarget<'_>,
        argument: &str,
        typed: &str,
        known: &Map<String, Value>,
    ) -> Result<Completions, EngineError> {
        let catalog = self.catalog();
        let unknown_argument = || {
            EngineError::invalid(
                "argument.name",
                format!("no argument \"{}\"", short(argument)),
            )
        };
        match target {
            CompletionTarget::Prompt(name) => {
                let prompt = catalog.prompts.get(name).ok_or_else(|| {
                    EngineError::invalid("ref.name", format!("no prompt \"{}\"", short(name)))
                })?;
                let arg = prompt
                    .arguments
                    .iter()
                    .find(|a| a.name == argument)
                    .ok_or_else(unknown_argument)?;
                let candidates = arg.enum_values.iter().chain(&arg.examples).cloned();
                Ok(Completions::from_candidates(candidates, typed))
            }
            CompletionTarget::Template(CONVERSATION_TEMPLATE) => {
                if argument != "conversation_id" {
                    return Err(unknown_argument());
                }
                let every = GetAllConversations {
                    limit: Limit::new(Limit::MAX).unwrap_or_default(),
                };
                let conversations = self.list_conversations(caller, every).await?;
                let ids = conversations.iter().map(|c| c.conversation_id.to_string());
                Ok(Completions::from_candidates(ids, typed))
            }
            CompletionTarget::Template(uri) => {
                let template = catalog
                    .resources
                    .templates
                    .iter()
                    .find(|t| t.uri.as_str() == uri)
                    .ok_or_else(|| EngineError::UnknownResource(uri.chars().take(200).collect()))?;
                if !template.uri.variables().any(|v| v == argument) {
                    return Err(unknown_argument());
                }
                // The loader made every variable a parameter of the read command.
                let param = catalog
                    .command(&template.read.command)
                    .and_then(|c| c.param(argument))
                    .ok_or_else(unknown_argument)?;
                let candidates = self.param_candidates(caller, param, known).await;
                Ok(Completions::from_candidates(candidates, typed))
            }
        }
    }

    /// A parameter's enum, examples, then what its read-only `available_from` commands show.
    async fn param_candidates(
        &self,
        caller: &Caller,
        param: &Param,
        known: &Map<String, Value>,
    ) -> Vec<String> {
        let mut candidates: Vec<String> = param
            .spec
            .enum_values
            .iter()
            .flatten()
            .chain(&param.examples)
            .map(as_text)
            .collect();
        for source in &param.available_from {
            let Some(command) = self.catalog().command(source) else {
                continue;
            };
            if command.annotations.read_only != Some(true) {
                continue;
            }
            // Run it only with what the client already gave, and only if that is enough.
            let given: Map<String, Value> = known
                .iter()
                .filter(|(name, _)| command.param(name).is_some())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            let given = coerce(command, given);
            let Ok(params) = validate::validate_params(command, Some(&Value::Object(given))) else {
                continue;
            };
            match self.peek(caller, command, &params).await {
                Ok(response) if response.success => {
                    let artifacts = Value::Object(response.artifacts);
                    collect_values(&artifacts, None, param, &mut candidates);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(command = %command.name, "no completions: {e}"),
            }
        }
        candidates
    }
}

/// Every leaf of `value` that is a value of `param`: one under a key named like the parameter,
/// or — when the parameter has a pattern or an enum that says what its values look like — any
/// leaf that is valid for it.
fn collect_values(value: &Value, key: Option<&str>, param: &Param, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                collect_values(v, Some(k), param, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_values(item, key, param, out);
            }
        }
        leaf => {
            let valid = validate::check_value(&param.spec, leaf).is_ok();
            let distinctive = param.spec.pattern.is_some() || param.spec.enum_values.is_some();
            if valid && (key == Some(param.name.as_str()) || distinctive) {
                out.push(as_text(leaf));
            }
        }
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_keep_prefix_matches_once_in_order_and_count_them_all() {
        let candidates = ["#W2", "#W1", "#W2", "#X1"].map(String::from);
        let got = Completions::from_candidates(candidates, "#w");
        assert_eq!(got.values, ["#W2", "#W1"]);
        assert_eq!(got.total, 2);
        assert!(!got.has_more());
        let many = (0..150).map(|i| format!("v{i}"));
        let got = Completions::from_candidates(many, "v");
        assert_eq!((got.values.len(), got.total), (MAX_VALUES, 150));
        assert!(got.has_more());
    }
}
