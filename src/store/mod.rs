//! Persistence of conversations, turns and channel state, behind one interface the engine
//! uses: [`ConversationStore`].
//!
//! - [`rocks`]: the durable implementation on embedded RocksDB (the server's), with the shared
//!   [`Db`] handle other parts (a workflow's plug-in data) keep their own column families in,
//!   and the JSONL export;
//! - [`memory`]: an in-memory implementation with the same contract, for tests of the engine;
//! - [`tokens`]: [`TokenStore`], what token authentication keeps (both implementations).
//!
//! The store speaks the domain's types only; what the assistant remembers between turns
//! (the `pending` slot of [`ChannelState`]) is opaque JSON to it.

pub mod memory;
pub mod rocks;
pub mod tokens;

#[cfg(test)]
mod contract;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{ChannelId, ConversationSummary, Feedback, Turn};

pub use memory::MemoryStore;
pub use rocks::{Db, DbError, RocksStore};
pub use tokens::TokenStore;

/// One line of a JSON Lines export: a conversation with its turns (feedback rides on them).
#[derive(Serialize)]
struct ExportLine<'a> {
    channel_id: &'a str,
    conversation_id: u64,
    topic: &'a str,
    summary: &'a str,
    created_at: u64,
    updated_at: u64,
    turns: &'a [Turn],
}

/// Write one conversation as a line of JSON Lines.
pub(crate) fn write_export_line(
    out: &mut dyn std::io::Write,
    channel: &ChannelId,
    summary: &ConversationSummary,
    turns: &[Turn],
) -> Result<(), StoreError> {
    let line = ExportLine {
        channel_id: channel.as_str(),
        conversation_id: summary.conversation_id,
        topic: &summary.topic,
        summary: &summary.summary,
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        turns,
    };
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
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
    /// How the channel's streamed turns are framed (`ndjson`, `sse`), as chosen at
    /// `/initialize`. Opaque to the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_format: Option<String>,
}

impl ChannelState {
    /// A channel's state on first use: conversation 1, empty and active.
    pub(crate) fn first() -> Self {
        Self {
            active_conversation: 1,
            next_conversation_id: 2,
            pending: None,
            stream_format: None,
        }
    }
}

/// Why a store call failed. Every variant but `Backend`, `WouldStall` and `Internal` is the
/// caller's doing (or a damaged record) and changed nothing; so did `WouldStall`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conversation not found with id {0}")]
    UnknownConversation(u64),
    #[error("turn {0} not found")]
    UnknownTurn(u64),
    #[error("turn {turn_id} already exists in conversation {conversation_id}")]
    DuplicateTurn { conversation_id: u64, turn_id: u64 },
    #[error("no token with jti {0}")]
    UnknownToken(String),
    #[error("a token with jti {0} is already recorded")]
    DuplicateToken(String),
    #[error("stored record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    /// A [`WriteWait::NoStall`] write found the store throttling writes; nothing was written.
    #[error("storage is catching up: the write would have to wait")]
    WouldStall,
    #[error(transparent)]
    Backend(DbError),
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::WouldStall => Self::WouldStall,
            other => Self::Backend(other),
        }
    }
}

/// Whether a write may wait while the store throttles writes (RocksDB behind on flushes or
/// compactions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteWait {
    /// Wait as long as needed: for blocking-pool threads.
    Block,
    /// Fail at once with [`StoreError::WouldStall`] instead: for writes made on an async
    /// worker, which must never sleep inside the store.
    NoStall,
}

/// What a turn's write does to the channel's pending clarification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PendingUpdate<'a> {
    /// Leave it as it is (direct actions).
    Keep,
    /// Replace it (`None` clears it), in the same atomic write as the turn, but only while
    /// the turn's conversation is still the active one: a state belongs to the conversation it
    /// was made in, and a switch meanwhile has cleared it.
    Replace(Option<&'a Value>),
}

/// Conversations and turns of every channel.
///
/// # Isolation
/// Every method takes a [`ChannelId`] and touches only that channel's records: two channels
/// may both have a conversation 1 and never see each other's.
///
/// # Durability
/// When a method returns `Ok`, its writes survive the process dying at any later point
/// (panic, `kill -9`, OOM kill): the engine stores a turn *before* its answer is sent, so an
/// answered turn is never lost. (RocksDB: written to the WAL, not fsynced per write, so an
/// operating-system crash may drop the last writes unless [`Self::sync`] ran after them;
/// graceful shutdown runs it. The in-memory store keeps nothing past the process.)
/// Multi-record changes (a turn, its conversation's `updated_at` and the pending state;
/// closing one conversation, opening the next and moving the channel state) are atomic: after
/// any crash all of it is there or none. A call that returns `Err` wrote nothing.
///
/// # Concurrency
/// Methods may be called from many threads at once. Read-modify-write changes of one channel
/// (append, feedback, close, activate, pending) are serialized inside the store, so
/// concurrent direct actions and `new_conversation` never lose each other's updates.
///
/// # Blocking
/// Methods block. Async callers run them on the blocking pool, except the turn write of the
/// hot path, which is tried inline with [`WriteWait::NoStall`] first.
pub trait ConversationStore: Send + Sync + std::fmt::Debug {
    /// The channel's state. The first use of a channel creates (and persists) conversation 1,
    /// empty, and makes it active; later calls resume whatever was active.
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError>;

    /// Store `turn` under its `turn_id` in `conversation_id`, together with the
    /// conversation's `updated_at` (never moved backwards) and the `pending` update,
    /// atomically. Errors: `UnknownConversation`; `DuplicateTurn` when that turn id is taken
    /// (a stored turn is never overwritten); `WouldStall` under [`WriteWait::NoStall`].
    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
        pending: PendingUpdate<'_>,
        wait: WriteWait,
    ) -> Result<(), StoreError>;

    /// One more than the last stored turn id of the conversation (1 when it has none).
    /// Callers keep the counter in memory after the first call.
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
    /// make it active (clearing any pending clarification), in one atomic change. Returns the
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
    /// changed, not even a new channel — when this channel has no such conversation.
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
    /// the blank page `new_conversation` just opened. An older empty conversation (one the
    /// user switched away from) stays listed, so it can be activated again. An unknown
    /// channel has none; listing never creates anything.
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

    /// Make every write acknowledged so far survive an operating-system crash too (graceful
    /// shutdown calls it once; ordinary writes do not pay for it).
    fn sync(&self) -> Result<(), StoreError>;

    /// True when the channel was ever used (it has a state); creates nothing.
    fn channel_exists(&self, channel: &ChannelId) -> Result<bool, StoreError>;

    /// Remember how the channel's streams are framed (creating the channel if it is new).
    fn set_stream_format(
        &self,
        channel: &ChannelId,
        format: Option<&str>,
    ) -> Result<ChannelState, StoreError>;

    /// Every conversation (or only `channel`'s) as JSON Lines into `out`, by channel id then
    /// conversation id, from one consistent view; the active conversation of a channel is
    /// left out while it has no turn. Returns how many lines.
    fn export(
        &self,
        channel: Option<&ChannelId>,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, StoreError>;
}
