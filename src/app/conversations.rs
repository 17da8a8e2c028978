//! Conversations of a channel: start a new one, list, activate, feedback, read turns.
//!
//! Everything that changes which conversation is active, or a stored turn, takes the
//! channel's turn lock: it cannot interleave with a conversational turn.

use schemars::JsonSchema;
use serde::Serialize;

use super::App;
use crate::exec::Caller;
use crate::session::{TurnInProgress, now_ms};
use crate::store::conversations::{
    ConversationStore, ConversationSummary, Feedback, StoreError, Turn, summarize,
};

/// Bounds of `get_all_conversations`' `limit`.
pub const LIMIT_RANGE: std::ops::RangeInclusive<u64> = 1..=100;
/// Longest free-text feedback accepted (bytes).
pub const MAX_FEEDBACK_BYTES: usize = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error(transparent)]
    TurnInProgress(#[from] TurnInProgress),
    #[error("conversation not found with id {0}")]
    UnknownConversation(u64),
    #[error("no turns yet: there is nothing to give feedback on")]
    NoTurns,
    #[error("turn {0} not found in the active conversation")]
    UnknownTurn(u64),
    #[error("{0}")]
    Invalid(String),
    #[error("storage error: {0}")]
    Store(StoreError),
}

impl From<StoreError> for ConversationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownConversation(id) => Self::UnknownConversation(id),
            StoreError::UnknownTurn(id) => Self::UnknownTurn(id),
            other => Self::Store(other),
        }
    }
}

/// `{status, message?}` — the seed's answer to new_conversation, activate and feedback.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StatusReply {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl StatusReply {
    fn ok(message: Option<String>) -> Self {
        Self {
            status: "ok".into(),
            message,
        }
    }
}

/// What post_feedback carries.
#[derive(Debug, Clone, Default)]
pub struct FeedbackInput {
    pub binary_or_numeric_score: Option<f64>,
    pub nl_feedback: Option<String>,
    pub turn_id: Option<u64>,
}

/// Run blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ConversationError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ConversationError::Store(StoreError::Internal(e.to_string())))?
        .map_err(ConversationError::from)
}

impl App {
    /// Close the active conversation with a topic and summary derived from its turns and
    /// start the next one. An empty conversation is kept: "No turns to save".
    pub async fn new_conversation(
        &self,
        caller: &Caller,
    ) -> Result<StatusReply, ConversationError> {
        let session = self.sessions().get(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.sessions().store().clone();
        let channel = caller.channel_id.clone();
        let active = session.active_conversation();
        let closed = blocking(move || {
            let turns = store.turns(&channel, active)?;
            if turns.is_empty() {
                return Ok(None);
            }
            let (topic, summary) = summarize(&turns);
            let (_, state) = store.close_and_start_new(&channel, &topic, &summary)?;
            Ok(Some((topic, state.active_conversation)))
        })
        .await?;
        match closed {
            None => Ok(StatusReply::ok(Some("No turns to save".into()))),
            Some((topic, new_id)) => {
                session.switch_to(new_id, 1);
                Ok(StatusReply::ok(Some(format!(
                    "Saved conversation {active} as \"{topic}\"; conversation {new_id} is now active"
                ))))
            }
        }
    }

    /// The channel's conversations, newest first.
    pub async fn list_conversations(
        &self,
        caller: &Caller,
        limit: Option<u64>,
    ) -> Result<Vec<ConversationSummary>, ConversationError> {
        let limit = limit.unwrap_or(20);
        if !LIMIT_RANGE.contains(&limit) {
            return Err(ConversationError::Invalid(format!(
                "limit must be between 1 and 100, not {limit}"
            )));
        }
        // Make sure the channel exists (first use creates conversation 1).
        self.sessions().get(&caller.channel_id).await?;
        let store = self.sessions().store().clone();
        let channel = caller.channel_id.clone();
        blocking(move || store.list(&channel, limit as usize)).await
    }

    /// Make `conversation_id` the active conversation; new turns go there.
    pub async fn activate_conversation(
        &self,
        caller: &Caller,
        conversation_id: u64,
    ) -> Result<StatusReply, ConversationError> {
        let session = self.sessions().get(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.sessions().store().clone();
        let channel = caller.channel_id.clone();
        let next = blocking(move || {
            let state = store.activate(&channel, conversation_id)?;
            store.next_turn_id(&channel, state.active_conversation)
        })
        .await?;
        session.switch_to(conversation_id, next);
        Ok(StatusReply::ok(None))
    }

    /// Attach feedback to the last turn of the active conversation, or to `turn_id`.
    pub async fn post_feedback(
        &self,
        caller: &Caller,
        input: FeedbackInput,
    ) -> Result<StatusReply, ConversationError> {
        if input.binary_or_numeric_score.is_none() && input.nl_feedback.is_none() {
            return Err(ConversationError::Invalid(
                "give binary_or_numeric_score, nl_feedback, or both".into(),
            ));
        }
        if input
            .binary_or_numeric_score
            .is_some_and(|s| !s.is_finite())
        {
            return Err(ConversationError::Invalid(
                "binary_or_numeric_score must be a finite number".into(),
            ));
        }
        if input
            .nl_feedback
            .as_ref()
            .is_some_and(|t| t.len() > MAX_FEEDBACK_BYTES)
        {
            return Err(ConversationError::Invalid(format!(
                "nl_feedback is longer than {MAX_FEEDBACK_BYTES} bytes"
            )));
        }
        let session = self.sessions().get(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.sessions().store().clone();
        let channel = caller.channel_id.clone();
        let active = session.active_conversation();
        blocking(move || {
            let turn_id = match input.turn_id {
                Some(id) => id,
                None => match store.last_turn(&channel, active)? {
                    Some(turn) => turn.turn_id,
                    None => return Ok(Err(ConversationError::NoTurns)),
                },
            };
            let feedback = Feedback {
                binary_or_numeric_score: input.binary_or_numeric_score,
                nl_feedback: input.nl_feedback,
                timestamp: now_ms(),
            };
            store.set_feedback(&channel, active, turn_id, feedback)?;
            Ok(Ok(()))
        })
        .await??;
        Ok(StatusReply::ok(None))
    }

    /// One conversation of the caller's channel with its turns.
    pub async fn conversation_turns(
        &self,
        caller: &Caller,
        conversation_id: u64,
    ) -> Result<(ConversationSummary, Vec<Turn>), ConversationError> {
        self.sessions().get(&caller.channel_id).await?;
        let store = self.sessions().store().clone();
        let channel = caller.channel_id.clone();
        blocking(move || {
            let summary = store
                .conversation(&channel, conversation_id)?
                .ok_or(StoreError::UnknownConversation(conversation_id))?;
            Ok((summary, store.turns(&channel, conversation_id)?))
        })
        .await
    }
}
