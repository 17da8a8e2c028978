//! Conversation summaries and turns (`conversations` and `turns` families): the turn write of
//! the hot path, feedback, closing a conversation, listing and reading.

use std::ops::ControlFlow;

use super::channels::state_in;
use super::db::{Order, Snapshot};
use super::{CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS, RocksStore, decode, encode, keys};
use crate::domain::{ChannelId, ConversationSummary, Feedback, Turn, now_ms};
use crate::store::{ChannelState, PendingUpdate, StoreError, WriteWait};

/// The name RocksDB records for [`latest_update`] (it refuses to reopen a family under
/// another merge operator's name).
pub(super) const LATEST_UPDATE: &str = "flowmcp.latest_update";

/// The merge operator of the `conversations` family. Its operands are turn times (8 bytes,
/// big-endian milliseconds); merged into a summary they move `updated_at` forward, never back
/// (turns may finish out of order). Without a summary to merge into (RocksDB combining
/// operands alone) the result is their latest time. An operand of another size is ignored;
/// a summary that does not decode fails the merge, which RocksDB reports on the read.
pub(super) fn latest_update(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let latest = operands
        .iter()
        .filter_map(|operand| <[u8; 8]>::try_from(operand).ok())
        .map(u64::from_be_bytes)
        .max();
    let Some(existing) = existing else {
        return latest.map(|time| time.to_be_bytes().to_vec());
    };
    let mut summary: ConversationSummary = serde_json::from_slice(existing).ok()?;
    if let Some(time) = latest {
        summary.updated_at = summary.updated_at.max(time);
    }
    serde_json::to_vec(&summary).ok()
}

/// How many conversation keys [`RocksStore::conversation_exists`] remembers (~50 bytes each).
const SEEN_CONVERSATIONS: usize = 100_000;

pub(super) fn empty_conversation(conversation_id: u64) -> ConversationSummary {
    let now = now_ms();
    ConversationSummary {
        conversation_id,
        topic: String::new(),
        summary: String::new(),
        created_at: now,
        updated_at: now,
    }
}

impl RocksStore {
    pub(super) fn summary_of(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        self.get_json(
            CF_CONVERSATIONS,
            &keys::conversation(channel, conversation_id),
        )
    }

