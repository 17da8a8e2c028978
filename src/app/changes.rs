//! What the stored turns changed, for whoever watches: MCP resource subscriptions learn here
//! which resources a turn touched. Nothing is built or sent while nobody watches, so the turn
//! path pays one atomic load for the feature.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::domain::ChannelId;

/// How many changes a slow watcher may fall behind before it is told it missed some.
const BACKLOG: usize = 1024;

/// One stored change to a channel's conversation.
#[derive(Debug, Clone)]
pub struct Change {
    pub channel: ChannelId,
    pub conversation_id: u64,
    /// The command a turn ran, with its parameters; `None` for a change that ran nothing
    /// (feedback on a turn).
    pub command: Option<(String, Map<String, Value>)>,
    /// False when the command failed: then it changed nothing but the conversation.
    pub success: bool,
}

/// What a watcher sees next.
#[derive(Debug)]
pub enum Seen {
    Change(Arc<Change>),
    /// The watcher fell behind and changes were dropped: assume anything changed.
    Missed,
}

/// The publishing side, one per `App`.
pub(crate) struct Changes {
    tx: broadcast::Sender<Arc<Change>>,
    watchers: Arc<AtomicUsize>,
}

impl Changes {
    pub(crate) fn new() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
            watchers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Publish the change `make` builds, only when someone watches.
    pub(crate) fn publish(&self, make: impl FnOnce() -> Change) {
        if self.watchers.load(Ordering::Relaxed) > 0 {
            // No receiver left between the check and the send is fine: nobody to tell.
            let _ = self.tx.send(Arc::new(make()));
        }
    }

    pub(crate) fn watch(&self) -> ChangeWatch {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        ChangeWatch {
            rx: self.tx.subscribe(),
            watchers: self.watchers.clone(),
        }
    }
}

/// A receiver of every change published from its creation on; dropping it stops the
/// publishing when it was the last.
#[derive(Debug)]
pub struct ChangeWatch {
    rx: broadcast::Receiver<Arc<Change>>,
    watchers: Arc<AtomicUsize>,
}

impl ChangeWatch {
    /// The next change; `None` once the app is gone.
    pub async fn next(&mut self) -> Option<Seen> {
        match self.rx.recv().await {
            Ok(change) => Some(Seen::Change(change)),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(missed = n, "a change watcher fell behind");
                Some(Seen::Missed)
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Drop for ChangeWatch {
    fn drop(&mut self) {
        self.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: u64) -> Change {
        Change {
            channel: ChannelId::parse("c").expect("valid"),
            conversation_id: id,
            command: None,
            success: true,
        }
    }

    #[tokio::test]
    async fn nothing_is_built_unwatched_and_a_watcher_sees_what_follows() {
        let changes = Changes::new();
        changes.publish(|| unreachable!("built with nobody watching"));
        let mut watch = changes.watch();
        changes.publish(|| change(7));
        match watch.next().await {
            Some(Seen::Change(c)) => assert_eq!(c.conversation_id, 7),
            other => panic!("expected the change, got {other:?}"),
        }
        drop(watch);
        changes.publish(|| unreachable!("built after the last watcher left"));
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_is_told_it_missed_changes() {
        let changes = Changes::new();
        let mut watch = changes.watch();
        for id in 0..(BACKLOG as u64 + 5) {
            changes.publish(|| change(id));
        }
        assert!(matches!(watch.next().await, Some(Seen::Missed)));
        assert!(matches!(watch.next().await, Some(Seen::Change(_))));
    }
}
