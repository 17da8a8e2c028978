//! [`MemoryStore`]: the [`ConversationStore`] contract kept in memory, for tests of the
//! engine that need no data dir. Nothing survives the process; everything else (isolation,
//! atomicity, the refusals) is as in the RocksDB store, and the same contract tests run on both.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use super::{ChannelState, ConversationStore, PendingUpdate, StoreError, WriteWait};
use crate::domain::{ChannelId, ConversationSummary, Feedback, Turn, now_ms};

/// Every channel's records behind one lock: each call is one atomic change.
#[derive(Debug, Default)]
pub struct MemoryStore {
    channels: Mutex<HashMap<ChannelId, Channel>>,
}

#[derive(Debug)]
struct Channel {
    state: ChannelState,
    conversations: BTreeMap<u64, Conversation>,
}

#[derive(Debug)]
struct Conversation {
    summary: ConversationSummary,
    turns: BTreeMap<u64, Turn>,
}

impl Conversation {
    fn empty(conversation_id: u64) -> Self {
        let now = now_ms();
        Self {
            summary: ConversationSummary {
                conversation_id,
                topic: String::new(),
                summary: String::new(),
                created_at: now,
                updated_at: now,
            },
            turns: BTreeMap::new(),
        }
    }
}

impl Channel {
    fn new() -> Self {
        Self {
            state: ChannelState::first(),
            conversations: BTreeMap::from([(1, Conversation::empty(1))]),
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ChannelId, Channel>> {
        // Every change is made in full before the guard drops, so a poisoned map is whole.
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `read` on the channel, if it was ever used.
    fn read<T>(&self, channel: &ChannelId, read: impl FnOnce(&Channel) -> T) -> Option<T> {
        self.lock().get(channel).map(read)
    }
}

impl ConversationStore for MemoryStore {
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
        let mut channels = self.lock();
        let entry = channels.entry(channel.clone()).or_insert_with(Channel::new);
        Ok(entry.state.clone())
    }

    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: PendingUpdate<'_>,
        _wait: WriteWait,
    ) -> Result<(), StoreError> {
        let mut channels = self.lock();
        let Some(entry) = channels.get_mut(channel) else {
            return Err(StoreError::UnknownConversation(conversation_id));
        };
        let conversation = entry
            .conversations
            .get_mut(&conversation_id)
            .ok_or(StoreError::UnknownConversation(conversation_id))?;
        if conversation.turns.contains_key(&turn.turn_id) {
            return Err(StoreError::DuplicateTurn {
                conversation_id,
                turn_id: turn.turn_id,
            });
        }
        conversation.summary.updated_at = conversation.summary.updated_at.max(turn.timestamp_ms);
        conversation.turns.insert(turn.turn_id, turn.clone());
        if let PendingUpdate::Replace(pending) = pending
            && entry.state.active_conversation == conversation_id
        {
            entry.state.pending = pending.cloned();
        }
        Ok(())
    }

    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError> {
        let last = self.read(channel, |c| {
            c.conversations
                .get(&conversation_id)
                .and_then(|conv| conv.turns.keys().next_back().copied())
        });
        Ok(last.flatten().map_or(1, |id| id.saturating_add(1)))
    }

    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError> {
        let turns = self.read(channel, |c| {
            c.conversations
                .get(&conversation_id)
                .map(|conv| conv.turns.values().cloned().collect())
        });
        Ok(turns.flatten().unwrap_or_default())
    }

    fn turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        let turn = self.read(channel, |c| {
            c.conversations
                .get(&conversation_id)
                .and_then(|conv| conv.turns.get(&turn_id).cloned())
        });
        Ok(turn.flatten())
    }

    fn last_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        let turn = self.read(channel, |c| {
            c.conversations
                .get(&conversation_id)
                .and_then(|conv| conv.turns.values().next_back().cloned())
        });
        Ok(turn.flatten())
    }

    fn set_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError> {
        let mut channels = self.lock();
        let turn = channels
            .get_mut(channel)
            .and_then(|c| c.conversations.get_mut(&conversation_id))
            .and_then(|conv| conv.turns.get_mut(&turn_id))
            .ok_or(StoreError::UnknownTurn(turn_id))?;
        turn.feedback = Some(feedback);
        Ok(())
    }

    fn close_and_start_new(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError> {
        let mut channels = self.lock();
        let entry = channels.entry(channel.clone()).or_insert_with(Channel::new);
        let closed_id = entry.state.active_conversation;
        let new_id = entry.state.next_conversation_id;
        let next_id = new_id
            .checked_add(1)
            .ok_or_else(|| StoreError::Internal("conversation ids exhausted".into()))?;
        let closed = entry
            .conversations
            .entry(closed_id)
            .or_insert_with(|| Conversation::empty(closed_id));
        closed.summary.topic = topic.to_string();
        closed.summary.summary = summary.to_string();
        closed.summary.updated_at = closed.summary.updated_at.max(now_ms());
        entry
            .conversations
            .insert(new_id, Conversation::empty(new_id));
        entry.state = ChannelState {
            active_conversation: new_id,
            next_conversation_id: next_id,
            pending: None,
        };
        Ok((closed_id, entry.state.clone()))
    }

    fn activate(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError> {
        let mut channels = self.lock();
        let entry = channels
            .get_mut(channel)
            .filter(|c| c.conversations.contains_key(&conversation_id))
            .ok_or(StoreError::UnknownConversation(conversation_id))?;
        if entry.state.active_conversation != conversation_id {
            entry.state.active_conversation = conversation_id;
            entry.state.pending = None;
        }
        Ok(entry.state.clone())
    }

    fn set_pending(
        &self,
        channel: &ChannelId,
        pending: Option<Value>,
    ) -> Result<ChannelState, StoreError> {
        let mut channels = self.lock();
        let entry = channels.entry(channel.clone()).or_insert_with(Channel::new);
        entry.state.pending = pending;
        Ok(entry.state.clone())
    }

    fn list(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let limit = limit.clamp(1, 100);
        let listed = self.read(channel, |c| {
            c.conversations
                .values()
                .rev()
                .filter(|conv| {
                    let blank = conv.summary.conversation_id == c.state.active_conversation
                        && conv.turns.is_empty();
                    !blank
                })
                .take(limit)
                .map(|conv| conv.summary.clone())
                .collect()
        });
        Ok(listed.unwrap_or_default())
    }

    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        let summary = self.read(channel, |c| {
            c.conversations
                .get(&conversation_id)
                .map(|conv| conv.summary.clone())
        });
        Ok(summary.flatten())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    crate::store::contract::contract_tests!(|_dir: &std::path::Path| MemoryStore::new());
}
