//! Conversations of a channel: start a new one, list, activate, feedback, read turns.
//!
//! Everything that changes which conversation is active, or a stored turn, takes the
//! channel's turn lock: it cannot interleave with a conversational turn.

use schemars::JsonSchema;
use serde::Serialize;

use super::requests::{
    ActivateConversation, GetAllConversations, MAX_FEEDBACK_CHARS, PostFeedback,
};
use super::{App, EngineError, blocking};
use crate::domain::{Caller, ConversationSummary, Feedback, Turn, now_ms, summarize};
use crate::store::StoreError;

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

impl App {
    /// Close the active conversation with a topic and summary derived from its turns and
    /// start the next one. An empty conversation is kept: "No turns to save".
    pub async fn new_conversation(&self, caller: &Caller) -> Result<StatusReply, EngineError> {
        let session = self.session(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.store().clone();
        let channel = caller.channel_id.clone();
        let active = session.active_conversation();
        let turns = blocking(move || store.turns(&channel, active)).await?;
        let closed = if turns.is_empty() {
            None
        } else {
            let written = match self.llm() {
                Some(llm) => self.topic_from_llm(llm.as_ref(), &turns).await,
                None => None,
            };
            let (topic, summary) = written.unwrap_or_else(|| summarize(&turns));
            let store = self.store().clone();
            let channel = caller.channel_id.clone();
            blocking(move || {
                let (_, state) = store.close_and_start_new(&channel, &topic, &summary)?;
                Ok(Some((topic, state.active_conversation)))
            })
            .await?
        };
        match closed {
            None => Ok(StatusReply::ok(Some("No turns to save".into()))),
            Some((topic, new_id)) => {
                session.switch_to(new_id, 1);
                Ok(StatusReply::ok(Some(format!(
                    "Saved conversation {active} as \"{topic}\"; conversation {new_id} is now \
                     active"
                ))))
            }
        }
    }

    /// The channel's conversations, newest first.
    pub async fn list_conversations(
        &self,
        caller: &Caller,
        request: GetAllConversations,
    ) -> Result<Vec<ConversationSummary>, EngineError> {
        let limit = request.limit.get();
        // Make sure the channel exists (first use creates conversation 1).
        self.session(&caller.channel_id).await?;
        let store = self.store().clone();
        let channel = caller.channel_id.clone();
        blocking(move || store.list(&channel, limit)).await
    }

    /// Make the requested conversation the active one; new turns go there.
    pub async fn activate_conversation(
        &self,
        caller: &Caller,
        request: ActivateConversation,
    ) -> Result<StatusReply, EngineError> {
        let conversation_id = request.conversation_id;
        let session = self.session(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.store().clone();
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
        request: PostFeedback,
    ) -> Result<StatusReply, EngineError> {
        if request.binary_or_numeric_score.is_none() && request.nl_feedback.is_none() {
            return Err(EngineError::invalid(
                "binary_or_numeric_score",
                "give binary_or_numeric_score, nl_feedback, or both",
            ));
        }
        if request
            .binary_or_numeric_score
            .is_some_and(|s| !s.is_finite())
        {
            return Err(EngineError::invalid(
                "binary_or_numeric_score",
                "must be a finite number",
            ));
        }
        if let Some(text) = &request.nl_feedback
            && text.chars().count() > MAX_FEEDBACK_CHARS
        {
            return Err(EngineError::TooLong {
                field: "nl_feedback",
                chars: text.chars().count(),
                limit: MAX_FEEDBACK_CHARS,
            });
        }
        let session = self.session(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let store = self.store().clone();
        let channel = caller.channel_id.clone();
        let active = session.active_conversation();
        blocking(move || {
            let turn_id = match request.turn_id {
                Some(id) => id,
                None => match store.last_turn(&channel, active)? {
                    Some(turn) => turn.turn_id,
                    None => return Ok(Err(EngineError::NoTurns)),
                },
            };
            let feedback = Feedback {
                binary_or_numeric_score: request.binary_or_numeric_score,
                nl_feedback: request.nl_feedback,
                timestamp: now_ms(),
            };
            store.set_feedback(&channel, active, turn_id, feedback)?;
            Ok::<_, StoreError>(Ok(()))
        })
        .await??;
        self.inner.changes.publish(|| super::changes::Change {
            channel: caller.channel_id.clone(),
            conversation_id: active,
            command: None,
            success: true,
        });
        Ok(StatusReply::ok(None))
    }

    /// One conversation of the caller's channel as JSON — its summary and every turn with its
    /// traces and feedback — as REST's `/conversations/{id}` and `conversation://{id}` give it.
    pub async fn conversation_json(
        &self,
        caller: &Caller,
        conversation_id: u64,
    ) -> Result<serde_json::Value, EngineError> {
        let (summary, turns) = self.conversation_turns(caller, conversation_id).await?;
        Ok(serde_json::json!({
            "channel_id": caller.channel_id.as_str(),
            "conversation_id": summary.conversation_id,
            "topic": summary.topic,
            "summary": summary.summary,
            "created_at": summary.created_at,
            "updated_at": summary.updated_at,
            "turns": turns,
        }))
    }

    /// One conversation of the caller's channel with its turns.
    pub async fn conversation_turns(
        &self,
        caller: &Caller,
        conversation_id: u64,
    ) -> Result<(ConversationSummary, Vec<Turn>), EngineError> {
        self.session(&caller.channel_id).await?;
        let store = self.store().clone();
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
