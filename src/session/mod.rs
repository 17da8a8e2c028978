//! Channels: who a request belongs to, and what each channel has going on.
//!
//! - [`channel`]: `ChannelId`, validated before it touches a key;
//! - [`turn_lock`]: one conversational turn at a time per channel, refused at once otherwise;
//! - [`manager`]: live sessions (active conversation, next turn id), loaded from the store on
//!   first use and evicted from memory when idle.

mod channel;
pub mod manager;
pub mod turn_lock;

pub use channel::{ChannelId, ChannelIdError};
pub use manager::{Session, Sessions, TurnSlot, now_ms};
pub use turn_lock::{TurnGuard, TurnInProgress, TurnLock};
