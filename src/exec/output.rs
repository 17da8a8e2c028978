//! The data every command produces, in the shapes fastworkflow clients already parse:
//! `CommandOutput { command_responses: [CommandResponse], … }`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A follow-up the workflow suggests: run `command_name` with `parameters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    pub command_name: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
}

/// One answer of a command: text for people, `success`, and machine-readable extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandResponse {
    pub response: String,
    #[serde(default = "default_true")]
    pub success: bool,
    #[serde(default)]
    pub artifacts: Map<String, Value>,
    #[serde(default)]
    pub next_actions: Vec<Action>,
    #[serde(default)]
    pub recommendations: Vec<Value>,
}

fn default_true() -> bool {
    true
}

impl CommandResponse {
    /// A successful answer.
    pub fn ok(response: impl Into<String>) -> Self {
        Self::new(response, true)
    }

    /// A failed answer: the text says what went wrong and what to do instead.
    pub fn fail(response: impl Into<String>) -> Self {
        Self::new(response, false)
    }

    fn new(response: impl Into<String>, success: bool) -> Self {
        Self {
            response: response.into(),
            success,
            artifacts: Map::new(),
            next_actions: Vec::new(),
            recommendations: Vec::new(),
        }
    }

    /// Attach a machine-readable value (ids, records) next to the text.
    pub fn with_artifact(mut self, key: impl Into<String>, value: Value) -> Self {
        self.artifacts.insert(key.into(), value);
        self
    }

    /// Suggest a follow-up command.
    pub fn with_next_action(
        mut self,
        command_name: impl Into<String>,
        parameters: Map<String, Value>,
    ) -> Self {
        self.next_actions.push(Action {
            command_name: command_name.into(),
            parameters,
        });
        self
    }
}

/// What a turn answers: the command that ran, where, and its responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandOutput {
    pub command_responses: Vec<CommandResponse>,
    pub workflow_name: String,
    /// The channel's context after the command ran ("*" is the global context).
    pub context: String,
    pub command_name: String,
    /// The parameters the command ran with.
    pub command_parameters: Map<String, Value>,
}

impl CommandOutput {
    /// True when every response succeeded.
    pub fn success(&self) -> bool {
        self.command_responses.iter().all(|r| r.success)
    }

    /// The responses' texts, one per line: the text copy of a tool result.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self
            .command_responses
            .iter()
            .map(|r| r.response.as_str())
            .collect();
        texts.join("\n")
    }
}
