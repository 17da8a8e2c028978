//! The conversation tools (`new_conversation`, `get_all_conversations`,
//! `activate_conversation`, `post_feedback`).

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::tools::error_result;
use crate::app::requests::{
    self, ActivateConversation, GetAllConversations, NewConversation, PostFeedback, Request,
};
use crate::app::{App, EngineError};
use crate::domain::Caller;

pub(crate) fn is_conversation_tool(name: &str) -> bool {
    [
        NewConversation::NAME,
        GetAllConversations::NAME,
        ActivateConversation::NAME,
        PostFeedback::NAME,
    ]
    .contains(&name)
}

/// Run one of the conversation tools; bad arguments and refusals are `isError` results.
pub(crate) async fn call(
    app: &App,
    caller: &Caller,
    name: &str,
    args: Map<String, Value>,
) -> CallToolResult {
    match dispatch(app, caller, name, args).await {
        Ok(value) => {
            let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
            result.structured_content = Some(value);
            result
        }
        Err(e) => error_result(&e),
    }
}

async fn dispatch(
    app: &App,
    caller: &Caller,
    name: &str,
    args: Map<String, Value>,
) -> Result<Value, EngineError> {
    match name {
        NewConversation::NAME => {
            requests::parse::<NewConversation>(args)?;
            to_value(&app.new_conversation(caller).await?)
        }
        GetAllConversations::NAME => {
            let list = app
                .list_conversations(caller, requests::parse(args)?)
                .await?;
            Ok(json!({"conversations": list}))
        }
        ActivateConversation::NAME => to_value(
            &app.activate_conversation(caller, requests::parse(args)?)
                .await?,
        ),
        _ => to_value(&app.post_feedback(caller, requests::parse(args)?).await?),
    }
}

/// A reply as JSON (plain structs of strings and numbers: this cannot fail).
fn to_value(reply: &impl Serialize) -> Result<Value, EngineError> {
    Ok(serde_json::to_value(reply).unwrap_or_default())
}
