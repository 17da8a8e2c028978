//! Conversations and turns of each channel, on RocksDB.
//!
//! Key layout (column family → key → JSON value). Keys are built only from a validated
//! [`ChannelId`] and integers; ids are fixed-width big-endian so key order is numeric order,
//! and a channel id never contains `\0`, so the `channel \0` prefix of one channel is never a
//! prefix of another's keys (`a` vs `ab`):
//!
//! ```text
//! channels       channel                                      → ChannelState
//! conversations  channel \0 conversation_id:be64              → ConversationSummary
//! turns          channel \0 conversation_id:be64 turn_id:be64 → Turn (traces, feedback)
//! ```
//!
//! Appending a turn writes one new key (plus the conversation's `updated_at`, in the same
//! batch): a conversation is never rewritten as a whole. Listing and "last turn" are reverse
//! scans bounded to one channel (or one conversation) and to the number of entries wanted.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::db::{Order, Snapshot};
use super::{CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS, Db, DbError, WriteWait};
use crate::session::ChannelId;

/// Which way a trace event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    AgentToWorkflow,
    WorkflowToAgent,
}

/// One step of a turn (DESIGN §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceEvent {
    pub direction: Direction,
    pub raw_command: String,
    pub command_name: String,
    pub parameters: Map<String, Value>,
    pub response_text: String,
    pub success: bool,
    pub timestamp_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub channel_id: String,
    pub conversation_id: u64,
    pub turn_id: u64,
    pub seq: u64,
}

/// How a turn was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TurnMode {
    Agent,
    Assistant,
    Action,
}

/// What a user thought of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Feedback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_or_numeric_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl_feedback: Option<String>,
    /// ms since the Unix epoch.
    pub timestamp: u64,
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    pub turn_id: u64,
    pub mode: TurnMode,
    pub user_query: String,
    /// The CommandOutput the caller received, as JSON.
    pub command_output: Value,
    pub traces: Vec<TraceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    pub timestamp_ms: u64,
}

/// A conversation as listed (DESIGN §1); timestamps are ms since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub conversation_id: u64,
    pub topic: String,
    pub summary: String,
    pub created_at: u64,
    pub updated_at: u64,
}

/// What a channel has going on between requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelState {
    pub active_conversation: u64,
    pub next_conversation_id: u64,
    /// A clarification dialog in progress (assistant mode), kept across restarts. Opaque to
    /// the store; cleared when the active conversation changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
}

/// Why a store call failed. Every variant except `Db` and `Internal` is the caller's doing
/// (or a damaged record) and changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conversation not found with id {0}")]
    UnknownConversation(u64),
    #[error("turn {0} not found")]
    UnknownTurn(u64),
    #[error("turn {turn_id} already exists in conversation {conversation_id}")]
    DuplicateTurn { conversation_id: u64, turn_id: u64 },
    #[error("stored record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Conversations and turns of every channel.
///
/// # Isolation
/// Every method takes a [`ChannelId`] and touches only that channel's keys: two channels may
/// both have a conversation 1 and never see each other's.
///
/// # Durability
/// When a method returns `Ok`, its writes are in RocksDB's write-ahead log (WAL on, the
/// default write options): they survive the process dying at any later point (panic,
/// `kill -9`, OOM kill), and a restart finds them. They are not fsynced per write, so an
/// operating-system crash or power loss may drop the last writes acknowledged before it,
/// unless `Db::sync` ran after them (graceful shutdown does). Multi-key changes (a turn and
/// its conversation's `updated_at`; closing one conversation, opening the next and moving the
/// channel state) are one atomic batch: after any crash, all of it is there or none.
/// A call that returns `Err` wrote nothing.
///
/// # Concurrency
/// Methods may be called from many threads at once. Read-modify-write changes of one channel
/// (append, feedback, close, activate, pending) are serialized inside the store, so
/// concurrent direct actions and `new_conversation` never lose each other's updates.
///
/// Methods block. Async callers run scans and multi-key changes on the blocking pool; a
/// turn's append is a point write, done inline (see `App::store_turn`).
pub trait ConversationStore: Send + Sync {
    /// The channel's state. The first use of a channel creates (and persists) conversation 1,
    /// empty, and makes it active; later calls resume whatever was active.
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError>;

