//! Channels: who a request belongs to. (Per-channel sessions, the turn lock and eviction
//! arrive with conversations.)

mod channel;

pub use channel::{ChannelId, ChannelIdError};
