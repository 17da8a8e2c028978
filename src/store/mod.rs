//! Persistence: one embedded RocksDB per data dir, shared by every part that stores state.
//!
//! Each concern owns column families (the demo's retail data; channel state, conversations
//! and turns), so they never read each other's keys.
//!
//! - [`db`](Db): the handle — atomic batches, bounded prefix scans, snapshots, secondary open;
//! - [`conversations`]: the `ConversationStore` contract and its RocksDB implementation;
//! - [`export`]: JSONL export, from a secondary instance beside a running server.

pub mod conversations;
mod db;
pub mod export;

pub use db::{Batch, Db, DbError, KeyValue, Order, Snapshot, WriteWait};

/// Column family of the demo workflow's retail data.
pub const CF_DEMO_RETAIL: &str = "demo_retail";

/// Column families of the conversation store: channel state, conversation summaries, turns.
pub const CF_CHANNELS: &str = "channels";
pub const CF_CONVERSATIONS: &str = "conversations";
pub const CF_TURNS: &str = "turns";

/// Every column family flowmcp creates. Opening a data dir creates the missing ones.
pub(crate) const COLUMN_FAMILIES: &[&str] =
    &[CF_DEMO_RETAIL, CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS];
