//! The per-channel turn lock: one *conversational* turn (`invoke_agent`, `invoke_assistant`)
//! at a time, refused at once — never queued — when another is running. Direct actions do not
//! take it: LLM clients issue parallel tool calls and each is its own turn.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

/// A second conversational turn arrived while one was running (HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a turn is already in progress on channel {channel}")]
pub struct TurnInProgress {
    pub channel: String,
}

/// Held for the whole of a conversational turn; dropping it releases the channel.
#[derive(Debug)]
pub struct TurnGuard {
    _guard: OwnedMutexGuard<()>,
}

/// One channel's lock.
#[derive(Debug, Clone, Default)]
pub struct TurnLock {
    inner: Arc<Mutex<()>>,
}

impl TurnLock {
    /// Take the lock now or fail: a caller never waits behind another turn.
    pub fn try_begin(&self, channel: &str) -> Result<TurnGuard, TurnInProgress> {
        self.inner
            .clone()
            .try_lock_owned()
            .map(|guard| TurnGuard { _guard: guard })
            .map_err(|_| TurnInProgress {
                channel: channel.to_string(),
            })
    }

    /// True while a conversational turn holds the lock.
    pub fn is_busy(&self) -> bool {
        self.inner.try_lock().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_turn_is_refused_until_the_first_ends() {
        let lock = TurnLock::default();
        let first = lock.try_begin("c").expect("free");
        assert!(lock.is_busy());
        let refused = lock.try_begin("c").expect_err("busy");
        assert_eq!(
            refused.to_string(),
            "a turn is already in progress on channel c"
        );
        drop(first);
        assert!(!lock.is_busy());
        let _again = lock.try_begin("c").expect("free again");
    }

    #[test]
    fn clones_share_one_lock() {
        let lock = TurnLock::default();
        let other = lock.clone();
        let _held = lock.try_begin("c").expect("free");
        assert!(other.try_begin("c").is_err());
    }
}
