//! What one MCP session asked for: the resources it subscribed to (with the task that tells
//! it when a stored turn changed one) and the level of the log messages it wants. Each session
//! gets its own ([`super::FlowServer::fork`]); dropping it stops the task.

// Log levels are deprecated for the 2026-07-28 era (SEP-2577); they are kept for the eras that
// have them.
#![allow(deprecated)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, ResourceUpdatedNotificationParam};
use rmcp::service::Peer;
use tokio::task::AbortHandle;

use crate::app::App;
use crate::app::changes::Seen;
use crate::domain::Caller;

/// One session's choices.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    subscriptions: Arc<Mutex<BTreeSet<String>>>,
    watcher: Mutex<Option<AbortHandle>>,
    log_level: Mutex<Option<LoggingLevel>>,
}

impl Drop for SessionState {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.watcher).take() {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay valid whatever panicked while holding them.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SessionState {
    /// Subscribe to `uri`; the first subscription starts the task that sends
    /// `notifications/resources/updated` to `peer`, as seen by `caller`'s channel.
    pub(crate) fn subscribe(&self, app: &App, caller: Caller, peer: Peer<RoleServer>, uri: String) {
        lock(&self.subscriptions).insert(uri);
        let mut watcher = lock(&self.watcher);
        if watcher.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        // Watch before answering: a turn stored right after the reply is seen.
        let watch = app.watch_changes();
        let task = tokio::spawn(tell_subscriber(
            app.clone(),
            caller,
            peer,
            Arc::downgrade(&self.subscriptions),
            watch,
        ));
        *watcher = Some(task.abort_handle());
    }

    /// Forget `uri`; true when it was subscribed.
    pub(crate) fn unsubscribe(&self, uri: &str) -> bool {
        lock(&self.subscriptions).remove(uri)
    }

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        *lock(&self.log_level) = Some(level);
    }

    /// The level the client asked for, if it asked (no log messages otherwise).
    pub(crate) fn log_level(&self) -> Option<LoggingLevel> {
        *lock(&self.log_level)
    }
}

/// Send an update for every subscribed resource a stored change touched, until the session
/// is gone or the client stops listening.
async fn tell_subscriber(
    app: App,
    caller: Caller,
    peer: Peer<RoleServer>,
    subscriptions: Weak<Mutex<BTreeSet<String>>>,
    mut watch: crate::app::changes::ChangeWatch,
) {
    while let Some(seen) = watch.next().await {
        let Some(subscriptions) = subscriptions.upgrade() else {
            return;
        };
        let uris: Vec<String> = {
            let subscribed = lock(&subscriptions);
            match seen {
                Seen::Change(change) => app
                    .changed_uris(&caller, &change)
                    .into_iter()
                    .filter(|uri| subscribed.contains(uri))
                    .collect(),
                Seen::Missed => subscribed.iter().cloned().collect(),
            }
        };
        drop(subscriptions);
        for uri in uris {
            let updated = ResourceUpdatedNotificationParam::new(uri);
            if let Err(e) = peer.notify_resource_updated(updated).await {
                tracing::debug!("resource subscriber gone: {e}");
                return;
            }
        }
    }
}
