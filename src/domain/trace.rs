//! Trace events (DESIGN §1): what went from the agent to the workflow and back during a turn,
//! numbered in order, stored with the turn and streamed while it runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which way a trace event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    AgentToWorkflow,
    WorkflowToAgent,
}

/// One step of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceEvent {
    pub direction: Direction,
    pub raw_command: String,
    pub command_name: String,
    pub parameters: Map<String, Value>,
    pub response_text: String,
    pub success: bool,
    pub timestamp_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub channel_id: String,
    pub conversation_id: u64,
    pub turn_id: u64,
    /// 1 for the first event of the turn.
    pub seq: u64,
}
