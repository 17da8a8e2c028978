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

impl Action {
    fn into_json(self) -> Value {
        let mut map = Map::new();
        map.insert("command_name".into(), Value::String(self.command_name));
        map.insert("parameters".into(), Value::Object(self.parameters));
        Value::Object(map)
    }
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

    /// This response as JSON, the same as `serde_json::to_value` gives, but built by moving
    /// the fields: artifacts (whole records) are not copied value by value.
    fn into_json(self) -> Value {
        let next_actions = self.next_actions.into_iter().map(Action::into_json);
        let mut map = Map::new();
        map.insert("response".into(), Value::String(self.response));
        map.insert("success".into(), Value::Bool(self.success));
        map.insert("artifacts".into(), Value::Object(self.artifacts));
        map.insert("next_actions".into(), Value::Array(next_actions.collect()));
        map.insert("recommendations".into(), Value::Array(self.recommendations));
        Value::Object(map)
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

    /// This output as JSON (what a turn stores and MCP's `structuredContent` carries), the
    /// same as `serde_json::to_value` gives but without copying every value once more.
    pub fn into_json(self) -> Value {
        let responses = self
            .command_responses
            .into_iter()
            .map(CommandResponse::into_json);
        let mut map = Map::new();
        map.insert(
            "command_responses".into(),
            Value::Array(responses.collect()),
        );
        map.insert("workflow_name".into(), Value::String(self.workflow_name));
        map.insert("context".into(), Value::String(self.context));
        map.insert("command_name".into(), Value::String(self.command_name));
        map.insert(
            "command_parameters".into(),
            Value::Object(self.command_parameters),
        );
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `into_json` must give exactly what serde gives: stored turns and exports depend on it,
    /// and a field added to the structs but not to `into_json` fails here.
    #[test]
    fn into_json_is_the_serde_encoding() {
        let params = json!({"order_id": "#W2611340", "n": 2});
        let Value::Object(params) = params else {
            unreachable!("an object literal")
        };
        let output = CommandOutput {
            command_responses: vec![
                CommandResponse::ok("first")
                    .with_artifact("order", json!({"items": [{"id": "1"}], "total": 4.5}))
                    .with_next_action("get_order_details", params.clone()),
                CommandResponse {
                    recommendations: vec![json!("try again"), json!({"k": null})],
                    ..CommandResponse::fail("second")
                },
            ],
            workflow_name: "shop".into(),
            context: "Order".into(),
            command_name: "get_order_details".into(),
            command_parameters: params,
        };
        let expected = serde_json::to_value(&output).expect("serializes");
        assert_eq!(output.into_json(), expected);
    }
}
