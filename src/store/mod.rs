//! Persistence: one embedded RocksDB per data dir, shared by every part that stores state.
//!
//! Each concern owns a column family (the demo's retail data now; conversations, turns and
//! channel state when they land), so they never read each other's keys.

mod db;

pub use db::{Db, DbError};

/// Column family of the demo workflow's retail data.
pub const CF_DEMO_RETAIL: &str = "demo_retail";

/// Every column family flowmcp creates. Opening a data dir creates the missing ones.
pub(crate) const COLUMN_FAMILIES: &[&str] = &[CF_DEMO_RETAIL];
