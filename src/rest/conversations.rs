//! A channel's conversations over REST: list, read one, start a new one, activate an earlier
//! one, give feedback on a turn.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::RestState;
use super::api::{ActivateBody, Detail, FeedbackBody, StatusBody};
use super::body::JsonBody;
use super::error::ApiError;
use crate::app::requests::{ActivateConversation, GetAllConversations, Limit};
use crate::app::{EngineError, StatusReply};

fn status(reply: StatusReply) -> Json<StatusBody> {
    Json(StatusBody {
        status: reply.status,
        message: reply.message,
    })
}

/// Save the active conversation (topic and summary derived from its turns) and start the
/// next; with no turns, nothing is saved ("No turns to save"). A body, if any, is ignored.
#[utoipa::path(
    post,
    path = "/new_conversation",
    responses(
        (status = 200, body = StatusBody),
        (status = 401, body = Detail),
        (status = 409, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn new_conversation(
    State(state): State<RestState>,
    headers: HeaderMap,
) -> Result<Json<StatusBody>, ApiError> {
    let caller = state.caller(&headers)?;
    Ok(status(state.app.new_conversation(&caller).await?))
}

/// `?limit=20`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// How many to list, 1 to 100 (default 20)
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// The channel's conversations, newest first.
#[utoipa::path(
    get,
    path = "/conversations",
    params(ListQuery),
    responses(
        (
            status = 200,
            description = "[{conversation_id, topic, summary, created_at, updated_at}]",
            body = Vec<Object>,
        ),
        (status = 401, body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list_conversations(
    State(state): State<RestState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.caller(&headers)?;
    // axum's own refusal is plain text; ours is `{"detail"}` naming the field.
    let Query(query) = query.map_err(|e| EngineError::invalid("limit", e.body_text()))?;
    let limit = match query.limit.as_deref() {
        None => Limit::DEFAULT,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(Limit::new)
            .ok_or_else(|| {
                EngineError::invalid(
                    "limit",
                    format!("must be between 1 and {}, not {raw:?}", Limit::MAX),
                )
            })?,
    };
    let list = state
        .app
        .list_conversations(&caller, GetAllConversations { limit })
        .await?;
    Ok(Json(serde_json::to_value(list).unwrap_or_default()))
}

/// One conversation: its summary and every turn with its traces and feedback.
#[utoipa::path(
    get,
    path = "/conversations/{conversation_id}",
    params(("conversation_id" = u64, Path, minimum = 1, description = "The conversation")),
    responses(
        (status = 200, body = Object),
        (status = 401, body = Detail),
        (status = 404, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn conversation(
    State(state): State<RestState>,
    headers: HeaderMap,
    conversation_id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = state.caller(&headers)?;
    let Path(conversation_id) =
        conversation_id.map_err(|e| EngineError::invalid("conversation_id", e.body_text()))?;
    let Ok(conversation_id) = conversation_id.parse::<u64>() else {
        // A number too large for an id is a conversation that does not exist.
        if !conversation_id.is_empty() && conversation_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::NotFound(format!(
                "conversation {} not found",
                conversation_id.chars().take(40).collect::<String>()
            )));
        }
        return Err(
            EngineError::invalid("conversation_id", "must be a non-negative integer").into(),
        );
    };
    Ok(Json(
        state
            .app
            .conversation_json(&caller, conversation_id)
            .await?,
    ))
}

/// Feedback on the last turn of the active conversation (or on `turn_id`).
#[utoipa::path(
    post,
    path = "/post_feedback",
    responses(
        (status = 200, body = StatusBody),
        (status = 401, body = Detail),
        (status = 404, description = "no such turn", body = Detail),
        (status = 409, body = Detail),
        (status = 413, body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn post_feedback(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<FeedbackBody>,
) -> Result<Json<StatusBody>, ApiError> {
    let caller = state.caller(&headers)?;
    Ok(status(
        state
            .app
            .post_feedback(&caller, body.into_request())
            .await?,
    ))
}

/// Make an earlier conversation the active one.
#[utoipa::path(
    post,
    path = "/activate_conversation",
    responses(
        (status = 200, body = StatusBody),
        (status = 401, body = Detail),
        (status = 404, body = Detail),
        (status = 409, body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn activate_conversation(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ActivateBody>,
) -> Result<Json<StatusBody>, ApiError> {
    let caller = state.caller(&headers)?;
    let request = ActivateConversation {
        conversation_id: body.conversation_id,
    };
    Ok(status(
        state.app.activate_conversation(&caller, request).await?,
    ))
}
