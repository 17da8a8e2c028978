//! The conversation tools (`new_conversation`, `get_all_conversations`,
//! `activate_conversation`, `post_feedback`) and the `conversation://{id}` resources.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::conversations::{FeedbackInput, StatusReply};
use crate::app::{App, ConversationError};
use crate::exec::Caller;

pub const NEW_CONVERSATION: &str = "new_conversation";
pub const GET_ALL_CONVERSATIONS: &str = "get_all_conversations";
pub const ACTIVATE_CONVERSATION: &str = "activate_conversation";
pub const POST_FEEDBACK: &str = "post_feedback";

/// URI scheme of a conversation resource: `conversation://3`.
pub const CONVERSATION_SCHEME: &str = "conversation://";

fn object(value: Value) -> Arc<JsonObject> {
    Arc::new(match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    })
}

fn status_schema() -> Arc<JsonObject> {
    object(json!({
        "type": "object",
        "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
        "required": ["status"]
    }))
}

/// The four tools, in a stable order.
pub fn tools() -> Vec<Tool> {
    let summary = json!({
        "type": "object",
        "properties": {
            "conversation_id": {"type": "integer"},
            "topic": {"type": "string"},
            "summary": {"type": "string"},
            "created_at": {"type": "integer", "description": "ms since the Unix epoch"},
            "updated_at": {"type": "integer", "description": "ms since the Unix epoch"}
        },
        "required": ["conversation_id", "topic", "summary", "created_at", "updated_at"]
    });
    vec![
        Tool::new(
            NEW_CONVERSATION,
            "Save the active conversation (topic and summary derived from its turns) and start a new one.",
            object(json!({"type": "object", "properties": {}, "additionalProperties": false})),
        )
        .with_raw_output_schema(status_schema())
        .with_annotations(ToolAnnotations::new().read_only(false).destructive(false).open_world(false)),
        Tool::new(
            GET_ALL_CONVERSATIONS,
            "List this channel's conversations, newest first. Read one with the resource conversation://{conversation_id}.",
            object(json!({
                "type": "object",
                "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
                "additionalProperties": false
            })),
        )
        .with_raw_output_schema(object(json!({
            "type": "object",
            "properties": {"conversations": {"type": "array", "items": summary}},
            "required": ["conversations"]
        })))
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            ACTIVATE_CONVERSATION,
            "Make an earlier conversation of this channel the active one; new turns are added to it.",
            object(json!({
                "type": "object",
                "properties": {"conversation_id": {"type": "integer", "minimum": 1}},
                "required": ["conversation_id"],
                "additionalProperties": false
            })),
        )
        .with_raw_output_schema(status_schema())
        .with_annotations(ToolAnnotations::new().read_only(false).destructive(false).idempotent(true).open_world(false)),
        Tool::new(
            POST_FEEDBACK,
            "Give feedback on the last turn of the active conversation (or on turn_id): a score, words, or both.",
            object(json!({
                "type": "object",
                "properties": {
                    "binary_or_numeric_score": {"type": "number", "description": "e.g. 1/0 or a rating"},
                    "nl_feedback": {"type": "string", "maxLength": 16384},
                    "turn_id": {"type": "integer", "minimum": 1, "description": "default: the last turn"}
                },
                "additionalProperties": false
            })),
        )
        .with_raw_output_schema(status_schema())
        .with_annotations(ToolAnnotations::new().read_only(false).destructive(false).open_world(false)),
    ]
}

pub fn is_conversation_tool(name: &str) -> bool {
    matches!(
        name,
        NEW_CONVERSATION | GET_ALL_CONVERSATIONS | ACTIVATE_CONVERSATION | POST_FEEDBACK
    )
}

/// Run one of the conversation tools; bad arguments and refusals are `isError` results.
pub async fn call(
    app: &App,
    caller: &Caller,
    name: &str,
    args: &Map<String, Value>,
) -> CallToolResult {
    match dispatch(app, caller, name, args).await {
        Ok(value) => {
            let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
            result.structured_content = Some(value);
            result
        }
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

async fn dispatch(
    app: &App,
    caller: &Caller,
    name: &str,
    args: &Map<String, Value>,
) -> Result<Value, String> {
    let allowed: &[&str] = match name {
        NEW_CONVERSATION => &[],
        GET_ALL_CONVERSATIONS => &["limit"],
        ACTIVATE_CONVERSATION => &["conversation_id"],
        _ => &["binary_or_numeric_score", "nl_feedback", "turn_id"],
    };
    if let Some(unknown) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("{unknown}: unknown argument of {name}"));
    }
    let fail = |e: ConversationError| e.to_string();
    match name {
        NEW_CONVERSATION => to_value(app.new_conversation(caller).await.map_err(fail)?),
        GET_ALL_CONVERSATIONS => {
            let limit = optional_u64(args, "limit")?;
            let list = app.list_conversations(caller, limit).await.map_err(fail)?;
            Ok(json!({"conversations": list}))
        }
        ACTIVATE_CONVERSATION => {
            let id = optional_u64(args, "conversation_id")?
                .ok_or("conversation_id: missing required argument")?;
            to_value(app.activate_conversation(caller, id).await.map_err(fail)?)
        }
        _ => {
            let score = match args.get("binary_or_numeric_score") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_f64()
                        .ok_or("binary_or_numeric_score: must be a number")?,
                ),
            };
            let text = match args.get("nl_feedback") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("nl_feedback: must be a string".into()),
            };
            let input = FeedbackInput {
                binary_or_numeric_score: score,
                nl_feedback: text,
                turn_id: optional_u64(args, "turn_id")?,
            };
            to_value(app.post_feedback(caller, input).await.map_err(fail)?)
        }
    }
}

fn optional_u64(args: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key}: must be a non-negative integer")),
    }
}

fn to_value(reply: StatusReply) -> Result<Value, String> {
    serialize(&reply)
}

fn serialize(value: &impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| format!("internal error: {e}"))
}

/// `conversation://3` → 3.
pub fn parse_conversation_uri(uri: &str) -> Option<u64> {
    uri.strip_prefix(CONVERSATION_SCHEME)?.parse().ok()
}
