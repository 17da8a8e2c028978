//! The durable [`ConversationStore`]: embedded RocksDB, one per data dir.
//!
//! - [`db`](Db): the shared handle — atomic batches, bounded prefix scans, snapshots,
//!   secondary (read-only) opening beside a running server;
//! - `keys`: the key codec, the only code that knows the layout;
//! - `channels`: each channel's state (active conversation, pending clarification);
//! - `conversations`: conversation summaries and turns, the turn write of the hot path;
//! - `tokens`: the [`crate::store::TokenStore`] (token records, revocations, spent refreshes);
//! - [`export`]: JSONL export of every conversation, from a snapshot.
//!
//! Appending a turn writes one new key (plus, in the same batch, a merge operand that moves
//! the conversation's `updated_at`): a conversation is never rewritten as a whole. Listing
//! and "last turn" are reverse scans bounded to one channel (or one conversation) and to the
//! number of entries wanted.

mod channels;
mod conversations;
mod db;
pub mod export;
mod keys;
mod tokens;

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use db::{Batch, Db, DbError, KeyValue, Order, Snapshot};

use super::{ChannelState, ConversationStore, PendingUpdate, StoreError, WriteWait};
use crate::domain::{ChannelId, ConversationSummary, Feedback, Turn};

/// Column families of the conversation store: channel state, conversation summaries, turns.
pub const CF_CHANNELS: &str = "channels";
pub const CF_CONVERSATIONS: &str = "conversations";
pub const CF_TURNS: &str = "turns";
/// Column family of token records, revocations and spent refresh tokens.
pub const CF_TOKENS: &str = "tokens";

/// The column families [`RocksStore`] needs; [`Db::open`] creates the missing ones.
pub const COLUMN_FAMILIES: &[&str] = &[CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS, CF_TOKENS];

/// How many locks the channels share. Two channels hashing to the same stripe only wait for
/// each other's (microsecond) store writes, never for a turn.
const LOCK_STRIPES: usize = 64;

/// [`ConversationStore`] on a data dir's RocksDB.
#[derive(Debug, Clone)]
pub struct RocksStore {
    db: Db,
    locks: Arc<[Mutex<()>]>,
    /// One writer per turn key at a time (see `write_turn`), striped like `locks`.
    turn_locks: Arc<[Mutex<()>]>,
    /// Keys of conversations known to exist (see `conversation_exists`).
    seen: Arc<RwLock<HashSet<Vec<u8>>>>,
    /// Serialises the token store's read-modify-write changes.
    token_lock: Arc<Mutex<()>>,
}

impl RocksStore {
    /// The store on an open database, which must have [`COLUMN_FAMILIES`].
    pub fn new(db: Db) -> Self {
        Self {
            db,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            turn_locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            seen: Arc::default(),
            token_lock: Arc::default(),
        }
    }

    /// The database underneath (shared with whatever else keeps data in it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serialize this channel's read-modify-write changes. The guarded data is `()`, so a
    /// poisoned lock (a panic elsewhere while holding it) left nothing half-changed in memory.
    fn lock(&self, channel: &ChannelId) -> MutexGuard<'_, ()> {
        stripe(&self.locks, channel.as_str().as_bytes())
    }

    fn seen_conversations(&self) -> RwLockReadGuard<'_, HashSet<Vec<u8>>> {
        self.seen
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A set of keys is whole after any panic: a poisoned lock is as good as any.
    fn seen_conversations_mut(&self) -> RwLockWriteGuard<'_, HashSet<Vec<u8>>> {
        self.seen
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serialize the writes of one turn key (a turn's duplicate check and its write).
    fn lock_turn(&self, turn_key: &[u8]) -> MutexGuard<'_, ()> {
        stripe(&self.turn_locks, turn_key)
    }

    /// One JSON record, decoded; `Corrupt` names the key when it does not decode.
    fn get_json<T: DeserializeOwned>(
        &self,
        family: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.db
            .get(family, key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }
}

/// The lock of `locks` that `key` hashes to. The guarded data is `()`, so a poisoned lock is
/// as good as any.
fn stripe<'a>(locks: &'a [Mutex<()>], key: &[u8]) -> MutexGuard<'a, ()> {
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
    let stripe = usize::try_from(hash % locks.len() as u64).unwrap_or(0);
    locks[stripe]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: keys::describe(key),
        reason: e.to_string(),
    })
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(e.to_string()))
}