    /// Store `turn` under its `turn_id` in `conversation_id`, together with the
    /// conversation's `updated_at`, atomically. Errors: `UnknownConversation`, and
    /// `DuplicateTurn` when that turn id is taken (a stored turn is never overwritten).
    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
    ) -> Result<(), StoreError>;

    /// [`Self::append_turn`] and, in the same atomic batch, replace the channel's pending
    /// state — but only while `conversation_id` is still the active conversation (a state
    /// belongs to the conversation it was made in; a switch meanwhile has cleared it).
    fn append_turn_with_pending(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: Option<Value>,
    ) -> Result<(), StoreError>;

    /// One more than the last stored turn id of the conversation (1 when it has none). One
    /// reverse seek; callers keep the counter in memory after the first call.
    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError>;

    /// Every turn of a conversation, in turn-id order (empty for an unknown conversation).
    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError>;

    /// One turn, if stored.
    fn turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
    ) -> Result<Option<Turn>, StoreError>;

    /// The turn with the highest id, if any.
    fn last_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError>;

    /// Attach feedback to one stored turn, replacing earlier feedback on it.
    /// `UnknownTurn` when there is no such turn (nothing is written then).
    fn set_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError>;

    /// Give the active conversation its topic and summary, open the next conversation and
    /// make it active (clearing any pending clarification), in one atomic batch. Returns the
    /// closed conversation's id and the new state. It does not refuse an empty conversation:
    /// whether that is worth closing is the caller's call.
    fn close_and_start_new(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError>;

    /// Make an existing conversation of this channel the active one (a pending clarification
    /// of the conversation left behind is dropped). `UnknownConversation` — and nothing
    /// changed — when this channel has no such conversation.
    fn activate(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError>;

    /// Save (or with `None`, clear) the channel's pending clarification; returns the state.
    fn set_pending(
        &self,
        channel: &ChannelId,
        pending: Option<Value>,
    ) -> Result<ChannelState, StoreError>;

    /// Up to `limit` (clamped to 1..=100) conversations, newest (highest id) first.
    ///
    /// Every conversation is listed except the active one while it has no turn yet: that is
    /// the blank page `new_conversation` just opened, and listing it would only add noise.
    /// An older empty conversation (one the user switched away from) stays listed, so it can
    /// be activated again. An unknown channel has none; listing never creates anything.
    fn list(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// One conversation's summary, if this channel has it.
    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError>;
}

/// How many locks the channels share. Two channels hashing to the same stripe only wait for
/// each other's (microsecond) store writes, never for a turn.
const LOCK_STRIPES: usize = 64;

/// [`ConversationStore`] on the shared RocksDB.
#[derive(Debug, Clone)]
pub struct RocksConversationStore {
    db: Db,
    locks: Arc<[Mutex<()>]>,
}

impl RocksConversationStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// The database underneath (for `Db::sync` at shutdown, or an in-process export).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serialize this channel's read-modify-write changes. The guarded data is `()`, so a
    /// poisoned lock (a panic elsewhere while holding it) left nothing half-changed in memory.
    fn lock(&self, channel: &ChannelId) -> MutexGuard<'_, ()> {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(channel.as_str());
        let stripe = usize::try_from(hash % LOCK_STRIPES as u64).unwrap_or(0);
        self.locks[stripe]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Building and reading keys. Only these functions know the layout.
pub(crate) mod keys {
    use super::ChannelId;

    /// Width of an encoded id.
    pub(crate) const ID_LEN: usize = 8;

    pub(crate) fn channel(channel: &ChannelId) -> Vec<u8> {
        channel.as_str().as_bytes().to_vec()
    }

    /// The prefix of all of a channel's conversation keys.
    pub(crate) fn conversations_of(channel: &ChannelId) -> Vec<u8> {
        let mut key = self::channel(channel);
        key.push(0);
        key
    }

    /// A conversation's key; also the prefix of all its turn keys.
    pub(crate) fn conversation(channel: &ChannelId, conversation_id: u64) -> Vec<u8> {
        let mut key = conversations_of(channel);
        key.extend_from_slice(&conversation_id.to_be_bytes());
        key
    }

    pub(crate) fn turn(channel: &ChannelId, conversation_id: u64, turn_id: u64) -> Vec<u8> {
        let mut key = conversation(channel, conversation_id);
        key.extend_from_slice(&turn_id.to_be_bytes());
        key
    }

    /// `(channel, conversation_id)` of a conversation key; `None` if it is not one.
    pub(crate) fn parse_conversation(key: &[u8]) -> Option<(ChannelId, u64)> {
        let split = key.iter().position(|&b| b == 0)?;
        let channel = ChannelId::parse(std::str::from_utf8(&key[..split]).ok()?).ok()?;
        let id = u64::from_be_bytes(key[split + 1..].try_into().ok()?);
        Some((channel, id))
    }

    /// The id `ID_LEN` bytes right after `prefix` in `key`, if `key` is exactly that long.
    pub(crate) fn id_after(prefix: &[u8], key: &[u8]) -> Option<u64> {
        let rest = key.strip_prefix(prefix)?;
        Some(u64::from_be_bytes(rest.try_into().ok()?))
    }

    /// A key as a person reads it in an error message: `channel/1/7`.
    pub(crate) fn describe(key: &[u8]) -> String {
        let Some(split) = key.iter().position(|&b| b == 0) else {
            return String::from_utf8_lossy(key).into_owned();
        };
        let mut out = String::from_utf8_lossy(&key[..split]).into_owned();
        for chunk in key[split + 1..].chunks(ID_LEN) {
            match <[u8; ID_LEN]>::try_from(chunk) {
                Ok(id) => out.push_str(&format!("/{}", u64::from_be_bytes(id))),
                Err(_) => out.push_str(&format!("/{chunk:02x?}")),
            }
        }
        out
    }
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: keys::describe(key),
        reason: e.to_string(),
    })
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(e.to_string()))
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn empty_conversation(conversation_id: u64) -> ConversationSummary {
    let now = now_ms();
    ConversationSummary {
        conversation_id,
        topic: String::new(),
        summary: String::new(),
        created_at: now,
        updated_at: now,
    }
}

