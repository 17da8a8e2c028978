//! [`MemoryStore`]: the [`ConversationStore`] contract kept in memory, for tests of the
//! engine that need no data dir. Nothing survives the process; everything else (isolation,
//! atomicity, the refusals) is as in the RocksDB store, and the same contract tests run on both.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use super::{ChannelState, ConversationStore, PendingUpdate, StoreError, TokenStore, WriteWait};
use crate::domain::{
    ChannelId, ConversationSummary, Feedback, Revocation, TokenRecord, Turn, now_ms,
};

/// Every channel's records behind one lock, the token records behind another: each call is
/// one atomic change.
#[derive(Debug, Default)]
pub struct MemoryStore {
    channels: Mutex<HashMap<ChannelId, Channel>>,
    tokens: Mutex<Tokens>,
}

#[derive(Debug, Default)]
struct Tokens {
    records: HashMap<String, TokenRecord>,
    spent: HashMap<String, u64>,
    families: BTreeMap<String, u64>,
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
            stream_format: entry.state.stream_format.take(),
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

    fn channel_exists(&self, channel: &ChannelId) -> Result<bool, StoreError> {
        Ok(self.lock().contains_key(channel))
    }

    fn set_stream_format(
        &self,
        channel: &ChannelId,
        format: Option<&str>,
    ) -> Result<ChannelState, StoreError> {
        let mut channels = self.lock();
        let entry = channels.entry(channel.clone()).or_insert_with(Channel::new);
        entry.state.stream_format = format.map(str::to_string);
        Ok(entry.state.clone())
    }

    fn export(
        &self,
        only: Option<&ChannelId>,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, StoreError> {
        let channels = self.lock();
        let mut ids: Vec<&ChannelId> = channels
            .keys()
            .filter(|id| only.is_none_or(|only| only == *id))
            .collect();
        ids.sort();
        let mut count = 0;
        for id in ids {
            let Some(channel) = channels.get(id) else {
                continue;
            };
            for conversation in channel.conversations.values() {
                let summary = &conversation.summary;
                if summary.conversation_id == channel.state.active_conversation
                    && conversation.turns.is_empty()
                {
                    continue;
                }
                let turns: Vec<Turn> = conversation.turns.values().cloned().collect();
                super::write_export_line(out, id, summary, &turns)?;
                count += 1;
            }
        }
        out.flush()?;
        Ok(count)
    }
}

impl MemoryStore {
    fn token_state(&self) -> MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryStore {
    fn add_token(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let mut tokens = self.token_state();
        if tokens.records.contains_key(&record.jti) {
            return Err(StoreError::DuplicateToken(record.jti.clone()));
        }
        tokens.records.insert(record.jti.clone(), record.clone());
        Ok(())
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut records: Vec<TokenRecord> = self.token_state().records.values().cloned().collect();
        records.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.jti.cmp(&b.jti)));
        Ok(records)
    }

    fn revoke_token(&self, jti: &str, revocation: Revocation) -> Result<TokenRecord, StoreError> {
        let mut tokens = self.token_state();
        let record = tokens
            .records
            .get_mut(jti)
            .ok_or_else(|| StoreError::UnknownToken(jti.to_string()))?;
        if record.revoked.is_none() {
            record.revoked = Some(revocation);
        }
        Ok(record.clone())
    }

    fn touch_tokens(&self, used: &[(String, u64)]) -> Result<(), StoreError> {
        let mut tokens = self.token_state();
        for (jti, at) in used {
            if let Some(record) = tokens.records.get_mut(jti)
                && record.last_used_at.is_none_or(|last| last < *at)
            {
                record.last_used_at = Some(*at);
            }
        }
        Ok(())
    }

    fn spend_refresh(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        let mut tokens = self.token_state();
        if tokens.spent.contains_key(jti) {
            return Ok(false);
        }
        tokens.spent.insert(jti.to_string(), expires_at);
        Ok(true)
    }

    fn revoke_family(&self, family: &str, at: u64) -> Result<(), StoreError> {
        self.token_state().families.insert(family.to_string(), at);
        Ok(())
    }

    fn revoked_families(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.token_state().families.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    crate::store::contract::contract_tests!(|_dir: &std::path::Path| MemoryStore::new());
}
