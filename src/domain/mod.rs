//! The vocabulary every layer shares: who asks ([`Caller`], [`ChannelId`]), how long they
//! wait ([`Timeout`]), what a command answers ([`CommandOutput`]), what a turn leaves behind
//! ([`Turn`], [`TraceEvent`], [`Feedback`]) and how conversations are listed and summarised.
//!
//! This module imports nothing else of the crate (the architecture test holds it to that): the
//! store, the engine and every transport speak these types, so none has to know the others.

mod caller;
mod channel;
mod conversation;
mod output;
mod summary;
mod timeout;
mod token;
mod trace;

pub use caller::{Bearer, Caller, MAX_USER_ID_LEN, UserIdError, parse_user_id};
pub use channel::{ChannelId, ChannelIdError, MAX_CHANNEL_ID_LEN};
pub use conversation::{ConversationSummary, Feedback, Turn, TurnMode};
pub use output::{Action, CommandOutput, CommandResponse};
pub use summary::summarize;
pub use timeout::{Timeout, TimeoutError};
pub use token::{Revocation, TokenRecord, TokenType};
pub use trace::{Direction, TraceEvent};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