/// True when the conversation has at least one turn, as of `snapshot`.
pub(crate) fn has_turns(
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

impl RocksConversationStore {
    /// One JSON record, decoded; `Corrupt` names the key when it does not decode.
    fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        family: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.db
            .get(family, key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }

    fn state(&self, channel: &ChannelId) -> Result<Option<ChannelState>, StoreError> {
        self.get_json(CF_CHANNELS, &keys::channel(channel))
    }

    fn summary_of(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        self.get_json(
            CF_CONVERSATIONS,
            &keys::conversation(channel, conversation_id),
        )
    }

    /// `load_channel` for a caller already holding the channel's lock.
    fn load_locked(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
        if let Some(state) = self.state(channel)? {
            return Ok(state);
        }
        let state = ChannelState {
            active_conversation: 1,
            next_conversation_id: 2,
            pending: None,
        };
        let summary = encode(&empty_conversation(1))?;
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

    /// [`ConversationStore::append_turn_with_pending`] (`pending: Some(_)`) or
    /// [`ConversationStore::append_turn`] (`None`), choosing whether the write may wait out a
    /// RocksDB write stall. With [`WriteWait::NoStall`] it is safe on an async worker: while
    /// RocksDB throttles writes it writes nothing and answers
    /// `StoreError::Db(DbError::WouldStall)`, and the caller retries with
    /// [`WriteWait::Block`] on the blocking pool.
    pub fn append_turn_with_wait(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: Option<&Option<Value>>,
        wait: WriteWait,
    ) -> Result<(), StoreError> {
        let turn_bytes = encode(turn)?;
        let turn_key = keys::turn(channel, conversation_id, turn.turn_id);
        let _guard = self.lock(channel);
        let mut summary = self
            .summary_of(channel, conversation_id)?
            .ok_or(StoreError::UnknownConversation(conversation_id))?;
        if self.db.get(CF_TURNS, &turn_key)?.is_some() {
            return Err(StoreError::DuplicateTurn {
                conversation_id,
                turn_id: turn.turn_id,
            });
        }
        // Never backwards: turns finishing out of order must not make it older.
        summary.updated_at = summary.updated_at.max(turn.timestamp_ms);
        let summary = encode(&summary)?;
        let state = match pending {
            Some(pending) => {
                let mut state = self.load_locked(channel)?;
                if state.active_conversation == conversation_id && state.pending != *pending {
                    state.pending = pending.clone();
                    Some(encode(&state)?)
                } else {
                    None
                }
            }
            None => None,
        };
        self.db.write_with(wait, |batch| {
            batch.put(CF_TURNS, &turn_key, &turn_bytes);
            if let Some(state) = &state {
                batch.put(CF_CHANNELS, &keys::channel(channel), state);
            }
            batch.put(
                CF_CONVERSATIONS,
                &keys::conversation(channel, conversation_id),
                &summary,
            );
        })?;
        Ok(())
    }
}

impl ConversationStore for RocksConversationStore {
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
        // Fast path without the lock: an existing channel is only read.
        if let Some(state) = self.state(channel)? {
            return Ok(state);
        }
        let _guard = self.lock(channel);
        self.load_locked(channel)
    }

    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
    ) -> Result<(), StoreError> {
        self.append_turn_with_wait(channel, conversation_id, turn, None, WriteWait::Block)
    }

    fn append_turn_with_pending(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: Option<Value>,
    ) -> Result<(), StoreError> {
        self.append_turn_with_wait(
            channel,
            conversation_id,
            turn,
            Some(&pending),
            WriteWait::Block,
        )
    }

    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError> {
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

    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError> {
        turns_in(&self.db.snapshot(), channel, conversation_id)
    }

    fn turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        self.get_json(CF_TURNS, &keys::turn(channel, conversation_id, turn_id))
    }

    fn last_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        self.db
            .last_with_prefix(CF_TURNS, &keys::conversation(channel, conversation_id))?
            .map(|(key, value)| decode(&key, &value))
            .transpose()
    }

    fn set_feedback(
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

    fn close_and_start_new(
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

    fn activate(
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

    fn set_pending(
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

    fn list(
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

    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        self.summary_of(channel, conversation_id)
    }
}

/// The channel's state as of `snapshot` (`None` for a channel never used).
pub(crate) fn state_in(
    snapshot: &Snapshot<'_>,
    channel: &ChannelId,
) -> Result<Option<ChannelState>, StoreError> {
    let key = keys::channel(channel);
    snapshot
        .get(CF_CHANNELS, &key)?
        .map(|bytes| decode(&key, &bytes))
        .transpose()
}

/// Every turn of a conversation as of `snapshot`, in turn-id order.
pub(crate) fn turns_in(
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

/// Most words a derived topic has.
const TOPIC_WORDS: usize = 6;
/// Turns spelled out in a derived summary; the rest are counted.
const SUMMARY_STEPS: usize = 10;
/// Longest argument value quoted in a summary (characters).
const ARGUMENT_CHARS: usize = 40;

/// A topic and summary derived from the turns alone, so closing a conversation never needs an
/// LLM. Deterministic: the same turns always give the same strings.
///
/// - topic (at most 6 words): the most used command, humanized ("Get order details"), joined
///   by the runner-up when both fit, or followed by its first argument when short
///   ("Cancel pending order #W2611340"); without any command name, the first words of the
///   first question; "Empty conversation" for no turns.
/// - summary: "3 turns: get_order_details #W2611340; cancel_pending_order #W2611340 (failed);
///   …", at most 10 turns spelled out, then "and N more".
pub fn summarize(turns: &[Turn]) -> (String, String) {
    (topic_of(turns), summary_of(turns))
}

fn topic_of(turns: &[Turn]) -> String {
    // (name, uses), in first-use order; a stable sort then keeps ties in that order.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in turns.iter().filter_map(command_of) {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, uses)) => *uses += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.sort_by_key(|&(_, uses)| std::cmp::Reverse(uses));
    let mut words: Vec<String> = match counts.first() {
        Some((top, _)) => name_words(top),
        None => turns
            .iter()
            .map(|t| t.user_query.trim())
            .find(|q| !q.is_empty())
            .map(|q| q.split_whitespace().map(str::to_string).collect())
            .unwrap_or_else(|| vec!["Empty".into(), "conversation".into()]),
    };
    if let Some((top, _)) = counts.first() {
        let second = counts.get(1).map(|(name, _)| name_words(name));
        match second {
            Some(second) if words.len() + 1 + second.len() <= TOPIC_WORDS => {
                words.push("and".into());
                words.extend(second);
            }
            _ => {
                // A lone short name says little; its first argument says what it was about.
                let argument = turns
                    .iter()
                    .filter(|t| command_of(t) == Some(top))
                    .find_map(|t| arguments(t).into_iter().next());
                if let Some(argument) = argument.filter(|_| words.len() < 4) {
                    words.extend(argument.split_whitespace().map(str::to_string));
                }
            }
        }
    }
    words.truncate(TOPIC_WORDS);
    let topic = words.join(" ");
    let mut chars = topic.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => topic,
    }
}

fn summary_of(turns: &[Turn]) -> String {
    let steps: Vec<String> = turns
        .iter()
        .take(SUMMARY_STEPS)
        .map(|turn| {
            let mut step = match command_of(turn) {
                Some(name) => {
                    let mut parts = vec![name.to_string()];
                    parts.extend(arguments(turn).into_iter().take(3));
                    parts.join(" ")
                }
                None => format!("\"{}\"", shorten(turn.user_query.trim())),
            };
            if failed(turn) {
                step.push_str(" (failed)");
            }
            step
        })
        .collect();
    let mut summary = format!(
        "{} turn{}",
        turns.len(),
        if turns.len() == 1 { "" } else { "s" }
    );
    if !steps.is_empty() {
        summary.push_str(": ");
        summary.push_str(&steps.join("; "));
    }
    let more = turns.len().saturating_sub(steps.len());
    if more > 0 {
        summary.push_str(&format!("; and {more} more"));
    }
    summary
}

/// The command a turn ran, from its CommandOutput; `None` when it names none.
fn command_of(turn: &Turn) -> Option<&str> {
    turn.command_output
        .get("command_name")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
}

/// The turn's parameter values as short display strings (in stored order).
fn arguments(turn: &Turn) -> Vec<String> {
    turn.command_output
        .get("command_parameters")
        .and_then(Value::as_object)
        .map(|params| {
            params
                .values()
                .map(display)
                .filter(|s| !s.is_empty())
                .map(|s| shorten(&s))
                .collect()
        })
        .unwrap_or_default()
}

/// A failed turn: some response of its CommandOutput says `success: false`.
fn failed(turn: &Turn) -> bool {
    turn.command_output
        .get("command_responses")
        .and_then(Value::as_array)
        .is_some_and(|responses| {
            responses
                .iter()
                .any(|r| r.get("success").and_then(Value::as_bool) == Some(false))
        })
}

/// `get_order_details` → `["Get", "order", "details"]`.
fn name_words(name: &str) -> Vec<String> {
    name.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > ARGUMENT_CHARS {
        format!("{}…", text.chars().take(ARGUMENT_CHARS).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(dir: &std::path::Path) -> RocksConversationStore {
        RocksConversationStore::new(Db::open(dir).expect("open"))
    }

    fn channel(name: &str) -> ChannelId {
        ChannelId::parse(name).expect("channel")
    }

    fn turn(id: u64, command: &str) -> Turn {
        turn_with(id, command, json!({"order_id": "#W2611340"}), true)
    }

    fn turn_with(id: u64, command: &str, params: Value, success: bool) -> Turn {
        Turn {
            turn_id: id,
            mode: TurnMode::Action,
            user_query: command.into(),
            command_output: json!({
                "command_responses": [{"response": "done", "success": success}],
                "workflow_name": "retail",
                "context": "*",
                "command_name": command,
                "command_parameters": params,
            }),
            traces: Vec::new(),
            feedback: None,
            timestamp_ms: 1000 + id,
        }
    }

    fn ids(list: &[ConversationSummary]) -> Vec<u64> {
        list.iter().map(|c| c.conversation_id).collect()
    }

    fn turn_ids(turns: &[Turn]) -> Vec<u64> {
        turns.iter().map(|t| t.turn_id).collect()
    }

    fn feedback(score: f64) -> Feedback {
        Feedback {
            binary_or_numeric_score: Some(score),
            nl_feedback: Some("fine".into()),
            timestamp: 5,
        }
    }

    #[test]
    fn a_turn_and_the_pending_state_are_written_together_for_the_active_conversation_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.append_turn_with_pending(
            &a,
            1,
            &turn(1, "cancel_pending_order"),
            Some(json!({"q": 1})),
        )
        .expect("append");
        assert_eq!(
            s.load_channel(&a).expect("load").pending,
            Some(json!({"q": 1}))
        );
        assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1]);
        // A refused turn writes neither.
        let duplicate = s.append_turn_with_pending(&a, 1, &turn(1, "x"), None);
        assert!(matches!(duplicate, Err(StoreError::DuplicateTurn { .. })));
        assert_eq!(
            s.load_channel(&a).expect("load").pending,
            Some(json!({"q": 1}))
        );
        // A turn finishing in a conversation that is no longer active leaves the state alone.
        s.close_and_start_new(&a, "topic", "summary")
            .expect("new conversation");
        s.set_pending(&a, Some(json!({"q": 2}))).expect("pending");
        s.append_turn_with_pending(&a, 1, &turn(2, "get_order_details"), None)
            .expect("late turn");
        assert_eq!(
            s.load_channel(&a).expect("load").pending,
            Some(json!({"q": 2}))
        );
        assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1, 2]);
    }

    #[test]
    fn turns_append_and_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        let state = s.load_channel(&a).expect("load");
        assert_eq!(
            (state.active_conversation, state.next_conversation_id),
            (1, 2)
        );
        assert_eq!(s.next_turn_id(&a, 1).expect("next"), 1);
        assert_eq!(s.last_turn(&a, 1).expect("last"), None);
        // Ids above 255 check that key order is numeric order (big-endian), not byte-wise.
        for id in [1, 2, 3, 256, 257] {
            s.append_turn(&a, 1, &turn(id, "get_order_details"))
                .expect("append");
        }
        assert_eq!(
            turn_ids(&s.turns(&a, 1).expect("turns")),
            [1, 2, 3, 256, 257]
        );
        assert_eq!(s.next_turn_id(&a, 1).expect("next"), 258);
        assert_eq!(
            s.last_turn(&a, 1).expect("last").map(|t| t.turn_id),
            Some(257)
        );
        assert_eq!(
            s.turn(&a, 1, 2).expect("turn"),
            Some(turn(2, "get_order_details"))
        );
        assert_eq!(s.turn(&a, 1, 4).expect("turn"), None);
        let created = s
            .conversation(&a, 1)
            .expect("conv")
            .expect("exists")
            .created_at;
        let mut late = turn(300, "x");
        late.timestamp_ms = created + 60_000;
        s.append_turn(&a, 1, &late).expect("append");
        // An older turn finishing afterwards does not move it back.
        s.append_turn(&a, 1, &turn(299, "x")).expect("append");
        let summary = s.conversation(&a, 1).expect("conv").expect("exists");
        assert_eq!(
            summary.updated_at,
            created + 60_000,
            "follows the latest turn"
        );
    }

    #[test]
    fn append_refuses_unknown_conversations_and_taken_turn_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        assert!(matches!(
            s.append_turn(&a, 2, &turn(1, "x")),
            Err(StoreError::UnknownConversation(2))
        ));
        s.append_turn(&a, 1, &turn(1, "x")).expect("append");
        assert!(matches!(
            s.append_turn(&a, 1, &turn(1, "y")),
            Err(StoreError::DuplicateTurn {
                conversation_id: 1,
                turn_id: 1
            })
        ));
        assert_eq!(command_of(&s.turns(&a, 1).expect("turns")[0]), Some("x"));
        assert!(s.turns(&a, 2).expect("turns").is_empty());
    }

    #[test]
    fn the_inline_append_stores_and_refuses_like_the_blocking_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.append_turn_with_wait(&a, 1, &turn(1, "x"), None, WriteWait::NoStall)
            .expect("append");
        let pending = Some(json!({"dialog": 1}));
        s.append_turn_with_wait(&a, 1, &turn(2, "y"), Some(&pending), WriteWait::NoStall)
            .expect("append with pending");
        assert!(matches!(
            s.append_turn_with_wait(&a, 1, &turn(2, "z"), None, WriteWait::NoStall),
            Err(StoreError::DuplicateTurn { turn_id: 2, .. })
        ));
        assert!(matches!(
            s.append_turn_with_wait(&a, 9, &turn(1, "z"), None, WriteWait::NoStall),
            Err(StoreError::UnknownConversation(9))
        ));
        let turns = s.turns(&a, 1).expect("turns");
        let commands: Vec<_> = turns.iter().map(command_of).collect();
        assert_eq!(commands, vec![Some("x"), Some("y")]);
        assert_eq!(
            s.load_channel(&a).expect("load").pending,
            Some(json!({"dialog": 1}))
        );
    }

    #[test]
    fn conversation_ids_are_per_channel_and_channels_never_mix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        // "a" is a byte prefix of "ab": the \0 separator keeps them apart.
        let (a, ab) = (channel("a"), channel("ab"));
        for c in [&a, &ab] {
            s.load_channel(c).expect("load");
        }
        s.append_turn(&a, 1, &turn(1, "from_a")).expect("append");
        s.append_turn(&ab, 1, &turn(1, "from_ab")).expect("append");
        s.append_turn(&ab, 1, &turn(2, "from_ab")).expect("append");
        let (closed, state) = s.close_and_start_new(&a, "A", "a's").expect("close");
        assert_eq!((closed, state.active_conversation), (1, 2));
        // ab's ids are its own: its active conversation is still 1, and it has no 2.
        assert_eq!(s.load_channel(&ab).expect("load").active_conversation, 1);
        assert_eq!(s.conversation(&ab, 2).expect("conv"), None);
        assert!(s.activate(&ab, 2).is_err());
        s.close_and_start_new(&ab, "AB", "ab's").expect("close");

        let a_turns = s.turns(&a, 1).expect("turns");
        let ab_turns = s.turns(&ab, 1).expect("turns");
        assert_eq!(turn_ids(&a_turns), [1]);
        assert_eq!(turn_ids(&ab_turns), [1, 2]);
        assert!(a_turns.iter().all(|t| command_of(t) == Some("from_a")));
        assert!(ab_turns.iter().all(|t| command_of(t) == Some("from_ab")));
        assert_eq!(s.next_turn_id(&a, 1).expect("next"), 2);
        assert_eq!(s.next_turn_id(&ab, 1).expect("next"), 3);
        let a_list = s.list(&a, 100).expect("list");
        let ab_list = s.list(&ab, 100).expect("list");
        assert_eq!((ids(&a_list), a_list[0].topic.as_str()), (vec![1], "A"));
        assert_eq!((ids(&ab_list), ab_list[0].topic.as_str()), (vec![1], "AB"));
        assert!(s.list(&channel("nobody"), 10).expect("list").is_empty());
        assert_eq!(
            s.state(&channel("nobody")).expect("state"),
            None,
            "list creates nothing"
        );
    }

    #[test]
    fn everything_survives_reopening_and_the_active_conversation_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = channel("a");
        {
            let s = store(dir.path());
            s.load_channel(&a).expect("load");
            s.append_turn(&a, 1, &turn(1, "x")).expect("append");
            s.close_and_start_new(&a, "T", "S").expect("close");
            s.append_turn(&a, 2, &turn(1, "y")).expect("append");
            s.append_turn(&a, 2, &turn(2, "y")).expect("append");
            s.set_feedback(&a, 2, 2, feedback(1.0)).expect("feedback");
            s.set_pending(&a, Some(json!({"asking": "order_id"})))
                .expect("pending");
        }
        let s = store(dir.path());
        let state = s.load_channel(&a).expect("load");
        assert_eq!(state.active_conversation, 2);
        assert_eq!(state.next_conversation_id, 3);
        assert_eq!(state.pending, Some(json!({"asking": "order_id"})));
        assert_eq!(s.next_turn_id(&a, 2).expect("next"), 3);
        assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1]);
        let last = s.last_turn(&a, 2).expect("last").expect("a turn");
        assert_eq!(last.feedback, Some(feedback(1.0)));
        assert_eq!(ids(&s.list(&a, 20).expect("list")), [2, 1]);
        assert_eq!(
            s.conversation(&a, 1).expect("conv").map(|c| c.topic),
            Some("T".into())
        );
    }

    #[test]
    fn feedback_on_the_last_turn_on_a_turn_id_and_on_an_unknown_turn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        for id in 1..=3 {
            s.append_turn(&a, 1, &turn(id, "x")).expect("append");
        }
        let last = s.last_turn(&a, 1).expect("last").expect("a turn").turn_id;
        s.set_feedback(&a, 1, last, feedback(1.0))
            .expect("feedback");
        s.set_feedback(&a, 1, 1, feedback(0.0)).expect("feedback");
        // A second feedback replaces the first.
        s.set_feedback(&a, 1, 1, feedback(0.5)).expect("feedback");
        let turns = s.turns(&a, 1).expect("turns");
        let scores: Vec<Option<f64>> = turns
            .iter()
            .map(|t| t.feedback.as_ref().and_then(|f| f.binary_or_numeric_score))
            .collect();
        assert_eq!(scores, [Some(0.5), None, Some(1.0)]);
        assert!(matches!(
            s.set_feedback(&a, 1, 7, feedback(1.0)),
            Err(StoreError::UnknownTurn(7))
        ));
        assert!(matches!(
            s.set_feedback(&channel("b"), 1, 1, feedback(1.0)),
            Err(StoreError::UnknownTurn(1))
        ));
        assert_eq!(s.turns(&a, 1).expect("turns"), turns, "nothing changed");
    }

    #[test]
    fn activating_an_unknown_conversation_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.append_turn(&a, 1, &turn(1, "x")).expect("append");
        s.close_and_start_new(&a, "T", "S").expect("close");
        s.set_pending(&a, Some(json!(1))).expect("pending");
        let before = s.load_channel(&a).expect("load");
        for unknown in [0, 3, 99, u64::MAX] {
            assert!(matches!(
                s.activate(&a, unknown),
                Err(StoreError::UnknownConversation(id)) if id == unknown
            ));
        }
        assert_eq!(s.load_channel(&a).expect("load"), before);
        // Unknown for a channel that was never used: it is not created either.
        assert!(s.activate(&channel("fresh"), 1).is_err());
        assert_eq!(s.state(&channel("fresh")).expect("state"), None);

        // Re-activating the active one keeps the pending clarification; switching drops it.
        assert_eq!(s.activate(&a, 2).expect("activate"), before);
        let state = s.activate(&a, 1).expect("activate");
        assert_eq!((state.active_conversation, state.pending), (1, None));
        assert_eq!(state.next_conversation_id, 3);
        s.append_turn(&a, 1, &turn(2, "x"))
            .expect("append to a reactivated one");
    }

    #[test]
    fn list_is_newest_first_bounded_and_skips_only_a_blank_active_conversation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        assert!(s.list(&a, 20).expect("list").is_empty(), "blank active one");
        for conversation in 1..=5 {
            s.append_turn(&a, conversation, &turn(1, "x"))
                .expect("append");
            s.close_and_start_new(&a, &format!("T{conversation}"), "S")
                .expect("close");
        }
        // 6 is active and blank: not listed.
        assert_eq!(ids(&s.list(&a, 20).expect("list")), [5, 4, 3, 2, 1]);
        assert_eq!(ids(&s.list(&a, 2).expect("list")), [5, 4]);
        assert_eq!(ids(&s.list(&a, 0).expect("list")), [5], "clamped up to 1");
        s.append_turn(&a, 6, &turn(1, "x")).expect("append");
        assert_eq!(ids(&s.list(&a, 2).expect("list")), [6, 5]);
        // Switching away from a blank conversation leaves it listed (it can be re-activated).
        s.close_and_start_new(&a, "T6", "S").expect("close");
        s.activate(&a, 1).expect("activate");
        assert_eq!(ids(&s.list(&a, 3).expect("list")), [7, 6, 5]);

        let many = channel("many");
        s.load_channel(&many).expect("load");
        for conversation in 1..=120 {
            s.append_turn(&many, conversation, &turn(1, "x"))
                .expect("append");
            s.close_and_start_new(&many, "T", "S").expect("close");
        }
        let list = s.list(&many, usize::MAX).expect("list");
        assert_eq!(list.len(), 100, "clamped down to 100");
        assert_eq!(
            (list[0].conversation_id, list[99].conversation_id),
            (120, 21)
        );
    }

    #[test]
    fn close_and_start_new_saves_the_topic_and_opens_the_next() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.append_turn(&a, 1, &turn(1, "cancel_pending_order"))
            .expect("append");
        s.set_pending(&a, Some(json!({"q": 1}))).expect("pending");
        let (closed, state) = s
            .close_and_start_new(&a, "Topic", "Summary")
            .expect("close");
        assert_eq!(closed, 1);
        assert_eq!(
            state,
            ChannelState {
                active_conversation: 2,
                next_conversation_id: 3,
                pending: None
            }
        );
        assert_eq!(s.load_channel(&a).expect("load"), state);
        let old = s.conversation(&a, 1).expect("conv").expect("exists");
        assert_eq!(
            (old.topic.as_str(), old.summary.as_str()),
            ("Topic", "Summary")
        );
        assert!(old.updated_at >= old.created_at);
        let new = s.conversation(&a, 2).expect("conv").expect("exists");
        assert_eq!((new.topic.as_str(), new.summary.as_str()), ("", ""));
        assert_eq!(s.next_turn_id(&a, 2).expect("next"), 1);
        assert!(s.turns(&a, 2).expect("turns").is_empty());
    }

    #[test]
    fn concurrent_appends_and_close_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        std::thread::scope(|scope| {
            for thread in 0..8u64 {
                let (s, a) = (&s, &a);
                scope.spawn(move || {
                    for i in 0..50 {
                        s.append_turn(a, 1, &turn(1 + thread * 50 + i, "x"))
                            .expect("append");
                    }
                });
            }
            let (s, a) = (&s, &a);
            scope.spawn(move || s.close_and_start_new(a, "Kept", "S").expect("close"));
        });
        assert_eq!(s.turns(&a, 1).expect("turns").len(), 400);
        let conv = s.conversation(&a, 1).expect("conv").expect("exists");
        assert_eq!(conv.topic, "Kept", "an append never overwrites the topic");
        assert!(conv.updated_at >= 1400);
    }

    #[test]
    fn a_damaged_record_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.db.put(CF_TURNS, &keys::turn(&a, 1, 3), b"{not json")
            .expect("put");
        let err = s.turns(&a, 1).expect_err("corrupt");
        assert!(
            matches!(&err, StoreError::Corrupt { key, .. } if key == "a/1/3"),
            "{err}"
        );
        assert!(err.to_string().contains("a/1/3"), "{err}");
    }

    #[test]
    fn summarize_is_deterministic_and_names_what_was_done() {
        let turns = vec![
            turn(1, "get_order_details"),
            turn_with(
                2,
                "cancel_pending_order",
                json!({"order_id": "#W2611340", "reason": "ordered by mistake"}),
                false,
            ),
            turn(3, "get_order_details"),
        ];
        let (topic, summary) = summarize(&turns);
        assert_eq!(topic, "Get order details #W2611340");
        assert_eq!(
            summary,
            "3 turns: get_order_details #W2611340; \
             cancel_pending_order #W2611340 ordered by mistake (failed); \
             get_order_details #W2611340"
        );
        assert_eq!(summarize(&turns), (topic, summary));

        let pair = vec![turn(1, "calculate"), turn(2, "list_products")];
        assert_eq!(summarize(&pair).0, "Calculate and list products");

        let mut asked = turn_with(1, "", json!({}), true);
        asked.user_query = "where is my blue water bottle order".into();
        let (topic, summary) = summarize(&[asked]);
        assert_eq!(topic, "Where is my blue water bottle");
        assert_eq!(summary, "1 turn: \"where is my blue water bottle order\"");

        assert_eq!(
            summarize(&[]),
            ("Empty conversation".into(), "0 turns".into())
        );
        let many: Vec<Turn> = (1..=13)
            .map(|id| turn_with(id, "go_up", json!({}), true))
            .collect();
        let (topic, summary) = summarize(&many);
        assert_eq!(topic, "Go up");
        assert!(summary.starts_with("13 turns: go_up; go_up;"), "{summary}");
        assert!(summary.ends_with("; and 3 more"), "{summary}");
    }
}