    /// [`crate::store::ConversationStore::append_turn`]. With [`WriteWait::NoStall`] it is safe
    /// on an async worker: while RocksDB throttles writes it writes nothing and answers
    /// [`StoreError::WouldStall`].
    ///
    /// A direct action's turn reads and rewrites nothing of its channel: the conversation's
    /// `updated_at` moves with a merge operand (see [`latest_update`]), so it takes only the
    /// lock of its own turn key, and concurrent turns of one channel reach RocksDB together,
    /// which writes them to the WAL as one group. Only a turn that changes the pending slot
    /// takes the channel's lock, for the state it rewrites.
    pub(super) fn write_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: PendingUpdate<'_>,
        wait: WriteWait,
    ) -> Result<(), StoreError> {
        let turn_bytes = encode(turn)?;
        let summary_key = keys::conversation(channel, conversation_id);
        let turn_key = keys::turn_in(&summary_key, turn.turn_id);
        // Always the channel's lock before a turn key's (the only order they are taken in).
        let _channel = matches!(pending, PendingUpdate::Replace(_)).then(|| self.lock(channel));
        // The duplicate check and the write are one step for this turn key.
        let _turn = self.lock_turn(&turn_key);
        // Conversations are never deleted: one seen here is still there when the batch lands.
        if !self.conversation_exists(&summary_key)? {
            return Err(StoreError::UnknownConversation(conversation_id));
        }
        if self.db.contains(CF_TURNS, &turn_key)? {
            return Err(StoreError::DuplicateTurn {
                conversation_id,
                turn_id: turn.turn_id,
            });
        }
        let state = match pending {
            PendingUpdate::Replace(pending) => {
                let mut state = self.load_locked(channel)?;
                if state.active_conversation == conversation_id && state.pending.as_ref() != pending
                {
                    state.pending = pending.cloned();
                    Some(encode(&state)?)
                } else {
                    None
                }
            }
            PendingUpdate::Keep => None,
        };
        self.db.write_with(wait, |batch| {
            batch.put(CF_TURNS, &turn_key, &turn_bytes);
            if let Some(state) = &state {
                batch.put(CF_CHANNELS, &keys::channel(channel), state);
            }
            batch.merge(
                CF_CONVERSATIONS,
                &summary_key,
                &turn.timestamp_ms.to_be_bytes(),
            );
        })?;
        Ok(())
    }

    /// Whether the conversation under `key` exists. Conversations are never deleted, so a yes
    /// is remembered (up to [`SEEN_CONVERSATIONS`] keys, then all forgotten at once): the
    /// turn write never reads its summary, on which RocksDB would fold every merge operand
    /// the conversation's turns have left since the last flush.
    fn conversation_exists(&self, key: &[u8]) -> Result<bool, StoreError> {
        if self.seen_conversations().contains(key) {
            return Ok(true);
        }
        if !self.db.contains(CF_CONVERSATIONS, key)? {
            return Ok(false);
        }
        let mut seen = self.seen_conversations_mut();
        if seen.len() >= SEEN_CONVERSATIONS {
            seen.clear();
        }
        seen.insert(key.to_vec());
        Ok(true)
    }

    pub(super) fn next_turn_id_of(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<u64, StoreError> {
        let prefix = keys::conversation(channel, conversation_id);
        let Some(key) = self.db.last_key_with_prefix(CF_TURNS, &prefix)? else {
            return Ok(1);
        };
        keys::id_after(&prefix, &key)
            .and_then(|last| last.checked_add(1))
            .ok_or_else(|| StoreError::Corrupt {
                key: keys::describe(&key),
                reason: "not a turn key".into(),
            })
    }

    pub(super) fn last_turn_of(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        self.db
            .last_with_prefix(CF_TURNS, &keys::conversation(channel, conversation_id))?
            .map(|(key, value)| decode(&key, &value))
            .transpose()
    }

    pub(super) fn write_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError> {
        let key = keys::turn(channel, conversation_id, turn_id);
        let _guard = self.lock(channel);
        let Some(bytes) = self.db.get(CF_TURNS, &key)? else {
            return Err(StoreError::UnknownTurn(turn_id));
        };
        let mut turn: Turn = decode(&key, &bytes)?;
        turn.feedback = Some(feedback);
        self.db.put(CF_TURNS, &key, &encode(&turn)?)?;
        Ok(())
    }

    /// [`crate::store::ConversationStore::close_and_start_new`].
    pub(super) fn close_active(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError> {
        let _guard = self.lock(channel);
        let state = self.load_locked(channel)?;
        let closed_id = state.active_conversation;
        let mut closed = self
            .summary_of(channel, closed_id)?
            .unwrap_or_else(|| empty_conversation(closed_id));
        closed.topic = topic.to_string();
        closed.summary = summary.to_string();
        closed.updated_at = closed.updated_at.max(now_ms());
        let new_id = state.next_conversation_id;
        let next_id = new_id.checked_add(1).ok_or_else(|| StoreError::Corrupt {
            key: keys::describe(&keys::channel(channel)),
            reason: "conversation ids exhausted".into(),
        })?;
        let new_state = ChannelState {
            active_conversation: new_id,
            next_conversation_id: next_id,
            pending: None,
            stream_format: state.stream_format,
        };
        let (closed, opened, encoded) = (
            encode(&closed)?,
            encode(&empty_conversation(new_id))?,
            encode(&new_state)?,
        );
        self.db.write(|batch| {
            batch.put(
                CF_CONVERSATIONS,
                &keys::conversation(channel, closed_id),
                &closed,
            );
            batch.put(
                CF_CONVERSATIONS,
                &keys::conversation(channel, new_id),
                &opened,
            );
            batch.put(CF_CHANNELS, &keys::channel(channel), &encoded);
        })?;
        Ok((closed_id, new_state))
    }

    /// [`crate::store::ConversationStore::list`].
    pub(super) fn list_newest(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let limit = limit.clamp(1, 100);
        // One snapshot for the state, the scan and the emptiness check: a concurrent
        // `close_and_start_new` is either wholly seen or not at all.
        let snapshot = self.db.snapshot();
        let Some(state) = state_in(&snapshot, channel)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(limit);
        snapshot.for_each_prefix(
            CF_CONVERSATIONS,
            &keys::conversations_of(channel),
            Order::Reverse,
            |key, value| {
                let summary: ConversationSummary = decode(key, value)?;
                let blank = summary.conversation_id == state.active_conversation
                    && !has_turns(&snapshot, channel, summary.conversation_id)?;
                if !blank {
                    out.push(summary);
                }
                Ok::<_, StoreError>(if out.len() >= limit {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            },
        )?;
        Ok(out)
    }
}

/// True when the conversation has at least one turn, as of `snapshot`.
pub(super) fn has_turns(
    snapshot: &Snapshot<'_>,
    channel: &ChannelId,
    conversation_id: u64,
) -> Result<bool, StoreError> {
    let mut found = false;
    snapshot.for_each_prefix(
        CF_TURNS,
        &keys::conversation(channel, conversation_id),
        Order::Forward,
        |_, _| {
            found = true;
            Ok::<_, StoreError>(ControlFlow::Break(()))
        },
    )?;
    Ok(found)
}

/// Every turn of a conversation as of `snapshot`, in turn-id order.
pub(super) fn turns_in(
    snapshot: &Snapshot<'_>,
    channel: &ChannelId,
    conversation_id: u64,
) -> Result<Vec<Turn>, StoreError> {
    let mut turns = Vec::new();
    snapshot.for_each_prefix(
        CF_TURNS,
        &keys::conversation(channel, conversation_id),
        Order::Forward,
        |key, value| {
            turns.push(decode(key, value)?);
            Ok::<_, StoreError>(ControlFlow::Continue(()))
        },
    )?;
    Ok(turns)
}
