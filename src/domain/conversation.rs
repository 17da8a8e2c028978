//! Conversations as they are stored and listed: turns, their feedback, and the summary line.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::output::CommandOutput;
use super::trace::TraceEvent;

/// How a turn was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TurnMode {
    Agent,
    Assistant,
    Action,
}

/// What a user thought of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Feedback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_or_numeric_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl_feedback: Option<String>,
    /// ms since the Unix epoch.
    pub timestamp: u64,
}

/// One question and its answer, as stored (DESIGN §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    pub turn_id: u64,
    pub mode: TurnMode,
    pub user_query: String,
    /// The output the caller received.
    pub command_output: CommandOutput,
    pub traces: Vec<TraceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    pub timestamp_ms: u64,
}

/// A conversation as listed; timestamps are ms since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub conversation_id: u64,
    pub topic: String,
    pub summary: String,
    pub created_at: u64,
    pub updated_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turn as flowmcp has always stored it reads back as the typed record.
    #[test]
    fn a_stored_turn_reads_back() {
        let stored = r##"{"turn_id":3,"mode":"assistant","user_query":"where is my order",
            "command_output":{"command_responses":[{"response":"pending","success":true,
            "artifacts":{"order":{"id":"#W1"}},"next_actions":[],"recommendations":[]}],
            "workflow_name":"shop","context":"Order","command_name":"get_order_details",
            "command_parameters":{"order_id":"#W1"}},
            "traces":[{"direction":"agent_to_workflow","raw_command":"x","command_name":"x",
            "parameters":{},"response_text":"","success":true,"timestamp_ms":5,
            "channel_id":"c","conversation_id":1,"turn_id":3,"seq":1}],
            "feedback":{"binary_or_numeric_score":1.0,"timestamp":9},"timestamp_ms":7}"##;
        let turn: Turn = serde_json::from_str(stored).expect("reads");
        assert_eq!(turn.mode, TurnMode::Assistant);
        assert_eq!(turn.command_output.context, "Order");
        assert_eq!(
            turn.command_output.command_responses[0].artifacts["order"]["id"],
            "#W1"
        );
        assert_eq!(turn.traces[0].seq, 1);
        assert_eq!(
            turn.feedback.and_then(|f| f.binary_or_numeric_score),
            Some(1.0)
        );
        // A response that leaves out its defaults is still a response.
        let lean = r#"{"command_responses":[{"response":"ok"}],"workflow_name":"w",
            "context":"*","command_name":"c","command_parameters":{}}"#;
        let output: CommandOutput = serde_json::from_str(lean).expect("reads");
        assert!(output.success());
    }
}