impl ConversationStore for RocksStore {
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
        pending: PendingUpdate<'_>,
        wait: WriteWait,
    ) -> Result<(), StoreError> {
        self.write_turn(channel, conversation_id, turn, pending, wait)
    }

    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError> {
        self.next_turn_id_of(channel, conversation_id)
    }

    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError> {
        conversations::turns_in(&self.db.snapshot(), channel, conversation_id)
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
        self.last_turn_of(channel, conversation_id)
    }

    fn set_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError> {
        self.write_feedback(channel, conversation_id, turn_id, feedback)
    }

    fn close_and_start_new(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError> {
        self.close_active(channel, topic, summary)
    }

    fn activate(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError> {
        self.switch_to(channel, conversation_id)
    }

    fn set_pending(
        &self,
        channel: &ChannelId,
        pending: Option<Value>,
    ) -> Result<ChannelState, StoreError> {
        self.replace_pending(channel, pending)
    }

    fn list(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.list_newest(channel, limit)
    }

    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        self.summary_of(channel, conversation_id)
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(self.db.sync()?)
    }

    fn channel_exists(&self, channel: &ChannelId) -> Result<bool, StoreError> {
        Ok(self.state(channel)?.is_some())
    }

    fn set_stream_format(
        &self,
        channel: &ChannelId,
        format: Option<&str>,
    ) -> Result<ChannelState, StoreError> {
        self.replace_stream_format(channel, format)
    }

    fn export(
        &self,
        channel: Option<&ChannelId>,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, StoreError> {
        export::export_db(&self.db, channel, out).map_err(|e| match e {
            export::ExportError::Store(e) => e,
            export::ExportError::Write(e) => StoreError::Write(e),
            other => StoreError::Internal(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> RocksStore {
        RocksStore::new(Db::open(dir, COLUMN_FAMILIES).expect("open"))
    }

    crate::store::contract::contract_tests!(|dir| store(dir));

    #[test]
    fn everything_survives_reopening_and_the_active_conversation_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::store::contract::survives_reopening(dir.path(), store);
    }

    #[test]
    fn updated_at_merges_are_read_back_after_reopening_and_by_a_secondary() {
        use crate::store::contract::{append, channel, turn};
        let dir = tempfile::tempdir().expect("tempdir");
        let a = channel("a");
        let created = {
            let s = store(dir.path());
            s.load_channel(&a).expect("load");
            let created = s.conversation(&a, 1).expect("conv").expect("exists");
            for (id, later_ms) in [(1, 5_000), (2, 9_000), (3, 7_000)] {
                let mut t = turn(id, "x");
                t.timestamp_ms = created.created_at + later_ms;
                append(&s, &a, 1, t).expect("append");
            }
            created.created_at
        };
        let s = store(dir.path());
        let summary = s.conversation(&a, 1).expect("conv").expect("exists");
        assert_eq!(
            summary.updated_at,
            created + 9_000,
            "the latest turn, not the last"
        );
        let secondary = RocksStore::new(Db::open_secondary(dir.path()).expect("secondary"));
        let seen = secondary
            .conversation(&a, 1)
            .expect("conv")
            .expect("exists");
        assert_eq!(seen, summary);
        // The merge operands fold into the summary when RocksDB compacts them.
        s.db.compact(CF_CONVERSATIONS).expect("compact");
        let compacted = s.conversation(&a, 1).expect("conv").expect("exists");
        assert_eq!(compacted, summary);
    }

    #[test]
    fn a_damaged_record_is_a_clear_error() {
        use crate::store::contract::{append, channel, turn};
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        append(&s, &a, 1, turn(1, "x")).expect("append");
        s.db.put(CF_TURNS, &keys::turn(&a, 1, 3), b"{not json")
            .expect("put");
        let err = s.turns(&a, 1).expect_err("corrupt");
        assert!(
            matches!(&err, StoreError::Corrupt { key, .. } if key == "a/1/3"),
            "{err}"
        );
        assert!(err.to_string().contains("a/1/3"), "{err}");
        assert_eq!(
            s.state(&channel("nobody")).expect("state"),
            None,
            "reading creates nothing"
        );
    }
}
