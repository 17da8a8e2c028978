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
