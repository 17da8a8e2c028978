//! Each channel's state in the `channels` family: which conversation is active, the next
//! conversation id, and the pending clarification (opaque JSON).

use serde_json::Value;

use super::db::Snapshot;
use super::{CF_CHANNELS, CF_CONVERSATIONS, RocksStore, decode, encode, keys};
use crate::domain::ChannelId;
use crate::store::{ChannelState, StoreError};

impl RocksStore {
    /// The channel's state, `None` for a channel never used (reading creates nothing).
    pub(super) fn state(&self, channel: &ChannelId) -> Result<Option<ChannelState>, StoreError> {
        self.get_json(CF_CHANNELS, &keys::channel(channel))
    }

    /// `load_channel` for a caller already holding the channel's lock: the first use writes
    /// conversation 1 and the state in one batch.
    pub(super) fn load_locked(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
        if let Some(state) = self.state(channel)? {
            return Ok(state);
        }
        let state = ChannelState::first();
        let summary = encode(&super::conversations::empty_conversation(1))?;
        let encoded = encode(&state)?;
        self.db.write(|batch| {
            batch.put(CF_CONVERSATIONS, &keys::conversation(channel, 1), &summary);
            batch.put(CF_CHANNELS, &keys::channel(channel), &encoded);
        })?;
        Ok(state)
    }

    fn save_state(&self, channel: &ChannelId, state: &ChannelState) -> Result<(), StoreError> {
        Ok(self
            .db
            .put(CF_CHANNELS, &keys::channel(channel), &encode(state)?)?)
    }

    /// [`crate::store::ConversationStore::activate`].
    pub(super) fn switch_to(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError> {
        let _guard = self.lock(channel);
        // Checked first, so an unknown id writes nothing at all (not even a new channel).
        if self.summary_of(channel, conversation_id)?.is_none() {
            return Err(StoreError::UnknownConversation(conversation_id));
        }
        let mut state = self.load_locked(channel)?;
        if state.active_conversation != conversation_id {
            state.active_conversation = conversation_id;
            state.pending = None;
            self.save_state(channel, &state)?;
        }
        Ok(state)
    }

    /// [`crate::store::ConversationStore::set_stream_format`].
    pub(super) fn replace_stream_format(
        &self,
        channel: &ChannelId,
        format: Option<&str>,
    ) -> Result<ChannelState, StoreError> {
        let _guard = self.lock(channel);
        let mut state = self.load_locked(channel)?;
        state.stream_format = format.map(str::to_string);
        self.save_state(channel, &state)?;
        Ok(state)
    }

    /// [`crate::store::ConversationStore::set_pending`].
    pub(super) fn replace_pending(
        &self,
        channel: &ChannelId,
        pending: Option<Value>,
    ) -> Result<ChannelState, StoreError> {
        let _guard = self.lock(channel);
        let mut state = self.load_locked(channel)?;
        state.pending = pending;
        self.save_state(channel, &state)?;
        Ok(state)
    }
}

/// The channel's state as of `snapshot` (`None` for a channel never used).
pub(super) fn state_in(
    snapshot: &Snapshot<'_>,
    channel: &ChannelId,
) -> Result<Option<ChannelState>, StoreError> {
    let key = keys::channel(channel);
    snapshot
        .get(CF_CHANNELS, &key)?
        .map(|bytes| decode(&key, &bytes))
        .transpose()
}
