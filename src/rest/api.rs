//! The REST shim's own request and response shapes, with fastworkflow's field names. Each
//! request maps onto one of the engine's request types. A request body's schema in
//! `/openapi.json` is its schemars schema, the one the parser is held to (rules across fields
//! included); utoipa describes the responses.

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::app::requests::{
    self, InvokeAgent, InvokeAssistant, MAX_FEEDBACK_CHARS, MAX_QUERY_CHARS, Request, TEXT_PATTERN,
};
use crate::domain::{ChannelId, MAX_CHANNEL_ID_LEN, MAX_USER_ID_LEN, Timeout, parse_user_id};

/// How a channel's streamed turns are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreamFormat {
    /// `application/x-ndjson`: one JSON object per line.
    Ndjson,
    /// `text/event-stream`: `event:`, `id:` and `data:` lines, with keep-alive comments.
    Sse,
}

impl StreamFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Sse => "sse",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ndjson" => Some(Self::Ndjson),
            "sse" => Some(Self::Sse),
            _ => None,
        }
    }
}

/// A channel id, as [`crate::domain::ChannelId::parse`] takes it.
const CHANNEL_ID_PATTERN: &str = "^[A-Za-z0-9._:@-]+$";
/// A user id or a label: no control characters.
const LABEL_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
/// Longest token label and revocation reason.
pub const MAX_LABEL_CHARS: usize = 128;
pub const MAX_REASON_CHARS: usize = 1024;

/// A command and its parameters.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub command_name: String,
    #[serde(default = "empty_object")]
    #[schemars(with = "Map<String, Value>")]
    pub parameters: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl ActionSpec {
    /// The engine's request for this action.
    pub fn into_request(self, timeout_seconds: Option<Timeout>) -> requests::PerformAction {
        requests::PerformAction {
            command_name: self.command_name,
            parameters: self.parameters,
            timeout_seconds,
        }
    }
}

/// A body's `channel_id` and optional `user_id`, each refused (422) by its own name.
pub fn channel_and_user(
    channel_id: &str,
    user_id: Option<&str>,
) -> Result<(ChannelId, Option<String>), crate::app::EngineError> {
    use crate::app::EngineError;
    let channel = ChannelId::parse(channel_id)
        .map_err(|e| EngineError::invalid("channel_id", e.to_string()))?;
    let user = user_id
        .map(parse_user_id)
        .transpose()
        .map_err(|e| EngineError::invalid("user_id", e.to_string()))?;
    Ok((channel, user))
}

/// `POST /initialize`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = startup_rules)]
pub struct InitializeBody {
    /// The channel: letters, digits and . _ : @ - (1 to 128)
    #[schemars(length(min = 1, max = MAX_CHANNEL_ID_LEN), pattern(CHANNEL_ID_PATTERN))]
    pub channel_id: String,
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_USER_ID_LEN), pattern(LABEL_PATTERN))]
    pub user_id: Option<String>,
    /// How this channel's streams are framed (default ndjson)
    #[serde(default)]
    pub stream_format: Option<StreamFormat>,
    /// A command to run first, as the assistant would (needs user_id)
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_QUERY_CHARS), pattern(TEXT_PATTERN))]
    pub startup_command: Option<String>,
    /// An action to run first (needs user_id; not with startup_command)
    #[serde(default)]
    pub startup_action: Option<ActionSpec>,
}

/// What `/initialize` checks beyond each field: no startup, or exactly one of the two with a
/// `user_id` (null is the same as absent).
fn startup_rules(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        json!([
            {"properties": {
                "startup_command": {"type": "null"},
                "startup_action": {"type": "null"},
            }},
            {"required": ["startup_command", "user_id"], "properties": {
                "startup_command": {"type": "string"},
                "startup_action": {"type": "null"},
                "user_id": {"type": "string"},
            }},
            {"required": ["startup_action", "user_id"], "properties": {
                "startup_action": {"type": "object"},
                "startup_command": {"type": "null"},
                "user_id": {"type": "string"},
            }},
        ]),
    );
}

impl Request for InitializeBody {
    const NAME: &'static str = "initialize";
    const FIELDS: &'static [&'static str] = &[
        "channel_id",
        "user_id",
        "stream_format",
        "startup_command",
        "startup_action",
    ];
}

/// What `/initialize`, `/refresh_token` and `/admin/generate_mcp_token` hand out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Empty for an MCP token: it is not refreshed, it is revoked.
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// The output of the startup command or action, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub startup_output: Option<Value>,
    /// The token's id, to revoke it by (MCP tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// `POST /invoke_assistant`, `/invoke_agent`, `/invoke_agent_stream`: the user's words, as
/// `user_query` (fastworkflow's name) or `command` (the MCP tool's).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = one_of_words)]
pub struct InvokeBody {
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_QUERY_CHARS), pattern(TEXT_PATTERN))]
    pub user_query: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_QUERY_CHARS), pattern(TEXT_PATTERN))]
    pub command: Option<String>,
    /// Give up after this many seconds (1 to 600)
    #[serde(default)]
    #[schemars(with = "Option<Timeout>")]
    pub timeout_seconds: Option<Timeout>,
}

/// Exactly one of `user_query` and `command` (null is the same as absent).
fn one_of_words(schema: &mut Schema) {
    schema.insert(
        "oneOf".into(),
        json!([
            {"required": ["user_query"], "properties": {"user_query": {"type": "string"}}},
            {"required": ["command"], "properties": {"command": {"type": "string"}}},
        ]),
    );
}

impl Request for InvokeBody {
    const NAME: &'static str = "invoke";
    const FIELDS: &'static [&'static str] = &["user_query", "command", "timeout_seconds"];
}

impl InvokeBody {
    /// The engine's agent request (the same words and timeout).
    pub fn into_agent_request(self) -> Result<InvokeAgent, crate::app::EngineError> {
        let request = self.into_request()?;
        Ok(InvokeAgent {
            user_query: request.command,
            timeout_seconds: request.timeout_seconds,
        })
    }

    /// The engine's request: exactly one of `user_query` and `command`.
    pub fn into_request(self) -> Result<InvokeAssistant, crate::app::EngineError> {
        let command = match (self.user_query, self.command) {
            (Some(words), None) | (None, Some(words)) => words,
            (Some(_), Some(_)) => {
                return Err(crate::app::EngineError::invalid(
                    "command",
                    "give user_query or command, not both",
                ));
            }
            (None, None) => {
                return Err(crate::app::EngineError::invalid(
                    "user_query",
                    "missing required argument",
                ));
            }
        };
        Ok(InvokeAssistant {
            command,
            timeout_seconds: self.timeout_seconds,
        })
    }
}

/// `POST /perform_action`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformActionBody {
    pub action: ActionSpec,
    /// Give up after this many seconds (1 to 600)
    #[serde(default)]
    #[schemars(with = "Option<Timeout>")]
    pub timeout_seconds: Option<Timeout>,
}

impl Request for PerformActionBody {
    const NAME: &'static str = "perform_action";
    const FIELDS: &'static [&'static str] = &["action", "timeout_seconds"];
}

impl PerformActionBody {
    pub fn into_request(self) -> requests::PerformAction {
        self.action.into_request(self.timeout_seconds)
    }
}

/// `POST /post_feedback`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = score_or_words)]
pub struct FeedbackBody {
    #[serde(default)]
    pub binary_or_numeric_score: Option<f64>,
    #[serde(default)]
    #[schemars(length(max = MAX_FEEDBACK_CHARS))]
    pub nl_feedback: Option<String>,
    /// Default: the last turn
    #[serde(default)]
    #[schemars(range(min = 1, max = u64::MAX))]
    pub turn_id: Option<u64>,
}

/// A score, words, or both (null is the same as absent).
fn score_or_words(schema: &mut Schema) {
    schema.insert(
        "anyOf".into(),
        json!([
            {"required": ["binary_or_numeric_score"],
             "properties": {"binary_or_numeric_score": {"type": "number"}}},
            {"required": ["nl_feedback"], "properties": {"nl_feedback": {"type": "string"}}},
        ]),
    );
}

impl Request for FeedbackBody {
    const NAME: &'static str = "post_feedback";
    const FIELDS: &'static [&'static str] = &["binary_or_numeric_score", "nl_feedback", "turn_id"];
}

impl FeedbackBody {
    pub fn into_request(self) -> requests::PostFeedback {
        requests::PostFeedback {
            binary_or_numeric_score: self.binary_or_numeric_score,
            nl_feedback: self.nl_feedback,
            turn_id: self.turn_id,
        }
    }
}

/// `POST /activate_conversation`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    #[schemars(range(min = 1, max = u64::MAX))]
    pub conversation_id: u64,
}

impl Request for ActivateBody {
    const NAME: &'static str = "activate_conversation";
    const FIELDS: &'static [&'static str] = &["conversation_id"];
}

/// `POST /admin/generate_mcp_token`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateTokenBody {
    #[schemars(length(min = 1, max = MAX_CHANNEL_ID_LEN), pattern(CHANNEL_ID_PATTERN))]
    pub channel_id: String,
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_USER_ID_LEN), pattern(LABEL_PATTERN))]
    pub user_id: Option<String>,
    /// A label for the admin's list ("Claude on Ada's laptop")
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_LABEL_CHARS), pattern(LABEL_PATTERN))]
    pub name: Option<String>,
    /// Days until it expires (at most the server's --max-token-days)
    #[schemars(range(min = 1, max = u64::MAX))]
    pub expires_days: u64,
}

impl Request for GenerateTokenBody {
    const NAME: &'static str = "generate_mcp_token";
    const FIELDS: &'static [&'static str] = &["channel_id", "user_id", "name", "expires_days"];
}

/// `POST /admin/revoke_token`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    #[schemars(length(min = 1, max = 64))]
    pub jti: String,
    #[serde(default)]
    #[schemars(length(max = MAX_REASON_CHARS))]
    pub reason: Option<String>,
}

impl Request for RevokeBody {
    const NAME: &'static str = "revoke_token";
    const FIELDS: &'static [&'static str] = &["jti", "reason"];
}

/// A label or reason within its bounds, or the error naming the field.
pub fn check_label(
    field: &'static str,
    text: Option<&str>,
    range: std::ops::RangeInclusive<usize>,
    printable: bool,
) -> Result<(), crate::app::EngineError> {
    let Some(text) = text else { return Ok(()) };
    let chars = text.chars().count();
    if !range.contains(&chars) {
        return Err(crate::app::EngineError::invalid(
            field,
            format!(
                "must be {} to {} characters, not {chars}",
                range.start(),
                range.end()
            ),
        ));
    }
    if printable && text.chars().any(char::is_control) {
        return Err(crate::app::EngineError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// `{"status": "ok", "message": …}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusBody {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `{"detail": …}`: every refusal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}
